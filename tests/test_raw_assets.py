"""The raw Dagster assets and their quarantine checks, materialized into a real warehouse file."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from prm_warehouse.raw.assets import (
    ENV_QUARANTINE_MAX_SHARE,
    quarantine_max_share,
    raw_asset_checks,
    raw_assets,
)
from prm_warehouse.raw.contract import SOURCES
from prm_warehouse.resources import WarehouseResource

FIXTURES = Path(__file__).parent / "fixtures" / "raw_inputs"


def _by_source(definitions, wanted: set[str]):
    return [d for d in definitions if any(k.path[-1] in wanted for k in _keys(d))]


def _keys(definition) -> list[dg.AssetKey]:
    if isinstance(definition, dg.AssetChecksDefinition):
        return [key.asset_key for key in definition.check_keys]
    return list(definition.keys)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    for source in ("partners", "deals"):
        (root / source).mkdir(parents=True)
        name = f"{source}_20260401.csv"
        (root / source / name).write_bytes((FIXTURES / name).read_bytes())
    return root


def _materialize(landing: Path, warehouse: Path) -> dg.ExecuteInProcessResult:
    chosen = {"partners", "deals"}
    return dg.materialize(
        [*_by_source(raw_assets, chosen), *_by_source(raw_asset_checks, chosen)],
        resources={
            "warehouse": WarehouseResource(landing_dir=str(landing), warehouse_path=str(warehouse))
        },
        raise_on_error=False,
    )


def _metadata(result: dg.ExecuteInProcessResult, source: str) -> dict:
    (event,) = [
        e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == source
    ]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _check(result: dg.ExecuteInProcessResult, source: str) -> dg.AssetCheckEvaluation:
    (evaluation,) = [
        e for e in result.get_asset_check_evaluations() if e.asset_key.path[-1] == source
    ]
    return evaluation


def test_one_asset_and_one_blocking_check_per_source():
    assert [next(iter(a.keys)).path for a in raw_assets] == [["raw", s.name] for s in SOURCES]
    assert all(a.group_names_by_key[next(iter(a.keys))] == "raw" for a in raw_assets)
    specs = [spec for c in raw_asset_checks for spec in c.check_specs]
    assert [(s.asset_key.path, s.name, s.blocking) for s in specs] == [
        (["raw", s.name], "quarantine_share", True) for s in SOURCES
    ]
    deals = next(a for a in raw_assets if next(iter(a.keys)).path == ["raw", "deals"])
    assert deals.descriptions_by_key[dg.AssetKey(["raw", "deals"])].startswith(
        "Deals that people at the firms registered."
    )
    dg.Definitions(
        assets=raw_assets,
        asset_checks=raw_asset_checks,
        resources={"warehouse": WarehouseResource(landing_dir="l", warehouse_path="w")},
    ).resolve_all_job_defs()


def test_materialize_reports_counts_and_the_check_fails_on_a_high_share(
    landing, tmp_path, monkeypatch
):
    monkeypatch.delenv(ENV_QUARANTINE_MAX_SHARE, raising=False)
    warehouse = tmp_path / "warehouse.duckdb"
    result = _materialize(landing, warehouse)

    partners = _metadata(result, "partners")
    # partners fixture: 1 file, 2 readable rows, nothing quarantined.
    assert (partners["files_seen"], partners["files_loaded"], partners["files_unchanged"]) == (
        1,
        1,
        0,
    )
    assert (partners["rows_loaded"], partners["rows_quarantined"]) == (2, 0)
    assert partners["quarantined_share"] == 0.0
    assert partners["table_rows"] == 2
    deals = _metadata(result, "deals")
    # deals fixture: 3 readable rows, 2 quarantined -> 2 / 5 = 0.4.
    assert (deals["rows_loaded"], deals["rows_quarantined"], deals["table_rows"]) == (3, 2, 3)
    assert deals["quarantined_share"] == pytest.approx(0.4)

    assert _check(result, "partners").passed
    failed = _check(result, "deals")
    # 0.4 is above the default maximum of 0.05; the check is an ERROR and the run fails.
    assert not failed.passed
    assert failed.severity == dg.AssetCheckSeverity.ERROR
    assert failed.metadata["rows_quarantined"].value == 2
    assert failed.metadata["quarantined_share"].value == pytest.approx(0.4)
    assert failed.metadata["reasons"].value == {
        "approach_planned_on: not a date": 1,
        "expected 13 fields as in the header, found 4": 1,
    }
    sample = failed.metadata["sample"].value
    assert "| deals_20260401.csv | 5 | approach_planned_on: not a date: '2026-13-01' |" in sample
    assert "| deals_20260401.csv | 6 | expected 13 fields as in the header, found 4 |" in sample
    assert not result.success

    # The warehouse file is closed after the run and holds what the metadata says.
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw.deals").fetchone() == (3,)

    # A second run: nothing new to load, table unchanged.
    again = _materialize(landing, warehouse)
    partners = _metadata(again, "partners")
    assert (partners["files_loaded"], partners["files_unchanged"], partners["rows_loaded"]) == (
        0,
        1,
        0,
    )
    assert partners["table_rows"] == 2
    # The check looks at the source's whole history, so it still sees 2 of 5 quarantined.
    assert not _check(again, "deals").passed


def test_threshold_comes_from_the_environment(landing, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_QUARANTINE_MAX_SHARE, "0.5")
    result = _materialize(landing, tmp_path / "warehouse.duckdb")
    # 0.4 <= 0.5: passes.
    assert _check(result, "deals").passed
    assert result.success


def test_threshold_must_be_a_share():
    assert quarantine_max_share({}) == 0.05
    assert quarantine_max_share({ENV_QUARANTINE_MAX_SHARE: "0.2"}) == 0.2
    with pytest.raises(ValueError, match=ENV_QUARANTINE_MAX_SHARE):
        quarantine_max_share({ENV_QUARANTINE_MAX_SHARE: "5%"})


def test_unreadable_file_fails_its_asset_with_the_file_name(landing, tmp_path):
    (landing / "partners" / "partners_20260402.csv").write_bytes(
        b"partner_id,partner_name\nP1,\x85\x40\n"
    )
    result = _materialize(landing, tmp_path / "warehouse.duckdb")
    assert not result.success
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    messages = " ".join(str(e.step_failure_data.error) for e in failures)
    assert "partners_20260402.csv: cannot decode" in messages


def test_resource_defaults_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PRM_LANDING_DIR", str(tmp_path / "in"))
    monkeypatch.setenv("PRM_WAREHOUSE_PATH", str(tmp_path / "db" / "w.duckdb"))
    resource = WarehouseResource()
    assert resource.absolute_landing_dir() == str(tmp_path / "in")
    assert resource.absolute_warehouse_path() == str(tmp_path / "db" / "w.duckdb")
    # Configured values win over the environment.
    configured = WarehouseResource(landing_dir=str(tmp_path / "x"))
    assert configured.absolute_landing_dir() == str(tmp_path / "x")
    # connect() creates the folder, opens the file and closes it again on exit.
    with resource.connect() as con:
        assert con.execute("select 1").fetchone() == (1,)
    with duckdb.connect(str(tmp_path / "db" / "w.duckdb"), read_only=True) as ro:
        assert ro.execute("select 2").fetchone() == (2,)


def test_connect_inside_a_build_that_holds_the_write_lock(tmp_path):
    # A build holds the warehouse write lock for its whole run and materializes the raw
    # assets in the same process: connect() must take the lock again, not wait for itself.
    from prm_warehouse.locking import warehouse_write_lock

    warehouse = tmp_path / "w.duckdb"
    resource = WarehouseResource(landing_dir=str(tmp_path), warehouse_path=str(warehouse))
    with warehouse_write_lock(warehouse), resource.connect(lock_timeout=5) as con:
        assert con.execute("select 42").fetchone() == (42,)
