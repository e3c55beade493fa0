"""The expectation suites of expectations/ on small real DuckDB warehouses, and as Dagster checks.

Every warehouse here is a DuckDB file in tmp_path with the raw schema of the loaders
(`create_raw_tables`) filled from tests/fixtures/quality/raw_files.json: small valid data as
of 2026-10-31. Each failing case changes one thing and asserts which expectation failed, with
which severity, how many rows and in which file. Counts are worked out by hand from the
fixture (the reasoning sits next to each case).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from prm_warehouse.quality.checks import build_mart_suite_checks, build_raw_suite_checks
from prm_warehouse.quality.runner import SuiteResult, run_suite
from prm_warehouse.quality.spec import SuiteContext, columns_of, read_seed_column
from prm_warehouse.quality.suites import MART_NAMES, load_suite_modules
from prm_warehouse.raw.contract import SOURCES, SOURCES_BY_NAME
from prm_warehouse.raw.schema import create_raw_tables
from prm_warehouse.resources import WarehouseResource
from prm_warehouse.settings import PROJECT_ROOT

FIXTURE = json.loads(
    (Path(__file__).parent / "fixtures" / "quality" / "raw_files.json").read_text("utf-8")
)
AS_OF = dt.date(2026, 10, 31)
SEEDS_DIR = PROJECT_ROOT / "seeds"
RAW_SUITES = load_suite_modules("raw")
MART_SUITES = load_suite_modules("marts")

Files = dict[str, list[dict[str, Any]]]


def fixture_files() -> Files:
    return {source: files for source, files in copy.deepcopy(FIXTURE).items() if source[0] != "_"}


def export_date_of(file_name: str) -> dt.date:
    """The date of `<source>_<YYYYMMDD>[_<anything>].<ext>`."""
    (day,) = re.findall(r"_(\d{8})(?=[_.])", file_name)[:1]
    return dt.datetime.strptime(day, "%Y%m%d").date()


def build_warehouse(path: Path, files: Files, quarantine: list[tuple[str, str, int]] = ()) -> Path:
    """A raw schema holding `files`, a manifest row per file and the given quarantine rows.

    quarantine: (source, file name, number of quarantined records) per file.
    """
    con = duckdb.connect(str(path))
    try:
        create_raw_tables(con)
        quarantined = {(source, name): count for source, name, count in quarantine}
        for source_name, source_files in files.items():
            source = SOURCES_BY_NAME[source_name]
            columns = [*source.column_names, "_file_name", "_export_date", "_line_number"]
            casts = [f"cast(? as {column.duckdb_type})" for column in source.columns]
            sql = (
                f"insert into raw.{source.name} ({', '.join(columns)}, _loaded_at) "
                f"values ({', '.join(casts)}, ?, ?, ?, now())"
            )
            # CSV records start on line 2 (the header is line 1), JSONL records on line 1.
            first_line = 2 if source.format == "csv" else 1
            for delivered in source_files:
                name = delivered["file_name"]
                for offset, row in enumerate(delivered["rows"]):
                    values = [row.get(column) for column in source.column_names]
                    con.execute(sql, [*values, name, export_date_of(name), first_line + offset])
                con.execute(
                    "insert into raw._load_manifest (source, file_name, export_date, sha256, "
                    "size_bytes, encoding, rows_loaded, rows_quarantined, loaded_at) "
                    "values (?, ?, ?, 'sha', 1, 'utf-8', ?, ?, now())",
                    [
                        source.name,
                        name,
                        export_date_of(name),
                        len(delivered["rows"]),
                        quarantined.get((source.name, name), 0),
                    ],
                )
        for source_name, name, count in quarantine:
            for line in range(count):
                con.execute(
                    "insert into raw._quarantine (source, file_name, line_number, reason, record, "
                    "loaded_at) values (?, ?, ?, 'unreadable date', '{}', now())",
                    [source_name, name, 100 + line],
                )
    finally:
        con.close()
    return path


def validate(name: str, warehouse: Path, seeds_dir: Path = SEEDS_DIR) -> SuiteResult:
    modules = RAW_SUITES if name in RAW_SUITES else MART_SUITES
    suite = modules[name].build(SuiteContext(as_of_date=AS_OF, seeds_dir=seeds_dir))
    return run_suite(suite, warehouse)


def failed(result: SuiteResult) -> set[tuple[str, str]]:
    return {(failure.label, failure.severity) for failure in result.failures}


def file_rows(files: Files, file_name: str) -> list[dict[str, Any]]:
    for source_files in files.values():
        for delivered in source_files:
            if delivered["file_name"] == file_name:
                return delivered["rows"]
    raise KeyError(file_name)


def logins(prefix: str, count: int, day: str) -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"{prefix}{index:03d}",
            "user_id": "U001",
            "occurred_at": f"{day}T10:00:00+09:00",
            "device": "pc",
        }
        for index in range(count)
    ]


@pytest.fixture(scope="module")
def valid_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("valid") / "wh.duckdb", fixture_files())


def test_every_source_and_mart_has_a_suite() -> None:
    # 11 raw sources in the contract, 11 marts in the BI contract table.
    assert list(RAW_SUITES) == [source.name for source in SOURCES]
    assert len(RAW_SUITES) == 11
    assert list(MART_SUITES) == list(MART_NAMES)
    assert len(MART_SUITES) == 11
    assert {module.info.asset_key for module in RAW_SUITES.values()} == {
        ("raw", source.name) for source in SOURCES
    }
    assert MART_SUITES["fct_deal_funnel"].info.asset_key == ("marts", "fct_deal_funnel")


@pytest.mark.parametrize("name", list(MART_NAMES))
def test_mart_suites_name_only_their_columns(name: str) -> None:
    # A mart suite may name only the columns it declares as the contract's (COLUMNS).
    module = MART_SUITES[name].module
    suite = module.build(SuiteContext(as_of_date=AS_OF))
    assert columns_of(suite.gates) <= set(module.COLUMNS)


@pytest.mark.parametrize("source", [source.name for source in SOURCES])
def test_raw_suite_passes_on_valid_data(source: str, valid_warehouse: Path) -> None:
    # The fixture is valid as of 2026-10-31: its defects sit in older snapshot files (a
    # duplicate partner, an unknown deal label) and in overlapping event batches, which the
    # suites must not count.
    result = validate(source, valid_warehouse)
    assert result.skipped_reason is None
    assert result.failures == ()
    assert result.notes == ()
    assert result.success_by_severity == {"error": True, "warn": True}


def _rename_prefecture(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("alter table raw.partners rename column prefecture to pref")
    con.close()


def _set(file_name: str, index: int, **values: Any) -> Callable[[Files], None]:
    def change(files: Files) -> None:
        file_rows(files, file_name)[index].update(values)

    return change


def _repeat(file_name: str, index: int, times: int) -> Callable[[Files], None]:
    def change(files: Files) -> None:
        rows = file_rows(files, file_name)
        rows.extend(copy.deepcopy(rows[index]) for _ in range(times))

    return change


def _empty(file_name: str) -> Callable[[Files], None]:
    def change(files: Files) -> None:
        file_rows(files, file_name).clear()

    return change


# (source, change of the fixture, expected failures, unexpected rows, files named)
FAILING_CASES = [
    pytest.param(
        "partners",
        None,  # the column is renamed in the table (see _rename_prefecture)
        {("expect_table_columns_to_match_set", "error")},
        None,  # a table-level expectation counts no rows
        (),
        id="partners-renamed-column",
    ),
    pytest.param(
        "partner_users",
        # U002 is the second row of the only file.
        _set("partner_users_20261031.csv", 1, status="retired"),
        {("expect_column_values_to_be_in_set(status)", "warn")},
        1,
        ("partner_users_20261031.csv",),
        id="partner_users-unknown-status",
    ),
    pytest.param(
        "deals",
        # 検討中 is not a label of seeds/deal_status_stage_map.csv.
        _set("deals_20261031.csv", 1, status="検討中"),
        {("expect_column_values_to_be_in_set(status)", "error")},
        1,
        ("deals_20261031.csv",),
        id="deals-unknown-status-label",
    ),
    pytest.param(
        "deal_status_events",
        # S003 (second row of the newest file) delivered three times in that file: all three
        # copies are non-unique rows. S002's copy in the older file is an overlap, not counted.
        _repeat("deal_status_events_20261031.csv", 1, 2),
        {("expect_column_values_to_be_unique(event_id)", "warn")},
        3,
        ("deal_status_events_20261031.csv",),
        id="deal_status_events-duplicate-burst",
    ),
    pytest.param(
        "logins",
        # The newest export day (2026-10-31) delivers a file with no record: 0 < 1.
        _empty("logins_20261031.jsonl"),
        {("expect_column_values_to_be_between(rows_loaded)", "error")},
        1,  # the one row of the volume frame, the newest day
        ("logins_20261031.jsonl",),
        id="logins-empty-day",
    ),
    pytest.param(
        "content_views",
        _set("content_views_20261031.jsonl", 1, action="share"),
        {("expect_column_values_to_be_in_set(action)", "warn")},
        1,
        ("content_views_20261031.jsonl",),
        id="content_views-unknown-action",
    ),
    pytest.param(
        "content_views",
        # An empty day of an event source other than logins only warns.
        _empty("content_views_20261031.jsonl"),
        {("expect_column_values_to_be_between(rows_loaded)", "warn")},
        1,
        ("content_views_20261031.jsonl",),
        id="content_views-empty-day",
    ),
    pytest.param(
        "contents",
        _set("contents_20261031.csv", 0, content_type="podcast"),
        {("expect_column_values_to_be_in_set(content_type)", "warn")},
        1,
        ("contents_20261031.csv",),
        id="contents-unknown-type",
    ),
    pytest.param(
        "courses",
        # K002 twice in the newest snapshot: both rows are non-unique, and in a snapshot that
        # blocks (which copy is the truth?).
        _repeat("courses_20261031.csv", 1, 1),
        {("expect_column_values_to_be_unique(course_id)", "error")},
        2,
        ("courses_20261031.csv",),
        id="courses-duplicate-in-snapshot",
    ),
    pytest.param(
        "lesson_completions",
        # 2030 is after 2026-11-01 (the day after the as-of date).
        _set("lesson_completions_20261031.jsonl", 0, completed_at="2030-01-01T00:00:00+09:00"),
        {("expect_column_values_to_be_between(completed_at)", "error")},
        1,
        ("lesson_completions_20261031.jsonl",),
        id="lesson_completions-future-timestamp",
    ),
    pytest.param(
        "quizzes",
        # Q001: pass 120 > max 100.
        _set("quizzes_20261031.csv", 0, pass_score=120),
        {("expect_column_pair_values_a_to_be_greater_than_b(max_score, pass_score)", "error")},
        1,
        ("quizzes_20261031.csv",),
        id="quizzes-unreachable-pass-score",
    ),
    pytest.param(
        "quiz_attempts",
        # A002 on Q001 (max 100) scores 120.
        _set("quiz_attempts_20261031.csv", 0, score=120),
        {("expect_column_pair_values_a_to_be_greater_than_b(max_score, score)", "error")},
        1,
        ("quiz_attempts_20261031.csv",),
        id="quiz_attempts-score-above-max",
    ),
]


@pytest.mark.parametrize(("source", "change", "expected", "count", "file_names"), FAILING_CASES)
def test_raw_suite_fails_for_the_intended_reason(
    tmp_path: Path,
    source: str,
    change: Callable[[Files], None] | None,
    expected: set[tuple[str, str]],
    count: int | None,
    file_names: tuple[str, ...],
) -> None:
    files = fixture_files()
    if change is not None:
        change(files)
    warehouse = build_warehouse(tmp_path / "wh.duckdb", files)
    if change is None:
        _rename_prefecture(warehouse)
    result = validate(source, warehouse)
    assert failed(result) == expected
    (failure,) = result.failures
    assert failure.unexpected_count == count
    assert failure.file_names == file_names
    blocking = failure.severity == "error"
    assert result.success is not blocking
    assert result.success_by_severity == {"error": not blocking, "warn": blocking}


def test_free_text_roles_warn_only_when_most_people_have_one(tmp_path: Path) -> None:
    # one of the two people of the newest snapshot in a usual role: 50%, the least that passes
    files = fixture_files()
    _set("partner_users_20261031.csv", 1, job_role="事務長")(files)
    result = validate("partner_users", build_warehouse(tmp_path / "half.duckdb", files))
    assert failed(result) == set()
    # neither of them: 0% in a usual role, a warning that names both rows
    _set("partner_users_20261031.csv", 0, job_role="ＩＴ担当")(files)
    result = validate("partner_users", build_warehouse(tmp_path / "none.duckdb", files))
    assert failed(result) == {("expect_column_values_to_be_in_set(job_role)", "warn")}
    (failure,) = result.failures
    assert failure.unexpected_count == 2
    assert failure.file_names == ("partner_users_20261031.csv",)
    assert result.success


def test_renamed_column_names_the_missing_column(tmp_path: Path) -> None:
    warehouse = build_warehouse(tmp_path / "wh.duckdb", fixture_files())
    _rename_prefecture(warehouse)
    (failure,) = validate("partners", warehouse).failures
    assert failure.observed["details"]["mismatched"]["missing"] == ["prefecture"]


def test_description_names_suite_expectation_and_file(tmp_path: Path) -> None:
    files = fixture_files()
    _set("quiz_attempts_20261031.csv", 0, score=120)(files)
    result = validate("quiz_attempts", build_warehouse(tmp_path / "wh.duckdb", files))
    assert result.description() == (
        "suite raw_quiz_attempts: expect_column_pair_values_a_to_be_greater_than_b"
        "(max_score, score) failed for 1 row in quiz_attempts_20261031.csv (lines 2) "
        "(wanted: a score never exceeds its quiz's max_score) [error]"
    )
    (failure,) = result.failures
    # The offending row is A002, on line 2 of its CSV file (line 1 is the header).
    (row,) = failure.sample_rows
    assert (row["attempt_id"], row["score"], row["max_score"], row["_line_number"]) == (
        "A002",
        120.0,
        100.0,
        2,
    )


def test_an_empty_newest_export_says_how_to_mend_it(tmp_path: Path) -> None:
    files = fixture_files()
    _empty("logins_20261031.jsonl")(files)
    result = validate("logins", build_warehouse(tmp_path / "wh.duckdb", files))
    # one earlier export day (2026-10-30, 2 logins): the median is 2 and 0 / 2 = 0.0x
    assert result.description() == (
        "suite raw_logins: expect_column_values_to_be_between(rows_loaded) failed for 1 export "
        "day: 0 records loaded on 2026-10-31, 0.0x the median of 2 over the 1 previous export "
        "day, in logins_20261031.jsonl (wanted: the newest export day delivered rows for "
        "logins; an empty export is mended by delivering the file again with its rows, or "
        "removed with `prm-warehouse withdraw logins FILE_NAME`) [error]"
    )


def test_timestamp_window_is_2015_to_the_day_after_the_as_of_date(tmp_path: Path) -> None:
    files = fixture_files()
    files["logins"].append(
        {
            "file_name": "logins_20261101.jsonl",
            "rows": [
                # 2026-11-01 is the day after the as-of date: its last second is plausible.
                *logins("IN", 1, "2026-11-01"),
                {"event_id": "LATE", "user_id": "U1", "occurred_at": "2026-11-01T23:59:59+09:00"},
                # The next day's first second is not, nor is the last second of 2014.
                {"event_id": "NEXT", "user_id": "U1", "occurred_at": "2026-11-02T00:00:00+09:00"},
                {"event_id": "OLD", "user_id": "U1", "occurred_at": "2014-12-31T23:59:59+09:00"},
            ],
        }
    )
    result = validate("logins", build_warehouse(tmp_path / "wh.duckdb", files))
    assert failed(result) == {("expect_column_values_to_be_between(occurred_at)", "error")}
    (failure,) = result.failures
    assert failure.unexpected_count == 2
    assert {row["event_id"] for row in failure.sample_rows} == {"NEXT", "OLD"}


def test_volume_spike_against_the_median_warns(tmp_path: Path) -> None:
    files = fixture_files()
    # Previous export days deliver 1, 2 and 9 logins: median 2 (the mean, 4, would hide the
    # spike). The newest day delivers 21: 21 / 2 = 10.5 > 10.
    files["logins"] = [
        {"file_name": "logins_20261028.jsonl", "rows": logins("A", 1, "2026-10-28")},
        {"file_name": "logins_20261029.jsonl", "rows": logins("B", 2, "2026-10-29")},
        {"file_name": "logins_20261030.jsonl", "rows": logins("C", 9, "2026-10-30")},
        {"file_name": "logins_20261031.jsonl", "rows": logins("D", 21, "2026-10-31")},
    ]
    result = validate("logins", build_warehouse(tmp_path / "wh.duckdb", files))
    assert failed(result) == {("expect_column_values_to_be_between(ratio_to_median)", "warn")}
    (failure,) = result.failures
    assert failure.file_names == ("logins_20261031.jsonl",)
    assert failure.sample_rows[0]["ratio_to_median"] == 10.5
    assert failure.sample_rows[0]["previous_days"] == 3


def test_volume_at_ten_times_the_median_passes(tmp_path: Path) -> None:
    files = fixture_files()
    # 2 then 20 logins: 20 / 2 = 10, the limit itself.
    files["logins"] = [
        {"file_name": "logins_20261030.jsonl", "rows": logins("C", 2, "2026-10-30")},
        {"file_name": "logins_20261031.jsonl", "rows": logins("D", 20, "2026-10-31")},
    ]
    assert validate("logins", build_warehouse(tmp_path / "wh.duckdb", files)).failures == ()


def test_quarantined_share_thresholds(tmp_path: Path) -> None:
    files = fixture_files()
    files["logins"] = [
        # 94 loaded + 6 quarantined: 6 / 100 = 6 % of a file of 100 records -> blocks.
        {"file_name": "logins_20261029.jsonl", "rows": logins("E", 94, "2026-10-29")},
        # 19 loaded + 1 quarantined: 1 / 20 = 5 % -> above the 1 % warning, not above 5 %.
        {"file_name": "logins_20261030.jsonl", "rows": logins("C", 19, "2026-10-30")},
        # 2 loaded + 1 quarantined: 1 / 3 = 33 %, but a file of 3 records only warns.
        {"file_name": "logins_20261031.jsonl", "rows": logins("D", 2, "2026-10-31")},
    ]
    quarantine = [
        ("logins", "logins_20261030.jsonl", 1),
        ("logins", "logins_20261031.jsonl", 1),
        ("logins", "logins_20261029.jsonl", 6),
    ]
    result = validate("logins", build_warehouse(tmp_path / "wh.duckdb", files, quarantine))
    assert failed(result) == {
        ("expect_column_values_to_be_between(quarantined_share)", "warn"),
        ("expect_column_values_to_be_between(blocking_quarantined_share)", "error"),
    }
    by_severity = {failure.severity: failure for failure in result.failures}
    # the file that blocks is not warned of again: the warning names the other two
    assert by_severity["warn"].file_names == ("logins_20261030.jsonl", "logins_20261031.jsonl")
    assert by_severity["error"].file_names == ("logins_20261029.jsonl",)
    # errors come first in the description: they are what blocks. A row of the frame is a
    # file, and each failing file is named with its counts, its share and its first three
    # quarantined lines (build_warehouse numbers them from line 100), the error with its fix.
    assert result.description() == (
        "suite raw_logins: expect_column_values_to_be_between(blocking_quarantined_share) "
        "failed for 1 file: 6 of 100 records quarantined (6%) in logins_20261029.jsonl "
        "(line 100: unreadable date; line 101: unreadable date; line 102: unreadable date; "
        "and 3 more in raw._quarantine) "
        "(wanted: at most 5% of the records of a file of 100 or more quarantined, and at least "
        "one record of every file read; a blocking file is mended by delivering it again, "
        "corrected, under the same name, or removed with "
        "`prm-warehouse withdraw logins FILE_NAME`) [error]; "
        "expect_column_values_to_be_between(quarantined_share) failed for 2 files: "
        "1 of 20 records quarantined (5%) in logins_20261030.jsonl (line 100: unreadable date); "
        "1 of 3 records quarantined (33.3%) in logins_20261031.jsonl "
        "(line 100: unreadable date) "
        "(wanted: at most 1% of a file's records quarantined) [warn]"
    )


def test_a_small_file_of_which_nothing_was_read_blocks(tmp_path: Path) -> None:
    files = fixture_files()
    # A late batch of two records, both quarantined: nothing of it is in raw.deal_status_events.
    # Its export day still delivered the two rows of deal_status_events_20261031.csv.
    files["deal_status_events"].append(
        {"file_name": "deal_status_events_20261031_late.csv", "rows": []}
    )
    quarantine = [("deal_status_events", "deal_status_events_20261031_late.csv", 2)]
    result = validate(
        "deal_status_events", build_warehouse(tmp_path / "wh.duckdb", files, quarantine)
    )
    # 2 / 2 = 100 %: a file with no readable record blocks although it holds fewer than 100
    # records; it is above the warning's 1 % as well, but reported once, by the error
    assert failed(result) == {
        ("expect_column_values_to_be_between(blocking_quarantined_share)", "error"),
    }
    assert not result.success
    assert result.failures[0].file_names == ("deal_status_events_20261031_late.csv",)
    assert result.description().startswith(
        "suite raw_deal_status_events: expect_column_values_to_be_between("
        "blocking_quarantined_share) failed for 1 file: 2 of 2 records quarantined (100%) in "
        "deal_status_events_20261031_late.csv (line 100: unreadable date; line 101: unreadable "
        "date) (wanted: "
    )


def _quarantine_lines(path: Path, source: str, file_name: str, lines: dict[int, str]) -> None:
    """Quarantined records of one file: line number -> reason, inserted in the given order."""
    con = duckdb.connect(str(path))
    try:
        for line, reason in lines.items():
            con.execute(
                "insert into raw._quarantine (source, file_name, line_number, reason, record, "
                "loaded_at) values (?, ?, ?, ?, '{}', now())",
                [source, file_name, line, reason],
            )
    finally:
        con.close()


def test_a_quarantine_failure_shows_the_first_lines_and_their_reasons(tmp_path: Path) -> None:
    files = fixture_files()
    late = "deal_status_events_20261031_late.csv"
    files["deal_status_events"].append({"file_name": late, "rows": []})
    warehouse = build_warehouse(tmp_path / "wh.duckdb", files)
    # five unreadable records, inserted out of line order: the message takes lines 2, 3, 4
    _quarantine_lines(
        warehouse,
        "deal_status_events",
        late,
        {
            5: "deal_id: required value missing",
            3: "changed_at: not a timestamp: 'not-a-date'",
            2: "event_id: required value missing",
            6: "changed_at: not a timestamp: '2026-10-30 25:00:00'",
            4: "status: required value missing",
        },
    )
    result = validate("deal_status_events", warehouse)
    assert failed(result) == {
        ("expect_column_values_to_be_between(blocking_quarantined_share)", "error")
    }
    (failure,) = result.failures
    assert failure.details == (
        "5 of 5 records quarantined (100%) in deal_status_events_20261031_late.csv "
        "(line 2: event_id: required value missing; "
        "line 3: changed_at: not a timestamp: 'not-a-date'; "
        "line 4: status: required value missing; "
        "and 2 more in raw._quarantine)",
    )
    assert result.description().endswith(
        "(wanted: at most 5% of the records of a file of 100 or more quarantined, and at least "
        "one record of every file read; a blocking file is mended by delivering it again, "
        "corrected, under the same name, or removed with "
        "`prm-warehouse withdraw deal_status_events FILE_NAME`) [error]"
    )


def test_a_small_file_with_one_readable_record_only_warns(tmp_path: Path) -> None:
    files = fixture_files()
    # one of the late batch's two records was read: 1 / 2 = 50 % of a file under 100 records
    files["deal_status_events"].append(
        {
            "file_name": "deal_status_events_20261031_late.csv",
            "rows": [copy.deepcopy(file_rows(files, "deal_status_events_20261031.csv")[1])],
        }
    )
    quarantine = [("deal_status_events", "deal_status_events_20261031_late.csv", 1)]
    result = validate(
        "deal_status_events", build_warehouse(tmp_path / "wh.duckdb", files, quarantine)
    )
    assert failed(result) == {("expect_column_values_to_be_between(quarantined_share)", "warn")}
    assert result.success
    assert result.failures[0].details == (
        "1 of 2 records quarantined (50%) in deal_status_events_20261031_late.csv "
        "(line 100: unreadable date)",
    )


def test_status_labels_unchecked_without_the_seed(tmp_path: Path) -> None:
    files = fixture_files()
    _set("deals_20261031.csv", 1, status="検討中")(files)
    warehouse = build_warehouse(tmp_path / "wh.duckdb", files)
    result = validate("deals", warehouse, seeds_dir=tmp_path / "no_seeds")
    assert result.failures == ()
    assert result.notes == (
        f"status: labels not checked, {tmp_path / 'no_seeds' / 'deal_status_stage_map.csv'} "
        "does not exist",
    )


def test_an_unmapped_label_names_its_first_japan_day_and_the_seed_row_to_add(
    tmp_path: Path,
) -> None:
    files = fixture_files()
    # S001 (line 2 of the older file): 2026-07-25 16:00 UTC is 2026-07-26 01:00 in Japan.
    _set("deal_status_events_20261030.csv", 0, status="検討中", changed_at="2026-07-25T16:00:00Z")(
        files
    )
    # S003 (line 3 of the newest file) carries the label later, on 2026-10-31 in Japan.
    _set("deal_status_events_20261031.csv", 1, status="検討中")(files)
    # S002 (line 2 of the newest file): 14:59 UTC is 23:59 in Japan, still 2026-07-25.
    _set("deal_status_events_20261031.csv", 0, status="見積中", changed_at="2026-07-25T14:59:00Z")(
        files
    )
    result = validate("deal_status_events", build_warehouse(tmp_path / "wh.duckdb", files))
    assert failed(result) == {("expect_column_values_to_be_in_set(status)", "error")}
    (failure,) = result.failures
    assert failure.unexpected_count == 2  # two labels, in three rows
    assert failure.file_names == (
        "deal_status_events_20261030.csv",
        "deal_status_events_20261031.csv",
    )
    assert result.description() == (
        "suite raw_deal_status_events: expect_column_values_to_be_in_set(status) failed for "
        "2 labels (unexpected: 検討中, 見積中): "
        "検討中 in 2 rows, first on 2026-07-26 in Japan (2026-07-25 16:00 UTC, "
        "deal_status_events_20261030.csv line 2): add `検討中,<stage>,<stage_rank>,2026-07-26,` "
        "to seeds/deal_status_stage_map.csv; "
        "見積中 in 1 row, first on 2026-07-25 in Japan (2026-07-25 14:59 UTC, "
        "deal_status_events_20261031.csv line 2): add `見積中,<stage>,<stage_rank>,2026-07-25,` "
        "to seeds/deal_status_stage_map.csv "
        "(wanted: a label that deal_status_stage_map.csv does not map stops the build of the "
        "marts; its row in seeds/deal_status_stage_map.csv has a valid_from on or before the "
        "label's first day in Japan, and a stage of: approach_planned (1), approach (2), "
        "proposal (3), proposal_agreed (4), won (5), lost (no rank), on_hold (no rank)) [error]"
    )


def test_a_deal_label_is_dated_by_its_earliest_update_in_japan(tmp_path: Path) -> None:
    files = fixture_files()
    # D002 (line 3 of the newest file), updated 2026-10-31 23:30 in Japan = 14:30 UTC
    _set("deals_20261031.csv", 1, status="検討中")(files)
    (failure,) = validate("deals", build_warehouse(tmp_path / "wh.duckdb", files)).failures
    assert failure.details == (
        "検討中 in 1 row, first on 2026-10-31 in Japan (2026-10-31 14:30 UTC, "
        "deals_20261031.csv line 3): add `検討中,<stage>,<stage_rank>,2026-10-31,` to "
        "seeds/deal_status_stage_map.csv",
    )


def test_seed_without_the_label_column_names_file_and_line(tmp_path: Path) -> None:
    seed = tmp_path / "deal_status_stage_map.csv"
    seed.write_text("label,stage\n失注,lost\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"deal_status_stage_map\.csv, line 1: .*status_label"):
        read_seed_column(seed, "status_label")
    seed.write_text("status_label,stage\n失注,lost\n,won\n", encoding="utf-8")
    # the blank label is on the third line (header, 失注, blank)
    with pytest.raises(ValueError, match=r"deal_status_stage_map\.csv, line 3: empty status_label"):
        read_seed_column(seed, "status_label")


def _mart_warehouse(path: Path, ddl: str, rows: str) -> Path:
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute(ddl)
    con.execute(rows)
    con.close()
    return path


LEARNING_DDL = """
create table marts.fct_learning_progress (
    individual_id varchar, course_id varchar, lessons_completed bigint,
    completion_rate double, completed_at timestamptz, quiz_attempts bigint,
    best_quiz_score double, quiz_passed boolean, partner_id varchar
)
"""


def test_mart_rate_above_one_fails(tmp_path: Path) -> None:
    warehouse = _mart_warehouse(
        tmp_path / "wh.duckdb",
        LEARNING_DDL,
        # U002's rate 1.5 is outside [0, 1]; the extra column partner_id is allowed.
        """insert into marts.fct_learning_progress values
            ('U001', 'K001', 3, 1.0, null, 1, 80, true, 'P001'),
            ('U002', 'K001', 4, 1.5, null, 0, null, false, 'P002')""",
    )
    result = validate("fct_learning_progress", warehouse)
    assert failed(result) == {("expect_column_values_to_be_between(completion_rate)", "error")}
    (failure,) = result.failures
    assert failure.unexpected_count == 1
    assert failure.sample_rows[0]["individual_id"] == "U002"


def test_mart_valid_rows_pass(tmp_path: Path) -> None:
    warehouse = _mart_warehouse(
        tmp_path / "wh.duckdb",
        LEARNING_DDL,
        """insert into marts.fct_learning_progress values
            ('U001', 'K001', 3, 1.0, null, 1, 80, true, 'P001'),
            ('U001', 'K002', 0, 0.0, null, 0, null, false, 'P001')""",
    )
    assert validate("fct_learning_progress", warehouse).failures == ()


def test_mart_null_key_and_duplicate_grain_fail(tmp_path: Path) -> None:
    warehouse = _mart_warehouse(
        tmp_path / "wh.duckdb",
        LEARNING_DDL,
        # (U001, K001) twice, and one row without an individual.
        """insert into marts.fct_learning_progress values
            ('U001', 'K001', 3, 1.0, null, 1, 80, true, 'P001'),
            ('U001', 'K001', 3, 1.0, null, 1, 80, true, 'P001'),
            (null, 'K001', 3, 1.0, null, 1, 80, true, 'P001')""",
    )
    result = validate("fct_learning_progress", warehouse)
    assert failed(result) == {
        ("expect_column_values_to_not_be_null(individual_id)", "error"),
        ("expect_compound_columns_to_be_unique(individual_id, course_id)", "error"),
    }
    counts = {failure.expectation: failure.unexpected_count for failure in result.failures}
    # both (U001, K001) rows are duplicates; the NULL row's pair is unique
    assert counts["expect_compound_columns_to_be_unique"] == 2
    assert counts["expect_column_values_to_not_be_null"] == 1


def test_kpi_rows_name_their_scope_once(tmp_path: Path) -> None:
    warehouse = _mart_warehouse(
        tmp_path / "wh.duckdb",
        """create table marts.fct_kpi_monthly (
            kpi_key varchar, month_start date, scope_type varchar, scope_id varchar,
            value double, phase_key varchar
        )""",
        """insert into marts.fct_kpi_monthly values
            ('proposal_count', date '2026-10-01', 'programme', 'programme', 9, 'proposal_push'),
            ('proposal_count', date '2026-10-01', 'partner', 'P001', 5, 'proposal_push'),
            ('proposal_count', date '2026-10-01', 'partner', 'P001', 4, 'proposal_push'),
            ('proposal_count', date '2026-10-01', 'individual', null, 5, 'proposal_push')""",
    )
    result = validate("fct_kpi_monthly", warehouse)
    grain = "kpi_key, month_start, scope_type, scope_id"
    assert failed(result) == {
        ("expect_column_values_to_not_be_null(scope_id)", "error"),
        (f"expect_compound_columns_to_be_unique({grain})", "error"),
    }
    counts = {failure.expectation: failure.unexpected_count for failure in result.failures}
    # the two P001 rows share one grain; the NULL scope_id row is its own (and fails not-null)
    assert counts["expect_compound_columns_to_be_unique"] == 2
    assert counts["expect_column_values_to_not_be_null"] == 1


def test_missing_mart_is_skipped_with_reason(valid_warehouse: Path) -> None:
    result = validate("fct_deal_funnel", valid_warehouse)
    assert result.skipped
    assert result.skipped_reason == "table marts.fct_deal_funnel does not exist yet"
    assert result.failures == ()
    assert result.success


# --- as Dagster checks ------------------------------------------------------------------


def _materialize_with_check(
    warehouse: Path, source: str, instance: dg.DagsterInstance | None = None
) -> dg.ExecuteInProcessResult:
    """A stand-in raw asset (the data is already in the warehouse) and one downstream asset."""

    @dg.asset(key=["raw", source])
    def raw_table() -> None:
        return None

    @dg.asset(key=["staging", "downstream"], deps=[raw_table])
    def downstream() -> None:
        return None

    (check,) = build_raw_suite_checks([source])
    return dg.materialize(
        [raw_table, downstream, check],
        resources={
            "warehouse": WarehouseResource(
                warehouse_path=str(warehouse), as_of_date=AS_OF.isoformat()
            )
        },
        raise_on_error=False,
        instance=instance,
    )


def test_blocking_check_with_an_error_stops_the_downstream_asset(tmp_path: Path) -> None:
    files = fixture_files()
    _set("quiz_attempts_20261031.csv", 0, score=120)(files)
    warehouse = build_warehouse(tmp_path / "wh.duckdb", files)
    result = _materialize_with_check(warehouse, "quiz_attempts")
    assert not result.success
    materialized = [event.asset_key for event in result.get_asset_materialization_events()]
    # the raw asset ran, the asset downstream of the failed blocking check did not
    assert materialized == [dg.AssetKey(["raw", "quiz_attempts"])]
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == "gx_raw_quiz_attempts"
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.description == (
        "suite raw_quiz_attempts: expect_column_pair_values_a_to_be_greater_than_b"
        "(max_score, score) failed for 1 row in quiz_attempts_20261031.csv (lines 2) "
        "(wanted: a score never exceeds its quiz's max_score) [error]"
    )
    metadata = evaluation.metadata
    assert metadata["offending_files"].value == "quiz_attempts_20261031.csv"
    assert metadata["error_failures"].value == 1
    assert metadata["status"].value == "failed"
    assert "| A002 |" in metadata["offending_rows"].value


def test_warn_only_failure_does_not_block(tmp_path: Path) -> None:
    files = fixture_files()
    _set("content_views_20261031.jsonl", 1, action="share")(files)
    warehouse = build_warehouse(tmp_path / "wh.duckdb", files)
    result = _materialize_with_check(warehouse, "content_views")
    assert result.success
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert materialized == {
        dg.AssetKey(["raw", "content_views"]),
        dg.AssetKey(["staging", "downstream"]),
    }
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.metadata["warn_failures"].value == 1


def test_log_line_of_a_mart_suite(tmp_path: Path) -> None:
    warehouse = _mart_warehouse(
        tmp_path / "wh.duckdb",
        LEARNING_DDL,
        """insert into marts.fct_learning_progress values
            ('U001', 'K001', 3, 1.0, null, 1, 80, true, 'P001'),
            ('U001', 'K002', 0, 0.0, null, 0, null, false, 'P001')""",
    )
    # the column set, 2 grain columns not null, the grain unique and 4 range gates: 8
    assert validate("fct_learning_progress", warehouse).summary() == (
        "suite mart_fct_learning_progress: 8 expectations on columns (the table's columns), "
        "rows (2 rows); 0 error and 0 warn failures"
    )


def test_log_line_says_what_was_validated(valid_warehouse: Path) -> None:
    # deals: 6 required columns (not null) + key + band + 2 instants + planned date + mrr in
    # rows, 1 schema, 2 volume, 2 quarantine, 3 snapshot gates, 1 label gate = 21. The newest
    # deals file holds 2 rows with 2 labels; the newest export day is one, the manifest two
    # deals files, and the newest file is compared with the one before it.
    assert validate("deals", valid_warehouse).summary() == (
        "suite raw_deals: 21 expectations on schema (the table's columns), rows (2 rows), "
        "volume (1 export day), quarantine (2 files), snapshots (1 file), labels (2 labels); "
        "0 error and 0 warn failures"
    )
    assert validate("fct_deal_funnel", valid_warehouse).summary() == (
        "suite mart_fct_deal_funnel: skipped, table marts.fct_deal_funnel does not exist yet"
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = _materialize_with_check(valid_warehouse, "courses", instance)
        messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    # courses: key unique, course_id (its one required column) not null and lesson_count in
    # rows, 1 schema, 2 volume, 2 quarantine, 3 snapshot gates = 11. One courses file: the
    # snapshot frame has nothing to compare.
    assert (
        "suite raw_courses: 11 expectations on schema (the table's columns), rows (2 rows), "
        "volume (1 export day), quarantine (1 file), snapshots (0 files); 0 error and 0 warn "
        "failures"
    ) in messages


def test_check_factories_cover_every_suite() -> None:
    raw_checks = build_raw_suite_checks()
    mart_checks = build_mart_suite_checks()
    raw_keys = {key for check in raw_checks for key in check.check_keys}
    mart_keys = {key for check in mart_checks for key in check.check_keys}
    assert raw_keys == {
        dg.AssetCheckKey(dg.AssetKey(["raw", s.name]), f"gx_raw_{s.name}") for s in SOURCES
    }
    assert mart_keys == {
        dg.AssetCheckKey(dg.AssetKey(["marts", m]), f"gx_mart_{m}") for m in MART_NAMES
    }
    assert all(spec.blocking for check in raw_checks for spec in check.check_specs)


def test_raw_suites_pass_on_the_loaded_landing_small(tmp_path: Path, landing_small: Path) -> None:
    # landing_small is the project's small valid export set (as of 2026-10-31), loaded here by
    # the real loader: none of its files is quarantined, its labels are all in the seed, and
    # every suite must pass it without a failure of either severity.
    from prm_warehouse.raw.loader import load_warehouse

    warehouse = tmp_path / "wh.duckdb"
    load_warehouse(warehouse, landing_small)
    results = {name: validate(name, warehouse) for name in RAW_SUITES}
    assert {name: result.description() for name, result in results.items() if result.failures} == {}
    assert all(result.rows_by_frame["rows"] > 0 for result in results.values())


# --- the newest snapshot file against the previous one -----------------------------------


def _deal_snapshots(previous: range, newest: list[int]) -> Files:
    """The fixture with two deals snapshots of deals D<n> (three digits): 2026-10-30, -31."""
    files = fixture_files()
    template = file_rows(files, "deals_20261031.csv")[1]

    def rows(numbers: Iterable[int]) -> list[dict[str, Any]]:
        return [{**copy.deepcopy(template), "deal_id": f"D{number:03d}"} for number in numbers]

    files["deals"] = [
        {"file_name": "deals_20261030.csv", "rows": rows(previous)},
        {"file_name": "deals_20261031.csv", "rows": rows(newest)},
    ]
    return files


def _quarantine_with_key(path: Path, source: str, file_name: str, key: str) -> None:
    """One quarantined record whose key was read (the loader keeps it in record_key)."""
    con = duckdb.connect(str(path))
    con.execute(
        "insert into raw._quarantine (source, file_name, line_number, reason, record, loaded_at, "
        "record_key) values (?, ?, 99, 'unreadable date', '{}', now(), ?)",
        [source, file_name, key],
    )
    con.close()


SNAPSHOT_ERROR = ("expect_column_values_to_be_between(missing_entity_share)", "error")
SNAPSHOT_KEPT_WARN = (
    "expect_column_values_to_be_between(missing_entities_kept_for_unreadable_keys)",
    "warn",
)
SNAPSHOT_DROPPED_WARN = (
    "expect_column_values_to_be_between(missing_entities_beside_unreadable_keys)",
    "warn",
)
QUARANTINE_WARN = ("expect_column_values_to_be_between(quarantined_share)", "warn")


def test_a_cut_off_snapshot_blocks_and_names_the_missing_keys(tmp_path: Path) -> None:
    # D001..D040 yesterday, D001..D020 today: 20 of 40 deals (50 %) gone
    files = _deal_snapshots(range(1, 41), list(range(1, 21)))
    result = validate("deals", build_warehouse(tmp_path / "wh.duckdb", files))
    assert failed(result) == {SNAPSHOT_ERROR}
    assert not result.success
    (failure,) = result.failures
    assert failure.unexpected_count == 1
    assert failure.file_names == ("deals_20261031.csv",)
    assert failure.sample_rows[0]["missing_entities"] == 20
    assert failure.sample_rows[0]["previous_entities"] == 40
    # the first ten missing keys in order, then how many more
    assert result.description() == (
        "suite raw_deals: expect_column_values_to_be_between(missing_entity_share) failed for "
        "1 file: deals_20261031.csv (20 records read, 0 quarantined) lacks 20 of the 40 "
        "deal_ids of deals_20261030.csv (50%): D021, D022, D023, D024, D025, D026, D027, "
        "D028, D029, D030 and 10 more (wanted: the newest deals file lacks at most 5% of the "
        "previous file's deal_id values (a cut-off or empty export is mended by delivering it "
        "again in full)) [error]"
    )


@pytest.mark.parametrize(
    ("newest", "expected"),
    [
        # 2 of 40 = 5 %: the limit itself passes
        pytest.param(list(range(1, 39)), set(), id="5-percent-passes"),
        # 3 of 40 = 7.5 %
        pytest.param(list(range(1, 38)), {SNAPSHOT_ERROR}, id="7.5-percent-blocks"),
        # new deals do not make up for lost ones: 3 of the 40 are gone
        pytest.param([*range(1, 38), *range(41, 51)], {SNAPSHOT_ERROR}, id="new-keys-count-not"),
    ],
)
def test_snapshot_missing_share_threshold(
    tmp_path: Path, newest: list[int], expected: set[tuple[str, str]]
) -> None:
    files = _deal_snapshots(range(1, 41), newest)
    assert failed(validate("deals", build_warehouse(tmp_path / "wh.duckdb", files))) == expected


def test_a_key_that_could_not_be_read_warns_with_the_missing_entity(tmp_path: Path) -> None:
    # D040's record today is quarantined with a blank deal_id: 1 of 40 (2.5 %) gone, under the
    # error's 5 %, but the quarantined record without a key may be it; one lacking key for one
    # unreadable record: staging keeps D040's row of yesterday
    files = _deal_snapshots(range(1, 41), list(range(1, 40)))
    quarantine = [("deals", "deals_20261031.csv", 1)]
    result = validate("deals", build_warehouse(tmp_path / "wh.duckdb", files, quarantine))
    # 1 of the file's 40 records quarantined (2.5 %) is above the 1 % warning as well
    assert failed(result) == {SNAPSHOT_KEPT_WARN, QUARANTINE_WARN}
    assert result.success
    (failure,) = [failure for failure in result.failures if failure.frame == "snapshots"]
    assert failure.details == (
        "deals_20261031.csv (39 records read, 1 quarantined, 1 of them without a readable "
        "deal_id) lacks 1 of the 40 deal_ids of deals_20261030.csv (2.5%): D040",
    )
    assert failure.reason == (
        "no deal_id of the previous file lacking while records of the newest file were "
        "quarantined without a readable deal_id: each lacking entity may be one of those "
        "records, and staging keeps its row of the previous file until an export with readable "
        "keys is delivered"
    )


@pytest.mark.parametrize(
    ("newest", "unreadable", "expected"),
    [
        # 2 lacking (D039, D040) for 2 unreadable records: each may be one of them
        pytest.param(list(range(1, 39)), 2, SNAPSHOT_KEPT_WARN, id="as-many-kept"),
        # 2 lacking for 1 unreadable record: at least one deal was removed, which is unknown
        pytest.param(list(range(1, 39)), 1, SNAPSHOT_DROPPED_WARN, id="more-lacking-dropped"),
        # 1 lacking for 3 unreadable records
        pytest.param(list(range(1, 40)), 3, SNAPSHOT_KEPT_WARN, id="fewer-kept"),
    ],
)
def test_lacking_keys_beside_unreadable_keys_warn_kept_or_dropped(
    tmp_path: Path, newest: list[int], unreadable: int, expected: tuple[str, str]
) -> None:
    files = _deal_snapshots(range(1, 41), newest)
    quarantine = [("deals", "deals_20261031.csv", unreadable)]
    result = validate("deals", build_warehouse(tmp_path / "wh.duckdb", files, quarantine))
    assert failed(result) == {expected, QUARANTINE_WARN}
    assert result.success
    (failure,) = [failure for failure in result.failures if failure.frame == "snapshots"]
    if expected == SNAPSHOT_DROPPED_WARN:
        assert failure.reason.endswith(
            "more entities lack than records could not be read, so which were removed is "
            "unknown, and they drop out of the marts"
        )


def test_a_quarantined_record_whose_key_was_read_is_not_missing(tmp_path: Path) -> None:
    # D040's record today is quarantined, its key read: staging keeps yesterday's row of it
    files = _deal_snapshots(range(1, 41), list(range(1, 40)))
    warehouse = build_warehouse(tmp_path / "wh.duckdb", files)
    _quarantine_with_key(warehouse, "deals", "deals_20261031.csv", "D040")
    result = validate("deals", warehouse)
    assert failed(result) == {QUARANTINE_WARN}
    assert result.rows_by_frame["snapshots"] == 1


def test_a_header_only_newest_snapshot_blocks(tmp_path: Path) -> None:
    files = fixture_files()
    # a second export of the day (the newest file by name) with a header and no record; the
    # day still delivered K001 and K002 in courses_20261031.csv, so the volume gate holds
    files["courses"].append({"file_name": "courses_20261031_b.csv", "rows": []})
    result = validate("courses", build_warehouse(tmp_path / "wh.duckdb", files))
    assert failed(result) == {SNAPSHOT_ERROR}
    (failure,) = result.failures
    assert failure.details == (
        "courses_20261031_b.csv (0 records read, 0 quarantined) lacks 2 of the 2 course_ids of "
        "courses_20261031.csv (100%): K001, K002",
    )


def test_a_snapshot_of_one_file_has_nothing_to_compare(valid_warehouse: Path) -> None:
    # contents: one file; partners: two (P001 and P002 today, P001 yesterday: nothing gone)
    assert validate("contents", valid_warehouse).rows_by_frame["snapshots"] == 0
    assert validate("partners", valid_warehouse).rows_by_frame["snapshots"] == 1
    # event sources have no snapshot frame
    assert "snapshots" not in validate("logins", valid_warehouse).rows_by_frame


def test_sample_exports_keep_every_entity_between_snapshots(tmp_path: Path) -> None:
    # The sample's snapshots only grow (new firms, people, deals and contents; nothing is
    # deleted, people carry a status), so no comparison fails. On 2026-10-25 the newest file is
    # compared with the faulty bulk export of 2026-10-24, whose bad records are in no later
    # file (U900001, D9000002 were loaded; the blank partner_id was quarantined).
    from prm_warehouse.raw.loader import load_warehouse
    from prm_warehouse.sample_data import generate_landing

    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    snapshots = [source.name for source in SOURCES if source.kind == "snapshot"]
    assert snapshots == ["partners", "partner_users", "deals", "contents", "courses", "quizzes"]
    for last in (dt.date(2026, 10, 25), dt.date(2026, 10, 31)):
        generate_landing(landing, scale=0.01, seed=42, faulty=True, last_export_date=last)
        load_warehouse(warehouse, landing, sources=snapshots)
        for name in snapshots:
            result = validate(name, warehouse)
            assert [f for f in result.failures if f.frame == "snapshots"] == [], name
            # catalogue sources are exported on 2026-10-24 only, until 2026-10-28
            compared = name in ("partners", "partner_users", "deals") or last.day == 31
            assert result.rows_by_frame["snapshots"] == int(compared), (name, last)
