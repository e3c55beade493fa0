"""The dbt project handle and its manifest, kept apart from the asset definitions.

Loading the dbt assets reads ``target/manifest.json``; a build first refreshes it here, so
that models or seeds added since the last parse are part of the run. dbt's partial parsing
keeps the refresh to a few seconds when little changed.
"""

import os
import shutil
import sys

from dagster_dbt import DbtCliResource, DbtProject

from .settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """The dbt installed beside this Python, so a venv works without being activated."""
    beside_python = os.path.join(os.path.dirname(sys.executable), "dbt")
    if os.path.exists(beside_python):
        return beside_python
    return shutil.which("dbt") or "dbt"


def dbt_cli_resource() -> DbtCliResource:
    return DbtCliResource(
        project_dir=dbt_project,
        profiles_dir=os.fspath(DBT_PROJECT_DIR),
        dbt_executable=dbt_executable(),
    )


def ensure_manifest(project: DbtProject = dbt_project, *, force: bool = False) -> None:
    """Parse the dbt project when its manifest is missing (or always, with ``force``).

    ``dagster dev`` re-parses on every reload through ``prepare_if_dev``; the command line
    and the tests call this so that a fresh clone works without a separate parse step.
    """
    if force or not project.manifest_path.exists():
        dbt_cli_resource().cli(["parse", "--quiet"], target_path=project.target_path).wait()
