"""Whole-pipeline faults: builds killed while loading, in dbt and while publishing, and a
landing file whose name reads like SQL.

One chain of real ``prm-warehouse build`` processes on a copy of tests/fixtures/landing_small,
as of 2026-10-31, in one warehouse and one serving copy:

1. Every export except three 2026-10-31 event files (content views, logins, quiz attempts;
   they hold October events only, so the published closed months stay as they are), plus
   ``logins_20261001_a';drop table x;--.jsonl`` (a copy of login LG0006, whose 2026-10-15
   copy is later and wins), is built: publication P1.
2. The three files arrive. Three builds are killed (SIGKILL to the build's process
   group, dbt included): once the loaders have started on partner_users, once dbt has built
   stg_portal__logins, and once the new serving file is complete but not yet swapped in
   (the serving module's test pause ``closed``).
3. A normal build runs.

Every killed build must leave the serving copy at P1; the final build must give the marts (and
the event staging tables) of an uninterrupted build of the same files, which is the session's
``small_build`` (tests/conftest.py). The extra login file must load as data and do nothing else.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from prm_warehouse.serving import read_publication

pytestmark = pytest.mark.slow

logger = logging.getLogger(__name__)

LANDING_SMALL_DIR = Path(__file__).resolve().parent / "fixtures" / "landing_small"
AS_OF = "2026-10-31"
HELD_BACK = (
    "content_views/content_views_20261031.jsonl",
    "logins/logins_20261031.jsonl",
    "quiz_attempts/quiz_attempts_20261031.csv",
)
ODD_NAME = "logins_20261001_a';drop table x;--.jsonl"
# Login LG0006 exactly as logins_20261015.jsonl delivers it.
ODD_RECORD = {
    "event_id": "LG0006",
    "user_id": "U008",
    "occurred_at": "2026-10-01T15:05:00Z",
    "device": "mobile",
}
EVENT_MODELS = (
    "stg_portal__deal_status_events",
    "stg_portal__logins",
    "stg_portal__content_views",
    "stg_portal__lesson_completions",
    "stg_portal__quiz_attempts",
)
BUILD_TIMEOUT_SECONDS = 900


@dataclass
class Chain:
    root: Path
    landing: Path
    warehouse: Path
    serving: Path
    first_publication: str = ""
    first_exit_code: int | None = None
    after_kill: dict[str, str] = field(default_factory=dict)  # phase -> publication id
    loaded_when_killed: set[str] = field(default_factory=set)  # manifest file names
    leftover_temp: Path | None = None
    final_exit_code: int | None = None
    final_stderr: str = ""


def _env(chain: Chain, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PRM_") and key != "DAGSTER_HOME"
    }
    env.update(
        PRM_LANDING_DIR=str(chain.landing),
        PRM_WAREHOUSE_PATH=str(chain.warehouse),
        PRM_SERVING_PATH=str(chain.serving),
        PRM_AS_OF_DATE=AS_OF,
        DAGSTER_HOME=str(chain.root / "dagster_home"),
        **extra,
    )
    return env


def _command() -> list[str]:
    # --verbose: the step events the kills wait for are debug messages
    return [str(Path(sys.executable).with_name("prm-warehouse")), "--verbose", "build"]


def _build(chain: Chain, label: str) -> tuple[int, str]:
    """A normal build to its end: (exit code, stderr)."""
    with open(chain.root / f"{label}.out", "w") as out:
        done = subprocess.run(
            _command(),
            cwd=chain.root,
            env=_env(chain),
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            timeout=BUILD_TIMEOUT_SECONDS,
        )
    (chain.root / f"{label}.err").write_text(done.stderr)
    logger.info("build %s exited with %d", label, done.returncode)
    return done.returncode, done.stderr


def _build_killed_at_line(chain: Chain, label: str, needle: str) -> None:
    """Starts a build and kills its process group as soon as stderr shows `needle`."""
    with open(chain.root / f"{label}.out", "w") as out:
        proc = subprocess.Popen(
            _command(),
            cwd=chain.root,
            env=_env(chain),
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # the build and its dbt process form one group
        )
        seen: list[str] = []
        deadline = time.monotonic() + BUILD_TIMEOUT_SECONDS
        try:
            for line in proc.stderr:
                seen.append(line)
                if needle in line or time.monotonic() > deadline:
                    break
        finally:
            # Kill when the line appeared, and also on a timeout or an error here; a build
            # that already ended is not killed and fails the assertion below.
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
    (chain.root / f"{label}.err").write_text("".join(seen))
    assert any(needle in line for line in seen) and proc.returncode == -signal.SIGKILL, (
        f"{label}: the build ended with {proc.returncode} without '{needle}' first:\n"
        + "".join(seen[-20:])
    )
    logger.info("build %s killed at '%s'", label, needle)


def _build_killed_while_publishing(chain: Chain, label: str) -> Path:
    """Starts a build paused by the serving module once the new file is closed; kills it."""
    marker = chain.root / f"{label}.pause"
    with (
        open(chain.root / f"{label}.out", "w") as out,
        open(chain.root / f"{label}.err", "w") as err,
    ):
        proc = subprocess.Popen(
            _command(),
            cwd=chain.root,
            env=_env(
                chain,
                PRM_PUBLISH_TEST_PAUSE_AT="closed",
                PRM_PUBLISH_TEST_PAUSE_MARKER=str(marker),
            ),
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + BUILD_TIMEOUT_SECONDS
            while not (marker.exists() and marker.read_text()):
                assert proc.poll() is None, f"{label}: the build ended before publishing"
                assert time.monotonic() < deadline, f"{label}: no pause within the timeout"
                time.sleep(0.2)
            temp = Path(marker.read_text())
            os.killpg(proc.pid, signal.SIGKILL)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
    marker.unlink(missing_ok=True)
    logger.info("build %s killed while publishing %s", label, temp.name)
    return temp


def _manifest_files(warehouse: Path) -> set[str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute("select file_name from raw._load_manifest").fetchall()
        return {row[0] for row in rows}
    finally:
        con.close()


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    root = tmp_path_factory.mktemp("faults")
    (root / "dagster_home").mkdir()
    c = Chain(root, root / "landing", root / "warehouse.duckdb", root / "serving.duckdb")
    shutil.copytree(LANDING_SMALL_DIR, c.landing)
    held_back = root / "held_back"
    for name in HELD_BACK:
        (held_back / name).parent.mkdir(parents=True, exist_ok=True)
        (c.landing / name).rename(held_back / name)
    (c.landing / "logins" / ODD_NAME).write_text(json.dumps(ODD_RECORD) + "\n", "utf-8")
    # A table the odd file name "drops" if its name ever reaches SQL as text.
    con = duckdb.connect(str(c.warehouse))
    try:
        con.execute("create table main.x as select 42 as answer")
    finally:
        con.close()

    c.first_exit_code, _ = _build(c, "1-first")
    c.first_publication = read_publication(c.serving).publication_id

    for path in sorted(held_back.glob("*/*")):
        path.rename(c.landing / path.parent.name / path.name)

    # Sources load in name order: content_views, ..., logins, partner_users, partners,
    # quiz_attempts, quizzes.
    _build_killed_at_line(c, "2-kill-loading", "raw__partner_users - STEP_START")
    c.loaded_when_killed = _manifest_files(c.warehouse)
    c.after_kill["loading"] = read_publication(c.serving).publication_id

    _build_killed_at_line(
        c, "3-kill-dbt", "ASSET_MATERIALIZATION - Materialized value staging stg_portal__logins"
    )
    c.after_kill["dbt"] = read_publication(c.serving).publication_id

    c.leftover_temp = _build_killed_while_publishing(c, "4-kill-publishing")
    c.after_kill["publishing"] = read_publication(c.serving).publication_id

    c.final_exit_code, c.final_stderr = _build(c, "5-final")
    return c


def test_first_build_publishes(chain: Chain) -> None:
    assert chain.first_exit_code == 0
    assert chain.first_publication


def test_kill_while_loading_happened_mid_load(chain: Chain) -> None:
    # content_views and logins load before partner_users, quiz_attempts after it: the new
    # files of the first two are in the manifest, the new quiz attempts file is not.
    assert "content_views_20261031.jsonl" in chain.loaded_when_killed
    assert "logins_20261031.jsonl" in chain.loaded_when_killed
    assert "quiz_attempts_20261031.csv" not in chain.loaded_when_killed


@pytest.mark.parametrize("phase", ["loading", "dbt", "publishing"])
def test_killed_build_leaves_the_previous_publication(chain: Chain, phase: str) -> None:
    assert chain.after_kill[phase] == chain.first_publication


def test_final_build_succeeds_and_publishes_anew(chain: Chain) -> None:
    assert chain.final_exit_code == 0, chain.final_stderr[-3000:]
    assert read_publication(chain.serving).publication_id != chain.first_publication
    # The killed publish's temporary file was removed by the next publish.
    assert chain.leftover_temp is not None
    assert not chain.leftover_temp.exists()


def _tables(con: duckdb.DuckDBPyConnection, database: str, schema: str) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            "select table_name from duckdb_tables()"
            " where database_name = ? and schema_name = ? order by table_name",
            [database, schema],
        ).fetchall()
    ]


def test_final_marts_equal_an_uninterrupted_build(chain: Chain, small_build) -> None:
    assert chain.final_exit_code == 0
    con = duckdb.connect()
    try:
        for alias, path in (("killed", chain.warehouse), ("clean", small_build.warehouse_path)):
            literal = str(path).replace("'", "''")
            con.execute(f"attach '{literal}' as {alias} (read_only)")
        marts = _tables(con, "killed", "marts")
        assert marts == _tables(con, "clean", "marts")
        assert marts  # not vacuous
        compared = [f'marts."{t}"' for t in marts] + [f"staging.{m}" for m in EVENT_MODELS]
        differences = {}
        for name in compared:
            only_killed, only_clean = con.execute(
                f"""
                select
                    (select count(*) from (
                        select * from killed.{name} except all select * from clean.{name}
                    )),
                    (select count(*) from (
                        select * from clean.{name} except all select * from killed.{name}
                    ))
                """
            ).fetchone()
            if only_killed or only_clean:
                differences[name] = (only_killed, only_clean)
    finally:
        con.close()
    # Row for row the same, both directions.
    assert differences == {}


def test_quoted_file_name_loads_as_data_and_nothing_else(chain: Chain) -> None:
    con = duckdb.connect(str(chain.warehouse), read_only=True)
    try:
        raw_rows = con.execute(
            "select event_id, device, _line_number from raw.logins where _file_name = ?",
            [ODD_NAME],
        ).fetchall()
        manifest = con.execute(
            "select rows_loaded from raw._load_manifest where source = 'logins' and file_name = ?",
            [ODD_NAME],
        ).fetchall()
        staged = con.execute(
            "select _file_name from staging.stg_portal__logins where event_id = 'LG0006'"
        ).fetchall()
        survivor = con.execute("select answer from main.x").fetchall()
    finally:
        con.close()
    # Its one line is one raw row under its exact name, counted in the manifest.
    assert raw_rows == [("LG0006", "mobile", 1)]
    assert manifest == [(1,)]
    # Export 2026-10-15 is later than 2026-10-01: staging keeps the 20261015 copy.
    assert staged == [("logins_20261015.jsonl",)]
    # The table named in the file name is still there, with its row.
    assert survivor == [(42,)]
