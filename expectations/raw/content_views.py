"""raw.content_views: views and downloads of portal materials (events, JSONL)."""

import great_expectations.expectations as gxe

from prm_warehouse.quality.raw_suites import (
    build_raw_suite,
    instant_within_window,
    raw_suite_info,
    value_set,
)
from prm_warehouse.quality.spec import Suite, SuiteContext, warn

SUITE = raw_suite_info("content_views", version=2, description="views: actions, plausible times")

ACTIONS = ("view", "download")


def build(ctx: SuiteContext) -> Suite:
    return build_raw_suite(
        SUITE,
        zero_rows_severity="warn",
        row_gates=(
            value_set("action", ACTIONS, "warn", "view or download"),
            instant_within_window("occurred_at", ctx, "error"),
            warn(
                gxe.ExpectColumnValuesToBeBetween(column="duration_sec", min_value=0),
                "a duration is never negative",
            ),
        ),
    )
