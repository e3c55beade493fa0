"""marts.fct_learning_progress: e-learning progress per person and course."""

from prm_warehouse.quality.mart_suites import (
    build_mart_suite,
    mart_suite_info,
    non_negative,
    rate,
)
from prm_warehouse.quality.spec import Suite, SuiteContext

SUITE = mart_suite_info(
    "fct_learning_progress", version=1, description="person x course: rates in [0, 1]"
)

COLUMNS = (
    "individual_id",
    "course_id",
    "lessons_completed",
    "completion_rate",
    "completed_at",
    "quiz_attempts",
    "best_quiz_score",
    "quiz_passed",
)


def build(ctx: SuiteContext) -> Suite:
    return build_mart_suite(
        SUITE,
        columns=COLUMNS,
        grain=("individual_id", "course_id"),
        gates=(
            non_negative("lessons_completed"),
            rate("completion_rate"),
            non_negative("quiz_attempts"),
            # on the quiz's own scale (its max_score), so only the lower bound is general
            non_negative("best_quiz_score"),
        ),
    )
