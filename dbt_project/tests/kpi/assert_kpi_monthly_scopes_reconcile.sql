-- Counts reconcile (kpi-definitions.md): per KPI and month, the people's numerators and
-- denominators summed equal the firms' summed, and both equal the programme's.
-- A failing row names a KPI and month whose person, firm and programme figures differ: a
-- contribution is attributed to an unknown person or firm, counted twice, or lost.
with

kpi_monthly as (
    select * from {{ ref('fct_kpi_monthly') }}
),

by_scope as (
    select
        kpi_key,
        month_start,
        sum(case when scope_type = 'programme' then numerator end) as programme_numerator,
        sum(case when scope_type = 'partner' then numerator end) as partner_numerator,
        sum(case when scope_type = 'individual' then numerator end) as individual_numerator,
        sum(case when scope_type = 'programme' then coalesce(denominator, 0) end)
            as programme_denominator,
        sum(case when scope_type = 'partner' then coalesce(denominator, 0) end)
            as partner_denominator,
        sum(case when scope_type = 'individual' then coalesce(denominator, 0) end)
            as individual_denominator
    from kpi_monthly
    group by
        kpi_key,
        month_start
),

final as (
    select * from by_scope
    where
        coalesce(partner_numerator, 0) <> programme_numerator
        or coalesce(individual_numerator, 0) <> programme_numerator
        or coalesce(partner_denominator, 0) <> programme_denominator
        or coalesce(individual_denominator, 0) <> programme_denominator
)

select * from final
