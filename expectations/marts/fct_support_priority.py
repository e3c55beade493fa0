"""marts.fct_support_priority: who to support first, per person, as of the as-of date.

The contract names the reason-code columns only in general; the suite checks the columns it
names literally.
"""

from prm_warehouse.quality.mart_suites import (
    build_mart_suite,
    mart_suite_info,
    non_negative,
    not_null,
    rank,
)
from prm_warehouse.quality.spec import Suite, SuiteContext

SUITE = mart_suite_info("fct_support_priority", version=1, description="person: ranks, scores")

COLUMNS = ("individual_id", "partner_id", "priority_rank", "priority_score")


def build(ctx: SuiteContext) -> Suite:
    return build_mart_suite(
        SUITE,
        columns=COLUMNS,
        grain=("individual_id",),
        gates=(
            not_null("partner_id"),
            not_null("priority_rank"),
            rank("priority_rank"),
            non_negative("priority_score", "warn"),
        ),
    )
