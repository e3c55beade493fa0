-- Every counted deal status event with the deal_status_stage_map row valid on its
-- Japan-time date. A label the mapping does not know on that date is kept, with NULL stage
-- and is_label_mapped = false, so that analysts and tests can see it; the funnel reads
-- int_deal_status_events_validated instead, which stops the build on such labels.
with

status_events as (
    select * from {{ ref('int_deal_status_events_unioned') }}
),

stage_map as (
    select * from {{ ref('deal_status_stage_map') }}
),

mapped as (
    select
        status_events.source_name,
        status_events.file_name,
        status_events.event_id,
        status_events.deal_id,
        status_events.status_label,
        status_events.changed_at,
        status_events.changed_on,
        stage_map.stage,
        stage_map.stage_rank,
        stage_map.status_label is not null as is_label_mapped
    from status_events
    left join stage_map
        on
            status_events.status_label = stage_map.status_label
            and status_events.changed_on >= stage_map.valid_from
            and (stage_map.valid_to is null or status_events.changed_on < stage_map.valid_to)
),

final as (
    select * from mapped
)

select * from final
