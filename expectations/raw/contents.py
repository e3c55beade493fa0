"""raw.contents: the portal's materials (snapshot, CSV)."""

from prm_warehouse.quality.raw_suites import (
    build_raw_suite,
    instant_within_window,
    raw_suite_info,
    value_set,
)
from prm_warehouse.quality.spec import Suite, SuiteContext

SUITE = raw_suite_info("contents", version=3, description="materials: unique ids, known types")

CONTENT_TYPES = ("talk_script", "sales_deck", "case_study", "manual", "video")


def build(ctx: SuiteContext) -> Suite:
    return build_raw_suite(
        SUITE,
        zero_rows_severity="error",
        row_gates=(
            # a new type is reported; the talk-script KPIs only count `talk_script`
            value_set("content_type", CONTENT_TYPES, "warn", "the portal's material types"),
            instant_within_window("published_at", ctx, "warn"),
        ),
    )
