"""The restatement guard: figures of closed months stay as published.

A month is *closed* for a build when it lies before the month of the build's as-of date
(before the last month of ``marts.fct_kpi_monthly``). After every successful build the
published figures are recorded, outside dbt's schemas, in the warehouse file:

- ``published.kpi_publications``: one row per publication (``publication_id``,
  ``published_at``, ``as_of_date``, ``as_of_month``, ``rows_recorded``);
- ``published.kpi_monthly_history``: the figures of ``marts.fct_kpi_monthly`` (``kpi_key``,
  ``month_start``, ``scope_type``, ``scope_id``, ``value``, ``is_month_closed``,
  ``publication_id``, ``published_at``). A row is recorded when the figure is new, when its
  value changed since the last recorded one, or when its month has closed since then; so
  the latest row of a figure with ``is_month_closed`` is the value published for the
  closed month.
- ``published.kpi_monthly_latest``: the latest recorded row of every figure, kept with the
  history in the same transaction, so a publication compares the mart with one row per
  figure instead of ranking the whole history;
- ``published.kpi_restatement_log`` and its copy ``marts.kpi_restatement_report`` (for BI
  tools): every declared restatement that went through, old and new value side by side.

:func:`check_restatements` compares a new build with that record. A figure is held when
its KPI is guarded (``seeds.kpi_catalog.is_restatement_guarded``; cohort rates keep maturing
and are not), its scope is the programme or a firm (``GUARDED_SCOPE_TYPES``; a person's
figures follow the current owner of a deal, so they move when a deal changes hands), and
its month is closed both now and in the publication it is compared with. A difference is
*declared* when a row of ``seeds.kpi_restatements`` names its KPI and month, its scope type
and scope id (or leaves them empty for all) and was declared on or after the Japan-time
date on which the old value was published; any other difference fails the guard.

Dagster pieces: :func:`build_restatement_check` (a blocking asset check on
``marts/fct_kpi_monthly``) and :func:`build_kpi_publication_asset` (records the publication
once the checks passed).
"""

import csv
import datetime as dt
import io
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import dagster as dg
import duckdb

from .raw.contract import MANIFEST_TABLE, QUARANTINE_TABLE, RAW_SCHEMA, SOURCES
from .raw.withdraw import Withdrawal, withdrawals_since
from .resources import WarehouseResource
from .serving import publication_id_of_run
from .settings import JST

logger = logging.getLogger(__name__)

KPI_MONTHLY_TABLE = "marts.fct_kpi_monthly"
KPI_CATALOG_TABLE = "seeds.kpi_catalog"
DECLARATIONS_TABLE = "seeds.kpi_restatements"
PUBLISHED_SCHEMA = "published"
PUBLICATIONS_TABLE = f"{PUBLISHED_SCHEMA}.kpi_publications"
HISTORY_TABLE = f"{PUBLISHED_SCHEMA}.kpi_monthly_history"
LATEST_TABLE = f"{PUBLISHED_SCHEMA}.kpi_monthly_latest"
RESTATEMENT_LOG_TABLE = f"{PUBLISHED_SCHEMA}.kpi_restatement_log"
REPORT_TABLE = "marts.kpi_restatement_report"
GUARDED_SCOPE_TYPES = ("programme", "partner")
# Two figures are the same when they differ by less than this (values are doubles).
TOLERANCE = 1e-9

KPI_MONTHLY_ASSET_KEY = dg.AssetKey(["marts", "fct_kpi_monthly"])
PUBLISHED_HISTORY_ASSET_KEY = dg.AssetKey(["published", "kpi_monthly_history"])
RESTATEMENT_CHECK_NAME = "closed_months_kept_as_published"


@dataclass(frozen=True)
class Difference:
    """A closed month's figure whose new value differs from the published one."""

    kpi_key: str
    month_start: dt.date
    scope_type: str
    scope_id: str
    old_value: float | None
    new_value: float | None
    publication_id: str
    published_at: dt.datetime

    @property
    def published_on(self) -> dt.date:
        """The Japan-time date of the publication: a declaration dated on or after it covers
        the figure."""
        return self.published_at.astimezone(JST).date()

    def describe(self) -> str:
        return (
            f"{self.kpi_key} {self.month_start:%Y-%m} {self.scope_type} {self.scope_id}: "
            f"published {_format(self.old_value)} (publication {self.publication_id}), "
            f"now {_format(self.new_value)}"
        )


@dataclass(frozen=True)
class Publication:
    publication_id: str
    published_at: dt.datetime
    as_of_date: dt.date
    rows_recorded: int
    restatements_reported: int


def _format(value: float | None) -> str:
    if value is None:
        return "NULL"
    return f"{value:g}"


