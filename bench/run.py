"""The prm-warehouse benchmark: cold build, ceiling, daily increment, no-op, dbt parse.

    python bench/run.py --scales 0.1 1 [--runs 3] [--include-10x] [--work-dir DIR]

Per scale it writes sample exports once (seed 7, cached in the work folder), then per run:

- T1 cold build: ``prm-warehouse build`` on an empty warehouse with the exports up to
  2026-10-30 (every blocking check included), as a subprocess;
- T2 ceiling: ``bench/ceiling.py`` on the same files: the project's loader, then the
  compiled SQL of every model in dependency order, in one DuckDB process;
- T3 daily increment: the 2026-10-31 files added, ``prm-warehouse build`` again;
- T4 no-op: ``prm-warehouse build`` once more, nothing new.

Once per scale it times ``dbt parse`` without and with partial parsing. Each timed command
runs as a child process: wall seconds, CPU seconds (user + system of the child and every
descendant it waited for), the largest single-process peak RSS (``ru_maxrss`` of the
children) and the peak RSS of the whole process tree (``/proc`` polled every 0.2 s, so a
spike shorter than that can be missed). The load average before and after each command is
recorded because the machine may be shared.

The table goes to standard output and, with the machine description and the phase
breakdowns (Dagster step durations, dbt per-node timings), to
``bench/results/<date>-<scales>.md`` plus a JSON file of every measurement.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
RESULTS_DIR = BENCH_DIR / "results"
AS_OF_DATE = "2026-10-31"
LAST_DAY_TAG = "_20261031"  # export files of the last sample day carry this in their name
SEED = 7
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
BIN_DIR = Path(sys.executable).parent
BUILD_ATTEMPTS = 3


@dataclass
class Measurement:
    wall: float
    cpu: float
    max_rss_mb: float  # largest single process (ru_maxrss of the waited-for children)
    tree_rss_mb: float  # peak sum over the live process tree (polled)
    load_before: float
    load_after: float
    returncode: int
    extra: dict = field(default_factory=dict)


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # the command name may hold spaces; the fields after the closing parenthesis do not
        ppid = int(stat[stat.rfind(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _tree_rss(root: int) -> int:
    children = _children_map()
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * PAGE_SIZE
        except OSError:
            pass
        stack.extend(children.get(pid, []))
    return total


def measure(command: list[str], env: dict[str, str], log_path: Path) -> Measurement:
    """Run a command to its end; its wall and CPU time and its memory peaks."""
    load_before = os.getloadavg()[0]
    peak = [0]
    started = time.perf_counter()
    with log_path.open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _tree_rss(process.pid))
                done.wait(0.2)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        poller.join()
        process.returncode = os.waitstatus_to_exitcode(status)
    return Measurement(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        max_rss_mb=usage.ru_maxrss / 1024,
        tree_rss_mb=peak[0] / 2**20,
        load_before=load_before,
        load_after=os.getloadavg()[0],
        returncode=process.returncode,
    )


def _require_success(what: str, result: Measurement, log_path: Path) -> None:
    if result.returncode != 0:
        tail = log_path.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{what} failed (exit {result.returncode}); see {log_path}:\n{tail}")


def prm(*args: str) -> list[str]:
    return [str(BIN_DIR / "prm-warehouse"), *args]


def scale_name(scale: float) -> str:
    return f"{scale:g}x"


def generate(work: Path, scale: float) -> Path:
    """The full sample exports of a scale (written once, then reused)."""
    landing = work / f"landing-{scale_name(scale)}"
    marker = landing / ".complete"
    if marker.exists():
        return landing
    shutil.rmtree(landing, ignore_errors=True)
    log = work / f"sample-{scale_name(scale)}.log"
    command = prm("sample", "--out", str(landing), "--scale", str(scale), "--seed", str(SEED))
    result = measure(command, dict(os.environ), log)
    _require_success(f"sample exports at {scale_name(scale)}", result, log)
    marker.write_text(json.dumps(asdict(result)))
    return landing


def link_files(source: Path, target: Path, *, last_day: bool) -> int:
    """Hard-link the export files of ``source`` into ``target``: those of the last day or
    all the others. The loader only reads landing files, so links are as good as copies."""
    count = 0
    for path in sorted(source.glob("*/*")):
        if not path.is_file() or (LAST_DAY_TAG in path.name) != last_day:
            continue
        destination = target / path.parent.name / path.name
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, destination)
        count += 1
    return count


def build_env(run_dir: Path, landing: Path, threads: int | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PRM_LANDING_DIR=str(landing),
        PRM_WAREHOUSE_PATH=str(run_dir / "warehouse.duckdb"),
        PRM_SERVING_PATH=str(run_dir / "serving.duckdb"),
        PRM_AS_OF_DATE=AS_OF_DATE,
        DAGSTER_HOME=str(run_dir / "dagster_home"),
    )
    if threads is not None:
        env["PRM_DBT_THREADS"] = str(threads)
    (run_dir / "dagster_home").mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "dagster.yaml", run_dir / "dagster_home" / "dagster.yaml")
    return env


def step_phases(dagster_home: Path, since: float) -> dict | None:
    """Seconds per phase of the newest run, from the Dagster event log of the instance.

    None when no run started after ``since`` (a build that stopped before Dagster, as a
    no-op build does)."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home)))
    try:
        runs = instance.get_runs(limit=1)
        stats = instance.get_run_stats(runs[0].run_id) if runs else None
        if stats is None or (stats.start_time or 0) < since:
            return None
        run = runs[0]
        steps = {
            s.step_key: (s.end_time or 0) - (s.start_time or 0)
            for s in instance.get_run_step_stats(run.run_id)
        }
    finally:
        instance.dispose()
    phases = {
        "raw loads": 0.0,
        "raw checks": 0.0,
        "dbt build": 0.0,
        "mart checks": 0.0,
        "publish": 0.0,
    }
    for key, seconds in steps.items():
        if key == "dbt_models":
            phases["dbt build"] += seconds
        elif key.startswith("serving__"):
            phases["publish"] += seconds
        elif key.startswith("raw__") and ("_gx_" in key or key.endswith("_quarantine_share")):
            phases["raw checks"] += seconds
        elif key.startswith("raw__"):
            phases["raw loads"] += seconds
        else:
            phases["mart checks"] += seconds
    return {
        "run_seconds": (stats.end_time or 0) - (stats.start_time or 0),
        "run_start": stats.start_time,
        "run_end": stats.end_time,
        "phases": phases,
        "steps": dict(sorted(steps.items(), key=lambda item: -item[1])[:12]),
    }


