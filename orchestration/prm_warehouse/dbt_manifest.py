"""The dbt project handle and its manifest, kept apart from the asset definitions.

Loading the dbt assets reads ``target/manifest.json``; a build first refreshes it here, so
that models or seeds added since the last parse are part of the run. The refresh is skipped
when nothing it depends on changed since the last one (see ``parse_key``); otherwise dbt's
partial parsing keeps it to a few seconds when little changed.

dbt reads the warehouse path and the as-of date from the environment (``PRM_WAREHOUSE_PATH``
in profiles.yml, ``PRM_AS_OF_DATE`` in macros/as_of_date.sql), not from ``--vars``: dbt
throws its partial parse away whenever the vars change, and re-parses only the files that
read an environment variable when that variable changes. A daily build with a new as-of
date therefore re-parses the 16 models that read it, not the whole project.
"""

import contextlib
import hashlib
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

from .settings import DBT_PROJECT_DIR, ENV_AS_OF_DATE, ENV_WAREHOUSE_PATH, PROJECT_ROOT

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# ``DbtProject.target_path`` is relative (to the dbt project for dbt, to the working directory
# for Python): every path of this module inside the target folder is taken from this one.
TARGET_DIR = dbt_project.manifest_path.parent


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
    TARGET_DIR.mkdir(parents=True, exist_ok=True)
    return FileLock(TARGET_DIR / ".build.lock")


def dbt_vars_arg(**extra: str) -> list[str]:
    """``--vars`` of a dbt invocation: empty unless a back-fill passes its window.

    Parse and build must pass the same vars: dbt re-parses the whole project when they differ.
    """
    return ["--vars", json.dumps(extra, sort_keys=True)] if extra else []


@contextlib.contextmanager
def dbt_env(warehouse_path: str, as_of_date: str | None = None) -> Iterator[None]:
    """The environment dbt reads: the warehouse path (profiles.yml), the as-of date."""
    values = {ENV_WAREHOUSE_PATH: warehouse_path}
    if as_of_date is not None:
        values[ENV_AS_OF_DATE] = as_of_date
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# What a parse reads besides the environment: the project file, profiles and every file
# under the folders dbt_project.yml points to (models, seeds, macros, tests, snapshots).
PARSED_FOLDERS = (
    PROJECT_ROOT / "models",
    PROJECT_ROOT / "seeds",
    DBT_PROJECT_DIR / "macros",
    DBT_PROJECT_DIR / "tests",
    DBT_PROJECT_DIR / "snapshots",
)
PARSED_FILES = (DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml")
PARSE_KEY_FILE = "prm_parse_key.txt"


def parse_key() -> str:
    """A digest of everything the manifest depends on, so an unchanged project is not parsed.

    Covers the content of every project file dbt parses, the installed dbt version, the
    profile's environment (the warehouse path and thread count go into dbt's own
    partial-parse key) and every other ``PRM_`` and ``DBT_`` variable. The as-of date is
    left out on purpose: it changes no model, seed or test, and the build's own dbt
    invocation re-parses the few models that read it. The refresh passes no vars.
    """
    digest = hashlib.sha256()
    files = [*PARSED_FILES]
    for folder in PARSED_FOLDERS:
        if folder.is_dir():
            files += sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files:
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"(missing)")
        digest.update(b"\0")
    environment = sorted(
        (name, value)
        for name, value in os.environ.items()
        if name.startswith(("PRM_", "DBT_")) and name != ENV_AS_OF_DATE
    )
    digest.update(json.dumps([installed_version("dbt-core"), environment]).encode())
    return digest.hexdigest()


def ensure_manifest(
    project: DbtProject = dbt_project,
    *,
    force: bool = False,
    as_of_date: str | None = None,
    warehouse_path: str | None = None,
) -> bool:
    """Parse the dbt project when its manifest is missing, or with ``force`` when out of date.

    ``dagster dev`` re-parses on every reload through ``prepare_if_dev``; the command line
    and the tests call this so that a fresh clone works without a separate parse step. A
    build passes its as-of date and warehouse (``force``): the parse is skipped when its
    key (``parse_key``) equals the last parse's and dbt's own partial-parse state is there,
    and otherwise runs in the build's environment, so that the build's own dbt invocation
    finds the parse still valid. Returns whether dbt parsed.
    """
    manifest = project.manifest_path
    partial_state = manifest.parent / "partial_parse.msgpack"
    key_file = manifest.parent / PARSE_KEY_FILE
    env = dbt_env(warehouse_path, as_of_date) if warehouse_path else contextlib.nullcontext()
    with env:
        if not force and manifest.exists():
            return False
        key = parse_key()
        if (
            manifest.exists()
            and partial_state.exists()
            and key_file.exists()
            and key_file.read_text() == key
        ):
            return False
        key_file.unlink(missing_ok=True)
        dbt_cli_resource().cli(["parse", "--quiet"], target_path=manifest.parent).wait()
        key_file.write_text(key)
    return True
