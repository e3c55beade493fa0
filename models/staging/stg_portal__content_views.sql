with

source as (
    select * from {{ source('portal', 'content_views') }}
),

deduplicated as (
    {{ prm_warehouse.latest_delivered_rows('source', 'event_id') }}
),

final as (
    select
        event_id,
        user_id,
        content_id,
        occurred_at,
        {{ prm_warehouse.jst_date('occurred_at') }} as occurred_on,
        lower(trim(action)) as action,
        duration_sec,
        _file_name,
        _line_number
    from deduplicated
)

select * from final
