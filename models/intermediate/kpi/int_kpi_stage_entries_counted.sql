-- KPI contributions <stage>_count: per person, firm and month, the deals that entered the
-- stage in the month (Japan-time date of entry). Entries count for the deal's current owner
-- and its firm, as in the funnel marts, so the sums reconcile with fct_funnel_person.
with

stage_entries as (
    select * from {{ ref('int_deal_stage_entries_unpivoted') }}
),

months as (
    select * from {{ ref('int_kpi_months') }}
),

entries_by_month as (
    select
        {{ dbt.concat(['stage', "'_count'"]) }} as kpi_key,
        cast({{ dbt.date_trunc('month', 'entered_on') }} as date) as month_start,
        individual_id,
        partner_id
    from stage_entries
),

final as (
    select
        entries_by_month.kpi_key,
        entries_by_month.month_start,
        entries_by_month.individual_id,
        entries_by_month.partner_id,
        cast(count(*) as double) as numerator,
        cast(null as double) as denominator
    from entries_by_month
    inner join months
        on entries_by_month.month_start = months.month_start
    group by
        entries_by_month.kpi_key,
        entries_by_month.month_start,
        entries_by_month.individual_id,
        entries_by_month.partner_id
)

select * from final
