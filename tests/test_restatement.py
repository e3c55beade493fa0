"""The restatement guard on a real warehouse: publish, change a definition, fail, declare, pass.

The dbt project (dbt_project/, models/, seeds/) is copied to a temporary folder so that the
test can change seed rows the way an analyst would, without touching the repository.

The data (one firm P001, people U001 and U002), Japan time:
- D001 (U001): アポ打診 04-06, アポ設定中 04-20, 提案済み 05-08.
- D002 (U002): アポ打診 04-10, アポ設定中 04-25.
- D003 (U001): アポ設定中 04-12.
Built as of 2026-05-10, April is closed and May is the current month. With the shipped
mapping (アポ設定中 = approach) April has no proposal: proposal_count April = 0.

The definition change: アポ設定中 counts as proposal from 2026-04-15, written as a new
mapping row with the old row ending on that date. D001 (04-20) and D002 (04-25) now enter
proposal in April, D003 (04-12) stays an approach: April's proposal_count becomes 2, for the
programme and for firm P001 (the guarded scopes). May's figure (D001 no longer enters
proposal on 05-08) changes too, but May is still open and not held.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from dbt_invocation import invoke_dbt
from prm_warehouse import restatement
from prm_warehouse.raw.schema import create_raw_tables
from prm_warehouse.raw.withdraw import withdraw_file
from prm_warehouse.resources import WarehouseResource
from prm_warehouse.settings import PROJECT_ROOT

AS_OF = dt.date(2026, 5, 10)
LOADED_AT = "2026-05-11 12:00:00+00"
JST = dt.timezone(dt.timedelta(hours=9))
APRIL = dt.date(2026, 4, 1)
FIRST_PUBLISHED_AT = dt.datetime(2026, 5, 10, 21, 0, tzinfo=JST)
SECOND_PUBLISHED_AT = dt.datetime(2026, 5, 11, 21, 0, tzinfo=JST)
# The KPI marts and every model their tests read (a test runs when one of its models is
# selected, so the others must be built too).
BUILD_SELECTION = (
    "+fct_kpi_monthly +fct_kpi_target_gap +fct_key_person_engagement"
    " +fct_funnel_person +fct_funnel_partner kpi_restatements"
)


def jst(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).replace(tzinfo=JST)


def _copy_project(target: Path) -> Path:
    """Copy the dbt project and the folders it reads; returns the dbt project folder."""
    ignore = shutil.ignore_patterns("target", "logs", "dbt_packages", "*.duckdb*")
    for folder in ("dbt_project", "models", "seeds"):
        shutil.copytree(PROJECT_ROOT / folder, target / folder, ignore=ignore)
    return target / "dbt_project"


def _insert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    file_name: str,
    rows: list[tuple],
    export_date: str = "2026-05-11",
) -> None:
    for line, row in enumerate(rows, start=2):
        placeholders = ", ".join(["?"] * (len(row) + 4))
        con.execute(
            f"insert into raw.{table} values ({placeholders})",
            [*row, file_name, export_date, line, LOADED_AT],
        )


def _insert_raw_rows(con: duckdb.DuckDBPyConnection) -> None:
    updated = jst("2026-05-10 20:00")
    _insert(
        con,
        "partners",
        "partners_20260511.csv",
        [
            ("P001", "アルファ会計", "東京都", "1-5", 1, dt.date(2025, 4, 1), updated),
        ],
    )
    _insert(
        con,
        "partner_users",
        "partner_users_20260511.csv",
        [
            (
                "U001",
                "P001",
                "山田 太郎",
                None,
                "税理士",
                True,
                jst("2026-03-20 10:00"),
                "active",
                updated,
            ),
            (
                "U002",
                "P001",
                "佐藤 花子",
                None,
                "スタッフ",
                False,
                jst("2026-03-20 10:00"),
                "active",
                updated,
            ),
        ],
    )
    _insert(
        con,
        "deals",
        "deals_20260511.csv",
        [
            (
                deal,
                "P001",
                owner,
                f"顧客{deal}",
                "飲食",
                "1-5",
                "standard",
                status,
                None,
                jst(registered),
                jst(changed),
                None,
                None,
            )
            for deal, owner, status, registered, changed in (
                ("D001", "U001", "提案済み", "2026-04-06 09:00", "2026-05-08 10:00"),
                ("D002", "U002", "アポ設定中", "2026-04-10 09:00", "2026-04-25 10:00"),
                ("D003", "U001", "アポ設定中", "2026-04-12 09:00", "2026-04-12 10:00"),
            )
        ],
    )
    _insert(
        con,
        "deal_status_events",
        "deal_status_events_20260511.csv",
        [
            (event, deal, status, jst(at), None)
            for event, deal, status, at in (
                ("E1", "D001", "アポ打診", "2026-04-06 10:00"),
                ("E2", "D001", "アポ設定中", "2026-04-20 10:00"),
                ("E3", "D001", "提案済み", "2026-05-08 10:00"),
                ("E4", "D002", "アポ打診", "2026-04-10 10:00"),
                ("E5", "D002", "アポ設定中", "2026-04-25 10:00"),
                ("E6", "D003", "アポ設定中", "2026-04-12 10:00"),
            )
        ],
    )


def _dbt(project_dir: Path, root: Path, *args: str) -> None:
    result = invoke_dbt(list(args), root, as_of_date=AS_OF, project_dir=project_dir)
    failures = [
        f"{r.node.unique_id}: {r.status} {r.message}"
        for r in (result.result or [])
        if str(r.status) not in ("success", "pass")
    ]
    assert result.success, f"dbt {args[0]} failed: {result.exception} {failures}"


def _count_apo_settei_as_proposal_from_april_15(seeds_dir: Path) -> None:
    """The definition change of the module doc, written as data in the copied seeds."""
    stage_map = seeds_dir / "deal_status_stage_map.csv"
    text = stage_map.read_text(encoding="utf-8")
    old_row = "アポ設定中,approach,2,2020-01-01,\n"
    assert old_row in text
    stage_map.write_text(
        text.replace(
            old_row,
            "アポ設定中,approach,2,2020-01-01,2026-04-15\nアポ設定中,proposal,3,2026-04-15,\n",
        ),
        encoding="utf-8",
    )


def _proposal_counts(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        """
        select month_start, scope_type, scope_id, value from marts.fct_kpi_monthly
        where kpi_key = 'proposal_count' and scope_type <> 'individual'
        order by month_start, scope_type
        """
    ).fetchall()


def test_guard_fails_on_an_undeclared_restatement_and_reports_a_declared_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_dir = _copy_project(tmp_path / "project")
    seeds_dir = project_dir.parent / "seeds"
    warehouse_path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("PRM_WAREHOUSE_PATH", str(warehouse_path))
    with duckdb.connect(str(warehouse_path)) as con:
        create_raw_tables(con)
        _insert_raw_rows(con)

    # 1. Build and publish with the shipped definitions.
    _dbt(project_dir, tmp_path, "build", "--select", BUILD_SELECTION)
    with duckdb.connect(str(warehouse_path)) as con:
        # April: no deal entered proposal; May: D001 on 05-08.
        assert _proposal_counts(con) == [
            (APRIL, "partner", "P001", 0.0),
            (APRIL, "programme", "programme", 0.0),
            (dt.date(2026, 5, 1), "partner", "P001", 1.0),
            (dt.date(2026, 5, 1), "programme", "programme", 1.0),
        ]
        # Nothing published yet: nothing to hold.
        assert restatement.check_restatements(con) == []
        first = restatement.publish_kpi_figures(
            con, AS_OF, publication_id="first", published_at=FIRST_PUBLISHED_AT
        )
        # Every figure is new: the mart's row count. 15 KPIs x 2 months x (programme, one
        # firm, two people) = 15 * 2 * 4 = 120.
        assert first.rows_recorded == 120
        assert first.restatements_reported == 0

    # 2. The definition change, as data: the approach row of アポ設定中 ends on 2026-04-15
    # and a proposal row starts there. The rebuild changes April's published proposals.
    _count_apo_settei_as_proposal_from_april_15(seeds_dir)
    _dbt(project_dir, tmp_path, "build", "--select", BUILD_SELECTION)
    with duckdb.connect(str(warehouse_path)) as con:
        # April: D001 (04-20) and D002 (04-25); May: none, D001 entered in April.
        assert _proposal_counts(con) == [
            (APRIL, "partner", "P001", 2.0),
            (APRIL, "programme", "programme", 2.0),
            (dt.date(2026, 5, 1), "partner", "P001", 0.0),
            (dt.date(2026, 5, 1), "programme", "programme", 0.0),
        ]
        differences = restatement.check_restatements(con)
        # Only April's guarded figures: proposal_count of the programme and of P001, 0 -> 2.
        # (The April proposal_rate changes too, 0/3 -> 2/3, but cohort rates are not held;
        # U001 and U002 change, but people's figures are not held.)
        assert [
            (d.kpi_key, d.month_start, d.scope_type, d.scope_id, d.old_value, d.new_value)
            for d in differences
        ] == [
            ("proposal_count", APRIL, "partner", "P001", 0.0, 2.0),
            ("proposal_count", APRIL, "programme", "programme", 0.0, 2.0),
        ]
        message = restatement.failure_message(differences)
        assert "proposal_count 2026-04 programme programme: published 0" in message
        assert "now 2" in message
        with pytest.raises(ValueError, match="proposal_count 2026-04 partner P001"):
            restatement.publish_kpi_figures(con, AS_OF, published_at=SECOND_PUBLISHED_AT)

    # The Dagster check says the same, as a failed ERROR-severity result.
    check = restatement.build_restatement_check()
    result = check(_check_context(warehouse_path))
    assert result.passed is False
    assert "proposal_count 2026-04 programme programme" in (result.description or "")

    # 3. Declare the restatement (every scope of April's proposal_count) and reload the seed.
    declarations = seeds_dir / "kpi_restatements.csv"
    with declarations.open("a", encoding="utf-8") as handle:
        handle.write(
            "proposal_count,2026-04-01,,,アポ設定中 counts as proposal from 2026-04-15,2026-05-11\n"
        )
    _dbt(project_dir, tmp_path, "seed", "--select", "kpi_restatements")
    with duckdb.connect(str(warehouse_path)) as con:
        assert restatement.check_restatements(con) == []
        second = restatement.publish_kpi_figures(
            con, AS_OF, publication_id="second", published_at=SECOND_PUBLISHED_AT
        )
        assert second.restatements_reported == 2
        report = con.execute(
            """
            select kpi_key, month_start, scope_type, scope_id, old_value, new_value, reason,
                declared_on
            from marts.kpi_restatement_report order by scope_type
            """
        ).fetchall()
        reason = "アポ設定中 counts as proposal from 2026-04-15"
        declared_on = dt.date(2026, 5, 11)
        assert report == [
            ("proposal_count", APRIL, "partner", "P001", 0.0, 2.0, reason, declared_on),
            ("proposal_count", APRIL, "programme", "programme", 0.0, 2.0, reason, declared_on),
        ]
        # The restated value is now the published one: the next build passes and reports
        # nothing new; the report keeps the two rows.
        assert restatement.check_restatements(con) == []
        third = restatement.publish_kpi_figures(
            con, AS_OF, publication_id="third", published_at=SECOND_PUBLISHED_AT
        )
        assert third.restatements_reported == 0
        # Nothing changed since the second publication: no figure recorded.
        assert third.rows_recorded == 0
        assert con.execute(f"select count(*) from {restatement.REPORT_TABLE}").fetchone() == (2,)


def _programme_figures(con: duckdb.DuckDBPyConnection, kpi_key: str) -> list[tuple]:
    return con.execute(
        """
        select month_start, value from marts.fct_kpi_monthly
        where kpi_key = ? and scope_type = 'programme'
        order by month_start
        """,
        [kpi_key],
    ).fetchall()


def test_a_later_handover_keeps_closed_months_as_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deal handed to a colleague after its month closed does not move that month."""
    warehouse_path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("PRM_WAREHOUSE_PATH", str(warehouse_path))
    with duckdb.connect(str(warehouse_path)) as con:
        create_raw_tables(con)
        _insert_raw_rows(con)
    project_dir = PROJECT_ROOT / "dbt_project"

    _dbt(project_dir, tmp_path, "build", "--select", BUILD_SELECTION)
    with duckdb.connect(str(warehouse_path)) as con:
        # On 04-30 both people own a deal registered in April (U001: D001, D003; U002:
        # D002) with activity in the 90 days before: two activated people. On 05-10 the
        # same two (U002's D002 was registered 04-10 and changed 04-25, within 90 days).
        assert _programme_figures(con, "activated_individuals") == [
            (APRIL, 2.0),
            (dt.date(2026, 5, 1), 2.0),
        ]
        restatement.publish_kpi_figures(
            con, AS_OF, publication_id="first", published_at=FIRST_PUBLISHED_AT
        )
        # The next day's deals snapshot: U002 left and D002 is now U001's.
        _insert(
            con,
            "deals",
            "deals_20260512.csv",
            [
                (
                    "D002",
                    "P001",
                    "U001",
                    "顧客D002",
                    "飲食",
                    "1-5",
                    "standard",
                    "アポ設定中",
                    None,
                    jst("2026-04-10 09:00"),
                    jst("2026-05-12 09:00"),
                    None,
                    None,
                ),
                *[
                    (
                        deal,
                        "P001",
                        "U001",
                        f"顧客{deal}",
                        "飲食",
                        "1-5",
                        "standard",
                        status,
                        None,
                        jst(registered),
                        jst(changed),
                        None,
                        None,
                    )
                    for deal, status, registered, changed in (
                        ("D001", "提案済み", "2026-04-06 09:00", "2026-05-08 10:00"),
                        ("D003", "アポ設定中", "2026-04-12 09:00", "2026-04-12 10:00"),
                    )
                ],
            ],
            export_date="2026-05-12",
        )

    _dbt(project_dir, tmp_path, "build", "--select", BUILD_SELECTION)
    with duckdb.connect(str(warehouse_path)) as con:
        # April is closed: D002 still counts for U002, who owned it on 04-30, so April
        # keeps its two activated people. May is the current month and follows the
        # current owner: U002 owns no deal now, only U001 is activated.
        assert _programme_figures(con, "activated_individuals") == [
            (APRIL, 2.0),
            (dt.date(2026, 5, 1), 1.0),
        ]
        assert restatement.check_restatements(con) == []


