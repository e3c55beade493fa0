"""The KPI marts, built by a real `dbt build` on a DuckDB file with hand-made raw rows.

One build as of 2026-06-10 (day 10 of June) with the shipped governance seeds: phases
onboarding (April-May) and proposal_push (June-July), the catalogue and the targets of
seeds/kpi_targets.csv. Every expected value is worked out by hand from the rows in
`_insert_raw_rows`; the comments give the reasoning. The funnel, in Japan time:

- D001 (P001, U001): アプローチ予定 04-05, アポ打診 04-20, 提案済み 05-12.
- D002 (P001, U002): アポ打診 05-03, then straight to 継続合意 05-25 (a jump: it enters
  approach_planned and approach on 05-03, proposal, proposal_agreed and won on 05-25).
- D003 (P002, U003): アプローチ予定 05-10, アポ設定中 05-19, planned approach 05-20.
- D004 (P002, U003): アプローチ予定 06-02, planned approach 06-05, never approached.
- D005 (P001, U001): アプローチ予定 06-08, planned approach 06-20 (not due yet).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from dbt_invocation import invoke_dbt
from prm_warehouse.raw.schema import create_raw_tables

AS_OF = "2026-06-10"
LOADED_AT = "2026-06-11 12:00:00+00"
JST = dt.timezone(dt.timedelta(hours=9))
APRIL, MAY, JUNE = dt.date(2026, 4, 1), dt.date(2026, 5, 1), dt.date(2026, 6, 1)


def jst(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).replace(tzinfo=JST)


def _insert(con: duckdb.DuckDBPyConnection, table: str, file_name: str, rows: list[tuple]) -> None:
    """Rows of contract columns; lineage columns are added (line numbers from 2)."""
    export_date = file_name.rsplit("_", 1)[-1][:8]
    export = f"{export_date[:4]}-{export_date[4:6]}-{export_date[6:]}"
    for line, row in enumerate(rows, start=2):
        placeholders = ", ".join(["?"] * (len(row) + 4))
        con.execute(
            f"insert into raw.{table} values ({placeholders})",
            [*row, file_name, export, line, LOADED_AT],
        )


def _insert_raw_rows(con: duckdb.DuckDBPyConnection) -> None:
    updated = jst("2026-06-10 20:00")
    _insert(
        con,
        "partners",
        "partners_20260610.csv",
        [
            ("P001", "アルファ会計", "東京都", "1-5", 1, dt.date(2025, 4, 1), updated),
            ("P002", "ベータ税理士法人", "大阪府", "6-20", 2, dt.date(2025, 4, 1), updated),
        ],
    )
    _insert(
        con,
        "partner_users",
        "partner_users_20260610.csv",
        [
            (user, firm, name, None, "税理士", False, jst("2026-03-20 10:00"), "active", updated)
            for user, firm, name in (
                ("U001", "P001", "山田 太郎"),
                ("U002", "P001", "佐藤 花子"),
                ("U003", "P002", "鈴木 一郎"),
                ("U004", "P002", "高橋 次郎"),  # no activity at all
            )
        ],
    )
    deals = [
        ("D001", "P001", "U001", "提案済み", None, "2026-04-05 09:00", "2026-05-12 10:00"),
        ("D002", "P001", "U002", "継続合意", None, "2026-05-03 09:00", "2026-05-25 10:00"),
        (
            "D003",
            "P002",
            "U003",
            "アポ設定中",
            dt.date(2026, 5, 20),
            "2026-05-10 09:00",
            "2026-05-19 15:00",
        ),
        (
            "D004",
            "P002",
            "U003",
            "アプローチ予定",
            dt.date(2026, 6, 5),
            "2026-06-02 09:00",
            "2026-06-02 10:00",
        ),
        (
            "D005",
            "P001",
            "U001",
            "アプローチ予定",
            dt.date(2026, 6, 20),
            "2026-06-08 09:00",
            "2026-06-08 10:00",
        ),
    ]
    _insert(
        con,
        "deals",
        "deals_20260610.csv",
        [
            (
                deal,
                firm,
                owner,
                f"顧客{deal}",
                "飲食",
                "1-5",
                "standard",
                status,
                planned,
                jst(registered),
                jst(changed),
                None,
                None,
            )
            for deal, firm, owner, status, planned, registered, changed in deals
        ],
    )
    events = [
        ("E01", "D001", "アプローチ予定", "2026-04-05 10:00"),
        ("E02", "D001", "アポ打診", "2026-04-20 10:00"),
        ("E03", "D001", "提案済み", "2026-05-12 10:00"),
        ("E04", "D002", "アポ打診", "2026-05-03 10:00"),
        ("E05", "D002", "継続合意", "2026-05-25 10:00"),
        ("E06", "D003", "アプローチ予定", "2026-05-10 10:00"),
        ("E07", "D003", "アポ設定中", "2026-05-19 15:00"),
        ("E08", "D004", "アプローチ予定", "2026-06-02 10:00"),
        ("E09", "D005", "アプローチ予定", "2026-06-08 10:00"),
    ]
    _insert(
        con,
        "deal_status_events",
        "deal_status_events_20260610.csv",
        [(event, deal, status, jst(at), None) for event, deal, status, at in events],
    )
    logins = [
        ("L01", "U001", jst("2026-04-10 09:00")),
        ("L02", "U001", jst("2026-04-11 09:00")),
        ("L03", "U001", jst("2026-05-02 09:00")),
        ("L04", "U002", jst("2026-05-15 09:00")),
        # 2026-05-31 15:30 UTC is 2026-06-01 00:30 in Japan: a June login
        ("L05", "U003", dt.datetime(2026, 5, 31, 15, 30, tzinfo=dt.UTC)),
        ("L06", "U001", jst("2026-06-09 09:00")),
    ]
    # U003 also logs in on each of the 30 days 2026-05-01 .. 2026-05-30
    logins += [(f"L1{day:02d}", "U003", jst(f"2026-05-{day:02d} 08:00")) for day in range(1, 31)]
    _insert(
        con,
        "logins",
        "logins_20260610.jsonl",
        [(event, user, at, "pc") for event, user, at in logins],
    )
    _insert(
        con,
        "contents",
        "contents_20260610.csv",
        [
            (f"T{n:02d}", f"トーク{n}", "talk_script", None, "sales", jst("2026-03-01 09:00"))
            for n in range(1, 11)
        ],
    )
    # U003 views each of the ten talk scripts twice in May: 20 views, 10 distinct
    _insert(
        con,
        "content_views",
        "content_views_20260610.jsonl",
        [
            (f"V{n:02d}{k}", "U003", f"T{n:02d}", jst(f"2026-05-{n + 10:02d} 1{k}:00"), "view", 60)
            for n in range(1, 11)
            for k in (0, 1)
        ],
    )
    _insert(con, "courses", "courses_20260610.csv", [("C1", "基礎", 2, True)])
    _insert(
        con,
        "lesson_completions",
        "lesson_completions_20260610.jsonl",
        [
            ("LC1", "U001", "C1", "L1", jst("2026-05-05 10:00")),
            ("LC2", "U001", "C1", "L2", jst("2026-05-06 10:00")),
            ("LC3", "U002", "C1", "L1", jst("2026-05-06 10:00")),
        ],
    )
    _insert(con, "quizzes", "quizzes_20260610.csv", [("Q1", "C1", "基礎テスト", 100, 70)])
    _insert(
        con,
        "quiz_attempts",
        "quiz_attempts_20260610.jsonl",
        [
            ("A1", "U001", "Q1", jst("2026-05-07 10:00"), 60),
            ("A2", "U001", "Q1", jst("2026-06-03 10:00"), 80),
            ("A3", "U002", "Q1", jst("2026-05-20 10:00"), 90),
        ],
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kpi_governance")
    path = root / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        create_raw_tables(con)
        _insert_raw_rows(con)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PRM_WAREHOUSE_PATH", str(path))
        result = invoke_dbt(
            [
                "build",
                "--select",
                "+fct_kpi_monthly +fct_kpi_target_gap +fct_key_person_engagement"
                " +fct_funnel_person +fct_funnel_partner kpi_restatements",
            ],
            root,
            as_of_date=AS_OF,
        )
    failures = [
        f"{r.node.unique_id}: {r.status} {r.message}"
        for r in (result.result or [])
        if str(r.status) not in ("success", "pass")
    ]
    assert result.success, f"dbt build failed: {result.exception} {failures}"
    return path


def _programme(path: Path, kpi_key: str) -> dict[dt.date, float | None]:
    with duckdb.connect(str(path)) as con:
        rows = con.execute(
            """
            select month_start, value from marts.fct_kpi_monthly
            where kpi_key = ? and scope_type = 'programme' order by month_start
            """,
            [kpi_key],
        ).fetchall()
    return dict(rows)


def test_months_and_phases(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        rows = con.execute(
            """
            select distinct month_start, phase_key, is_focus_kpi
            from marts.fct_kpi_monthly where kpi_key = 'proposal_rate' order by 1
            """
        ).fetchall()
    # April to the as-of month June; April and May are in the onboarding phase (focus:
    # logins and onboarding), June in proposal_push whose focus includes proposal_rate.
    assert rows == [
        (APRIL, "onboarding", False),
        (MAY, "onboarding", False),
        (JUNE, "proposal_push", True),
    ]


def test_stage_counts(warehouse: Path) -> None:
    # approach_planned: D001 04-05 | D002 05-03, D003 05-10 | D004 06-02, D005 06-08
    assert _programme(warehouse, "approach_planned_count") == {APRIL: 1, MAY: 2, JUNE: 2}
    # approach: D001 04-20 | D002 05-03, D003 05-19
    assert _programme(warehouse, "approach_count") == {APRIL: 1, MAY: 2, JUNE: 0}
    # proposal: D001 05-12 and D002 05-25 (jump); agreed and won: D002 05-25
    assert _programme(warehouse, "proposal_count") == {APRIL: 0, MAY: 2, JUNE: 0}
    assert _programme(warehouse, "proposal_agreed_count") == {APRIL: 0, MAY: 1, JUNE: 0}
    assert _programme(warehouse, "won_count") == {APRIL: 0, MAY: 1, JUNE: 0}
    # the worked example of docs/adding-a-kpi.md: D001 04-05 | D002, D003 | D004, D005
    assert _programme(warehouse, "deals_registered") == {APRIL: 1, MAY: 2, JUNE: 2}


def test_cohort_rates(warehouse: Path) -> None:
    # approach cohorts: April {D001} -> proposal: 1/1; May {D002 yes, D003 no}: 1/2;
    # June: nobody entered approach, so the rate is NULL, not 0.
    assert _programme(warehouse, "proposal_rate") == {APRIL: 1.0, MAY: 0.5, JUNE: None}
    # proposal cohort May {D001, D002}: only D002 was agreed: 1/2. April, June empty.
    assert _programme(warehouse, "agreement_rate") == {APRIL: None, MAY: 0.5, JUNE: None}
    assert _programme(warehouse, "win_rate") == {APRIL: None, MAY: 1.0, JUNE: None}
    # planned dates: D003 05-20, approached 05-19 (on time): May 1/1. D004 06-05, not
    # approached by 06-10: June 0/1. D005 06-20 is after the as-of date: not due.
    assert _programme(warehouse, "planned_approach_adherence_rate") == {
        APRIL: None,
        MAY: 1.0,
        JUNE: 0.0,
    }


def test_people_kpis(warehouse: Path) -> None:
    # logins: April U001; May U001, U002, U003; June U003 (06-01 00:30 Japan), U001
    assert _programme(warehouse, "active_individuals") == {APRIL: 1, MAY: 3, JUNE: 2}
    # U001 finished both lessons of the required course C1 on 05-06; U002 only one
    assert _programme(warehouse, "onboarding_completions") == {APRIL: 0, MAY: 1, JUNE: 0}
    # Q1 first passed: U002 05-20 (90 >= 70); U001 06-03 (after failing with 60)
    assert _programme(warehouse, "quizzes_passed") == {APRIL: 0, MAY: 1, JUNE: 1}
    # activated on the evaluation date: 04-30 U001 (deal 04-05); 05-31 U001, U002, U003;
    # 06-10 the same three (activity within 90 days); U004 never.
    assert _programme(warehouse, "activated_individuals") == {APRIL: 1, MAY: 3, JUNE: 3}
    # Key persons: the score is 100 * weighted shares / total weight 20. U003 on 05-31:
    # 30 login days (3 * 30/30 = 3), 20 views (1), 10 distinct (1), 20 talk-script views
    # capped at 10 (2), 1 deal (5 * 1/10 = 0.5), 2 stage entries (5 * 2/20 = 0.5):
    # 8.0 -> 40.00, the top of P002 and >= the firm threshold 40: a key person. On 06-10
    # the 06-01 login is capped (still 3), 2 deals (1.0), 3 entries (0.75): 8.75 -> 43.75.
    # U001 on 06-10: 4 login days (0.4), 2 lessons (0.4), 1 quiz (0.5), 2 deals (1.0),
    # 4 entries (1.0): 3.3 -> 16.5 < 40. Nobody had a score in April above 40.
    assert _programme(warehouse, "key_person_count") == {APRIL: 0, MAY: 1, JUNE: 1}


def test_partner_and_person_scopes(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        rows = con.execute(
            """
            select scope_type, scope_id, value from marts.fct_kpi_monthly
            where kpi_key = 'proposal_count' and month_start = date '2026-05-01'
                and scope_type <> 'programme'
            order by scope_type, scope_id
            """
        ).fetchall()
    # May proposals D001 (U001) and D002 (U002), both of P001; every person and firm has
    # a row, zero-filled.
    assert rows == [
        ("individual", "U001", 1.0),
        ("individual", "U002", 1.0),
        ("individual", "U003", 0.0),
        ("individual", "U004", 0.0),
        ("partner", "P001", 2.0),
        ("partner", "P002", 0.0),
    ]


def test_target_gap(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        rows = con.execute(
            """
            select kpi_key, month_start, target_value, actual_value, expected_to_date,
                gap_to_expected, achievement_rate, projected_month_end
            from marts.fct_kpi_target_gap
            where kpi_key in ('approach_planned_count', 'proposal_rate')
                and month_start >= date '2026-05-01'
            order by kpi_key, month_start
            """
        ).fetchall()
    expected = [
        # May is closed: target 1100 (seed), actual 2: whole target expected, gap -1098.
        ("approach_planned_count", MAY, 1100.0, 2.0, 1100.0, -1098.0, 2 / 1100, 2.0),
        # June, day 10 of 30: target 1600 -> expected 1600 * 10 / 30 = 533.33..,
        # actual 2 -> projected 2 / 10 * 30 = 6.
        (
            "approach_planned_count",
            JUNE,
            1600.0,
            2.0,
            1600 * 10 / 30,
            2 - 1600 * 10 / 30,
            2 / 1600,
            6.0,
        ),
        # proposal_rate is a level KPI: expected = target 0.5; May actual 0.5.
        ("proposal_rate", MAY, 0.5, 0.5, 0.5, 0.0, 1.0, 0.5),
        # June's cohort is empty: actual NULL, so gap, achievement and projection too.
        ("proposal_rate", JUNE, 0.5, None, 0.5, None, None, None),
    ]
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected, strict=True):
        assert row[:2] == want[:2]
        for got, value in zip(row[2:], want[2:], strict=True):
            assert (got is None and value is None) or got == pytest.approx(value), (row, want)
