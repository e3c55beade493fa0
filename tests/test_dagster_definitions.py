"""The Dagster code location: the asset graph, the job, its schedule and sensor, the checks.

Loads ``prm_warehouse.definitions.defs`` as ``dagster dev`` would and asserts the shape the
design promises (lineage from each landing source to the marts, dbt tests as checks),
without running anything.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

# The raw contract's eleven sources, written out here rather than read from contract.py.
RAW_SOURCES = (
    "partners",
    "partner_users",
    "deals",
    "deal_status_events",
    "logins",
    "content_views",
    "contents",
    "courses",
    "lesson_completions",
    "quizzes",
    "quiz_attempts",
)
FUNNEL_MARTS = (
    "dim_partner",
    "dim_partner_individual",
    "fct_deal_funnel",
    "fct_funnel_person",
    "fct_funnel_partner",
)


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    from prm_warehouse.definitions import defs

    return defs


@pytest.fixture(scope="module")
def asset_graph(defs: dg.Definitions):
    return defs.resolve_asset_graph()


@pytest.fixture(scope="module")
def asset_keys(asset_graph) -> set[dg.AssetKey]:
    return set(asset_graph.get_all_asset_keys())


def test_one_raw_asset_per_source(asset_graph, asset_keys: set[dg.AssetKey]):
    raw = [key for key in asset_keys if key.path[0] == "raw"]
    # The Python loaders materialize exactly one asset per source. Other raw keys are the
    # loaders' bookkeeping tables (names starting with "_", e.g. _load_manifest) that dbt
    # reads as sources: external, never materialized by a step of their own.
    loaded = sorted(key.path[1] for key in raw if asset_graph.get(key).is_materializable)
    assert loaded == sorted(RAW_SOURCES)
    others = [key.path[1] for key in raw if not asset_graph.get(key).is_materializable]
    assert all(name.startswith("_") for name in others), others


def test_funnel_marts_are_assets_under_marts(asset_graph, asset_keys: set[dg.AssetKey]):
    for mart in FUNNEL_MARTS:
        key = dg.AssetKey(["marts", mart])
        assert key in asset_keys
        assert asset_graph.get(key).is_materializable


@pytest.mark.parametrize("source", RAW_SOURCES)
def test_each_raw_asset_feeds_its_staging_model(asset_graph, source: str):
    staging = asset_graph.get(dg.AssetKey(["staging", f"stg_portal__{source}"]))
    assert dg.AssetKey(["raw", source]) in staging.parent_keys


def test_lineage_runs_from_raw_to_the_deal_funnel(asset_graph):
    upstream = (
        dg.AssetSelection.assets(dg.AssetKey(["marts", "fct_deal_funnel"]))
        .upstream()
        .resolve(asset_graph)
    )
    # status events, the deal snapshot and the firms all reach the funnel
    for key in (
        ["raw", "deal_status_events"],
        ["raw", "deals"],
        ["staging", "stg_portal__deal_status_events"],
        ["staging", "stg_portal__deals"],
    ):
        assert dg.AssetKey(key) in upstream, key


def test_serving_publication_comes_after_the_marts(asset_graph):
    publication = asset_graph.get(dg.AssetKey(["serving", "marts_publication"]))
    for mart in FUNNEL_MARTS:
        assert dg.AssetKey(["marts", mart]) in publication.parent_keys


def test_build_job_covers_every_asset(defs: dg.Definitions, asset_keys: set[dg.AssetKey]):
    job = defs.resolve_job_def("build_warehouse")
    in_job = set(job.asset_layer.selected_asset_keys)
    for key in [
        *(dg.AssetKey(["raw", s]) for s in RAW_SOURCES),
        *(dg.AssetKey(["marts", m]) for m in FUNNEL_MARTS),
    ]:
        assert key in in_job, key.to_user_string()


def test_daily_schedule(defs: dg.Definitions):
    schedule = defs.resolve_schedule_def("daily_build")
    # 06:00 every day, Japan time: after the portal's nightly exports land
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.execution_timezone == "Asia/Tokyo"
    assert schedule.job_name == "build_warehouse"


def test_landing_sensor(defs: dg.Definitions, tmp_path, monkeypatch):
    sensor = defs.resolve_sensor_def("new_landing_files")
    assert sensor.job_name == "build_warehouse"

    (tmp_path / "landing" / "logins").mkdir(parents=True)
    (tmp_path / "landing" / "logins" / "logins_20261031.jsonl").write_text("{}\n")
    monkeypatch.setenv("PRM_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("PRM_WAREHOUSE_PATH", str(tmp_path / "wh.duckdb"))
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(instance=instance, definitions=defs)
        (request,) = sensor.evaluate_tick(context).run_requests
    # a warehouse-writing run (one at a time) that names the warehouse it builds
    assert request.tags == {
        "dagster/sensor_name": "new_landing_files",
        "prm/warehouse-writer": "true",
        "prm/warehouse": str((tmp_path / "wh.duckdb").resolve()),
    }


def _checks_on(asset_graph, *path: str) -> dict[str, dg.AssetCheckSpec]:
    key = dg.AssetKey(list(path))
    return {
        check_key.name: asset_graph.get_check_spec(check_key)
        for check_key in asset_graph.asset_check_keys
        if check_key.asset_key == key
    }


def test_dbt_tests_are_asset_checks(asset_graph):
    checks = _checks_on(asset_graph, "marts", "fct_deal_funnel")
    # the primary key tests of models/marts/_marts__models.yml; dbt's default severity is
    # error, which makes the check blocking (a failure stops what depends on the mart)
    for name in ("unique_fct_deal_funnel_deal_id", "not_null_fct_deal_funnel_deal_id"):
        assert name in checks, sorted(checks)
        assert checks[name].blocking, name


def test_every_singular_dbt_test_is_an_asset_check(asset_graph):
    # dagster-dbt attaches a singular test that reads one model to that model; one that reads
    # several names its model in `meta.dagster.ref`, or it would be logged as an observation
    tests_dir = Path(__file__).resolve().parents[1] / "dbt_project" / "tests"
    singular = {path.stem for path in tests_dir.rglob("*.sql")}
    assert len(singular) == 20
    check_names = {check_key.name for check_key in asset_graph.asset_check_keys}
    assert sorted(singular - check_names) == []
    reconcile = _checks_on(asset_graph, "marts", "fct_funnel_partner")
    assert reconcile["assert_funnel_counts_reconcile"].blocking


def test_warn_severity_dbt_test_is_not_blocking(asset_graph):
    checks = _checks_on(asset_graph, "staging", "stg_portal__logins")
    # models/staging/_staging__models.yml declares the device accepted_values as `warn`
    device = [name for name in checks if name.startswith("accepted_values_stg_portal__logins")]
    assert len(device) == 1, sorted(checks)
    assert not checks[device[0]].blocking
