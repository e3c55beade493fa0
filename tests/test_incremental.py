"""Incremental event staging equals a full rebuild, on real exports and real dbt runs.

One module-scoped scenario. Sample exports (``generate_landing``) arrive day by day; each
day is loaded by the real loaders into warehouse INC and dbt runs incrementally there, with
two threads. Three extra logins files carry the hard cases, with made-up event ids:

- day 0 (exports up to 2026-10-27, stamped T0): ``logins_20261026_extra.jsonl`` holds
  XA, XB, XC, XD and XE, all device ``pc``;
- day 1 (up to 2026-10-28, stamped T1 = T0 + 5 days, dbt with look-back 0):
  ``logins_20261027_extra.jsonl`` brings a newer copy of XA (``mobile``);
  ``logins_20261026_extra.jsonl`` is delivered again with new content: XA ``tablet`` (an
  older file than XA's newer copy, so it must not win), XB gone (no other copy: it must
  vanish), XC ``mobile`` (its only copy: it must change), XD and XE unchanged;
  ``logins_20261028_late.jsonl`` repeats XD unchanged (a duplicated late delivery);
- day 2 (up to 2026-10-29), stamped T2 = T1 - 24 hours: a load stamped before the previous
  run, caught by the default look-back of 72 hours.

Then warehouse FULL loads the final landing folder once and is built from scratch, and every
table of staging, intermediate and marts must hold the same rows in both (symmetric EXCEPT
ALL difference, both directions, zero rows).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner

from prm_warehouse.raw.loader import load_all
from prm_warehouse.sample_data import generate_landing
from prm_warehouse.settings import DBT_PROJECT_DIR

logger = logging.getLogger(__name__)

AS_OF = "2026-10-31"
SCALE = 0.002
SEED = 11
T0 = dt.datetime(2026, 10, 20, 0, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(days=5)
T2 = T1 - dt.timedelta(hours=24)
EVENT_MODELS = (
    "stg_portal__deal_status_events",
    "stg_portal__logins",
    "stg_portal__content_views",
    "stg_portal__lesson_completions",
    "stg_portal__quiz_attempts",
)
COMPARED_SCHEMAS = ("staging", "intermediate", "marts")
EXTRA_26 = "logins_20261026_extra.jsonl"
EXTRA_27 = "logins_20261027_extra.jsonl"
LATE_28 = "logins_20261028_late.jsonl"


@dataclass
class Scenario:
    root: Path
    landing: Path
    inc: Path
    full: Path
    dbt: _Dbt


class _Dbt:
    """dbt in this process; the project is parsed once and the manifest reused."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.manifest = None

    def __call__(
        self, warehouse: Path, args: list[str], *, threads: int = 1, succeed: bool = True
    ) -> list:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("PRM_WAREHOUSE_PATH", str(warehouse))
            mp.setenv("PRM_DBT_THREADS", str(threads))
            mp.delenv("PRM_INCREMENTAL_LOOKBACK_HOURS", raising=False)
            common = [
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
                "--target-path",
                str(self.root / "target"),
                "--log-path",
                str(self.root / "logs"),
            ]
            if self.manifest is None:
                parsed = dbtRunner().invoke(["parse", *common])
                assert parsed.success, parsed.exception
                self.manifest = parsed.result
            result = dbtRunner(manifest=self.manifest).invoke([*args, *common])
        assert result.exception is None, result.exception
        nodes = list(result.result)
        if succeed:
            failed = [
                (r.node.name, str(r.status), r.message)
                for r in nodes
                if str(r.status) in ("error", "fail", "skipped")
            ]
            assert result.success, failed
        logger.info("dbt %s on %s: %d nodes", args[0], warehouse.name, len(nodes))
        return nodes


def _vars(**extra: object) -> list[str]:
    return ["--vars", json.dumps({"as_of_date": AS_OF, **extra})]


def _write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def _login(event_id: str, user_id: str, device: str) -> dict:
    # 16:30 UTC on 25 October is 01:30 on 26 October in Japan.
    return {
        "event_id": event_id,
        "user_id": user_id,
        "device": device,
        "occurred_at": "2026-10-25T16:30:00Z",
    }


def _load(warehouse: Path, landing: Path, loaded_at: dt.datetime) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        reports = load_all(con, landing, loaded_at=loaded_at)
    finally:
        con.close()
    logger.info("loaded %d rows stamped %s", sum(r.rows_loaded for r in reports), loaded_at)


