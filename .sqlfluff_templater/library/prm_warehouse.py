"""Stand-ins for the project's macros (`{{ prm_warehouse.<macro>(...) }}`) for sqlfluff.

The real macros live in dbt_project/macros and need dbt (adapter.dispatch, run_query).
These return SQL of the same shape for DuckDB so that sqlfluff can parse the rendered
models; keep them in step when a macro's signature changes.
"""

# The funnel stages as dbt_project/macros/funnel_stages.sql returns them.
_FUNNEL_STAGES = [
    {"key": "approach_planned", "rank": 1},
    {"key": "approach", "rank": 2},
    {"key": "proposal", "rank": 3},
    {"key": "proposal_agreed", "rank": 4},
    {"key": "won", "rank": 5},
]


def as_of_date():
    return "cast('2026-10-31' as date)"


def jst_date(instant):
    return f"cast(timezone('Asia/Tokyo', {instant}) as date)"


def jst_month_start(instant):
    return f"date_trunc('month', {jst_date(instant)})"


def type_timestamp_tz():
    return "timestamp with time zone"


def funnel_stages():
    return [dict(stage) for stage in _FUNNEL_STAGES]


def latest_snapshot_rows(relation, key, quarantine=None, source_name=None):
    carried = (
        f" union all select carried.*, 1 as _row_rank_in_file from {relation} as carried "
        f"where carried.{key} in (select record_key from {quarantine})"
        if quarantine
        else ""
    )
    return (
        "select ranked.* from (select delivered.*, 1 as _row_rank_in_file "
        f"from {relation} as delivered) as ranked where ranked._row_rank_in_file = 1{carried}"
    )


def latest_delivered_rows(relation, key, only_keys=None):
    keys = f" where delivered.{key} in (select {key} from {only_keys})" if only_keys else ""
    return (
        "select ranked.* from (select delivered.*, 1 as _delivery_rank "
        f"from {relation} as delivered{keys}) as ranked where ranked._delivery_rank = 1"
    )


def changed_event_keys(relation, source_name, key, event_at):
    return f"select distinct {key} from {relation}"


# Hooks of the incremental event models (config pre_hook / post_hook): no SQL to parse.
def create_event_watermark():
    return ""


def delete_vanished_events(source_name, key, event_at):
    return ""


def record_event_watermark(source_name):
    return ""


def assert_deal_status_labels_mapped(mapped_events):
    return ""