# The columns of a recorded figure, in the history and in the latest figures.
_RECORDED_FIGURE_NAMES = (
    "kpi_key, month_start, scope_type, scope_id, value, is_month_closed, "
    "publication_id, published_at"
)
_RECORDED_FIGURE_COLUMNS = """kpi_key varchar not null,
            month_start date not null,
            scope_type varchar not null,
            scope_id varchar not null,
            value double,
            is_month_closed boolean not null,
            publication_id varchar not null,
            published_at timestamptz not null"""


def ensure_published_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the schema and tables of the published record when missing."""
    con.execute(f"create schema if not exists {PUBLISHED_SCHEMA}")
    con.execute(
        f"""
        create table if not exists {PUBLICATIONS_TABLE} (
            publication_id varchar primary key,
            published_at timestamptz not null,
            as_of_date date not null,
            as_of_month date not null,
            rows_recorded bigint not null
        )
        """
    )
    con.execute(
        f"""
        create table if not exists {HISTORY_TABLE} (
            {_RECORDED_FIGURE_COLUMNS},
            primary key (kpi_key, month_start, scope_type, scope_id, publication_id)
        )
        """
    )
    con.execute(
        f"""
        create table if not exists {LATEST_TABLE} (
            {_RECORDED_FIGURE_COLUMNS}
        )
        """
    )
    # One row per (kpi_key, month_start, scope_type, scope_id), kept so by
    # record_publication. No primary key: maintaining its index made the first publication
    # (3.5M figures at 1x) take 6.7 s instead of 0.5 s.
    _fill_latest_from_history(con)
    con.execute(
        f"""
        create table if not exists {RESTATEMENT_LOG_TABLE} (
            kpi_key varchar not null,
            month_start date not null,
            scope_type varchar not null,
            scope_id varchar not null,
            old_value double,
            new_value double,
            reason varchar not null,
            declared_on date not null,
            old_publication_id varchar not null,
            detected_at timestamptz not null
        )
        """
    )


def _fill_latest_from_history(con: duckdb.DuckDBPyConnection) -> None:
    """Fill the latest figures from the history when it is empty and the history is not
    (a warehouse whose publications were recorded before the table existed)."""
    latest_rows = con.execute(f"select count(*) from {LATEST_TABLE}").fetchone()
    if latest_rows and latest_rows[0]:
        return
    con.execute(
        f"""
        insert into {LATEST_TABLE}
        select {_RECORDED_FIGURE_NAMES} from {HISTORY_TABLE}
        qualify row_number() over (
            partition by kpi_key, month_start, scope_type, scope_id
            order by published_at desc, publication_id desc
        ) = 1
        """
    )


def _replace_latest(con: duckdb.DuckDBPyConnection, publication_id: str) -> None:
    """Make the rows recorded by a publication the latest of their figures."""
    recorded = f"select * from {HISTORY_TABLE} where publication_id = $publication_id"
    con.execute(
        f"""
        delete from {LATEST_TABLE} as latest
        using ({recorded}) as recorded
        where
            latest.kpi_key = recorded.kpi_key
            and latest.month_start = recorded.month_start
            and latest.scope_type = recorded.scope_type
            and latest.scope_id = recorded.scope_id
        """,
        {"publication_id": publication_id},
    )
    con.execute(
        f"""
        insert into {LATEST_TABLE}
        select {_RECORDED_FIGURE_NAMES} from ({recorded}) as recorded
        """,
        {"publication_id": publication_id},
    )


def _has_publications(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = ? and table_name = 'kpi_monthly_history'",
        [PUBLISHED_SCHEMA],
    ).fetchone()
    return bool(row and row[0])


def _as_of_month(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    row = con.execute(f"select max(month_start) from {KPI_MONTHLY_TABLE}").fetchone()
    return row[0] if row else None


# The differences between the closed months of the mart and their published values, each
# with the declaration that covers it (NULL columns when none does). Parameters: the
# as-of month of the mart, the tolerance.
_DIFFERENCES_SQL = f"""
with

guarded_kpis as (
    select kpi_key from {KPI_CATALOG_TABLE} where is_restatement_guarded
),

baseline as (
    select * from (
        select
            history.*,
            row_number() over (
                partition by kpi_key, month_start, scope_type, scope_id
                order by published_at desc, publication_id desc
            ) as recency
        from {HISTORY_TABLE} as history
        where is_month_closed
    ) as ranked
    where recency = 1
),

current_figures as (
    select kpi_key, month_start, scope_type, scope_id, value
    from {KPI_MONTHLY_TABLE}
    where month_start < $as_of_month
),

