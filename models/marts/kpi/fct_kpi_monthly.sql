-- Every KPI of kpi_catalog per month and scope, long format: one row per KPI, month (from
-- the programme's first month to the as-of month) and scope: the programme, every firm of
-- dim_partner and every person of dim_partner_individual, zero-filled.
-- A `sum` KPI's value is the sum of its contributions; a `ratio` KPI's value is the sum of
-- numerators over the sum of denominators, NULL when the cohort is empty. People's
-- contributions add up to their firm's and the firms' to the programme's, by construction
-- and by test (assert_kpi_monthly_scopes_reconcile).
with

contributions as (
    select * from {{ ref('int_kpi_contributions_unioned') }}
),

months as (
    select * from {{ ref('int_kpi_months') }}
),

kpi_catalog as (
    select * from {{ ref('kpi_catalog') }}
),

partners as (
    select * from {{ ref('dim_partner') }}
),

individuals as (
    select * from {{ ref('dim_partner_individual') }}
),

scopes as (
    select
        cast('programme' as {{ dbt.type_string() }}) as scope_type,
        cast('programme' as {{ dbt.type_string() }}) as scope_id
    union all
    select
        cast('partner' as {{ dbt.type_string() }}) as scope_type,
        partner_id as scope_id
    from partners
    union all
    select
        cast('individual' as {{ dbt.type_string() }}) as scope_type,
        individual_id as scope_id
    from individuals
),

contributions_by_scope as (
    select
        kpi_key,
        month_start,
        cast('programme' as {{ dbt.type_string() }}) as scope_type,
        cast('programme' as {{ dbt.type_string() }}) as scope_id,
        numerator,
        denominator
    from contributions
    union all
    select
        kpi_key,
        month_start,
        cast('partner' as {{ dbt.type_string() }}) as scope_type,
        partner_id as scope_id,
        numerator,
        denominator
    from contributions
    union all
    select
        kpi_key,
        month_start,
        cast('individual' as {{ dbt.type_string() }}) as scope_type,
        individual_id as scope_id,
        numerator,
        denominator
    from contributions
),

aggregated as (
    select
        kpi_key,
        month_start,
        scope_type,
        scope_id,
        sum(numerator) as numerator,
        sum(denominator) as denominator
    from contributions_by_scope
    group by
        kpi_key,
        month_start,
        scope_type,
        scope_id
),

scaffold as (
    select
        kpi_catalog.kpi_key,
        kpi_catalog.aggregation,
        months.month_start,
        months.phase_key,
        months.focus_kpis,
        scopes.scope_type,
        scopes.scope_id
    from kpi_catalog
    cross join months
    cross join scopes
),

valued as (
    select
        scaffold.kpi_key,
        scaffold.month_start,
        scaffold.scope_type,
        scaffold.scope_id,
        case
            when scaffold.aggregation = 'ratio'
                then aggregated.numerator / nullif(aggregated.denominator, 0)
            else coalesce(aggregated.numerator, 0)
        end as value,
        coalesce(aggregated.numerator, 0) as numerator,
        case
            when scaffold.aggregation = 'ratio' then coalesce(aggregated.denominator, 0)
        end as denominator,
        scaffold.phase_key,
        coalesce(
            {{ dbt.concat(["'|'", 'scaffold.focus_kpis', "'|'"]) }}
            like {{ dbt.concat(["'%|'", 'scaffold.kpi_key', "'|%'"]) }},
            false
        ) as is_focus_kpi
    from scaffold
    left join aggregated
        on
            scaffold.kpi_key = aggregated.kpi_key
            and scaffold.month_start = aggregated.month_start
            and scaffold.scope_type = aggregated.scope_type
            and scaffold.scope_id = aggregated.scope_id
),

final as (
    select
        cast(kpi_key as {{ dbt.type_string() }}) as kpi_key,
        cast(month_start as date) as month_start,
        cast(scope_type as {{ dbt.type_string() }}) as scope_type,
        cast(scope_id as {{ dbt.type_string() }}) as scope_id,
        cast(value as double) as value,
        cast(numerator as double) as numerator,
        cast(denominator as double) as denominator,
        cast(phase_key as {{ dbt.type_string() }}) as phase_key,
        cast(is_focus_kpi as boolean) as is_focus_kpi
    from valued
)

select * from final
