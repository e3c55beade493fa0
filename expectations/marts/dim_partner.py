"""marts.dim_partner: one row per firm."""

import great_expectations.expectations as gxe

from prm_warehouse.quality.mart_suites import build_mart_suite, mart_suite_info, non_negative
from prm_warehouse.quality.spec import Gate, Suite, SuiteContext, error

SUITE = mart_suite_info("dim_partner", version=1, description="firms: keys, non-negative counts")

COLUMNS = (
    "partner_id",
    "partner_name",
    "prefecture",
    "office_size_band",
    "advisor_rank",
    "joined_program_on",
    "individual_count",
    "active_individual_count",
    "key_person_count",
)


def _at_most_individuals(column: str) -> Gate:
    return error(
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="individual_count",
            column_B=column,
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
        "a subset of a firm's individuals never outnumbers them",
    )


def build(ctx: SuiteContext) -> Suite:
    return build_mart_suite(
        SUITE,
        columns=COLUMNS,
        grain=("partner_id",),
        gates=(
            non_negative("individual_count"),
            non_negative("active_individual_count"),
            non_negative("key_person_count"),
            _at_most_individuals("active_individual_count"),
            _at_most_individuals("key_person_count"),
        ),
    )
