-- Fails with every problem of the seed support_priority_rules: a reason code or setting that
-- the support list does not know or that is missing, a negative weight, or a threshold a
-- rule needs that is empty (going_dormant must stay below the 90 days after which a person is
-- dormant). A failure means the seed was edited into a state the list cannot use.
with

rules as (
    select * from {{ ref('support_priority_rules') }}
),

{#- (rule_type, rule_key, needs threshold_days, needs threshold_count) -#}
{%- set expected_rules = [
    ('reason', 'stalled_deal', false, false),
    ('reason', 'overdue_planned_approach', false, false),
    ('reason', 'approach_without_proposal', true, false),
    ('reason', 'no_recent_talk_script_view', true, true),
    ('reason', 'failed_quiz', false, false),
    ('reason', 'going_dormant', true, false),
    ('setting', 'suggest_talk_script', false, true),
] %}

expected as (
    {% for rule_type, rule_key, needs_days, needs_count in expected_rules %}
    select
        '{{ rule_type }}' as rule_type,
        '{{ rule_key }}' as rule_key,
        {{ needs_days }} as needs_days,
        {{ needs_count }} as needs_count
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

problems as (
    select
        rules.rule_key,
        'unknown rule for its type' as problem
    from rules
    left join expected
        on rules.rule_type = expected.rule_type and rules.rule_key = expected.rule_key
    where expected.rule_key is null

    union all

    select
        expected.rule_key,
        'missing rule' as problem
    from expected
    left join rules
        on expected.rule_type = rules.rule_type and expected.rule_key = rules.rule_key
    where rules.rule_key is null

    union all

    select
        rules.rule_key,
        'reason needs weight >= 0 and a next_action' as problem
    from rules
    where
        rules.rule_type = 'reason' and (
            rules.weight is null or rules.weight < 0 or rules.next_action is null
        )

    union all

    select
        rules.rule_key,
        'threshold missing or not positive' as problem
    from rules
    inner join expected
        on rules.rule_key = expected.rule_key
    where
        (expected.needs_days and coalesce(rules.threshold_days, 0) <= 0)
        or (expected.needs_count and coalesce(rules.threshold_count, 0) <= 0)

    union all

    select
        rule_key,
        'going_dormant threshold_days must be below 90' as problem
    from rules
    where rule_key = 'going_dormant' and threshold_days >= 90
)

select * from problems
