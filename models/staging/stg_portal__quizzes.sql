with

source as (
    select * from {{ source('portal', 'quizzes') }}
),

latest as (
    {{ prm_warehouse.latest_snapshot_rows('source', 'quiz_id') }}
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
