-- KPI contributions of people's states on each month's evaluation date, per person and
-- month (counted for the person's current firm): activated_individuals (1 when the person
-- is activated) and key_person_count (1 when the person is a key person).
with

states as (
    select * from {{ ref('int_kpi_individual_states_month_end') }}
),

unioned as (
    select
        cast('activated_individuals' as {{ dbt.type_string() }}) as kpi_key,
        month_start,
        individual_id,
        partner_id
    from states
    where is_activated
    union all
    select
        cast('key_person_count' as {{ dbt.type_string() }}) as kpi_key,
        month_start,
        individual_id,
        partner_id
    from states
    where is_key_person
),

final as (
    select
        kpi_key,
        month_start,
        individual_id,
        partner_id,
        cast(1 as double) as numerator,
        cast(null as double) as denominator
    from unioned
)

select * from final
