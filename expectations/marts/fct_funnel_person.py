"""marts.fct_funnel_person: stage entries per person and day."""

from prm_warehouse.quality.mart_suites import (
    STAGES,
    build_mart_suite,
    mart_suite_info,
    non_negative,
    not_null,
)
from prm_warehouse.quality.spec import Suite, SuiteContext

SUITE = mart_suite_info(
    "fct_funnel_person", version=1, description="person x day: keys, non-negative counts"
)

COUNTS = tuple(f"{stage}_count" for stage in STAGES)
COLUMNS = ("individual_id", "partner_id", "activity_date", *COUNTS)


def build(ctx: SuiteContext) -> Suite:
    return build_mart_suite(
        SUITE,
        columns=COLUMNS,
        grain=("individual_id", "activity_date"),
        gates=(not_null("partner_id"), *(non_negative(column) for column in COUNTS)),
    )