compared as (
    select
        baseline.kpi_key,
        baseline.month_start,
        baseline.scope_type,
        baseline.scope_id,
        baseline.value as old_value,
        current_figures.value as new_value,
        current_figures.kpi_key is null as is_missing,
        baseline.publication_id,
        baseline.published_at
    from baseline
    inner join guarded_kpis
        on baseline.kpi_key = guarded_kpis.kpi_key
    left join current_figures
        on
            baseline.kpi_key = current_figures.kpi_key
            and baseline.month_start = current_figures.month_start
            and baseline.scope_type = current_figures.scope_type
            and baseline.scope_id = current_figures.scope_id
    where
        baseline.month_start < $as_of_month
        and baseline.scope_type in ({", ".join(f"'{s}'" for s in GUARDED_SCOPE_TYPES)})
),

differences as (
    select * from compared
    where
        is_missing
        or (old_value is null) <> (new_value is null)
        or abs(old_value - new_value) > $tolerance
),

declared as (
    select
        differences.*,
        declarations.reason,
        declarations.declared_on,
        row_number() over (
            partition by
                differences.kpi_key, differences.month_start,
                differences.scope_type, differences.scope_id
            order by declarations.declared_on, declarations.reason
        ) as declaration_rank
    from differences
    left join {DECLARATIONS_TABLE} as declarations
        on
            differences.kpi_key = declarations.kpi_key
            and differences.month_start = declarations.month_start
            and coalesce(declarations.scope_type, '') in ('', differences.scope_type)
            and coalesce(declarations.scope_id, '') in ('', differences.scope_id)
            and declarations.declared_on
            >= cast(timezone('Asia/Tokyo', differences.published_at) as date)
)

select
    kpi_key, month_start, scope_type, scope_id, old_value, new_value,
    publication_id, published_at, reason, declared_on
