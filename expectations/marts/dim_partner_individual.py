"""marts.dim_partner_individual: one row per person."""

import great_expectations.expectations as gxe

from prm_warehouse.quality.mart_suites import (
    build_mart_suite,
    mart_suite_info,
    non_negative,
    not_null,
    one_of,
)
from prm_warehouse.quality.spec import Suite, SuiteContext, warn

SUITE = mart_suite_info(
    "dim_partner_individual", version=1, description="people: keys, lifecycle stages"
)

COLUMNS = (
    "individual_id",
    "partner_id",
    "partner_name",
    "full_name",
    "job_role",
    "is_certified",
    "account_issued_at",
    "first_login_at",
    "last_login_at",
    "is_active_30d",
    "lifecycle_stage",
    "onboarding_completed_at",
    "quizzes_passed",
    "is_key_person",
)
LIFECYCLE_STAGES = ("invited", "onboarded", "activated", "dormant")


def build(ctx: SuiteContext) -> Suite:
    return build_mart_suite(
        SUITE,
        columns=COLUMNS,
        grain=("individual_id",),
        gates=(
            not_null("partner_id"),
            not_null("lifecycle_stage"),
            one_of("lifecycle_stage", LIFECYCLE_STAGES),
            non_negative("quizzes_passed"),
            warn(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A="last_login_at",
                    column_B="first_login_at",
                    or_equal=True,
                    ignore_row_if="either_value_is_missing",
                ),
                "the last login is not before the first",
            ),
        ),
    )
