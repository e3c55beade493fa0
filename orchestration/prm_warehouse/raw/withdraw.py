"""Withdrawing a delivered file: its rows leave the raw tables, as if it never arrived.

A landing folder may be pruned after loading, so a file that disappears from it keeps its
rows. A file that should not have been delivered (a wrong export, a test file) is withdrawn
explicitly; the next build must then rebuild the event models in full (``build
--full-refresh``), because incremental runs only see rows that arrive.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from .contract import MANIFEST_TABLE, QUARANTINE_TABLE, RAW_SCHEMA, SOURCES_BY_NAME


@dataclass(frozen=True)
class Withdrawal:
    source: str
    file_name: str
    rows_removed: int
    quarantined_removed: int


def withdraw_file(con: duckdb.DuckDBPyConnection, source: str, file_name: str) -> Withdrawal:
    """Remove one delivered file's rows, quarantine records and manifest entry, atomically."""
    if source not in SOURCES_BY_NAME:
        known = ", ".join(sorted(SOURCES_BY_NAME))
        raise ValueError(f"unknown source {source!r}; the sources are {known}")
    table = f'{RAW_SCHEMA}."{source}"'  # a name from the contract, never from the caller
    (delivered,) = con.execute(
        f"select count(*) from {RAW_SCHEMA}.{MANIFEST_TABLE} where source = ? and file_name = ?",
        [source, file_name],
    ).fetchone()
    if not delivered:
        raise ValueError(f"{source}/{file_name} was never loaded into this warehouse")
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
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return Withdrawal(source, file_name, rows, quarantined)