def test_the_guard_names_the_file_that_brought_a_late_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A status change dated in April, delivered after April was published, is named."""
    warehouse_path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("PRM_WAREHOUSE_PATH", str(warehouse_path))
    with duckdb.connect(str(warehouse_path)) as con:
        create_raw_tables(con)
        _insert_raw_rows(con)
    project_dir = PROJECT_ROOT / "dbt_project"

    _dbt(project_dir, tmp_path, "build", "--select", BUILD_SELECTION)
    with duckdb.connect(str(warehouse_path)) as con:
        # published after the rows above were loaded (2026-05-11 12:00 UTC)
        restatement.publish_kpi_figures(
            con, AS_OF, publication_id="first", published_at=SECOND_PUBLISHED_AT
        )
        # A later file says D001 reached 提案済み on 04-28, not 05-08 as first reported.
        con.execute(
            "insert into raw.deal_status_events values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                "E7",
                "D001",
                "提案済み",
                jst("2026-04-28 10:00"),
                None,
                "deal_status_events_20260511_late.csv",
                "2026-05-11",
                2,
                "2026-05-12 03:00:00+00",
            ],
        )

    _dbt(project_dir, tmp_path, "build", "--select", BUILD_SELECTION)
    with duckdb.connect(str(warehouse_path)) as con:
        differences = restatement.check_restatements(con)
        # D001 now enters proposal in April: April's proposal_count 0 -> 1 (May, still
        # open, loses it and is not held).
        assert [
            (d.kpi_key, d.month_start, d.scope_type, d.scope_id, d.old_value, d.new_value)
            for d in differences
        ] == [
            ("proposal_count", APRIL, "partner", "P001", 0.0, 1.0),
            ("proposal_count", APRIL, "programme", "programme", 0.0, 1.0),
        ]
        since, arrivals = restatement.late_arrivals(con, differences)
        # only the late file: the first files were loaded before the publication
        assert since == SECOND_PUBLISHED_AT
        assert arrivals == [
            restatement.Arrival(
                "deal_status_events", "deal_status_events_20260511_late.csv", 1, (APRIL,)
            )
        ]
        with pytest.raises(ValueError) as raised:
            restatement.publish_kpi_figures(con, AS_OF, published_at=SECOND_PUBLISHED_AT)
    lines = str(raised.value).splitlines()
    assert lines[3:5] == [
        "Events loaded since the last publication (2026-05-11 12:00 UTC) dated in those months:",
        "- deal_status_events_20260511_late.csv (deal_status_events): 1 row dated 2026-04",
    ]
    result = restatement.build_restatement_check()(_check_context(warehouse_path))
    assert result.passed is False
    assert "deal_status_events_20260511_late.csv" in (result.description or "")


def test_the_guard_names_a_file_withdrawn_since_the_last_publication(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A late file counted in a publication, then withdrawn: the guard names the withdrawal."""
    warehouse_path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("PRM_WAREHOUSE_PATH", str(warehouse_path))
    late_file = "deal_status_events_20260511_late.csv"
    with duckdb.connect(str(warehouse_path)) as con:
        create_raw_tables(con)
        _insert_raw_rows(con)
        # D001 reached 提案済み on 04-28, delivered in a late file of its own (loaded with
        # the others, 2026-05-11 12:00 UTC, and listed in the load manifest).
        _insert(
            con,
            "deal_status_events",
            late_file,
            [("E7", "D001", "提案済み", jst("2026-04-28 10:00"), None)],
        )
        con.execute(
            "insert into raw._load_manifest values "
            "(?, ?, '2026-05-11', 'x', 1, 'utf-8', 1, 0, ?, null)",
            ["deal_status_events", late_file, LOADED_AT],
        )
    project_dir = PROJECT_ROOT / "dbt_project"

    _dbt(project_dir, tmp_path, "build", "--select", BUILD_SELECTION)
    with duckdb.connect(str(warehouse_path)) as con:
        # April: D001 enters proposal on 04-28.
        assert _programme_figures(con, "proposal_count") == [
            (APRIL, 1.0),
            (dt.date(2026, 5, 1), 0.0),
        ]
        restatement.publish_kpi_figures(
            con, AS_OF, publication_id="first", published_at=SECOND_PUBLISHED_AT
        )
        # The late file should never have been delivered: withdrawn on 05-12 10:00 Japan time.
        withdraw_file(con, "deal_status_events", late_file, withdrawn_at=jst("2026-05-12 10:00"))

    _dbt(project_dir, tmp_path, "build", "--select", BUILD_SELECTION, "--full-refresh")
    with duckdb.connect(str(warehouse_path)) as con:
        # Without E7, D001 enters proposal on 05-08: April 1 -> 0, for both guarded scopes.
        differences = restatement.check_restatements(con)
        assert [(d.scope_type, d.old_value, d.new_value) for d in differences] == [
            ("partner", 1.0, 0.0),
            ("programme", 1.0, 0.0),
        ]
        with pytest.raises(ValueError) as raised:
            restatement.publish_kpi_figures(con, AS_OF, published_at=SECOND_PUBLISHED_AT)
    message = str(raised.value)
    assert "the change comes from a snapshot or a definition" not in message
    assert message.splitlines()[3:6] == [
        "No event loaded since the last publication (2026-05-11 12:00 UTC) is dated in those "
        "months.",
        "Files withdrawn since the last publication (their rows no longer count), a possible "
        "cause:",
        f"- {late_file} (deal_status_events): withdrawn on 2026-05-12 01:00 UTC, 1 row",
    ]
    result = restatement.build_restatement_check()(_check_context(warehouse_path))
    assert result.passed is False
    assert f"- {late_file} (deal_status_events): withdrawn" in (result.description or "")


