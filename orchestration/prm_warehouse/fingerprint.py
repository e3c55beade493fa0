"""What a publication was built from, so a build with nothing new can stop at once.

A build's inputs are the landing files, the as-of date and the project's own definitions
(models, seeds, macros, suites and code). Their fingerprint is stored beside the serving copy
after each successful publication; a build whose fingerprint matches has nothing to do,
unless the warehouse records a withdrawn file whose rows the incremental models still hold
(``raw.withdraw``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .automation import landing_fingerprint
from .raw.withdraw import rebuild_pending
from .settings import PROJECT_ROOT, Settings

# Folders whose files define what a build computes.
DEFINITION_DIRS = ("models", "seeds", "dbt_project/macros", "dbt_project/tests", "expectations")
DEFINITION_FILES = ("dbt_project/dbt_project.yml", "dbt_project/profiles.yml")
PACKAGE_DIR = Path(__file__).resolve().parent


def _definition_files() -> list[Path]:
    files = [PROJECT_ROOT / name for name in DEFINITION_FILES]
    for folder in DEFINITION_DIRS:
        files += sorted((PROJECT_ROOT / folder).rglob("*"))
    files += sorted(PACKAGE_DIR.rglob("*.py"))
    return [path for path in files if path.is_file() and "__pycache__" not in path.parts]


def build_fingerprint(settings: Settings) -> str:
    """A digest of the landing files, the as-of date and the project's definitions."""
    digest = hashlib.sha256()
    landing, _ = landing_fingerprint(settings.landing_dir)
    digest.update(f"landing {landing}\nas_of {settings.as_of_date.isoformat()}\n".encode())
    for path in _definition_files():
        digest.update(f"{path.relative_to(PROJECT_ROOT)}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def fingerprint_path(settings: Settings) -> Path:
    return settings.serving_path.with_name(settings.serving_path.name + ".fingerprint.json")


def is_up_to_date(settings: Settings, fingerprint: str) -> bool:
    """True when the serving copy was published from exactly these inputs and no withdrawal
    waits for its full rebuild."""
    path = fingerprint_path(settings)
    if not (path.exists() and settings.serving_path.exists() and settings.warehouse_path.exists()):
        return False
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if recorded.get("fingerprint") != fingerprint:
        return False
    return not rebuild_pending(settings.warehouse_path)


def record(settings: Settings, fingerprint: str, run_id: str) -> None:
    path = fingerprint_path(settings)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(
        json.dumps({"fingerprint": fingerprint, "run_id": run_id}), encoding="utf-8"
    )
    temporary.replace(path)
