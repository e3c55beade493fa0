-- KPI contributions deals_registered: per person, firm and month, the deals registered in
-- the month (Japan-time registration date), counted for the deal's current owner and firm.
-- The worked example of docs/adding-a-kpi.md.
with

deals as (
    select * from {{ ref('int_deals_resolved') }}
),

months as (
    select * from {{ ref('int_kpi_months') }}
),

registrations as (
    select
        cast({{ dbt.date_trunc('month', 'registered_on') }} as date) as month_start,
        owner_user_id as individual_id,
        partner_id
    from deals
),

final as (
    select
        cast('deals_registered' as {{ dbt.type_string() }}) as kpi_key,
        registrations.month_start,
        registrations.individual_id,
        registrations.partner_id,
        cast(count(*) as double) as numerator,
        cast(null as double) as denominator
    from registrations
    inner join months
        on registrations.month_start = months.month_start
    group by
        registrations.month_start,
        registrations.individual_id,
        registrations.partner_id
)

select * from final