def dbt_node_timings(since: float) -> dict | None:
    """dbt's own timings of the build just finished (``run_results.json``): elapsed seconds,
    count and summed seconds per node type, the slowest nodes. None when the file was not
    written during the build (another build may share the target folder)."""
    path = DBT_PROJECT_DIR / "target" / "run_results.json"
    if not path.exists() or path.stat().st_mtime < since:
        return None
    run_results = json.loads(path.read_text())
    results = run_results["results"]
    by_type: dict[str, list[float]] = {}
    for r in results:
        kind = r["unique_id"].split(".", 1)[0]
        count, seconds = by_type.get(kind, [0, 0.0])
        by_type[kind] = [count + 1, seconds + float(r["execution_time"])]
    rows = [(r["unique_id"], r["status"], float(r["execution_time"])) for r in results]
    return {
        "elapsed": float(run_results.get("elapsed_time") or 0.0),
        "by_type": by_type,
        "slowest": sorted(rows, key=lambda row: -row[2])[:15],
    }


def timed_build(run_dir: Path, env: dict[str, str], label: str, extra: list[str]) -> Measurement:
    log = run_dir / f"{label}.log"
    for attempt in range(1, BUILD_ATTEMPTS + 1):
        started = time.time()
        result = measure(prm("build", *extra), env, log)
        if result.returncode == 0 or not _read_shared_manifest_mid_write(log):
            break
        # Every build parses into dbt_project/target; a build running at the same time may
        # be rewriting manifest.json while this one reads it. Nothing was built yet: retry.
        sys.stdout.write(f"{label}: manifest.json read mid-write (attempt {attempt}); retrying\n")
        shutil.copy(log, run_dir / f"{label}.attempt{attempt}.log")
    result.extra["attempts"] = attempt
    result.extra["status"] = _build_status(result, log)
    phases = result.extra["phases"] = step_phases(Path(env["DAGSTER_HOME"]), started)
    run_start = phases["run_start"] if phases else None
    result.extra["startup_seconds"] = run_start - started if run_start else None
    result.extra["dbt_nodes"] = dbt_node_timings(started)
    return result


