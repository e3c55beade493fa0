"""A person whose firm the partners snapshot does not know: the build completes, lists and
counts the broken reference, and leaves the person out of every mart together with their
deals, so that no mart holds a key another mart lacks.

The landing folder is tests/fixtures/landing_small with a corrected partner_users export of
the last day in which U007 (of firm P003, owner of D0000006 and D0000011) names P99999, a
firm that no partners export holds. The expected values are those of
tests/test_end_to_end_small.py less U007 and U007's two deals.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from prm_warehouse.pipeline import BuildOutcome, run_build
from prm_warehouse.settings import Settings
from prm_warehouse.summary import render_input_problems

pytestmark = pytest.mark.slow

LANDING_SMALL_DIR = Path(__file__).resolve().parent / "fixtures" / "landing_small"
AS_OF_DATE = dt.date(2026, 10, 31)
FIX_FILE = "partner_users_20261031_fix.csv"
STAGES = ("approach_planned", "approach", "proposal", "proposal_agreed", "won")


class Built:
    def __init__(self, outcome: BuildOutcome, warehouse: Path, serving: Path) -> None:
        self.outcome = outcome
        self.warehouse = warehouse
        self.serving = serving


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("unknown_firm")
    landing = root / "landing"
    shutil.copytree(LANDING_SMALL_DIR, landing)
    folder = landing / "partner_users"
    lines = (folder / "partner_users_20261031.csv").read_text(encoding="cp932").splitlines()
    # line 8 of the file (line 1 is the header)
    assert lines[7].startswith("U007,P003,")
    lines[7] = lines[7].replace("U007,P003,", "U007,P99999,", 1)
    (folder / FIX_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = Settings(
        landing_dir=landing,
        warehouse_path=root / "warehouse.duckdb",
        serving_path=root / "serving.duckdb",
        as_of_date=AS_OF_DATE,
    )
    with dg.DagsterInstance.ephemeral() as instance:
        outcome = run_build(settings, instance=instance)
    return Built(outcome, settings.warehouse_path, settings.serving_path)


def _rows(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_build_completes_and_warns_of_the_violation(built: Built) -> None:
    assert built.outcome.success, "\n".join(built.outcome.reasons())
    assert [(w.check, w.description) for w in built.outcome.warned_checks] == [
        ("int_reference_violations_is_empty", "1 row fails this dbt test")
    ]
    assert "serving/marts_publication" in built.outcome.materialized


def test_the_violation_is_listed_and_counted(built: Built) -> None:
    assert _rows(
        built.warehouse,
        "select source_name, file_name, line_number, record_key, reason "
        "from intermediate.int_reference_violations",
    ) == [("partner_users", FIX_FILE, 8, "U007", "partner_id P99999 is not a known firm")]
    assert (
        "Rows referencing an unknown firm, person or deal "
        "(intermediate.int_reference_violations): partner_users 1"
    ) in render_input_problems(built.warehouse)


def test_the_person_and_their_deals_are_left_out(built: Built) -> None:
    people = _rows(
        built.serving,
        "select individual_id from marts.dim_partner_individual order by 1",
    )
    assert [p for (p,) in people] == [f"U{n:03d}" for n in range(1, 11) if n != 7]
    # U008, U009 and U010 remain at P003; U008 (10-02) and U009 (10-29) were active
    assert _rows(
        built.serving,
        "select partner_id, individual_count, active_individual_count "
        "from marts.dim_partner order by 1",
    ) == [("P001", 3, 2), ("P002", 3, 2), ("P003", 3, 2)]
    deals = _rows(built.serving, "select deal_id from marts.fct_deal_funnel order by 1")
    assert [d for (d,) in deals] == [f"D{n:07d}" for n in range(1, 16) if n not in (6, 11)]
    # P003 was U007 (2, 1, 0, 0, 0) + U009 (4, 2, 2, 1, 0); the programme 15, 12, 8, 4, 2
    sums = ", ".join(f"sum({stage}_count)" for stage in STAGES)
    firm_totals = _rows(
        built.serving,
        f"select {sums} from marts.fct_funnel_partner where partner_id = 'P003'",
    )
    assert [tuple(int(v) for v in row) for row in firm_totals] == [(4, 2, 2, 1, 0)]
    programme = _rows(built.serving, f"select {sums} from marts.fct_funnel_partner")
    assert [tuple(int(v) for v in row) for row in programme] == [(13, 11, 8, 4, 2)]


def test_no_mart_names_a_person_that_dim_partner_individual_lacks(built: Built) -> None:
    with duckdb.connect(str(built.serving), read_only=True) as con:
        tables = [
            table
            for (table,) in con.execute(
                "select table_name from information_schema.columns "
                "where table_schema = 'marts' and column_name = 'individual_id' "
                "and table_name <> 'dim_partner_individual' order by 1"
            ).fetchall()
        ]
        dangling = {
            table: con.execute(
                f"select count(*) from marts.{table} as t where t.individual_id is not null "
                "and t.individual_id not in "
                "(select individual_id from marts.dim_partner_individual)"
            ).fetchone()[0]
            for table in tables
        }
        kpi_people = con.execute(
            "select count(*) from marts.fct_kpi_monthly where scope_type = 'individual' "
            "and scope_id = 'U007'"
        ).fetchone()[0]
    assert {"fct_deal_funnel", "fct_funnel_person", "fct_support_priority"} <= set(tables)
    assert dangling == dict.fromkeys(tables, 0)
    assert kpi_people == 0
