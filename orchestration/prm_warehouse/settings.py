"""Where things live: project folders and the settings read from the environment.

Every path the warehouse writes or reads is resolved here, once, to an absolute path,
so that no component depends on the working directory of the process.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")

PROJECT_ROOT = Path(os.environ.get("PRM_PROJECT_DIR", Path(__file__).resolve().parents[2]))
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"

ENV_LANDING_DIR = "PRM_LANDING_DIR"
ENV_WAREHOUSE_PATH = "PRM_WAREHOUSE_PATH"
ENV_SERVING_PATH = "PRM_SERVING_PATH"
ENV_AS_OF_DATE = "PRM_AS_OF_DATE"


def today_in_japan() -> dt.date:
    return dt.datetime.now(JST).date()


def parse_as_of_date(value: str | None) -> dt.date:
    """`YYYY-MM-DD`, or today in Japan time when empty."""
    if value is None or not value.strip():
        return today_in_japan()
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(f"{ENV_AS_OF_DATE}={value!r} is not a date in YYYY-MM-DD form") from exc


# DuckDB names a database after its file; a file named like a schema makes names ambiguous.
WAREHOUSE_SCHEMAS = ("raw", "staging", "intermediate", "marts", "seeds", "published", "main")


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse_path: Path
    serving_path: Path
    as_of_date: dt.date

    def __post_init__(self) -> None:
        for path in (self.warehouse_path, self.serving_path):
            if Path(path).stem.lower() in WAREHOUSE_SCHEMAS:
                raise ValueError(
                    f"{path}: a DuckDB file may not be named like a warehouse schema "
                    f"({', '.join(WAREHOUSE_SCHEMAS)}); choose another file name"
                )
        if Path(self.warehouse_path) == Path(self.serving_path):
            raise ValueError(f"the serving copy cannot be the warehouse: {self.serving_path}")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        warehouse = Path(env.get(ENV_WAREHOUSE_PATH) or DEFAULT_DATA_DIR / "warehouse.duckdb")
        serving_default = warehouse.with_name(warehouse.stem + "_serving.duckdb")
        return cls(
            landing_dir=Path(env.get(ENV_LANDING_DIR) or DEFAULT_DATA_DIR / "landing").resolve(),
            warehouse_path=warehouse.resolve(),
            serving_path=Path(env.get(ENV_SERVING_PATH) or serving_default).resolve(),
            as_of_date=parse_as_of_date(env.get(ENV_AS_OF_DATE)),
        )