def _build_status(result: Measurement, log: Path) -> str:
    """ "ok", or "blocked: <reason>" when a blocking check stopped the build (all the work
    up to that check was done and is timed); any other failure stops the benchmark."""
    if result.returncode == 0:
        return "ok"
    text = log.read_text(errors="replace")
    if "build failed (run" not in text:
        _require_success("build", result, log)
    reasons = text.split("build failed (run", 1)[1].splitlines()[1:2]
    return "blocked: " + (reasons[0].strip(" -")[:160] if reasons else "a failed check")


def _read_shared_manifest_mid_write(log: Path) -> bool:
    text = log.read_text(errors="replace")
    return "JSONDecodeError" in text and "manifest" in text


def compile_manifest(work: Path) -> Path:
    """``dbt compile`` against an empty warehouse: the SQL the ceiling runs."""
    target = work / "compile-target"
    # compiled SQL names the database after the file: the ceiling's file is warehouse.duckdb too
    empty = work / "compile-empty" / "warehouse.duckdb"
    shutil.rmtree(empty.parent, ignore_errors=True)
    empty.parent.mkdir(parents=True)
    env = dict(os.environ, PRM_WAREHOUSE_PATH=str(empty))
    command = [
        str(BIN_DIR / "dbt"),
        "compile",
        "--quiet",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(target),
        "--vars",
        json.dumps({"as_of_date": AS_OF_DATE}),
    ]
    log = work / "compile.log"
    _require_success("dbt compile", measure(command, env, log), log)
    return target / "manifest.json"


def time_parse(work: Path) -> dict[str, Measurement]:
    """dbt parse cold (no partial parsing), warm (partial parsing, nothing changed) and
    with a new as-of date (partial parsing, the models that read the date re-parsed)."""
    target = work / "parse-target"
    shutil.rmtree(target, ignore_errors=True)
    env = dict(os.environ, PRM_WAREHOUSE_PATH=str(work / "parse.duckdb"), PRM_AS_OF_DATE=AS_OF_DATE)
    base = [
        str(BIN_DIR / "dbt"),
        "parse",
        "--quiet",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(target),
    ]
    cold = measure([*base, "--no-partial-parse"], env, work / "parse-cold.log")
    measure(base, env, work / "parse-prime.log")  # writes partial_parse.msgpack
    warm = measure(base, env, work / "parse-warm.log")
    # The next day's build: the same project with a new as-of date (PRM_AS_OF_DATE).
    next_day = dict(env, PRM_AS_OF_DATE="2026-11-01")
    new_date = measure(base, next_day, work / "parse-new-as-of-date.log")
    return {"cold": cold, "partial": warm, "new as-of date": new_date}


def one_run(
    work: Path,
    landing: Path,
    manifest: Path,
    index: int,
    threads: int | None,
    cold_only: bool = False,
) -> dict:
    run_dir = work / f"run{index}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    build_landing = run_dir / "landing"
    link_files(landing, build_landing, last_day=False)
    env = build_env(run_dir, build_landing, threads)
    done: dict[str, Measurement] = {}

    def checkpoint() -> None:  # what is measured so far survives an interrupted benchmark
        (run_dir / "measurements.json").write_text(
            json.dumps({label: asdict(m) for label, m in done.items()}, indent=1, default=str)
        )

    t1 = done["T1"] = timed_build(run_dir, env, "t1-cold", [])
    checkpoint()
    if cold_only:
        for name in ("warehouse.duckdb", "serving.duckdb"):
            (run_dir / name).unlink(missing_ok=True)
        return {"T1": t1}

    ceiling_dir = run_dir / "ceiling"
    link_files(landing, ceiling_dir / "landing", last_day=False)
    ceiling_log = run_dir / "t2-ceiling.log"
    ceiling_cmd = [
        sys.executable,
        str(BENCH_DIR / "ceiling.py"),
        str(manifest),
        str(ceiling_dir / "warehouse.duckdb"),
        str(ceiling_dir / "landing"),
        str(PROJECT_ROOT / "seeds"),
    ]
    t2 = measure(ceiling_cmd, dict(os.environ), ceiling_log)
    _require_success("ceiling", t2, ceiling_log)
    lines = ceiling_log.read_text().strip().splitlines()
    t2.extra = json.loads(lines[-1])
    done["T2"] = t2
    t2.extra["marts_compared"] = compare_marts(
        run_dir / "warehouse.duckdb", ceiling_dir / "warehouse.duckdb"
    )
    checkpoint()
    shutil.rmtree(ceiling_dir)

    added = link_files(landing, build_landing, last_day=True)
    t3 = done["T3"] = timed_build(run_dir, env, "t3-increment", [])
    t3.extra["files_added"] = added
    checkpoint()
    t4 = done["T4"] = timed_build(run_dir, env, "t4-noop", [])
    checkpoint()
    for name in ("warehouse.duckdb", "serving.duckdb"):
        (run_dir / name).unlink(missing_ok=True)
    return {"T1": t1, "T2": t2, "T3": t3, "T4": t4}


