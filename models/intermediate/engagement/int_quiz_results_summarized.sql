-- One row per person and quiz attempted on or before the as-of date: attempts, best score and
-- whether (and when) the quiz was passed. A quiz is passed when the best attempt's score
-- reaches the quiz's pass_score; passed_at is the first attempt that reached it.

with

quiz_attempts as (
    select * from {{ ref('stg_portal__quiz_attempts') }}
),

quizzes as (
    select * from {{ ref('stg_portal__quizzes') }}
),

attempts_as_of as (
    select
        quiz_attempts.attempt_id,
        quiz_attempts.user_id,
        quiz_attempts.quiz_id,
        quiz_attempts.submitted_at,
        quiz_attempts.score,
        quizzes.course_id,
        quizzes.pass_score
    from quiz_attempts
    left join quizzes
        on quiz_attempts.quiz_id = quizzes.quiz_id
    where quiz_attempts.submitted_on <= {{ prm_warehouse.as_of_date() }}
),

summarized as (
    select
        user_id as individual_id,
        quiz_id,
        max(course_id) as course_id,
        max(pass_score) as pass_score,
        count(*) as attempt_count,
        max(score) as best_score,
        min(submitted_at) as first_attempted_at,
        min(case when score >= pass_score then submitted_at end) as passed_at
    from attempts_as_of
    group by user_id, quiz_id
),

final as (
    select
        individual_id,
        quiz_id,
        course_id,
        attempt_count,
        best_score,
        pass_score,
        first_attempted_at,
        passed_at,
        {{ prm_warehouse.jst_date('passed_at') }} as passed_on,
        best_score >= pass_score as is_passed
    from summarized
)

select * from final
