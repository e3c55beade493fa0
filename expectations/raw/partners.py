"""raw.partners: accounting firms in the partner programme (snapshot, CSV)."""

import great_expectations.expectations as gxe

from prm_warehouse.quality.raw_suites import (
    build_raw_suite,
    date_within_window,
    instant_within_window,
    raw_suite_info,
    value_set,
)
from prm_warehouse.quality.spec import Suite, SuiteContext, warn

SUITE = raw_suite_info("partners", version=3, description="firms: unique ids, bands, dates")

OFFICE_SIZE_BANDS = ("1-5", "6-20", "21-50", "51+")
ADVISOR_RANKS = (1, 2, 3)


def build(ctx: SuiteContext) -> Suite:
    return build_raw_suite(
        SUITE,
        # an empty snapshot would replace every firm with nothing
        zero_rows_severity="error",
        row_gates=(
            value_set(
                "office_size_band", OFFICE_SIZE_BANDS, "warn", "the portal's four size bands"
            ),
            warn(
                gxe.ExpectColumnValuesToBeInSet(column="advisor_rank", value_set=ADVISOR_RANKS),
                "certified-advisor rank 1..3 (empty when not certified)",
            ),
            date_within_window("joined_program_on", ctx, "warn"),
            instant_within_window("updated_at", ctx, "warn"),
        ),
    )
