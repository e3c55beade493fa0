-- One row per firm and activity date: every Japan-time date on or before the as-of date on
-- which the firm had a funnel stage entry or one of its people logged in. For each such
-- date, active_individual_count is the number of the firm's people (their current firm in
-- partner_users) who logged in on one of the 30 dates ending on that date, that date
-- included; the same window as is_active_30d of dim_partner_individual.
--
-- A login on date L makes its person active on L and the 29 dates after it. A person's
-- logins less than 30 days apart form one active spell (first login to last login plus 29
-- days), so a person is in at most one spell on any date, and the count on a date is the
-- number of spells begun on or before it less the number ended before it: a running sum
-- over the firm's dates, without comparing every date with every login.
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

login_days_with_previous as (
    select
        partner_id,
        user_id,
        occurred_on,
        lag(occurred_on) over (
            partition by partner_id, user_id
            order by occurred_on
        ) as previous_login_on
    from login_days
),

login_days_in_spells as (
    select
        partner_id,
        user_id,
        occurred_on,
        sum(
            case
                when
                    previous_login_on is null
                    or occurred_on > cast(
                        {{ dbt.dateadd('day', 29, 'previous_login_on') }} as date
                    )
                    then 1
                else 0
            end
        ) over (
            partition by partner_id, user_id
            order by occurred_on
            rows between unbounded preceding and current row
        ) as spell_number
    from login_days_with_previous
),

active_spells as (
    select
        partner_id,
        user_id,
        min(occurred_on) as active_from,
        max(occurred_on) as last_login_on
    from login_days_in_spells
    group by
        partner_id,
        user_id,
        spell_number
),

count_changes as (
    select
        partner_id,
        active_from as changed_on,
        1 as change_in_count
    from active_spells
    union all
    select
        partner_id,
        cast({{ dbt.dateadd('day', 30, 'last_login_on') }} as date) as changed_on,
        -1 as change_in_count
    from active_spells
    union all
    select
        partner_id,
        activity_date as changed_on,
        0 as change_in_count
    from activity_dates
),

daily_changes as (
    select
        partner_id,
        changed_on,
        sum(change_in_count) as change_in_count
    from count_changes
    group by
        partner_id,
        changed_on
),

running_counts as (
    select
        partner_id,
        changed_on,
        sum(change_in_count) over (
            partition by partner_id
            order by changed_on
            rows between unbounded preceding and current row
        ) as active_individual_count
    from daily_changes
),

counted as (
    select
        activity_dates.partner_id,
        activity_dates.activity_date,
        cast(
            coalesce(running_counts.active_individual_count, 0) as {{ dbt.type_bigint() }}
        ) as active_individual_count
    from activity_dates
    left join running_counts
        on
            activity_dates.partner_id = running_counts.partner_id
            and activity_dates.activity_date = running_counts.changed_on
),

final as (
    select * from counted
)

select * from final
