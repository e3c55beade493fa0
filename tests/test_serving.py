"""Publishing the marts to the serving copy: contents, checksums, hostile names, readers in other
processes during publications, a publish killed half-way, rollback, and the Dagster asset.

Every warehouse here is a real DuckDB file built by hand in tmp_path, so each expected value
follows from the rows written below.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from prm_warehouse.serving import (
    ENV_TEST_PAUSE_AT,
    ENV_TEST_PAUSE_MARKER,
    PUBLICATION_ASSET_KEY,
    PublishError,
    build_publish_asset,
    previous_path_for,
    publish_marts,
    read_publication,
    rollback_publication,
    serving_paths_for,
    verify_publication,
)

HOSTILE_TABLE = 'x"; drop table marts.partner_kpis; --'
WAIT_SECONDS = 60


def build_warehouse(path: Path, kpi_rows: int, funnel_rows: int) -> None:
    """A warehouse with `kpi_rows` rows in marts.partner_kpis (partner_id p1..pN, score 10*i),
    `funnel_rows` rows in marts.deal_funnel (stage s1..sN, deals i), and one staging table that
    must never be published. Rebuilt from scratch on every call."""
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists marts")
        con.execute("create schema if not exists staging")
        con.execute(
            "create or replace table marts.partner_kpis as "
            "select 'p' || i as partner_id, 10 * i as score from range(1, ? + 1) as r(i)",
            [kpi_rows],
        )
        con.execute(
            "create or replace table marts.deal_funnel as "
            "select 's' || i as stage, i as deals from range(1, ? + 1) as r(i)",
            [funnel_rows],
        )
        con.execute("create or replace table staging.stg_secret as select 'not for BI' as note")
    finally:
        con.close()


def serving_tables(serving: Path) -> set[str]:
    con = duckdb.connect(str(serving), read_only=True)
    try:
        rows = con.execute(
            "select schema_name || '.' || table_name from duckdb_tables()"
        ).fetchall()
    finally:
        con.close()
    return {name for (name,) in rows}


def temp_files(serving: Path) -> list[Path]:
    return sorted(serving.parent.glob(f".{serving.name}.tmp-*"))


def test_publish_copies_marts_tables_and_records_the_publication(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    serving = tmp_path / "serve" / "warehouse_serving.duckdb"
    build_warehouse(warehouse, kpi_rows=3, funnel_rows=2)

    publication = publish_marts(warehouse, serving)

    # Tables of schema marts plus the record; staging.stg_secret is not published.
    assert serving_tables(serving) == {
        "marts.deal_funnel",
        "marts.partner_kpis",
        "main._publication",
    }
    con = duckdb.connect(str(serving), read_only=True)
    try:
        kpis = con.execute("select * from marts.partner_kpis order by partner_id").fetchall()
        record = con.execute(
            "select publication_id, warehouse_path, schema_name, table_name, row_count "
            "from _publication order by table_name"
        ).fetchall()
    finally:
        con.close()
    # partner_id 'p' || i and score 10 * i for i = 1..3.
    assert kpis == [("p1", 10), ("p2", 20), ("p3", 30)]
    # One row per table, sorted by name: deal_funnel (2 rows) before partner_kpis (3 rows).
    assert record == [
        (publication.publication_id, str(warehouse), "marts", "deal_funnel", 2),
        (publication.publication_id, str(warehouse), "marts", "partner_kpis", 3),
    ]
    assert publication.row_counts == {"marts.deal_funnel": 2, "marts.partner_kpis": 3}
    assert read_publication(serving) == publication
    # A fresh file: no write-ahead log beside it and no temporary files left behind.
    assert not serving.with_name(serving.name + ".wal").exists()
    assert temp_files(serving) == []
    assert verify_publication(serving) == []


def test_checksum_follows_content_not_row_order(tmp_path):
    ordered = tmp_path / "ordered.duckdb"
    build_warehouse(ordered, kpi_rows=3, funnel_rows=2)
    # The same three kpi rows inserted in the opposite order, in a second warehouse.
    reversed_ = tmp_path / "reversed.duckdb"
    build_warehouse(reversed_, kpi_rows=3, funnel_rows=2)
    con = duckdb.connect(str(reversed_))
    con.execute(
        "create or replace table marts.partner_kpis as "
        "select * from marts.partner_kpis order by score desc"
    )
    con.close()
    # A third where one value differs (p2 scores 21 instead of 20).
    changed = tmp_path / "changed.duckdb"
    build_warehouse(changed, kpi_rows=3, funnel_rows=2)
    con = duckdb.connect(str(changed))
    con.execute("update marts.partner_kpis set score = 21 where partner_id = 'p2'")
    con.close()
    # A fourth where row p1 appears twice.
    duplicated = tmp_path / "duplicated.duckdb"
    build_warehouse(duplicated, kpi_rows=3, funnel_rows=2)
    con = duckdb.connect(str(duplicated))
    con.execute("insert into marts.partner_kpis values ('p1', 10)")
    con.close()

    sums = {
        name: publish_marts(path, tmp_path / f"{name}_serving.duckdb").checksums
        for name, path in [
            ("ordered", ordered),
            ("reversed", reversed_),
            ("changed", changed),
            ("duplicated", duplicated),
        ]
    }

    kpis = "marts.partner_kpis"
    assert sums["ordered"][kpis] == sums["reversed"][kpis]  # same rows, other order
    assert sums["ordered"][kpis] != sums["changed"][kpis]  # one value differs
    assert sums["ordered"][kpis] != sums["duplicated"][kpis]  # one extra copy of a row
    # deal_funnel is identical in all four warehouses.
    assert len({s["marts.deal_funnel"] for s in sums.values()}) == 1
    # 128 bits written as 32 hex digits.
    assert all(len(c) == 32 and int(c, 16) >= 0 for s in sums.values() for c in s.values())


def test_verify_detects_a_serving_copy_changed_after_publication(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    serving = tmp_path / "warehouse_serving.duckdb"
    build_warehouse(warehouse, kpi_rows=3, funnel_rows=2)
    publish_marts(warehouse, serving)
    con = duckdb.connect(str(serving))
    con.execute("delete from marts.deal_funnel where stage = 's1'")
    con.close()

    problems = verify_publication(serving)

    # Only deal_funnel was touched: recorded 2 rows, 1 left.
    assert len(problems) == 1
    assert problems[0].startswith("marts.deal_funnel: recorded 2 rows")
    assert "found 1 rows" in problems[0]


def test_hostile_schema_and_table_names_stay_identifiers(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    serving = tmp_path / "warehouse_serving.duckdb"
    build_warehouse(warehouse, kpi_rows=3, funnel_rows=2)
    hostile_schema = "bi'; drop schema marts cascade; --"
    con = duckdb.connect(str(warehouse))
    con.execute(f'create table marts."{HOSTILE_TABLE.replace(chr(34), chr(34) * 2)}" (v integer)')
    con.execute(f'insert into marts."{HOSTILE_TABLE.replace(chr(34), chr(34) * 2)}" values (7)')
    con.execute(f'create schema "{hostile_schema}"')
    con.execute(f'create table "{hostile_schema}".plain as select 1 as prm_row, 2 as other')
    con.close()

    publication = publish_marts(warehouse, serving, schemas=("marts", hostile_schema))

    # Every name arrives as written and nothing was dropped: 3 tables in marts, 1 in the other.
    assert publication.row_counts == {
        "marts.deal_funnel": 2,
        "marts.partner_kpis": 3,
        f"marts.{HOSTILE_TABLE}": 1,
        f"{hostile_schema}.plain": 1,
    }
    con = duckdb.connect(str(serving), read_only=True)
    try:
        quoted = HOSTILE_TABLE.replace('"', '""')
        assert con.execute(f'select v from marts."{quoted}"').fetchall() == [(7,)]
        assert con.execute("select count(*) from marts.partner_kpis").fetchone() == (3,)
    finally:
        con.close()
    # The warehouse itself is untouched (it was attached read-only).
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("select count(*) from marts.partner_kpis").fetchone() == (3,)
    finally:
        con.close()
    # A column named like the row alias (prm_row) does not break the checksum.
    assert verify_publication(serving) == []


def test_refusals_leave_the_serving_copy_as_it_was(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    serving = tmp_path / "warehouse_serving.duckdb"
    build_warehouse(warehouse, kpi_rows=3, funnel_rows=2)
    first = publish_marts(warehouse, serving)

    with pytest.raises(PublishError, match="no schema 'reporting'"):
        publish_marts(warehouse, serving, schemas=("marts", "reporting"))
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).execute("create schema marts").close()
    with pytest.raises(PublishError, match="no table in schema"):
        publish_marts(empty, serving)
    with pytest.raises(PublishError, match="does not exist"):
        publish_marts(tmp_path / "missing.duckdb", serving)
    with pytest.raises(PublishError, match="must differ"):
        publish_marts(warehouse, warehouse)
    # A connection this process still holds to the warehouse is named as the cause.
    open_here = duckdb.connect(str(warehouse))
    try:
        with pytest.raises(PublishError, match="close it first"):
            publish_marts(warehouse, serving)
    finally:
        open_here.close()

    assert read_publication(serving).publication_id == first.publication_id
    assert temp_files(serving) == []


def test_publish_refuses_a_warehouse_that_a_build_is_writing(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    serving = tmp_path / "warehouse_serving.duckdb"
    build_warehouse(warehouse, kpi_rows=3, funnel_rows=2)
    ready = tmp_path / "writer_ready"
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, pathlib, sys, time\n"
            "con = duckdb.connect(sys.argv[1])\n"
            "pathlib.Path(sys.argv[2]).write_text('open')\n"
            "time.sleep(60)\n",
            str(warehouse),
            str(ready),
        ]
    )
    try:
        wait_for(ready.exists, writer, "the writer to open the warehouse")
        with pytest.raises(PublishError, match="is a build writing it"):
            publish_marts(warehouse, serving)
    finally:
        writer.kill()
        writer.wait()
    assert not serving.exists()
    assert temp_files(serving) == []


READER_SCRIPT = """
import json, os, sys, time
import duckdb

