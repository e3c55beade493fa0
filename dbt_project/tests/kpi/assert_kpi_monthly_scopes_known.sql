-- Every firm and person row of fct_kpi_monthly belongs to a known firm (dim_partner) or
-- person (dim_partner_individual), and the programme scope has the id `programme`.
-- A failing row is a KPI figure for a firm or person the dimensions do not hold (a deal
-- of an unknown owner, a person of an unknown firm): dashboards could not label it and the
-- programme total would include activity nobody can be asked about.
-- Reads several models; reported in Dagster as a check of fct_kpi_monthly.
{{ config(meta={'dagster': {'ref': {'name': 'fct_kpi_monthly'}}}) }}
with

kpi_monthly as (
    select * from {{ ref('fct_kpi_monthly') }}
),

partners as (
    select * from {{ ref('dim_partner') }}
),

individuals as (
    select * from {{ ref('dim_partner_individual') }}
),

final as (
    select kpi_monthly.*
    from kpi_monthly
    left join partners
        on
            kpi_monthly.scope_type = 'partner'
            and kpi_monthly.scope_id = partners.partner_id
    left join individuals
        on
            kpi_monthly.scope_type = 'individual'
            and kpi_monthly.scope_id = individuals.individual_id
    where
        (kpi_monthly.scope_type = 'partner' and partners.partner_id is null)
        or (kpi_monthly.scope_type = 'individual' and individuals.individual_id is null)
        or (kpi_monthly.scope_type = 'programme' and kpi_monthly.scope_id <> 'programme')
)

select * from final
