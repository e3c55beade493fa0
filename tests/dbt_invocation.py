"""dbt run in the test process, as the dbt-level tests call it.

Every call gets a target and a log folder of its own under ``root``, so tests never share
dbt's partial-parse state or read each other's ``manifest.json``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dbt.cli.main import dbtRunner, dbtRunnerResult

from prm_warehouse.settings import DBT_PROJECT_DIR


def invoke_dbt(
    args: list[str],
    root: Path,
    *,
    as_of_date: dt.date | str,
    project_dir: Path = DBT_PROJECT_DIR,
) -> dbtRunnerResult:
    """``dbt <args>`` on the project in `project_dir` as of `as_of_date`, quietly."""
    as_of = as_of_date.isoformat() if isinstance(as_of_date, dt.date) else as_of_date
    return dbtRunner().invoke(
        [
            *args,
            "--project-dir",
            str(project_dir),
            "--profiles-dir",
            str(project_dir),
            "--target-path",
            str(root / "target"),
            "--log-path",
            str(root / "logs"),
            "--vars",
            f"{{as_of_date: '{as_of}'}}",
            "--quiet",
        ]
    )
