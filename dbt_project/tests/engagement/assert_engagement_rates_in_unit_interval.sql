-- Fails with every rate outside [0, 1]: completion rates of fct_learning_progress and proposal
-- rates of fct_talk_script_proposal_effect. A failure means a count exceeds its cohort or
-- lesson_count (a rate must be capped or the cohort miscounted).
-- Reads several models; reported in Dagster as a check of fct_learning_progress.
{{ config(meta={'dagster': {'ref': {'name': 'fct_learning_progress'}}}) }}
select
    'fct_learning_progress' as model_name,
    individual_id || '/' || course_id as row_key,
    completion_rate as rate
from {{ ref('fct_learning_progress') }}
where completion_rate < 0 or completion_rate > 1

union all

select
    'fct_talk_script_proposal_effect' as model_name,
    cast(month_start as varchar) || '/' || talk_script_group as row_key,
    proposal_rate as rate
from {{ ref('fct_talk_script_proposal_effect') }}
where
    proposal_rate < 0
    or proposal_rate > 1
    or (approach_deal_count = 0 and proposal_rate is not null)
    or (approach_deal_count > 0 and proposal_rate is null)
