"""The staging views and int_reference_violations, built by a real dbt run on a DuckDB file.

One module-scoped dbt build over hand-made raw rows; the tests read the resulting views.
Every expected value below is worked out from the rows inserted in `_insert_raw_rows`.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from dbt_invocation import invoke_dbt
from prm_warehouse.raw.contract import SOURCES
from prm_warehouse.raw.schema import create_raw_tables

LOADED_AT = "2026-05-02 00:00:00+00"


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    """Insert rows given as (contract columns..., _file_name, _export_date, _line_number)."""
    for row in rows:
        placeholders = ", ".join(["?"] * (len(row) + 1))
        con.execute(f"insert into raw.{table} values ({placeholders})", [*row, LOADED_AT])


# The raw rows read as a table: one tuple per delivered record, in contract column order.
# fmt: off
def _insert_raw_rows(con: duckdb.DuckDBPyConnection) -> None:
    # partners: three files. 20260402_fix.csv sorts after 20260402.csv on the same export
    # date ('_' > '.'), so it is the newest file; inside it P002 appears twice.
    _insert(
        con,
        "partners",
        [
            ("P001", "アルファ会計 旧", "東京都", "1-5", 1, "2024-04-01",
             "2026-04-01 00:00:00+00", "partners_20260401.csv", "2026-04-01", 2),
            ("P002", "ベータ税理士法人", "大阪府", "6-20", None, "2024-05-01",
             "2026-04-01 00:00:00+00", "partners_20260401.csv", "2026-04-01", 3),
            ("P003", "ガンマ事務所", "福岡県", "1-5", None, "2024-06-01",
             "2026-04-01 00:00:00+00", "partners_20260401.csv", "2026-04-01", 4),
            ("P001", "アルファ会計 新", "東京都", "1-5", 2, "2024-04-01",
             "2026-04-02 00:00:00+00", "partners_20260402.csv", "2026-04-02", 2),
            ("P001", "アルファ会計 訂正", "東京都", "6-20", 3, "2024-04-01",
             "2026-04-02 09:00:00+00", "partners_20260402_fix.csv", "2026-04-02", 2),
            ("P002", "ベータ 旧行", "大阪府", "6-20", None, "2024-05-01",
             "2026-04-02 09:00:00+00", "partners_20260402_fix.csv", "2026-04-02", 3),
            ("P002", "ベータ 新行", "大阪府", "6-20", None, "2024-05-01",
             "2026-04-02 09:00:00+00", "partners_20260402_fix.csv", "2026-04-02", 4),
        ],
    )
    _insert(
        con,
        "partner_users",
        [
            ("U001", "P001", "山田 太郎", "yamada@example.jp", "税理士", True,
             "2026-01-05 00:00:00+00", "active", "2026-04-01 00:00:00+00",
             "partner_users_20260402.csv", "2026-04-02", 2),
            ("U002", "P002", "佐藤 花子", None, "スタッフ", False,
             "2026-02-01 00:00:00+00", "SUSPENDED", "2026-04-01 00:00:00+00",
             "partner_users_20260402.csv", "2026-04-02", 3),
        ],
    )
    _insert(
        con,
        "deals",
        [
            ("D001", "P001", "U001", "株式会社いろは", "飲食", "1-5", "standard", "提案済み",
             "2026-04-05", "2026-03-31 16:00:00+00", "2026-04-10 01:00:00+00", None, 30000.0,
             "deals_20260501.csv", "2026-05-01", 2),
            ("D002", "P001", "U404", "有限会社にほへ", "建設", "6-20", "light", "アポ打診",
             None, "2026-04-01 00:00:00+00", "2026-04-01 00:00:00+00", None, None,
             "deals_20260501.csv", "2026-05-01", 3),
        ],
    )
    # E1 arrives twice with different content; the 20260502 file is delivered later and
    # wins. E2 appears twice in one file; the later line wins.
    _insert(
        con,
        "deal_status_events",
        [
            ("E1", "D001", "アポ打診", "2026-04-09 23:30:00+00", "U001",
             "deal_status_events_20260501.csv", "2026-05-01", 2),
            ("E1", "D001", "提案済み", "2026-04-10 01:00:00+00", "U001",
             "deal_status_events_20260502.csv", "2026-05-02", 4),
            ("E2", "D001", "提案合意", "2026-04-20 00:00:00+00", None,
             "deal_status_events_20260502.csv", "2026-05-02", 2),
            ("E2", "D001", "継続合意", "2026-04-21 00:00:00+00", None,
             "deal_status_events_20260502.csv", "2026-05-02", 3),
        ],
    )
    # L1: 15:30 UTC on 30 April is 00:30 JST on 1 May; re-delivered the same day in
    # logins_20260501_late.jsonl, which sorts after logins_20260501.jsonl ('_' > '.') and
    # so wins. L2: 14:59 UTC is 23:59 JST on 30 April, and U999 is no person.
    _insert(
        con,
        "logins",
        [
            ("L1", "U001", "2026-04-30 15:30:00+00", "mobile",
             "logins_20260501.jsonl", "2026-05-01", 1),
            ("L1", "U001", "2026-04-30 15:30:00+00", "PC",
             "logins_20260501_late.jsonl", "2026-05-01", 1),
            ("L2", "U999", "2026-04-30 14:59:00+00", "mobile",
             "logins_20260501.jsonl", "2026-05-01", 2),
            ("L3", "U002", "2026-05-01 03:00:00+00", None,
             "logins_20260501.jsonl", "2026-05-01", 3),
        ],
    )
    _insert(
        con,
        "contents",
        [
            ("C001", "飲食店向けトークスクリプト", "Talk_Script", "飲食", "導入提案",
             "2026-01-10 00:00:00+00", "contents_20260401.csv", "2026-04-01", 2),
        ],
    )
    _insert(
        con,
        "content_views",
        [
            ("V1", "U001", "C001", "2026-04-15 10:00:00+00", "view", 120.0,
             "content_views_20260416.jsonl", "2026-04-16", 1),
        ],
    )
# fmt: on


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    """Build the staging views and int_reference_violations once; (path, dbt node results)."""
    root = tmp_path_factory.mktemp("dbt_staging")
    path = root / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    try:
        create_raw_tables(con)
        _insert_raw_rows(con)
    finally:
        con.close()

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRM_WAREHOUSE_PATH", str(path))
        result = invoke_dbt(
            ["build", "--select", "staging", "int_reference_violations"],
            root,
            as_of_date="2026-05-02",
        )
    assert result.exception is None, result.exception
    assert result.success, [(r.node.name, r.status, r.message) for r in result.result]
    return path, list(result.result)


def _query(path: Path, sql: str) -> list[tuple]:
    # dbt-duckdb keeps its own handle on the file open in this process, and DuckDB lets a
    # second connection in only with the same configuration, so not read-only.
    con = duckdb.connect(str(path))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_only_the_reference_check_warns(warehouse: tuple[Path, list]) -> None:
    _, results = warehouse
    statuses = {r.node.name: str(r.status) for r in results}
    # 11 staging views and 1 intermediate table were built.
    models = [r for r in results if r.node.resource_type == "model"]
    assert len(models) == 12
    # Every key test passes; the only finding is the two orphan rows (D002's owner and
    # L2's person), reported as a warning by the emptiness check on the violations model.
    # user_status 'SUSPENDED' and device 'PC' pass accepted_values after lower-casing.
    not_passed = {
        name: status for name, status in statuses.items() if status not in ("pass", "success")
    }
    assert not_passed == {"int_reference_violations_is_empty": "warn"}


def test_newest_snapshot_file_wins(warehouse: tuple[Path, list]) -> None:
    path, _ = warehouse
    rows = _query(
        path,
        "select partner_id, partner_name, office_size_band, advisor_rank, _file_name,"
        " _line_number from staging.stg_portal__partners order by partner_id",
    )
    # Newest file is partners_20260402_fix.csv (export date 2026-04-02 is the highest; on
    # that date '_fix' sorts after '.csv'). P003 is only in the 20260401 file: gone. P002
    # is twice in the newest file; line 4 wins over line 3.
    assert rows == [
        ("P001", "アルファ会計 訂正", "6-20", 3, "partners_20260402_fix.csv", 2),
        ("P002", "ベータ 新行", "6-20", None, "partners_20260402_fix.csv", 4),
    ]


def test_partner_users_renamed_and_lowercased(warehouse: tuple[Path, list]) -> None:
    path, _ = warehouse
    rows = _query(
        path,
        "select user_id, partner_id, email, is_certified, user_status"
        " from staging.stg_portal__partner_users order by user_id",
    )
    # status -> user_status, 'SUSPENDED' lower-cased; the missing e-mail stays NULL.
    assert rows == [
        ("U001", "P001", "yamada@example.jp", True, "active"),
        ("U002", "P002", None, False, "suspended"),
    ]


def test_deals_registered_on_is_japan_date(warehouse: tuple[Path, list]) -> None:
    path, _ = warehouse
    rows = _query(
        path,
        "select deal_id, status_label, registered_on, approach_planned_on, expected_mrr"
        " from staging.stg_portal__deals order by deal_id",
    )
    # D001 registered 2026-03-31 16:00 UTC = 2026-04-01 01:00 JST; D002 at 00:00 UTC is
    # 09:00 JST the same day.
    assert rows == [
        ("D001", "提案済み", dt.date(2026, 4, 1), dt.date(2026, 4, 5), 30000.0),
        ("D002", "アポ打診", dt.date(2026, 4, 1), None, None),
    ]


def test_latest_delivered_event_copy_wins(warehouse: tuple[Path, list]) -> None:
    path, _ = warehouse
    rows = _query(
        path,
        "select event_id, status_label, changed_at, changed_on, changed_by_user_id,"
        " _file_name from staging.stg_portal__deal_status_events order by event_id",
    )
    # E1: the copy in the later file (export 2026-05-02) wins: 提案済み at 01:00 UTC
    # (10:00 JST, 10 April). E2: same file, line 3 beats line 2: 継続合意 at 2026-04-21
    # 00:00 UTC (09:00 JST, 21 April), no user (system change).
    assert rows == [
        (
            "E1",
            "提案済み",
            dt.datetime(2026, 4, 10, 1, 0, tzinfo=dt.UTC),
            dt.date(2026, 4, 10),
            "U001",
            "deal_status_events_20260502.csv",
        ),
        (
            "E2",
            "継続合意",
            dt.datetime(2026, 4, 21, 0, 0, tzinfo=dt.UTC),
            dt.date(2026, 4, 21),
            None,
            "deal_status_events_20260502.csv",
        ),
    ]


def test_logins_occurred_on_is_japan_date(warehouse: tuple[Path, list]) -> None:
    path, _ = warehouse
    rows = _query(
        path,
        "select event_id, occurred_on, device, _file_name"
        " from staging.stg_portal__logins order by event_id",
    )
    # L1 2026-04-30 15:30 UTC = 2026-05-01 00:30 JST, taken from the later file of the
    # same export date (its 'PC', lower-cased, not the first copy's 'mobile');
    # L2 14:59 UTC = 2026-04-30 23:59 JST; L3 03:00 UTC = 12:00 JST on 1 May, its missing
    # device stays NULL.
    assert rows == [
        ("L1", dt.date(2026, 5, 1), "pc", "logins_20260501_late.jsonl"),
        ("L2", dt.date(2026, 4, 30), "mobile", "logins_20260501.jsonl"),
        ("L3", dt.date(2026, 5, 1), None, "logins_20260501.jsonl"),
    ]


def test_contents_type_lowercased_and_views_kept(warehouse: tuple[Path, list]) -> None:
    path, _ = warehouse
    contents = _query(path, "select content_id, content_type from staging.stg_portal__contents")
    views = _query(
        path, "select event_id, occurred_on, action from staging.stg_portal__content_views"
    )
    # 'Talk_Script' lower-cased; 10:00 UTC is 19:00 JST the same day.
    assert contents == [("C001", "talk_script")]
    assert views == [("V1", dt.date(2026, 4, 15), "view")]


def test_reference_violations_name_file_line_and_cause(warehouse: tuple[Path, list]) -> None:
    path, _ = warehouse
    rows = _query(
        path,
        "select source_name, file_name, line_number, record_key, reason"
        " from intermediate.int_reference_violations order by source_name, record_key",
    )
    # D002's owner U404 and L2's user U999 are not in partner_users; U002 belongs to P002,
    # which the newest partners file still holds; every other reference resolves.
    assert rows == [
        ("deals", "deals_20260501.csv", 3, "D002", "owner_user_id U404 is not a known person"),
        ("logins", "logins_20260501.jsonl", 2, "L2", "user_id U999 is not a known person"),
    ]


def test_every_contract_column_is_documented(warehouse: tuple[Path, list]) -> None:
    """The sources yml documents every table and column of the raw contract."""
    path, _ = warehouse
    manifest = json.loads((path.parent / "target" / "manifest.json").read_text())
    documented = {
        node["name"]: node
        for node in manifest["sources"].values()
        if node["source_name"] == "portal"
    }
    lineage = ["_file_name", "_export_date", "_line_number", "_loaded_at"]
    for source in SOURCES:
        node = documented[source.name]
        assert node["description"], source.name
        assert list(node["columns"]) == [*source.column_names, *lineage], source.name
        assert all(column["description"] for column in node["columns"].values()), source.name
        # warn after 2 days, error after 7, measured on _loaded_at.
        assert node["loaded_at_field"] == "_loaded_at"
        assert node["freshness"]["warn_after"] == {"count": 2, "period": "day"}
        assert node["freshness"]["error_after"] == {"count": 7, "period": "day"}
    assert {"_quarantine", "_load_manifest"} <= set(documented)


# Column lists of design.md "Staging models", typed out by hand, plus the lineage columns
# every staging view ends with.
STAGING_COLUMNS = {
    "stg_portal__partners": "partner_id partner_name prefecture office_size_band advisor_rank"
    " joined_program_on updated_at",
    "stg_portal__partner_users": "user_id partner_id full_name email job_role is_certified"
    " account_issued_at user_status updated_at",
    "stg_portal__deals": "deal_id partner_id owner_user_id client_name client_industry"
    " client_size_band product_plan status_label approach_planned_on registered_at"
    " registered_on updated_at lost_reason expected_mrr",
    "stg_portal__deal_status_events": "event_id deal_id status_label changed_at changed_on"
    " changed_by_user_id",
    "stg_portal__logins": "event_id user_id occurred_at occurred_on device",
    "stg_portal__content_views": "event_id user_id content_id occurred_at occurred_on action"
    " duration_sec",
    "stg_portal__contents": "content_id title content_type industry topic published_at",
    "stg_portal__courses": "course_id title lesson_count is_required",
    "stg_portal__lesson_completions": "event_id user_id course_id lesson_id completed_at"
    " completed_on",
    "stg_portal__quizzes": "quiz_id course_id title max_score pass_score",
    "stg_portal__quiz_attempts": "attempt_id user_id quiz_id submitted_at submitted_on score",
}


@pytest.mark.parametrize("model", sorted(STAGING_COLUMNS))
def test_staging_view_columns(warehouse: tuple[Path, list], model: str) -> None:
    path, _ = warehouse
    columns = [
        name
        for (name,) in _query(
            path,
            "select column_name from information_schema.columns"
            f" where table_schema = 'staging' and table_name = '{model}'"
            " order by ordinal_position",
        )
    ]
    assert columns == [*STAGING_COLUMNS[model].split(), "_file_name", "_line_number"]