from declared
where declaration_rank = 1
order by kpi_key, month_start, scope_type, scope_id
"""


def _compare(con: duckdb.DuckDBPyConnection) -> list[tuple[Difference, str | None, dt.date | None]]:
    if not _has_publications(con):
        return []
    as_of_month = _as_of_month(con)
    if as_of_month is None:
        return []
    rows = con.execute(
        _DIFFERENCES_SQL, {"as_of_month": as_of_month, "tolerance": TOLERANCE}
    ).fetchall()
    return [(Difference(*row[:8]), row[8], row[9]) for row in rows]


def check_restatements(con: duckdb.DuckDBPyConnection) -> list[Difference]:
    """Closed-month figures of the mart that differ from their published value, undeclared.

    An empty list means the build keeps every published figure of a closed month, or
    changes it only where ``seeds.kpi_restatements`` declares it. Before the first
    publication there is nothing to compare with, and the list is empty.
    """
    compared = _compare(con)
    undeclared = [difference for difference, reason, _ in compared if reason is None]
    logger.info(
        "Restatement guard: %d closed-month figure(s) changed, %d declared, %d undeclared.",
        len(compared),
        len(compared) - len(undeclared),
        len(undeclared),
    )
    return undeclared


def write_restatement_report(
    con: duckdb.DuckDBPyConnection, *, detected_at: dt.datetime | None = None
) -> int:
    """Log the declared restatements of this build and rewrite ``marts.kpi_restatement_report``.

    Returns the number of restatements newly logged. Call it before recording the
    publication: afterwards the new values are the published ones.
    """
    ensure_published_tables(con)
    detected_at = detected_at or dt.datetime.now(dt.UTC)
    declared = [(d, reason, on) for d, reason, on in _compare(con) if reason is not None]
    for difference, reason, declared_on in declared:
        con.execute(
            f"insert into {RESTATEMENT_LOG_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                difference.kpi_key,
                difference.month_start,
                difference.scope_type,
                difference.scope_id,
                difference.old_value,
                difference.new_value,
                reason,
                declared_on,
                difference.publication_id,
                detected_at,
            ],
        )
    con.execute(
        f"""
        create or replace table {REPORT_TABLE} as
        select
            kpi_key, month_start, scope_type, scope_id, old_value, new_value,
            reason, declared_on, detected_at, old_publication_id
        from {RESTATEMENT_LOG_TABLE}
        order by detected_at, kpi_key, month_start, scope_type, scope_id
        """
    )
    logger.info("Restatement report: %d declared restatement(s) logged.", len(declared))
    return len(declared)


def record_publication(
    con: duckdb.DuckDBPyConnection,
    as_of_date: dt.date,
    *,
    publication_id: str | None = None,
    published_at: dt.datetime | None = None,
) -> Publication:
    """Record the figures of ``marts.fct_kpi_monthly`` as published (see the module doc)."""
    ensure_published_tables(con)
    published_at = published_at or dt.datetime.now(dt.UTC)
    publication_id = publication_id or (
        published_at.astimezone(JST).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    )
    as_of_month = as_of_date.replace(day=1)
    con.execute("begin transaction")
    try:
        con.execute(
            f"""
            insert into {HISTORY_TABLE}
            with

            latest as (
                select * from {LATEST_TABLE}
            ),

            figures as (
                select
                    kpi_monthly.kpi_key,
                    kpi_monthly.month_start,
                    kpi_monthly.scope_type,
                    kpi_monthly.scope_id,
                    kpi_monthly.value,
                    kpi_monthly.month_start < $as_of_month as is_month_closed
                from {KPI_MONTHLY_TABLE} as kpi_monthly
            )

            select
                figures.kpi_key,
                figures.month_start,
                figures.scope_type,
                figures.scope_id,
                figures.value,
                figures.is_month_closed,
                $publication_id,
                $published_at
            from figures
            left join latest
                on
                    figures.kpi_key = latest.kpi_key
                    and figures.month_start = latest.month_start
                    and figures.scope_type = latest.scope_type
                    and figures.scope_id = latest.scope_id
            where
                latest.kpi_key is null
                or figures.is_month_closed <> latest.is_month_closed
                or (figures.value is null) <> (latest.value is null)
                or abs(figures.value - latest.value) > $tolerance
            """,
            {
                "as_of_month": as_of_month,
                "publication_id": publication_id,
                "published_at": published_at,
                "tolerance": TOLERANCE,
            },
        )
        row = con.execute(
            f"select count(*) from {HISTORY_TABLE} where publication_id = ?", [publication_id]
        ).fetchone()
        rows_recorded = int(row[0]) if row else 0
        _replace_latest(con, publication_id)
        con.execute(
            f"insert into {PUBLICATIONS_TABLE} values (?, ?, ?, ?, ?)",
            [publication_id, published_at, as_of_date, as_of_month, rows_recorded],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    logger.info(
        "Publication %s as of %s: %d new or changed figure(s) recorded.",
        publication_id,
        as_of_date,
        rows_recorded,
    )
    return Publication(publication_id, published_at, as_of_date, rows_recorded, 0)


def publish_kpi_figures(
    con: duckdb.DuckDBPyConnection,
    as_of_date: dt.date,
    *,
    publication_id: str | None = None,
    published_at: dt.datetime | None = None,
) -> Publication:
    """Report the declared restatements, then record the publication (after the guard passed).

    Refuses to publish while undeclared differences remain, so that calling it outside the
    Dagster job cannot overwrite a published figure either.
    """
    undeclared = check_restatements(con)
    if undeclared:
        causes = likely_causes(con, undeclared)
        raise ValueError(
            failure_message(
                undeclared, **_cause_arguments(causes), declarations=read_declarations(con)
            )
        )
    published_at = published_at or dt.datetime.now(dt.UTC)
    reported = write_restatement_report(con, detected_at=published_at)
    publication = record_publication(
        con, as_of_date, publication_id=publication_id, published_at=published_at
    )
    return Publication(
        publication.publication_id,
        publication.published_at,
        publication.as_of_date,
        publication.rows_recorded,
        reported,
    )


@dataclass(frozen=True)
class Arrival:
    """Rows of one event file, loaded since the last publication, dated in a closed month."""

    source: str
    file_name: str
    rows: int
    months: tuple[dt.date, ...]

    def describe(self) -> str:
        months = ", ".join(f"{month:%Y-%m}" for month in self.months)
        noun = "row" if self.rows == 1 else "rows"
        return f"{self.file_name} ({self.source}): {self.rows} {noun} dated {months}"


def _event_time_column(source_name: str) -> str:
    source = next(source for source in SOURCES if source.name == source_name)
    return next(c.name for c in source.columns if c.kind == "timestamp" and c.required)


def late_arrivals(
    con: duckdb.DuckDBPyConnection, differences: Sequence[Difference]
) -> tuple[dt.datetime | None, list[Arrival]]:
    """The event files loaded since the last publication that hold rows dated (Japan time) in
    a month of `differences`: where a late event that moves a closed month came from.

    Returns the last publication's time and the files, by source and file name.
    """
    months = sorted({difference.month_start for difference in differences})
    row = con.execute(f"select max(published_at) from {PUBLICATIONS_TABLE}").fetchone()
    since = row[0] if row else None
    if since is None or not months:
        return since, []
    present = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        ).fetchall()
    }
    arrivals: list[Arrival] = []
    for source in SOURCES:
        if source.kind != "events" or source.name not in present:
            continue
        column = _event_time_column(source.name)
        rows = con.execute(
            f"""
            with dated as (
                select
                    _file_name,
                    cast(date_trunc('month', timezone('Asia/Tokyo', {column})) as date)
                        as month_start
                from raw.{source.name}
                where _loaded_at > $since
            )

            select _file_name, count(*), list(distinct month_start order by month_start)
            from dated
            where list_contains($months, month_start)
            group by _file_name
            order by _file_name
            """,
            {"since": since, "months": months},
        ).fetchall()
        arrivals += [
            Arrival(source.name, file_name, count, tuple(file_months))
            for file_name, count, file_months in rows
        ]
    return since, arrivals


@dataclass(frozen=True)
class SnapshotLoad:
    """A snapshot file loaded since the last publication: the newest export of its source
    replaces the previous one, so a record it lacks leaves the figures."""

    source: str
    file_name: str
    rows: int
    loaded_at: dt.datetime

    def describe(self) -> str:
        noun = "row" if self.rows == 1 else "rows"
        return (
            f"{self.file_name} ({self.source}): {self.rows} {noun} loaded on "
            f"{self.loaded_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
        )


@dataclass(frozen=True)
class QuarantinedFile:
    """Rows of one file set aside in ``raw._quarantine`` since the last publication, with
    the first few of them: (line number, record key, reason)."""

    source: str
    file_name: str
    rows: int
    first: tuple[tuple[int | None, str | None, str], ...]

    def describe(self) -> str:
        noun = "row" if self.rows == 1 else "rows"
        shown = "; ".join(
            f"line {line if line is not None else '?'}"
            + (f" ({key})" if key else "")
            + f": {reason}"
            for line, key, reason in self.first
        )
        more = "; ..." if self.rows > len(self.first) else ""
        return f"{self.file_name} ({self.source}): {self.rows} {noun} quarantined, {shown}{more}"


@dataclass(frozen=True)
class ReferenceViolations:
    """Rows of one file that refer to an entity the newest snapshots do not know
    (``intermediate.int_reference_violations``), with the first of them."""

    source: str
    file_name: str
    rows: int
    first_line: int
    first_reason: str

    def describe(self) -> str:
        noun = "row" if self.rows == 1 else "rows"
        return (
            f"{self.file_name} ({self.source}): {self.rows} {noun}, first on line "
            f"{self.first_line}: {self.first_reason}"
        )


REFERENCE_VIOLATIONS_TABLE = "intermediate.int_reference_violations"
# How many quarantined rows of one file the message shows.
QUARANTINED_ROWS_SHOWN = 3


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [schema]
        ).fetchall()
    }


def snapshots_loaded_since(
    con: duckdb.DuckDBPyConnection, since: dt.datetime
) -> list[SnapshotLoad]:
    """The snapshot files loaded after `since`: their rows in the raw tables, and the files
    the load manifest lists with no row loaded (every record quarantined)."""
    present = _tables(con, RAW_SCHEMA)
    if MANIFEST_TABLE not in present:
        return []
    loads: list[SnapshotLoad] = []
    for source in SOURCES:
        if source.kind != "snapshot" or source.name not in present:
            continue
        rows = con.execute(
            f"""
            with

            loaded as (
                select _file_name as file_name, count(*) as row_count, max(_loaded_at) as loaded_at
                from {RAW_SCHEMA}.{source.name}
                where _loaded_at > $since
                group by _file_name
            ),

            listed as (
                select file_name, loaded_at
                from {RAW_SCHEMA}.{MANIFEST_TABLE}
                where source = $source and loaded_at > $since
            )

            select
                coalesce(loaded.file_name, listed.file_name) as file_name,
                coalesce(loaded.row_count, 0) as row_count,
                coalesce(loaded.loaded_at, listed.loaded_at) as loaded_at
            from loaded
            full join listed
                on loaded.file_name = listed.file_name
            order by loaded_at, file_name
            """,
            {"since": since, "source": source.name},
        ).fetchall()
        loads += [SnapshotLoad(source.name, *row) for row in rows]
    return sorted(loads, key=lambda load: (load.loaded_at, load.source, load.file_name))


def quarantined_since(
    con: duckdb.DuckDBPyConnection, since: dt.datetime, *, shown: int = QUARANTINED_ROWS_SHOWN
) -> list[QuarantinedFile]:
    """The rows quarantined after `since`, counted per file, with the first `shown` of each."""
    if QUARANTINE_TABLE not in _tables(con, RAW_SCHEMA):
        return []
    rows = con.execute(
        f"""
        select
            source,
            file_name,
            count(*) as row_count,
            list(line_number order by line_number nulls last)[1:$shown] as lines,
            list(record_key order by line_number nulls last)[1:$shown] as record_keys,
            list(reason order by line_number nulls last)[1:$shown] as reasons
        from {RAW_SCHEMA}.{QUARANTINE_TABLE}
        where loaded_at > $since
        group by source, file_name
        order by source, file_name
        """,
        {"since": since, "shown": shown},
    ).fetchall()
    return [
        QuarantinedFile(source, file_name, count, tuple(zip(lines, keys, reasons, strict=True)))
        for source, file_name, count, lines, keys, reasons in rows
    ]


def reference_violations(con: duckdb.DuckDBPyConnection) -> list[ReferenceViolations]:
    """The rows the build left out for referring to an unknown entity, counted per source
    and file (none when ``intermediate.int_reference_violations`` was not built)."""
    schema, name = REFERENCE_VIOLATIONS_TABLE.split(".")
    if name not in _tables(con, schema):
        return []
    rows = con.execute(
        f"""
        select
            source_name,
            file_name,
            count(*) as row_count,
            min(line_number) as first_line,
            arg_min(reason, line_number) as first_reason
        from {REFERENCE_VIOLATIONS_TABLE}
        group by source_name, file_name
        order by source_name, file_name
        """
    ).fetchall()
    return [ReferenceViolations(*row) for row in rows]


@dataclass(frozen=True)
class Causes:
    """Where a change of closed months may come from, found in the warehouse: everything
    since the last publication (`since`), and the rows left out for broken references."""

    since: dt.datetime | None = None
    arrivals: Sequence[Arrival] = ()
    withdrawn: Sequence[Withdrawal] = ()
    snapshots: Sequence[SnapshotLoad] = ()
    quarantined: Sequence[QuarantinedFile] = ()
    violations: Sequence[ReferenceViolations] = ()


def likely_causes(con: duckdb.DuckDBPyConnection, differences: Sequence[Difference]) -> Causes:
    """The late events, withdrawn files, snapshot files and quarantined rows since the last
    publication, and the reference violations, for the message of the guard."""
    since, arrivals = late_arrivals(con, differences)
    if since is None:
        return Causes()
    return Causes(
        since,
        arrivals,
        withdrawals_since(con, since),
        snapshots_loaded_since(con, since),
        quarantined_since(con, since),
        reference_violations(con),
    )


# What a suggested declaration says in place of the reason, which only its author knows.
REASON_PLACEHOLDER = "<reason>"


def _csv_row(values: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(values)
    return buffer.getvalue()


@dataclass(frozen=True)
class Declaration:
    """A row of ``seeds.kpi_restatements`` (an empty scope type or id covers every one)."""

    kpi_key: str
    month_start: dt.date
    scope_type: str
    scope_id: str
    reason: str
    declared_on: dt.date

    def matches(self, difference: Difference) -> bool:
        """Whether it names the figure's KPI, month and scope (whatever its date)."""
        return (
            self.kpi_key == difference.kpi_key
            and self.month_start == difference.month_start
            and self.scope_type in ("", difference.scope_type)
            and self.scope_id in ("", difference.scope_id)
        )

    def scope(self) -> str:
        if not self.scope_type and not self.scope_id:
            return "every scope"
        return " ".join(part or "(any)" for part in (self.scope_type, self.scope_id))

    def csv_row(self) -> str:
        """The row as it is written in seeds/kpi_restatements.csv."""
        return _csv_row(
            [
                self.kpi_key,
                self.month_start.isoformat(),
                self.scope_type,
                self.scope_id,
                self.reason,
                self.declared_on.isoformat(),
            ]
        )


