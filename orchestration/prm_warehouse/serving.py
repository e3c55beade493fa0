"""Publishing the marts to the serving copy that BI tools read.

A DuckDB file admits one writing process, and while it is written no other process may open
it, not even read-only. BI tools therefore never open the warehouse; they open the serving
copy, a separate DuckDB file that builds never write in place.

`publish_marts` writes every table of the published schemas into a NEW file beside the
serving copy (a hidden temporary name in the same folder), records what it wrote in the table
`main._publication`, checkpoints and closes that file, flushes it to disk, and only then puts
it in place of the serving copy with one `os.replace`. A rename within a folder is atomic: a
new connection opens either the old publication or the new one, never a mixture, and a
connection already open keeps reading the file it opened (the old inode lives on until the
last reader closes it). A publish killed at any point leaves the serving copy as it was; its
temporary files are removed by the next publish.

The file that was replaced is kept as `<stem>.previous<suffix>` (for example
`warehouse_serving.previous.duckdb`), so `rollback_publication` can put it back in one rename.

docs/serving.md explains the design and how BI tools connect.
"""

import contextlib
import datetime as dt
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from .locking import exclusive_file_lock
from .settings import ENV_SERVING_PATH, ENV_WAREHOUSE_PATH, Settings

logger = logging.getLogger(__name__)

PUBLICATION_TABLE = "_publication"
PUBLICATION_ASSET_KEY = dg.AssetKey(["serving", "marts_publication"])
DEFAULT_SCHEMAS = ("marts",)

# Name under which the warehouse is attached (read-only) to the new file's connection.
_SOURCE_ALIAS = "prm_publish_source"
# Name under which `read_publication` attaches a serving copy.
_READ_ALIAS = "prm_publication"

# Test hook: pause a publish at a stage so that a test can kill it there deterministically.
# PRM_PUBLISH_TEST_PAUSE_AT names the stage ("copied": tables written and committed, the
# connection still open; "closed": the new file complete and closed, not yet swapped in).
# The publish writes the temporary file's path into the file PRM_PUBLISH_TEST_PAUSE_MARKER
# and waits for as long as that marker file exists.
ENV_TEST_PAUSE_AT = "PRM_PUBLISH_TEST_PAUSE_AT"
ENV_TEST_PAUSE_MARKER = "PRM_PUBLISH_TEST_PAUSE_MARKER"


class PublishError(RuntimeError):
    """Publishing (or reading a publication) failed; the serving copy was left as it was."""


@dataclass(frozen=True)
class PublishedTable:
    schema_name: str
    table_name: str
    row_count: int
    # Order-independent content fingerprint: the sum of DuckDB's hash() of every row, as
    # 32 hex digits. Equal tables give equal checksums on the same DuckDB version.
    checksum: str

    @property
    def qualified_name(self) -> str:
        return f"{self.schema_name}.{self.table_name}"


@dataclass(frozen=True)
class Publication:
    publication_id: str
    published_at: dt.datetime
    warehouse_path: str
    serving_path: Path
    tables: tuple[PublishedTable, ...]

    @property
    def row_counts(self) -> dict[str, int]:
        """`{"<schema>.<table>": rows}` for every published table."""
        return {table.qualified_name: table.row_count for table in self.tables}

    @property
    def checksums(self) -> dict[str, str]:
        return {table.qualified_name: table.checksum for table in self.tables}

    @property
    def total_rows(self) -> int:
        return sum(table.row_count for table in self.tables)


