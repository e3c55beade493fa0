"""The funnel marts, built by a real `dbt build` on a DuckDB file with hand-made raw rows.

Two dbt invocations share one warehouse: the first builds the marts as of 2024-06-30 and
the tests read them; the second adds an event with a label the mapping does not know and
checks that the build stops before the marts, naming the label and its file. Every
expected value is worked out by hand from the rows in `_insert_raw_rows`; the comments
give the reasoning. Stall thresholds are the shipped seed: approach_planned 14 days,
approach 21, proposal 30, proposal_agreed 30.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunnerResult

from dbt_invocation import invoke_dbt
from prm_warehouse.raw.schema import create_raw_tables

AS_OF = "2024-06-30"
LOADED_AT = "2024-07-02 12:00:00+00"
FUNNEL_MARTS = (
    "dim_partner",
    "dim_partner_individual",
    "fct_deal_funnel",
    "fct_funnel_person",
    "fct_funnel_partner",
)
UNKNOWN_LABEL = "契約準備中"
UNKNOWN_LABEL_FILE = "deal_status_events_20240625_extra.csv"

JST = dt.timezone(dt.timedelta(hours=9))


def jst(value: str) -> dt.datetime:
    """A Japan-time wall-clock value 'YYYY-MM-DD HH:MM' as an aware datetime."""
    return dt.datetime.fromisoformat(value).replace(tzinfo=JST)


def _insert(
    con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple], loaded_at: str = LOADED_AT
) -> None:
    """Insert rows given as (contract columns..., _file_name, _export_date, _line_number)."""
    for row in rows:
        placeholders = ", ".join(["?"] * (len(row) + 1))
        con.execute(f"insert into raw.{table} values ({placeholders})", [*row, loaded_at])


def _insert_raw_rows(con: duckdb.DuckDBPyConnection) -> None:
    """Two firms, seven people, ten deals; every instant is written in Japan time."""
    # One raw row per line, so that the data reads like the export it stands for.
    # fmt: off
    _insert(
        con,
        "partners",
        [
            ("P001", "アルファ会計", "東京都", "1-5", 1, "2023-04-01",
             "2024-07-01 09:00:00+09", "partners_20240702.csv", "2024-07-02", 2),
            ("P002", "ベータ税理士法人", "大阪府", "6-20", None, "2023-10-01",
             "2024-07-01 09:00:00+09", "partners_20240702.csv", "2024-07-02", 3),
        ],
    )
    users = [
        # U001 three deals, logs in; U002 one deal; U003 two deals, never logs in;
        # U004 nothing (invited); U005 one deal; U006 old deal only (dormant);
        # U007 logs in, no deal (onboarded).
        ("U001", "P001", "山田 太郎", "税理士", True),
        ("U002", "P001", "佐藤 花子", "スタッフ", False),
        ("U003", "P002", "鈴木 一郎", "代表", True),
        ("U004", "P001", "高橋 次郎", "スタッフ", False),
        ("U005", "P002", "田中 三郎", "税理士", True),
        ("U006", "P002", "伊藤 四郎", "スタッフ", False),
        ("U007", "P001", "渡辺 五月", "公認会計士", True),
    ]
    _insert(
        con,
        "partner_users",
        [
            (user_id, partner_id, name, None, role, certified, "2024-01-10 10:00:00+09",
             "active", "2024-07-01 09:00:00+09", "partner_users_20240702.csv", "2024-07-02",
             line)
            for line, (user_id, partner_id, name, role, certified) in enumerate(users, start=2)
        ],
    )
    deals = [
        # deal, firm, owner, industry, size, status, approach_planned_on, registered, updated
        ("D001", "P001", "U001", "飲食", "1-5", "継続合意", None,
         "2024-06-01 09:00", "2024-06-10 10:00"),
        ("D002", "P001", "U001", "建設", "6-20", "アポ設定中", None,
         "2024-06-05 09:00", "2024-06-15 09:00"),
        ("D003", "P001", "U002", "小売", "1-5", "提案済み", None,
         "2024-06-18 10:00", "2024-06-21 00:30"),
        ("D004", "P002", "U003", "IT", "1-5", "失注", None,
         "2024-05-01 09:00", "2024-05-20 10:00"),
        ("D005", "P002", "U003", "医療", "6-20", "アプローチ予定", "2024-06-28",
         "2024-06-25 09:00", "2024-06-25 10:00"),
        ("D006", "P002", "U005", "飲食", "21-100", "アポ打診", None,
         "2024-05-20 09:00", "2024-05-20 10:00"),
        ("D007", "P001", "U001", "建設", "1-5", "アポ打診", None,
         "2024-06-28 09:00", "2024-07-02 10:00"),
        # owner unknown: excluded from every mart
        ("D008", "P001", "U999", "IT", "1-5", "アプローチ予定", None,
         "2024-06-10 09:00", "2024-06-10 09:00"),
        # registered after the as-of date: excluded
        ("D009", "P001", "U002", "飲食", "1-5", "アプローチ予定", None,
         "2024-07-01 09:00", "2024-07-01 09:00"),
        ("D010", "P002", "U006", "小売", "1-5", "失注", None,
         "2024-03-01 09:00", "2024-03-10 10:00"),
    ]
    _insert(
        con,
        "deals",
        [
            (deal_id, partner_id, owner, f"顧客{deal_id}", industry, size, "standard", status,
             planned, jst(registered), jst(updated), None, None,
             "deals_20240702.csv", "2024-07-02", line)
            for line, (
                deal_id, partner_id, owner, industry, size, status, planned, registered,
                updated,
            ) in enumerate(deals, start=2)
        ],
    )
    first_batch = [
        ("E001", "D001", "アプローチ予定", "2024-06-01 10:00"),
        ("E002", "D001", "アポ打診", "2024-06-03 10:00"),
        ("E003", "D001", "継続合意", "2024-06-10 10:00"),
        ("E004", "D002", "アポ打診", "2024-06-05 09:00"),
        ("E005", "D002", "提案済み", "2024-06-12 09:00"),
        ("E006", "D002", "アポ設定中", "2024-06-15 09:00"),
        ("E007", "D004", "アプローチ予定", "2024-05-01 10:00"),
        ("E008", "D004", "失注", "2024-05-20 10:00"),
        ("E009", "D006", "アポ打診", "2024-05-20 10:00"),
        ("E010", "D010", "アプローチ予定", "2024-03-01 10:00"),
        ("E011", "D010", "失注", "2024-03-10 10:00"),
    ]
    second_batch = [
        ("E012", "D005", "アプローチ予定", "2024-06-25 10:00"),
        ("E013", "D007", "アプローチ予定", "2024-06-28 10:00"),
    ]
    third_batch = [
        # E013 delivered again (batches overlap)
        ("E013", "D007", "アプローチ予定", "2024-06-28 10:00"),
        # after the as-of date: ignored
        ("E014", "D007", "アポ打診", "2024-07-02 10:00"),
        ("E015", "D008", "アプローチ予定", "2024-06-10 09:00"),
    ]
    for file_name, export_date, batch in (
        ("deal_status_events_20240615.csv", "2024-06-15", first_batch),
        ("deal_status_events_20240628.csv", "2024-06-28", second_batch),
        ("deal_status_events_20240702.csv", "2024-07-02", third_batch),
    ):
        _insert(
            con,
            "deal_status_events",
            [
                (event_id, deal_id, status, jst(changed), None, file_name, export_date, line)
                for line, (event_id, deal_id, status, changed) in enumerate(batch, start=2)
            ],
        )
    logins = [
        ("L001", "U001", "2024-04-01T09:00:00+09:00"),
        ("L002", "U001", "2024-06-29T10:00:00+09:00"),
        ("L003", "U002", "2024-05-15T10:00:00+09:00"),
        ("L004", "U005", "2024-03-01T10:00:00+09:00"),
        ("L005", "U006", "2024-03-01T10:00:00+09:00"),
        ("L006", "U007", "2024-06-10T10:00:00+09:00"),
        # 2024-06-30 in UTC but 2024-07-01 00:30 in Japan: after the as-of date
        ("L007", "U004", "2024-06-30T15:30:00Z"),
    ]
    _insert(
        con,
        "logins",
        [
            (event_id, user_id, dt.datetime.fromisoformat(at), "pc",
             "logins_20240702.jsonl", "2024-07-02", line)
            for line, (event_id, user_id, at) in enumerate(logins, start=1)
        ],
    )
    # fmt: on


def _dbt_build(project_tmp: Path) -> dbtRunnerResult:
    """`dbt build` of the funnel marts and everything upstream of them. Cautious indirect
    selection keeps out the tests of other marts that read a funnel mart too (their other
    parents are not built here)."""
    select = " ".join(f"+{mart}" for mart in FUNNEL_MARTS)
    return invoke_dbt(
        ["build", "--select", select, "--indirect-selection", "cautious"],
        project_tmp,
        as_of_date=AS_OF,
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("funnel")
    path = root / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        create_raw_tables(con)
        _insert_raw_rows(con)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PRM_WAREHOUSE_PATH", str(path))
        result = _dbt_build(root)
    failures = [
        f"{r.node.unique_id}: {r.status} {r.message}"
        for r in (result.result or [])
        if str(r.status) not in ("success", "pass")
    ]
    assert result.success, f"dbt build failed: {result.exception} {failures}"
    return path


def _rows(path: Path, sql: str) -> list[tuple]:
    # dbt-duckdb keeps the file open inside this process; DuckDB lets a second connection
    # in only with the same configuration, so this one is not read-only.
    with duckdb.connect(str(path)) as con:
        return con.execute(sql).fetchall()


def test_deal_funnel(warehouse: Path) -> None:
    rows = _rows(
        warehouse,
        """
        select
            deal_id, partner_id, individual_id, current_status, max_stage,
            approach_planned_entered_at, approach_entered_at, proposal_entered_at,
            proposal_agreed_entered_at, won_entered_at,
            is_open, is_lost, is_stalled, days_in_max_stage
        from marts.fct_deal_funnel
        order by deal_id
        """,
    )
    t = jst
    # fmt: off
    assert rows == [
        # approach on 06-03, jump to won on 06-10: proposal and proposal_agreed entered at
        # the won time; won is not open; 30 - 10 = 20 days in won.
        ("D001", "P001", "U001", "won", "won",
         t("2024-06-01 10:00"), t("2024-06-03 10:00"), t("2024-06-10 10:00"),
         t("2024-06-10 10:00"), t("2024-06-10 10:00"), False, False, False, 20),
        # approach 06-05 (also enters approach_planned), proposal 06-12, back to approach
        # 06-15: proposal stays entered, current status approach; 18 days <= 30: not stalled.
        ("D002", "P001", "U001", "approach", "proposal",
         t("2024-06-05 09:00"), t("2024-06-05 09:00"), t("2024-06-12 09:00"),
         None, None, True, False, False, 18),
        # no history: the snapshot status 提案済み counts at updated_at 06-21 00:30 Japan
        # time (06-20 in UTC); 30 - 21 = 9 days.
        ("D003", "P001", "U002", "proposal", "proposal",
         t("2024-06-21 00:30"), t("2024-06-21 00:30"), t("2024-06-21 00:30"),
         None, None, True, False, False, 9),
        # lost on 05-20 after approach_planned on 05-01: 31 + 29 = 60 days, not open.
        ("D004", "P002", "U003", "lost", "approach_planned",
         t("2024-05-01 10:00"), None, None, None, None, False, True, False, 60),
        # 5 days in approach_planned (< 14) but the planned approach date 06-28 has passed.
        ("D005", "P002", "U003", "approach_planned", "approach_planned",
         t("2024-06-25 10:00"), None, None, None, None, True, False, True, 5),
        # approach since 05-20: 11 + 30 = 41 days > 21: stalled.
        ("D006", "P002", "U005", "approach", "approach",
         t("2024-05-20 10:00"), t("2024-05-20 10:00"), None, None, None,
         True, False, True, 41),
        # E013 delivered twice counts once; E014 and the snapshot status (both 07-02) are
        # after the as-of date, so the deal is still approach_planned, 2 days.
        ("D007", "P001", "U001", "approach_planned", "approach_planned",
         t("2024-06-28 10:00"), None, None, None, None, True, False, False, 2),
        # D008 (unknown owner) and D009 (registered 07-01) are not counted.
        # approach_planned 03-01, lost 03-10: 30 + 30 + 31 + 30 = 121 days.
        ("D010", "P002", "U006", "lost", "approach_planned",
         t("2024-03-01 10:00"), None, None, None, None, False, True, False, 121),
    ]
    # fmt: on


def test_funnel_person(warehouse: Path) -> None:
    rows = _rows(
        warehouse,
        """
        select
            individual_id, partner_id, activity_date, approach_planned_count,
            approach_count, proposal_count, proposal_agreed_count, won_count
        from marts.fct_funnel_person
        order by individual_id, activity_date
        """,
    )
    d = dt.date.fromisoformat
    # One row per person and Japan date with an entry, read off the deal entries above.
    # fmt: off
    assert rows == [
        ("U001", "P001", d("2024-06-01"), 1, 0, 0, 0, 0),  # D001 approach_planned
        ("U001", "P001", d("2024-06-03"), 0, 1, 0, 0, 0),  # D001 approach
        ("U001", "P001", d("2024-06-05"), 1, 1, 0, 0, 0),  # D002 enters two stages
        ("U001", "P001", d("2024-06-10"), 0, 0, 1, 1, 1),  # D001 jumps to won
        ("U001", "P001", d("2024-06-12"), 0, 0, 1, 0, 0),  # D002 proposal
        ("U001", "P001", d("2024-06-28"), 1, 0, 0, 0, 0),  # D007
        ("U002", "P001", d("2024-06-21"), 1, 1, 1, 0, 0),  # D003 snapshot status
        ("U003", "P002", d("2024-05-01"), 1, 0, 0, 0, 0),  # D004
        ("U003", "P002", d("2024-06-25"), 1, 0, 0, 0, 0),  # D005
        ("U005", "P002", d("2024-05-20"), 1, 1, 0, 0, 0),  # D006
        ("U006", "P002", d("2024-03-01"), 1, 0, 0, 0, 0),  # D010
    ]
    # fmt: on


def test_funnel_partner(warehouse: Path) -> None:
    rows = _rows(
        warehouse,
        """
        select
            partner_id, activity_date, approach_planned_count, approach_count,
            proposal_count, proposal_agreed_count, won_count, active_individual_count
        from marts.fct_funnel_partner
        order by partner_id, activity_date
        """,
    )
    d = dt.date.fromisoformat
    # Dates with an entry or a login of the firm's people. Active people: a login on one of
    # the 30 dates ending on the row's date. P001's logins: U001 04-01 and 06-29, U002
    # 05-15, U007 06-10 (U004's login is 07-01 in Japan time).
    # fmt: off
    assert rows == [
        ("P001", d("2024-04-01"), 0, 0, 0, 0, 0, 1),  # U001's login only
        ("P001", d("2024-05-15"), 0, 0, 0, 0, 0, 1),  # U002; U001's 04-01 is 44 days back
        ("P001", d("2024-06-01"), 1, 0, 0, 0, 0, 1),  # window 05-03..06-01: U002
        ("P001", d("2024-06-03"), 0, 1, 0, 0, 0, 1),  # U002
        ("P001", d("2024-06-05"), 1, 1, 0, 0, 0, 1),  # U002
        ("P001", d("2024-06-10"), 0, 0, 1, 1, 1, 2),  # U002 and U007
        ("P001", d("2024-06-12"), 0, 0, 1, 0, 0, 2),  # window 05-14..06-12: U002, U007
        ("P001", d("2024-06-21"), 1, 1, 1, 0, 0, 1),  # window 05-23..06-21: U007
        ("P001", d("2024-06-28"), 1, 0, 0, 0, 0, 1),  # U007
        ("P001", d("2024-06-29"), 0, 0, 0, 0, 0, 2),  # U007 and U001
        ("P002", d("2024-03-01"), 1, 0, 0, 0, 0, 2),  # U005 and U006 logged in that day
        ("P002", d("2024-05-01"), 1, 0, 0, 0, 0, 0),  # no login within 04-02..05-01
        ("P002", d("2024-05-20"), 1, 1, 0, 0, 0, 0),
        ("P002", d("2024-06-25"), 1, 0, 0, 0, 0, 0),
    ]
    # fmt: on
    # Person rows summed per firm equal the firm rows: P001 approach_planned 3 + 1 = 4,
    # P002 1 + 1 + 1 + 1 = 4 (all eight deals entered approach_planned).
    totals = _rows(
        warehouse,
        """
        select partner_id, sum(approach_planned_count), sum(proposal_count)
        from marts.fct_funnel_person group by partner_id order by partner_id
        """,
    )
    assert totals == [("P001", 4, 3), ("P002", 4, 0)]


def test_individuals(warehouse: Path) -> None:
    rows = _rows(
        warehouse,
        """
        select
            individual_id, partner_id, partner_name, first_login_at, last_login_at,
            is_active_30d, lifecycle_stage
        from marts.dim_partner_individual
        order by individual_id
        """,
    )
    t = jst
    # Activity window for lifecycle: 2024-04-02..2024-06-30 (90 dates); login window for
    # is_active_30d: 2024-06-01..2024-06-30.
    # fmt: off
    assert rows == [
        # last login 06-29; owns D001, D002, D007
        ("U001", "P001", "アルファ会計", t("2024-04-01 09:00"), t("2024-06-29 10:00"),
         True, "activated"),
        # last login 05-15 (not within 30 days); D003's status changed 06-21
        ("U002", "P001", "アルファ会計", t("2024-05-15 10:00"), t("2024-05-15 10:00"),
         False, "activated"),
        # no login, but owns D004 and D005 (activity 06-25)
        ("U003", "P002", "ベータ税理士法人", None, None, False, "activated"),
        # the only login is 07-01 in Japan time: still invited
        ("U004", "P001", "アルファ会計", None, None, False, "invited"),
        # D006 registered and changed on 05-20, within 90 days
        ("U005", "P002", "ベータ税理士法人", t("2024-03-01 10:00"), t("2024-03-01 10:00"),
         False, "activated"),
        # D010's last change 03-10 and login 03-01: both before 04-02
        ("U006", "P002", "ベータ税理士法人", t("2024-03-01 10:00"), t("2024-03-01 10:00"),
         False, "dormant"),
        # logged in 06-10, owns no deal
        ("U007", "P001", "アルファ会計", t("2024-06-10 10:00"), t("2024-06-10 10:00"),
         True, "onboarded"),
    ]
    # fmt: on


def test_partners(warehouse: Path) -> None:
    rows = _rows(
        warehouse,
        """
        select
            partner_id, partner_name, advisor_rank, joined_program_on, individual_count,
            active_individual_count
        from marts.dim_partner
        order by partner_id
        """,
    )
    d = dt.date.fromisoformat
    # fmt: off
    assert rows == [
        # U001, U002, U004, U007; active within 30 days: U001 (06-29), U007 (06-10)
        ("P001", "アルファ会計", 1, d("2023-04-01"), 4, 2),
        # U003, U005, U006; none logged in since 2024-06-01
        ("P002", "ベータ税理士法人", None, d("2023-10-01"), 3, 0),
    ]
    # fmt: on


def test_unknown_label_stops_the_marts(warehouse: Path) -> None:
    """Runs last in this module: it adds a bad event to the shared warehouse."""
    with duckdb.connect(str(warehouse)) as con:
        # fmt: off
        _insert(
            con,
            "deal_status_events",
            [
                ("E016", "D002", UNKNOWN_LABEL, jst("2024-06-20 10:00"), None,
                 UNKNOWN_LABEL_FILE, "2024-06-25", 2),
            ],
            # a later load than the first build's: the incremental event model picks it up
            loaded_at="2024-07-03 12:00:00+00",
        )
        # fmt: on
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PRM_WAREHOUSE_PATH", str(warehouse))
        result = _dbt_build(warehouse.parent)
    assert not result.success
    statuses = {r.node.name: str(r.status) for r in result.result}
    assert statuses["int_deal_status_events_validated"] == "error"
    message = next(
        r.message for r in result.result if r.node.name == "int_deal_status_events_validated"
    )
    assert UNKNOWN_LABEL in message
    assert f"deal_status_events file {UNKNOWN_LABEL_FILE}" in message
    # every mart is downstream of the guard and is skipped, not rebuilt
    for mart in FUNNEL_MARTS:
        assert statuses[mart] == "skipped", mart
    # the marts keep the figures of the last good build (D002 still current 'approach')
    assert _rows(
        warehouse, "select current_status from marts.fct_deal_funnel where deal_id = 'D002'"
    ) == [("approach",)]
