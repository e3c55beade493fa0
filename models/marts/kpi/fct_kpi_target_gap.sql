-- Programme-wide target against actual, per KPI with a target and month up to the as-of
-- month (kpi-definitions.md; product question 1).
-- * A past month is complete: expected_to_date is the whole target and
--   projected_month_end the actual.
-- * The current month is day N (the as-of date) of D days. A `linear` KPI accumulates over
--   the month: expected_to_date = target * N / D, projected_month_end = actual / N * D. A
--   `level` KPI (a rate, or a state such as key persons) is measured at a date, not
--   accumulated: expected_to_date = target and projected_month_end = actual.
-- gap_to_expected = actual - expected_to_date (negative: behind pace); achievement_rate =
-- actual / target (NULL for a zero target). A rate over an empty cohort has a NULL actual,
-- and so a NULL gap, achievement and projection.
with

kpi_monthly as (
    select * from {{ ref('fct_kpi_monthly') }}
),

kpi_targets as (
    select * from {{ ref('kpi_targets') }}
),

kpi_catalog as (
    select * from {{ ref('kpi_catalog') }}
),

months as (
    select * from {{ ref('int_kpi_months') }}
),

programme_values as (
    select
        kpi_key,
        month_start,
        value,
        phase_key,
        is_focus_kpi
    from kpi_monthly
    where scope_type = 'programme'
),

joined as (
    select
        kpi_targets.kpi_key,
        months.month_start,
        kpi_catalog.target_pacing,
        months.is_closed,
        months.days_in_month,
        months.days_elapsed,
        programme_values.phase_key,
        programme_values.is_focus_kpi,
        kpi_targets.target_value,
        programme_values.value as actual_value
    from kpi_targets
    inner join months
        on kpi_targets.month = months.month_start
    inner join kpi_catalog
        on kpi_targets.kpi_key = kpi_catalog.kpi_key
    left join programme_values
        on
            kpi_targets.kpi_key = programme_values.kpi_key
            and kpi_targets.month = programme_values.month_start
),

paced as (
    select
        *,
        case
            when target_pacing = 'linear' and not is_closed
                then target_value * days_elapsed / days_in_month
            else target_value
        end as expected_to_date,
        case
            when target_pacing = 'linear' and not is_closed
                -- multiplied first: on the month's last day the projection is the actual exactly
                then actual_value * days_in_month / days_elapsed
            else actual_value
        end as projected_month_end
    from joined
),

final as (
    select
        cast(kpi_key as {{ dbt.type_string() }}) as kpi_key,
        cast(month_start as date) as month_start,
        cast(phase_key as {{ dbt.type_string() }}) as phase_key,
        cast(is_focus_kpi as boolean) as is_focus_kpi,
        cast(target_pacing as {{ dbt.type_string() }}) as target_pacing,
        cast(not is_closed as boolean) as is_current_month,
        cast(days_elapsed as integer) as days_elapsed,
        cast(days_in_month as integer) as days_in_month,
        cast(target_value as double) as target_value,
        cast(actual_value as double) as actual_value,
        cast(expected_to_date as double) as expected_to_date,
        cast(actual_value - expected_to_date as double) as gap_to_expected,
        cast(actual_value / nullif(target_value, 0) as double) as achievement_rate,
        cast(projected_month_end as double) as projected_month_end,
        cast(projected_month_end >= target_value as boolean) as is_on_pace
    from paced
)

select * from final
