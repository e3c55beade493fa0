"""T2, the ceiling: the warehouse's transformations as plain SQL in one DuckDB process.

No Dagster, no dbt, no checks. What is included:

1. the raw load: the project's own Python loader (``prm_warehouse.raw.loader.load_warehouse``,
   the same code the ``raw/*`` assets run) reads every landing file into ``raw.*``, in this
   one process (``workers=1``; the build lets ``PRM_LOAD_WORKERS`` processes parse);
2. the seeds: each CSV of ``seeds/`` read by DuckDB's ``read_csv`` with the seed's
   ``column_types``;
3. the models: the compiled SQL of every enabled model (``compiled_code`` of a manifest
   written by ``dbt compile`` against an empty warehouse, so incremental models compile to
   their full-refresh form), run in dependency order as ``create view`` (views) or
   ``create table ... as`` (tables and incremental models). Ephemeral models are inlined by
   dbt already. dbt tests, contracts and unit tests are not run.

Usage (the benchmark calls it): ``python bench/ceiling.py MANIFEST WAREHOUSE LANDING SEEDS``.
Prints one JSON object with the seconds of each phase.
"""

from __future__ import annotations

import json
import sys
import time
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb


def _ordered_nodes(manifest: dict) -> list[dict]:
    nodes = {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] in ("model", "seed") and node["config"].get("enabled", True)
    }
    graph = {
        uid: [dep for dep in node["depends_on"].get("nodes", []) if dep in nodes]
        for uid, node in nodes.items()
    }
    return [nodes[uid] for uid in TopologicalSorter(graph).static_order()]


def _relation(node: dict) -> str:
    return f'"{node["schema"]}"."{node["alias"] or node["name"]}"'


def _seed_sql(node: dict, seeds_dir: Path) -> str:
    path = seeds_dir / Path(node["original_file_path"]).name
    types = node["config"].get("column_types") or {}
    options = "header = true"
    if types:
        pairs = ", ".join(f"'{column}': '{kind}'" for column, kind in types.items())
        options += f", types = {{{pairs}}}"
    reader = f"read_csv('{path}', {options})"
    return f"create or replace table {_relation(node)} as select * from {reader}"


def run(manifest_path: Path, warehouse: Path, landing: Path, seeds_dir: Path) -> dict:
    from prm_warehouse.raw.loader import load_warehouse

    manifest = json.loads(manifest_path.read_text())
    started = time.perf_counter()
    reports = load_warehouse(warehouse, landing, workers=1)
    load_seconds = time.perf_counter() - started
    con = duckdb.connect(str(warehouse))
    con.execute("set TimeZone = 'UTC'")
    per_node: dict[str, float] = {}
    started = time.perf_counter()
    for node in _ordered_nodes(manifest):
        materialized = node["config"].get("materialized")
        if materialized == "ephemeral":
            continue
        con.execute(f'create schema if not exists "{node["schema"]}"')
        if node["resource_type"] == "seed":
            sql = _seed_sql(node, seeds_dir)
        else:
            kind = "view" if materialized == "view" else "table"
            sql = f"create or replace {kind} {_relation(node)} as {node['compiled_code']}"
        node_started = time.perf_counter()
        try:
            con.execute(sql)
        except duckdb.Error as exc:
            raise SystemExit(f"{node['unique_id']}: {exc}") from exc
        per_node[node["name"]] = time.perf_counter() - node_started
    con.execute("checkpoint")
    transform_seconds = time.perf_counter() - started
    con.close()
    return {
        "load_seconds": load_seconds,
        "rows_loaded": sum(report.rows_loaded for report in reports),
        "transform_seconds": transform_seconds,
        "models": len(per_node),
        "slowest": sorted(per_node.items(), key=lambda item: -item[1])[:10],
    }


if __name__ == "__main__":
    manifest_arg, warehouse_arg, landing_arg, seeds_arg = sys.argv[1:5]
    result = run(Path(manifest_arg), Path(warehouse_arg), Path(landing_arg), Path(seeds_arg))
    sys.stdout.write(json.dumps(result) + "\n")
