"""Loading landing files into the `raw` schema: incremental, idempotent, one transaction.

``load_source`` compares every file of a source with the load manifest (sha256 per
``(source, file_name)``): an unchanged file is skipped, a new file is inserted, and a
re-delivered file with new content replaces the rows and quarantine records it brought
before. A file whose size, times and inode are those recorded when it was loaded
(``file_stat_key``) is not read again to compute its digest. All of it happens inside one
transaction per source, so a file that cannot be read leaves the warehouse exactly as it
was, and the error names that file.

A file is read and inserted chunk by chunk (``CHUNK_ROWS`` lines at a time, one bulk
insert from a data frame per chunk), so memory does not grow with the file; every chunk
goes into the same transaction. File names and values are always bound as parameters,
never written into SQL text.

When a source has several files to read and enough bytes to make it worth it, the files are
parsed side by side in worker processes (``PRM_LOAD_WORKERS``, default one per core): each
worker reads one file, exactly as above, into a scratch DuckDB file of its own, and the
loading process copies the scratch tables into the warehouse, file by file in landing
order, inside the source's one transaction. Parsing is Python and holds one core; the
warehouse itself is still written by one process only.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from glob import escape as glob_escape
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd

from .contract import MANIFEST_TABLE, QUARANTINE_TABLE, RAW_SCHEMA, SOURCES, SOURCES_BY_NAME, Source
from .readers import (
    CHUNK_ROWS,
    Discovery,
    LandingFile,
    ParsedFile,
    RawInputError,
    SkippedFile,
    check_inside_landing,
    detect_encoding,
    discover_files,
    file_digest,
    file_stat_key,
    read_file_chunks,
    utf8_only,
)
from .schema import create_raw_tables

logger = logging.getLogger(__name__)

FileStatus = Literal["loaded", "reloaded", "unchanged"]

# the name under which an insert statement reads the chunk's data frame (see _insert_rows)
_CHUNK = "_prm_raw_chunk"

ENV_LOAD_WORKERS = "PRM_LOAD_WORKERS"
# Worker processes of a load that does not say: none, so that a caller's script needs no
# main guard (the raw assets pass ``load_workers()``).
DEFAULT_WORKERS = 1
# Below this many bytes to parse, a source is read in the loading process: starting workers
# and copying their tables would cost more than it saves.
PARALLEL_MIN_BYTES = 16 * 1024 * 1024
# the alias under which the loading process attaches a worker's scratch file
_PART = "_prm_raw_part"


class RawLoadError(Exception):
    """A source load failed; nothing of that load was written. The message names the file."""


@dataclass(frozen=True)
class FileReport:
    file_name: str
    status: FileStatus
    export_date: dt.date
    sha256: str
    size_bytes: int
    encoding: str | None  # None when the file was unchanged (not decoded again)
    rows_loaded: int
    rows_quarantined: int
    seconds: float
    # CSV header columns that the contract does not know, read past and not loaded
    ignored_columns: tuple[str, ...] = ()


@dataclass
class LoadReport:
    source: str
    files: list[FileReport] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def files_seen(self) -> int:
        """Contract files found in the landing folder (skipped entries not counted)."""
        return len(self.files)

    @property
    def files_loaded(self) -> int:
        """New and re-delivered files written by this load."""
        return sum(1 for f in self.files if f.status != "unchanged")

    @property
    def files_reloaded(self) -> int:
        return sum(1 for f in self.files if f.status == "reloaded")

    @property
    def files_unchanged(self) -> int:
        return sum(1 for f in self.files if f.status == "unchanged")

    @property
    def files_skipped(self) -> int:
        return len(self.skipped)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files if f.status != "unchanged")

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files if f.status != "unchanged")

    @property
    def rows_per_second(self) -> float:
        return self.rows_loaded / self.seconds if self.seconds > 0 else 0.0


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _table(name: str) -> str:
    return f"{RAW_SCHEMA}.{_quote(name)}"


def _frame(parsed: ParsedFile) -> pd.DataFrame:
    """Typed columns of a parsed file as a data frame whose dtypes DuckDB reads exactly."""
    data: dict[str, Any] = {}
    for column in parsed.source.columns:
        values = parsed.columns[column.name]
        kind = column.kind
        if kind in ("id", "text"):
            data[column.name] = pd.array(values, dtype=pd.StringDtype("python"))
        elif kind == "timestamp":
            data[column.name] = pd.array(values, dtype="datetime64[us, UTC]")
        elif kind == "date":
            data[column.name] = pd.array(values, dtype="datetime64[s]")
        elif kind == "bool":
            data[column.name] = pd.array(values, dtype="boolean")
        elif kind == "int":
            data[column.name] = pd.array(values, dtype="Int64")
        else:
            data[column.name] = pd.array(values, dtype="Float64")
    data["_line_number"] = pd.array(parsed.line_numbers, dtype="Int64")
    return pd.DataFrame(data, copy=False)


def _insert_rows(
    con: duckdb.DuckDBPyConnection,
    parsed: ParsedFile,
    export_date: dt.date,
    loaded_at: dt.datetime,
) -> None:
    if parsed.row_count == 0:
        return
    source = parsed.source
    names = [_quote(c.name) for c in source.columns]
    selects = [f"cast({_quote(c.name)} as {c.duckdb_type})" for c in source.columns]
    lineage = ["_file_name", "_export_date", "_line_number", "_loaded_at"]
    sql = (
        f"insert into {_table(source.name)} ({', '.join(names + lineage)}) "
        f"select {', '.join(selects)}, "
        "cast($file_name as varchar), cast($export_date as date), "
        "cast(_line_number as integer), cast($loaded_at as timestamptz) "
        f"from {_CHUNK}"
    )
    # DuckDB finds the frame by its variable name (a replacement scan). Unlike a registered
    # view, whose catalog entry keeps the frame alive until the transaction ends, the scan
    # lets the frame go after the statement: memory stays at one chunk however many chunks
    # the source's transaction holds.
    _prm_raw_chunk = _frame(parsed)  # read by the statement below
    con.execute(
        sql,
        {"file_name": parsed.file_name, "export_date": export_date, "loaded_at": loaded_at},
    )


def _insert_quarantine(
    con: duckdb.DuckDBPyConnection, parsed: ParsedFile, loaded_at: dt.datetime
) -> None:
    if not parsed.quarantined:
        return
    _prm_raw_chunk = pd.DataFrame(  # read by the statement below, as in _insert_rows
        {
            "line_number": pd.array([q.line_number for q in parsed.quarantined], dtype="Int64"),
            "reason": pd.array(
                [q.reason for q in parsed.quarantined], dtype=pd.StringDtype("python")
            ),
            "record": pd.array(
                [q.record for q in parsed.quarantined], dtype=pd.StringDtype("python")
            ),
            "record_key": pd.array(
                [q.record_key for q in parsed.quarantined], dtype=pd.StringDtype("python")
            ),
        }
    )
    con.execute(
        f"insert into {_table(QUARANTINE_TABLE)} "
        "(source, file_name, line_number, reason, record, loaded_at, record_key) "
        "select cast($source as varchar), cast($file_name as varchar), "
        "cast(line_number as integer), reason, record, cast($loaded_at as timestamptz), "
        f"record_key from {_CHUNK}",
        {"source": parsed.source.name, "file_name": parsed.file_name, "loaded_at": loaded_at},
    )


def _delete_file(con: duckdb.DuckDBPyConnection, source: Source, file_name: str) -> None:
    con.execute(f"delete from {_table(source.name)} where _file_name = ?", [file_name])
    con.execute(
        f"delete from {_table(QUARANTINE_TABLE)} where source = ? and file_name = ?",
        [source.name, file_name],
    )


def _record_manifest(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    report: FileReport,
    loaded_at: dt.datetime,
    file_stat: str,
) -> None:
    con.execute(
        f"insert into {_table(MANIFEST_TABLE)} "
        "(source, file_name, export_date, sha256, size_bytes, encoding, rows_loaded, "
        "rows_quarantined, loaded_at, file_stat) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "on conflict (source, file_name) do update set "
        "export_date = excluded.export_date, sha256 = excluded.sha256, "
        "size_bytes = excluded.size_bytes, encoding = excluded.encoding, "
        "rows_loaded = excluded.rows_loaded, rows_quarantined = excluded.rows_quarantined, "
        "loaded_at = excluded.loaded_at, file_stat = excluded.file_stat",
        [
            source.name,
            report.file_name,
            report.export_date,
            report.sha256,
            report.size_bytes,
            report.encoding,
            report.rows_loaded,
            report.rows_quarantined,
            loaded_at,
            file_stat,
        ],
    )


def _record_file_stat(
    con: duckdb.DuckDBPyConnection, source: Source, file_name: str, file_stat: str
) -> None:
    con.execute(
        f"update {_table(MANIFEST_TABLE)} set file_stat = ? where source = ? and file_name = ?",
        [file_stat, source.name, file_name],
    )


@dataclass(frozen=True)
class _KnownFile:
    """What the load manifest holds of a file loaded before."""

    sha256: str
    size_bytes: int
    file_stat: str | None


def _known_files(con: duckdb.DuckDBPyConnection, source: Source) -> dict[str, _KnownFile]:
    rows = con.execute(
        f"select file_name, sha256, size_bytes, file_stat from {_table(MANIFEST_TABLE)} "
        "where source = ?",
        [source.name],
    ).fetchall()
    return {name: _KnownFile(sha256, size, stat) for name, sha256, size, stat in rows}


@dataclass(frozen=True)
class _PlannedFile:
    """A landing file with its digest, and the digest of its delivery loaded before."""

    landing: LandingFile
    sha256: str
    size_bytes: int
    previous: str | None  # None when the file was never loaded
    digest_seconds: float
    file_stat: str  # file_stat_key, taken before the file was read
    stat_recorded: bool  # the manifest holds this file_stat already

    @property
    def unchanged(self) -> bool:
        return self.previous == self.sha256

    @property
    def status(self) -> FileStatus:
        if self.unchanged:
            return "unchanged"
        return "reloaded" if self.previous is not None else "loaded"


def _plan_file(
    landing: LandingFile, landing_dir: Path, known: dict[str, _KnownFile]
) -> _PlannedFile:
    started = time.perf_counter()
    path = check_inside_landing(landing.path, landing_dir)
    try:
        stat_key = file_stat_key(path)
    except OSError as exc:
        raise RawInputError(f"{landing.path}: cannot read the file ({exc})") from exc
    before = known.get(landing.file_name)
    if before is not None and before.file_stat == stat_key:
        # not written since it was loaded: its recorded digest still holds
        return _PlannedFile(
            landing, before.sha256, before.size_bytes, before.sha256, 0.0, stat_key, True
        )
    digest, size_bytes = file_digest(path, str(landing.path))
    return _PlannedFile(
        landing,
        digest,
        size_bytes,
        before.sha256 if before is not None else None,
        time.perf_counter() - started,
        stat_key,
        False,
    )


def _report(
    plan: _PlannedFile,
    encoding: str | None = None,
    rows: int = 0,
    quarantined: int = 0,
    parse_seconds: float = 0.0,
    ignored_columns: tuple[str, ...] = (),
) -> FileReport:
    return FileReport(
        file_name=plan.landing.file_name,
        status=plan.status,
        export_date=plan.landing.export_date,
        sha256=plan.sha256,
        size_bytes=plan.size_bytes,
        encoding=encoding,
        rows_loaded=rows,
        rows_quarantined=quarantined,
        seconds=plan.digest_seconds + parse_seconds,
        ignored_columns=ignored_columns,
    )


def _encoding_of(landing: LandingFile, path: Path) -> str:
    """UTF-8 (with or without BOM) or, for CSV only, CP932; ``RawInputError`` otherwise."""
    return detect_encoding(path, str(landing.path), only_utf8=utf8_only(landing.file_format))


def _load_file(
    con: duckdb.DuckDBPyConnection,
    plan: _PlannedFile,
    landing_dir: Path,
    loaded_at: dt.datetime,
    chunk_rows: int,
) -> FileReport:
    if plan.unchanged:
        return _unchanged(con, plan)
    started = time.perf_counter()
    landing = plan.landing
    encoding = _encoding_of(landing, landing.path)
    if plan.previous is not None:
        _delete_file(con, SOURCES_BY_NAME[landing.source], landing.file_name)
    written = _write_chunks(con, landing, landing_dir, encoding, plan.sha256, loaded_at, chunk_rows)
    report = _report(
        plan,
        encoding,
        written.rows_loaded,
        written.rows_quarantined,
        time.perf_counter() - started,
        written.ignored_columns,
    )
    return _finish_file(con, plan, report, loaded_at)


@dataclass(frozen=True)
class _Written:
    rows_loaded: int
    rows_quarantined: int
    ignored_columns: tuple[str, ...]


def _write_chunks(
    con: duckdb.DuckDBPyConnection,
    landing: LandingFile,
    landing_dir: Path,
    encoding: str,
    digest: str,
    loaded_at: dt.datetime,
    chunk_rows: int,
) -> _Written:
    """Parse a file chunk by chunk into ``con``'s raw tables."""
    rows_loaded = 0
    rows_quarantined = 0
    ignored_columns: tuple[str, ...] = ()
    # Chunk by chunk: parse, insert, let go. A later chunk that fails rolls back the
    # earlier ones with the rest of the source's transaction.
    for chunk in read_file_chunks(
        landing, landing_dir, encoding=encoding, sha256=digest, chunk_rows=chunk_rows
    ):
        try:
            _insert_rows(con, chunk, landing.export_date, loaded_at)
            _insert_quarantine(con, chunk, loaded_at)
        except duckdb.Error as exc:
            raise RawLoadError(
                f"{landing.path}: cannot be written to the warehouse ({exc})"
            ) from exc
        rows_loaded += chunk.row_count
        rows_quarantined += len(chunk.quarantined)
        ignored_columns = chunk.ignored_columns
        del chunk
    return _Written(rows_loaded, rows_quarantined, ignored_columns)


