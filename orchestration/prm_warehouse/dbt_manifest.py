"""The dbt project handle and its manifest, kept apart from the asset definitions.

Loading the dbt assets reads ``target/manifest.json``; a build first refreshes it here, so
that models or seeds added since the last parse are part of the run. dbt's partial parsing
keeps the refresh to a few seconds when little changed.
"""

import contextlib
import json
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from functools import cached_property
from importlib.metadata import version as installed_version

from dagster_dbt import DbtCliResource, DbtProject
from filelock import FileLock
from packaging import version

from .settings import DBT_PROJECT_DIR, ENV_WAREHOUSE_PATH

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """The dbt installed beside this Python, so a venv works without being activated."""
    beside_python = os.path.join(os.path.dirname(sys.executable), "dbt")
    if os.path.exists(beside_python):
        return beside_python
    return shutil.which("dbt") or "dbt"


class WarehouseDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt CLI resource without two start-up costs this project never uses.

    Before every invocation ``DbtCliResource`` asks the dbt executable for its version (a
    second Python process that imports dbt, about 4 s) and builds an in-process dbt adapter by
    parsing every macro of the project (4 to 7 s). The adapter serves only
    ``fetch_row_counts`` and ``fetch_column_metadata``, which this project does not call, and
    the dbt executable is the dbt-core installed beside this Python, so its version is the
    installed package's.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]):
        return None


def dbt_cli_resource() -> DbtCliResource:
    return WarehouseDbtCliResource(
        project_dir=dbt_project,
        profiles_dir=os.fspath(DBT_PROJECT_DIR),
        dbt_executable=dbt_executable(),
    )


def dbt_target_lock() -> FileLock:
    """Held while a build parses and runs dbt: builds share ``dbt_project/target``."""
    dbt_project.target_path.mkdir(parents=True, exist_ok=True)
    return FileLock(dbt_project.target_path / ".build.lock")


def dbt_vars_arg(as_of_date: str, **extra: str) -> list[str]:
    """``--vars`` of every dbt invocation of a build.

    Parse and build must pass the same vars: dbt re-parses the whole project when they differ.
    """
    return ["--vars", json.dumps({"as_of_date": as_of_date, **extra}, sort_keys=True)]


@contextlib.contextmanager
def warehouse_env(warehouse_path: str) -> Iterator[None]:
    """dbt reads the warehouse path from the environment (profiles.yml)."""
    previous = os.environ.get(ENV_WAREHOUSE_PATH)
    os.environ[ENV_WAREHOUSE_PATH] = warehouse_path
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(ENV_WAREHOUSE_PATH, None)
        else:
            os.environ[ENV_WAREHOUSE_PATH] = previous


def ensure_manifest(
    project: DbtProject = dbt_project,
    *,
    force: bool = False,
    as_of_date: str | None = None,
    warehouse_path: str | None = None,
) -> None:
    """Parse the dbt project when its manifest is missing (or always, with ``force``).

    ``dagster dev`` re-parses on every reload through ``prepare_if_dev``; the command line
    and the tests call this so that a fresh clone works without a separate parse step. A
    build passes its as-of date and warehouse so that the build's own dbt invocation finds
    the parse still valid (same vars, same profile) and skips parsing.
    """
    if not force and project.manifest_path.exists():
        return
    args = ["parse", "--quiet"]
    if as_of_date is not None:
        args += dbt_vars_arg(as_of_date)
    env = warehouse_env(warehouse_path) if warehouse_path else contextlib.nullcontext()
    with env:
        dbt_cli_resource().cli(args, target_path=project.target_path).wait()
