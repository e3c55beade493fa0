"""Loading with worker processes: the same warehouse as a load in one process, file for file.

The raw assets let ``PRM_LOAD_WORKERS`` processes (default one per core) parse a source's
files when there are enough bytes to parse. These tests lower that threshold to nothing so
that the hand-made files below go through the workers, and compare every table the load
writes with a load of the same files in one process. Expected counts are worked out by hand
from the files each test writes (the fixtures' content is described in
tests/fixtures/raw_inputs/README.md).
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
from prm_warehouse.raw.loader import RawLoadError, load_source, load_workers
from prm_warehouse.raw.readers import RawInputError

FIXTURES = Path(__file__).parent / "fixtures" / "raw_inputs"
LOADED_AT = dt.datetime(2026, 4, 2, 6, 0, tzinfo=dt.UTC)
EVENTS_HEADER = "event_id,deal_id,status,changed_at,changed_by_user_id\n"
COURSES_HEADER = "course_id,title,lesson_count,is_required\n"


@pytest.fixture(autouse=True)
def parse_every_load_in_workers(monkeypatch):
    monkeypatch.setattr(loader, "PARALLEL_MIN_BYTES", 0)


def put(landing: Path, source: str, name: str, content: str | bytes) -> None:
    folder = landing / source
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        (folder / name).write_text(content, encoding="utf-8", newline="")
    else:
        (folder / name).write_bytes(content)


def snapshot(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, list[tuple]]:
    return {
        "rows": con.execute(f"select * from raw.{source} order by all").fetchall(),
        "quarantine": con.execute(
            "select * from raw._quarantine where source = ? order by all", [source]
        ).fetchall(),
        "manifest": con.execute(
            "select * from raw._load_manifest where source = ? order by all", [source]
        ).fetchall(),
    }


def load_both_ways(tmp_path: Path, landing: Path, source: str, **kwargs):
    """Load `source` once in this process and once with two workers, each in its own file."""
    results = {}
    for workers in (1, 2):
        con = duckdb.connect(str(tmp_path / f"warehouse_{workers}.duckdb"))
        try:
            report = load_source(con, source, landing, loaded_at=LOADED_AT, workers=workers)
            results[workers] = (report, snapshot(con, source))
        finally:
            con.close()
    return results


def scratch_folders(tmp_path: Path) -> list[Path]:
    return sorted(tmp_path.glob(".prm-load-*"))


def test_workers_write_what_one_process_writes(tmp_path):
    landing = tmp_path / "landing"
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
    con = duckdb.connect(str(tmp_path / "warehouse_2.duckdb"))
    try:
        assert con.execute(
            "select _file_name, _export_date, _line_number from raw.deals "
            "where deal_id = 'D0000005' order by _file_name"
        ).fetchall() == [
            ("deals_20260401.csv", dt.date(2026, 4, 1), 7),
            ("deals_20260402.csv", dt.date(2026, 4, 2), 7),
            ("deals_20260403_corrected.csv", dt.date(2026, 4, 3), 7),
        ]
    finally:
        con.close()
    assert scratch_folders(tmp_path) == []


def test_unchanged_files_are_not_parsed_again_and_redelivery_replaces(tmp_path):
    landing = tmp_path / "landing"
    name = "deal_status_events_20260401.csv"
    put(
        landing,
        "deal_status_events",
        name,
        EVENTS_HEADER
        + "E1,D1,提案済み,2026-04-01 10:00:00,U1\n"
        + "E2,D1,失注,2026-04-01 11:00:00,\n"
        + "E3,D1,保留,not a time,U1\n",  # line 4 -> quarantine
    )
    put(
        landing,
        "deal_status_events",
        "deal_status_events_20260402.csv",
        EVENTS_HEADER + "E9,D9,アポ打診,2026-04-02 09:00:00,U9\n",
    )
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        first = load_source(con, "deal_status_events", landing, loaded_at=LOADED_AT, workers=2)
        assert (first.rows_loaded, first.rows_quarantined) == (3, 1)

        # A corrected export under the same name: E1 changed, E2 gone, E4 new, E5 too short.
        put(
            landing,
            "deal_status_events",
            name,
            EVENTS_HEADER
            + "E1,D1,提案合意,2026-04-01 12:00:00,U1\n"
            + "E4,D2,アポ打診,2026-04-01 13:00:00,U2\n"
            + "E5,D2,失注\n",  # line 4: 3 fields instead of 5
        )
        later = LOADED_AT + dt.timedelta(hours=1)
        second = load_source(con, "deal_status_events", landing, loaded_at=later, workers=2)

        assert [f.status for f in second.files] == ["reloaded", "unchanged"]
        assert (second.rows_loaded, second.rows_quarantined) == (2, 1)
        assert con.execute(
            "select event_id, status, _file_name, _loaded_at from raw.deal_status_events "
            "order by event_id"
        ).fetchall() == [
            ("E1", "提案合意", name, later),
            ("E4", "アポ打診", name, later),
            ("E9", "アポ打診", "deal_status_events_20260402.csv", LOADED_AT),
        ]
        assert con.execute("select line_number, reason from raw._quarantine").fetchall() == [
            (4, "expected 5 fields as in the header, found 3"),
        ]
    finally:
        con.close()


def test_a_file_a_worker_cannot_read_fails_the_load_and_keeps_the_warehouse(tmp_path):
    landing = tmp_path / "landing"
    put(landing, "courses", "courses_20260401.csv", COURSES_HEADER + "K01,入門,3,true\n")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        load_source(con, "courses", landing, loaded_at=LOADED_AT, workers=2)
        before = snapshot(con, "courses")
        # A batch of two new files: the first is fine, the second is neither UTF-8 nor CP932.
        put(landing, "courses", "courses_20260402.csv", COURSES_HEADER + "K02,応用,5,false\n")
        put(
            landing,
            "courses",
            "courses_20260403.csv",
            COURSES_HEADER.encode() + b"K03,\x85\x40,1,true\n",
        )
        with pytest.raises(RawInputError, match=r"courses_20260403\.csv: cannot decode"):
            load_source(
                con, "courses", landing, loaded_at=LOADED_AT + dt.timedelta(days=1), workers=2
            )
        assert snapshot(con, "courses") == before
        assert con.execute("select course_id from raw.courses").fetchall() == [("K01",)]
    finally:
        con.close()
    assert scratch_folders(tmp_path) == []


def test_a_row_the_warehouse_refuses_fails_the_load_and_names_the_file(tmp_path):
    # The warehouse's table refuses lines from 3 on (the loader keeps an existing table);
    # the worker's scratch table does not, so the refusal comes when the rows are copied.
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        con.execute("create schema raw")
        con.execute(
            "create table raw.courses (course_id varchar, title varchar, lesson_count bigint, "
            "is_required boolean, _file_name varchar, _export_date date, "
            "_line_number integer check (_line_number < 3), _loaded_at timestamptz)"
        )
        landing = tmp_path / "landing"
        put(landing, "courses", "courses_20260401.csv", COURSES_HEADER + "K01,a,1,true\n")
        put(
            landing,
            "courses",
            "courses_20260402.csv",
            COURSES_HEADER + "K02,b,2,true\nK03,c,3,true\n",
        )
        with pytest.raises(RawLoadError, match=r"courses_20260402\.csv: cannot be written"):
            load_source(con, "courses", landing, loaded_at=LOADED_AT, workers=2)
        assert con.execute("select count(*) from raw.courses").fetchone() == (0,)
        assert con.execute("select count(*) from raw._load_manifest").fetchone() == (0,)
    finally:
        con.close()


def test_small_loads_stay_in_the_loading_process(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "PARALLEL_MIN_BYTES", 1024)
    landing = tmp_path / "landing"
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
    known = {new[0].landing.file_name: new[0].sha256}
    later = [loader._plan_file(f, landing, known) for f in found]
    assert [p.status for p in later] == ["unchanged", "loaded"]
    assert not loader._worth_parallel(later, 2)


def test_load_workers_setting():
    assert load_workers({"PRM_LOAD_WORKERS": "3"}) == 3
    assert load_workers({"PRM_LOAD_WORKERS": " 1 "}) == 1
    assert load_workers({}) >= 1
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


def test_workers_exit_when_the_loading_process_is_killed(tmp_path):
    landing = tmp_path / "landing"
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
