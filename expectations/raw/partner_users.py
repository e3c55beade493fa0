"""raw.partner_users: individual people at the firms (snapshot, CSV)."""

import great_expectations.expectations as gxe

from prm_warehouse.quality.raw_suites import (
    build_raw_suite,
    instant_within_window,
    raw_suite_info,
    rows_sql,
    value_set,
)
from prm_warehouse.quality.spec import Frame, Suite, SuiteContext, warn
from prm_warehouse.raw.contract import SOURCES_BY_NAME

SUITE = raw_suite_info("partner_users", version=4, description="people: unique ids, roles, status")

USER_STATUSES = ("active", "suspended", "deleted")
# The contract allows "other free text" besides these roles.
JOB_ROLES = ("代表", "税理士", "公認会計士", "スタッフ")
# Share of the newest snapshot's people whose role must be one of JOB_ROLES. Free-text roles
# are normal (the sample exports have about 15%); most people outside the usual roles means
# the column holds something else (a shifted or renamed column).
USUAL_ROLES_MIN_SHARE = 0.5


def build(ctx: SuiteContext) -> Suite:
    # a frame of its own: a share (`mostly`) is judged on every row of the newest snapshot,
    # which the candidate-row narrowing of the rows frame cannot do
    roles = Frame(
        name="roles",
        sql=rows_sql(SOURCES_BY_NAME["partner_users"], ["job_role", "_file_name", "_line_number"]),
        gates=(
            warn(
                gxe.ExpectColumnValuesToBeInSet(
                    column="job_role", value_set=sorted(JOB_ROLES), mostly=USUAL_ROLES_MIN_SHARE
                ),
                f"at least {USUAL_ROLES_MIN_SHARE:.0%} of the people in one of the usual roles; "
                "others are free text",
            ),
        ),
    )
    return build_raw_suite(
        SUITE,
        zero_rows_severity="error",
        row_gates=(
            value_set("status", USER_STATUSES, "warn", "the portal's account statuses"),
            instant_within_window("account_issued_at", ctx, "warn"),
            instant_within_window("updated_at", ctx, "warn"),
        ),
        extra_frames=(roles,),
    )
