"""The warehouse job and what starts it: a daily schedule and a sensor on the landing folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import dagster as dg

from .raw.contract import SOURCES
from .raw.readers import file_stat_key
from .settings import Settings

BUILD_JOB_NAME = "build_warehouse"
# Runs carrying this tag write the warehouse file; dagster.yaml lets one of them run at a time.
WRITER_TAG = {"prm/warehouse-writer": "true"}
# Which warehouse file a run builds: one Dagster instance may serve several warehouses.
TAG_WAREHOUSE = "prm/warehouse"


def warehouse_tags(settings: Settings) -> dict[str, str]:
    """The tags naming the warehouse file and the as-of date a build run works on."""
    return {
        TAG_WAREHOUSE: str(Path(settings.warehouse_path).resolve()),
        "prm/as-of-date": settings.as_of_date.isoformat(),
    }


build_warehouse_job = dg.define_asset_job(
    name=BUILD_JOB_NAME,
    selection=dg.AssetSelection.all(),
    description=(
        "Load new landing files into raw, build every dbt model and test, run the quality "
        "suites, and publish the marts to the serving copy when every blocking check passed."
    ),
    # Each step is seconds of work; a process per step would cost more than the work.
    executor_def=dg.in_process_executor,
    tags=WRITER_TAG,
)

daily_build_schedule = dg.ScheduleDefinition(
    name="daily_build",
    job=build_warehouse_job,
    # The portal's nightly exports land before 05:00 Japan time.
    cron_schedule="0 6 * * *",
    execution_timezone="Asia/Tokyo",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)


def landing_fingerprint(landing_dir: Path) -> tuple[str, int]:
    """A digest of the landing files' names and stat keys (``file_stat_key``: size, change
    times, inode), and their count."""
    digest = hashlib.sha256()
    count = 0
    for source in SOURCES:
        folder = landing_dir / source.name
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if not path.is_file():
                continue
            digest.update(f"{source.name}/{path.name}|{file_stat_key(path)}\n".encode())
            count += 1
    return digest.hexdigest(), count


@dg.sensor(
    name="new_landing_files",
    job=build_warehouse_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts a build when files in the landing folder appear or change.",
)
def new_landing_files_sensor(context: dg.SensorEvaluationContext):
    settings = Settings.from_env()
    landing_dir = settings.landing_dir
    fingerprint, file_count = landing_fingerprint(landing_dir)
    if file_count == 0:
        return dg.SkipReason(f"no export files in {landing_dir}")
    if fingerprint == context.cursor:
        return dg.SkipReason(f"{file_count} export files, none new or changed")
    context.update_cursor(fingerprint)
    # the as-of date is resolved when the run starts, so only the warehouse is named here
    warehouse = {TAG_WAREHOUSE: warehouse_tags(settings)[TAG_WAREHOUSE]}
    return dg.RunRequest(run_key=fingerprint, tags={**WRITER_TAG, **warehouse})