def compare_marts(build: Path, ceiling: Path) -> dict[str, str]:
    """Every mart of the cold build against the ceiling's: equal rows, or what differs.

    Rows are compared as an order-free checksum (count and the sum of a hash of each row),
    floating-point columns rounded to 9 decimals (parallel sums may differ in the last bits).
    The same SQL on the same files must give the same marts, whatever dbt's thread count.
    """
    con = duckdb.connect()
    con.execute(f"attach '{build}' as build (read_only)")
    con.execute(f"attach '{ceiling}' as ceiling (read_only)")
    tables = con.execute(
        "select table_name from information_schema.tables"
        " where table_catalog = 'build' and table_schema = 'marts' and table_type = 'BASE TABLE'"
        " order by table_name"
    ).fetchall()
    verdicts: dict[str, str] = {}
    for (table,) in tables:
        columns = con.execute(
            "select column_name, data_type from information_schema.columns"
            " where table_catalog = 'build' and table_schema = 'marts' and table_name = ?"
            " order by ordinal_position",
            [table],
        ).fetchall()
        values = ", ".join(
            f'round("{name}", 9)' if kind in ("DOUBLE", "FLOAT") else f'"{name}"'
            for name, kind in columns
        )
        in_ceiling = con.execute(
            "select count(*) from information_schema.tables"
            " where table_catalog = 'ceiling' and table_schema = 'marts' and table_name = ?",
            [table],
        ).fetchone()[0]
        if not in_ceiling:  # written by a Python step of the build, not by a dbt model
            verdicts[table] = "not a dbt model (the ceiling has no such table)"
            continue
        sums = []
        for catalog in ("build", "ceiling"):
            try:
                sums.append(
                    con.execute(
                        f"select count(*), sum(hash({values})::hugeint)"
                        f' from {catalog}.marts."{table}"'
                    ).fetchone()
                )
            except duckdb.Error as exc:
                sums.append(str(exc).splitlines()[0])
        if sums[0] == sums[1]:
            verdicts[table] = f"equal ({sums[0][0]} rows)"
        else:
            verdicts[table] = f"DIFFERENT: build {sums[0]}, ceiling {sums[1]}"
    con.close()
    return verdicts


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    versions = {}
    for package in ("duckdb", "dbt-core", "dbt-duckdb", "dagster", "dagster-dbt"):
        versions[package] = importlib.metadata.version(package)
    versions["great-expectations"] = importlib.metadata.version("great_expectations")
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": f"{mem_kb / 2**20:.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        **versions,
    }


def summarise(scale: float, runs: list[dict], parse: dict[str, Measurement]) -> dict:
    def med(label: str, attr: str) -> float:
        return median([getattr(run[label], attr) for run in runs])

    row = {"scale": scale_name(scale), "runs": len(runs)}
    measured = [label for label in ("T1", "T2", "T3", "T4") if label in runs[0]]
    for label in measured:
        row[label] = med(label, "wall")
        row[f"{label} cpu"] = med(label, "cpu")
        row[f"{label} rss"] = med(label, "tree_rss_mb")
        row[f"{label} max1"] = med(label, "max_rss_mb")
    if "T2" in measured:
        row["T2 load"] = median([run["T2"].extra["load_seconds"] for run in runs])
        row["T2 sql"] = median([run["T2"].extra["transform_seconds"] for run in runs])
        row["T1/T2"] = row["T1"] / row["T2"]
        row["T3/T1"] = row["T3"] / row["T1"]
    row["load"] = median([run[label].load_before for run in runs for label in measured])
    row["parse cold"] = parse["cold"].wall
    row["parse partial"] = parse["partial"].wall
    row["parse new as-of date"] = parse["new as-of date"].wall
    return row


