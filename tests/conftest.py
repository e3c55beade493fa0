"""Shared fixtures: the small hand-made landing folder and one warehouse built from it.

The build goes through :func:`prm_warehouse.pipeline.run_build`, the same entry point as
the command line, on copies in a temporary folder: nothing under the project's data/ is
read or written. It runs once per test session, however many tests read it.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
LANDING_SMALL_DIR = FIXTURES_DIR / "landing_small"

# The as-of date the expected values of landing_small are worked out for.
SMALL_AS_OF_DATE = dt.date(2026, 10, 31)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmallBuild:
    """A warehouse built from landing_small, and where its files are."""

    outcome: object  # prm_warehouse.pipeline.BuildOutcome
    landing_dir: Path
    warehouse_path: Path
    serving_path: Path
    as_of_date: dt.date


@pytest.fixture(scope="session")
def landing_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of tests/fixtures/landing_small (tests may not change the original)."""
    target = tmp_path_factory.mktemp("landing_small") / "landing"
    shutil.copytree(LANDING_SMALL_DIR, target)
    return target


@pytest.fixture(scope="session")
def small_build(tmp_path_factory: pytest.TempPathFactory, landing_small: Path) -> SmallBuild:
    """Builds the whole warehouse once from landing_small, as of 2026-10-31."""
    import dagster as dg

    from prm_warehouse.pipeline import run_build
    from prm_warehouse.settings import Settings

    root = tmp_path_factory.mktemp("small_build")
    settings = Settings(
        landing_dir=landing_small,
        warehouse_path=root / "warehouse.duckdb",
        serving_path=root / "serving.duckdb",
        as_of_date=SMALL_AS_OF_DATE,
    )
    with dg.DagsterInstance.ephemeral() as instance:
        outcome = run_build(settings, instance=instance)
    logger.info(
        "small build: success=%s, %d assets materialized, %d checks failed",
        outcome.success,
        len(outcome.materialized),
        len(outcome.failed_checks),
    )
    return SmallBuild(
        outcome=outcome,
        landing_dir=landing_small,
        warehouse_path=settings.warehouse_path,
        serving_path=settings.serving_path,
        as_of_date=SMALL_AS_OF_DATE,
    )


def _read_only(path: Path) -> duckdb.DuckDBPyConnection:
    if not path.exists():
        pytest.fail(f"{path} was not written by the build")
    con = duckdb.connect(str(path), read_only=True)
    # Instants come back as UTC-aware datetimes whatever the machine's zone is.
    con.execute("set TimeZone = 'UTC'")
    return con


@pytest.fixture(scope="session")
def small_warehouse(small_build: SmallBuild) -> Iterator[duckdb.DuckDBPyConnection]:
    """Read-only connection to the built warehouse file (raw, staging, marts, ...)."""
    con = _read_only(small_build.warehouse_path)
    yield con
    con.close()


@pytest.fixture(scope="session")
def small_serving(small_build: SmallBuild) -> Iterator[duckdb.DuckDBPyConnection]:
    """Read-only connection to the serving copy the build published for BI tools."""
    con = _read_only(small_build.serving_path)
    yield con
    con.close()
