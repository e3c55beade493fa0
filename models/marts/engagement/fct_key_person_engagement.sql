-- Engagement score and key persons, one row per person as of the as-of date. Scoring,
-- weights, tie handling and retuning: see the engagement_score doc block.

{% set components = [
    'login_days',
    'content_views',
    'distinct_contents_viewed',
    'talk_script_views',
    'lessons_completed',
    'quizzes_passed',
    'deals_registered',
    'stage_entries',
] %}

with

activity as (
    select * from {{ ref('int_individual_activity_summarized') }}
),

engagement_weights as (
    select * from {{ ref('engagement_weights') }}
),

component_weights as (
    select
        name as component,
        weight,
        cap
    from engagement_weights
    where kind = 'component'
),

thresholds as (
    select
        max(case when name = 'key_person_firm_min_score' then min_score end)
            as firm_min_score,
        max(case when name = 'key_person_programme_min_score' then min_score end)
            as programme_min_score
    from engagement_weights
    where kind = 'threshold'
),

total_weight as (
    select sum(weight) as total_weight
    from component_weights
),

component_values as (
    {% for component in components %}
    select
        individual_id,
        '{{ component }}' as component,
        cast({{ component }} as double) as component_value
    from activity
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

weighted_components as (
    select
        component_values.individual_id,
        component_weights.weight
        * least(component_values.component_value, component_weights.cap)
        / component_weights.cap as weighted_share
    from component_values
    inner join component_weights
        on component_values.component = component_weights.component
),

scores as (
    select
        weighted_components.individual_id,
        -- rounded once, here: ranks and thresholds use the score as published
        round(
            100.0 * sum(weighted_components.weighted_share) / max(total_weight.total_weight),
            2
        ) as engagement_score
    from weighted_components
    cross join total_weight
    group by weighted_components.individual_id
),

ranked as (
    select
        activity.*,
        scores.engagement_score,
        dense_rank() over (
            partition by activity.partner_id
            order by scores.engagement_score desc
        ) as rank_in_partner
    from activity
    inner join scores
        on activity.individual_id = scores.individual_id
),

final as (
    select
        cast(ranked.individual_id as varchar) as individual_id,
        cast(ranked.partner_id as varchar) as partner_id,
        ranked.as_of_date,
        {% for component in components %}
        cast(ranked.{{ component }} as bigint) as {{ component }},
        {% endfor %}
        cast(ranked.engagement_score as double) as engagement_score,
        cast(ranked.rank_in_partner as bigint) as rank_in_partner,
        coalesce(
            (
                ranked.rank_in_partner = 1
                and ranked.engagement_score >= thresholds.firm_min_score
            )
            or ranked.engagement_score >= thresholds.programme_min_score,
            false
        ) as is_key_person
    from ranked
    cross join thresholds
)

select * from final
