"""Withdrawing a delivered file: its rows leave the raw tables, as if it never arrived.

A landing folder may be pruned after loading, so a file that disappears from it keeps its
rows. A file that should not have been delivered (a wrong export, a test file) is withdrawn
explicitly. The incremental event models only see rows that arrive, never rows that leave,
so a withdrawal is recorded in ``raw._withdrawals`` as *pending*: while one is pending,
every build runs dbt with ``--full-refresh`` (``transformations.dbt_models``), whatever
starts it, and the no-op check of the command line does not skip it
(``fingerprint.is_up_to_date``). The record is marked rebuilt (``rebuilt_at``) only after a
dbt build that rebuilt every incremental model succeeded; it is kept afterwards, so the
restatement guard can name the files withdrawn since the last publication.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

import duckdb

from .contract import (
    MANIFEST_TABLE,
    QUARANTINE_TABLE,
    RAW_SCHEMA,
    SOURCES_BY_NAME,
    WITHDRAWALS_TABLE,
)
from .schema import WITHDRAWALS_DDL

_WITHDRAWALS = f"{RAW_SCHEMA}.{WITHDRAWALS_TABLE}"


@dataclass(frozen=True)
class Withdrawal:
    source: str
    file_name: str
    rows_removed: int
    quarantined_removed: int
    withdrawn_at: dt.datetime | None = None

    def describe(self) -> str:
        noun = "row" if self.rows_removed == 1 else "rows"
        when = ""
        if self.withdrawn_at is not None:
            when = f" on {self.withdrawn_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
        return f"{self.file_name} ({self.source}): withdrawn{when}, {self.rows_removed} {noun}"


def withdraw_file(
    con: duckdb.DuckDBPyConnection,
    source: str,
    file_name: str,
    *,
    withdrawn_at: dt.datetime | None = None,
) -> Withdrawal:
    """Remove one delivered file's rows, quarantine records and manifest entry, and record
    the withdrawal as pending a full rebuild, atomically."""
    if source not in SOURCES_BY_NAME:
        known = ", ".join(sorted(SOURCES_BY_NAME))
        raise ValueError(f"unknown source {source!r}; the sources are {known}")
    table = f'{RAW_SCHEMA}."{source}"'  # a name from the contract, never from the caller
    (delivered,) = con.execute(
        f"select count(*) from {RAW_SCHEMA}.{MANIFEST_TABLE} where source = ? and file_name = ?",
        [source, file_name],
    ).fetchone()
    if not delivered:
        raise ValueError(
            f"{source}/{file_name} was never loaded into this warehouse: nothing to withdraw; "
            "remove it from the landing folder if it should not be read"
        )
    withdrawn_at = withdrawn_at or dt.datetime.now(dt.UTC)
    con.execute(WITHDRAWALS_DDL)  # a warehouse built before withdrawals were recorded
    con.execute("begin transaction")
    try:
        (rows,) = con.execute(
            f"select count(*) from {table} where _file_name = ?", [file_name]
        ).fetchone()
        (quarantined,) = con.execute(
            f"select count(*) from {RAW_SCHEMA}.{QUARANTINE_TABLE} "
            "where source = ? and file_name = ?",
            [source, file_name],
        ).fetchone()
        con.execute(f"delete from {table} where _file_name = ?", [file_name])
        con.execute(
            f"delete from {RAW_SCHEMA}.{QUARANTINE_TABLE} where source = ? and file_name = ?",
            [source, file_name],
        )
        con.execute(
            f"delete from {RAW_SCHEMA}.{MANIFEST_TABLE} where source = ? and file_name = ?",
            [source, file_name],
        )
        con.execute(
            f"insert into {_WITHDRAWALS} values (?, ?, ?, ?, ?, null)",
            [source, file_name, rows, quarantined, withdrawn_at],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return Withdrawal(source, file_name, rows, quarantined, withdrawn_at)


def _has_withdrawals_table(con: duckdb.DuckDBPyConnection) -> bool:
    (count,) = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [RAW_SCHEMA, WITHDRAWALS_TABLE],
    ).fetchone()
    return bool(count)


def _withdrawals(con: duckdb.DuckDBPyConnection, where: str, params: list) -> list[Withdrawal]:
    if not _has_withdrawals_table(con):
        return []
    rows = con.execute(
        "select source, file_name, rows_removed, quarantined_removed, withdrawn_at "
        f"from {_WITHDRAWALS} where {where} order by withdrawn_at, source, file_name",
        params,
    ).fetchall()
    return [Withdrawal(*row) for row in rows]


def pending_withdrawals(con: duckdb.DuckDBPyConnection) -> list[Withdrawal]:
    """Withdrawals that no successful full rebuild of the incremental models followed yet."""
    return _withdrawals(con, "rebuilt_at is null", [])


def withdrawals_since(con: duckdb.DuckDBPyConnection, since: dt.datetime) -> list[Withdrawal]:
    """Files withdrawn after `since`, rebuilt or not."""
    return _withdrawals(con, "withdrawn_at > ?", [since])


def mark_rebuilt(
    con: duckdb.DuckDBPyConnection,
    withdrawals: list[Withdrawal],
    *,
    rebuilt_at: dt.datetime | None = None,
) -> int:
    """Mark `withdrawals` (read before a full rebuild started) as rebuilt; returns how many.

    A withdrawal recorded after they were read stays pending: the rebuild may not have seen it.
    """
    stamps = [w.withdrawn_at for w in withdrawals if w.withdrawn_at is not None]
    if not stamps:
        return 0
    rows = con.execute(
        f"update {_WITHDRAWALS} set rebuilt_at = ? "
        "where rebuilt_at is null and withdrawn_at <= ? returning 1",
        [rebuilt_at or dt.datetime.now(dt.UTC), max(stamps)],
    ).fetchall()
    return len(rows)


def rebuild_pending(warehouse_path: str | os.PathLike[str]) -> bool:
    """Whether the warehouse file records a withdrawal not yet rebuilt, read without a lock.

    True also when the file cannot be read (a writer holds it, or it is no DuckDB file): the
    caller then builds rather than skips.
    """
    try:
        con = duckdb.connect(os.fspath(warehouse_path), read_only=True)
    except duckdb.Error:
        return True
    try:
        return bool(pending_withdrawals(con))
    except duckdb.Error:
        return True
    finally:
        con.close()