@dataclass(frozen=True)
class EarlyDeclaration:
    """A declaration of a changed figure dated before the publication it would restate."""

    declaration: Declaration
    publication_id: str
    published_on: dt.date

    def describe(self) -> str:
        declaration = self.declaration
        return (
            f"{declaration.kpi_key} {declaration.month_start:%Y-%m} {declaration.scope()}: "
            f"declared_on {declaration.declared_on} is before {self.published_on}, the "
            f"Japan-time date of publication {self.publication_id}"
        )


def read_declarations(con: duckdb.DuckDBPyConnection) -> list[Declaration]:
    """Every row of ``seeds.kpi_restatements``, by declaration date."""
    rows = con.execute(
        f"""
        select
            kpi_key, month_start, coalesce(scope_type, ''), coalesce(scope_id, ''),
            coalesce(reason, ''), declared_on
        from {DECLARATIONS_TABLE}
        where kpi_key is not null and month_start is not null and declared_on is not null
        order by declared_on, kpi_key, month_start, scope_type, scope_id
        """
    ).fetchall()
    return [Declaration(*row) for row in rows]


def declarations_needed(
    differences: Sequence[Difference],
    declarations: Sequence[Declaration] = (),
    *,
    today: dt.date | None = None,
) -> tuple[list[Declaration], list[EarlyDeclaration]]:
    """The rows of seeds/kpi_restatements.csv that would accept `differences`, one per KPI and
    month, and the existing `declarations` of those figures dated too early to cover them.

    A row names the scope when every figure of its KPI and month has the same one, and
    leaves it empty (every scope) otherwise. Its ``declared_on`` is `today` (Japan time) or,
    if later, the Japan-time date of the latest publication it restates. Its reason is the
    latest too-early declaration's, or ``REASON_PLACEHOLDER``.
    """
    today = today or dt.datetime.now(JST).date()
    groups: dict[tuple[str, dt.date], list[Difference]] = {}
    for difference in differences:
        groups.setdefault((difference.kpi_key, difference.month_start), []).append(difference)
    rows: list[Declaration] = []
    early: list[EarlyDeclaration] = []
    for (kpi_key, month_start), group in groups.items():
        scopes = sorted({(difference.scope_type, difference.scope_id) for difference in group})
        scope_type, scope_id = scopes[0] if len(scopes) == 1 else ("", "")
        reason = REASON_PLACEHOLDER
        for declaration in declarations:
            # A difference is undeclared: every declaration naming it is dated too early.
            named = [difference for difference in group if declaration.matches(difference)]
            if not named:
                continue
            latest = max(named, key=lambda d: (d.published_on, d.publication_id))
            early.append(EarlyDeclaration(declaration, latest.publication_id, latest.published_on))
            reason = declaration.reason or reason
        published_on = max(difference.published_on for difference in group)
        rows.append(
            Declaration(
                kpi_key, month_start, scope_type, scope_id, reason, max(today, published_on)
            )
        )
    return rows, early


