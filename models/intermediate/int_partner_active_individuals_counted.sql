-- One row per firm and activity date: every Japan-time date on or before the as-of date on
-- which the firm had a funnel stage entry or one of its people logged in. For each such
-- date, active_individual_count is the number of the firm's people (their current firm in
-- partner_users) who logged in on one of the 30 dates ending on that date, that date
-- included; the same window as is_active_30d of dim_partner_individual.
with

stage_entries as (
    select * from {{ ref('int_deal_stage_entries_unpivoted') }}
),

individuals as (
    select * from {{ ref('int_partner_individuals_enriched') }}
),

logins as (
    select * from {{ ref('stg_portal__logins') }}
),

login_days as (
    select distinct
        individuals.partner_id,
        logins.user_id,
        logins.occurred_on
    from logins
    inner join individuals
        on logins.user_id = individuals.individual_id
    where logins.occurred_on <= {{ prm_warehouse.as_of_date() }}
),

activity_dates as (
    select
        partner_id,
        entered_on as activity_date
    from stage_entries
    union
    select
        partner_id,
        occurred_on as activity_date
    from login_days
),

counted as (
    select
        activity_dates.partner_id,
        activity_dates.activity_date,
        count(distinct login_days.user_id) as active_individual_count
    from activity_dates
    left join login_days
        on
            activity_dates.partner_id = login_days.partner_id
            and activity_dates.activity_date >= login_days.occurred_on
            and cast(
                {{ dbt.dateadd('day', -29, 'activity_dates.activity_date') }} as date
            ) <= login_days.occurred_on
    group by
        activity_dates.partner_id,
        activity_dates.activity_date
),

final as (
    select * from counted
)

select * from final
