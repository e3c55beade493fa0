"""When dbt stops a build, the build's summary says what dbt said: the model's error (the
unknown status label and its file) or the failed test with its model and failing rows, not
dagster-dbt's "The dbt CLI process with command ..." wrapper.

Each test builds a fresh warehouse from a copy of tests/fixtures/landing_small with one
delivered file added, as of 2026-10-31.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import pytest

from prm_warehouse.pipeline import BuildOutcome, run_build
from prm_warehouse.settings import Settings

pytestmark = pytest.mark.slow

LANDING_SMALL_DIR = Path(__file__).resolve().parent / "fixtures" / "landing_small"
AS_OF_DATE = dt.date(2026, 10, 31)
WRAPPER = "The dbt CLI process with command"


def _build(tmp_path: Path, source: str, file_name: str, text: str) -> BuildOutcome:
    landing = tmp_path / "landing"
    shutil.copytree(LANDING_SMALL_DIR, landing)
    (landing / source / file_name).write_text(text, encoding="utf-8")
    settings = Settings(
        landing_dir=landing,
        warehouse_path=tmp_path / "warehouse.duckdb",
        serving_path=tmp_path / "serving.duckdb",
        as_of_date=AS_OF_DATE,
    )
    with dg.DagsterInstance.ephemeral() as instance:
        return run_build(settings, instance=instance)


def test_a_status_label_without_a_mapping_on_its_date_is_named_with_its_file(
    tmp_path: Path,
) -> None:
    # アポ打診 is mapped from 2020-01-01 on (seeds/deal_status_stage_map.csv): an event of
    # 2019-12-20 has no mapping row valid on its date. The raw checks accept it (a known
    # label, a plausible instant), so dbt's guard in int_deal_status_events_validated stops
    # the marts.
    outcome = _build(
        tmp_path,
        "deal_status_events",
        "deal_status_events_20261031_v5.csv",
        "event_id,deal_id,status,changed_at,changed_by_user_id\n"
        "EV9001,D0000003,アポ打診,2019-12-20 10:00:00,U002\n",
    )

    assert not outcome.success
    reasons = outcome.reasons()
    assert reasons[0].splitlines() == [
        "dbt model intermediate.int_deal_status_events_validated failed: Compilation Error: "
        "Unknown deal status label(s): the seed deal_status_stage_map has no row valid on the "
        "date of these events, so no funnel stage can be assigned.",
        "    - label 'アポ打診' in deal_status_events file deal_status_events_20261031_v5.csv: "
        "1 event(s) dated 2019-12-20 to 2019-12-20",
        "    Add a row for each label to seeds/deal_status_stage_map.csv (with its valid_from) "
        "and rebuild.",
    ]
    # the coverage test of the mapping fails on the same event, and says so as a check
    assert (
        "check assert_deal_status_labels_covered_on_their_dates on "
        "intermediate/int_deal_status_events_mapped failed (ERROR): 1 row fails this dbt test"
    ) in reasons
    assert not any(WRAPPER in reason for reason in reasons)
    # every mart is downstream of the guard: dbt skipped them, nothing was published
    assert any(reason.startswith("dbt skipped ") for reason in reasons)
    assert "marts/fct_deal_funnel" not in outcome.materialized
    assert "serving/marts_publication" not in outcome.materialized


def test_a_failed_dbt_test_is_named_with_its_model_and_failing_rows(tmp_path: Path) -> None:
    # A corrected export of the day in which U010's status is "retired": the raw check only
    # warns of an unknown status, the dbt test accepted_values on stg_portal__partner_users
    # fails on that one row.
    original = LANDING_SMALL_DIR / "partner_users" / "partner_users_20261031.csv"
    lines = original.read_text(encoding="cp932").splitlines()
    assert lines[-1].startswith("U010,") and ",active," in lines[-1]
    lines[-1] = lines[-1].replace(",active,", ",retired,")
    outcome = _build(
        tmp_path, "partner_users", "partner_users_20261031_fix.csv", "\n".join(lines) + "\n"
    )

    test_name = "accepted_values_stg_portal__partner_users_user_status__active__suspended__deleted"
    assert not outcome.success
    reasons = outcome.reasons()
    assert reasons[0] == (
        f"check {test_name} on staging/stg_portal__partner_users failed (ERROR): "
        "1 row fails this dbt test"
    )
    assert not any(WRAPPER in reason for reason in reasons)
    # dbt's own result of the run, read from its run_results.json
    assert [f.describe() for f in outcome.dbt_failures] == [
        f"dbt test {test_name} on staging.stg_portal__partner_users.user_status failed: "
        "1 failing row"
    ]
    assert outcome.dbt_skipped > 0
