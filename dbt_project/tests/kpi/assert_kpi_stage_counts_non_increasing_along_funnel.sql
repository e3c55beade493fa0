-- Along the funnel, all-time counts can only stay equal or shrink: per person (and for the
-- programme), the deals that ever entered a stage, summed over every month, are at least
-- the deals that entered the next stage, since a deal enters every earlier stage no later
-- than a later one. (A deal that entered an early stage before the programme's first month
-- is outside every month and can make this fail: the programme must start before its data.)
-- A failing row is a scope where a later stage has more entries than an earlier one: the
-- stage-entry or the monthly counting logic lost an entry of the earlier stage.
{%- set stages = prm_warehouse.funnel_stages() %}

with

kpi_monthly as (
    select * from {{ ref('fct_kpi_monthly') }}
),

all_time as (
    select
        scope_type,
        scope_id,
    {%- for stage in stages %}
    sum(case when kpi_key = '{{ stage.key }}_count' then value else 0 end)
        as {{ stage.key }}_count
    {%- if not loop.last %},{% endif %}
    {%- endfor %}
    from kpi_monthly
    where scope_type in ('programme', 'individual')
    group by
        scope_type,
        scope_id
),

final as (
    select * from all_time
    where
    {%- for stage in stages[1:] %}
        {% if not loop.first %}or {% endif -%}
        {{ stages[loop.index0].key }}_count < {{ stage.key }}_count
    {%- endfor %}
)

select * from final
