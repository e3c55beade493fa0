"""End to end on the hand-made landing folder: landing files -> raw -> dbt -> marts -> serving.

The warehouse is built once (tests/conftest.py, ``small_build``) through the project's own
pipeline, as of 2026-10-31, from tests/fixtures/landing_small (written by
tests/fixtures/make_landing_small.py; read that file's rows next to the values below).
Every expected value here was worked out by hand from those rows and
docs kpi-definitions.md; the reasoning sits next to each value. Times in the comments are
Japan time (JST, UTC+9) unless they end in Z.

Rules used throughout (kpi-definitions.md and the mart documentation):
- a deal enters stage s at the earliest status event mapped to rank >= s; going back does
  not undo an entry; the deal snapshot's status counts as an event at updated_at when the
  history does not hold it at or after that time;
- stall thresholds (seed stage_stall_thresholds): approach_planned 14, approach 21,
  proposal 30, proposal_agreed 30 days; stalled = open and days_in_max_stage > threshold,
  or max_stage approach_planned with approach_planned_on before the as-of date;
- days_in_max_stage = 2026-10-31 minus the Japan-time date of entering max_stage;
- active in 30 days = a login on one of the 30 Japan-time dates ending on 2026-10-31,
  i.e. 2026-10-02 .. 2026-10-31; the 90-day window is 2026-08-03 .. 2026-10-31.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import duckdb
import pytest

pytestmark = pytest.mark.slow

LANDING_SMALL_DIR = Path(__file__).resolve().parent / "fixtures" / "landing_small"

JST = ZoneInfo("Asia/Tokyo")
UTC = dt.UTC

STAGES = ("approach_planned", "approach", "proposal", "proposal_agreed", "won")
COUNT_COLUMNS = tuple(f"{stage}_count" for stage in STAGES)
RESTATEMENT_REPORT = "kpi_restatement_report"
FUNNEL_MARTS = (
    "dim_partner",
    "dim_partner_individual",
    "fct_deal_funnel",
    "fct_funnel_person",
    "fct_funnel_partner",
)


def jst(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    """An instant of 2026 given in Japan time."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=JST)


def d(month: int, day: int) -> dt.date:
    return dt.date(2026, month, day)


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


# --- the fixture files themselves -------------------------------------------------------