def _deal_row(deal: str, owner: str, status: str, registered: str, changed: str) -> tuple:
    return (
        deal,
        "P001",
        owner,
        f"顧客{deal}",
        "飲食",
        "1-5",
        "standard",
        status,
        None,
        jst(registered),
        jst(changed),
        None,
        None,
    )


def test_a_snapshot_with_a_quarantined_record_is_named_before_the_rows_to_declare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken deals export: D002's record has a blank deal_id (quarantined) and the file
    stops there, without D003. The guard names the snapshot, the quarantined line and the
    events left without their deal, before the rows to declare."""
    warehouse_path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("PRM_WAREHOUSE_PATH", str(warehouse_path))
    with duckdb.connect(str(warehouse_path)) as con:
        create_raw_tables(con)
        _insert_raw_rows(con)
    project_dir = PROJECT_ROOT / "dbt_project"
    selection = BUILD_SELECTION + " int_reference_violations"

    _dbt(project_dir, tmp_path, "build", "--select", selection)
    with duckdb.connect(str(warehouse_path)) as con:
        # April: D001, D002 and D003 are registered (04-06, 04-10, 04-12) and enter
        # approach (04-06, 04-10, 04-12).
        assert _programme_figures(con, "approach_count") == [
            (APRIL, 3.0),
            (dt.date(2026, 5, 1), 0.0),
        ]
        # published after the rows above were loaded (2026-05-11 12:00 UTC)
        restatement.publish_kpi_figures(
            con, AS_OF, publication_id="first", published_at=SECOND_PUBLISHED_AT
        )
        # The next day's deals snapshot, loaded 2026-05-12 03:00 UTC: D001 on line 2, D002's
        # record on line 3 with a blank deal_id (quarantined), and no line for D003. Two
        # deals are missing for one unreadable record: neither keeps its earlier row.
        loaded_at = "2026-05-12 03:00:00+00"
        row = _deal_row("D001", "U001", "提案済み", "2026-04-06 09:00", "2026-05-08 10:00")
        con.execute(
            f"insert into raw.deals values ({', '.join(['?'] * 17)})",
            [*row, "deals_20260512.csv", "2026-05-12", 2, loaded_at],
        )
        con.execute(
            "insert into raw._quarantine values (?, ?, ?, ?, ?, ?, ?)",
            [
                "deals",
                "deals_20260512.csv",
                3,
                "deal_id: required value missing",
                ",P001,U002,顧客D002",
                loaded_at,
                None,
            ],
        )

    _dbt(project_dir, tmp_path, "build", "--select", selection)
    with duckdb.connect(str(warehouse_path)) as con:
        differences = restatement.check_restatements(con)
        # Only D001 is left of April's three deals: one registered deal, one approach (and
        # one approach_planned, the stage skipped on entering approach), 3 -> 1; U002 owns no
        # deal any more and is no longer activated, U001 still is: 2 -> 1. Both scopes.
        assert [
            (d.kpi_key, d.month_start, d.scope_type, d.old_value, d.new_value) for d in differences
        ] == [
            ("activated_individuals", APRIL, "partner", 2.0, 1.0),
            ("activated_individuals", APRIL, "programme", 2.0, 1.0),
            ("approach_count", APRIL, "partner", 3.0, 1.0),
            ("approach_count", APRIL, "programme", 3.0, 1.0),
            ("approach_planned_count", APRIL, "partner", 3.0, 1.0),
            ("approach_planned_count", APRIL, "programme", 3.0, 1.0),
            ("deals_registered", APRIL, "partner", 3.0, 1.0),
            ("deals_registered", APRIL, "programme", 3.0, 1.0),
        ]
        causes = restatement.likely_causes(con, differences)
        assert causes.since == SECOND_PUBLISHED_AT
        # No event file arrived; nothing was withdrawn.
        assert (causes.arrivals, causes.withdrawn) == ([], [])
        assert causes.snapshots == [
            restatement.SnapshotLoad(
                "deals", "deals_20260512.csv", 1, dt.datetime(2026, 5, 12, 3, tzinfo=dt.UTC)
            )
        ]
        assert causes.quarantined == [
            restatement.QuarantinedFile(
                "deals",
                "deals_20260512.csv",
                1,
                ((3, None, "deal_id: required value missing"),),
            )
        ]
        # E4, E5 (D002) and E6 (D003), lines 5 to 7 of the events file, now refer to an
        # unknown deal.
        assert causes.violations == [
            restatement.ReferenceViolations(
                "deal_status_events",
                "deal_status_events_20260511.csv",
                3,
                5,
                "deal_id D002 is not a known deal",
            )
        ]
        with pytest.raises(ValueError) as raised:
            restatement.publish_kpi_figures(con, AS_OF, published_at=SECOND_PUBLISHED_AT)
    lines = str(raised.value).splitlines()
    assert lines[9:18] == [
        "No event loaded since the last publication (2026-05-11 12:00 UTC) is dated in those "
        "months.",
        "Snapshot files loaded since the last publication (the newest export of a source "
        "replaces the previous one: a record it lacks leaves the figures), a possible cause:",
        "- deals_20260512.csv (deals): 1 row loaded on 2026-05-12 03:00 UTC",
        "Rows quarantined since the last publication (raw._quarantine; they are not loaded), "
        "a possible cause:",
        "- deals_20260512.csv (deals): 1 row quarantined, line 3: deal_id: required value missing",
        "Rows left out of the figures for referring to an unknown firm, person, deal or other "
        "entity (intermediate.int_reference_violations):",
        "- deal_status_events_20260511.csv (deal_status_events): 3 rows, first on line 5: "
        "deal_id D002 is not a known deal",
        "A change caused by a broken export is not a restatement: deliver the corrected export "
        "again under the same name (or remove the file with `prm-warehouse withdraw <source> "
        "<file name>`) and build again.",
        "If the new figures are right, add to seeds/kpi_restatements.csv (write why in place "
        "of <reason>):",
    ]
    # one row per KPI and month
    assert [line.split(",")[0] for line in lines[18:]] == [
        "activated_individuals",
        "approach_count",
        "approach_planned_count",
        "deals_registered",
    ]
    result = restatement.build_restatement_check()(_check_context(warehouse_path))
    assert result.passed is False
    assert (result.description or "").splitlines()[9:18] == lines[9:18]
    assert result.metadata["snapshot_files"].value == (
        "- deals_20260512.csv (deals): 1 row loaded on 2026-05-12 03:00 UTC"
    )
    assert "line 3: deal_id: required value missing" in (result.metadata["quarantined_files"].value)


def test_the_quarantined_rows_of_a_file_are_counted_and_the_first_few_shown() -> None:
    quarantined = restatement.QuarantinedFile(
        "deals",
        "deals_20260512.csv",
        5,
        ((3, None, "deal_id: required value missing"), (7, "D9", "registered_at: not a time")),
    )
    assert quarantined.describe() == (
        "deals_20260512.csv (deals): 5 rows quarantined, line 3: deal_id: required value "
        "missing; line 7 (D9): registered_at: not a time; ..."
    )


def test_a_declaration_dated_by_the_publication_ids_utc_day_is_named_with_the_row_to_add(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The id of a publication made at 01:30 Japan time carries the day before (UTC)."""
    project_dir = _copy_project(tmp_path / "project")
    seeds_dir = project_dir.parent / "seeds"
    warehouse_path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("PRM_WAREHOUSE_PATH", str(warehouse_path))
    with duckdb.connect(str(warehouse_path)) as con:
        create_raw_tables(con)
        _insert_raw_rows(con)
    # 2026-05-11 16:30 UTC is 2026-05-12 01:30 in Japan: the publication's Japan-time date
    # is 05-12, its id says 20260511. (The rows were loaded before, at 05-11 12:00 UTC.)
    publication_id = "20260511T163000000000Z-0a1b2c3d"
    published_at = dt.datetime(2026, 5, 11, 16, 30, tzinfo=dt.UTC)

    _dbt(project_dir, tmp_path, "build", "--select", BUILD_SELECTION)
    with duckdb.connect(str(warehouse_path)) as con:
        restatement.publish_kpi_figures(
            con, AS_OF, publication_id=publication_id, published_at=published_at
        )
    _count_apo_settei_as_proposal_from_april_15(seeds_dir)
    # Declared for the day read from the id, 2026-05-11.
    reason = "アポ設定中 counts as proposal from 2026-04-15"
    declarations = seeds_dir / "kpi_restatements.csv"
    with declarations.open("a", encoding="utf-8") as handle:
        handle.write(f"proposal_count,2026-04-01,,,{reason},2026-05-11\n")
    _dbt(project_dir, tmp_path, "build", "--select", BUILD_SELECTION)

    with duckdb.connect(str(warehouse_path)) as con:
        # April's proposal_count 0 -> 2 (module doc) for both guarded scopes, undeclared.
        differences = restatement.check_restatements(con)
        assert [(d.scope_type, d.old_value, d.new_value) for d in differences] == [
            ("partner", 0.0, 2.0),
            ("programme", 0.0, 2.0),
        ]
        since, arrivals = restatement.late_arrivals(con, differences)
        existing = restatement.read_declarations(con)
        with pytest.raises(ValueError) as raised:
            restatement.publish_kpi_figures(con, AS_OF)
    message = restatement.failure_message(
        differences,
        since=since,
        arrivals=arrivals,
        declarations=existing,
        today=dt.date(2026, 5, 12),
    )
    assert message.splitlines() == [
        "2 published figure(s) of closed months would change without a declared restatement:",
        f"- proposal_count 2026-04 partner P001: published 0 (publication {publication_id}), now 2",
        f"- proposal_count 2026-04 programme programme: published 0 (publication "
        f"{publication_id}), now 2",
        "No event loaded since the last publication (2026-05-11 16:30 UTC) is dated in those "
        "months, and no file was loaded, quarantined or withdrawn since then: the change "
        "comes from a definition (seeds, models).",
        "Declarations dated too early to cover them (a declaration covers the figures "
        "published on or before its declared_on, a Japan-time date):",
        "- proposal_count 2026-04 every scope: declared_on 2026-05-11 is before 2026-05-12, "
        f"the Japan-time date of publication {publication_id}",
        "If the new figures are right, add to seeds/kpi_restatements.csv:",
        # the reason already written, dated the publication's Japan-time date (today is too)
        f"proposal_count,2026-04-01,,,{reason},2026-05-12",
    ]
    # The build's own message (dated the real today) ends with a row to paste as it is.
    raised_lines = str(raised.value).splitlines()
    assert raised_lines[:-1] == message.splitlines()[:-1]
    row = raised_lines[-1]
    assert row.startswith(f"proposal_count,2026-04-01,,,{reason},")
    assert dt.date.fromisoformat(row.rsplit(",", 1)[1]) >= dt.date(2026, 5, 12)

    result = restatement.build_restatement_check()(_check_context(warehouse_path))
    assert result.passed is False
    assert row in result.metadata["declaration_rows"].value

    with declarations.open("a", encoding="utf-8") as handle:
        handle.write(row + "\n")
    _dbt(project_dir, tmp_path, "seed", "--select", "kpi_restatements")
    with duckdb.connect(str(warehouse_path)) as con:
        assert restatement.check_restatements(con) == []


