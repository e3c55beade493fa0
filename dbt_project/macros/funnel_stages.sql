{#- The five stages of the partner funnel in rank order (kpi-definitions.md). Models loop
    over this list to build one column per stage (<stage>_entered_at, <stage>_count), so a
    stage's key and rank are written once. States (lost, on_hold) are not stages. -#}
{% macro funnel_stages() -%}
    {{ return([
        {'key': 'approach_planned', 'rank': 1},
        {'key': 'approach', 'rank': 2},
        {'key': 'proposal', 'rank': 3},
        {'key': 'proposal_agreed', 'rank': 4},
        {'key': 'won', 'rank': 5},
    ]) }}
{%- endmacro %}
