-- Fails with every person whose engagement score lies outside 0-100, or whose components are
-- negative. A failure means the weights seed holds a negative weight or the score formula
-- no longer divides by the total weight.
select
    individual_id,
    engagement_score
from {{ ref('fct_key_person_engagement') }}
where
    engagement_score < 0
    or engagement_score > 100
    or least(
        login_days, content_views, distinct_contents_viewed, talk_script_views,
        lessons_completed, quizzes_passed, deals_registered, stage_entries
    ) < 0
