with

source as (
    select * from {{ source('portal', 'quizzes') }}
),

quarantine as (
    select * from {{ source('portal', '_quarantine') }}
),

latest as (
    {{ prm_warehouse.latest_snapshot_rows(
        'source', 'quiz_id', quarantine='quarantine', source_name='quizzes'
    ) }}
),

final as (
    select
        quiz_id,
        course_id,
        trim(title) as title,
        max_score,
        pass_score,
        _file_name,
        _line_number
    from latest
)

select * from final
