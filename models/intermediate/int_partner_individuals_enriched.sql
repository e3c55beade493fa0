-- One row per person of a known firm (current partner_users snapshot; a person whose firm
-- is unknown is reported by int_reference_violations), with login and deal activity as of
-- the as-of date and the lifecycle stage:
-- * invited: no login yet;
-- * onboarded: has logged in, owns no deal registered yet;
-- * activated: owns at least one registered deal and was active (a login, a deal
--   registered or a status change of one of their deals) within the last 90 days;
-- * dormant: owns registered deals but had no such activity within the last 90 days.
-- "Within the last N days" means on one of the N Japan-time dates ending on the as-of
-- date, that date included. Deals count for their current owner, as in the funnel.
with

partner_users as (
    select * from {{ ref('stg_portal__partner_users') }}
),

partners as (
    select * from {{ ref('stg_portal__partners') }}
),

logins as (
    select * from {{ ref('stg_portal__logins') }}
),

deals as (
    select * from {{ ref('int_deals_resolved') }}
),

status_events as (
    select * from {{ ref('int_deal_status_events_validated') }}
),

individuals as (
    select
        partner_users.user_id as individual_id,
        partner_users.partner_id,
        partners.partner_name,
        partner_users.full_name,
        partner_users.job_role,
        partner_users.is_certified,
        partner_users.account_issued_at,
        partner_users.user_status
    from partner_users
    inner join partners
        on partner_users.partner_id = partners.partner_id
),

logins_as_of as (
    select
        user_id,
        occurred_at,
        occurred_on
    from logins
    where occurred_on <= {{ prm_warehouse.as_of_date() }}
),

login_summaries as (
    select
        user_id,
        min(occurred_at) as first_login_at,
        max(occurred_at) as last_login_at,
        max(occurred_on) as last_login_on
    from logins_as_of
    group by user_id
),

deal_summaries as (
    select
        owner_user_id as user_id,
        count(*) as deals_registered_count
    from deals
    group by owner_user_id
),

activity_dates as (
    select
        user_id,
        occurred_on as activity_on
    from logins_as_of
    union all
    select
        owner_user_id as user_id,
        registered_on as activity_on
    from deals
    union all
    select
        deals.owner_user_id as user_id,
        status_events.changed_on as activity_on
    from status_events
    inner join deals
        on status_events.deal_id = deals.deal_id
),

activity_summaries as (
    select
        user_id,
        max(activity_on) as last_activity_on
    from activity_dates
    group by user_id
),

joined as (
    select
        individuals.*,
        login_summaries.first_login_at,
        login_summaries.last_login_at,
        login_summaries.last_login_on,
        coalesce(deal_summaries.deals_registered_count, 0) as deals_registered_count,
        activity_summaries.last_activity_on
    from individuals
    left join login_summaries
        on individuals.individual_id = login_summaries.user_id
    left join deal_summaries
        on individuals.individual_id = deal_summaries.user_id
    left join activity_summaries
        on individuals.individual_id = activity_summaries.user_id
),

final as (
    select
        individual_id,
        partner_id,
        partner_name,
        full_name,
        job_role,
        is_certified,
        account_issued_at,
        user_status,
        first_login_at,
        last_login_at,
        last_activity_on,
        deals_registered_count,
        coalesce(
            last_login_on >= cast(
                {{ dbt.dateadd('day', -29, prm_warehouse.as_of_date()) }} as date
            ),
            false
        ) as is_active_30d,
        case
            when
                deals_registered_count > 0
                and last_activity_on >= cast(
                    {{ dbt.dateadd('day', -89, prm_warehouse.as_of_date()) }} as date
                )
                then 'activated'
            when deals_registered_count > 0 then 'dormant'
            when first_login_at is not null then 'onboarded'
            else 'invited'
        end as lifecycle_stage
    from joined
)

select * from final
