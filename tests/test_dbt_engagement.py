"""The engagement, learning and support-priority marts, built by a real `dbt build`.

Hand-made raw rows go into a DuckDB file (the raw schema of the contract), dbt builds the
marts as of 2024-06-30, and every expected value below is worked out by hand from those
rows; the comments give the reasoning. The expectations rest on the shipped seeds, which
`test_seeds_are_the_ones_the_expectations_assume` pins first.

Calendar: the as-of date D = 2024-06-30; d(n) is the Japan-time date n days before it. The
90-day window is d(89) = 2024-04-02 .. d(0). Every instant is written in Japan time, at
noon unless said otherwise.

Engagement weights (total 20, so one weight unit is 5 points) give, per unit below the cap:
login day 5*3/30 = 0.5, content view 5*1/20 = 0.25, distinct content 5*1/10 = 0.5,
talk-script view 5*2/10 = 1.0, lesson 5*2/10 = 1.0, quiz passed 5*1/2 = 2.5,
deal registered 5*5/10 = 2.5, stage entry 5*5/20 = 1.25.
Two blocks recur: "reader" = 10 sales decks viewed twice each (20 views, 10 distinct: caps
reached, 5 + 5 = 10 points) and "talk10" = 10 talk-script views on top of the reader block
(views and distinct contents are already capped, so only the talk component adds: 10
points). A won deal registered in the window, with a planned event and then the won event,
enters all five stages: 2.5 + 5 * 1.25 = 8.75 points.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunnerResult

from dbt_invocation import invoke_dbt
from prm_warehouse.raw.contract import SOURCES_BY_NAME
from prm_warehouse.raw.schema import create_raw_tables
from prm_warehouse.settings import PROJECT_ROOT

AS_OF = dt.date(2024, 6, 30)
JST = dt.timezone(dt.timedelta(hours=9))
LOADED_AT = dt.datetime(2024, 7, 1, 12, 0, tzinfo=dt.UTC)
EXPORT_DATE = dt.date(2024, 7, 1)

PLANNED = "アプローチ予定"
APPROACH = "アポ打診"
PROPOSAL = "提案済み"
WON = "継続合意"

SELECT = (
    "+path:../models/marts/engagement +path:../models/intermediate/engagement "
    "+dim_partner +dim_partner_individual engagement_weights support_priority_rules"
)


def d(days_before: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days_before)


def at(days_before: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    """Japan-time instant on d(days_before)."""
    day = d(days_before)
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=JST)


def jst(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).replace(tzinfo=JST)


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    """Rows hold the contract columns; the lineage columns are added here."""
    width = len(SOURCES_BY_NAME[table].columns)
    file_name = f"{table}_20240701.csv"
    for line, row in enumerate(rows, start=2):
        assert len(row) == width, f"{table} row {row} has {len(row)} values, not {width}"
        values = [*row, file_name, EXPORT_DATE, line, LOADED_AT]
        placeholders = ", ".join(["?"] * len(values))
        con.execute(f"insert into raw.{table} values ({placeholders})", values)


# (deal_id, partner, owner, client_industry, approach_planned_on, registered_at, events)
DEALS: list[tuple] = [
    # U202: D01 planned, approach date d(5) passed -> stalled (20 days > 14, and the date has
    # passed) and an overdue planned approach. D02 at approach since d(25) -> stalled
    # (25 > 21) and an approach without proposal (25 > 14); approached after its plan: late.
    ("D01", "P002", "U202", "飲食", d(5), at(20), [(PLANNED, at(20))]),
    ("D02", "P002", "U202", "飲食", d(30), at(40), [(PLANNED, at(40)), (APPROACH, at(25))]),
    # U401: approach 15 days ago (just above 14: counts) and 14 days ago (just below).
    ("D03", "P004", "U401", "建設", None, at(20), [(APPROACH, at(15))]),
    ("D04", "P004", "U401", "建設", None, at(20), [(APPROACH, at(14))]),
    # U402: D05 planned for a future date (not stalled: 10 <= 14 days, date not passed);
    # D08 proposal exactly 30 days ago (not stalled: 30 is not > 30; not "recent" either).
    ("D05", "P004", "U402", "IT", dt.date(2024, 7, 5), at(10), [(PLANNED, at(10))]),
    ("D08", "P004", "U402", "IT", None, at(45), [(PLANNED, at(45)), (PROPOSAL, at(30, 15))]),
    # U403: D06 approach 5 days ago, waits for a proposal; D07 proposal 29 days ago (recent)
    # and approached on the planned date (on time).
    ("D06", "P004", "U403", "小売", None, at(10), [(APPROACH, at(5))]),
    ("D07", "P004", "U403", "小売", d(29), at(35), [(PROPOSAL, at(29))]),
    # U404 / U405: won 30 and 29 days ago, their last activity; U406 won long ago (dormant).
    ("D09", "P004", "U404", "医療", None, at(60), [(PLANNED, at(60)), (WON, at(30))]),
    ("D10", "P004", "U405", "医療", None, at(60), [(PLANNED, at(60)), (WON, at(29))]),
    ("D11", "P004", "U406", "医療", None, at(120), [(PLANNED, at(120)), (WON, at(100))]),
]
# P003: four won deals each for U301, U302, U303, registered 2024-04-08, won 2024-04-10.
for number, owner in enumerate(["U301"] * 4 + ["U302"] * 4 + ["U303"] * 4, start=12):
    DEALS.append(
        (
            f"D{number:02d}",
            "P003",
            owner,
            "IT",
            None,
            jst("2024-04-08 12:00"),
            [(PLANNED, jst("2024-04-08 12:00")), (WON, jst("2024-04-10 12:00"))],
        )
    )


def _insert_raw_rows(con: duckdb.DuckDBPyConnection) -> None:
    _insert(
        con,
        "partners",
        [
            (
                partner_id,
                f"{partner_id} 会計事務所",
                "東京都",
                "1-5",
                None,
                dt.date(2023, 4, 1),
                jst("2024-06-01 09:00"),
            )
            # P006 has no people at all.
            for partner_id in ["P001", "P002", "P003", "P004", "P005", "P006"]
        ],
    )
    people = {
        "P001": ["U101", "U102", "U103"],
        "P002": ["U201", "U202"],
        "P003": ["U301", "U302", "U303"],
        "P004": ["U401", "U402", "U403", "U404", "U405", "U406"],
        "P005": ["U501", "U502"],
    }
    _insert(
        con,
        "partner_users",
        [
            (
                user_id,
                partner_id,
                f"利用者 {user_id}",
                None,
                "税理士",
                True,
                jst("2024-01-10 10:00"),
                "active",
                jst("2024-06-01 09:00"),
            )
            for partner_id, users in people.items()
            for user_id in users
        ],
    )

    deal_rows, event_rows = [], []
    for deal_id, partner, owner, industry, planned_on, registered_at, events in DEALS:
        last_label, last_at = events[-1]
        deal_rows.append(
            (
                deal_id,
                partner,
                owner,
                f"顧客 {deal_id}",
                industry,
                "1-5",
                "standard",
                last_label,
                planned_on,
                registered_at,
                last_at,
                None,
                10000.0,
            )
        )
        for number, (label, changed_at) in enumerate(events, start=1):
            event_rows.append((f"E{deal_id}-{number}", deal_id, label, changed_at, owner))
    _insert(con, "deals", deal_rows)
    _insert(con, "deal_status_events", event_rows)

    logins: list[tuple[str, dt.datetime]] = []
    # 29 login days d(28)..d(0); U301 has 30 (d(29)..d(0)).
    for user in ["U101", "U102", "U201", "U302", "U303", "U501"]:
        logins += [(user, at(n)) for n in range(29)]
    logins += [(user, at(n)) for user in ["U301"] for n in range(30)]
    logins += [
        ("U101", at(90)),  # d(90) = 2024-04-01: one day before the window, not counted
        ("U102", at(0, 18)),  # a second login on d(0): still one login day
        ("U201", jst("2024-07-01 00:30")),  # 2024-06-30 15:30 UTC but after D in Japan
        ("U202", at(2)),
        ("U401", at(1)),
        ("U402", at(3)),
        ("U403", at(4)),
        ("U404", at(35)),
        ("U502", at(100)),  # logged in once, before the window: onboarded, score 0
    ]
    _insert(
        con,
        "logins",
        [(f"L{n:04d}", user, occurred, "pc") for n, (user, occurred) in enumerate(logins)],
    )

    contents = [(f"SD{n:02d}", f"営業資料 {n}", "sales_deck", None) for n in range(1, 11)]
    contents += [
        ("TS_GEN", "共通トークスクリプト", "talk_script", None),
        ("TS_BUILD", "建設業向けトーク", "talk_script", "建設"),
        ("CS_X", "導入事例", "case_study", None),
    ]
    content_rows = [
        (cid, title, ctype, industry, "topic", jst("2024-01-01 09:00"))
        for cid, title, ctype, industry in contents
    ]
    content_rows += [
        # Three talk scripts for 飲食: the newest one published by D is suggested; the one
        # published after D does not exist yet as of D.
        (
            "TS_FOOD_OLD",
            "飲食業向けトーク 旧版",
            "talk_script",
            "飲食",
            "topic",
            jst("2024-01-01 09:00"),
        ),
        (
            "TS_FOOD_NEW",
            "飲食業向けトーク",
            "talk_script",
            "飲食",
            "topic",
            jst("2024-05-01 09:00"),
        ),
        (
            "TS_FOOD_FUTURE",
            "飲食業向けトーク 次版",
            "talk_script",
            "飲食",
            "topic",
            jst("2024-07-15 09:00"),
        ),
    ]
    _insert(con, "contents", content_rows)

    views: list[tuple[str, str, dt.datetime, str]] = []
    for user in ["U101", "U102", "U201", "U301", "U302", "U303", "U501"]:
        # reader block on d(45) = 2024-05-16
        for n in range(1, 11):
            views += [
                (user, f"SD{n:02d}", at(45, 10), "view"),
                (user, f"SD{n:02d}", at(45, 11), "view"),
            ]
    for user in ["U101", "U102", "U201", "U501"]:
        views += [(user, "TS_GEN", at(45, 14, n), "view") for n in range(10)]
    # U301 reads talk scripts five days before its deals' approach (2024-04-10); U302 and
    # U303 only in June, after theirs.
    views += [("U301", "TS_GEN", jst(f"2024-04-05 12:{n:02d}"), "view") for n in range(10)]
    for user in ["U302", "U303"]:
        views += [(user, "TS_GEN", at(10, 12, n), "view") for n in range(10)]
    views += [
        ("U401", "TS_BUILD", at(29), "view"),  # 29 days ago: recent
        ("U402", "TS_GEN", at(30, 10), "view"),  # 30 days ago: not recent; before D08 at 15:00
        # CS_X: March has 3 views (two people) and 1 download; April 1 00:30 JST is still
        # March 31 in UTC but counts for April; the July view is after D.
        ("U502", "CS_X", jst("2024-03-10 12:00"), "view"),
        ("U502", "CS_X", jst("2024-03-31 23:30"), "view"),
        ("U502", "CS_X", jst("2024-03-15 12:00"), "download"),
        ("U406", "CS_X", jst("2024-03-20 12:00"), "view"),
        ("U502", "CS_X", jst("2024-04-01 00:30"), "download"),
        ("U502", "CS_X", jst("2024-07-01 12:00"), "view"),
    ]
    _insert(
        con,
        "content_views",
        [
            (f"V{n:04d}", user, content, occurred, action, 60.0)
            for n, (user, content, occurred, action) in enumerate(views)
        ],
    )

    _insert(
        con,
        "courses",
        [
            ("C1", "基礎", 3, True),
            ("C2", "製品", 2, True),
            ("C3", "営業", 10, False),
        ],
    )
    lessons: list[tuple[str, str, str, dt.datetime]] = [
        # U101 finishes C1 with its third distinct lesson on d(100) (L1 again on d(95) does
        # not count twice) and C2 on d(96): onboarding complete on d(96), before the window.
        ("U101", "C1", "L1", at(110)),
        ("U101", "C1", "L3", at(105)),
        ("U101", "C1", "L2", at(100)),
        ("U101", "C1", "L1", at(95)),
        ("U101", "C2", "L1", at(99)),
        ("U101", "C2", "L2", at(96)),
        # U102 finishes C1; C2 only after D: onboarding not complete as of D.
        ("U102", "C1", "L1", at(108)),
        ("U102", "C1", "L2", at(108, 13)),
        ("U102", "C1", "L3", at(108, 14)),
        ("U102", "C2", "L1", jst("2024-07-02 12:00")),
        ("U102", "C2", "L2", jst("2024-07-02 13:00")),
    ]
    for user, count in [("U101", 6), ("U102", 6), ("U201", 5), ("U302", 1), ("U501", 6)]:
        lessons += [(user, "C3", f"L{n}", at(20, 12, n)) for n in range(1, count + 1)]
    _insert(
        con,
        "lesson_completions",
        [
            (f"LC{n:04d}", user, course, f"{course}-{lesson}", completed)
            for n, (user, course, lesson, completed) in enumerate(lessons)
        ],
    )

    _insert(
        con,
        "quizzes",
        [
            ("Q1", "C1", "基礎テスト", 100.0, 70.0),
            ("Q2", "C2", "製品テスト", 100.0, 60.0),
            ("Q3", None, "総合テスト", 100.0, 50.0),
        ],
    )
    _insert(
        con,
        "quiz_attempts",
        [
            ("A01", "U202", "Q1", at(50), 50.0),  # failed first ...
            ("A02", "U202", "Q1", at(10), 80.0),  # ... then passed on d(10)
            ("A03", "U301", "Q1", at(40), 100.0),
            ("A04", "U301", "Q2", at(40, 13), 100.0),
            ("A05", "U401", "Q2", at(20), 59.0),  # one point below pass_score 60: failed
            ("A06", "U401", "Q2", jst("2024-07-01 12:00"), 90.0),  # after D: ignored
            ("A07", "U402", "Q2", at(40), 60.0),  # exactly pass_score: passed
        ],
    )


def _dbt_build(root: Path) -> dbtRunnerResult:
    return invoke_dbt(
        [
            "build",
            "--select",
            SELECT,
            # The upstream models' unit tests belong to their own suites.
            "--exclude-resource-type",
            "unit_test",
            # Only tests whose every parent is built here (not the funnel marts' own).
            "--indirect-selection",
            "cautious",
        ],
        root,
        as_of_date=AS_OF,
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("engagement")
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
        if str(r.status) not in ("success", "pass", "skipped")
    ]
    assert result.success, f"dbt build failed: {result.exception} {failures}"
    return path


def _rows(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path)) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql).fetchall()


def test_seeds_are_the_ones_the_expectations_assume() -> None:
    # Every expected value below is worked out with these numbers; a retuned seed needs the
    # expectations recomputed.
    with (PROJECT_ROOT / "seeds" / "engagement_weights.csv").open(encoding="utf-8") as f:
        weights = {row["name"]: row for row in csv.DictReader(f)}
    assert {
        n: (float(r["weight"]), float(r["cap"]))
        for n, r in weights.items()
        if r["kind"] == "component"
    } == {
        "login_days": (3, 30),
        "content_views": (1, 20),
        "distinct_contents_viewed": (1, 10),
        "talk_script_views": (2, 10),
        "lessons_completed": (2, 10),
        "quizzes_passed": (1, 2),
        "deals_registered": (5, 10),
        "stage_entries": (5, 20),
    }
    assert float(weights["key_person_firm_min_score"]["min_score"]) == 40
    assert float(weights["key_person_programme_min_score"]["min_score"]) == 70
    with (PROJECT_ROOT / "seeds" / "support_priority_rules.csv").open(encoding="utf-8") as f:
        rules = {row["rule_key"]: row for row in csv.DictReader(f)}
    assert {
        k: (r["weight"], r["threshold_days"], r["threshold_count"]) for k, r in rules.items()
    } == {
        "stalled_deal": ("3", "", ""),
        "overdue_planned_approach": ("2", "", ""),
        "approach_without_proposal": ("1", "14", ""),
        "no_recent_talk_script_view": ("1", "30", "1"),
        "failed_quiz": ("1", "", ""),
        "going_dormant": ("2", "30", ""),
        "suggest_talk_script": ("", "", "2"),
    }


def test_engagement_components_and_scores(warehouse: Path) -> None:
    rows = _rows(
        warehouse,
        """
        select individual_id, login_days, content_views, distinct_contents_viewed,
            talk_script_views, lessons_completed, quizzes_passed, deals_registered,
            stage_entries, engagement_score
        from marts.fct_key_person_engagement order by individual_id
        """,
    )
    # (id, logins, views, distinct, talk, lessons, quizzes, deals, entries, score)
    assert rows == [
        # 29 login days (d(90) is outside) 14.5 + reader 10 + talk10 10 + 6 lessons 6
        (  # = 40.5; views 20 + 10 = 30, distinct 10 sales decks + TS_GEN = 11
            "U101",
            29,
            30,
            11,
            10,
            6,
            0,
            0,
            0,
            40.5,
        ),
        ("U102", 29, 30, 11, 10, 6, 0, 0, 0, 40.5),  # same as U101: a tie
        ("U103", 0, 0, 0, 0, 0, 0, 0, 0, 0.0),  # invited, nothing at all
        # 29 login days (the 2024-07-01 00:30 JST login is after D) 14.5 + reader 10
        # + talk10 10 + 5 lessons 5 = 39.5, just below the firm threshold 40
        ("U201", 29, 30, 11, 10, 5, 0, 0, 0, 39.5),
        # login 0.5 + quiz passed on d(10) 2.5 + D01, D02 registered 5.0 + entries
        # D01 planned, D02 planned and approach: 3 * 1.25 = 3.75 -> 11.75
        ("U202", 1, 0, 0, 0, 0, 1, 2, 3, 11.75),
        # 30 login days 15 + reader 10 + talk10 10 + 2 quizzes 5 + four won deals 35 = 75
        ("U301", 30, 30, 11, 10, 0, 2, 4, 20, 75.0),
        # 14.5 + 10 + 10 + one lesson 1 + 35 = 70.5, just above the programme threshold 70
        ("U302", 29, 30, 11, 10, 1, 0, 4, 20, 70.5),
        ("U303", 29, 30, 11, 10, 0, 0, 4, 20, 69.5),  # 14.5 + 10 + 10 + 35: just below 70
        # login 0.5 + one TS_BUILD view (0.25 + 0.5 + 1.0) + D03, D04 5.0 + entries: each
        # approach also enters approach_planned, 4 * 1.25 = 5.0 -> 12.25 (failed quiz: 0)
        ("U401", 1, 1, 1, 1, 0, 0, 2, 4, 12.25),
        # login 0.5 + one TS_GEN view 1.75 + quiz 2.5 + D05, D08 5.0 + entries D05 planned,
        # D08 planned, approach, proposal: 4 * 1.25 = 5.0 -> 14.75
        ("U402", 1, 1, 1, 1, 0, 1, 2, 4, 14.75),
        # login 0.5 + D06, D07 5.0 + entries D06 2, D07 3: 5 * 1.25 = 6.25 -> 11.75
        ("U403", 1, 0, 0, 0, 0, 0, 2, 5, 11.75),
        ("U404", 1, 0, 0, 0, 0, 0, 1, 5, 9.25),  # login d(35) 0.5 + won deal 8.75
        ("U405", 0, 0, 0, 0, 0, 0, 1, 5, 8.75),  # won deal 8.75
        ("U406", 0, 0, 0, 0, 0, 0, 0, 0, 0.0),  # everything before the window
        ("U501", 29, 30, 11, 10, 6, 0, 0, 0, 40.5),  # profile of U101
        ("U502", 0, 0, 0, 0, 0, 0, 0, 0, 0.0),  # CS_X views and login before the window
    ]


def test_key_persons_ranks_and_ties(warehouse: Path) -> None:
    rows = _rows(
        warehouse,
        """
        select individual_id, partner_id, rank_in_partner, is_key_person
        from marts.fct_key_person_engagement order by individual_id
        """,
    )
    assert rows == [
        # P001: U101 and U102 tie at 40.5 -> both rank 1, both >= 40: both key persons;
        # U103 (0) gets the next dense rank, 2.
        ("U101", "P001", 1, True),
        ("U102", "P001", 1, True),
        ("U103", "P001", 2, False),
        # P002: its top scorer U201 has 39.5 < 40: the firm has no key person.
        ("U201", "P002", 1, False),
        ("U202", "P002", 2, False),
        # P003: U301 top (75); U302 rank 2 but 70.5 >= 70 (programme-wide); U303 69.5 is
        # neither top nor >= 70.
        ("U301", "P003", 1, True),
        ("U302", "P003", 2, True),
        ("U303", "P003", 3, False),
        # P004: 14.75, 12.25, 11.75, 9.25, 8.75, 0 -> ranks 1..6, top below 40: none.
        ("U401", "P004", 2, False),
        ("U402", "P004", 1, False),
        ("U403", "P004", 3, False),
        ("U404", "P004", 4, False),
        ("U405", "P004", 5, False),
        ("U406", "P004", 6, False),
        # P005: U501 (40.5) alone at the top: one key person.
        ("U501", "P005", 1, True),
        ("U502", "P005", 2, False),
    ]


def test_key_person_coverage(warehouse: Path) -> None:
    rows = _rows(
        warehouse,
        """
        select partner_id, individual_count, key_person_count, top_engagement_score,
            coverage_band
        from marts.fct_partner_key_person_coverage order by partner_id
        """,
    )
    assert rows == [
        ("P001", 3, 2, 40.5, "several"),  # the tied pair
        ("P002", 2, 0, 39.5, "none"),  # top scorer just below 40
        ("P003", 3, 2, 75.0, "several"),  # U301 (top) and U302 (>= 70)
        ("P004", 6, 0, 14.75, "none"),
        ("P005", 2, 1, 40.5, "one"),
        ("P006", 0, 0, None, "none"),  # a firm without people
    ]


def test_learning_progress(warehouse: Path) -> None:
    rows = _rows(
        warehouse,
        """
        select individual_id, course_id, lessons_completed, completion_rate,
            completed_at, quiz_attempts, best_quiz_score, quiz_passed
        from marts.fct_learning_progress
        where (individual_id, course_id) in (
            ('U101', 'C1'), ('U101', 'C2'), ('U101', 'C3'), ('U102', 'C2'), ('U103', 'C1'),
            ('U202', 'C1'), ('U301', 'C2'), ('U301', 'C3'), ('U401', 'C2'), ('U402', 'C2')
        )
        order by individual_id, course_id
        """,
    )
    utc = dt.UTC
    assert rows == [
        # three distinct lessons of 3; the third first completion was L2 on d(100) =
        # 2024-03-22 12:00 JST = 03:00 UTC (the repeat of L1 on d(95) changes nothing)
        ("U101", "C1", 3, 1.0, dt.datetime(2024, 3, 22, 3, 0, tzinfo=utc), 0, None, False),
        # C2 complete with L2 on d(96) = 2024-03-26 12:00 JST
        ("U101", "C2", 2, 1.0, dt.datetime(2024, 3, 26, 3, 0, tzinfo=utc), 0, None, False),
        ("U101", "C3", 6, 0.6, None, 0, None, None),  # 6 of 10; C3 has no quiz: NULL
        ("U102", "C2", 0, 0.0, None, 0, None, False),  # its completions come after D
        ("U103", "C1", 0, 0.0, None, 0, None, False),  # never attempted Q1: not passed
        ("U202", "C1", 0, 0.0, None, 2, 80.0, True),  # 50 then 80 >= 70: passed
        ("U301", "C2", 0, 0.0, None, 1, 100.0, True),
        ("U301", "C3", 0, 0.0, None, 0, None, None),
        ("U401", "C2", 0, 0.0, None, 1, 59.0, False),  # 59 < 60; the 90 after D ignored
        ("U402", "C2", 0, 0.0, None, 1, 60.0, True),  # 60 >= 60
    ]
    # 16 people of known firms x 3 courses
    assert _rows(warehouse, "select count(*) from marts.fct_learning_progress") == [(48,)]


def test_onboarding_and_quizzes_per_person(warehouse: Path) -> None:
    rows = _rows(
        warehouse,
        """
        select individual_id, onboarding_completed_at, quizzes_passed, quizzes_failed
        from intermediate.int_individual_learning_summarized
        where individual_id in ('U101', 'U102', 'U202', 'U301', 'U401', 'U402')
        order by individual_id
        """,
    )
    assert rows == [
        # both required courses done: the later one, C2 on 2024-03-26 12:00 JST
        ("U101", dt.datetime(2024, 3, 26, 3, 0, tzinfo=dt.UTC), 0, 0),
        ("U102", None, 0, 0),  # C2 missing as of D
        ("U202", None, 1, 0),  # failed then passed Q1: one passed, none failed
        ("U301", None, 2, 0),
        ("U401", None, 0, 1),
        ("U402", None, 1, 0),
    ]


def test_content_engagement(warehouse: Path) -> None:
    rows = _rows(
        warehouse,
        """
        select content_id, month_start, content_type, views, downloads, unique_viewers
        from marts.fct_content_engagement
        where content_id in ('CS_X', 'SD01')
        order by content_id, month_start
        """,
    )
    assert rows == [
        # U502 on 03-10 and 03-31 23:30 JST, U406 on 03-20: 3 views by 2 people; 1 download
        ("CS_X", dt.date(2024, 3, 1), "case_study", 3, 1, 2),
        # the download at 2024-04-01 00:30 JST belongs to April; the July view is after D
        ("CS_X", dt.date(2024, 4, 1), "case_study", 0, 1, 0),
        # reader block: seven people viewed SD01 twice on 2024-05-16
        ("SD01", dt.date(2024, 5, 1), "sales_deck", 14, 0, 7),
    ]


def test_talk_script_proposal_effect(warehouse: Path) -> None:
    rows = _rows(
        warehouse,
        """
        select month_start, talk_script_group, individual_count, approach_deal_count,
            proposal_deal_count, proposal_rate
        from marts.fct_talk_script_proposal_effect
        order by month_start, talk_script_group
        """,
    )
    assert rows == [
        # March: D11 (U406, won 2024-03-22, no view) only; the viewed cohort is empty: NULL
        (dt.date(2024, 3, 1), "no_talk_script_view", 1, 1, 1, 1.0),
        (dt.date(2024, 3, 1), "viewed_talk_script", 0, 0, 0, None),
        # April: the 12 P003 deals approached 2024-04-10; U302 and U303 read only in June,
        # U301 on 2024-04-05 (within the 30 days before). All were won.
        (dt.date(2024, 4, 1), "no_talk_script_view", 2, 8, 8, 1.0),
        (dt.date(2024, 4, 1), "viewed_talk_script", 1, 4, 4, 1.0),
        # May 31: D09 (U404, no view) won; D08 (U402) proposed at 15:00 after the 10:00 view
        (dt.date(2024, 5, 1), "no_talk_script_view", 1, 1, 1, 1.0),
        (dt.date(2024, 5, 1), "viewed_talk_script", 1, 1, 1, 1.0),
        # June: without a view D02 (U202), D06 and D07 (U403), D10 (U405): D07 proposed and
        # D10 won -> 2 of 4; with a view D03, D04 (U401 read TS_BUILD on 06-01): 0 of 2
        (dt.date(2024, 6, 1), "no_talk_script_view", 3, 4, 2, 0.5),
        (dt.date(2024, 6, 1), "viewed_talk_script", 1, 2, 0, 0.0),
    ]


def test_support_priority(warehouse: Path) -> None:
    rows = _rows(
        warehouse,
        """
        select priority_rank, individual_id, partner_id, priority_score, stalled_deal_count,
            overdue_planned_approach_count, approach_without_proposal_count,
            has_no_recent_talk_script_view, failed_quiz_count, is_going_dormant, reason_codes
        from marts.fct_support_priority order by priority_rank
        """,
    )
    assert rows == [
        # U202: stalled D01, D02 (2 * 3) + overdue D01 (2) + D02 at approach 25 > 14 days (1)
        # + deals wait for a proposal, no proposal and no talk-script view in 30 days (1)
        (
            1,
            "U202",
            "P002",
            10.0,
            2,
            1,
            1,
            True,
            0,
            False,
            "stalled_deal,overdue_planned_approach,approach_without_proposal,"
            "no_recent_talk_script_view",
        ),
        # U401: D03 at approach 15 > 14 days (1; D04 at 14 days does not count) + Q2 failed
        # (1) = 2; TS_BUILD read 29 days ago is recent. Ties with U404 on 2 points, on
        # stalled (0) and overdue (0) counts: the lower id goes first.
        (2, "U401", "P004", 2.0, 0, 0, 1, False, 1, False, "approach_without_proposal,failed_quiz"),
        # U404: last activity the won event 30 days ago (>= 30), still activated: 2
        (3, "U404", "P004", 2.0, 0, 0, 0, False, 0, True, "going_dormant"),
        # U402: D05 waits for a proposal; D08's proposal 30 days ago is outside the 30-day
        # look-back, and so is the talk-script view 30 days ago: 1
        (4, "U402", "P004", 1.0, 0, 0, 0, True, 0, False, "no_recent_talk_script_view"),
        # Not listed: U403 (a proposal 29 days ago, so not "proposing little"), U405 (last
        # activity 29 days ago), U406 (dormant, not going dormant), and everyone else.
    ]


def test_support_actions_and_talk_script_suggestion(warehouse: Path) -> None:
    rows = _rows(
        warehouse,
        """
        select individual_id, suggested_next_action, suggested_talk_script_industry,
            suggested_talk_script_id, suggested_talk_script_title
        from marts.fct_support_priority order by priority_rank
        """,
    )
    assert rows == [
        # stalled deals give U202 the most points (6); both are 飲食 (2 >= 2), and of the
        # 飲食 talk scripts published by D the newest is TS_FOOD_NEW (2024-05-01).
        (
            "U202",
            "Call about the stalled deals and agree a next step for each",
            "飲食",
            "TS_FOOD_NEW",
            "飲食業向けトーク",
        ),
        # 1 point each: approach_without_proposal (sort_order 3) before failed_quiz (5)
        ("U401", "Help prepare the proposal for the deals waiting at approach", None, None, None),
        ("U404", "Check in before the person goes dormant", None, None, None),
        ("U402", "Send the talk scripts for the person's client industries", None, None, None),
    ]


def test_planned_approach_adherence(warehouse: Path) -> None:
    rows = _rows(
        warehouse,
        """
        select deal_id, individual_id, approach_planned_on, approach_entered_on,
            adherence_status, days_late, is_overdue
        from marts.fct_planned_approach_adherence order by deal_id
        """,
    )
    assert rows == [
        ("D01", "U202", d(5), None, "not_yet", 0, True),  # plan passed, still planned
        ("D02", "U202", d(30), d(25), "late", 5, False),  # approached 5 days after plan
        ("D05", "U402", dt.date(2024, 7, 5), None, "not_yet", 0, False),  # plan ahead
        ("D07", "U403", d(29), d(29), "on_time", 0, False),  # approached on the planned day
    ]


def test_partner_lifecycle_and_key_person_counts(warehouse: Path) -> None:
    rows = _rows(
        warehouse,
        """
        select partner_id, individual_count, invited_count, onboarded_count,
            activated_count, dormant_count, key_person_count
        from marts.dim_partner order by partner_id
        """,
    )
    assert rows == [
        # U101, U102 logged in without deals (onboarded); U103 never logged in (invited)
        ("P001", 3, 1, 2, 0, 0, 2),
        # U201 onboarded; U202 has deals and logged in 2 days ago (activated)
        ("P002", 2, 0, 1, 1, 0, 0),
        ("P003", 3, 0, 0, 3, 0, 2),  # deals and logins up to D
        # U401-U405 own deals with activity within 90 days (U405's last is the won event
        # 29 days ago); U406's last activity, the won event on d(100), is older: dormant
        ("P004", 6, 0, 0, 5, 1, 0),
        ("P005", 2, 0, 2, 0, 0, 1),  # U501 logs in; U502 logged in once, on d(100)
        ("P006", 0, 0, 0, 0, 0, 0),
    ]


def test_individual_learning_and_key_person_columns(warehouse: Path) -> None:
    rows = _rows(
        warehouse,
        """
        select individual_id, lifecycle_stage, onboarding_completed_at, quizzes_passed,
            is_key_person
        from marts.dim_partner_individual
        where individual_id in ('U101', 'U102', 'U103', 'U202', 'U301', 'U404', 'U406')
        order by individual_id
        """,
    )
    assert rows == [
        ("U101", "onboarded", dt.datetime(2024, 3, 26, 3, 0, tzinfo=dt.UTC), 0, True),
        ("U102", "onboarded", None, 0, True),
        ("U103", "invited", None, 0, False),
        ("U202", "activated", None, 1, False),
        ("U301", "activated", None, 2, True),
        ("U404", "activated", None, 0, False),
        ("U406", "dormant", None, 0, False),
    ]