def _unchanged(con: duckdb.DuckDBPyConnection, plan: _PlannedFile) -> FileReport:
    """An unchanged file: nothing loaded; its stat key recorded if the manifest lacks it."""
    if not plan.stat_recorded:
        source = SOURCES_BY_NAME[plan.landing.source]
        _record_file_stat(con, source, plan.landing.file_name, plan.file_stat)
    return _report(plan)


def _finish_file(
    con: duckdb.DuckDBPyConnection,
    plan: _PlannedFile,
    report: FileReport,
    loaded_at: dt.datetime,
) -> FileReport:
    source = SOURCES_BY_NAME[plan.landing.source]
    _record_manifest(con, source, report, loaded_at, plan.file_stat)
    logger.info(
        "raw.%s: %s %s: %d rows loaded, %d rows quarantined (%s, %.2fs)",
        plan.landing.source,
        report.status,
        report.file_name,
        report.rows_loaded,
        report.rows_quarantined,
        report.encoding,
        report.seconds,
    )
    if report.ignored_columns:
        logger.warning(
            "raw.%s: %s: header columns not in the contract, not loaded: %s",
            plan.landing.source,
            report.file_name,
            ", ".join(report.ignored_columns),
        )
    return report


def load_workers(environ: dict[str, str] | None = None) -> int:
    """How many worker processes the raw assets let parse a source's files.

    ``PRM_LOAD_WORKERS``; default and at most one per core. ``1`` reads every file in the
    loading process.
    """
    env = os.environ if environ is None else environ
    value = (env.get(ENV_LOAD_WORKERS) or "").strip()
    cores = max(1, os.cpu_count() or 1)
    if not value:
        return cores
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{ENV_LOAD_WORKERS}={value!r} is not a whole number of at least 1")
    if int(value) > cores:
        # Parsing is CPU-bound: more workers than cores only cost memory and start-up.
        if value not in _capped_worker_settings:  # said once, not by every raw asset
            _capped_worker_settings.add(value)
            logger.warning("%s=%s: using %d, one per core", ENV_LOAD_WORKERS, value, cores)
        return cores
    return int(value)


