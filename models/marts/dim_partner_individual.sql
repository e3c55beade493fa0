-- One row per person of a known firm, with login activity and lifecycle stage as of the
-- as-of date, onboarding and quiz results (int_individual_learning_summarized) and whether
-- the person is a key person (fct_key_person_engagement).
with

individuals as (
    select * from {{ ref('int_partner_individuals_enriched') }}
),

learning as (
    select * from {{ ref('int_individual_learning_summarized') }}
),

key_person_engagement as (
    select * from {{ ref('fct_key_person_engagement') }}
),

final as (
    select
        individuals.individual_id,
        individuals.partner_id,
        individuals.partner_name,
        individuals.full_name,
        individuals.job_role,
        individuals.is_certified,
        individuals.account_issued_at,
        individuals.user_status,
        individuals.first_login_at,
        individuals.last_login_at,
        individuals.is_active_30d,
        individuals.lifecycle_stage,
        individuals.deals_registered_count,
        individuals.last_activity_on,
        learning.onboarding_completed_at,
        cast(learning.quizzes_passed as {{ dbt.type_bigint() }}) as quizzes_passed,
        key_person_engagement.is_key_person
    from individuals
    left join learning
        on individuals.individual_id = learning.individual_id
    left join key_person_engagement
        on individuals.individual_id = key_person_engagement.individual_id
)

select * from final
