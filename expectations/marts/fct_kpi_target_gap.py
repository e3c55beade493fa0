"""marts.fct_kpi_target_gap: actuals against targets per KPI and month."""

from prm_warehouse.quality.mart_suites import build_mart_suite, mart_suite_info, non_negative
from prm_warehouse.quality.spec import Suite, SuiteContext

SUITE = mart_suite_info("fct_kpi_target_gap", version=1, description="kpi x month: keys")

COLUMNS = (
    "kpi_key",
    "month_start",
    "target_value",
    "actual_value",
    "expected_to_date",
    "gap_to_expected",
    "achievement_rate",
    "projected_month_end",
)


def build(ctx: SuiteContext) -> Suite:
    return build_mart_suite(
        SUITE,
        columns=COLUMNS,
        grain=("kpi_key", "month_start"),
        # achievement beyond the target (> 1) is good news, not an error; below 0 is
        gates=(non_negative("achievement_rate", "warn"),),
    )