def _staging_logins(warehouse: Path, event_ids: tuple[str, ...]) -> dict[str, tuple]:
    con = duckdb.connect(str(warehouse))
    try:
        rows = con.execute(
            "select event_id, device, occurred_on, _file_name from staging.stg_portal__logins"
            " where event_id in (select unnest(?)) order by event_id",
            [list(event_ids)],
        ).fetchall()
    finally:
        con.close()
    return {row[0]: row[1:] for row in rows}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    root = tmp_path_factory.mktemp("incremental")
    landing = root / "landing"
    run = _Dbt(root)
    # One file name in two folders: dbt names relations after the file's stem, and the
    # parsed manifest is reused for both warehouses.
    (root / "inc").mkdir()
    (root / "full").mkdir()
    s = Scenario(
        root, landing, root / "inc" / "warehouse.duckdb", root / "full" / "warehouse.duckdb", run
    )
    logins = landing / "logins"

    # Day 0: the bulk export and the first days, built from scratch (first run).
    generate_landing(landing, scale=SCALE, seed=SEED, last_export_date=dt.date(2026, 10, 27))
    first = json.loads((logins / "logins_20261024.jsonl").read_text().splitlines()[0])
    user = first["user_id"]
    _write_jsonl(
        logins / EXTRA_26, [_login(f"X{k}", user, "pc") for k in ("A", "B", "C", "D", "E")]
    )
    _load(s.inc, landing, T0)
    run(s.inc, ["run", "--select", *EVENT_MODELS, *_vars()], threads=2)

    # Day 1: the next export, a newer copy, a re-delivered older file, a late duplicate.
    generate_landing(landing, scale=SCALE, seed=SEED, last_export_date=dt.date(2026, 10, 28))
    _write_jsonl(logins / EXTRA_27, [_login("XA", user, "mobile")])
    _write_jsonl(
        logins / EXTRA_26,
        [
            _login("XA", user, "tablet"),
            _login("XC", user, "mobile"),
            _login("XD", user, "pc"),
            _login("XE", user, "pc"),
        ],
    )
    _write_jsonl(logins / LATE_28, [_login("XD", user, "pc")])
    _load(s.inc, landing, T1)
    run(
        s.inc,
        ["run", "--select", *EVENT_MODELS, *_vars(incremental_lookback_hours=0)],
        threads=2,
    )

    # Day 2: asked to be stamped before day 1's load; the loader stamps it after day 1's
    # load instead, so the default (no look-back) still sees it. The whole project is built
    # (staging, intermediate, marts).
    generate_landing(landing, scale=SCALE, seed=SEED, last_export_date=dt.date(2026, 10, 29))
    _load(s.inc, landing, T2)
    run(
        s.inc, ["build", "--resource-type", "model", "--resource-type", "seed", *_vars()], threads=2
    )

    # The same files, once, from scratch, one thread.
    _load(s.full, landing, T1)
    run(s.full, ["build", "--resource-type", "model", "--resource-type", "seed", *_vars()])
    yield s


def _tables(con: duckdb.DuckDBPyConnection, database: str) -> list[tuple[str, str]]:
    schemas = ", ".join(f"'{name}'" for name in COMPARED_SCHEMAS)
    return con.execute(
        "select schema_name, table_name from duckdb_tables()"
        f" where database_name = ? and schema_name in ({schemas})"
        # The watermark tables are bookkeeping of incremental runs, not data.
        " and not suffix(table_name, '__watermark')"
        " order by schema_name, table_name",
        [database],
    ).fetchall()


@pytest.mark.slow
def test_every_table_equals_a_full_rebuild(scenario: Scenario) -> None:
    # dbt-duckdb keeps the file of its last run (FULL) open in this process; a connection
    # to the same file shares that database, and INC is attached beside it.
    con = duckdb.connect(str(scenario.full))
    try:
        full_build = con.execute("select current_database()").fetchone()[0]
        inc_path = str(scenario.inc).replace("'", "''")
        con.execute(f"attach '{inc_path}' as inc (read_only)")
        inc_tables = _tables(con, "inc")
        full_tables = _tables(con, full_build)
        # Both warehouses hold the same set of tables; the five event models at least.
        assert inc_tables == full_tables
        assert {("staging", m) for m in EVENT_MODELS} <= set(inc_tables)
        differences = {}
        row_counts = {}
        for schema, table in inc_tables:
            name = f'"{schema}"."{table}"'
            only_inc, only_full, rows = con.execute(
                f"""
                select
                    (select count(*) from (
                        select * from inc.{name} except all select * from {full_build}.{name}
                    )),
                    (select count(*) from (
                        select * from {full_build}.{name} except all select * from inc.{name}
                    )),
                    (select count(*) from inc.{name})
                """
            ).fetchone()
            row_counts[f"{schema}.{table}"] = rows
            if only_inc or only_full:
                differences[f"{schema}.{table}"] = (only_inc, only_full)
    finally:
        # The database of FULL lives on in dbt-duckdb's handle: leave it as it was.
        con.execute("detach database if exists inc")
        con.close()
    logger.info("compared %d tables, %d rows", len(row_counts), sum(row_counts.values()))
    # No row of any table differs, in either direction.
    assert differences == {}
    # The comparison is not vacuous: every event model holds rows.
    assert all(row_counts[f"staging.{m}"] > 0 for m in EVENT_MODELS)


