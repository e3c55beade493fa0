-- The counted deal status events mapped to their stage or state, once every label is
-- known. Building this model first runs the unknown-label guard on its parents: a label
-- without a mapping row valid on its date raises an error naming the label and its files,
-- and dbt skips everything downstream (the funnel and the marts).
{{ prm_warehouse.assert_deal_status_labels_mapped(ref('int_deal_status_events_unioned')) }}

with

status_events as (
    select * from {{ ref('int_deal_status_events_unioned') }}
),

stage_map as (
    select * from {{ ref('deal_status_stage_map') }}
),

final as (
    select
        status_events.source_name,
        status_events.file_name,
        status_events.event_id,
        status_events.deal_id,
        status_events.status_label,
        status_events.changed_at,
        status_events.changed_on,
        stage_map.stage,
        stage_map.stage_rank
    from status_events
    inner join stage_map
        on
            status_events.status_label = stage_map.status_label
            and status_events.changed_on >= stage_map.valid_from
            and (stage_map.valid_to is null or status_events.changed_on < stage_map.valid_to)
)

select * from final
