"""marts.fct_deal_funnel: one row per deal."""

from prm_warehouse.quality.mart_suites import (
    STAGES,
    build_mart_suite,
    mart_suite_info,
    non_negative,
    not_null,
    one_of,
)
from prm_warehouse.quality.spec import Suite, SuiteContext

SUITE = mart_suite_info("fct_deal_funnel", version=1, description="deals: keys, stages, ages")

COLUMNS = (
    "deal_id",
    "partner_id",
    "individual_id",
    "client_industry",
    "client_size_band",
    "current_status",
    "max_stage",
    *(f"{stage}_entered_at" for stage in STAGES),
    "approach_planned_on",
    "is_open",
    "is_lost",
    "is_stalled",
    "days_in_max_stage",
)


def build(ctx: SuiteContext) -> Suite:
    return build_mart_suite(
        SUITE,
        columns=COLUMNS,
        grain=("deal_id",),
        gates=(
            # a deal's entries count for its owner and firm: both are always known
            not_null("partner_id"),
            not_null("individual_id"),
            one_of("max_stage", STAGES),
            non_negative("days_in_max_stage"),
        ),
    )