def table(rows: list[dict]) -> str:
    header = (
        "| scale | runs | T1 cold s | T2 ceiling s | T3 increment s | T4 no-op s | T1/T2 | T3/T1 "
        "| T1 cpu s | T1 peak RSS tree / largest MB | load avg |"
    )
    lines = [header, "|" + "---|" * 11]
    for r in rows:
        if "T2" not in r:  # --cold-only
            lines.append(
                f"| {r['scale']} | {r['runs']} | {r['T1']:.1f} | - | - | - | - | - "
                f"| {r['T1 cpu']:.1f} | {r['T1 rss']:.0f} / {r['T1 max1']:.0f} | {r['load']:.1f} |"
            )
            continue
        lines.append(
            f"| {r['scale']} | {r['runs']} | {r['T1']:.1f} | {r['T2']:.1f} "
            f"({r['T2 load']:.1f} load + {r['T2 sql']:.1f} sql) | {r['T3']:.1f} | {r['T4']:.1f} "
            f"| {r['T1/T2']:.2f} | {r['T3/T1']:.2f} | {r['T1 cpu']:.1f} "
            f"| {r['T1 rss']:.0f} / {r['T1 max1']:.0f} | {r['load']:.1f} |"
        )
    return "\n".join(lines)


def details(scale: float, runs: list[dict], parse: dict[str, Measurement]) -> str:
    lines = [f"## {scale_name(scale)}", ""]
    lines.append(
        f"dbt parse: cold (no partial parse) {parse['cold'].wall:.1f} s wall, "
        f"{parse['cold'].cpu:.1f} s CPU, {parse['cold'].max_rss_mb:.0f} MB; "
        f"partial parse, nothing changed {parse['partial'].wall:.1f} s wall, "
        f"{parse['partial'].cpu:.1f} s CPU; partial parse, new as-of date "
        f"{parse['new as-of date'].wall:.1f} s wall, {parse['new as-of date'].cpu:.1f} s CPU."
    )
    lines.append("")
    lines.append(
        "| run | build | wall s | cpu s | startup s | raw loads | raw checks | dbt build "
        "| mart checks | publish | tree RSS MB | load before/after | status |"
    )
    lines.append("|" + "---|" * 13)
    for index, run in enumerate(runs, 1):
        for label in ("T1", "T3", "T4"):
            if label not in run:
                continue
            m = run[label]
            if m.extra["phases"] is None:  # stopped before Dagster started a run
                phase_cells = "| - | - | - | - | - | - "
            else:
                p = m.extra["phases"]["phases"]
                phase_cells = (
                    f"| {m.extra['startup_seconds']:.1f} | {p['raw loads']:.1f} "
                    f"| {p['raw checks']:.1f} | {p['dbt build']:.1f} | {p['mart checks']:.1f} "
                    f"| {p['publish']:.1f} "
                )
            lines.append(
                f"| {index} | {label} | {m.wall:.1f} | {m.cpu:.1f} {phase_cells}"
                f"| {m.tree_rss_mb:.0f} "
                f"| {m.load_before:.1f}/{m.load_after:.1f} | {m.extra['status']} |"
            )
        if "T2" not in run:
            continue
        m = run["T2"]
        lines.append(
            f"| {index} | T2 | {m.wall:.1f} | {m.cpu:.1f} | | {m.extra['load_seconds']:.1f} | "
            f"| {m.extra['transform_seconds']:.1f} (sql) | | | {m.tree_rss_mb:.0f} "
            f"| {m.load_before:.1f}/{m.load_after:.1f} | ok |"
        )
    last = runs[-1]
    lines += ["", "Slowest Dagster steps of the last cold build (s):", ""]
    for key, seconds in last["T1"].extra["phases"]["steps"].items():
        lines.append(f"- {key}: {seconds:.1f}")
    for label in ("T1", "T3"):
        if label not in last:
            continue
        nodes = last[label].extra.get("dbt_nodes")
        lines += ["", f"Slowest dbt nodes of the last {label} build (run_results.json, s):", ""]
        if not nodes:
            lines.append("- (run_results.json was rewritten by another build; not available)")
            continue
        kinds = ", ".join(
            f"{n} {kind}s {seconds:.1f} s" for kind, (n, seconds) in nodes["by_type"].items()
        )
        lines.append(f"- dbt elapsed {nodes['elapsed']:.1f} s; summed per node type: {kinds}")
        for unique_id, status, seconds in nodes["slowest"]:
            lines.append(f"- {unique_id} ({status}): {seconds:.1f}")
    if "T2" not in last:
        return "\n".join(lines)
    lines += ["", "Marts of the last cold build against the ceiling's (same SQL, same files):", ""]
    for table, verdict in last["T2"].extra.get("marts_compared", {}).items():
        lines.append(f"- {table}: {verdict}")
    lines += ["", "Slowest models of the last ceiling run (s):", ""]
    for name, seconds in last["T2"].extra["slowest"]:
        lines.append(f"- {name}: {seconds:.1f}")
    return "\n".join(lines)


