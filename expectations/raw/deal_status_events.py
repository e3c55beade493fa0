"""raw.deal_status_events: every status change of a deal (events, CSV)."""

from prm_warehouse.quality.raw_suites import (
    build_raw_suite,
    instant_within_window,
    raw_suite_info,
    status_label_gates,
)
from prm_warehouse.quality.spec import Suite, SuiteContext

SUITE = raw_suite_info(
    "deal_status_events", version=2, description="status changes: known labels, plausible times"
)


def build(ctx: SuiteContext) -> Suite:
    status_gates, notes = status_label_gates("status", ctx)
    return build_raw_suite(
        SUITE,
        # a day without status changes happens (holidays); an empty day only warns
        zero_rows_severity="warn",
        row_gates=(
            *status_gates,
            instant_within_window("changed_at", ctx, "error"),
        ),
        notes=notes,
    )
