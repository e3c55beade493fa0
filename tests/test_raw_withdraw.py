"""Withdrawing a delivered file removes exactly its rows, quarantine records and manifest entry,
and the next build rebuilds the incremental models in full."""

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from prm_warehouse.raw.contract import SOURCES_BY_NAME
from prm_warehouse.raw.loader import load_source
from prm_warehouse.raw.withdraw import (
    mark_rebuilt,
    pending_withdrawals,
    withdraw_file,
    withdrawals_since,
)


def _landing(tmp_path: Path) -> Path:
    logins = tmp_path / "landing" / "logins"
    logins.mkdir(parents=True)
    (logins / "logins_20261030.jsonl").write_text(
        '{"event_id": "LG1", "user_id": "U1", "occurred_at": "2026-10-30T09:00:00+09:00"}\n'
        '{"event_id": "LG2", "user_id": "U2", "occurred_at": "2026-10-30T10:00:00+09:00"}\n',
        encoding="utf-8",
    )
    # a wrong delivery: one good row and one without an event id (quarantined)
    (logins / "logins_20261031_test.jsonl").write_text(
        '{"event_id": "LG3", "user_id": "U1", "occurred_at": "2026-10-31T09:00:00+09:00"}\n'
        '{"user_id": "U2", "occurred_at": "2026-10-31T10:00:00+09:00"}\n',
        encoding="utf-8",
    )
    return tmp_path / "landing"