serving, mode, stop_file, out_file = sys.argv[1:5]


def quoted(name):
    return '"' + name.replace('"', '""') + '"'


def observe(con):
    con.execute("begin transaction")
    rows = con.execute(
        "select publication_id, schema_name, table_name, row_count from _publication"
    ).fetchall()
    counts = {}
    for _, schema, table, recorded in rows:
        found = con.execute(f"select count(*) from {quoted(schema)}.{quoted(table)}").fetchone()[0]
        counts[schema + "." + table] = [recorded, found]
    con.execute("commit")
    return {"ids": sorted({row[0] for row in rows}), "counts": counts}


held = duckdb.connect(serving, read_only=True) if mode == "held" else None
with open(out_file, "w") as out:
    while not os.path.exists(stop_file):
        try:
            if held is not None:
                seen = observe(held)
            else:
                con = duckdb.connect(serving, read_only=True)
                try:
                    seen = observe(con)
                finally:
                    con.close()
        except Exception as exc:
            seen = {"error": repr(exc)}
        out.write(json.dumps(seen) + "\\n")
        out.flush()
"""


def read_observations(path: Path) -> list[dict]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").split("\n")
    # The last line may still be half written; only complete lines count.
    return [json.loads(line) for line in lines[:-1] if line]


def wait_for(condition, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"process ended (rc {process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_readers_in_other_processes_only_ever_see_whole_publications(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    serving = tmp_path / "warehouse_serving.duckdb"
    script = tmp_path / "reader.py"
    script.write_text(READER_SCRIPT, encoding="utf-8")
    stop = tmp_path / "stop"

    # Publication k has (kpi rows, funnel rows) = (3, 1), (5, 2), (7, 3): no two share a
    # count, so a reader that mixed two publications would record a mismatch.
    expected_counts = {}
    build_warehouse(warehouse, kpi_rows=3, funnel_rows=1)
    first = publish_marts(warehouse, serving)
    expected_counts[first.publication_id] = {"marts.partner_kpis": 3, "marts.deal_funnel": 1}

    outputs = {mode: tmp_path / f"{mode}.jsonl" for mode in ("held", "fresh")}
    readers = {
        mode: subprocess.Popen(
            [sys.executable, str(script), str(serving), mode, str(stop), str(out)]
        )
        for mode, out in outputs.items()
    }
    try:
        for mode, reader in readers.items():
            wait_for(lambda m=mode: read_observations(outputs[m]), reader, f"{mode} reader")
        for kpi_rows, funnel_rows in [(5, 2), (7, 3)]:
            build_warehouse(warehouse, kpi_rows=kpi_rows, funnel_rows=funnel_rows)
            publication = publish_marts(warehouse, serving)
            # The held reader must go on reading after the swap: two more complete lines
            # mean at least one query started after it.
            held_before = len(read_observations(outputs["held"]))
            wait_for(
                lambda n=held_before: len(read_observations(outputs["held"])) >= n + 2,
                readers["held"],
                "the held reader to query after the swap",
            )
            expected_counts[publication.publication_id] = {
                "marts.partner_kpis": kpi_rows,
                "marts.deal_funnel": funnel_rows,
            }
            # The reconnecting reader must pick the new publication up.
            wait_for(
                lambda pid=publication.publication_id: any(
                    o.get("ids") == [pid] for o in read_observations(outputs["fresh"])
                ),
                readers["fresh"],
                f"the fresh reader to see {publication.publication_id}",
            )
        stop.write_text("stop")
        for reader in readers.values():
            assert reader.wait(timeout=WAIT_SECONDS) == 0
    finally:
        stop.write_text("stop")
        for reader in readers.values():
            if reader.poll() is None:
                reader.kill()
                reader.wait()

    for mode, out in outputs.items():
        observations = read_observations(out)
        assert observations, mode
        errors = [o["error"] for o in observations if "error" in o]
        assert errors == [], mode
        for seen in observations:
            # One publication per file, and the rows found are the rows it records, which are
            # the rows that publication was built with.
            assert len(seen["ids"]) == 1
            publication_id = seen["ids"][0]
            assert {t: found for t, (_, found) in seen["counts"].items()} == expected_counts[
                publication_id
            ]
            assert {t: recorded for t, (recorded, _) in seen["counts"].items()} == (
                expected_counts[publication_id]
            )
    # The connection held open all along keeps reading the file it opened: publication 1.
    assert {o["ids"][0] for o in read_observations(outputs["held"])} == {first.publication_id}
    # The reconnecting reader saw all three publications.
    assert {o["ids"][0] for o in read_observations(outputs["fresh"])} == set(expected_counts)


PUBLISHER_SCRIPT = """
import sys
from prm_warehouse.serving import publish_marts

