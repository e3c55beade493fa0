"""raw.quizzes: online comprehension tests (snapshot, CSV)."""

import great_expectations.expectations as gxe

from prm_warehouse.quality.raw_suites import build_raw_suite, raw_suite_info
from prm_warehouse.quality.spec import Suite, SuiteContext, error

SUITE = raw_suite_info("quizzes", version=3, description="quizzes: positive max, reachable pass")


def build(ctx: SuiteContext) -> Suite:
    return build_raw_suite(
        SUITE,
        zero_rows_severity="error",
        row_gates=(
            error(
                gxe.ExpectColumnValuesToBeBetween(column="max_score", min_value=0, strict_min=True),
                "attempt scores are checked against a positive max_score",
            ),
            error(
                gxe.ExpectColumnValuesToBeBetween(column="pass_score", min_value=0),
                "a pass score is never negative",
            ),
            error(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A="max_score",
                    column_B="pass_score",
                    or_equal=True,
                    ignore_row_if="either_value_is_missing",
                ),
                "a pass score above the max would make the quiz impossible to pass",
            ),
        ),
    )
