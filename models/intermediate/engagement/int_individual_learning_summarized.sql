-- One row per person, as of the as-of date: onboarding completion (every required course
-- complete) and quiz results.

with

course_progress as (
    select * from {{ ref('int_course_progress_computed') }}
),

quiz_results as (
    select * from {{ ref('int_quiz_results_summarized') }}
),

partner_users as (
    select * from {{ ref('stg_portal__partner_users') }}
),

partners as (
    select * from {{ ref('stg_portal__partners') }}
),

-- people of a firm missing from the partners snapshot are left out, as in the marts
individuals as (
    select
        partner_users.user_id,
        partner_users.partner_id
    from partner_users
    inner join partners
        on partner_users.partner_id = partners.partner_id
),

required_courses as (
    select
        individual_id,
        count(*) as required_course_count,
        count(completed_at) as required_courses_completed,
        max(completed_at) as last_required_completed_at
    from course_progress
    where is_required
    group by individual_id
),

quiz_counts as (
    select
        individual_id,
        sum(case when is_passed then 1 else 0 end) as quizzes_passed,
        sum(case when not is_passed then 1 else 0 end) as quizzes_failed
    from quiz_results
    group by individual_id
),

final as (
    select
        individuals.user_id as individual_id,
        individuals.partner_id,
        coalesce(required_courses.required_course_count, 0) as required_course_count,
        coalesce(required_courses.required_courses_completed, 0)
            as required_courses_completed,
        -- every required course complete: the latest of their completions; NULL while any
        -- is missing (and when the programme has no required course)
        case
            when
                required_courses.required_course_count > 0
                and required_courses.required_courses_completed
                = required_courses.required_course_count
                then required_courses.last_required_completed_at
        end as onboarding_completed_at,
        coalesce(quiz_counts.quizzes_passed, 0) as quizzes_passed,
        coalesce(quiz_counts.quizzes_failed, 0) as quizzes_failed
    from individuals
    left join required_courses
        on individuals.user_id = required_courses.individual_id
    left join quiz_counts
        on individuals.user_id = quiz_counts.individual_id
)

select * from final
