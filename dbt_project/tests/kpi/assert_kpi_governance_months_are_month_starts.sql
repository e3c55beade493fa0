-- Targets and declared restatements name a month by its first day.
-- A failing row is a target or restatement dated on another day: it would match no month
-- of fct_kpi_monthly, so the target would be missing from fct_kpi_target_gap or the
-- restatement would not cover the figure it was meant for.
-- Reads several models; reported in Dagster as a check of kpi_targets.
{{ config(meta={'dagster': {'ref': {'name': 'kpi_targets'}}}) }}
with

kpi_targets as (
    select * from {{ ref('kpi_targets') }}
),

kpi_restatements as (
    select * from {{ ref('kpi_restatements') }}
),

months as (
    select
        cast('kpi_targets' as {{ dbt.type_string() }}) as seed_name,
        kpi_key,
        month as month_start
    from kpi_targets
    union all
    select
        cast('kpi_restatements' as {{ dbt.type_string() }}) as seed_name,
        kpi_key,
        month_start
    from kpi_restatements
),

final as (
    select * from months
    where month_start <> cast({{ dbt.date_trunc('month', 'month_start') }} as date)
)

select * from final
