-- Every KPI contribution, one row per KPI, month, person and firm: numerator (the count, or
-- the converted members of a cohort) and denominator (the cohort size; NULL for counts).
-- A KPI model of this folder is listed here once; fct_kpi_monthly aggregates the rows to
-- people, firms and the programme. Adding a KPI: docs/adding-a-kpi.md.
{%- set kpi_models = [
    'int_kpi_stage_entries_counted',
    'int_kpi_deal_cohorts_converted',
    'int_kpi_individual_activity_counted',
    'int_kpi_individual_states_counted',
    'int_kpi_deals_registered',
] %}

with

{% for kpi_model in kpi_models %}
{{ kpi_model }} as (
    select * from {{ ref(kpi_model) }}
),

{% endfor -%}
unioned as (
    {%- for kpi_model in kpi_models %}
    select
        cast(kpi_key as {{ dbt.type_string() }}) as kpi_key,
        cast(month_start as date) as month_start,
        cast(individual_id as {{ dbt.type_string() }}) as individual_id,
        cast(partner_id as {{ dbt.type_string() }}) as partner_id,
        cast(numerator as double) as numerator,
        cast(denominator as double) as denominator
    from {{ kpi_model }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

final as (
    select * from unioned
)

select * from final
