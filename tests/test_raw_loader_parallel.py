"""Loading with worker processes: the same warehouse as a load in one process, file for file.

The raw assets let ``PRM_LOAD_WORKERS`` processes (default one per core) parse a source's
files when there are enough bytes to parse. Every scenario of ``test_raw_loader`` also runs
with its files parsed by workers; the tests here are about the workers themselves.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from prm_warehouse.raw import loader
from prm_warehouse.raw.loader import load_source, load_workers
from test_raw_loader import put, snapshot

FIXTURES = Path(__file__).parent / "fixtures" / "raw_inputs"
LOADED_AT = dt.datetime(2026, 4, 2, 6, 0, tzinfo=dt.UTC)
COURSES_HEADER = "course_id,title,lesson_count,is_required\n"


@pytest.fixture(autouse=True)
def parse_every_load_in_workers(monkeypatch):
    monkeypatch.setattr(loader, "PARALLEL_MIN_BYTES", 0)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    root.mkdir()
    return root


def load_both_ways(tmp_path: Path, landing_dir: Path, source: str):
    """Load `source` once in this process and once with two workers, each in its own file."""
    results = {}
    for workers in (1, 2):
        connection = duckdb.connect(str(tmp_path / f"warehouse_{workers}.duckdb"))
        try:
            report = load_source(
                connection, source, landing_dir, loaded_at=LOADED_AT, workers=workers
            )
            results[workers] = (report, snapshot(connection, source))
        finally:
            connection.close()
    return results


def test_workers_write_what_one_process_writes(tmp_path, landing):
    deals = (FIXTURES / "deals_20260401.csv").read_bytes()  # UTF-8 with BOM, CRLF
    # Three deliveries of the fixture: as it is, re-encoded as CP932 with LF line ends, and
    # in pieces of a chunk each; every copy has 3 readable records and 2 quarantined.
    put(landing, "deals", "deals_20260401.csv", deals)
    cp932 = deals.decode("utf-8-sig").replace("\r\n", "\n").encode("cp932")
    put(landing, "deals", "deals_20260402.csv", cp932)
    put(landing, "deals", "deals_20260403_corrected.csv", deals)

    results = load_both_ways(tmp_path, landing, "deals")

    one, two = results[1], results[2]
    assert (two[0].files_loaded, two[0].rows_loaded, two[0].rows_quarantined) == (3, 9, 6)
    assert [f.encoding for f in two[0].files] == ["utf-8-sig", "cp932", "utf-8-sig"]
    assert two[1] == one[1]
    # Lines as in the file, whichever process read it: D0000005 is on line 7 in each copy.
    connection = duckdb.connect(str(tmp_path / "warehouse_2.duckdb"))
    try:
        assert connection.execute(
            "select _file_name, _export_date, _line_number from raw.deals "
            "where deal_id = 'D0000005' order by _file_name"
        ).fetchall() == [
            ("deals_20260401.csv", dt.date(2026, 4, 1), 7),
            ("deals_20260402.csv", dt.date(2026, 4, 2), 7),
            ("deals_20260403_corrected.csv", dt.date(2026, 4, 3), 7),
        ]
    finally:
        connection.close()


def test_small_loads_stay_in_the_loading_process(landing, monkeypatch):
    monkeypatch.setattr(loader, "PARALLEL_MIN_BYTES", 1024)
    put(landing, "courses", "courses_20260401.csv", COURSES_HEADER + "K01,入門,3,true\n")
    put(landing, "courses", "courses_20260402.csv", COURSES_HEADER + "K02,応用,5,false\n")
    found = loader.discover_files(landing, "courses").files
    new = [loader._plan_file(f, landing, {}) for f in found]
    assert [p.size_bytes for p in new] == [59, 60]  # 41 bytes of header, 18 and 19 of row
    # 2 new files of 119 bytes together: under 1 KiB, not worth a worker; one file never is.
    assert not loader._worth_parallel(new, 2)
    monkeypatch.setattr(loader, "PARALLEL_MIN_BYTES", 100)
    assert loader._worth_parallel(new, 2)
    assert not loader._worth_parallel(new[:1], 2)
    assert not loader._worth_parallel(new, 1)
    # Once the first file is loaded, only the second is left to parse: no workers for it.
    known = {new[0].landing.file_name: loader._KnownFile(new[0].sha256, new[0].size_bytes, None)}
    later = [loader._plan_file(f, landing, known) for f in found]
    assert [p.status for p in later] == ["unchanged", "loaded"]
    assert not loader._worth_parallel(later, 2)


def test_load_workers_setting():
    cores = os.cpu_count() or 1
    assert load_workers({}) == cores
    assert load_workers({"PRM_LOAD_WORKERS": " 1 "}) == 1
    assert load_workers({"PRM_LOAD_WORKERS": str(cores)}) == cores
    # More workers than cores only cost memory: one per core at most.
    assert load_workers({"PRM_LOAD_WORKERS": str(cores + 997)}) == cores
    for bad in ("0", "two", "-1", "1.5"):
        with pytest.raises(ValueError, match="PRM_LOAD_WORKERS"):
            load_workers({"PRM_LOAD_WORKERS": bad})


KILLED_LOADER = """
import sys, time
from pathlib import Path
import duckdb
from prm_warehouse.raw import loader

