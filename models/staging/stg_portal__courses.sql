with

source as (
    select * from {{ source('portal', 'courses') }}
),

quarantine as (
    select * from {{ source('portal', '_quarantine') }}
),

latest as (
    {{ prm_warehouse.latest_snapshot_rows(
        'source', 'course_id', quarantine='quarantine', source_name='courses'
    ) }}
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
