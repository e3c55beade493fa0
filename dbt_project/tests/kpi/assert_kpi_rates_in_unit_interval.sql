-- Cohort rates lie in [0, 1] and are NULL exactly when the cohort is empty: for every
-- ratio KPI row of fct_kpi_monthly, 0 <= numerator <= denominator, value = numerator /
-- denominator, and value is NULL if and only if denominator = 0.
-- A failing row is a rate that counts converted deals outside their cohort, reports 0 for
-- an empty cohort (or NULL for a non-empty one), or is not the share it claims to be.
-- Reads several models; reported in Dagster as a check of fct_kpi_monthly.
{{ config(meta={'dagster': {'ref': {'name': 'fct_kpi_monthly'}}}) }}
with

kpi_monthly as (
    select * from {{ ref('fct_kpi_monthly') }}
),

kpi_catalog as (
    select * from {{ ref('kpi_catalog') }}
),

rates as (
    select kpi_monthly.*
    from kpi_monthly
    inner join kpi_catalog
        on kpi_monthly.kpi_key = kpi_catalog.kpi_key
    where kpi_catalog.aggregation = 'ratio'
),

final as (
    select * from rates
    where
        denominator is null
        or numerator < 0
        or numerator > denominator
        or (denominator = 0 and value is not null)
        or (denominator > 0 and value is null)
        or value < 0
        or value > 1
        or abs(value - numerator / nullif(denominator, 0)) > 1e-9
)

select * from final
