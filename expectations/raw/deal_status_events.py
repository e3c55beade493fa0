"""raw.deal_status_events: every status change of a deal (events, CSV)."""

from prm_warehouse.quality.raw_suites import (
    build_raw_suite,
    instant_within_window,
    raw_suite_info,
    status_label_frame,
)
from prm_warehouse.quality.spec import Suite, SuiteContext
from prm_warehouse.raw.contract import SOURCES_BY_NAME

SUITE = raw_suite_info(
    "deal_status_events", version=3, description="status changes: known labels, plausible times"
)


def build(ctx: SuiteContext) -> Suite:
    label_frames, notes = status_label_frame(
        SOURCES_BY_NAME["deal_status_events"], "status", "changed_at", ctx
    )
    return build_raw_suite(
        SUITE,
        # a day without status changes happens (holidays); an empty day only warns
        zero_rows_severity="warn",
        row_gates=(instant_within_window("changed_at", ctx, "error"),),
        extra_frames=label_frames,
        notes=notes,
    )
