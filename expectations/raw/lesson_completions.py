"""raw.lesson_completions: e-learning lesson completions (events, JSONL)."""

from prm_warehouse.quality.raw_suites import (
    build_raw_suite,
    instant_within_window,
    raw_suite_info,
)
from prm_warehouse.quality.spec import Suite, SuiteContext

SUITE = raw_suite_info(
    "lesson_completions", version=2, description="lesson completions: plausible times"
)


def build(ctx: SuiteContext) -> Suite:
    return build_raw_suite(
        SUITE,
        zero_rows_severity="warn",
        row_gates=(instant_within_window("completed_at", ctx, "error"),),
    )
