-- One row per person and course (every person crossed with every course), as of the as-of
-- date: distinct lessons completed, completion rate, the moment the course was completed and
-- the results of the course's quizzes (quizzes.course_id).

with

partner_users as (
    select * from {{ ref('stg_portal__partner_users') }}
),

partners as (
    select * from {{ ref('stg_portal__partners') }}
),

courses as (
    select * from {{ ref('stg_portal__courses') }}
),

lesson_completions as (
    select * from {{ ref('stg_portal__lesson_completions') }}
),

quiz_results as (
    select * from {{ ref('int_quiz_results_summarized') }}
),

quizzes as (
    select * from {{ ref('stg_portal__quizzes') }}
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

-- a lesson counts once, at its first completion on or before the as-of date
lessons_first_completed as (
    select
        user_id as individual_id,
        course_id,
        lesson_id,
        min(completed_at) as first_completed_at
    from lesson_completions
    where completed_on <= {{ prm_warehouse.as_of_date() }}
    group by user_id, course_id, lesson_id
),

lessons_numbered as (
    select
        individual_id,
        course_id,
        lesson_id,
        first_completed_at,
        row_number() over (
            partition by individual_id, course_id
            order by first_completed_at, lesson_id
        ) as lesson_number
    from lessons_first_completed
),

-- the course is complete at the first completion of its lesson_count-th distinct lesson
lesson_progress as (
    select
        lessons_numbered.individual_id,
        lessons_numbered.course_id,
        count(*) as lessons_completed,
        min(
            case
                when lessons_numbered.lesson_number = courses.lesson_count
                    then lessons_numbered.first_completed_at
            end
        ) as completed_at
    from lessons_numbered
    inner join courses
        on lessons_numbered.course_id = courses.course_id
    group by lessons_numbered.individual_id, lessons_numbered.course_id
),

course_quiz_counts as (
    select
        course_id,
        count(*) as quiz_count
    from quizzes
    where course_id is not null
    group by course_id
),

quiz_progress as (
    select
        individual_id,
        course_id,
        sum(attempt_count) as quiz_attempts,
        max(best_score) as best_quiz_score,
        sum(case when is_passed then 1 else 0 end) as quizzes_passed
    from quiz_results
    where course_id is not null
    group by individual_id, course_id
),

individual_courses as (
    select
        individuals.user_id as individual_id,
        individuals.partner_id,
        courses.course_id,
        courses.title as course_title,
        courses.is_required,
        courses.lesson_count
    from individuals
    cross join courses
),

final as (
    select
        individual_courses.individual_id,
        individual_courses.course_id,
        individual_courses.partner_id,
        individual_courses.course_title,
        coalesce(individual_courses.is_required, false) as is_required,
        individual_courses.lesson_count,
        coalesce(lesson_progress.lessons_completed, 0) as lessons_completed,
        case
            when individual_courses.lesson_count > 0
                then least(
                    cast(coalesce(lesson_progress.lessons_completed, 0) as double)
                    / individual_courses.lesson_count,
                    1.0
                )
        end as completion_rate,
        lesson_progress.completed_at,
        coalesce(quiz_progress.quiz_attempts, 0) as quiz_attempts,
        quiz_progress.best_quiz_score,
        -- NULL when the course has no quiz; otherwise every quiz of the course passed
        case
            when course_quiz_counts.quiz_count is null then null
            else coalesce(quiz_progress.quizzes_passed, 0) = course_quiz_counts.quiz_count
        end as quiz_passed
    from individual_courses
    left join lesson_progress
        on
            individual_courses.individual_id = lesson_progress.individual_id
            and individual_courses.course_id = lesson_progress.course_id
    left join quiz_progress
        on
            individual_courses.individual_id = quiz_progress.individual_id
            and individual_courses.course_id = quiz_progress.course_id
    left join course_quiz_counts
        on individual_courses.course_id = course_quiz_counts.course_id
)

select * from final
