"""The dbt project as Dagster assets: every model and seed an asset, every dbt test a check.

Asset keys follow the warehouse: a model lives at ``[<schema>, <model name>]`` (for example
``marts/fct_deal_funnel``) and a dbt source ``portal.<table>`` is the raw asset
``raw/<table>`` that the Python loaders materialize, so lineage runs from the landing
folder to the marts. Error-severity dbt tests become blocking asset checks (dagster-dbt's
default), so a failed test stops the Python assets downstream of its model.

A file withdrawn from the warehouse (``prm-warehouse withdraw``) leaves the raw tables, and
the incremental event models would keep its rows: while a withdrawal is pending, the dbt
build runs with ``--full-refresh``, whoever started the run, and the withdrawal is marked
rebuilt once that build succeeded with every incremental model selected.
"""

import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from .dbt_manifest import (
    TARGET_DIR,
    dbt_cli_resource,
    dbt_env,
    dbt_project,
    dbt_vars_arg,
    ensure_manifest,
)
from .raw.withdraw import mark_rebuilt, pending_withdrawals
from .resources import WarehouseResource

DBT_SOURCE_NAME = "portal"
RAW_ASSET_PREFIX = "raw"

ensure_manifest()
dbt_project.prepare_if_dev()


class WarehouseDbtTranslator(DagsterDbtTranslator):
    """Keys by warehouse schema; raw sources map onto the loaders' assets."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        resource_type = dbt_resource_props["resource_type"]
        if resource_type == "source":
            return dg.AssetKey([RAW_ASSET_PREFIX, dbt_resource_props["name"]])
        schema = dbt_resource_props.get("config", {}).get("schema") or "main"
        return dg.AssetKey([schema, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return RAW_ASSET_PREFIX
        return dbt_resource_props.get("config", {}).get("schema") or "dbt"


def dbt_build_args(
    *,
    full_refresh: bool = False,
    backfill_start: str = "",
    backfill_end: str = "",
) -> list[str]:
    """Arguments of the ``dbt build`` that the warehouse and back-fill jobs run.

    The as-of date and the warehouse are not arguments: dbt reads them from the environment
    (``dbt_manifest.dbt_env``), which keeps dbt's partial parsing from one day to the next.
    """
    backfill = {}
    if backfill_start or backfill_end:
        backfill = {"backfill_start": backfill_start, "backfill_end": backfill_end}
    # Unit tests prove the definitions on fixtures written in YAML, not the day's data: they
    # run in CI (tests/test_dbt_unit_tests.py), not in every production build.
    args = ["build", *dbt_vars_arg(**backfill), "--exclude-resource-type", "unit_test"]
    if full_refresh:
        args.append("--full-refresh")
    return args


def incremental_model_keys() -> frozenset[dg.AssetKey]:
    """The asset keys of the dbt models materialized as ``incremental``."""
    manifest = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))
    translator = WarehouseDbtTranslator()
    return frozenset(
        translator.get_asset_key(node)
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("materialized") == "incremental"
    )


class DbtBuildConfig(dg.Config):
    full_refresh: bool = False
    # Japan-time dates; set by the back-fill job (prm_warehouse.backfill), empty otherwise.
    backfill_start: str = ""
    backfill_end: str = ""


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=WarehouseDbtTranslator(),
    name="dbt_models",
)
def dbt_models(
    context: dg.AssetExecutionContext,
    config: DbtBuildConfig,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
):
    as_of_date = warehouse.resolved_as_of_date().isoformat()
    with warehouse.connect() as con:
        withdrawn = pending_withdrawals(con)
    full_refresh = config.full_refresh or bool(withdrawn)
    if withdrawn:
        context.log.info(
            "%d file(s) withdrawn since the incremental models were last rebuilt (%s): "
            "dbt builds them with --full-refresh",
            len(withdrawn),
            ", ".join(f"{w.source}/{w.file_name}" for w in withdrawn),
        )
    context.log.info(
        "dbt build as of %s into %s (full refresh: %s)",
        as_of_date,
        warehouse.warehouse_path,
        full_refresh,
    )
    with dbt_env(warehouse.absolute_warehouse_path(), as_of_date):
        invocation = dbt.cli(
            dbt_build_args(
                full_refresh=full_refresh,
                backfill_start=config.backfill_start,
                backfill_end=config.backfill_end,
            ),
            context=context,
            # One target folder keeps dbt's partial parsing between runs.
            target_path=TARGET_DIR,
        )
        yield from invocation.stream()
    # Reached only when dbt succeeded (a failed invocation raises at the end of the stream).
    if withdrawn and invocation.is_successful():
        if incremental_model_keys() <= context.selected_asset_keys:
            with warehouse.connect() as con:
                rebuilt = mark_rebuilt(con, withdrawn)
            context.log.info("%d withdrawal(s) marked rebuilt", rebuilt)
        else:
            context.log.info(
                "withdrawal(s) still pending: this run did not select every incremental model"
            )


dbt_resource = dbt_cli_resource()
