"""raw.logins: portal logins (events, JSONL)."""

from prm_warehouse.quality.raw_suites import (
    build_raw_suite,
    instant_within_window,
    raw_suite_info,
    value_set,
)
from prm_warehouse.quality.spec import Suite, SuiteContext

SUITE = raw_suite_info("logins", version=2, description="logins: daily volume, plausible times")

DEVICES = ("pc", "mobile")  # or missing


def build(ctx: SuiteContext) -> Suite:
    return build_raw_suite(
        SUITE,
        # hundreds of people log in every day: an export day with no login is a broken export,
        # and every activity KPI of that day would silently drop to zero
        zero_rows_severity="error",
        row_gates=(
            value_set("device", DEVICES, "warn", "pc, mobile or missing"),
            instant_within_window("occurred_at", ctx, "error"),
        ),
    )
