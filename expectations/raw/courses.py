"""raw.courses: e-learning courses (snapshot, CSV)."""

import great_expectations.expectations as gxe

from prm_warehouse.quality.raw_suites import build_raw_suite, raw_suite_info
from prm_warehouse.quality.spec import Suite, SuiteContext, warn

SUITE = raw_suite_info("courses", version=3, description="courses: unique ids, lesson counts")


def build(ctx: SuiteContext) -> Suite:
    return build_raw_suite(
        SUITE,
        zero_rows_severity="error",
        row_gates=(
            warn(
                gxe.ExpectColumnValuesToBeBetween(column="lesson_count", min_value=1),
                "a course has at least one lesson (completion rates divide by it)",
            ),
        ),
    )
