"""The manifest refresh before a build: skipped when nothing dbt parses changed.

A build refreshes ``dbt_project/target/manifest.json`` (the Dagster definitions are read
from it) unless the parse key of the last refresh still holds. These tests run real
``dbt parse`` processes on the project's own target folder, holding the lock builds hold.
"""

from __future__ import annotations

import os

import pytest

from prm_warehouse.dbt_manifest import (
    PARSE_KEY_FILE,
    TARGET_DIR,
    dbt_env,
    dbt_project,
    dbt_target_lock,
    dbt_vars_arg,
    ensure_manifest,
    parse_key,
)


@pytest.fixture
def target_lock():
    with dbt_target_lock():
        yield


def test_the_key_follows_what_dbt_parses_and_not_the_as_of_date(monkeypatch) -> None:
    monkeypatch.setenv("PRM_WAREHOUSE_PATH", "/srv/prm/one.duckdb")
    monkeypatch.setenv("PRM_AS_OF_DATE", "2026-10-31")
    key = parse_key()
    assert len(key) == 64
    assert parse_key() == key
    # The next day's build: same project, same warehouse, a new as-of date.
    monkeypatch.setenv("PRM_AS_OF_DATE", "2026-11-01")
    assert parse_key() == key
    # Another warehouse, another thread count: each is another parse.
    monkeypatch.setenv("PRM_WAREHOUSE_PATH", "/srv/prm/two.duckdb")
    other_warehouse = parse_key()
    monkeypatch.setenv("PRM_DBT_THREADS", "1")
    other_threads = parse_key()
    assert len({key, other_warehouse, other_threads}) == 3


def test_vars_are_passed_only_for_a_back_fill() -> None:
    assert dbt_vars_arg() == []
    assert dbt_vars_arg(backfill_start="2026-10-01", backfill_end="2026-10-31") == [
        "--vars",
        '{"backfill_end": "2026-10-31", "backfill_start": "2026-10-01"}',
    ]


def test_dbt_env_sets_and_restores_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("PRM_WAREHOUSE_PATH", "/before.duckdb")
    monkeypatch.delenv("PRM_AS_OF_DATE", raising=False)
    with dbt_env("/during.duckdb", "2026-10-31"):
        assert os.environ["PRM_WAREHOUSE_PATH"] == "/during.duckdb"
        assert os.environ["PRM_AS_OF_DATE"] == "2026-10-31"
    assert os.environ["PRM_WAREHOUSE_PATH"] == "/before.duckdb"
    assert "PRM_AS_OF_DATE" not in os.environ


@pytest.mark.slow
def test_an_unchanged_project_is_not_parsed_again(tmp_path, target_lock) -> None:
    warehouse = str(tmp_path / "warehouse.duckdb")
    # First refresh for this warehouse: a parse (its path is part of dbt's profile).
    assert ensure_manifest(force=True, as_of_date="2026-10-31", warehouse_path=warehouse)
    manifest = dbt_project.manifest_path
    written = manifest.stat().st_mtime_ns
    # Same project, same warehouse, the next day: nothing to parse, the manifest stays.
    assert not ensure_manifest(force=True, as_of_date="2026-11-01", warehouse_path=warehouse)
    assert manifest.stat().st_mtime_ns == written
    # Without dbt's partial-parse state the key alone is not trusted.
    (TARGET_DIR / "partial_parse.msgpack").unlink()
    assert ensure_manifest(force=True, as_of_date="2026-11-01", warehouse_path=warehouse)
    assert (TARGET_DIR / PARSE_KEY_FILE).read_text() == _key_for(warehouse)


def _key_for(warehouse: str) -> str:
    with dbt_env(warehouse, "2026-11-01"):
        return parse_key()
