"""marts.fct_funnel_partner: stage entries per firm and day."""

from prm_warehouse.quality.mart_suites import (
    STAGES,
    build_mart_suite,
    mart_suite_info,
    non_negative,
)
from prm_warehouse.quality.spec import Suite, SuiteContext

SUITE = mart_suite_info(
    "fct_funnel_partner", version=1, description="firm x day: keys, non-negative counts"
)

COUNTS = (*(f"{stage}_count" for stage in STAGES), "active_individual_count")
COLUMNS = ("partner_id", "activity_date", *COUNTS)


def build(ctx: SuiteContext) -> Suite:
    return build_mart_suite(
        SUITE,
        columns=COLUMNS,
        grain=("partner_id", "activity_date"),
        gates=tuple(non_negative(column) for column in COUNTS),
    )
