-- Every focus KPI named by a programme phase exists in the KPI catalogue: the number of
-- `|`-separated entries of focus_kpis equals the number of catalogue keys found among
-- them (an entry is found when `|<kpi_key>|` occurs in `|<focus_kpis>|`).
-- A failing row is a phase naming a KPI the catalogue does not hold (a typo, or a KPI
-- renamed or removed): fct_kpi_monthly would flag no row of it as a focus KPI.
-- Reads several models; reported in Dagster as a check of program_phases.
{{ config(meta={'dagster': {'ref': {'name': 'program_phases'}}}) }}
with

program_phases as (
    select * from {{ ref('program_phases') }}
),

kpi_catalog as (
    select * from {{ ref('kpi_catalog') }}
),

named as (
    select
        phase_key,
        focus_kpis,
        {{ dbt.length('focus_kpis') }}
        - {{ dbt.length(dbt.replace('focus_kpis', "'|'", "''")) }} + 1 as named_count
    from program_phases
),

found as (
    select
        named.phase_key,
        count(kpi_catalog.kpi_key) as found_count
    from named
    left join kpi_catalog
        on
            {{ dbt.concat(["'|'", 'named.focus_kpis', "'|'"]) }}
            like {{ dbt.concat(["'%|'", 'kpi_catalog.kpi_key', "'|%'"]) }}
    group by named.phase_key
),

final as (
    select
        named.phase_key,
        named.focus_kpis,
        named.named_count,
        found.found_count
    from named
    inner join found
        on named.phase_key = found.phase_key
    where named.named_count <> found.found_count
)

select * from final
