"""DDL of the `raw` schema, derived from the raw contract."""

from __future__ import annotations

import duckdb

from .contract import (
    LINEAGE_COLUMNS,
    MANIFEST_TABLE,
    QUARANTINE_TABLE,
    RAW_SCHEMA,
    SOURCES,
    WITHDRAWALS_TABLE,
    Source,
)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def raw_table_ddl(source: Source) -> str:
    columns = [f"{_quote(c.name)} {c.duckdb_type}" for c in source.columns]
    columns += [f"{_quote(name)} {sql_type}" for name, sql_type in LINEAGE_COLUMNS]
    body = ",\n    ".join(columns)
    return f"create table if not exists {RAW_SCHEMA}.{_quote(source.name)} (\n    {body}\n)"


QUARANTINE_DDL = f"""
create table if not exists {RAW_SCHEMA}.{QUARANTINE_TABLE} (
    source varchar not null,
    file_name varchar not null,
    line_number integer,
    reason varchar not null,
    record varchar,
    loaded_at timestamptz not null,
    record_key varchar
)
"""

MANIFEST_DDL = f"""
create table if not exists {RAW_SCHEMA}.{MANIFEST_TABLE} (
    source varchar not null,
    file_name varchar not null,
    export_date date not null,
    sha256 varchar not null,
    size_bytes bigint not null,
    encoding varchar not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    loaded_at timestamptz not null,
    file_stat varchar,
    primary key (source, file_name)
)
"""

# Files withdrawn with `prm-warehouse withdraw`. `rebuilt_at` is set once a dbt build that
# rebuilt the incremental models in full succeeded after the withdrawal; until then the
# withdrawal is pending and every build runs dbt with --full-refresh (raw/withdraw.py).
WITHDRAWALS_DDL = f"""
create table if not exists {RAW_SCHEMA}.{WITHDRAWALS_TABLE} (
    source varchar not null,
    file_name varchar not null,
    rows_removed bigint not null,
    quarantined_removed bigint not null,
    withdrawn_at timestamptz not null,
    rebuilt_at timestamptz
)
"""

# Added after the first release: warehouses created before them get the columns here.
MIGRATIONS = (
    f"alter table {RAW_SCHEMA}.{MANIFEST_TABLE} add column if not exists file_stat varchar",
    f"alter table {RAW_SCHEMA}.{QUARANTINE_TABLE} add column if not exists record_key varchar",
)


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema, one table per source, the quarantine, the load manifest and the
    withdrawals."""
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    for source in SOURCES:
        con.execute(raw_table_ddl(source))
    con.execute(QUARANTINE_DDL)
    con.execute(MANIFEST_DDL)
    con.execute(WITHDRAWALS_DDL)
    for migration in MIGRATIONS:
        con.execute(migration)
