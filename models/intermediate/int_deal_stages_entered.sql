-- One row per deal with counted status events: when it entered each funnel stage, its
-- furthest stage and its current status.
-- * A deal enters stage s at the earliest changed_at among its events mapped to a rank
--   >= s. A jump (approach -> won) therefore enters the skipped stages at the moment of
--   the jump, and a move back to an earlier stage never undoes an entry.
-- * max_stage is the highest rank entered; max_stage_entered_at is when it was entered.
-- * The current status is the label of the latest event (on equal times the deals
--   snapshot, then the highest event_id, wins); current_status is its canonical key,
--   a stage or a state (lost, on_hold).
{%- set stages = prm_warehouse.funnel_stages() %}

with

status_events as (
    select * from {{ ref('int_deal_status_events_validated') }}
),

entries as (
    select
        deal_id,
        {%- for stage in stages %}
        min(
            case when stage_rank >= {{ stage.rank }} then changed_at end
        ) as {{ stage.key }}_entered_at,
        {%- endfor %}
        max(stage_rank) as max_stage_rank
    from status_events
    group by deal_id
),

furthest as (
    select
        deal_id,
        {%- for stage in stages %}
        {{ stage.key }}_entered_at,
        {%- endfor %}
        max_stage_rank,
        case max_stage_rank
            {%- for stage in stages %}
            when {{ stage.rank }} then '{{ stage.key }}'
            {%- endfor %}
        end as max_stage,
        case max_stage_rank
            {%- for stage in stages %}
            when {{ stage.rank }} then {{ stage.key }}_entered_at
            {%- endfor %}
        end as max_stage_entered_at
    from entries
),

ranked_events as (
    select
        deal_id,
        status_label,
        stage,
        row_number() over (
            partition by deal_id
            order by
                changed_at desc,
                case when source_name = 'deals' then 0 else 1 end,
                event_id desc
        ) as recency
    from status_events
),

current_statuses as (
    select
        deal_id,
        status_label as current_status_label,
        stage as current_status
    from ranked_events
    where recency = 1
),

final as (
    select
        furthest.*,
        current_statuses.current_status_label,
        current_statuses.current_status
    from furthest
    inner join current_statuses
        on furthest.deal_id = current_statuses.deal_id
)

select * from final