def test_withdrawing_a_file_removes_only_that_file(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    load_source(con, SOURCES_BY_NAME["logins"], _landing(tmp_path))

    withdrawal = withdraw_file(con, "logins", "logins_20261031_test.jsonl")

    # the test file held one loadable row (LG3) and one quarantined row (no event_id)
    assert (withdrawal.rows_removed, withdrawal.quarantined_removed) == (1, 1)
    assert con.execute("select event_id from raw.logins order by 1").fetchall() == [
        ("LG1",),
        ("LG2",),
    ]
    assert con.execute("select count(*) from raw._quarantine").fetchone() == (0,)
    assert con.execute("select file_name from raw._load_manifest").fetchall() == [
        ("logins_20261030.jsonl",)
    ]


def test_withdrawing_an_unknown_file_or_source_says_so(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    load_source(con, SOURCES_BY_NAME["logins"], _landing(tmp_path))
    never_loaded = r"logins/logins_20261101\.jsonl was never loaded into this warehouse: nothing"
    with pytest.raises(ValueError, match=never_loaded):
        withdraw_file(con, "logins", "logins_20261101.jsonl")
    with pytest.raises(ValueError, match="unknown source 'login'"):
        withdraw_file(con, "login", "logins_20261030.jsonl")


def utc_noon(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 12, tzinfo=dt.UTC)


def test_a_withdrawal_is_pending_until_a_full_rebuild_is_recorded(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    load_source(con, SOURCES_BY_NAME["logins"], _landing(tmp_path))
    assert pending_withdrawals(con) == []

    first = withdraw_file(
        con, "logins", "logins_20261031_test.jsonl", withdrawn_at=utc_noon(2026, 11, 1)
    )
    read_before_the_rebuild = pending_withdrawals(con)
    assert read_before_the_rebuild == [first]
    # A second withdrawal while the rebuild runs: the rebuild may not have seen it.
    second = withdraw_file(
        con, "logins", "logins_20261030.jsonl", withdrawn_at=utc_noon(2026, 11, 2)
    )

    assert mark_rebuilt(con, read_before_the_rebuild) == 1
    assert pending_withdrawals(con) == [second]
    # Both stay on record: the restatement guard names files withdrawn since a publication.
    assert withdrawals_since(con, utc_noon(2026, 10, 31)) == [first, second]
    assert withdrawals_since(con, utc_noon(2026, 11, 1)) == [second]
    assert second.describe() == (
        "logins_20261030.jsonl (logins): withdrawn on 2026-11-02 12:00 UTC, 2 rows"
    )


# A wrong delivery on top of landing_small: D0000015 (アプローチ予定 10-29 10:00) moved on to
# アポ打診 on 10-30 10:00 (Japan time), in a file of its own.
WRONG_FILE = "deal_status_events_20261031_bom.csv"
WRONG_ROWS = (
    "event_id,deal_id,status,changed_at,changed_by_user_id\n"
    "EV1502,D0000015,アポ打診,2026-10-30 10:00:00,U009\n"
)


def _deal_15(settings) -> tuple:
    with duckdb.connect(str(settings.serving_path), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(
            "select max_stage, approach_entered_at, days_in_max_stage "
            "from marts.fct_deal_funnel where deal_id = 'D0000015'"
        ).fetchone()


def _full_refresh_logged(instance, run_id: str) -> list[str]:
    return [
        entry.user_message
        for entry in instance.all_logs(run_id)
        if "dbt build as of" in (entry.user_message or "")
    ]


@pytest.mark.slow
def test_the_build_after_a_withdrawal_rebuilds_in_full_and_the_next_one_does_not(
    tmp_path: Path,
) -> None:
    import dagster as dg
    from click.testing import CliRunner

    from conftest import LANDING_SMALL_DIR, SMALL_AS_OF_DATE
    from prm_warehouse import fingerprint
    from prm_warehouse.cli import main
    from prm_warehouse.pipeline import run_build
    from prm_warehouse.settings import Settings

    landing = tmp_path / "landing"
    shutil.copytree(LANDING_SMALL_DIR, landing)
    wrong = landing / "deal_status_events" / WRONG_FILE
    wrong.write_text(WRONG_ROWS, encoding="utf-8-sig")
    settings = Settings(
        landing_dir=landing,
        warehouse_path=tmp_path / "warehouse.duckdb",
        serving_path=tmp_path / "serving.duckdb",
        as_of_date=SMALL_AS_OF_DATE,
    )
    env = {
        "PRM_LANDING_DIR": str(landing),
        "PRM_WAREHOUSE_PATH": str(settings.warehouse_path),
        "PRM_SERVING_PATH": str(settings.serving_path),
        "PRM_AS_OF_DATE": SMALL_AS_OF_DATE.isoformat(),
    }
    with dg.DagsterInstance.ephemeral() as instance:
        first = run_build(settings, instance=instance)
        assert first.success, first.reasons()
        fingerprint.record(settings, fingerprint.build_fingerprint(settings), first.run_id)
        # With the wrong file: approach entered 10-30 10:00 JST (01:00Z); 10-31 - 10-30 = 1.
        assert _deal_15(settings) == ("approach", dt.datetime(2026, 10, 30, 1, tzinfo=dt.UTC), 1)

        result = CliRunner().invoke(main, ["withdraw", "deal_status_events", WRONG_FILE], env=env)
        assert result.exit_code == 0, result.output
        assert f"withdrew deal_status_events/{WRONG_FILE}: 1 rows" in result.output
        assert "rebuilds the incremental models in full" in result.output
        # The landing folder is as recorded, but the warehouse waits for its rebuild.
        assert not fingerprint.is_up_to_date(settings, fingerprint.build_fingerprint(settings))
        wrong.unlink()

        second = run_build(settings, instance=instance)
        assert second.success, second.reasons()
        assert _full_refresh_logged(instance, second.run_id) == [
            f"dbt build as of 2026-10-31 into {settings.warehouse_path} (full refresh: True)"
        ]
        # Without it, as in landing_small: approach_planned since 10-29, 10-31 - 10-29 = 2.
        assert _deal_15(settings) == ("approach_planned", None, 2)
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            assert con.execute(
                "select count(*) from staging.stg_portal__deal_status_events "
                "where event_id = 'EV1502'"
            ).fetchone() == (0,)
            assert pending_withdrawals(con) == []

        third = run_build(settings, instance=instance)
        assert third.success, third.reasons()
        assert _full_refresh_logged(instance, third.run_id) == [
            f"dbt build as of 2026-10-31 into {settings.warehouse_path} (full refresh: False)"
        ]
        assert _deal_15(settings) == ("approach_planned", None, 2)