publish_marts(sys.argv[1], sys.argv[2])
"""


@pytest.mark.parametrize("stage", ["copied", "closed"])
def test_a_publish_killed_half_way_leaves_the_previous_publication(tmp_path, stage):
    warehouse = tmp_path / "warehouse.duckdb"
    serving = tmp_path / "warehouse_serving.duckdb"
    build_warehouse(warehouse, kpi_rows=3, funnel_rows=2)
    first = publish_marts(warehouse, serving)
    build_warehouse(warehouse, kpi_rows=4, funnel_rows=1)

    marker = tmp_path / "paused"
    env = {**os.environ, ENV_TEST_PAUSE_AT: stage, ENV_TEST_PAUSE_MARKER: str(marker)}
    publisher = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER_SCRIPT, str(warehouse), str(serving)], env=env
    )
    try:
        wait_for(marker.exists, publisher, f"the publish to pause at {stage!r}")
        temp = Path(marker.read_text(encoding="utf-8"))
        # The new file exists beside the serving copy when the publish dies.
        assert temp.exists()
        assert temp.parent == serving.parent
    finally:
        publisher.send_signal(signal.SIGKILL)
        publisher.wait()
    assert publisher.returncode == -signal.SIGKILL

    # Readers still get the first publication, whole.
    assert read_publication(serving).publication_id == first.publication_id
    assert read_publication(serving).row_counts == {
        "marts.deal_funnel": 2,
        "marts.partner_kpis": 3,
    }
    assert verify_publication(serving) == []
    assert temp in temp_files(serving)

    # The next publish is not blocked by the dead one's lock and clears its leftovers.
    second = publish_marts(warehouse, serving)
    assert read_publication(serving).publication_id == second.publication_id
    # Rebuilt with 4 kpi rows and 1 funnel row before the killed publish.
    assert second.row_counts == {"marts.deal_funnel": 1, "marts.partner_kpis": 4}
    assert temp_files(serving) == []
    # The first publication is the one kept for rollback.
    assert read_publication(previous_path_for(serving)).publication_id == first.publication_id


def test_rollback_swaps_the_serving_copy_and_the_previous_publication(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    serving = tmp_path / "warehouse_serving.duckdb"
    with pytest.raises(PublishError, match="nothing has been published"):
        read_publication(serving)
    build_warehouse(warehouse, kpi_rows=3, funnel_rows=2)
    first = publish_marts(warehouse, serving)
    with pytest.raises(PublishError, match="no previous publication"):
        rollback_publication(serving)
    build_warehouse(warehouse, kpi_rows=5, funnel_rows=2)
    second = publish_marts(warehouse, serving)

    assert rollback_publication(serving).publication_id == first.publication_id
    assert read_publication(serving).row_counts["marts.partner_kpis"] == 3
    assert read_publication(previous_path_for(serving)).publication_id == second.publication_id
    # Rolling back again swaps back.
    assert rollback_publication(serving).publication_id == second.publication_id
    assert read_publication(serving).row_counts["marts.partner_kpis"] == 5
    assert temp_files(serving) == []


class _TwoFieldWarehouse(dg.ConfigurableResource):
    """A resource with only the fields every warehouse resource of the project has."""

    landing_dir: str
    warehouse_path: str


class _ServingWarehouse(_TwoFieldWarehouse):
    serving_path: str


def test_serving_path_comes_from_the_resource_or_sits_beside_the_warehouse(tmp_path, monkeypatch):
    monkeypatch.delenv("PRM_SERVING_PATH", raising=False)
    warehouse = tmp_path / "wh" / "prm.duckdb"
    plain = _TwoFieldWarehouse(landing_dir=str(tmp_path), warehouse_path=str(warehouse))
    # Default rule: <warehouse stem>_serving.duckdb in the warehouse's folder.
    assert serving_paths_for(plain) == (warehouse, tmp_path / "wh" / "prm_serving.duckdb")
    explicit = _ServingWarehouse(
        landing_dir=str(tmp_path),
        warehouse_path=str(warehouse),
        serving_path=str(tmp_path / "bi" / "marts.duckdb"),
    )
    assert serving_paths_for(explicit) == (warehouse, tmp_path / "bi" / "marts.duckdb")
    monkeypatch.setenv("PRM_SERVING_PATH", str(tmp_path / "env.duckdb"))
    assert serving_paths_for(plain) == (warehouse, tmp_path / "env.duckdb")


def test_publish_asset_depends_on_the_marts_and_reports_the_publication(tmp_path, monkeypatch):
    monkeypatch.delenv("PRM_SERVING_PATH", raising=False)
    warehouse = tmp_path / "warehouse.duckdb"
    build_warehouse(warehouse, kpi_rows=3, funnel_rows=2)
    marts = [dg.AssetKey(["marts", "partner_kpis"]), "marts/deal_funnel"]
    asset = build_publish_asset(marts)

    assert asset.key == PUBLICATION_ASSET_KEY == dg.AssetKey(["serving", "marts_publication"])
    assert set(asset.asset_deps[asset.key]) == {
        dg.AssetKey(["marts", "partner_kpis"]),
        dg.AssetKey(["marts", "deal_funnel"]),
    }
    result = dg.materialize(
        [asset],
        resources={
            "warehouse": _TwoFieldWarehouse(
                landing_dir=str(tmp_path), warehouse_path=str(warehouse)
            )
        },
    )

    assert result.success
    metadata = result.asset_materializations_for_node(asset.op.name)[0].metadata
    serving = tmp_path / "warehouse_serving.duckdb"
    assert metadata["publication_id"].value == read_publication(serving).publication_id
    assert metadata["table_count"].value == 2
    assert metadata["row_count_total"].value == 5  # 3 kpi rows + 2 funnel rows
    assert metadata["row_counts"].value == {"marts.partner_kpis": 3, "marts.deal_funnel": 2}
    assert metadata["serving_path"].value == str(serving)
