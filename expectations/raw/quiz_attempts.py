"""raw.quiz_attempts: quiz attempts and their scores (events, CSV).

Besides the common frames, a `scores` frame joins every attempt staging uses to its quiz in
the newest quizzes file, so a score can be checked against that quiz's `max_score`. The frame
is narrowed: GX sees the attempts that may break a gate (see `prm_warehouse.quality.narrowing`).
"""

import great_expectations.expectations as gxe

from prm_warehouse.quality.narrowing import narrowed_frame
from prm_warehouse.quality.raw_suites import (
    build_raw_suite,
    column_types,
    instant_within_window,
    raw_suite_info,
    rows_sql,
)
from prm_warehouse.quality.spec import Suite, SuiteContext, error, warn
from prm_warehouse.raw.contract import SOURCES_BY_NAME

SUITE = raw_suite_info("quiz_attempts", version=2, description="attempts: scores within 0..max")


ATTEMPTS = SOURCES_BY_NAME["quiz_attempts"]
QUIZZES = SOURCES_BY_NAME["quizzes"]
ATTEMPT_COLUMNS = ("attempt_id", "quiz_id", "score", "_file_name", "_line_number")


def scores_sql() -> str:
    """Every attempt staging uses with its quiz's max_score (not ordered)."""
    attempts = rows_sql(ATTEMPTS, ATTEMPT_COLUMNS).replace("\n", "\n    ")
    quizzes = rows_sql(QUIZZES, ("quiz_id", "max_score")).replace("\n", "\n    ")
    return f"""
with attempts as (
    {attempts}
),

quizzes as (
    {quizzes}
)

select
    attempts.attempt_id,
    attempts.quiz_id,
    attempts.score,
    quizzes.max_score,
    attempts._file_name,
    attempts._line_number
from attempts
left join quizzes on attempts.quiz_id = quizzes.quiz_id
"""


def build(ctx: SuiteContext) -> Suite:
    types = {
        **{name: column_types(ATTEMPTS)[name] for name in ATTEMPT_COLUMNS},
        "max_score": column_types(QUIZZES)["max_score"],
    }
    scores = narrowed_frame(
        "scores",
        rows_sql=scores_sql(),
        types=types,
        gates=(
            error(
                gxe.ExpectColumnValuesToBeBetween(column="score", min_value=0),
                "a score is never negative",
            ),
            error(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A="max_score",
                    column_B="score",
                    or_equal=True,
                    ignore_row_if="either_value_is_missing",
                ),
                "a score never exceeds its quiz's max_score",
            ),
            warn(
                gxe.ExpectColumnValuesToNotBeNull(column="max_score"),
                "the attempt's quiz is in the newest quizzes file (with a max_score)",
            ),
        ),
    )
    return build_raw_suite(
        SUITE,
        zero_rows_severity="warn",
        row_gates=(instant_within_window("submitted_at", ctx, "error"),),
        extra_frames=(scores,),
        extra_requires=("raw.quizzes",),
    )
