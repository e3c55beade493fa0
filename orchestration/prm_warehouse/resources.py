"""Dagster resources: where the landing folder and the warehouse file are.

``WarehouseResource`` is configured with plain strings (shown in the Dagster UI and settable
per run). Empty strings mean "take it from the environment" (``Settings.from_env()``:
``PRM_LANDING_DIR``, ``PRM_WAREHOUSE_PATH``, ``PRM_SERVING_PATH``, ``PRM_AS_OF_DATE``), so the
defaults follow the environment of the process that runs the asset.

``connect()`` opens the warehouse only for the duration of a ``with`` block and closes it
afterwards (dbt opens the same file next), holding the warehouse write lock meanwhile.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb

from .locking import warehouse_write_lock
from .settings import Settings, parse_as_of_date


class WarehouseResource(dg.ConfigurableResource):
    """The landing folder the loaders read and the DuckDB warehouse file they write."""

    landing_dir: str = ""
    warehouse_path: str = ""
    serving_path: str = ""
    as_of_date: str = ""

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> WarehouseResource:
        settings = settings or Settings.from_env()
        return cls(
            landing_dir=str(settings.landing_dir),
            warehouse_path=str(settings.warehouse_path),
            serving_path=str(settings.serving_path),
            as_of_date=settings.as_of_date.isoformat(),
        )

    def _settings(self) -> Settings:
        return Settings.from_env()

    def absolute_landing_dir(self) -> str:
        if self.landing_dir:
            return str(Path(self.landing_dir).resolve())
        return str(self._settings().landing_dir)

    def absolute_warehouse_path(self) -> str:
        if self.warehouse_path:
            return str(Path(self.warehouse_path).resolve())
        return str(self._settings().warehouse_path)

    def absolute_serving_path(self) -> str:
        if self.serving_path:
            return str(Path(self.serving_path).resolve())
        warehouse = Path(self.absolute_warehouse_path())
        if self.warehouse_path:
            return str(warehouse.with_name(warehouse.stem + "_serving.duckdb"))
        return str(self._settings().serving_path)

    def resolved_as_of_date(self) -> dt.date:
        if self.as_of_date:
            return parse_as_of_date(self.as_of_date)
        return self._settings().as_of_date

    @contextlib.contextmanager
    def connect(self, *, lock_timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the warehouse file, closed (and the lock released) on exit."""
        path = Path(self.absolute_warehouse_path())
        path.parent.mkdir(parents=True, exist_ok=True)
        with warehouse_write_lock(path, lock_timeout):
            con = duckdb.connect(str(path))
            try:
                yield con
            finally:
                con.close()
