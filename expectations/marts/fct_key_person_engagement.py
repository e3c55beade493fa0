"""marts.fct_key_person_engagement: engagement score per person, as of the as-of date.

The contract names the engagement components only in general ("each engagement component");
the suite checks the columns it names literally.
"""

from prm_warehouse.quality.mart_suites import (
    build_mart_suite,
    mart_suite_info,
    not_null,
    rank,
    score_0_100,
)
from prm_warehouse.quality.spec import Suite, SuiteContext

SUITE = mart_suite_info(
    "fct_key_person_engagement", version=1, description="person: score 0-100, ranks"
)

COLUMNS = (
    "individual_id",
    "partner_id",
    "engagement_score",
    "rank_in_partner",
    "is_key_person",
)


def build(ctx: SuiteContext) -> Suite:
    return build_mart_suite(
        SUITE,
        columns=COLUMNS,
        grain=("individual_id",),
        gates=(
            not_null("partner_id"),
            not_null("engagement_score"),
            score_0_100("engagement_score"),
            rank("rank_in_partner"),
            not_null("is_key_person"),
        ),
    )
