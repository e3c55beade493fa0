-- Fails with every problem of the seed engagement_weights: a component row that names no
-- component of fct_key_person_engagement, a negative weight, a cap not above 0, a threshold
-- outside 0-100, a missing threshold or component, or no positive weight at all. A failure
-- means the seed was edited into a state the score cannot use; fix the seed.
with

weights as (
    select * from {{ ref('engagement_weights') }}
),

expected as (
    {% for name in [
        'login_days', 'content_views', 'distinct_contents_viewed', 'talk_script_views',
        'lessons_completed', 'quizzes_passed', 'deals_registered', 'stage_entries',
    ] %}
    select
        'component' as kind,
        '{{ name }}' as name
    union all
    {% endfor %}
    select
        'threshold' as kind,
        'key_person_firm_min_score' as name
    union all
    select
        'threshold' as kind,
        'key_person_programme_min_score' as name
),

problems as (
    select
        weights.name,
        'unknown name for its kind' as problem
    from weights
    left join expected
        on weights.kind = expected.kind and weights.name = expected.name
    where expected.name is null

    union all

    select
        expected.name,
        'missing row' as problem
    from expected
    left join weights
        on expected.kind = weights.kind and expected.name = weights.name
    where weights.name is null

    union all

    select
        name,
        'component needs weight >= 0 and cap > 0' as problem
    from weights
    where
        kind = 'component'
        and (weight is null or weight < 0 or cap is null or cap <= 0)

    union all

    select
        name,
        'threshold needs min_score in 0-100' as problem
    from weights
    where
        kind = 'threshold'
        and (min_score is null or min_score < 0 or min_score > 100)

    union all

    select
        'all components' as name,
        'no positive weight' as problem
    from weights
    where kind = 'component'
    having coalesce(sum(weight), 0) <= 0
)

select * from problems