def failure_message(
    differences: Sequence[Difference],
    *,
    since: dt.datetime | None = None,
    arrivals: Sequence[Arrival] = (),
    withdrawn: Sequence[Withdrawal] = (),
    snapshots: Sequence[SnapshotLoad] = (),
    quarantined: Sequence[QuarantinedFile] = (),
    violations: Sequence[ReferenceViolations] = (),
    declarations: Sequence[Declaration] = (),
    today: dt.date | None = None,
    limit: int = 20,
) -> str:
    """What the guard says: the changed figures; where the change may come from (since the
    last publication, `since`: the event files with rows dated in the changed months, the
    files withdrawn, the snapshot files loaded and the rows quarantined; and the rows left
    out for referring to an unknown entity); the existing `declarations` of those figures
    dated too early; and the rows to add to seeds/kpi_restatements.csv to accept the change.
    Each list stops after `limit` lines."""

    def bounded(items: Sequence[str], more: str = "") -> list[str]:
        if len(items) <= limit:
            return list(items)
        return [*items[:limit], f"- ... and {len(items) - limit} more{more}"]

    lines = [
        f"{len(differences)} published figure(s) of closed months would change without a "
        "declared restatement:"
    ]
    lines += bounded([f"- {difference.describe()}" for difference in differences])
    if since is not None:
        published = f"{since.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
        if arrivals:
            lines.append(
                f"Events loaded since the last publication ({published}) dated in those months:"
            )
            lines += bounded([f"- {arrival.describe()}" for arrival in arrivals], " files")
        elif withdrawn or snapshots or quarantined:
            lines.append(
                f"No event loaded since the last publication ({published}) is dated in those "
                "months."
            )
        else:
            lines.append(
                f"No event loaded since the last publication ({published}) is dated in those "
                "months, and no file was loaded, quarantined or withdrawn since then: the "
                "change comes from a definition (seeds, models)."
            )
        causes = (
            (
                "Files withdrawn since the last publication (their rows no longer count), "
                "a possible cause:",
                withdrawn,
            ),
            (
                "Snapshot files loaded since the last publication (the newest export of a "
                "source replaces the previous one: a record it lacks leaves the figures), a "
                "possible cause:",
                snapshots,
            ),
            (
                "Rows quarantined since the last publication (raw._quarantine; they are not "
                "loaded), a possible cause:",
                quarantined,
            ),
            (
                "Rows left out of the figures for referring to an unknown firm, person, deal "
                f"or other entity ({REFERENCE_VIOLATIONS_TABLE}):",
                violations,
            ),
        )
        for heading, found in causes:
            if found:
                lines.append(heading)
                lines += bounded([f"- {item.describe()}" for item in found], " files")
        if snapshots or quarantined:
            lines.append(
                "A change caused by a broken export is not a restatement: deliver the "
                "corrected export again under the same name (or remove the file with "
                "`prm-warehouse withdraw <source> <file name>`) and build again."
            )
    rows, early = declarations_needed(differences, declarations, today=today)
    if early:
        lines.append(
            "Declarations dated too early to cover them (a declaration covers the figures "
            "published on or before its declared_on, a Japan-time date):"
        )
        lines += bounded([f"- {declaration.describe()}" for declaration in early])
    placeholder = any(row.reason == REASON_PLACEHOLDER for row in rows)
    lines.append(
        "If the new figures are right, add to seeds/kpi_restatements.csv"
        + (f" (write why in place of {REASON_PLACEHOLDER})" if placeholder else "")
        + ":"
    )
    lines += [row.csv_row() for row in rows[:limit]]
    if len(rows) > limit:
        lines.append(
            f"... and {len(rows) - limit} more rows (metadata declaration_rows of the check "
            f"{RESTATEMENT_CHECK_NAME} lists them all)"
        )
    return "\n".join(lines)


