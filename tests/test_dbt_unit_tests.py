"""The dbt unit tests of the KPI and funnel definitions, run as dbt runs them in CI.

Production builds leave unit tests out (`dbt build --exclude-resource-type unit_test`): their
inputs are fixtures written in the YAML, so they prove the definitions, not the day's data,
and need to run when the definitions change, not every night. Here they run against a copy
of the small warehouse (dbt reads the column types of a unit test's parents from it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dbt_invocation import invoke_dbt
from prm_warehouse.transformations import dbt_build_args

# The unit tests declared in models/**/*.yml (`unit_tests:`): 3 staging, 8 funnel, 4 KPI
# intermediate, 3 KPI mart.
DECLARED_UNIT_TESTS = 18


def test_production_build_leaves_unit_tests_out() -> None:
    args = dbt_build_args()
    assert args[0] == "build"
    assert args[args.index("--exclude-resource-type") + 1] == "unit_test"


def test_every_dbt_unit_test_passes(
    small_build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(small_build.warehouse_path, copy)
    monkeypatch.setenv("PRM_WAREHOUSE_PATH", str(copy))
    result = invoke_dbt(
        ["test", "--select", "test_type:unit"], tmp_path, as_of_date=small_build.as_of_date
    )
    assert result.exception is None, result.exception
    statuses = {r.node.name: str(r.status) for r in result.result.results}
    assert len(statuses) == DECLARED_UNIT_TESTS, sorted(statuses)
    assert {name for name, status in statuses.items() if status != "pass"} == set()
    assert result.success
