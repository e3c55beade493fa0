"""The Dagster code location of prm-warehouse: one Definitions object.

Assets: ``raw/*`` (Python loaders), the dbt models (``staging/*``, ``intermediate/*``,
``marts/*``, ``seeds/*``), ``published/kpi_monthly_history`` (the KPI figures as published)
and ``serving/marts_publication``. Checks: the loaders' quarantine share, every dbt test, the
Great Expectations suites of ``expectations/`` and the restatement guard on
``marts/fct_kpi_monthly``.
"""

from __future__ import annotations

import dagster as dg

from .automation import build_warehouse_job, daily_build_schedule, new_landing_files_sensor
from .backfill import backfill_warehouse_job
from .console import console_logger
from .quality.checks import build_mart_suite_checks, build_raw_suite_checks
from .raw.assets import raw_asset_checks, raw_assets
from .resources import WarehouseResource
from .restatement import build_kpi_publication_asset, build_restatement_check
from .serving import build_publish_asset
from .settings import Settings
from .transformations import dbt_models, dbt_resource

MART_SCHEMA = "marts"


def mart_asset_keys() -> list[dg.AssetKey]:
    return sorted(
        (key for key in dbt_models.keys if key.path[0] == MART_SCHEMA),
        key=lambda key: key.to_user_string(),
    )


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    kpi_publication = build_kpi_publication_asset()
    # The serving copy also waits for the KPI publication, which writes the restatement report.
    publish = build_publish_asset([*mart_asset_keys(), kpi_publication.key])
    return dg.Definitions(
        assets=[*raw_assets, dbt_models, kpi_publication, publish],
        asset_checks=[
            *raw_asset_checks,
            build_restatement_check(),
            *build_raw_suite_checks(),
            *build_mart_suite_checks(),
        ],
        jobs=[build_warehouse_job, backfill_warehouse_job],
        schedules=[daily_build_schedule],
        sensors=[new_landing_files_sensor],
        resources={
            "warehouse": WarehouseResource.from_settings(settings),
            "dbt": dbt_resource,
        },
        loggers={"console": console_logger},
    )


defs = build_definitions()