def quote_identifier(name: str) -> str:
    """`name` as a DuckDB identifier: in double quotes, inner double quotes doubled.

    Every schema, table and column name that reaches SQL goes through here, so a name such as
    `a"; drop table x; --` stays one identifier.
    """
    if not isinstance(name, str) or not name or "\x00" in name:
        raise ValueError(f"not a usable SQL identifier: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """`value` as a SQL string literal (for statements such as ATTACH that take no parameters)."""
    if "\x00" in value:
        raise ValueError(f"not a usable SQL string: {value!r}")
    return "'" + value.replace("'", "''") + "'"


def previous_path_for(serving_path: str | os.PathLike[str]) -> Path:
    """Where the publication replaced by the latest publish is kept."""
    serving = Path(serving_path)
    return serving.with_name(f"{serving.stem}.previous{serving.suffix}")


def _temp_prefix(serving: Path) -> str:
    # Hidden, in the same folder (same file system, so os.replace is a rename), and named after
    # the serving file so that leftovers of one serving copy never touch another one's files.
    return f".{serving.name}.tmp-"


def _new_publication_id(published_at: dt.datetime) -> str:
    # Sorts by time; the random tail keeps two publications in one microsecond apart.
    return f"{published_at:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"


def publication_id_of_run(context: dg.AssetExecutionContext) -> str:
    """The one id of everything a build publishes (its KPI figures and its serving copy).

    The run's start in UTC, then the first characters of its run id: ids sort by time, and
    each leads to its run in Dagster.
    """
    record = context.instance.get_run_record_by_id(context.run.run_id)
    started = record.start_time if record is not None and record.start_time else time.time()
    started_at = dt.datetime.fromtimestamp(started, dt.UTC)
    return f"{started_at:%Y%m%dT%H%M%S%fZ}-{context.run.run_id[:8]}"


def publish_marts(
    warehouse_path: str | os.PathLike[str],
    serving_path: str | os.PathLike[str],
    *,
    schemas: Sequence[str] = DEFAULT_SCHEMAS,
    keep_previous: bool = True,
    log: logging.Logger | logging.LoggerAdapter | None = None,
    publication_id: str | None = None,
) -> Publication:
    """Copy every table of `schemas` from the warehouse into a new serving copy, atomically.

    `publication_id` names the publication (default: its time and a random tail).

    The warehouse is only read (attached read-only), so no build may be writing it at the same
    time; run this after the build's writes, inside the build's write lock or after it. Two
    publishes to one serving copy never overlap (they take the serving copy's own lock).

    Raises `PublishError` (serving copy untouched) when the warehouse is missing or locked by a
    writer, when a schema is missing, or when there is no table to publish.
    """
    log = log or logger
    schemas = _validated_schemas(schemas)
    warehouse = Path(warehouse_path).resolve()
    serving = Path(serving_path).resolve()
    if warehouse == serving or warehouse == previous_path_for(serving):
        raise PublishError(f"serving path {serving} must differ from the warehouse {warehouse}")
    if not warehouse.is_file():
        raise PublishError(f"warehouse {warehouse} does not exist; build it before publishing")
    serving.parent.mkdir(parents=True, exist_ok=True)

    with exclusive_file_lock(serving, what="Serving copy", log=log):
        removed = remove_leftover_temp_files(serving)
        if removed:
            log.info(
                "Removed %d leftover temporary file(s) of an interrupted publish next to %s.",
                len(removed),
                serving,
            )
        published_at = dt.datetime.now(dt.UTC)
        publication_id = publication_id or _new_publication_id(published_at)
        temp = serving.with_name(f"{_temp_prefix(serving)}{publication_id}.duckdb")
        try:
            tables = _write_publication(warehouse, temp, schemas, publication_id, published_at, log)
            _fsync_path(temp)
            _pause_for_test("closed", temp)
            if keep_previous and serving.exists():
                _replace_with_link(serving, previous_path_for(serving), serving)
            os.replace(temp, serving)
            _fsync_path(serving.parent)
        except BaseException:
            for path in (temp, _wal_path(temp)):
                with contextlib.suppress(OSError):
                    path.unlink()
            raise

    publication = Publication(
        publication_id=publication_id,
        published_at=published_at,
        warehouse_path=str(warehouse),
        serving_path=serving,
        tables=tuple(tables),
    )
    log.info(
        "Published %d table(s), %d row(s) in all, from %s to %s as publication %s.",
        len(publication.tables),
        publication.total_rows,
        warehouse,
        serving,
        publication_id,
    )
    return publication


def _validated_schemas(schemas: Sequence[str]) -> tuple[str, ...]:
    if isinstance(schemas, str):
        schemas = (schemas,)
    result = tuple(dict.fromkeys(schemas))
    if not result:
        raise ValueError("schemas must name at least one schema to publish")
    for schema in result:
        quote_identifier(schema)  # raises ValueError for an unusable name
    return result


def _write_publication(
    warehouse: Path,
    temp: Path,
    schemas: tuple[str, ...],
    publication_id: str,
    published_at: dt.datetime,
    log: logging.Logger | logging.LoggerAdapter,
) -> list[PublishedTable]:
    """Create `temp` holding the tables of `schemas` and `_publication`; checkpoint; close."""
    con = duckdb.connect(str(temp))
    try:
        source = quote_identifier(_SOURCE_ALIAS)
        try:
            con.execute(f"attach {quote_literal(str(warehouse))} as {source} (read_only)")
        except duckdb.Error as exc:
            if "already attached" in str(exc):
                cause = "this process still has a connection to it open; close it first"
            else:
                cause = "is a build writing it right now?"
            raise PublishError(
                f"cannot open warehouse {warehouse} read-only to publish it ({cause}): {exc}"
            ) from exc
        listing = _source_tables(con, warehouse, schemas, log)

        con.execute("begin transaction")
        tables = []
        for schema, table in listing:
            target = f"{quote_identifier(schema)}.{quote_identifier(table)}"
            con.execute(f"create schema if not exists {quote_identifier(schema)}")
            con.execute(f"create table {target} as select * from {source}.{target}")
            row_count, checksum = table_fingerprint(con, None, schema, table)
            tables.append(PublishedTable(schema, table, row_count, checksum))
            log.info("Copied %s.%s: %d row(s).", schema, table, row_count)
        con.execute(
            f"""
            create table main.{quote_identifier(PUBLICATION_TABLE)} (
                publication_id varchar not null,
                published_at timestamptz not null,
                warehouse_path varchar not null,
                schema_name varchar not null,
                table_name varchar not null,
                row_count bigint not null,
                checksum varchar not null,
                primary key (schema_name, table_name)
            )
            """
        )
        con.executemany(
            f"insert into main.{quote_identifier(PUBLICATION_TABLE)} values (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    publication_id,
                    published_at,
                    str(warehouse),
                    t.schema_name,
                    t.table_name,
                    t.row_count,
                    t.checksum,
                )
                for t in tables
            ],
        )
        con.execute("commit")
        _pause_for_test("copied", temp)
        con.execute(f"detach {source}")
        con.execute("checkpoint")
    finally:
        con.close()
    if _wal_path(temp).exists():
        raise PublishError(f"{temp} still has a write-ahead log after checkpoint and close")
    return tables


def _source_tables(
    con: duckdb.DuckDBPyConnection,
    warehouse: Path,
    schemas: tuple[str, ...],
    log: logging.Logger | logging.LoggerAdapter,
) -> list[tuple[str, str]]:
    """(schema, table) of every base table of `schemas` in the attached warehouse, sorted."""
    present = {
        row[0]
        for row in con.execute(
            "select schema_name from duckdb_schemas() where database_name = ?", [_SOURCE_ALIAS]
        ).fetchall()
    }
    missing = [schema for schema in schemas if schema not in present]
    if missing:
        raise PublishError(
            f"warehouse {warehouse} has no schema {', '.join(map(repr, missing))}; "
            "has the build that creates it run?"
        )
    listing = [
        (schema, table)
        for schema, table in con.execute(
            """
            select schema_name, table_name
            from duckdb_tables()
            where database_name = ? and list_contains(?, schema_name) and not temporary
            order by schema_name, table_name
            """,
            [_SOURCE_ALIAS, list(schemas)],
        ).fetchall()
    ]
    views = con.execute(
        """
        select schema_name || '.' || view_name
        from duckdb_views()
        where database_name = ? and list_contains(?, schema_name) and not internal
        order by 1
        """,
        [_SOURCE_ALIAS, list(schemas)],
    ).fetchall()
    if views:
        log.warning(
            "Not published: %d view(s) (only tables are copied): %s",
            len(views),
            ", ".join(view for (view,) in views),
        )
    if not listing:
        raise PublishError(
            f"warehouse {warehouse} has no table in schema(s) {', '.join(schemas)}; "
            "refusing to publish an empty serving copy"
        )
    if ("main", PUBLICATION_TABLE) in listing:
        raise PublishError(
            f"warehouse {warehouse} has a table main.{PUBLICATION_TABLE}, "
            "a name the serving copy reserves for its publication record"
        )
    return listing


def table_fingerprint(
    con: duckdb.DuckDBPyConnection,
    database: str | None,
    schema: str,
    table: str,
) -> tuple[int, str]:
    """(row count, checksum) of one table; `database` None means the connection's own file.

    The checksum is the sum of hash(row) over all rows as 32 hex digits: independent of row
    order, and (unlike an XOR) changed by a duplicated row.
    """
    if database is None:
        database = con.execute("select current_database()").fetchone()[0]
    columns = {
        row[0]
        for row in con.execute(
            """
            select column_name from duckdb_columns()
            where database_name = ? and schema_name = ? and table_name = ?
            """,
            [database, schema, table],
        ).fetchall()
    }
    # The row alias must not be a column name, or hash() would see that column, not the row.
    alias = "prm_row"
    while alias in columns:
        alias += "_"
    qualified = ".".join(quote_identifier(part) for part in (database, schema, table))
    row_count, total = con.execute(
        f"select count(*), coalesce(sum(hash({quote_identifier(alias)})), 0) "
        f"from {qualified} as {quote_identifier(alias)}"
    ).fetchone()
    return int(row_count), f"{int(total) % (1 << 128):032x}"


def read_publication(serving_path: str | os.PathLike[str]) -> Publication:
    """The publication the serving copy holds now: id, time, and per-table counts/checksums.

    Opens the file through a fresh in-memory connection (ATTACH ... READ_ONLY), so that a
    connection this process may already hold to an older publication is not reused.
    """
    serving = Path(serving_path).resolve()
    if not serving.is_file():
        raise PublishError(f"no serving copy at {serving}; nothing has been published yet")
    with _attached_read_only(serving) as con:
        try:
            rows = con.execute(
                f"""
                select publication_id, published_at, warehouse_path, schema_name, table_name,
                    row_count, checksum
                from {quote_identifier(_READ_ALIAS)}.main.{quote_identifier(PUBLICATION_TABLE)}
                order by schema_name, table_name
                """
            ).fetchall()
        except duckdb.CatalogException as exc:
            raise PublishError(
                f"{serving} is not a serving copy: it has no {PUBLICATION_TABLE} table"
            ) from exc
    ids = {row[0] for row in rows}
    if len(ids) != 1:
        raise PublishError(
            f"{serving}: {PUBLICATION_TABLE} should name exactly one publication, found {len(ids)}"
        )
    first = rows[0]
    return Publication(
        publication_id=first[0],
        published_at=first[1],
        warehouse_path=first[2],
        serving_path=serving,
        tables=tuple(PublishedTable(r[3], r[4], int(r[5]), r[6]) for r in rows),
    )


def verify_publication(serving_path: str | os.PathLike[str]) -> list[str]:
    """Recount and re-checksum every table of the serving copy; the mismatches, if any."""
    publication = read_publication(serving_path)
    problems = []
    with _attached_read_only(publication.serving_path) as con:
        for table in publication.tables:
            try:
                found = table_fingerprint(con, _READ_ALIAS, table.schema_name, table.table_name)
            except duckdb.CatalogException:
                problems.append(f"{table.qualified_name}: recorded but missing")
                continue
            if found != (table.row_count, table.checksum):
                problems.append(
                    f"{table.qualified_name}: recorded {table.row_count} rows / {table.checksum},"
                    f" found {found[0]} rows / {found[1]}"
                )
    return problems


def rollback_publication(
    serving_path: str | os.PathLike[str],
    *,
    log: logging.Logger | logging.LoggerAdapter | None = None,
) -> Publication:
    """Swap the serving copy and the kept previous publication; returns the one now served.

    Each file is put in place with one rename, so readers see one whole publication at any
    moment. Running it again swaps back.
    """
    log = log or logger
    serving = Path(serving_path).resolve()
    previous = previous_path_for(serving)
    with exclusive_file_lock(serving, what="Serving copy", log=log):
        if not previous.is_file():
            raise PublishError(f"no previous publication kept at {previous}; nothing to roll back")
        current_kept = serving.exists()
        if current_kept:
            # A second name for the current file, made before anything moves.
            current_link = serving.with_name(f"{_temp_prefix(serving)}rollback-{uuid.uuid4().hex}")
            _link_or_copy(serving, current_link)
        _replace_with_link(previous, serving, serving)
        if current_kept:
            os.replace(current_link, previous)
        _fsync_path(serving.parent)
    publication = read_publication(serving)
    log.info(
        "Rolled the serving copy %s back to publication %s (%d table(s)).",
        serving,
        publication.publication_id,
        len(publication.tables),
    )
    return publication


def remove_leftover_temp_files(serving_path: str | os.PathLike[str]) -> list[Path]:
    """Delete temporary files that an interrupted publish left beside the serving copy.

    Call only while holding the serving copy's lock (publish_marts does): a publish in progress
    holds it too, so whatever temporary file exists then belongs to a publish that died.
    """
    serving = Path(serving_path).resolve()
    if not serving.parent.is_dir():
        return []
    removed = []
    for path in sorted(serving.parent.glob(f"{_glob_escape(_temp_prefix(serving))}*")):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed


def serving_paths_for(resource: Any) -> tuple[Path, Path]:
    """(warehouse, serving copy) for the warehouse resource of the Dagster definitions.

    The serving path comes from the resource when it has one (`absolute_serving_path()` or a
    non-empty `serving_path`), else from the environment (PRM_SERVING_PATH), else it is
    `<warehouse stem>_serving.duckdb` beside the resource's warehouse.
    """
    if callable(getattr(resource, "absolute_warehouse_path", None)):
        warehouse = Path(resource.absolute_warehouse_path())
    else:
        warehouse = Path(resource.warehouse_path).resolve()
    if callable(getattr(resource, "absolute_serving_path", None)):
        return warehouse, Path(resource.absolute_serving_path())
    configured = getattr(resource, "serving_path", None)
    if configured:
        return warehouse, Path(configured).resolve()
    settings = Settings.from_env(
        {
            ENV_WAREHOUSE_PATH: str(warehouse),
            ENV_SERVING_PATH: os.environ.get(ENV_SERVING_PATH, ""),
        }
    )
    return warehouse, settings.serving_path


def build_publish_asset(
    mart_asset_keys: Iterable[dg.AssetKey | str | Sequence[str]],
    *,
    resource_key: str = "warehouse",
    schemas: Sequence[str] = DEFAULT_SCHEMAS,
) -> dg.AssetsDefinition:
    """The asset `serving/marts_publication`: publish the marts once they are all built.

    Depends on `mart_asset_keys` (asset keys, key paths, or "marts/<name>" strings); reads the
    warehouse and serving paths from the resource `resource_key` (see `serving_paths_for`);
    reports the publication as metadata.
    """
    deps = [
        dg.AssetKey.from_user_string(key)
        if isinstance(key, str)
        else dg.AssetKey.from_coercible(key)
        for key in mart_asset_keys
    ]
    schemas = _validated_schemas(schemas)

    @dg.asset(
        key=PUBLICATION_ASSET_KEY,
        deps=deps,
        required_resource_keys={resource_key},
        group_name="serving",
        kinds={"duckdb"},
        description=(
            "The serving copy BI tools read: every table of schema(s) "
            f"{', '.join(schemas)} copied to a separate DuckDB file and swapped in atomically."
        ),
    )
    def marts_publication(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        warehouse, serving = serving_paths_for(getattr(context.resources, resource_key))
        publication = publish_marts(
            warehouse,
            serving,
            schemas=schemas,
            log=context.log,
            publication_id=publication_id_of_run(context),
        )
        return dg.MaterializeResult(metadata=publication_metadata(publication))

    return marts_publication


def publication_metadata(publication: Publication) -> dict[str, Any]:
    table_lines = "\n".join(
        f"| {t.qualified_name} | {t.row_count} | `{t.checksum}` |" for t in publication.tables
    )
    return {
        "publication_id": publication.publication_id,
        "published_at": dg.MetadataValue.timestamp(publication.published_at),
        "serving_path": dg.MetadataValue.path(str(publication.serving_path)),
        "table_count": len(publication.tables),
        "row_count_total": publication.total_rows,
        "row_counts": dg.MetadataValue.json(publication.row_counts),
        "tables": dg.MetadataValue.md(
            "| table | rows | checksum |\n| --- | ---: | --- |\n" + table_lines
        ),
    }


@contextlib.contextmanager
def _attached_read_only(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh in-memory connection with `path` attached read-only as `_READ_ALIAS`."""
    con = duckdb.connect(":memory:")
    try:
        try:
            con.execute(
                f"attach {quote_literal(str(path))} as {quote_identifier(_READ_ALIAS)} (read_only)"
            )
        except duckdb.Error as exc:
            raise PublishError(f"cannot open {path} read-only: {exc}") from exc
        yield con
    finally:
        con.close()


def _wal_path(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _glob_escape(text: str) -> str:
    return "".join(f"[{char}]" if char in "*?[" else char for char in text)


def _fsync_path(path: Path) -> None:
    """Flush a file's (or a folder's entries') data to disk; a no-op where folders can't be."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _link_or_copy(source: Path, destination: Path) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)
        _fsync_path(destination)


def _replace_with_link(source: Path, destination: Path, serving: Path) -> None:
    """Make `destination` another name of `source` (a copy where hard links are impossible),
    replacing `destination` in one rename. `source` stays where it is. The name made first
    is one of `serving`'s temporary names, so an interrupted call leaves nothing behind."""
    staging = serving.with_name(f"{_temp_prefix(serving)}link-{uuid.uuid4().hex}")
    try:
        _link_or_copy(source, staging)
        os.replace(staging, destination)
    except BaseException:
        with contextlib.suppress(OSError):
            staging.unlink()
        raise


def _pause_for_test(stage: str, temp: Path) -> None:
    if os.environ.get(ENV_TEST_PAUSE_AT) != stage:
        return
    marker_name = os.environ.get(ENV_TEST_PAUSE_MARKER)
    if not marker_name:
        return
    marker = Path(marker_name)
    # Written whole under another name, then renamed: a test that sees the marker reads
    # the full path, never a half-written file.
    partial = marker.with_name(marker.name + ".partial")
    partial.write_text(str(temp), encoding="utf-8")
    os.replace(partial, marker)
    while marker.exists():
        time.sleep(0.05)