class _Described(Protocol):
    def describe(self) -> str: ...


def _listed(items: Sequence[_Described], limit: int = 50) -> dg.MetadataValue:
    """The first `limit` items, one line each, as check metadata."""
    return dg.MetadataValue.md(
        "\n".join(f"- {item.describe()}" for item in items[:limit]) or "none"
    )


def _cause_arguments(causes: Causes) -> dict:
    """`causes` as the keyword arguments of :func:`failure_message`."""
    return {
        "since": causes.since,
        "arrivals": causes.arrivals,
        "withdrawn": causes.withdrawn,
        "snapshots": causes.snapshots,
        "quarantined": causes.quarantined,
        "violations": causes.violations,
    }


def build_restatement_check(
    kpi_monthly_key: dg.AssetKey = KPI_MONTHLY_ASSET_KEY,
) -> dg.AssetChecksDefinition:
    """A blocking ERROR check on ``kpi_monthly_key``: closed months kept as published."""

    @dg.asset_check(
        asset=kpi_monthly_key,
        name=RESTATEMENT_CHECK_NAME,
        blocking=True,
        description=(
            "Figures of closed months equal their published values unless a restatement is "
            "declared in seeds/kpi_restatements.csv."
        ),
    )
    def closed_months_kept_as_published(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            undeclared = check_restatements(con)
            causes = likely_causes(con, undeclared) if undeclared else Causes()
            declarations = read_declarations(con) if undeclared else []
        context.log.info("%d undeclared restatement(s) found.", len(undeclared))
        rows, _ = declarations_needed(undeclared, declarations)

        return dg.AssetCheckResult(
            passed=not undeclared,
            severity=dg.AssetCheckSeverity.ERROR,
            description=(
                failure_message(undeclared, **_cause_arguments(causes), declarations=declarations)
                if undeclared
                else None
            ),
            metadata={
                "undeclared_differences": len(undeclared),
                "differences": _listed(undeclared),
                "late_event_files": _listed(causes.arrivals),
                "withdrawn_files": _listed(causes.withdrawn),
                "snapshot_files": _listed(causes.snapshots),
                "quarantined_files": _listed(causes.quarantined),
                "reference_violations": _listed(causes.violations),
                # every row to add to seeds/kpi_restatements.csv, unbounded
                "declaration_rows": dg.MetadataValue.md(
                    "```csv\n" + "\n".join(row.csv_row() for row in rows) + "\n```"
                    if rows
                    else "none"
                ),
            },
        )

    return closed_months_kept_as_published


def build_kpi_publication_asset(
    kpi_monthly_key: dg.AssetKey = KPI_MONTHLY_ASSET_KEY,
    key: dg.AssetKey = PUBLISHED_HISTORY_ASSET_KEY,
) -> dg.AssetsDefinition:
    """The published record of the KPI figures, written after the mart's checks passed."""

    @dg.asset(
        key=key,
        deps=[kpi_monthly_key],
        group_name=PUBLISHED_SCHEMA,
        description=(
            "Published KPI figures (published.kpi_monthly_history, kpi_publications) and the "
            "declared restatements report (marts.kpi_restatement_report)."
        ),
    )
    def kpi_published_history(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        as_of_date = warehouse.resolved_as_of_date()
        with warehouse.connect() as con:
            publication = publish_kpi_figures(
                con, as_of_date, publication_id=publication_id_of_run(context)
            )
        context.log.info(
            "Recorded publication %s as of %s: %d figure(s), %d declared restatement(s).",
            publication.publication_id,
            as_of_date,
            publication.rows_recorded,
            publication.restatements_reported,
        )
        return dg.MaterializeResult(
            metadata={
                "publication_id": publication.publication_id,
                "as_of_date": as_of_date.isoformat(),
                "rows_recorded": publication.rows_recorded,
                "restatements_reported": publication.restatements_reported,
            }
        )

    return kpi_published_history