def jsonable(runs: list[dict]) -> list[dict]:
    return [{label: asdict(m) for label, m in run.items()} for run in runs]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.1, 1.0])
    parser.add_argument("--runs", type=int, default=3, help="runs per scale (median reported)")
    parser.add_argument("--include-10x", action="store_true", help="add scale 10")
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "prm-bench")
    parser.add_argument("--dbt-threads", type=int, default=None, help="sets PRM_DBT_THREADS")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results/")
    parser.add_argument(
        "--cold-only",
        action="store_true",
        help="time only T1 (the cold build): for scales whose full run takes hours",
    )
    args = parser.parse_args(argv)
    scales = list(args.scales) + ([10.0] if args.include_10x else [])
    info = machine()
    sys.stdout.write("".join(f"{key}: {value}\n" for key, value in info.items()))
    rows, sections, raw, all_runs = [], [], {}, []
    for scale in scales:
        work = args.work_dir / scale_name(scale)
        work.mkdir(parents=True, exist_ok=True)
        landing = generate(args.work_dir, scale)
        manifest = compile_manifest(work)
        parse = time_parse(work)
        runs = []
        for index in range(1, args.runs + 1):
            sys.stdout.write(f"{scale_name(scale)}: run {index} of {args.runs}\n")
            sys.stdout.flush()
            runs.append(one_run(work, landing, manifest, index, args.dbt_threads, args.cold_only))
            runs[-1]["T1"].extra["scale"] = scale
        all_runs.append(runs)
        rows.append(summarise(scale, runs, parse))
        sections.append(details(scale, runs, parse))
        raw[scale_name(scale)] = {
            "runs": jsonable(runs),
            "parse": {k: asdict(v) for k, v in parse.items()},
        }
        sys.stdout.write(table(rows[-1:]) + "\n")
    threads = args.dbt_threads or os.environ.get("PRM_DBT_THREADS") or "2 (profile default)"
    summary = table(rows)
    blocked = sorted(
        {
            f"{label} at {scale_name(scale)}: {run[label].extra['status']}"
            for scale, runs in zip(scales, all_runs, strict=True)
            for run in runs
            for label in ("T1", "T3", "T4")
            if label in run and run[label].extra["status"] != "ok"
        }
    )
    if blocked:
        summary += "\n\nBuilds stopped by a blocking check (timed up to that point):\n"
        summary += "".join(f"\n- {line}" for line in blocked)
    sys.stdout.write("\n" + summary + "\n")
    if args.runs == 1:
        sys.stdout.write("note: one run per scale (--runs 1): no median, numbers are single.\n")
    if args.no_write:
        return
    RESULTS_DIR.mkdir(exist_ok=True)
    stem = f"{dt.date.today().isoformat()}-" + "-".join(scale_name(s) for s in scales)
    text = [
        f"# Benchmark {stem}",
        "",
        "Command: `python bench/run.py " + " ".join(argv or sys.argv[1:]) + "`",
        f"dbt threads: {threads}",
        "",
        *[f"- {key}: {value}" for key, value in info.items()],
        "",
        "Medians over the runs; seconds of wall time unless marked CPU. See bench/README.md.",
        "",
        summary,
        "",
        *sections,
        "",
    ]
    (RESULTS_DIR / f"{stem}.md").write_text("\n".join(text))
    (RESULTS_DIR / f"{stem}.json").write_text(
        json.dumps({"machine": info, "rows": rows, "raw": raw}, indent=1, default=str)
    )
    sys.stdout.write(f"wrote {RESULTS_DIR / (stem + '.md')}\n")


if __name__ == "__main__":
    main()
