"""marts.fct_content_engagement: views and downloads per material and month."""

import great_expectations.expectations as gxe

from prm_warehouse.quality.mart_suites import (
    build_mart_suite,
    mart_suite_info,
    non_negative,
    one_of,
)
from prm_warehouse.quality.spec import Suite, SuiteContext, error

SUITE = mart_suite_info(
    "fct_content_engagement", version=1, description="content x month: non-negative counts"
)

COLUMNS = ("content_id", "content_type", "month_start", "views", "downloads", "unique_viewers")
CONTENT_TYPES = ("talk_script", "sales_deck", "case_study", "manual", "video")


def build(ctx: SuiteContext) -> Suite:
    return build_mart_suite(
        SUITE,
        columns=COLUMNS,
        grain=("content_id", "month_start"),
        gates=(
            one_of("content_type", CONTENT_TYPES, "warn"),
            non_negative("views"),
            non_negative("downloads"),
            non_negative("unique_viewers"),
            error(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A="views",
                    column_B="unique_viewers",
                    or_equal=True,
                    ignore_row_if="either_value_is_missing",
                ),
                "a viewer is counted once however often they viewed",
            ),
        ),
    )