def _difference(kpi_key: str, month: dt.date, scope: str, scope_id: str, published_at, pid):
    return restatement.Difference(kpi_key, month, scope, scope_id, 1.0, 2.0, pid, published_at)


def test_the_rows_to_add_are_one_per_kpi_and_month_dated_on_or_after_each_publication():
    march = dt.date(2026, 3, 1)
    # p1: 2026-04-30 15:00 UTC = 05-01 00:00 Japan time; p2: 2026-05-11 03:00 UTC = 12:00 JST.
    p1 = dt.datetime(2026, 4, 30, 15, 0, tzinfo=dt.UTC)
    p2 = dt.datetime(2026, 5, 11, 3, 0, tzinfo=dt.UTC)
    differences = [
        # March's deals_registered: the programme (published by p1) and P001 (by p2).
        _difference("deals_registered", march, "partner", "P001", p2, "p2"),
        _difference("deals_registered", march, "programme", "programme", p1, "p1"),
        # April's proposal_count: one firm only.
        _difference("proposal_count", APRIL, "partner", "P002", p1, "p1"),
    ]
    existing = [
        # names P001's March figure, declared the day before p2 in Japan time
        restatement.Declaration(
            "deals_registered", march, "partner", "", "snapshot, corrected", dt.date(2026, 5, 10)
        ),
        # another KPI: not about these figures
        restatement.Declaration("login_count", march, "", "", "x", dt.date(2026, 4, 1)),
    ]
    rows, early = restatement.declarations_needed(differences, existing, today=dt.date(2026, 5, 5))
    # March spans both scopes, so every scope; declared_on: the later of today (05-05) and the
    # latest publication's Japan-time date (p2, 05-11); the reason of the early declaration,
    # quoted for its comma. April: today, 05-05, is after p1's 05-01; the one scope named.
    assert [row.csv_row() for row in rows] == [
        'deals_registered,2026-03-01,,,"snapshot, corrected",2026-05-11',
        "proposal_count,2026-04-01,partner,P002,<reason>,2026-05-05",
    ]
    assert [e.describe() for e in early] == [
        "deals_registered 2026-03 partner (any): declared_on 2026-05-10 is before 2026-05-11, "
        "the Japan-time date of publication p2"
    ]


