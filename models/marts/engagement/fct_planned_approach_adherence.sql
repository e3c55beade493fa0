-- Whether approaches happen by the date the person planned, one row per deal with an
-- approach_planned_on. Per-person and per-firm counts are a group-by on individual_id or
-- partner_id; they reconcile because every deal has exactly one row and one status.

{% set as_of = prm_warehouse.as_of_date() %}

with

deal_funnel as (
    select * from {{ ref('fct_deal_funnel') }}
),

planned_deals as (
    select
        deal_id,
        partner_id,
        individual_id,
        approach_planned_on,
        case
            when {{ prm_warehouse.jst_date('approach_entered_at') }} <= {{ as_of }}
                then {{ prm_warehouse.jst_date('approach_entered_at') }}
        end as approach_entered_on,
        is_open,
        is_lost
    from deal_funnel
    where approach_planned_on is not null
),

classified as (
    select
        *,
        case
            when approach_entered_on is null then 'not_yet'
            when approach_entered_on <= approach_planned_on then 'on_time'
            else 'late'
        end as adherence_status
    from planned_deals
),

final as (
    select
        cast(deal_id as varchar) as deal_id,
        cast(partner_id as varchar) as partner_id,
        cast(individual_id as varchar) as individual_id,
        approach_planned_on,
        approach_entered_on,
        cast(adherence_status as varchar) as adherence_status,
        cast(
            case
                when adherence_status = 'late'
                    then {{ dbt.datediff('approach_planned_on', 'approach_entered_on', 'day') }}
                else 0
            end as bigint
        ) as days_late,
        coalesce(
            is_open
            and adherence_status = 'not_yet'
            and approach_planned_on < {{ as_of }},
            false
        ) as is_overdue,
        cast(is_open as boolean) as is_open,
        cast(is_lost as boolean) as is_lost
    from classified
)

select * from final