_capped_worker_settings: set[str] = set()


@dataclass(frozen=True)
class _ParsedPart:
    """What a worker wrote into its scratch file for one landing file."""

    encoding: str
    written: _Written
    seconds: float


def _parse_into_part(
    landing: LandingFile,
    landing_dir: Path,
    digest: str,
    loaded_at: dt.datetime,
    chunk_rows: int,
    part_path: str,
) -> _ParsedPart:
    """Worker: read one landing file into the raw tables of a new scratch DuckDB file."""
    started = time.perf_counter()
    path = check_inside_landing(landing.path, landing_dir)
    encoding = _encoding_of(landing, path)
    # One DuckDB thread: the worker's cost is Python parsing, and the cores are shared.
    con = duckdb.connect(part_path, config={"threads": 1})
    try:
        create_raw_tables(con)
        written = _write_chunks(con, landing, landing_dir, encoding, digest, loaded_at, chunk_rows)
        con.execute("checkpoint")
    finally:
        con.close()
    return _ParsedPart(encoding, written, time.perf_counter() - started)


_pool: concurrent.futures.ProcessPoolExecutor | None = None
_pool_workers = 0
PARENT_WATCH_SECONDS = 1.0


def _exit_with_parent(parent_pid: int) -> None:
    """Worker initializer: a worker whose loading process is gone (killed) exits too.

    An idle worker waits on its task queue, which never closes when the loading process is
    killed; without this it would wait for ever.
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_WATCH_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="prm-parent-watch", daemon=True).start()


def _worker_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """The process pool of this process, started once and kept for the next sources.

    Workers are spawned (never forked): they start from a clean interpreter and share no
    DuckDB connection, lock or thread with the loading process.
    """
    global _pool, _pool_workers
    if _pool is None or _pool_workers != workers:
        if _pool is not None:
            _pool.shutdown(wait=True)
        _pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        )
        _pool_workers = workers
    return _pool


def _discard_pool() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
    _pool = None


def _new_scratch_folder(con: duckdb.DuckDBPyConnection) -> str:
    """A new folder for the workers' scratch files, beside the warehouse file.

    Beside the warehouse: same disk, same space limits (the temp folder for a warehouse in
    memory). Its name starts with the warehouse's file name; a folder of that name left by a
    load that was killed goes first (only one load writes a warehouse at a time).
    """
    row = con.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    path = row[0] if row else None
    if not path or path == ":memory:":
        return tempfile.mkdtemp(prefix=".prm-load-memory-")
    warehouse = Path(os.path.abspath(path))
    prefix = f".prm-load-{warehouse.name}-"
    for stale in warehouse.parent.glob(f"{glob_escape(prefix)}*"):
        logger.info("removing %s, left by a load that did not finish", stale)
        shutil.rmtree(stale, ignore_errors=True)
    return tempfile.mkdtemp(prefix=prefix, dir=warehouse.parent)


def _copy_part(con: duckdb.DuckDBPyConnection, landing: LandingFile, part_path: str) -> None:
    table = _table(landing.source)
    columns = ", ".join(
        _quote(name)
        for name in (
            *(c.name for c in SOURCES_BY_NAME[landing.source].columns),
            "_file_name",
            "_export_date",
            "_line_number",
            "_loaded_at",
        )
    )
    quarantine = "source, file_name, line_number, reason, record, loaded_at, record_key"
    # Inside the source's transaction: a failure aborts it, and the rollback detaches too.
    try:
        con.execute(f"attach '{_sql_string(part_path)}' as {_PART} (read_only)")
        con.execute(
            f"insert into {table} ({columns}) select {columns} "
            f"from {_PART}.{RAW_SCHEMA}.{_quote(landing.source)}"
        )
        con.execute(
            f"insert into {_table(QUARANTINE_TABLE)} ({quarantine}) select {quarantine} "
            f"from {_PART}.{RAW_SCHEMA}.{QUARANTINE_TABLE}"
        )
        con.execute(f"detach {_PART}")
    except duckdb.Error as exc:
        raise RawLoadError(f"{landing.path}: cannot be written to the warehouse ({exc})") from exc


def _sql_string(text: str) -> str:
    return text.replace("'", "''")


def _load_files_in_parallel(
    con: duckdb.DuckDBPyConnection,
    plans: list[_PlannedFile],
    landing_dir: Path,
    loaded_at: dt.datetime,
    chunk_rows: int,
    workers: int,
) -> list[FileReport]:
    """``_load_file`` for each file, the parsing done by worker processes.

    The workers parse the new and changed files, each into a scratch file of its own; this
    process copies the scratch tables into the warehouse in landing order, so the rows,
    quarantine and manifest are those of a load in one process. The first file that fails
    stops the load with its own error; the scratch files go either way.
    """
    scratch = _new_scratch_folder(con)
    pool = _worker_pool(workers)
    parts: dict[int, tuple[str, concurrent.futures.Future[_ParsedPart]]] = {}
    try:
        for index, plan in enumerate(plans):
            if not plan.unchanged:
                part = os.path.join(scratch, f"part_{index:05d}.duckdb")
                future = pool.submit(
                    _parse_into_part,
                    plan.landing,
                    landing_dir,
                    plan.sha256,
                    loaded_at,
                    chunk_rows,
                    part,
                )
                parts[index] = (part, future)
        reports: list[FileReport] = []
        for index, plan in enumerate(plans):
            if plan.unchanged:
                reports.append(_unchanged(con, plan))
                continue
            part, future = parts[index]
            try:
                parsed = future.result()
            except (RawInputError, RawLoadError) as exc:
                # The worker's message names the file and the cause; its traceback is noise.
                raise type(exc)(str(exc)) from None
            except concurrent.futures.process.BrokenProcessPool as exc:
                _discard_pool()
                raise RawLoadError(
                    f"{plan.landing.path}: the worker process reading it stopped ({exc})"
                ) from exc
            if plan.previous is not None:
                _delete_file(con, SOURCES_BY_NAME[plan.landing.source], plan.landing.file_name)
            _copy_part(con, plan.landing, part)
            report = _report(
                plan,
                parsed.encoding,
                parsed.written.rows_loaded,
                parsed.written.rows_quarantined,
                parsed.seconds,
                parsed.written.ignored_columns,
            )
            reports.append(_finish_file(con, plan, report, loaded_at))
        return reports
    finally:
        futures = [future for _, future in parts.values()]
        for future in futures:
            future.cancel()
        concurrent.futures.wait(futures)  # no worker writes into the folder once it goes
        shutil.rmtree(scratch, ignore_errors=True)


def _worth_parallel(plans: Iterable[_PlannedFile], workers: int) -> bool:
    """Two or more new or changed files, of at least ``PARALLEL_MIN_BYTES`` together."""
    if workers < 2:
        return False
    sizes = [plan.size_bytes for plan in plans if not plan.unchanged]
    return len(sizes) >= 2 and sum(sizes) >= PARALLEL_MIN_BYTES


def load_stamp(con: duckdb.DuckDBPyConnection, wanted: dt.datetime) -> dt.datetime:
    """The ``loaded_at`` of a new load: `wanted`, but always after every earlier load.

    The incremental models find new raw rows by their load stamp (docs/incremental.md), so
    stamps must follow the order of the loads even when the clock jumps back or a caller
    passes an earlier time: a load is stamped one microsecond after the latest one recorded
    in the load manifest when `wanted` is not later than that.
    """
    wanted = wanted.astimezone(dt.UTC)
    row = con.execute(f"select max(loaded_at) from {_table(MANIFEST_TABLE)}").fetchone()
    latest = row[0] if row else None
    if latest is not None and wanted <= latest:
        stamp = latest.astimezone(dt.UTC) + dt.timedelta(microseconds=1)
        logger.info("load stamped %s, after the latest load (%s is not later)", stamp, wanted)
        return stamp
    return wanted


def load_source(
    con: duckdb.DuckDBPyConnection,
    source: Source | str,
    landing_dir: str | Path,
    *,
    loaded_at: dt.datetime | None = None,
    chunk_rows: int = CHUNK_ROWS,
    workers: int | None = None,
) -> LoadReport:
    """Load every new or changed file of one source, in one transaction.

    With ``workers`` above 1 (default ``DEFAULT_WORKERS``), that many spawned processes
    parse the files when there is enough to parse (see the module's docstring). Spawned
    processes import the caller's main module again, so a script that passes it must guard
    its entry point with ``if __name__ == "__main__":`` (the command line, Dagster and
    pytest do).

    Raises ``RawInputError`` (a file cannot be read) or ``RawLoadError`` (a file cannot be
    written); either way the transaction is rolled back and the warehouse is unchanged.
    """
    src = SOURCES_BY_NAME[source] if isinstance(source, str) else source
    landing = Path(landing_dir)
    started = time.perf_counter()
    create_raw_tables(con)
    loaded_at = load_stamp(con, loaded_at or dt.datetime.now(dt.UTC))
    discovery: Discovery = discover_files(landing, src)
    for skipped in discovery.skipped:
        logger.warning("raw.%s: skipped %s: %s", src.name, skipped.file_name, skipped.reason)
    report = LoadReport(source=src.name, skipped=list(discovery.skipped))
    known = _known_files(con, src)
    workers = DEFAULT_WORKERS if workers is None else workers
    con.execute("begin transaction")
    try:
        plans = [_plan_file(f, landing, known) for f in discovery.files]
        if _worth_parallel(plans, workers):
            report.files.extend(
                _load_files_in_parallel(con, plans, landing, loaded_at, chunk_rows, workers)
            )
        else:
            for plan in plans:
                report.files.append(_load_file(con, plan, landing, loaded_at, chunk_rows))
        con.execute("commit")
    except BaseException:
        try:
            con.execute("rollback")
        except duckdb.Error:
            logger.exception("raw.%s: rollback failed", src.name)
        logger.error("raw.%s: load failed, nothing written (rolled back)", src.name)
        raise
    report.seconds = time.perf_counter() - started
    # the asset logs the same counts to the run's event log (and the console): debug here
    logger.debug(
        "raw.%s: %d files seen, %d loaded (%d re-delivered), %d unchanged, %d skipped; "
        "%d rows loaded, %d rows quarantined in %.2fs",
        src.name,
        report.files_seen,
        report.files_loaded,
        report.files_reloaded,
        report.files_unchanged,
        report.files_skipped,
        report.rows_loaded,
        report.rows_quarantined,
        report.seconds,
    )
    return report


def load_all(
    con: duckdb.DuckDBPyConnection,
    landing_dir: str | Path,
    *,
    sources: Iterable[Source | str] | None = None,
    loaded_at: dt.datetime | None = None,
    chunk_rows: int = CHUNK_ROWS,
    workers: int | None = None,
) -> list[LoadReport]:
    """Load every source in contract order (one transaction per source)."""
    chosen = SOURCES if sources is None else sources
    return [
        load_source(
            con, s, landing_dir, loaded_at=loaded_at, chunk_rows=chunk_rows, workers=workers
        )
        for s in chosen
    ]


def load_warehouse(
    warehouse_path: str | Path,
    landing_dir: str | Path,
    *,
    sources: Iterable[Source | str] | None = None,
    loaded_at: dt.datetime | None = None,
    chunk_rows: int = CHUNK_ROWS,
    workers: int | None = None,
) -> list[LoadReport]:
    """Open the warehouse file, load the sources, close the file again."""
    Path(warehouse_path).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse_path))
    try:
        return load_all(
            con,
            landing_dir,
            sources=sources,
            loaded_at=loaded_at,
            chunk_rows=chunk_rows,
            workers=workers,
        )
    finally:
        con.close()


def source_totals(con: duckdb.DuckDBPyConnection, source: Source | str) -> tuple[int, int, int]:
    """(rows in the raw table, rows loaded per the manifest, rows quarantined per the manifest)."""
    src = SOURCES_BY_NAME[source] if isinstance(source, str) else source
    table_rows = con.execute(f"select count(*) from {_table(src.name)}").fetchone()[0]
    loaded, quarantined = con.execute(
        f"select coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0) "
        f"from {_table(MANIFEST_TABLE)} where source = ?",
        [src.name],
    ).fetchone()
    return int(table_rows), int(loaded), int(quarantined)
