"""The loader: real DuckDB files, incremental and idempotent loads, one transaction per source.

Expected counts are worked out by hand from the files each test writes. Every test runs
twice: with the files read in the test's process, and with the files of every load of two or
more files parsed by two worker processes (as the raw assets do when there is enough to
read), where the same expectations must hold.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import pytest

from prm_warehouse.raw import loader
from prm_warehouse.raw.loader import RawLoadError, load_all, load_source, load_warehouse
from prm_warehouse.raw.readers import RawInputError

FIXTURES = Path(__file__).parent / "fixtures" / "raw_inputs"
LOADED_AT = dt.datetime(2026, 4, 2, 6, 0, tzinfo=dt.UTC)
EVENTS_HEADER = "event_id,deal_id,status,changed_at,changed_by_user_id\n"


@pytest.fixture(autouse=True, params=["in process", "in workers"])
def parsed(request, monkeypatch, tmp_path: Path):
    if request.param == "in workers":
        monkeypatch.setattr(loader, "PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(loader, "DEFAULT_WORKERS", 2)
    yield request.param
    # No worker's scratch folder is left beside the warehouse, whatever the test did.
    assert sorted(tmp_path.rglob(".prm-load-*")) == []


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    root.mkdir()
    return root


@pytest.fixture
def con(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def put(landing: Path, source: str, name: str, content: str | bytes) -> Path:
    folder = landing / source
    folder.mkdir(exist_ok=True)
    path = folder / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def snapshot(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, list[tuple]]:
    """Everything the loads write for a source, in a stable order."""
    return {
        "rows": con.execute(f"select * from raw.{source} order by all").fetchall(),
        "quarantine": con.execute(
            "select * from raw._quarantine where source = ? order by all", [source]
        ).fetchall(),
        "manifest": con.execute(
            "select * from raw._load_manifest where source = ? order by all", [source]
        ).fetchall(),
    }


def test_fixture_files_load_with_types_lineage_and_quarantine(landing, con):
    put(landing, "deals", "deals_20260401.csv", (FIXTURES / "deals_20260401.csv").read_bytes())

    report = load_source(con, "deals", landing, loaded_at=LOADED_AT)

    # The fixture has 5 records: lines 2, 3-4 and 7 readable; 5 (bad date) and 6 (short row) not.
    assert (report.files_seen, report.files_loaded, report.files_unchanged) == (1, 1, 0)
    assert (report.rows_loaded, report.rows_quarantined) == (3, 2)
    rows = con.execute(
        "select deal_id, client_name, registered_at, approach_planned_on, expected_mrr, "
        "_file_name, _export_date, _line_number, _loaded_at from raw.deals order by deal_id"
    ).fetchall()
    assert [r[0] for r in rows] == ["D0000001", "D0000002", "D0000005"]
    d1 = rows[0]
    assert d1[1] == "山田商店, 本店"
    # 2026-04-01 00:30:00 JST is 2026-03-31 15:30 UTC; compare as instants.
    assert d1[2] == dt.datetime(2026, 3, 31, 15, 30, tzinfo=dt.UTC)
    assert d1[3] == dt.date(2026, 4, 10)
    assert d1[4] == 12000.0
    assert d1[5:8] == ("deals_20260401.csv", dt.date(2026, 4, 1), 2)
    assert d1[8] == LOADED_AT
    assert [r[7] for r in rows] == [2, 3, 7]
    # The instant read back in UTC, independent of the session time zone.
    con.execute("set TimeZone = 'UTC'")
    assert con.execute(
        "select strftime(registered_at, '%Y-%m-%d %H:%M') from raw.deals where deal_id = 'D0000001'"
    ).fetchone() == ("2026-03-31 15:30",)

    # both keys are readable (a snapshot entity keeps an earlier row): line 5's from its
    # typed row, line 6's from the first of its 4 fields, where the header puts deal_id
    assert con.execute(
        "select file_name, line_number, reason, record_key from raw._quarantine "
        "order by line_number"
    ).fetchall() == [
        ("deals_20260401.csv", 5, "approach_planned_on: not a date: '2026-13-01'", "D0000003"),
        ("deals_20260401.csv", 6, "expected 13 fields as in the header, found 4", "D0000004"),
    ]
    assert con.execute(
        "select file_name, export_date, encoding, rows_loaded, rows_quarantined "
        "from raw._load_manifest"
    ).fetchall() == [("deals_20260401.csv", dt.date(2026, 4, 1), "utf-8-sig", 3, 2)]


def test_loading_twice_changes_nothing(landing, con):
    put(
        landing,
        "deal_status_events",
        "deal_status_events_20260401.csv",
        EVENTS_HEADER + "E1,D1,提案済み,2026-04-01 10:00:00,U1\nE2,D1,失注,2026-04-01 11:00:00,\n",
    )
    first = load_source(con, "deal_status_events", landing, loaded_at=LOADED_AT)
    before = snapshot(con, "deal_status_events")

    later = LOADED_AT + dt.timedelta(days=1)
    second = load_source(con, "deal_status_events", landing, loaded_at=later)

    assert (first.files_loaded, first.rows_loaded) == (1, 2)
    # Same file, same bytes: skipped, nothing written, not even a new _loaded_at.
    assert (second.files_seen, second.files_loaded, second.files_unchanged) == (1, 0, 1)
    assert second.rows_loaded == 0
    assert snapshot(con, "deal_status_events") == before


@pytest.fixture
def digests(monkeypatch) -> list[str]:
    """The names of the files the loader reads to compute a digest, in order."""
    read: list[str] = []
    real_digest = loader.file_digest

    def counting_digest(path, label=None):
        read.append(Path(path).name)
        return real_digest(path, label)

    monkeypatch.setattr(loader, "file_digest", counting_digest)
    return read


def test_a_file_not_written_since_its_load_is_not_read_again(landing, con, digests):
    name = "deal_status_events_20260401.csv"
    path = put(
        landing,
        "deal_status_events",
        name,
        EVENTS_HEADER + "E1,D1,提案済み,2026-04-01 10:00:00,U1\n",
    )
    load_source(con, "deal_status_events", landing, loaded_at=LOADED_AT)
    assert digests == [name]

    second = load_source(con, "deal_status_events", landing, loaded_at=LOADED_AT)
    assert second.files_unchanged == 1
    assert digests == [name]  # not read: size, times and inode as recorded

    # Touched (new modification time), same bytes: read, found unchanged, stat recorded.
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    third = load_source(con, "deal_status_events", landing, loaded_at=LOADED_AT)
    assert third.files_unchanged == 1
    assert digests == [name, name]
    load_source(con, "deal_status_events", landing, loaded_at=LOADED_AT)
    assert digests == [name, name]

    # New bytes of the same size with the old modification time put back: the inode change
    # time still differs, so the file is read and reloaded.
    before = path.stat()
    path.write_text(EVENTS_HEADER + "E1,D1,提案合意,2026-04-01 10:00:00,U1\n", newline="")
    assert path.stat().st_size == before.st_size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    fourth = load_source(con, "deal_status_events", landing, loaded_at=LOADED_AT)
    assert (fourth.files_loaded, fourth.files_reloaded) == (1, 1)
    assert con.execute("select status from raw.deal_status_events").fetchall() == [("提案合意",)]


def test_a_manifest_without_file_stats_is_upgraded_in_place(landing, con, digests):
    name = "deal_status_events_20260401.csv"
    put(landing, "deal_status_events", name, EVENTS_HEADER + "E1,D1,失注,2026-04-01 10:00:00,\n")
    load_source(con, "deal_status_events", landing, loaded_at=LOADED_AT)
    # As a warehouse written before the manifest had the column.
    con.execute("alter table raw._load_manifest drop column file_stat")

    again = load_source(con, "deal_status_events", landing, loaded_at=LOADED_AT)
    assert again.files_unchanged == 1
    assert digests == [name, name]  # read once more to compare, then its stat is recorded
    assert con.execute("select count(file_stat) from raw._load_manifest").fetchone() == (1,)
    load_source(con, "deal_status_events", landing, loaded_at=LOADED_AT)
    assert digests == [name, name]


def test_a_quarantine_without_record_keys_is_upgraded_in_place(landing, con):
    put(
        landing,
        "courses",
        "courses_20260401.csv",
        "course_id,title,lesson_count,is_required\nK01,a,x,true\n",
    )
    load_source(con, "courses", landing, loaded_at=LOADED_AT)
    # As a warehouse written before the quarantine had the column.
    con.execute("alter table raw._quarantine drop column record_key")

    put(
        landing,
        "courses",
        "courses_20260402.csv",
        "course_id,title,lesson_count,is_required\nK02,b,y,true\n",
    )
    load_source(con, "courses", landing, loaded_at=LOADED_AT + dt.timedelta(days=1))
    assert con.execute(
        "select file_name, record_key from raw._quarantine order by file_name"
    ).fetchall() == [("courses_20260401.csv", None), ("courses_20260402.csv", "K02")]


def test_duplicate_event_in_two_files_is_kept_twice(landing, con):
    put(
        landing,
        "deal_status_events",
        "deal_status_events_20260401.csv",
        EVENTS_HEADER + "E1,D1,提案済み,2026-04-01 10:00:00,U1\nE2,D1,失注,2026-04-01 11:00:00,\n",
    )
    # The next batch overlaps: E2 again, plus E3.
    put(
        landing,
        "deal_status_events",
        "deal_status_events_20260402.csv",
        EVENTS_HEADER + "E2,D1,失注,2026-04-01 11:00:00,\nE3,D2,アポ打診,2026-04-02 09:00:00,U2\n",
    )
    report = load_source(con, "deal_status_events", landing, loaded_at=LOADED_AT)
    # 2 + 2 rows; staging de-duplicates, raw keeps every delivered copy.
    assert report.rows_loaded == 4
    assert con.execute(
        "select event_id, _file_name from raw.deal_status_events where event_id = 'E2' "
        "order by _file_name"
    ).fetchall() == [
        ("E2", "deal_status_events_20260401.csv"),
        ("E2", "deal_status_events_20260402.csv"),
    ]


def test_redelivered_file_replaces_its_rows_and_quarantine(landing, con):
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
    first = load_source(con, "deal_status_events", landing, loaded_at=LOADED_AT)
    # 2 good rows + 1 quarantined in the first file, 1 good row in the second.
    assert (first.rows_loaded, first.rows_quarantined) == (3, 1)

    # A corrected export under the same name: E1 changed, E2 gone, E4 new, one bad row.
    put(
        landing,
        "deal_status_events",
        name,
        EVENTS_HEADER
        + "E1,D1,提案合意,2026-04-01 12:00:00,U1\n"
        + "E4,D2,アポ打診,2026-04-01 13:00:00,U2\n"
        + ",D2,失注,2026-04-01 14:00:00,U2\n"  # line 4: event_id missing
        + "E5,D2,失注\n",  # line 5: 3 fields instead of 5
    )
    later = LOADED_AT + dt.timedelta(hours=1)
    second = load_source(con, "deal_status_events", landing, loaded_at=later)

    assert (second.files_loaded, second.files_reloaded, second.files_unchanged) == (1, 1, 1)
    assert (second.rows_loaded, second.rows_quarantined) == (2, 2)
    # Table: E1 (new status) and E4 from the corrected file, E9 from the untouched file.
    assert con.execute(
        "select event_id, status, _file_name from raw.deal_status_events order by event_id"
    ).fetchall() == [
        ("E1", "提案合意", name),
        ("E4", "アポ打診", name),
        ("E9", "アポ打診", "deal_status_events_20260402.csv"),
    ]
    # The old quarantine record (line 4, 'not a time') is gone; the two new ones are there.
    assert con.execute(
        "select line_number, reason, loaded_at from raw._quarantine order by line_number"
    ).fetchall() == [
        (4, "event_id: required value missing", later),
        (5, "expected 5 fields as in the header, found 3", later),
    ]
    assert con.execute(
        "select file_name, rows_loaded, rows_quarantined, loaded_at from raw._load_manifest "
        "order by file_name"
    ).fetchall() == [
        (name, 2, 2, later),
        ("deal_status_events_20260402.csv", 1, 0, LOADED_AT),
    ]


def test_a_load_is_never_stamped_before_an_earlier_load(landing, con):
    course = "course_id,title,lesson_count,is_required\n{id},入門,3,true\n"
    put(landing, "courses", "courses_20260401.csv", course.format(id="K01"))
    load_source(con, "courses", landing, loaded_at=LOADED_AT)
    # The next load asks for a time an hour earlier (a clock that jumped back): it is
    # stamped one microsecond after the first load instead, rows and manifest alike.
    put(landing, "courses", "courses_20260402.csv", course.format(id="K02"))
    load_source(con, "courses", landing, loaded_at=LOADED_AT - dt.timedelta(hours=1))
    later = LOADED_AT + dt.timedelta(microseconds=1)
    assert con.execute(
        "select course_id, _loaded_at from raw.courses order by course_id"
    ).fetchall() == [("K01", LOADED_AT), ("K02", later)]
    assert con.execute(
        "select file_name, loaded_at from raw._load_manifest order by file_name"
    ).fetchall() == [("courses_20260401.csv", LOADED_AT), ("courses_20260402.csv", later)]


def test_unreadable_second_file_leaves_everything_as_it_was(landing, con):
    put(
        landing,
        "courses",
        "courses_20260401.csv",
        "course_id,title,lesson_count,is_required\nK01,入門,3,true\n",
    )
    load_source(con, "courses", landing, loaded_at=LOADED_AT)
    before = snapshot(con, "courses")

    # A batch of two new files: the first is fine, the second cannot be decoded.
    put(
        landing,
        "courses",
        "courses_20260402.csv",
        "course_id,title,lesson_count,is_required\nK02,応用,5,false\n",
    )
    put(
        landing,
        "courses",
        "courses_20260403.csv",
        b"course_id,title,lesson_count,is_required\nK03,\x85\x40,1,true\n",
    )
    with pytest.raises(RawInputError, match=r"courses_20260403\.csv: cannot decode"):
        load_source(con, "courses", landing, loaded_at=LOADED_AT + dt.timedelta(days=1))

    # Not even the good first file of the batch was kept.
    assert snapshot(con, "courses") == before
    assert con.execute("select count(*) from raw.courses").fetchone() == (1,)


def test_missing_header_column_fails_the_load_and_names_the_file(landing, con):
    put(landing, "courses", "courses_20260401.csv", "course_id,title\nK01,a\n")
    with pytest.raises(RawInputError, match=r"courses_20260401\.csv: header lacks column"):
        load_source(con, "courses", landing)
    assert con.execute("select count(*) from raw.courses").fetchone() == (0,)
    assert con.execute("select count(*) from raw._load_manifest").fetchone() == (0,)


def test_file_name_with_quote_and_semicolon_loads_as_data(landing, con):
    name = "courses_20260401_x'; drop table raw.courses; --.csv"
    put(landing, "courses", name, "course_id,title,lesson_count,is_required\nK01,a,1,○\n")
    report = load_source(con, "courses", landing, loaded_at=LOADED_AT)
    assert report.rows_loaded == 1
    assert con.execute("select course_id, is_required, _file_name from raw.courses").fetchall() == [
        ("K01", True, name)
    ]
    assert con.execute("select file_name from raw._load_manifest").fetchall() == [(name,)]
    # Loading again finds the same name in the manifest: unchanged.
    assert load_source(con, "courses", landing).files_unchanged == 1


def test_quarantined_rows_of_a_name_with_quotes(landing, con):
    name = "courses_20260401_o'hara.csv"
    put(landing, "courses", name, "course_id,title,lesson_count,is_required\nK01,a,one,true\n")
    load_source(con, "courses", landing, loaded_at=LOADED_AT)
    assert con.execute("select source, file_name, line_number from raw._quarantine").fetchall() == [
        ("courses", name, 2)
    ]


def test_symlink_outside_the_landing_root_is_refused(landing, con, tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text("course_id,title,lesson_count,is_required\nK01,a,1,true\n")
    (landing / "courses").mkdir()
    (landing / "courses" / "courses_20260401.csv").symlink_to(outside)
    with pytest.raises(RawInputError, match="outside the landing root"):
        load_source(con, "courses", landing)
    assert con.execute("select count(*) from raw.courses").fetchone() == (0,)


def test_skipped_entries_are_reported(landing, con):
    put(landing, "courses", "courses_20260401.csv", "course_id,title,lesson_count,is_required\n")
    put(landing, "courses", "notes.txt", "not an export")
    report = load_source(con, "courses", landing)
    # A header-only file is a file with no rows.
    assert (report.files_seen, report.files_loaded, report.rows_loaded) == (1, 1, 0)
    assert [(s.file_name, s.reason) for s in report.skipped] == [
        ("notes.txt", "name does not follow the landing-file pattern")
    ]


def test_load_all_in_contract_order_and_the_file_is_closed_afterwards(landing, tmp_path):
    for source in ("partners", "deals"):
        put(
            landing,
            source,
            f"{source}_20260401.csv",
            (FIXTURES / f"{source}_20260401.csv").read_bytes(),
        )
    warehouse = tmp_path / "w" / "warehouse.duckdb"

    reports = load_warehouse(warehouse, landing, loaded_at=LOADED_AT)

    assert [r.source for r in reports][:3] == ["partners", "partner_users", "deals"]
    assert len(reports) == 11
    by_source = {r.source: r for r in reports}
    # partners fixture: 2 rows; deals fixture: 3 rows + 2 quarantined; everything else empty.
    assert (by_source["partners"].rows_loaded, by_source["partners"].rows_quarantined) == (2, 0)
    assert (by_source["deals"].rows_loaded, by_source["deals"].rows_quarantined) == (3, 2)
    assert sum(r.rows_loaded for r in reports) == 5
    # The loader closed its connection: a read-only connection (a different configuration,
    # refused by DuckDB while a read-write one is open in this process) now opens.
    with duckdb.connect(str(warehouse), read_only=True) as ro:
        # '007' sorts before 'P00042' ('0' < 'P').
        assert ro.execute(
            "select partner_id, partner_name from raw.partners order by partner_id"
        ).fetchall() == [("007", "ｶﾌﾞｼｷｶﾞｲｼｬ ﾃｽﾄ"), ("P00042", "㈱髙橋会計①")]


def test_load_all_with_an_open_connection(landing, con):
    put(
        landing,
        "logins",
        "logins_20260401.jsonl",
        '{"event_id": "L1", "user_id": "U1", "occurred_at": "2026-04-01T00:00:00Z"}\n',
    )
    reports = load_all(con, landing, loaded_at=LOADED_AT)
    assert {r.source: r.rows_loaded for r in reports}["logins"] == 1


def test_a_file_loads_chunk_by_chunk_into_one_table(landing, con):
    put(
        landing,
        "courses",
        "courses_20260401.csv",
        "course_id,title,lesson_count,is_required\n"
        "K01,a,1,true\nK02,b,2,false\nK03,c,x,true\nK04,d,4,\nK05,e,5,true\n",
    )
    report = load_source(con, "courses", landing, loaded_at=LOADED_AT, chunk_rows=2)
    # Five records on lines 2 to 6 in chunks of two lines; K03's lesson count is not a
    # whole number, so 4 rows are loaded and 1 is quarantined.
    assert (report.rows_loaded, report.rows_quarantined) == (4, 1)
    assert con.execute(
        "select course_id, lesson_count, is_required, _line_number from raw.courses "
        "order by _line_number"
    ).fetchall() == [
        ("K01", 1, True, 2),
        ("K02", 2, False, 3),
        ("K04", 4, None, 5),
        ("K05", 5, True, 6),
    ]
    assert con.execute("select line_number, reason from raw._quarantine").fetchall() == [
        (4, "lesson_count: not a whole number: 'x'"),
    ]
    assert con.execute(
        "select rows_loaded, rows_quarantined from raw._load_manifest"
    ).fetchall() == [(4, 1)]


def test_a_failure_in_a_later_chunk_undoes_the_earlier_chunks(landing, con):
    # The table is created ahead of the loader with a rule that refuses any row from line 4
    # on (the loader keeps an existing table), so a file fails in its second chunk of two
    # lines, after its first chunk was inserted.
    con.execute("create schema raw")
    con.execute(
        "create table raw.courses (course_id varchar, title varchar, lesson_count bigint, "
        "is_required boolean, _file_name varchar, _export_date date, "
        "_line_number integer check (_line_number < 4), _loaded_at timestamptz)"
    )
    header = "course_id,title,lesson_count,is_required\n"
    put(landing, "courses", "courses_20260401.csv", header + "K01,a,1,true\n")
    load_source(con, "courses", landing, loaded_at=LOADED_AT, chunk_rows=2)
    before = snapshot(con, "courses")

    put(
        landing,
        "courses",
        "courses_20260402.csv",
        header + "K01,a,1,true\nK02,b,2,true\nK03,c,3,true\n",
    )
    with pytest.raises(RawLoadError, match=r"courses_20260402\.csv: cannot be written"):
        load_source(con, "courses", landing, loaded_at=LOADED_AT, chunk_rows=2)
    # Lines 2 and 3 of the second file went in before line 4 was refused: all rolled back.
    assert snapshot(con, "courses") == before
    assert con.execute("select course_id, _file_name from raw.courses").fetchall() == [
        ("K01", "courses_20260401.csv"),
    ]


def test_a_json_export_that_is_not_utf8_fails_and_is_never_read_as_cp932(landing, con):
    good = '{"event_id":"L1","user_id":"U1","occurred_at":"2026-04-01T10:00:00+09:00"}\n'
    put(landing, "logins", "logins_20260401.jsonl", good)
    # One byte that is not UTF-8 in an id; as CP932 the line would read as a strange id.
    bad = good.replace("L1", "L2").encode().replace(b'"U1"', b'"U\xff1"')
    put(landing, "logins", "logins_20260402.jsonl", bad)
    # `{"event_id":"L2","user_id":"U` is 29 bytes (0-28): 0xFF is at 29, column 30 of line 1
    with pytest.raises(RawInputError) as raised:
        load_source(con, "logins", landing, loaded_at=LOADED_AT)
    assert str(raised.value) == (
        f"{landing / 'logins' / 'logins_20260402.jsonl'}: cannot decode the file: not UTF-8 "
        "(line 1, column 30: byte 0xFF at byte offset 29, invalid start byte); "
        "JSON exports are UTF-8"
    )
    assert con.execute("select count(*) from raw.logins").fetchone() == (0,)


def test_a_utf8_csv_with_a_damaged_byte_is_refused_and_never_read_as_cp932(landing, con):
    header = "event_id,deal_id,status,changed_at,changed_by_user_id\n"
    rows = "".join(f"E{n},D{n},提案済み,2026-04-01 10:00:00,U{n}\n" for n in range(1, 8))
    last = b"E9,D\xff9,\xe5\xa4\xb1\xe6\xb3\xa8,2026-04-01 11:00:00,\n"  # 0xFF, then UTF-8 失注
    damaged = (header + rows).encode() + last
    put(landing, "deal_status_events", "deal_status_events_20260401.csv", damaged)
    # 7 rows of 4 Japanese characters each come first (28 > 20), then line 9 has 0xFF.
    # The header is 54 bytes (0-53), each row 42 (E1, 3 + D1, 3 + 提案済み 12 + , 1 +
    # timestamp 19 + , 1 + U1 2 + line feed 1): line 9 starts at 54 + 7 * 42 = 348 with `E9,D`,
    # so 0xFF is at 352, column 5.
    with pytest.raises(RawInputError) as raised:
        load_source(con, "deal_status_events", landing, loaded_at=LOADED_AT)
    assert str(raised.value) == (
        f"{landing / 'deal_status_events' / 'deal_status_events_20260401.csv'}: a damaged "
        "UTF-8 file: line 9, column 5 (byte 0xFF at byte offset 352, invalid start byte) is "
        "not UTF-8, although the 28 non-ASCII characters before it were; the file is not read "
        "as CP932 either: deliver it again as UTF-8"
    )
    assert con.execute("select count(*) from raw.deal_status_events").fetchone() == (0,)


# header: 54 bytes; each of lines 2-8: 42 bytes with 4 Japanese characters; line 9 at 348
STATUS_EVENTS = "event_id,deal_id,status,changed_at,changed_by_user_id\n" + "".join(
    f"E{n},D{n},提案済み,2026-04-01 10:00:00,U{n}\n" for n in range(1, 8)
)


@pytest.mark.parametrize("block_bytes", [5, 356, 4 * 1024 * 1024])
def test_a_damaged_utf8_csv_names_the_column_whatever_the_blocks(
    landing, con, monkeypatch, block_bytes
):
    import prm_warehouse.raw.readers as readers

    # line 9: `E9,D9,` (348-353), 失 (E5 A4 B1, 354-356), then 0xFF at 357: column 8. With
    # 356-byte blocks the first block ends inside 失, which the decoder holds for the next.
    monkeypatch.setattr(readers, "BLOCK_BYTES", block_bytes)
    damaged = (STATUS_EVENTS + "E9,D9,失").encode() + b"\xff,2026-04-01 11:00:00,\n"
    path = put(landing, "deal_status_events", "deal_status_events_20260401.csv", damaged)
    with pytest.raises(RawInputError) as raised:
        load_source(con, "deal_status_events", landing, loaded_at=LOADED_AT)
    assert str(raised.value) == (
        f"{path}: a damaged UTF-8 file: line 9, column 8 (byte 0xFF at byte offset 357, "
        "invalid start byte) is not UTF-8, although the 29 non-ASCII characters before it were; "
        "the file is not read as CP932 either: deliver it again as UTF-8"
    )


@pytest.mark.parametrize("block_bytes", [5, 358, 4 * 1024 * 1024])
def test_a_utf8_csv_cut_inside_its_last_character_fails_saying_it_looks_cut_off(
    landing, con, monkeypatch, block_bytes
):
    import prm_warehouse.raw.readers as readers

    # line 9: `E9,D9,` (348-353), 失 (354-356), then 注 (E6 B3 A8) cut after two bytes:
    # the file ends with 0xE6 0xB3 at 357-358.
    monkeypatch.setattr(readers, "BLOCK_BYTES", block_bytes)
    cut = (STATUS_EVENTS + "E9,D9,失注").encode()[:-1]
    assert len(cut) == 359
    path = put(landing, "deal_status_events", "deal_status_events_20260401.csv", cut)
    with pytest.raises(RawInputError) as raised:
        load_source(con, "deal_status_events", landing, loaded_at=LOADED_AT)
    assert str(raised.value) == (
        f"{path}: cannot decode the file: it ends inside a character: its last line, line 9, "
        "ends with 0xE6 0xB3 at byte offset 357, the first bytes of a UTF-8 character; the "
        "file looks cut off: deliver it again in full"
    )
    assert con.execute("select count(*) from raw.deal_status_events").fetchone() == (0,)


def test_a_truncated_cp932_export_fails_its_load_saying_it_looks_cut_off(landing, con):
    put(
        landing,
        "courses",
        "courses_20260401.csv",
        "course_id,title,lesson_count,is_required\nK01,入門,3,true\n",
    )
    load_source(con, "courses", landing, loaded_at=LOADED_AT)
    before = snapshot(con, "courses")
    # CP932 with CRLF: the header is 40 bytes and CRLF (0-41); line 2 `K02,応用,5,false` is
    # 4 + 4 + 8 bytes and CRLF (42-59); line 3 `K03,` (60-63), then ㈱ (87 8A) cut after
    # its first byte: 0x87 at 64 ends the file. (As UTF-8 it fails on 応, 89 9E, at once.)
    text = "course_id,title,lesson_count,is_required\r\nK02,応用,5,false\r\nK03,㈱"
    cut = text.encode("cp932")[:-1]
    assert len(cut) == 65
    path = put(landing, "courses", "courses_20260402.csv", cut)
    with pytest.raises(RawInputError) as raised:
        load_source(con, "courses", landing, loaded_at=LOADED_AT + dt.timedelta(days=1))
    assert str(raised.value) == (
        f"{path}: cannot decode the file: it ends inside a character: its last line, line 3, "
        "ends with 0x87 at byte offset 64, the first byte of a CP932 character; the file "
        "looks cut off: deliver it again in full"
    )
    assert snapshot(con, "courses") == before


def test_a_utf8_csv_with_one_bad_byte_fails_its_load_naming_line_and_column(landing, con):
    # bytes 0-40 the header, 41-53 line 2 (`K01,a,3,true` and LF), 54-57 `K02,` on line 3,
    # then 0x8A at 58: line 3, column 5 in both encodings (0x8A then `,` is no CP932
    # character either)
    data = b"course_id,title,lesson_count,is_required\nK01,a,3,true\nK02,\x8a,5,false\n"
    path = put(landing, "courses", "courses_20260401.csv", data)
    with pytest.raises(RawInputError) as raised:
        load_source(con, "courses", landing, loaded_at=LOADED_AT)
    assert str(raised.value) == (
        f"{path}: cannot decode the file: "
        "not UTF-8 (line 3, column 5: byte 0x8A at byte offset 58, invalid start byte) "
        "and not CP932 (line 3, column 5: byte 0x8A at byte offset 58, "
        "illegal multibyte sequence); the encoding is decided for the whole file: "
        "deliver it again as UTF-8 or CP932"
    )


def test_header_columns_outside_the_contract_are_named_and_not_loaded(landing, con, caplog):
    # an extra column in the middle of the header: the contract columns are read by name
    put(
        landing,
        "deal_status_events",
        "deal_status_events_20260401.csv",
        "event_id,deal_id,memo,status,changed_at,changed_by_user_id,exported_by\n"
        "E1,D1,call back,提案,2026-04-01 09:00:00,U1,admin\n",
    )
    put(
        landing,
        "deal_status_events",
        "deal_status_events_20260402.csv",
        EVENTS_HEADER + "E2,D1,受注,2026-04-02 09:00:00,U1\n",
    )
    with caplog.at_level("WARNING", logger="prm_warehouse.raw.loader"):
        report = load_source(con, "deal_status_events", landing, loaded_at=LOADED_AT)

    assert [(f.file_name, f.rows_loaded, f.ignored_columns) for f in report.files] == [
        ("deal_status_events_20260401.csv", 1, ("memo", "exported_by")),
        ("deal_status_events_20260402.csv", 1, ()),
    ]
    assert con.execute(
        "select event_id, status, changed_by_user_id from raw.deal_status_events order by 1"
    ).fetchall() == [("E1", "提案", "U1"), ("E2", "受注", "U1")]
    assert [record.getMessage() for record in caplog.records] == [
        "raw.deal_status_events: deal_status_events_20260401.csv: header columns not in the "
        "contract, not loaded: memo, exported_by"
    ]


def test_a_utf16_csv_fails_the_load_naming_the_file_and_its_encoding(landing, con):
    put(landing, "courses", "courses_20260401.csv", "course_id,title,lesson_count,is_required\n")
    load_source(con, "courses", landing, loaded_at=LOADED_AT)
    # Excel's "Unicode text" export: UTF-16 little-endian with its byte order mark
    text = "course_id,title,lesson_count,is_required\nK01,研修,3,true\n"
    path = put(landing, "courses", "courses_20260402.csv", b"\xff\xfe" + text.encode("utf-16-le"))
    with pytest.raises(RawInputError) as raised:
        load_source(con, "courses", landing, loaded_at=LOADED_AT)
    assert str(raised.value) == (
        f"{path}: encoded as UTF-16 little-endian (byte order mark FF FE), an encoding the "
        "contract does not allow; CSV exports are UTF-8, UTF-8 with BOM or CP932"
    )
    assert con.execute("select count(*) from raw.courses").fetchone() == (0,)
    assert con.execute(
        "select file_name from raw._load_manifest where source = 'courses'"
    ).fetchall() == [("courses_20260401.csv",)]


def test_a_broken_json_export_fails_the_load_naming_the_file_line_and_column(landing, con):
    content = (
        "[\n"
        '  {"event_id": "L1", "user_id": "U1", "occurred_at": "2026-04-01T10:00:00+09:00"},\n'
        '  {"event_id": "L2", "user_id": "U1" "occurred_at": "2026-04-01T11:00:00+09:00"}\n'
        "]\n"
    )
    path = put(landing, "logins", "logins_20260401.json", content)
    # line 3: two spaces, then `{"event_id": "L2", "user_id": "U1"` is 34 characters, a
    # space, and the quote that opens "occurred_at" where a comma belongs: column 38
    with pytest.raises(RawInputError) as raised:
        load_source(con, "logins", landing, loaded_at=LOADED_AT)
    assert str(raised.value) == (
        f"{path}: not valid JSON at line 3, column 38: Expecting ',' delimiter"
    )
    assert con.execute("select count(*) from raw.logins").fetchone() == (0,)
