-- KPI contributions of the cohort rates, per person, firm and month: the deals of the
-- cohort (denominator) and those of them that converted (numerator).
-- * proposal_rate, agreement_rate, win_rate: the cohort is the deals that entered the
--   from-stage in the month; converted = entered the to-stage as of the as-of date.
-- * planned_approach_adherence_rate: the cohort is the deals whose approach_planned_on lies
--   in the month and on or before the as-of date (a planned date still ahead is not yet
--   due); converted = approach entered on or before the planned date (Japan time).
-- Deals count for their current owner and firm.
{%- set as_of = prm_warehouse.as_of_date() %}
{%- set conversions = [
    {'kpi_key': 'proposal_rate', 'from': 'approach', 'to': 'proposal'},
    {'kpi_key': 'agreement_rate', 'from': 'proposal', 'to': 'proposal_agreed'},
    {'kpi_key': 'win_rate', 'from': 'proposal_agreed', 'to': 'won'},
] %}

with

deals as (
    select * from {{ ref('int_deals_enriched') }}
),

months as (
    select * from {{ ref('int_kpi_months') }}
),

cohort_members as (
    {%- for conversion in conversions %}
    select
        cast('{{ conversion.kpi_key }}' as {{ dbt.type_string() }}) as kpi_key,
        cast(
            {{ dbt.date_trunc('month', prm_warehouse.jst_date(conversion.from ~ '_entered_at')) }}
            as date
        ) as month_start,
        owner_user_id as individual_id,
        partner_id,
        {{ conversion.to }}_entered_at is not null as is_converted
    from deals
    where {{ conversion.from }}_entered_at is not null
    union all
    {%- endfor %}
    select
        cast('planned_approach_adherence_rate' as {{ dbt.type_string() }}) as kpi_key,
        cast({{ dbt.date_trunc('month', 'approach_planned_on') }} as date) as month_start,
        owner_user_id as individual_id,
        partner_id,
        coalesce(
            {{ prm_warehouse.jst_date('approach_entered_at') }} <= approach_planned_on,
            false
        ) as is_converted
    from deals
    where approach_planned_on <= {{ as_of }}
),

final as (
    select
        cohort_members.kpi_key,
        cohort_members.month_start,
        cohort_members.individual_id,
        cohort_members.partner_id,
        cast(sum(case when cohort_members.is_converted then 1 else 0 end) as double)
            as numerator,
        cast(count(*) as double) as denominator
    from cohort_members
    inner join months
        on cohort_members.month_start = months.month_start
    group by
        cohort_members.kpi_key,
        cohort_members.month_start,
        cohort_members.individual_id,
        cohort_members.partner_id
)

select * from final
