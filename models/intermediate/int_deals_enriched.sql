-- One row per deal the marts count (int_deals_resolved), with its funnel entries, current
-- status and the as-of measures:
-- * is_open: not won and the current state is not lost;
-- * days_in_max_stage: as-of date minus the Japan-time date the deal entered max_stage;
-- * is_stalled: open, and more than the stage's stall threshold (the stage_stall_thresholds
--   row valid on the as-of date) days in max_stage; a deal whose max_stage is
--   approach_planned is also stalled once its approach_planned_on lies before the as-of
--   date.
-- A deal without counted status events (possible only when its snapshot row changed after
-- the as-of date) has no stage and no current status; it is open and not stalled.
{%- set stages = prm_warehouse.funnel_stages() %}

with

deals as (
    select * from {{ ref('int_deals_resolved') }}
),

stages_entered as (
    select * from {{ ref('int_deal_stages_entered') }}
),

stall_thresholds as (
    select * from {{ ref('stage_stall_thresholds') }}
),

thresholds_as_of as (
    select
        stage,
        stall_after_days
    from stall_thresholds
    where
        valid_from <= {{ prm_warehouse.as_of_date() }}
        and (valid_to is null or valid_to > {{ prm_warehouse.as_of_date() }})
),

joined as (
    select
        deals.deal_id,
        deals.partner_id,
        deals.owner_user_id,
        deals.client_industry,
        deals.client_size_band,
        deals.approach_planned_on,
        deals.registered_at,
        deals.registered_on,
        stages_entered.current_status_label,
        stages_entered.current_status,
        stages_entered.max_stage,
        stages_entered.max_stage_rank,
        {%- for stage in stages %}
        stages_entered.{{ stage.key }}_entered_at,
        {%- endfor %}
        stages_entered.max_stage_entered_at,
        thresholds_as_of.stall_after_days
    from deals
    left join stages_entered
        on deals.deal_id = stages_entered.deal_id
    left join thresholds_as_of
        on stages_entered.max_stage = thresholds_as_of.stage
),

measured as (
    select
        joined.*,
        {{ dbt.datediff(
            prm_warehouse.jst_date('joined.max_stage_entered_at'),
            prm_warehouse.as_of_date(),
            'day'
        ) }} as days_in_max_stage,
        joined.won_entered_at is null
        and (joined.current_status is null or joined.current_status <> 'lost') as is_open,
        coalesce(joined.current_status = 'lost', false) as is_lost
    from joined
),

final as (
    select
        deal_id,
        partner_id,
        owner_user_id,
        client_industry,
        client_size_band,
        approach_planned_on,
        registered_at,
        registered_on,
        current_status_label,
        current_status,
        max_stage,
        max_stage_rank,
        {%- for stage in stages %}
        {{ stage.key }}_entered_at,
        {%- endfor %}
        max_stage_entered_at,
        days_in_max_stage,
        stall_after_days,
        is_open,
        is_lost,
        is_open and (
            coalesce(days_in_max_stage > stall_after_days, false)
            or coalesce(
                max_stage = 'approach_planned'
                and approach_planned_on < {{ prm_warehouse.as_of_date() }},
                false
            )
        ) as is_stalled
    from measured
)

select * from final
