-- A deal enters every stage no later than the next one: entry at stage s is the earliest
-- event mapped to a rank >= s, so along the funnel the entry times can only stay equal or
-- grow, and a later stage is never entered without the earlier ones.
-- A failing row is a deal and a pair of neighbouring stages whose entries break that
-- order: the stage-entry logic (int_deal_stages_entered) no longer follows
-- kpi-definitions.md.
{%- set stages = prm_warehouse.funnel_stages() %}

with

deals as (
    select * from {{ ref('fct_deal_funnel') }}
),

{% for stage in stages[1:] -%}
{%- set previous = stages[loop.index0] -%}
{{ stage.key }}_out_of_order as (
    select
        deal_id,
        cast('{{ previous.key }}' as {{ dbt.type_string() }}) as earlier_stage,
        {{ previous.key }}_entered_at as earlier_entered_at,
        cast('{{ stage.key }}' as {{ dbt.type_string() }}) as later_stage,
        {{ stage.key }}_entered_at as later_entered_at
    from deals
    where
        {{ stage.key }}_entered_at is not null
        and (
            {{ previous.key }}_entered_at is null
            or {{ previous.key }}_entered_at > {{ stage.key }}_entered_at
        )
),

{% endfor -%}

final as (
    {%- for stage in stages[1:] %}
    select * from {{ stage.key }}_out_of_order
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select * from final