if __name__ == "__main__":
    loader.PARALLEL_MIN_BYTES = 0
    landing, warehouse = Path(sys.argv[1]), sys.argv[2]
    con = duckdb.connect(warehouse)
    loader.load_source(con, "courses", landing, workers=2)
    print(" ".join(str(pid) for pid in loader._pool._processes), flush=True)
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its exit status is left for its parent to collect.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ", 1)[1][0] != "Z"


def test_workers_exit_when_the_loading_process_is_killed(tmp_path, landing):
    put(landing, "courses", "courses_20260401.csv", COURSES_HEADER + "K01,入門,3,true\n")
    put(landing, "courses", "courses_20260402.csv", COURSES_HEADER + "K02,応用,5,false\n")
    script = tmp_path / "load_and_wait.py"
    script.write_text(KILLED_LOADER)
    process = subprocess.Popen(
        [sys.executable, str(script), str(landing), str(tmp_path / "warehouse.duckdb")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        workers = [int(pid) for pid in process.stdout.readline().split()]
        # Two files, two workers; both idle and waiting for the next source.
        assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    finally:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 10 * loader.PARENT_WATCH_SECONDS + 5
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers)


def test_scratch_files_of_a_killed_load_go_with_the_next_load(tmp_path, landing):
    # What a load killed while its workers wrote would leave beside the warehouse.
    stale = tmp_path / ".prm-load-warehouse.duckdb-k1ll3d"
    stale.mkdir()
    (stale / "part_00000.duckdb").write_bytes(b"half written")
    other_warehouse = tmp_path / ".prm-load-other.duckdb-k1ll3d"  # not this warehouse's
    other_warehouse.mkdir()
    put(landing, "courses", "courses_20260401.csv", COURSES_HEADER + "K01,入門,3,true\n")
    put(landing, "courses", "courses_20260402.csv", COURSES_HEADER + "K02,応用,5,false\n")
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        report = load_source(connection, "courses", landing, loaded_at=LOADED_AT, workers=2)
    finally:
        connection.close()
    assert report.rows_loaded == 2
    assert sorted(p.name for p in tmp_path.glob(".prm-load-*")) == [other_warehouse.name]


def test_a_bad_worker_count_stops_the_command_before_anything_runs(tmp_path):
    from click.testing import CliRunner

    from prm_warehouse.cli import main

    env = {
        "PRM_LOAD_WORKERS": "abc",
        "PRM_LANDING_DIR": str(tmp_path / "landing"),
        "PRM_WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
    }
    result = CliRunner().invoke(main, ["build"], env=env)
    assert result.exit_code == 1
    assert "PRM_LOAD_WORKERS='abc' is not a whole number of at least 1" in result.output
    assert not (tmp_path / "warehouse.duckdb").exists()
