"""Date-range back-fill: process again the events of a window of Japan-time dates.

The event staging models are incremental (docs/incremental.md): a normal build ranks only
the events whose raw copies were loaded since the previous build. ``backfill_warehouse``
runs the dbt models downstream of those five models with the dbt vars ``backfill_start``
and ``backfill_end``: every event that happened on a Japan-time date inside the window is
then treated as new (all its delivered copies ranked again, its row replaced or removed),
and the intermediate tables and marts are rebuilt from the result. Rows loaded since the
previous build are processed too, as in any build. The raw tables are not reloaded.

Run config of the job::

    {"start_date": "2026-10-01", "end_date": "2026-10-31"}

A full rebuild of everything is a different command: ``prm-warehouse build --full-refresh``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import dagster as dg

from .automation import WRITER_TAG

BACKFILL_JOB_NAME = "backfill_warehouse"
DBT_ASSETS_OP = "dbt_models"

# The incremental event models; the back-fill rebuilds them and everything downstream.
EVENT_MODEL_KEYS = tuple(
    dg.AssetKey(["staging", name])
    for name in (
        "stg_portal__deal_status_events",
        "stg_portal__logins",
        "stg_portal__content_views",
        "stg_portal__lesson_completions",
        "stg_portal__quiz_attempts",
    )
)


class BackfillWindowError(ValueError):
    """The back-fill window is not a pair of Japan-time dates in order."""


def parse_window(start_date: str, end_date: str) -> tuple[dt.date, dt.date]:
    """The window as dates; raises ``BackfillWindowError`` naming the bad value."""
    dates = []
    for label, value in (("start_date", start_date), ("end_date", end_date)):
        try:
            dates.append(dt.date.fromisoformat(str(value).strip()))
        except ValueError as exc:
            raise BackfillWindowError(
                f"{label} must be a Japan-time date YYYY-MM-DD, got {value!r}"
            ) from exc
    start, end = dates
    if start > end:
        raise BackfillWindowError(f"start_date {start} is after end_date {end}")
    return start, end


def backfill_dbt_vars(start_date: str, end_date: str) -> dict[str, str]:
    """The dbt vars that make the event models treat the window's events as new."""
    start, end = parse_window(start_date, end_date)
    return {"backfill_start": start.isoformat(), "backfill_end": end.isoformat()}


def backfill_run_config(start_date: str, end_date: str) -> dict[str, Any]:
    """Run config of the dbt assets op for a back-fill of the window."""
    return {"ops": {DBT_ASSETS_OP: {"config": backfill_dbt_vars(start_date, end_date)}}}


@dg.config_mapping(config_schema={"start_date": str, "end_date": str})
def _backfill_config(config: Mapping[str, str]) -> dict[str, Any]:
    return backfill_run_config(config["start_date"], config["end_date"])


backfill_warehouse_job = dg.define_asset_job(
    name=BACKFILL_JOB_NAME,
    selection=dg.AssetSelection.assets(*EVENT_MODEL_KEYS).downstream(),
    config=_backfill_config,
    description=(
        "Process again the events of a window of Japan-time dates (run config start_date, "
        "end_date) in the incremental event models, rebuild every model downstream, run "
        "their checks and publish the marts."
    ),
    # Same as the build job: one process, and one warehouse writer at a time.
    executor_def=dg.in_process_executor,
    tags=WRITER_TAG,
)
