"""raw.deals: deals registered by people at the firms (snapshot, CSV)."""

import great_expectations.expectations as gxe

from prm_warehouse.quality.raw_suites import (
    build_raw_suite,
    date_within_window,
    instant_within_window,
    raw_suite_info,
    status_label_frame,
    value_set,
)
from prm_warehouse.quality.spec import Suite, SuiteContext, warn
from prm_warehouse.raw.contract import SOURCES_BY_NAME

SUITE = raw_suite_info("deals", version=4, description="deals: unique ids, known status labels")

CLIENT_SIZE_BANDS = ("1-5", "6-20", "21-100", "101+")
# A planned approach date lies ahead of the as-of date by design; a year is the plausible limit.
PLANNED_DAYS_AHEAD = 366


def build(ctx: SuiteContext) -> Suite:
    label_frames, notes = status_label_frame(SOURCES_BY_NAME["deals"], "status", "updated_at", ctx)
    return build_raw_suite(
        SUITE,
        zero_rows_severity="error",
        row_gates=(
            value_set("client_size_band", CLIENT_SIZE_BANDS, "warn", "the portal's size bands"),
            # registered_at and updated_at date the deal's funnel entries: a wrong one moves
            # a deal between months.
            instant_within_window("registered_at", ctx, "error"),
            instant_within_window("updated_at", ctx, "error"),
            date_within_window("approach_planned_on", ctx, "warn", PLANNED_DAYS_AHEAD),
            warn(
                gxe.ExpectColumnValuesToBeBetween(column="expected_mrr", min_value=0),
                "expected monthly revenue is never negative",
            ),
        ),
        extra_frames=label_frames,
        notes=notes,
    )
