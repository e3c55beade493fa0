with

course_progress as (
    select * from {{ ref('int_course_progress_computed') }}
),

final as (
    select
        cast(individual_id as varchar) as individual_id,
        cast(course_id as varchar) as course_id,
        cast(partner_id as varchar) as partner_id,
        cast(course_title as varchar) as course_title,
        cast(is_required as boolean) as is_required,
        cast(lesson_count as bigint) as lesson_count,
        cast(lessons_completed as bigint) as lessons_completed,
        cast(completion_rate as double) as completion_rate,
        completed_at,
        cast(quiz_attempts as bigint) as quiz_attempts,
        cast(best_quiz_score as double) as best_quiz_score,
        cast(quiz_passed as boolean) as quiz_passed
    from course_progress
)

select * from final
