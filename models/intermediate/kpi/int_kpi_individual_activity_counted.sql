-- KPI contributions of people's own activity, per person (of a known firm, counted for the
-- person's current firm) and month, on or before the as-of date:
-- * active_individuals: 1 when the person logged in on at least one day of the month;
-- * onboarding_completions: 1 in the month the person completed onboarding (every
--   required course complete, int_individual_learning_summarized);
-- * quizzes_passed: quizzes whose first passing attempt lies in the month.
{%- set as_of = prm_warehouse.as_of_date() %}

with

individuals as (
    select * from {{ ref('int_partner_individuals_enriched') }}
),

logins as (
    select * from {{ ref('stg_portal__logins') }}
),

learning as (
    select * from {{ ref('int_individual_learning_summarized') }}
),

quiz_results as (
    select * from {{ ref('int_quiz_results_summarized') }}
),

months as (
    select * from {{ ref('int_kpi_months') }}
),

login_months as (
    select distinct
        cast('active_individuals' as {{ dbt.type_string() }}) as kpi_key,
        cast({{ dbt.date_trunc('month', 'occurred_on') }} as date) as month_start,
        user_id as individual_id,
        cast(1 as double) as numerator
    from logins
    where occurred_on <= {{ as_of }}
),

onboarding_months as (
    select
        cast('onboarding_completions' as {{ dbt.type_string() }}) as kpi_key,
        cast(
            {{ dbt.date_trunc('month', prm_warehouse.jst_date('onboarding_completed_at')) }}
            as date
        ) as month_start,
        individual_id,
        cast(1 as double) as numerator
    from learning
    where onboarding_completed_at is not null
),

quiz_pass_months as (
    select
        cast('quizzes_passed' as {{ dbt.type_string() }}) as kpi_key,
        cast({{ dbt.date_trunc('month', 'passed_on') }} as date) as month_start,
        individual_id,
        cast(count(*) as double) as numerator
    from quiz_results
    where passed_on is not null
    group by
        cast({{ dbt.date_trunc('month', 'passed_on') }} as date),
        individual_id
),

unioned as (
    select * from login_months
    union all
    select * from onboarding_months
    union all
    select * from quiz_pass_months
),

final as (
    select
        unioned.kpi_key,
        unioned.month_start,
        unioned.individual_id,
        individuals.partner_id,
        unioned.numerator,
        cast(null as double) as denominator
    from unioned
    inner join individuals
        on unioned.individual_id = individuals.individual_id
    inner join months
        on unioned.month_start = months.month_start
)

select * from final
