"""marts.fct_kpi_monthly: one value per KPI, month and scope."""

from prm_warehouse.quality.mart_suites import build_mart_suite, mart_suite_info, one_of
from prm_warehouse.quality.spec import Suite, SuiteContext

SUITE = mart_suite_info("fct_kpi_monthly", version=1, description="kpi x month x scope: keys")

COLUMNS = ("kpi_key", "month_start", "scope_type", "scope_id", "value", "phase_key")
SCOPE_TYPES = ("programme", "partner", "individual")


def build(ctx: SuiteContext) -> Suite:
    return build_mart_suite(
        SUITE,
        columns=COLUMNS,
        # the programme scope carries scope_id 'programme', so every row names its scope
        grain=("kpi_key", "month_start", "scope_type", "scope_id"),
        gates=(one_of("scope_type", SCOPE_TYPES),),
    )
