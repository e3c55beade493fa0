"""One writer at a time: the warehouse write lock (a second writer process waits instead of
hitting DuckDB's lock error, a bounded wait ends with a clear error, a killed holder releases the
lock) and the project's Dagster instance settings (dagster.yaml)."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from prm_warehouse.locking import WarehouseLockTimeout, lock_path_for, warehouse_write_lock
from prm_warehouse.settings import PROJECT_ROOT

WAIT_SECONDS = 60

# A second build: takes the lock, then appends max(v) + 1 to table t of the warehouse.
WRITER_SCRIPT = """
import json, logging, pathlib, sys, time
import duckdb
from prm_warehouse.locking import WarehouseLockTimeout, warehouse_write_lock

warehouse, timeout, action, log_file, marker = sys.argv[1:6]
logging.basicConfig(level=logging.INFO, filename=log_file, format="%(message)s")
timeout = None if timeout == "none" else float(timeout)
started = time.monotonic()
try:
    with warehouse_write_lock(warehouse, timeout=timeout):
        waited = time.monotonic() - started
        if action == "append":
            con = duckdb.connect(warehouse)
            con.execute("insert into t select max(v) + 1 from t")
            con.close()
        elif action == "hold":
            pathlib.Path(marker).write_text("held")
            time.sleep(120)
except WarehouseLockTimeout as exc:
    sys.stdout.write(json.dumps({"timeout": str(exc), "waited": time.monotonic() - started}))
    sys.exit(3)
sys.stdout.write(json.dumps({"waited": waited}))
"""


def start_writer(tmp_path: Path, warehouse: Path, timeout: str, action: str) -> subprocess.Popen:
    script = tmp_path / "writer.py"
    script.write_text(WRITER_SCRIPT, encoding="utf-8")
    return subprocess.Popen(
        [
            sys.executable,
            str(script),
            str(warehouse),
            timeout,
            action,
            str(tmp_path / "writer.log"),
            str(tmp_path / "held"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )


def wait_for(condition, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"process ended (rc {process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def log_text(tmp_path: Path) -> str:
    path = tmp_path / "writer.log"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def make_warehouse(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("create table t (v integer)")
    con.execute("insert into t values (1)")
    con.close()


def test_a_second_writer_waits_for_the_first_instead_of_failing(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    make_warehouse(warehouse)
    hold_after_wait_seconds = 0.5

    with warehouse_write_lock(warehouse, timeout=5):
        # The first build holds the DuckDB file open for writing, as a running build does;
        # without the lock the second process would fail to open it.
        con = duckdb.connect(str(warehouse))
        writer = start_writer(tmp_path, warehouse, "30", "append")
        wait_for(lambda: "waiting for it to finish" in log_text(tmp_path), writer, "a wait")
        time.sleep(hold_after_wait_seconds)
        con.execute("insert into t values (10)")
        con.close()

    out, _ = writer.communicate(timeout=WAIT_SECONDS)
    assert writer.returncode == 0
    # It waited at least as long as the first build held on after it started waiting.
    assert json.loads(out)["waited"] >= hold_after_wait_seconds
    # The log names the holder (this process) and reports the wait once it is over.
    assert f"pid {os.getpid()}" in log_text(tmp_path)
    assert "after waiting" in log_text(tmp_path)
    con = duckdb.connect(str(warehouse), read_only=True)
    values = [v for (v,) in con.execute("select v from t order by v").fetchall()]
    con.close()
    # 1 from the start, 10 from the first build, then max + 1 = 11 from the second: the second
    # build ran after the first, not beside it.
    assert values == [1, 10, 11]


def test_a_bounded_wait_ends_with_a_clear_error(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    make_warehouse(warehouse)

    with warehouse_write_lock(warehouse):
        writer = start_writer(tmp_path, warehouse, "0.5", "append")
        out, _ = writer.communicate(timeout=WAIT_SECONDS)

    assert writer.returncode == 3
    result = json.loads(out)
    assert 0.5 <= result["waited"] < WAIT_SECONDS
    assert str(warehouse) in result["timeout"]
    assert f"pid {os.getpid()}" in result["timeout"]
    # It gave up without writing: t still holds only the starting row.
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("select count(*) from t").fetchone() == (1,)
    con.close()


def test_a_killed_holder_releases_the_lock(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    make_warehouse(warehouse)
    holder = start_writer(tmp_path, warehouse, "none", "hold")
    try:
        wait_for((tmp_path / "held").exists, holder, "the holder to take the lock")
        with (
            pytest.raises(WarehouseLockTimeout, match=f"pid {holder.pid}"),
            warehouse_write_lock(warehouse, timeout=0),
        ):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()

    started = time.monotonic()
    with warehouse_write_lock(warehouse, timeout=5) as lock_file:
        assert lock_file == lock_path_for(warehouse)
    # The operating system dropped the dead holder's lock: taken without waiting out the 5 s.
    assert time.monotonic() - started < 5


def test_the_lock_is_reentrant_within_one_process(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    entered = []
    with warehouse_write_lock(warehouse, timeout=1):
        with warehouse_write_lock(warehouse, timeout=1):
            entered.append("nested")
        # Another thread of the same build (an in-process executor step) does not deadlock.
        thread = threading.Thread(
            target=lambda: entered.append(_enter_and_leave(warehouse)), daemon=True
        )
        thread.start()
        thread.join(timeout=10)
    assert entered == ["nested", "thread"]
    with pytest.raises(ValueError, match="timeout"), warehouse_write_lock(warehouse, timeout=-1):
        pass


def _enter_and_leave(warehouse: Path) -> str:
    with warehouse_write_lock(warehouse, timeout=1):
        return "thread"


def test_the_project_dagster_instance_runs_one_writer_at_a_time(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_bytes((PROJECT_ROOT / "dagster.yaml").read_bytes())
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    instance = dg.DagsterInstance.from_config(str(home))
    try:
        queue = instance.get_concurrency_config().run_queue_config
        # dagster.yaml: one run at a time, and one run tagged as a warehouse writer.
        assert queue.max_concurrent_runs == 1
        assert list(queue.tag_concurrency_limits) == [{"key": "prm/warehouse-writer", "limit": 1}]
        # Crashed runs are retried twice; runs whose assets or checks failed are not.
        assert instance.run_retries_enabled is True
        assert instance.run_retries_max_retries == 2
        assert instance.run_retries_retry_on_asset_or_op_failure is False
        assert instance.telemetry_enabled is False
        # Run history lives in the instance folder.
        assert instance.root_directory == str(home)
        assert (home / "history" / "runs.db").exists()
    finally:
        instance.dispose()
