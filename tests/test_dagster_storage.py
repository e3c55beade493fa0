"""The project's Dagster storage: the same SQLite files as Dagster's own, written through
kept connections (prm_warehouse.dagster_storage)."""

from pathlib import Path

import dagster as dg
import pytest

from prm_warehouse.dagster_storage import KEPT_ENGINES, PooledSqliteEventLogStorage
from prm_warehouse.pipeline import project_instance
from prm_warehouse.settings import PROJECT_ROOT

STOCK_SQLITE_CONFIG = """
storage:
  sqlite:
    base_dir: {base_dir}
"""


@dg.asset
def first_numbers() -> list[int]:
    return [1, 2, 3]


@dg.asset
def doubled_numbers(first_numbers: list[int]) -> list[int]:
    return [2 * number for number in first_numbers]


@dg.asset_check(asset=doubled_numbers)
def doubled_numbers_are_even(doubled_numbers: list[int]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=all(number % 2 == 0 for number in doubled_numbers))


@dg.asset_check(asset=first_numbers)
def first_numbers_are_positive(first_numbers: list[int]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=min(first_numbers) > 0)


def _project_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_bytes((PROJECT_ROOT / "dagster.yaml").read_bytes())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _run_small_job(instance: dg.DagsterInstance) -> str:
    definitions = dg.Definitions(
        assets=[first_numbers, doubled_numbers],
        asset_checks=[doubled_numbers_are_even, first_numbers_are_positive],
        jobs=[dg.define_asset_job("numbers", selection="*")],
    )
    result = definitions.resolve_job_def("numbers").execute_in_process(instance=instance)
    assert result.success
    return result.run_id


def _event_counts(instance: dg.DagsterInstance, run_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in instance.all_logs(run_id):
        if entry.dagster_event is not None:
            name = entry.dagster_event.event_type_value
            counts[name] = counts.get(name, 0) + 1
    return counts


def test_the_project_instance_writes_runs_that_dagsters_own_storage_reads(tmp_path, monkeypatch):
    home = _project_home(tmp_path, monkeypatch)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        first_run = _run_small_job(instance)
        second_run = _run_small_job(instance)

    # A stock SQLite instance on the same folder, as a `dagster dev` with Dagster's default
    # storage would open it, sees both runs with every event.
    stock = tmp_path / "stock_config"
    stock.mkdir()
    (stock / "dagster.yaml").write_text(STOCK_SQLITE_CONFIG.format(base_dir=home))
    with dg.DagsterInstance.from_config(str(stock)) as reader:
        assert {run.run_id for run in reader.get_runs()} == {first_run, second_run}
        for run_id in (first_run, second_run):
            counts = _event_counts(reader, run_id)
            # two assets, two checks
            assert counts["ASSET_MATERIALIZATION"] == 2
            assert counts["ASSET_MATERIALIZATION_PLANNED"] == 2
            assert counts["ASSET_CHECK_EVALUATION"] == 2
            assert counts["ASSET_CHECK_EVALUATION_PLANNED"] == 2
        record = reader.get_latest_materialization_event(dg.AssetKey("doubled_numbers"))
        assert record is not None and record.run_id == second_run
        evaluation = reader.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("doubled_numbers"), "doubled_numbers_are_even")]
        )
        execution = next(iter(evaluation.values()))
        assert execution.run_id == second_run


def test_one_connection_per_database_file_is_kept_with_relaxed_sync(tmp_path, monkeypatch):
    home = _project_home(tmp_path, monkeypatch)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        run_id = _run_small_job(instance)
        # the run's own database and the index, one engine each
        assert set(storage._engines) == {run_id, "index"}
        dbapi_connections = []
        for _ in range(2):
            with storage.index_connection() as conn:
                dbapi_connections.append(conn.connection.dbapi_connection)
                # 1 = NORMAL: the write-ahead log is synced at checkpoints, not per commit
                assert conn.exec_driver_sql("pragma synchronous").scalar() == 1
                assert conn.exec_driver_sql("pragma journal_mode").scalar() == "wal"
        assert dbapi_connections[0] is dbapi_connections[1]


def test_a_process_keeps_at_most_a_few_database_files_open(tmp_path, monkeypatch):
    home = _project_home(tmp_path, monkeypatch)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        runs = [_run_small_job(instance) for _ in range(KEPT_ENGINES + 2)]
        # the index and the newest runs; the two oldest runs' files were closed
        assert len(storage._engines) == KEPT_ENGINES
        assert {"index", runs[-1]} <= set(storage._engines)
        assert runs[0] not in storage._engines and runs[1] not in storage._engines
        # a closed run is opened again when read
        assert _event_counts(instance, runs[0])["ASSET_MATERIALIZATION"] == 2


def test_an_outside_dagster_home_without_config_gets_the_projects(tmp_path, monkeypatch):
    home = tmp_path / "elsewhere" / "dagster_home"  # not created yet
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with project_instance() as instance:
        assert (home / "dagster.yaml").read_bytes() == (PROJECT_ROOT / "dagster.yaml").read_bytes()
        # the project's settings, not Dagster's defaults (telemetry on, stock event storage)
        assert instance.telemetry_enabled is False
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1


def test_an_outside_dagster_home_keeps_its_own_config(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    own_config = "telemetry:\n  enabled: true\n"
    (home / "dagster.yaml").write_text(own_config)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with project_instance() as instance:
        assert (home / "dagster.yaml").read_text() == own_config
        assert instance.telemetry_enabled is True
        assert not isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