def test_the_message_stays_bounded():
    months = [dt.date(2025, month, 1) for month in range(1, 13)] + [
        dt.date(2026, month, 1) for month in range(1, 13)
    ]
    published_at = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    # 24 months x 2 scopes = 48 figures in 24 (KPI, month) groups
    differences = [
        _difference("deals_registered", month, scope, scope, published_at, "p1")
        for month in months
        for scope in ("programme", "partner")
    ]
    lines = restatement.failure_message(differences, today=dt.date(2026, 5, 12)).splitlines()
    # header, 20 figures and "... and 28 more", the instruction, 20 rows and "... and 4 more"
    assert len(lines) == 1 + 21 + 1 + 21
    assert lines[21] == "- ... and 28 more"
    assert lines[23] == "deals_registered,2025-01-01,,,<reason>,2026-05-12"
    assert lines[-1].startswith("... and 4 more rows (metadata declaration_rows of the check")


def _check_context(warehouse_path: Path):
    import dagster as dg

    return dg.build_asset_check_context(
        resources={"warehouse": WarehouseResource(warehouse_path=str(warehouse_path))}
    )


def _kpi_mart(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    con.execute("create schema if not exists marts")
    con.execute(
        "create or replace table marts.fct_kpi_monthly (kpi_key varchar, month_start date, "
        "scope_type varchar, scope_id varchar, value double)"
    )
    con.executemany("insert into marts.fct_kpi_monthly values (?, ?, ?, ?, ?)", rows)


def _latest(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "select month_start, value, is_month_closed, publication_id "
        "from published.kpi_monthly_latest order by month_start"
    ).fetchall()


def test_the_latest_figures_follow_every_publication_without_ranking_the_history(tmp_path):
    may, june = dt.date(2026, 5, 1), dt.date(2026, 6, 1)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        _kpi_mart(con, [("deals_registered", APRIL, "programme", "all", 1.0),
                        ("deals_registered", may, "programme", "all", 2.0)])  # fmt: skip
        restatement.record_publication(con, AS_OF, publication_id="p1")
        # May grows to 3 in the next day's build; April is unchanged.
        _kpi_mart(con, [("deals_registered", APRIL, "programme", "all", 1.0),
                        ("deals_registered", may, "programme", "all", 3.0)])  # fmt: skip
        second = restatement.record_publication(con, dt.date(2026, 5, 11), publication_id="p2")
        assert second.rows_recorded == 1
        # June opens: May closes with its value unchanged (recorded as closed), June is new.
        _kpi_mart(con, [("deals_registered", APRIL, "programme", "all", 1.0),
                        ("deals_registered", may, "programme", "all", 3.0),
                        ("deals_registered", june, "programme", "all", 1.5)])  # fmt: skip
        third = restatement.record_publication(con, dt.date(2026, 6, 1), publication_id="p3")
        assert third.rows_recorded == 2

        expected = [(APRIL, 1.0, True, "p1"), (may, 3.0, True, "p3"), (june, 1.5, False, "p3")]
        assert _latest(con) == expected
        assert con.execute("select count(*) from published.kpi_monthly_history").fetchone() == (5,)
        # one latest row per figure
        counts = con.execute(
            "select count(*) from published.kpi_monthly_latest "
            "group by kpi_key, month_start, scope_type, scope_id"
        ).fetchall()
        assert counts == [(1,), (1,), (1,)]

        # A warehouse whose publications predate the table gets it filled from the history.
        con.execute("drop table published.kpi_monthly_latest")
        restatement.ensure_published_tables(con)
        assert _latest(con) == expected
