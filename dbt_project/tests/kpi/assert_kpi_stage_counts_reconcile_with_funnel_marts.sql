-- The monthly stage counts of fct_kpi_monthly equal the daily counts of the funnel marts
-- summed over the month: per firm with fct_funnel_partner, per person with
-- fct_funnel_person, for every month of fct_kpi_monthly.
-- A failing row names a scope, month and stage whose monthly figure differs from the
-- funnel marts: the KPI mart and the funnel dashboards would disagree.
-- Reads several models; reported in Dagster as a check of fct_kpi_monthly.
{{ config(meta={'dagster': {'ref': {'name': 'fct_kpi_monthly'}}}) }}
{%- set stages = prm_warehouse.funnel_stages() %}

with

kpi_monthly as (
    select * from {{ ref('fct_kpi_monthly') }}
),

funnel_partner as (
    select * from {{ ref('fct_funnel_partner') }}
),

funnel_person as (
    select * from {{ ref('fct_funnel_person') }}
),

funnel_daily as (
    {%- for stage in stages %}
    select
        cast('partner' as {{ dbt.type_string() }}) as scope_type,
        partner_id as scope_id,
        cast('{{ stage.key }}_count' as {{ dbt.type_string() }}) as kpi_key,
        activity_date,
        {{ stage.key }}_count as stage_count
    from funnel_partner
    union all
    select
        cast('individual' as {{ dbt.type_string() }}) as scope_type,
        individual_id as scope_id,
        cast('{{ stage.key }}_count' as {{ dbt.type_string() }}) as kpi_key,
        activity_date,
        {{ stage.key }}_count as stage_count
    from funnel_person
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

funnel_monthly as (
    select
        scope_type,
        scope_id,
        kpi_key,
        cast({{ dbt.date_trunc('month', 'activity_date') }} as date) as month_start,
        sum(stage_count) as stage_count
    from funnel_daily
    group by
        scope_type,
        scope_id,
        kpi_key,
        cast({{ dbt.date_trunc('month', 'activity_date') }} as date)
),

kpi_stage_counts as (
    select * from kpi_monthly
    where
        scope_type in ('partner', 'individual')
        and kpi_key in (
            {%- for stage in stages %}
            '{{ stage.key }}_count'{% if not loop.last %},{% endif %}
            {%- endfor %}
        )
),

final as (
    select
        kpi_stage_counts.scope_type,
        kpi_stage_counts.scope_id,
        kpi_stage_counts.kpi_key,
        kpi_stage_counts.month_start,
        kpi_stage_counts.value as kpi_value,
        coalesce(funnel_monthly.stage_count, 0) as funnel_value
    from kpi_stage_counts
    left join funnel_monthly
        on
            kpi_stage_counts.scope_type = funnel_monthly.scope_type
            and kpi_stage_counts.scope_id = funnel_monthly.scope_id
            and kpi_stage_counts.kpi_key = funnel_monthly.kpi_key
            and kpi_stage_counts.month_start = funnel_monthly.month_start
    where kpi_stage_counts.value <> coalesce(funnel_monthly.stage_count, 0)
)

select * from final
