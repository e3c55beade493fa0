"""raw.partner_users: individual people at the firms (snapshot, CSV)."""

from prm_warehouse.quality.raw_suites import (
    build_raw_suite,
    instant_within_window,
    raw_suite_info,
    value_set,
)
from prm_warehouse.quality.spec import Suite, SuiteContext

SUITE = raw_suite_info("partner_users", version=3, description="people: unique ids, roles, status")

USER_STATUSES = ("active", "suspended", "deleted")
# The contract allows "other free text" besides these: an unknown role is reported, not blocked.
JOB_ROLES = ("代表", "税理士", "公認会計士", "スタッフ")


def build(ctx: SuiteContext) -> Suite:
    return build_raw_suite(
        SUITE,
        zero_rows_severity="error",
        row_gates=(
            value_set("status", USER_STATUSES, "warn", "the portal's account statuses"),
            value_set("job_role", JOB_ROLES, "warn", "the usual roles; others are free text"),
            instant_within_window("account_issued_at", ctx, "warn"),
            instant_within_window("updated_at", ctx, "warn"),
        ),
    )
