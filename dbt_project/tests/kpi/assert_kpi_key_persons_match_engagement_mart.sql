-- For the month of the as-of date, the key persons of the KPI mart (scored on the as-of
-- date by int_kpi_individual_states_month_end) are exactly the key persons of
-- fct_key_person_engagement.
-- A failing row is a person flagged by one model and not the other: the two copies of the
-- key-person rule (scoring, weights, thresholds, ranking) have drifted apart, and
-- key_person_count no longer means what the engagement dashboard shows.
-- Reads several models; reported in Dagster as a check of fct_key_person_engagement.
{{ config(meta={'dagster': {'ref': {'name': 'fct_key_person_engagement'}}}) }}
with

states as (
    select * from {{ ref('int_kpi_individual_states_month_end') }}
),

months as (
    select * from {{ ref('int_kpi_months') }}
),

engagement as (
    select * from {{ ref('fct_key_person_engagement') }}
),

current_states as (
    select states.*
    from states
    inner join months
        on states.month_start = months.month_start
    where not months.is_closed
),

final as (
    select
        coalesce(current_states.individual_id, engagement.individual_id) as individual_id,
        current_states.is_key_person as kpi_is_key_person,
        engagement.is_key_person as engagement_is_key_person,
        current_states.engagement_score as kpi_engagement_score,
        engagement.engagement_score as engagement_engagement_score
    from current_states
    full outer join engagement
        on current_states.individual_id = engagement.individual_id
    where
        coalesce(current_states.is_key_person, false)
        <> coalesce(engagement.is_key_person, false)
)

select * from final