def _generator():
    path = LANDING_SMALL_DIR.parent / "make_landing_small.py"
    spec = importlib.util.spec_from_file_location("make_landing_small", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_landing_small_is_what_its_generator_writes():
    expected = _generator().landing_files()
    on_disk = {
        path.relative_to(LANDING_SMALL_DIR).as_posix(): path.read_bytes()
        for path in sorted(LANDING_SMALL_DIR.rglob("*"))
        if path.is_file()
    }
    assert sorted(on_disk) == sorted(expected)
    changed = [name for name in expected if on_disk[name] != expected[name]]
    assert changed == [], "regenerate with: python tests/fixtures/make_landing_small.py"


def test_landing_small_carries_the_encodings_the_contract_allows():
    root = LANDING_SMALL_DIR
    cp932_users = (root / "partner_users/partner_users_20261031.csv").read_bytes()
    # 髙 is a CP932 extension character (0xEE 0xE0); the file is not valid UTF-8.
    assert "髙".encode("cp932") in cp932_users
    with pytest.raises(UnicodeDecodeError):
        cp932_users.decode("utf-8")
    # ㈱ is 0x87 0x8A in CP932 (an NEC special character).
    assert "㈱".encode("cp932") in (root / "partners/partners_20261031.csv").read_bytes()
    assert (root / "deals/deals_20261031.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    crlf = (root / "deal_status_events/deal_status_events_20261015.csv").read_bytes()
    assert crlf.count(b"\r\n") == 9  # header + 8 events, every line ends in CRLF
    assert '"中華料理 龍, 博多店"'.encode() in (root / "deals/deals_20261031.csv").read_bytes()


# --- the build ---------------------------------------------------------------------------


def test_build_succeeds(small_build):
    outcome = small_build.outcome
    assert outcome.success, "\n".join(outcome.reasons())


def test_the_kpi_figures_and_the_serving_copy_carry_the_builds_one_id(
    small_build, small_warehouse: duckdb.DuckDBPyConnection, small_serving
):
    (kpi_publication,) = small_warehouse.execute(
        "select publication_id from published.kpi_publications"
    ).fetchall()
    served = small_serving.execute("select distinct publication_id from _publication").fetchall()
    assert served == [kpi_publication]
    # <run start, UTC>-<start of the run id>
    started, run_prefix = kpi_publication[0].split("-")
    assert run_prefix == small_build.outcome.run_id[:8]
    assert len(started) == len("20261204T120000000000Z") and started.endswith("Z")


def test_every_mart_is_non_empty_and_no_check_failed(
    small_build,
    small_warehouse: duckdb.DuckDBPyConnection,
    small_serving: duckdb.DuckDBPyConnection,
):
    assert small_build.outcome.failed_checks == []
    marts_sql = (
        "select table_name from information_schema.tables "
        "where table_schema = 'marts' order by table_name"
    )
    built = [r["table_name"] for r in rows(small_warehouse, marts_sql)]
    published = [r["table_name"] for r in rows(small_serving, marts_sql)]
    # the five funnel marts at least; every mart of the warehouse is published
    assert set(FUNNEL_MARTS) <= set(built)
    assert published == built
    counts = {
        name: small_serving.execute(f'select count(*) from marts."{name}"').fetchone()[0]
        for name in published
    }
    # kpi_restatement_report lists the declared restatements of closed months that went
    # through. This is the warehouse's first build (nothing was published before) and the
    # kpi_restatements seed declares none, so it is empty by design. Every other mart has
    # rows.
    assert counts.pop(RESTATEMENT_REPORT) == 0
    assert [name for name, count in counts.items() if count == 0] == []


# --- delivery: duplicates, late events, latest copy ---------------------------------------


def test_raw_keeps_every_delivered_copy_of_the_duplicated_event(
    small_warehouse: duckdb.DuckDBPyConnection,
):
    delivered, distinct = small_warehouse.execute(
        "select count(*), count(distinct event_id) from raw.deal_status_events"
    ).fetchone()
    # 21 rows (2026-09-30) + 8 (2026-10-15) + 9 (2026-10-31) = 38 delivered; EV0803 comes in
    # the last two batches, so 37 distinct events: raw keeps distinct + 1 rows.
    assert (delivered, distinct) == (38, 37)
    assert delivered == distinct + 1


def test_staging_keeps_the_latest_copy_of_the_duplicated_event(
    small_warehouse: duckdb.DuckDBPyConnection,
):
    copies = rows(
        small_warehouse,
        "select changed_at, changed_by_user_id, _file_name "
        "from staging.stg_portal__deal_status_events where event_id = 'EV0803'",
    )
    # one row: the 2026-10-31 copy (10:30 by U009), not the 2026-10-15 copy (10:00, nobody)
    assert copies == [
        {
            "changed_at": jst(10, 12, 10, 30),
            "changed_by_user_id": "U009",
            "_file_name": "deal_status_events_20261031.csv",
        }
    ]


def test_late_event_is_dated_when_it_happened(small_warehouse: duckdb.DuckDBPyConnection):
    late = rows(
        small_warehouse,
        "select changed_on, _file_name from staging.stg_portal__deal_status_events "
        "where event_id = 'EV0902'",
    )
    # happened 2026-10-12 14:00, delivered only in the 2026-10-31 batch
    assert late == [{"changed_on": d(10, 12), "_file_name": "deal_status_events_20261031.csv"}]


def test_quoted_comma_stays_in_its_field(small_warehouse: duckdb.DuckDBPyConnection):
    deal = rows(
        small_warehouse,
        "select client_name, client_industry, client_size_band, status_label "
        "from staging.stg_portal__deals where deal_id = 'D0000007'",
    )
    # the client name holds a comma inside quotes; the fields after it keep their places
    assert deal == [
        {
            "client_name": "中華料理 龍, 博多店",
            "client_industry": "飲食",
            "client_size_band": "1-5",
            "status_label": "アプローチ予定",
        }
    ]


# --- fct_deal_funnel -----------------------------------------------------------------------


class DealExpected(NamedTuple):
    partner_id: str
    individual_id: str
    current_status: str
    max_stage: str
    # approach_planned, approach, proposal, proposal_agreed, won
    entered: tuple[dt.datetime | None, ...]
    is_open: bool
    is_lost: bool
    is_stalled: bool
    days_in_max_stage: int
    approach_planned_on: dt.date | None


DEALS: dict[str, DealExpected] = {
    # Straight through: 予定 09-01 10:00, 打診 09-03 11:00, 提案済み 09-08 14:00, 提案合意
    # 09-20 15:00, 継続合意 10-05 10:00. Won: not open, not stalled; 10-31 - 10-05 = 26 days.
    "D0000001": DealExpected(
        "P001", "U001", "won", "won",
        (jst(9, 1, 10), jst(9, 3, 11), jst(9, 8, 14), jst(9, 20, 15), jst(10, 5, 10)),
        False, False, False, 26, d(9, 2),
    ),
    # Skips stages: 予定 09-10 09:00, アポ設定中 09-15 10:00, then 継続合意 10-02 16:00
    # directly, so proposal and proposal_agreed are entered at the win. 10-31 - 10-02 = 29.
    "D0000002": DealExpected(
        "P001", "U002", "won", "won",
        (jst(9, 10, 9), jst(9, 15, 10), jst(10, 2, 16), jst(10, 2, 16), jst(10, 2, 16)),
        False, False, False, 29, d(9, 12),
    ),
    # Goes back: アポ打診 09-05 09:00 (rank 2, so approach_planned is entered then too),
    # 提案済み 09-25 13:00, back to アポ設定中 10-10 11:00. The entry of proposal stays;
    # current status approach, max_stage proposal; 10-31 - 09-25 = 36 > 30 -> stalled.
    "D0000003": DealExpected(
        "P001", "U002", "approach", "proposal",
        (jst(9, 5, 9), jst(9, 5, 9), jst(9, 25, 13), None, None),
        True, False, True, 36, None,
    ),
    # Lost: 予定 09-12 10:00, 打診 09-18 10:00, 失注 10-06 17:00. Not open, so not stalled
    # although 10-31 - 09-18 = 43 > 21.
    "D0000004": DealExpected(
        "P002", "U006", "lost", "approach",
        (jst(9, 12, 10), jst(9, 18, 10), None, None, None),
        False, True, False, 43, d(9, 15),
    ),
    # On hold: 打診 09-02 10:00, 提案済み 09-10 15:00, 保留 09-30 11:00. On hold is not lost,
    # so the deal is open; 10-31 - 09-10 = 51 > 30 -> stalled.
    "D0000005": DealExpected(
        "P002", "U006", "on_hold", "proposal",
        (jst(9, 2, 10), jst(9, 2, 10), jst(9, 10, 15), None, None),
        True, False, True, 51, None,
    ),
    # Overdue planned approach: 予定 10-22 10:00, 9 days (<= 14), but approach_planned_on
    # 10-27 is before the as-of date 10-31 -> stalled.
    "D0000006": DealExpected(
        "P003", "U007", "approach_planned", "approach_planned",
        (jst(10, 22, 10), None, None, None, None),
        True, False, True, 9, d(10, 27),
    ),
    # Planned approach not yet due: 予定 10-26 09:00, 5 days <= 14, planned for 11-05.
    "D0000007": DealExpected(
        "P003", "U009", "approach_planned", "approach_planned",
        (jst(10, 26, 9), None, None, None, None),
        True, False, False, 5, d(11, 5),
    ),
    # 予定 10-01 00:10 (2026-09-30 in UTC), 打診 10-05 10:00, 提案済み EV0803: delivered at
    # 10:00 on 10-15 and corrected to 10:30 on 10-31; the later copy wins. 19 days <= 30.
    "D0000008": DealExpected(
        "P003", "U009", "proposal", "proposal",
        (jst(10, 1, 0, 10), jst(10, 5, 10), jst(10, 12, 10, 30), None, None),
        True, False, False, 19, d(10, 3),
    ),
    # 打診 09-28 10:00, 提案済み 10-12 14:00 (late: only in the 10-31 batch), 提案合意
    # 10-20 11:00. 10-31 - 10-20 = 11 <= 30.
    "D0000009": DealExpected(
        "P001", "U001", "proposal_agreed", "proposal_agreed",
        (jst(9, 28, 10), jst(9, 28, 10), jst(10, 12, 14), jst(10, 20, 11), None),
        True, False, False, 11, d(9, 29),
    ),
    # The dormant person's June deal: 予定 06-10, 打診 06-25, 失注 07-15 (all 10:00).
    # 06-25 -> 10-25 is 122 days, + 6 = 128.
    "D0000010": DealExpected(
        "P002", "U004", "lost", "approach",
        (jst(6, 10, 10), jst(6, 25, 10), None, None, None),
        False, True, False, 128, d(6, 15),
    ),
    # No status event at all: the snapshot's アポ設定中 counts as an event at updated_at
    # 10-16 15:00 (not at registered_at 10-14). 10-31 - 10-16 = 15 <= 21.
    "D0000011": DealExpected(
        "P003", "U007", "approach", "approach",
        (jst(10, 16, 15), jst(10, 16, 15), None, None, None),
        True, False, False, 15, d(10, 15),
    ),
    # 打診 09-03 10:00, 提案済み 09-08 10:00, 提案合意 09-15 10:00; 46 days > 30 -> stalled.
    "D0000012": DealExpected(
        "P003", "U009", "proposal_agreed", "proposal_agreed",
        (jst(9, 3, 10), jst(9, 3, 10), jst(9, 8, 10), jst(9, 15, 10), None),
        True, False, True, 46, None,
    ),
    # 予定 09-20 10:00, 打診 10-01 10:00; 30 days > 21 -> stalled.
    "D0000013": DealExpected(
        "P001", "U002", "approach", "approach",
        (jst(9, 20, 10), jst(10, 1, 10), None, None, None),
        True, False, True, 30, d(9, 30),
    ),
    # 予定 10-19, 打診 10-21, 提案済み 10-27 (all 10:00); 4 days.
    "D0000014": DealExpected(
        "P002", "U006", "proposal", "proposal",
        (jst(10, 19, 10), jst(10, 21, 10), jst(10, 27, 10), None, None),
        True, False, False, 4, d(10, 20),
    ),
    # 予定 10-29 10:00 without a planned date: 2 days <= 14 and nothing overdue.
    "D0000015": DealExpected(
        "P003", "U009", "approach_planned", "approach_planned",
        (jst(10, 29, 10), None, None, None, None),
        True, False, False, 2, None,
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def deal_funnel(small_serving: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    return {r["deal_id"]: r for r in rows(small_serving, "select * from marts.fct_deal_funnel")}


def test_deal_funnel_has_one_row_per_deal(deal_funnel: dict[str, dict]):
    # 15 deals in the newest deals export, all registered on or before 2026-10-31
    assert sorted(deal_funnel) == sorted(DEALS)


@pytest.mark.parametrize("deal_id", sorted(DEALS))
def test_deal_funnel_row(deal_funnel: dict[str, dict], deal_id: str):
    expected = DEALS[deal_id]
    row = deal_funnel[deal_id]
    actual = DealExpected(
        partner_id=row["partner_id"],
        individual_id=row["individual_id"],
        current_status=row["current_status"],
        max_stage=row["max_stage"],
        entered=tuple(row[f"{stage}_entered_at"] for stage in STAGES),
        is_open=row["is_open"],
        is_lost=row["is_lost"],
        is_stalled=row["is_stalled"],
        days_in_max_stage=row["days_in_max_stage"],
        approach_planned_on=row["approach_planned_on"],
    )
    assert actual._asdict() == expected._asdict()


def test_deal_funnel_keeps_the_fields_after_a_quoted_comma(deal_funnel: dict[str, dict]):
    # D0000007's client name is "中華料理 龍, 博多店"; industry and size band follow it
    row = deal_funnel["D0000007"]
    assert (row["client_industry"], row["client_size_band"]) == ("飲食", "1-5")


# --- fct_funnel_person and fct_funnel_partner ----------------------------------------------


def person_day(con: duckdb.DuckDBPyConnection, individual_id: str, day: dt.date) -> tuple:
    """Stage counts of one person on one date; all zero when the mart has no row for it."""
    sums = ", ".join(f"coalesce(sum({c}), 0)" for c in COUNT_COLUMNS)
    return con.execute(
        f"select {sums} from marts.fct_funnel_person where individual_id = ? and activity_date = ?",
        [individual_id, day],
    ).fetchone()


PERSON_DAYS = [
    # (person, date, (approach_planned, approach, proposal, proposal_agreed, won), why)
    ("U001", d(10, 12), (0, 0, 1, 0, 0), "late EV0902 (D0000009) counts on its own date"),
    ("U001", d(10, 31), (0, 0, 0, 0, 0), "the late batch's export date gets nothing"),
    ("U002", d(10, 12), (0, 0, 0, 0, 0), "U002 changed D0000009 but U001 owns it"),
    ("U009", d(10, 12), (0, 0, 1, 0, 0), "EV0803 (D0000008) delivered twice, counted once"),
    ("U009", d(10, 1), (1, 0, 0, 0, 0), "EV0801 at 10-01 00:10 JST counts on 10-01"),
    ("U009", d(9, 30), (0, 0, 0, 0, 0), "EV0801 is 09-30 only in UTC"),
    ("U002", d(10, 2), (0, 0, 1, 1, 1), "D0000002 jumps from approach to won"),
    ("U002", d(10, 10), (0, 0, 0, 0, 0), "D0000003 going back to approach is no entry"),
    ("U002", d(10, 1), (0, 1, 0, 0, 0), "D0000013 アポ打診"),
    ("U002", d(9, 5), (1, 1, 0, 0, 0), "D0000003 starts at アポ打診: enters ranks 1 and 2"),
    ("U001", d(9, 28), (1, 1, 0, 0, 0), "D0000009 starts at アポ打診: enters ranks 1 and 2"),
    ("U007", d(10, 16), (1, 1, 0, 0, 0), "D0000011's snapshot status at its updated_at"),
    ("U007", d(10, 14), (0, 0, 0, 0, 0), "registering D0000011 is no stage entry"),
    ("U006", d(10, 6), (0, 0, 0, 0, 0), "D0000004 lost: a state, not a stage"),
    ("U006", d(9, 30), (0, 0, 0, 0, 0), "D0000005 on hold: a state, not a stage"),
    ("U004", d(6, 25), (0, 1, 0, 0, 0), "the June deal D0000010 still counts on its date"),
]


@pytest.mark.parametrize(
    ("individual_id", "day", "counts", "why"),
    PERSON_DAYS,
    ids=[f"{p}-{day.isoformat()}" for p, day, _, _ in PERSON_DAYS],
)
def test_funnel_person_day(
    small_serving: duckdb.DuckDBPyConnection,
    individual_id: str,
    day: dt.date,
    counts: tuple[int, ...],
    why: str,
):
    assert person_day(small_serving, individual_id, day) == counts, why


# Entries per person over all dates, from the per-deal entries above:
# U001: D0000001 (all five) + D0000009 (ranks 1-4)              -> 2, 2, 2, 2, 1
# U002: D0000002 (all five) + D0000003 (1-3) + D0000013 (1-2)    -> 3, 3, 2, 1, 1
# U004: D0000010 (1-2)                                           -> 1, 1, 0, 0, 0
# U006: D0000004 (1-2) + D0000005 (1-3) + D0000014 (1-3)         -> 3, 3, 2, 0, 0
# U007: D0000006 (1) + D0000011 (1-2)                            -> 2, 1, 0, 0, 0
# U009: D0000007 (1) + D0000008 (1-3) + D0000012 (1-4) + D0000015 (1) -> 4, 2, 2, 1, 0
# U003, U005, U008, U010 own no deal and have no row.
PERSON_TOTALS = {
    "U001": (2, 2, 2, 2, 1),
    "U002": (3, 3, 2, 1, 1),
    "U004": (1, 1, 0, 0, 0),
    "U006": (3, 3, 2, 0, 0),
    "U007": (2, 1, 0, 0, 0),
    "U009": (4, 2, 2, 1, 0),
}
# Firm totals = the sums of their people: P001 = U001 + U002, P002 = U004 + U006,
# P003 = U007 + U009. Programme: 15 deals planned, 12 approached, 8 proposed, 4 agreed, 2 won.
PARTNER_TOTALS = {
    "P001": (5, 5, 4, 3, 2),
    "P002": (4, 4, 2, 0, 0),
    "P003": (6, 3, 2, 1, 0),
}
PROGRAMME_TOTALS = (15, 12, 8, 4, 2)


def _totals(con: duckdb.DuckDBPyConnection, table: str, key: str) -> dict[str, tuple]:
    sums = ", ".join(f"sum({c})" for c in COUNT_COLUMNS)
    result = con.execute(f"select {key}, {sums} from marts.{table} group by {key}").fetchall()
    totals = {r[0]: tuple(int(v) for v in r[1:]) for r in result}
    return {k: v for k, v in totals.items() if any(v)}


def test_funnel_person_totals(small_serving: duckdb.DuckDBPyConnection):
    assert _totals(small_serving, "fct_funnel_person", "individual_id") == PERSON_TOTALS


def test_funnel_partner_totals(small_serving: duckdb.DuckDBPyConnection):
    assert _totals(small_serving, "fct_funnel_partner", "partner_id") == PARTNER_TOTALS
    programme = tuple(map(sum, zip(*PARTNER_TOTALS.values(), strict=True)))
    assert programme == PROGRAMME_TOTALS


def test_funnel_counts_reconcile_persons_to_firms(small_serving: duckdb.DuckDBPyConnection):
    """For every firm and date, the persons' counts sum to the firm's counts."""
    person_sums = ", ".join(f"sum({c}) as {c}" for c in COUNT_COLUMNS)
    differences = ", ".join(
        f"coalesce(f.{c}, 0) - coalesce(p.{c}, 0) as {c}_difference" for c in COUNT_COLUMNS
    )
    mismatches = rows(
        small_serving,
        f"""
        with persons as (
            select partner_id, activity_date, {person_sums}
            from marts.fct_funnel_person
            group by partner_id, activity_date
        )
        select coalesce(f.partner_id, p.partner_id) as partner_id,
            coalesce(f.activity_date, p.activity_date) as activity_date,
            {differences}
        from marts.fct_funnel_partner as f
        full outer join persons as p
            on f.partner_id = p.partner_id and f.activity_date = p.activity_date
        """,
    )
    mismatches = [r for r in mismatches if any(r[f"{c}_difference"] != 0 for c in COUNT_COLUMNS)]
    assert mismatches == []
    # and the grand totals, person side and firm side, equal the hand-worked programme
    assert tuple(map(sum, zip(*PERSON_TOTALS.values(), strict=True))) == PROGRAMME_TOTALS


def test_funnel_partner_row_on_a_login_only_day(small_serving: duckdb.DuckDBPyConnection):
    day_rows = rows(
        small_serving,
        "select * from marts.fct_funnel_partner where partner_id = 'P003' and activity_date = ?",
        [d(10, 2)],
    )
    # P003 has no stage entry on 10-02; U008 logged in at 10-02 00:05 JST
    # (2026-10-01T15:05:00Z), so the firm has a row that day only if the login is dated in
    # Japan time. Active over the 30 dates 09-03 .. 10-02: U008 (10-02) and U009 (09-04);
    # U007's first login is 10-14, U010 never logged in -> 2.
    assert len(day_rows) == 1
    row = day_rows[0]
    assert tuple(row[c] for c in COUNT_COLUMNS) == (0, 0, 0, 0, 0)
    assert row["active_individual_count"] == 2


# --- dim_partner and dim_partner_individual ------------------------------------------------


def test_dim_partner(small_serving: duckdb.DuckDBPyConnection):
    firms = {
        r["partner_id"]: (r["partner_name"], r["individual_count"], r["active_individual_count"])
        for r in rows(small_serving, "select * from marts.dim_partner")
    }
    assert firms == {
        # CP932 file: ㈱ and 髙 decoded. People U001-U003; logins in 10-02..10-31:
        # U001 (10-28), U002 (10-20); U003 never -> 3 people, 2 active.
        "P001": ("㈱髙橋会計事務所", 3, 2),
        # U004-U006; U005 (10-02 00:30 JST, 10-01 in UTC) and U006 (10-27); U004's only
        # login is 06-20 -> 3 people, 2 active.
        "P002": ("佐藤税理士法人", 3, 2),
        # U007-U010; U007 (10-22), U008 (10-02 00:05 JST, 10-01 in UTC), U009 (10-29);
        # U010 never -> 4 people, 3 active.
        "P003": ("ＡＢＣ会計事務所", 4, 3),
    }


class PersonExpected(NamedTuple):
    partner_id: str
    partner_name: str
    full_name: str
    is_certified: bool
    first_login_at: dt.datetime | None
    last_login_at: dt.datetime | None
    is_active_30d: bool
    lifecycle_stage: str


P001 = ("P001", "㈱髙橋会計事務所")
P002 = ("P002", "佐藤税理士法人")
P003 = ("P003", "ＡＢＣ会計事務所")

PEOPLE: dict[str, PersonExpected] = {
    # 髙 from the CP932 file (the older UTF-8 export still spelled it 高; the newest wins).
    # Certified ○. Logins 09-01 09:00, 10-05, 10-28 08:00 (10-27 23:00Z). Owns D0000001 and
    # D0000009 and logged in within 90 days -> activated.
    "U001": PersonExpected(
        *P001, "髙橋 一郎", True, jst(9, 1, 9), jst(10, 28, 8), True, "activated"
    ),
    # Logins 09-05 10:00 and 10-20 10:00; owns three deals -> activated.
    "U002": PersonExpected(
        *P001, "鈴木 花子", True, jst(9, 5, 10), jst(10, 20, 10), True, "activated"
    ),
    # Account issued 09-20, never logged in -> invited.
    "U003": PersonExpected(*P001, "田中 次郎", False, None, None, False, "invited"),
    # Only login 06-20 10:00; owns D0000010 whose last change was 07-15: nothing in
    # 08-03 .. 10-31 -> dormant; not active in 30 days.
    "U004": PersonExpected(
        *P002, "佐藤 三郎", False, jst(6, 20, 10), jst(6, 20, 10), False, "dormant"
    ),
    # Only login 10-02 00:30 JST: inside 10-02 .. 10-31 in Japan time; owns no deal ->
    # onboarded.
    "U005": PersonExpected(
        *P002, "伊藤 美咲", False, jst(10, 2, 0, 30), jst(10, 2, 0, 30), True, "onboarded"
    ),
    # Logins 2026-09-12T00:00Z and 2026-10-27T01:00Z; owns three deals -> activated.
    "U006": PersonExpected(
        *P002,
        "渡辺 健",
        True,
        dt.datetime(2026, 9, 12, 0, 0, tzinfo=UTC),
        dt.datetime(2026, 10, 27, 1, 0, tzinfo=UTC),
        True,
        "activated",
    ),
    # Half-width kana survive the CP932 file. Logins 10-14 and 10-22 09:00 -> activated.
    "U007": PersonExpected(
        *P003, "山本 ｹﾝｼﾞ", True, jst(10, 14, 9), jst(10, 22, 9), True, "activated"
    ),
    # Only login 2026-10-01T15:05:00Z = 10-02 00:05 JST: the first date of the 30-day
    # window in Japan time (it would fall outside on its UTC date 10-01). No deal ->
    # onboarded.
    "U008": PersonExpected(
        *P003,
        "中村 優子",
        False,
        dt.datetime(2026, 10, 1, 15, 5, tzinfo=UTC),
        dt.datetime(2026, 10, 1, 15, 5, tzinfo=UTC),
        True,
        "onboarded",
    ),
    # Logins 09-04 and 10-29 09:00; owns four deals -> activated.
    "U009": PersonExpected(*P003, "小林 誠", True, jst(9, 4, 9), jst(10, 29, 9), True, "activated"),
    # Only in the newest partner_users export (issued 10-10), never logged in -> invited.
    "U010": PersonExpected(*P003, "加藤 陽子", False, None, None, False, "invited"),
}


@pytest.fixture(scope="module")
def individuals(small_serving: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    return {
        r["individual_id"]: r
        for r in rows(small_serving, "select * from marts.dim_partner_individual")
    }


def test_dim_partner_individual_has_every_person(individuals: dict[str, dict]):
    # ten people in the newest partner_users export
    assert sorted(individuals) == sorted(PEOPLE)


@pytest.mark.parametrize("individual_id", sorted(PEOPLE))
def test_dim_partner_individual_row(individuals: dict[str, dict], individual_id: str):
    row = individuals[individual_id]
    actual = PersonExpected(**{field: row[field] for field in PersonExpected._fields})
    assert actual._asdict() == PEOPLE[individual_id]._asdict()


def test_dim_partner_individual_midnight_login_is_dated_in_japan(
    small_serving: duckdb.DuckDBPyConnection,
):
    # the instant 2026-10-01T15:05:00Z is 2026-10-02 in Japan time
    first_login_on = small_serving.execute(
        "select cast(timezone('Asia/Tokyo', first_login_at) as date) "
        "from marts.dim_partner_individual where individual_id = 'U008'"
    ).fetchone()[0]
    assert first_login_on == d(10, 2)


def test_dim_partner_individual_learning(individuals: dict[str, dict]):
    # Required courses: C01 (3 lessons) and C02 (2). U001 completed C01 L0101-L0103 and
    # C02 L0201 in September and C02 L0202 at 2026-09-10T01:00Z (delivered late, in the
    # 2026-10-31 batch): onboarding completed then. U002 finished C01 only; U009 only
    # did a lesson of the optional C03.
    assert individuals["U001"]["onboarding_completed_at"] == dt.datetime(
        2026, 9, 10, 1, 0, tzinfo=UTC
    )
    assert individuals["U002"]["onboarding_completed_at"] is None
    assert individuals["U009"]["onboarding_completed_at"] is None
    # Q01 (pass 70): U001 best of 60 and 85 -> passed; U002 65 -> not. Q02 (pass 8):
    # U001 scored 8 -> passed (score >= pass_score); U009 7 -> not.
    passed = {p: individuals[p]["quizzes_passed"] for p in ("U001", "U002", "U009")}
    assert passed == {"U001": 2, "U002": 0, "U009": 0}
