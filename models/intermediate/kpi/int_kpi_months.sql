-- One row per calendar month of the KPI marts: from the month in which the programme's
-- first phase starts to the month of the as-of date. A month's evaluation date is its last
-- day, or the as-of date for the current month; state KPIs (activated people, key persons)
-- are measured on it and the target gap pro-rates by the days elapsed up to it. A month
-- belongs to the phase in effect on its first day.
{%- set as_of = prm_warehouse.as_of_date() %}

with recursive

program_phases as (
    select * from {{ ref('program_phases') }}
),

bounds as (
    select
        cast({{ dbt.date_trunc('month', 'min(starts_on)') }} as date) as first_month_start,
        cast({{ dbt.date_trunc('month', as_of) }} as date) as last_month_start
    from program_phases
),

month_starts as (
    select first_month_start as month_start
    from bounds
    where first_month_start <= last_month_start
    union all
    select cast({{ dbt.dateadd('month', 1, 'month_starts.month_start') }} as date)
    from month_starts
    cross join bounds
    where month_starts.month_start < bounds.last_month_start
),

month_ends as (
    select
        month_start,
        cast(
            {{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'month_start')) }} as date
        ) as month_end
    from month_starts
),

evaluated as (
    select
        month_start,
        month_end,
        case when month_end < {{ as_of }} then month_end else {{ as_of }} end
            as evaluation_on,
        month_end < {{ as_of }} as is_closed
    from month_ends
),

phased as (
    select
        evaluated.month_start,
        evaluated.month_end,
        evaluated.evaluation_on,
        evaluated.is_closed,
        {{ dbt.datediff('evaluated.month_start', 'evaluated.month_end', 'day') }} + 1
            as days_in_month,
        {{ dbt.datediff('evaluated.month_start', 'evaluated.evaluation_on', 'day') }} + 1
            as days_elapsed,
        program_phases.phase_key,
        program_phases.focus_kpis
    from evaluated
    left join program_phases
        on
            evaluated.month_start >= program_phases.starts_on
            and (
                program_phases.ends_on is null
                or evaluated.month_start <= program_phases.ends_on
            )
),

final as (
    select
        month_start,
        month_end,
        evaluation_on,
        is_closed,
        cast(days_in_month as integer) as days_in_month,
        cast(days_elapsed as integer) as days_elapsed,
        phase_key,
        focus_kpis
    from phased
)

select * from final
