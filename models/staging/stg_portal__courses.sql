with

source as (
    select * from {{ source('portal', 'courses') }}
),

latest as (
    {{ prm_warehouse.latest_snapshot_rows('source', 'course_id') }}
),

final as (
    select
        course_id,
        trim(title) as title,
        lesson_count,
        is_required,
        _file_name,
        _line_number
    from latest
)

select * from final
