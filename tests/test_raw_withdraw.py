"""Withdrawing a delivered file removes exactly its rows, quarantine records and manifest entry."""

from pathlib import Path

import duckdb
import pytest

from prm_warehouse.raw.contract import SOURCES_BY_NAME
from prm_warehouse.raw.loader import load_source
from prm_warehouse.raw.withdraw import withdraw_file


def _landing(tmp_path: Path) -> Path:
    logins = tmp_path / "landing" / "logins"
    logins.mkdir(parents=True)
    (logins / "logins_20261030.jsonl").write_text(
        '{"event_id": "LG1", "user_id": "U1", "occurred_at": "2026-10-30T09:00:00+09:00"}\n'
        '{"event_id": "LG2", "user_id": "U2", "occurred_at": "2026-10-30T10:00:00+09:00"}\n',
        encoding="utf-8",
    )
    # a wrong delivery: one good row and one without an event id (quarantined)
    (logins / "logins_20261031_test.jsonl").write_text(
        '{"event_id": "LG3", "user_id": "U1", "occurred_at": "2026-10-31T09:00:00+09:00"}\n'
        '{"user_id": "U2", "occurred_at": "2026-10-31T10:00:00+09:00"}\n',
        encoding="utf-8",
    )
    return tmp_path / "landing"


def test_withdrawing_a_file_removes_only_that_file(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    load_source(con, SOURCES_BY_NAME["logins"], _landing(tmp_path))

    withdrawal = withdraw_file(con, "logins", "logins_20261031_test.jsonl")

    # the test file held one loadable row (LG3) and one quarantined row (no event_id)
    assert (withdrawal.rows_removed, withdrawal.quarantined_removed) == (1, 1)
    assert con.execute("select event_id from raw.logins order by 1").fetchall() == [
        ("LG1",),
        ("LG2",),
    ]
    assert con.execute("select count(*) from raw._quarantine").fetchone() == (0,)
    assert con.execute("select file_name from raw._load_manifest").fetchall() == [
        ("logins_20261030.jsonl",)
    ]


def test_withdrawing_an_unknown_file_or_source_says_so(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    load_source(con, SOURCES_BY_NAME["logins"], _landing(tmp_path))
    with pytest.raises(ValueError, match=r"logins/logins_20261101\.jsonl was never loaded"):
        withdraw_file(con, "logins", "logins_20261101.jsonl")
    with pytest.raises(ValueError, match="unknown source 'login'"):
        withdraw_file(con, "login", "logins_20261030.jsonl")