@pytest.mark.slow
def test_hard_cases_hold_the_expected_copy(scenario: Scenario) -> None:
    rows = _staging_logins(scenario.inc, ("XA", "XB", "XC", "XD", "XE"))
    on = dt.date(2026, 10, 26)  # 2026-10-25 16:30 UTC is 01:30 on the 26th in Japan
    assert rows == {
        # export 2026-10-27 beats the re-delivered 2026-10-26 file, whatever its load time
        "XA": ("mobile", on, EXTRA_27),
        # XB: its only file was delivered again without it, so it is gone
        # XC: its only copy changed in the re-delivered file
        "XC": ("mobile", on, EXTRA_26),
        # XD: two identical copies, one row; the later export (2026-10-28) is the one kept
        "XD": ("pc", on, LATE_28),
        "XE": ("pc", on, EXTRA_26),
    }


@pytest.mark.slow
def test_old_rows_are_not_read_again_unless_back_filled(scenario: Scenario) -> None:
    """Runs after the comparison (it changes INC): proves the run reads only new rows."""
    con = duckdb.connect(str(scenario.inc))
    try:
        # A raw row loaded on day 0 changes behind the loaders' back (no new load stamp).
        con.execute(
            "update raw.logins set device = 'mobile' where event_id = 'XE' and _file_name = ?",
            [EXTRA_26],
        )
    finally:
        con.close()

    # Watermark = day 2's stamp (T1 + 1 µs, the latest seen); with no look-back nothing
    # loaded after T1 exists, so XE is not ranked again and keeps 'pc'.
    scenario.dbt(
        scenario.inc,
        ["run", "--select", "stg_portal__logins", *_vars(incremental_lookback_hours=0)],
    )
    assert _staging_logins(scenario.inc, ("XE",))["XE"][0] == "pc"

    # A back-fill of XE's Japan-time date (26 October) ranks it again: now 'mobile'.
    scenario.dbt(
        scenario.inc,
        [
            "run",
            "--select",
            "stg_portal__logins",
            *_vars(
                incremental_lookback_hours=0,
                backfill_start="2026-10-26",
                backfill_end="2026-10-26",
            ),
        ],
    )
    assert _staging_logins(scenario.inc, ("XE",))["XE"][0] == "mobile"


@pytest.mark.slow
def test_backfill_window_must_be_complete_dates(scenario: Scenario) -> None:
    nodes = scenario.dbt(
        scenario.inc,
        ["run", "--select", "stg_portal__logins", *_vars(backfill_start="2026-10-26")],
        succeed=False,
    )
    # Only one end of the window given: the model fails with a message naming both vars.
    assert [str(r.status) for r in nodes] == ["error"]
    assert "backfill_start and backfill_end must both be YYYY-MM-DD" in str(nodes[0].message)


# ---------------------------------------------------------------- the back-fill job


def test_backfill_run_config_passes_the_window_to_dbt() -> None:
    from prm_warehouse.backfill import backfill_run_config

    # The window goes to the dbt assets op as the two dbt vars, unchanged.
    assert backfill_run_config("2026-10-01", "2026-10-31") == {
        "ops": {
            "dbt_models": {"config": {"backfill_start": "2026-10-01", "backfill_end": "2026-10-31"}}
        }
    }


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-10-31", "2026-10-01", "start_date 2026-10-31 is after end_date 2026-10-01"),
        ("2026/10/01", "2026-10-31", "start_date must be a Japan-time date YYYY-MM-DD"),
        ("2026-10-01", "", "end_date must be a Japan-time date YYYY-MM-DD"),
    ],
)
def test_backfill_window_is_checked(start: str, end: str, message: str) -> None:
    from prm_warehouse.backfill import BackfillWindowError, backfill_run_config

    with pytest.raises(BackfillWindowError, match=message):
        backfill_run_config(start, end)


def test_backfill_job_selects_event_models_and_downstream() -> None:
    import dagster as dg

    from prm_warehouse.backfill import EVENT_MODEL_KEYS, backfill_warehouse_job
    from prm_warehouse.definitions import build_definitions

    job = build_definitions().resolve_job_def(backfill_warehouse_job.name)
    selected = {key.to_user_string() for key in job.asset_layer.selected_asset_keys}
    # The five event models, a mart built from them, the publication; no loader.
    assert {key.to_user_string() for key in EVENT_MODEL_KEYS} <= selected
    assert "marts/fct_deal_funnel" in selected
    assert "serving/marts_publication" in selected
    assert not any(key.startswith("raw/") for key in selected)
    # The window given as run config reaches the dbt op's config.
    result = dg.validate_run_config(job, {"start_date": "2026-10-01", "end_date": "2026-10-31"})
    assert result["ops"]["dbt_models"]["config"]["backfill_start"] == "2026-10-01"
