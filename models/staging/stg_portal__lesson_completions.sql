with

source as (
    select * from {{ source('portal', 'lesson_completions') }}
),

deduplicated as (
    {{ prm_warehouse.latest_delivered_rows('source', 'event_id') }}
),

final as (
    select
        event_id,
        user_id,
        course_id,
        lesson_id,
        completed_at,
        {{ prm_warehouse.jst_date('completed_at') }} as completed_on,
        _file_name,
        _line_number
    from deduplicated
)

select * from final
