"""Building blocks of the raw-source suites (``expectations/raw/*.py``).

Every raw suite validates four frames read from the warehouse, a snapshot source's a fifth:

- ``schema``: the table's columns (no rows): every contract and lineage column is present;
- ``rows``: the rows staging will use. Snapshot sources: the newest file only (max
  ``_export_date``, then max ``_file_name``). Event sources: per key, the copies in the latest
  file that delivered the key. Overlapping batches are expected and resolved this way; two
  copies of one key left after it are a duplicate *inside one file*, which the key-uniqueness
  gate reports. DuckDB de-duplicates on the checked columns only and the frame is narrowed
  (``narrowing.py``): GX sees the whole raw rows of the candidates that may break a gate, and
  the rows validated are counted over every row staging uses;
- ``volume``: the newest export day's row count from ``raw._load_manifest`` against the median
  of up to ``VOLUME_HISTORY_DAYS`` previous export days;
- ``quarantine``: per delivered file, the share of its records in ``raw._quarantine``; a file
  of which every record was quarantined blocks whatever its size. A failure shows each file's
  first quarantined lines with their reasons, and a file that blocks is not warned of again;
- ``snapshots`` (snapshot sources): the keys of the previous snapshot file that the newest one
  lacks (a cut-off, empty or header-only export; an entity whose key could not be read, kept
  by staging while the lacking keys are no more than the records without a readable key).

The ``volume``, ``quarantine`` and ``snapshots`` frames are narrowed the same way: GX sees the
export day or the files that may break a gate, none on a normal day.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import great_expectations.expectations as gxe

from ..raw.contract import (
    LINEAGE_COLUMNS,
    MANIFEST_TABLE,
    QUARANTINE_TABLE,
    RAW_SCHEMA,
    SOURCES_BY_NAME,
    Source,
)
from .narrowing import narrowed_frame
from .spec import (
    EARLIEST_PLAUSIBLE,
    Frame,
    Gate,
    Severity,
    Suite,
    SuiteContext,
    SuiteInfo,
    columns_of,
    counted,
    error,
    percent,
    quote,
    read_seed_column,
    sql_literal,
    warn,
)

VOLUME_HISTORY_DAYS = 28
# A newest export day with more than this many times the median of the previous days.
VOLUME_SPIKE_RATIO = 10.0
# Share of a file's records sent to quarantine: above the first a warning, above the second
# the file blocks the build (a twentieth of the rows unreadable is a broken export, not noise).
QUARANTINE_WARN_SHARE = 0.01
QUARANTINE_ERROR_SHARE = 0.05
# Files with fewer records only warn: one bad row in a three-row late batch is not a broken
# export (the loader's quarantine_share check still weighs it against the whole source). A file
# of which every record was quarantined blocks whatever its size: nothing of it could be read.
QUARANTINE_ERROR_MIN_RECORDS = 100
# Quarantined lines (with their reasons) a quarantine failure shows per file.
QUARANTINED_LINES_SHOWN = 3
# Share of the previous snapshot file's entities (keys) the newest file may lack. The portal
# rarely deletes anything (people and firms carry a status instead), so more than a twentieth
# gone is an export cut off mid-file, not the business.
SNAPSHOT_MISSING_ERROR_SHARE = 0.05
# Missing keys a snapshot failure names.
SNAPSHOT_MISSING_KEYS_SHOWN = 10

STATUS_SEED = "deal_status_stage_map.csv"
STATUS_SEED_COLUMN = "status_label"


def raw_suite_info(source_name: str, version: int, description: str) -> SuiteInfo:
    source = SOURCES_BY_NAME[source_name]
    return SuiteInfo(
        name=f"raw_{source.name}",
        asset_key=(RAW_SCHEMA, source.name),
        table=f"{RAW_SCHEMA}.{source.name}",
        version=version,
        description=description,
    )


def table_sql(source: Source) -> str:
    return f"{RAW_SCHEMA}.{quote(source.name)}"


def column_types(source: Source) -> dict[str, str]:
    """The DuckDB type of every column of the source's raw table."""
    return {
        **{column.name: column.duckdb_type for column in source.columns},
        **dict(LINEAGE_COLUMNS),
    }


def rows_sql(source: Source, columns: Sequence[str] | None = None) -> str:
    """The rows staging uses (see the module docstring); every column unless `columns` given.

    Not ordered: a frame orders its own result.
    """
    table = table_sql(source)
    selected = "*" if columns is None else ", ".join(quote(column) for column in columns)
    if source.kind == "snapshot":
        return (
            f"select {selected} from {table}\n"
            f"where _file_name = (\n"
            f"    select _file_name from {table}\n"
            f"    order by _export_date desc, _file_name desc\n"
            f"    limit 1\n"
            f")"
        )
    key = quote(source.key)
    return (
        f"select {selected} from {table}\n"
        f"qualify dense_rank() over (\n"
        f"    partition by {key} order by _export_date desc, _file_name desc\n"
        f") = 1"
    )


def schema_frame(source: Source) -> Frame:
    expected = [*source.column_names, *(name for name, _ in LINEAGE_COLUMNS)]
    return Frame(
        name="schema",
        sql=f"select * from {table_sql(source)} limit 0",
        unit=None,  # no rows: the table's columns
        gates=(
            error(
                gxe.ExpectTableColumnsToMatchSet(column_set=expected, exact_match=False),
                "every contract and lineage column is present",
            ),
        ),
    )


def rows_frame(source: Source, gates: Iterable[Gate]) -> Frame:
    required = [column.name for column in source.columns if column.required]
    key_severity: Severity = "error" if source.kind == "snapshot" else "warn"
    key_gate = Gate(
        expectation=gxe.ExpectColumnValuesToBeUnique(column=source.key),
        severity=key_severity,
        reason=(
            "one row per key in the newest file"
            if source.kind == "snapshot"
            else "an event id appears once in the file that delivered it last"
        ),
    )
    not_null = [
        error(
            gxe.ExpectColumnValuesToNotBeNull(column=name),
            "required values are quarantined by the loader, never loaded as NULL",
        )
        for name in required
    ]
    all_gates = (key_gate, *not_null, *gates)
    types = column_types(source)
    # the checked columns and the lineage that finds each row again, in table order
    checked = {*columns_of(all_gates), "_file_name", "_line_number"}
    columns = [name for name in types if name in checked]
    return narrowed_frame(
        "rows",
        rows_sql=rows_sql(source, columns),
        types=types,
        gates=all_gates,
        full_rows=(table_sql(source), ("_file_name", "_line_number")),
    )


def describe_export_day(row: Mapping[str, Any]) -> str:
    """The newest export day of a volume frame in words, for a failure's message."""
    text = f"{counted(int(row['rows_loaded']), 'record')} loaded on {row['export_date'][:10]}"
    if row.get("previous_median") is not None:
        ratio = row.get("ratio_to_median")
        times = f"{ratio:.1f}x " if ratio is not None else ""
        text += (
            f", {times}the median of {row['previous_median']:,g} over the "
            f"{counted(row['previous_days'], 'previous export day')}"
        )
    return f"{text}, in {row['_file_name']}"


def volume_frame(source: Source, zero_rows_severity: Severity) -> Frame:
    source_name = sql_literal(source.name)
    sql = f"""
with days as (
    select
        export_date,
        sum(rows_loaded) as rows_loaded,
        string_agg(file_name, ', ' order by file_name) as _file_name
    from {RAW_SCHEMA}.{MANIFEST_TABLE}
    where source = {source_name}
    group by export_date
),

ranked as (
    select
        *,
        row_number() over (order by export_date desc) as day_rank
    from days
),

previous as (
    select
        median(rows_loaded) as previous_median,
        count(*) as previous_days
    from ranked
    where day_rank between 2 and {VOLUME_HISTORY_DAYS + 1}
)

select
    ranked.export_date,
    ranked.rows_loaded,
    previous.previous_median,
    previous.previous_days,
    ranked.rows_loaded / nullif(previous.previous_median, 0) as ratio_to_median,
    ranked._file_name
from ranked
cross join previous
where ranked.day_rank = 1
"""
    types = {
        "export_date": "date",
        "rows_loaded": "hugeint",  # a sum of bigint
        "previous_median": "double",
        "previous_days": "bigint",
        "ratio_to_median": "double",
        "_file_name": "varchar",
    }
    return narrowed_frame(
        "volume",
        rows_sql=sql,
        types=types,
        order_by=("export_date",),
        unit="export day",
        describe_row=describe_export_day,
        gates=(
            Gate(
                expectation=gxe.ExpectColumnValuesToBeBetween(column="rows_loaded", min_value=1),
                severity=zero_rows_severity,
                reason=(
                    f"the newest export day delivered rows for {source.name}; an empty export "
                    "is mended by delivering the file again with its rows, or removed with "
                    f"`prm-warehouse withdraw {source.name} FILE_NAME`"
                ),
            ),
            warn(
                gxe.ExpectColumnValuesToBeBetween(
                    column="ratio_to_median", max_value=VOLUME_SPIKE_RATIO
                ),
                f"the newest export day holds at most {VOLUME_SPIKE_RATIO:g}x the median of "
                f"the previous {VOLUME_HISTORY_DAYS} export days",
            ),
        ),
    )


def describe_quarantined_file(row: Mapping[str, Any]) -> str:
    """One file of a quarantine frame in words, for a failure's message: its counts, then its
    first quarantined lines with their reasons."""
    quarantined = row["rows_quarantined"]
    records = row["rows_loaded"] + quarantined
    text = (
        f"{quarantined:,} of {counted(records, 'record')} quarantined "
        f"({percent(quarantined / records)}) in {row['_file_name']}"
    )
    if row.get("first_quarantined"):
        text += f" ({row['first_quarantined']}"
        more = quarantined - QUARANTINED_LINES_SHOWN
        if more > 0:
            text += f"; and {more:,} more in {RAW_SCHEMA}.{QUARANTINE_TABLE}"
        text += ")"
    return text


def quarantine_frame(source: Source) -> Frame:
    source_name = sql_literal(source.name)
    sql = f"""
with loaded as (
    select
        file_name,
        rows_loaded
    from {RAW_SCHEMA}.{MANIFEST_TABLE}
    where source = {source_name}
),

quarantine_lines as (
    select
        file_name,
        line_number,
        reason,
        row_number() over (partition by file_name order by line_number) as position
    from {RAW_SCHEMA}.{QUARANTINE_TABLE}
    where source = {source_name}
),

quarantined as (
    select
        file_name,
        count(*) as rows_quarantined,
        string_agg(
            'line ' || coalesce(cast(line_number as varchar), '?') || ': ' || reason,
            '; '
            order by position
        ) filter (where position <= {QUARANTINED_LINES_SHOWN}) as first_quarantined
    from quarantine_lines
    group by file_name
),

final as (
    select
        coalesce(loaded.file_name, quarantined.file_name) as _file_name,
        coalesce(loaded.rows_loaded, 0) as rows_loaded,
        coalesce(quarantined.rows_quarantined, 0) as rows_quarantined,
        quarantined.first_quarantined
    from loaded
    full outer join quarantined on loaded.file_name = quarantined.file_name
),

shares as (
    select
        *,
        rows_quarantined / nullif(rows_loaded + rows_quarantined, 0) as file_share,
        case
            when
                rows_loaded + rows_quarantined >= {QUARANTINE_ERROR_MIN_RECORDS}
                or (rows_loaded = 0 and rows_quarantined > 0)
                then rows_quarantined / (rows_loaded + rows_quarantined)
        end as blocking_quarantined_share
    from final
)

-- quarantined_share is what the warning weighs: none for a file the error already blocks,
-- so that a file is reported once, at the higher severity
select
    _file_name,
    rows_loaded,
    rows_quarantined,
    first_quarantined,
    case
        when coalesce(blocking_quarantined_share, 0) <= {QUARANTINE_ERROR_SHARE}
            then file_share
    end as quarantined_share,
    blocking_quarantined_share
from shares
"""
    types = {
        "_file_name": "varchar",
        "rows_loaded": "bigint",
        "rows_quarantined": "bigint",
        "first_quarantined": "varchar",
        "quarantined_share": "double",
        "blocking_quarantined_share": "double",
    }
    return narrowed_frame(
        "quarantine",
        rows_sql=sql,
        types=types,
        order_by=("_file_name",),
        unit="file",
        describe_row=describe_quarantined_file,
        gates=(
            warn(
                gxe.ExpectColumnValuesToBeBetween(
                    column="quarantined_share", max_value=QUARANTINE_WARN_SHARE
                ),
                f"at most {QUARANTINE_WARN_SHARE:.0%} of a file's records quarantined",
            ),
            error(
                gxe.ExpectColumnValuesToBeBetween(
                    column="blocking_quarantined_share", max_value=QUARANTINE_ERROR_SHARE
                ),
                f"at most {QUARANTINE_ERROR_SHARE:.0%} of the records of a file of "
                f"{QUARANTINE_ERROR_MIN_RECORDS} or more quarantined, and at least one record "
                "of every file read; a blocking file is mended by delivering it again, "
                "corrected, under the same name, or removed with "
                f"`prm-warehouse withdraw {source.name} FILE_NAME`",
            ),
        ),
    )


def snapshot_frame(source: Source) -> Frame:
    """The newest snapshot file against the previous file of the source (both by export date,
    then file name, as delivered: ``raw._load_manifest``, so a file without a readable record
    counts): the previous file's keys that the newest file lacks.

    A key the newest file holds in a quarantined record (``record_key``) is not lacking: staging
    keeps that entity's last readable row. Lacking keys beside quarantined records whose key
    could not be read warn: when there are no more of them than such records, staging keeps
    their rows of the previous file (``latest_snapshot_rows``); otherwise they drop out. One
    row, or none while the source has one file.
    """
    source_name = sql_literal(source.name)
    table = table_sql(source)
    key = quote(source.key)
    sql = f"""
with files as (
    select
        file_name,
        row_number() over (order by export_date desc, file_name desc) as file_rank
    from {RAW_SCHEMA}.{MANIFEST_TABLE}
    where source = {source_name}
),

newest_file as (
    select file_name from files
    where file_rank = 1
),

previous_file as (
    select file_name from files
    where file_rank = 2
),

previous_keys as (
    select distinct {key} as entity_key
    from {table}
    where _file_name = (select file_name from previous_file) and {key} is not null
),

newest_keys as (
    select {key} as entity_key
    from {table}
    where _file_name = (select file_name from newest_file)
    union
    select record_key as entity_key
    from {RAW_SCHEMA}.{QUARANTINE_TABLE}
    where source = {source_name} and file_name = (select file_name from newest_file)
),

missing_keys as (
    select previous_keys.entity_key
    from previous_keys
    anti join newest_keys on previous_keys.entity_key = newest_keys.entity_key
),

newest_counts as (
    select
        (
            select count(*) from {table}
            where _file_name = (select file_name from newest_file)
        ) as newest_records_read,
        count(*) as newest_records_quarantined,
        count(*) filter (where record_key is null) as newest_unreadable_keys
    from {RAW_SCHEMA}.{QUARANTINE_TABLE}
    where source = {source_name} and file_name = (select file_name from newest_file)
),

missing as (
    select
        count(*) as missing_entities,
        list(entity_key order by entity_key)[1:{SNAPSHOT_MISSING_KEYS_SHOWN}] as shown_keys
    from missing_keys
),

final as (
    select
        newest_file.file_name as _file_name,
        newest_counts.newest_records_read,
        newest_counts.newest_records_quarantined,
        newest_counts.newest_unreadable_keys,
        previous_file.file_name as previous_file_name,
        (select count(*) from previous_keys) as previous_entities,
        missing.missing_entities,
        array_to_string(missing.shown_keys, ', ') as missing_keys_shown
    from newest_file
    cross join previous_file
    cross join newest_counts
    cross join missing
)

select
    *,
    missing_entities / nullif(previous_entities, 0) as missing_entity_share,
    case
        when newest_unreadable_keys > 0 and missing_entities <= newest_unreadable_keys
            then missing_entities
    end as missing_entities_kept_for_unreadable_keys,
    case
        when newest_unreadable_keys > 0 and missing_entities > newest_unreadable_keys
            then missing_entities
    end as missing_entities_beside_unreadable_keys
from final
"""
    types = {
        "_file_name": "varchar",
        "newest_records_read": "bigint",
        "newest_records_quarantined": "bigint",
        "newest_unreadable_keys": "bigint",
        "previous_file_name": "varchar",
        "previous_entities": "bigint",
        "missing_entities": "bigint",
        "missing_keys_shown": "varchar",
        "missing_entity_share": "double",
        "missing_entities_kept_for_unreadable_keys": "bigint",
        "missing_entities_beside_unreadable_keys": "bigint",
    }

    def describe(row: Mapping[str, Any]) -> str:
        text = (
            f"{row['_file_name']} ({counted(row['newest_records_read'], 'record')} read, "
            f"{row['newest_records_quarantined']:,} quarantined"
        )
        if row["newest_unreadable_keys"]:
            text += f", {row['newest_unreadable_keys']:,} of them without a readable {source.key}"
        missing, previous = row["missing_entities"], row["previous_entities"]
        text += (
            f") lacks {missing:,} of the {counted(previous, source.key)} of "
            f"{row['previous_file_name']}"
        )
        if previous:
            text += f" ({percent(missing / previous)})"
        if missing:
            text += f": {row['missing_keys_shown']}"
            if missing > SNAPSHOT_MISSING_KEYS_SHOWN:
                text += f" and {missing - SNAPSHOT_MISSING_KEYS_SHOWN:,} more"
        return text

    return narrowed_frame(
        "snapshots",
        rows_sql=sql,
        types=types,
        order_by=("_file_name",),
        unit="file",
        describe_row=describe,
        gates=(
            error(
                gxe.ExpectColumnValuesToBeBetween(
                    column="missing_entity_share", max_value=SNAPSHOT_MISSING_ERROR_SHARE
                ),
                f"the newest {source.name} file lacks at most "
                f"{SNAPSHOT_MISSING_ERROR_SHARE:.0%} of the previous file's {source.key} values "
                "(a cut-off or empty export is mended by delivering it again in full)",
            ),
            warn(
                gxe.ExpectColumnValuesToBeBetween(
                    column="missing_entities_kept_for_unreadable_keys", max_value=0
                ),
                f"no {source.key} of the previous file lacking while records of the newest file "
                f"were quarantined without a readable {source.key}: each lacking entity may be "
                "one of those records, and staging keeps its row of the previous file until an "
                "export with readable keys is delivered",
            ),
            warn(
                gxe.ExpectColumnValuesToBeBetween(
                    column="missing_entities_beside_unreadable_keys", max_value=0
                ),
                f"no {source.key} of the previous file lacking while records of the newest file "
                f"were quarantined without a readable {source.key}: more entities lack than "
                "records could not be read, so which were removed is unknown, and they drop out "
                "of the marts",
            ),
        ),
    )


def instant_within_window(column: str, ctx: SuiteContext, severity: Severity) -> Gate:
    """A timestamptz column between 2015-01-01 and the end of the day after the as-of date."""
    return Gate(
        expectation=gxe.ExpectColumnValuesToBeBetween(
            column=column,
            min_value=EARLIEST_PLAUSIBLE,
            max_value=ctx.latest_plausible,
            strict_max=True,
        ),
        severity=severity,
        reason=f"a plausible instant: from 2015-01-01 to the day after {ctx.as_of_date} (JST)",
    )


def date_within_window(
    column: str, ctx: SuiteContext, severity: Severity, days_ahead: int = 1
) -> Gate:
    """A date column between 2015-01-01 and `days_ahead` days after the as-of date."""
    # DuckDB dates arrive in pandas as naive datetimes at midnight.
    latest = ctx.as_of_date + dt.timedelta(days=days_ahead)
    return Gate(
        expectation=gxe.ExpectColumnValuesToBeBetween(
            column=column,
            min_value=dt.datetime(2015, 1, 1),
            max_value=dt.datetime.combine(latest, dt.time(0, 0)),
        ),
        severity=severity,
        reason=f"a plausible date: from 2015-01-01 to {latest}",
    )


def value_set(column: str, values: Iterable[str], severity: Severity, reason: str) -> Gate:
    return Gate(
        expectation=gxe.ExpectColumnValuesToBeInSet(column=column, value_set=sorted(values)),
        severity=severity,
        reason=reason,
    )


def read_seed_stages(path: Path) -> tuple[str, ...]:
    """The seed's stages in file order, each with its rank: "approach (2)", "lost (no rank)"."""
    stages: list[str] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            stage = (row.get("stage") or "").strip()
            rank = (row.get("stage_rank") or "").strip()
            text = f"{stage} ({rank or 'no rank'})"
            if stage and text not in stages:
                stages.append(text)
    return tuple(stages)


def describe_unmapped_label(column: str, row: Mapping[str, Any]) -> str:
    """One unmapped label of a labels frame in words, with the seed row that maps it."""
    label, first_on = row[column], row["first_on"]
    return (
        f"{label} in {counted(row['occurrences'], 'row')}, first on {first_on} in Japan "
        f"({row['first_at']}, {row['_file_name']} line {row['_line_number']}): add "
        f"`{label},<stage>,<stage_rank>,{first_on},` to seeds/{STATUS_SEED}"
    )


def status_label_frame(
    source: Source, column: str, time_column: str, ctx: SuiteContext
) -> tuple[tuple[Frame, ...], tuple[str, ...]]:
    """The labels of the rows staging uses must be mapped by the stage-map seed (error).

    One row per label (in `column`). An unmapped label is named with the Japan-time date
    of its earliest `time_column` in the whole table and the seed row to add with that date
    as valid_from (a later valid_from leaves its first rows unmapped). No seed, no frame (a
    note).
    """
    seed = ctx.seeds_dir / STATUS_SEED
    if not seed.is_file():
        return (), (f"{column}: labels not checked, {seed} does not exist",)
    labels = read_seed_column(seed, STATUS_SEED_COLUMN)
    stages = read_seed_stages(seed)
    label, time = quote(column), quote(time_column)
    mapped = ", ".join(sql_literal(value) for value in labels) or "null"
    sql = f"""
with used as (
    select distinct {label}
    from (
{textwrap.indent(rows_sql(source, [column]), " " * 8)}
    )
    where {label} is not null
),

unmapped as (
    select
        {label},
        count(*) over (partition by {label}) as occurrences,
        {time} as first_at,
        _file_name,
        _line_number
    from {table_sql(source)}
    where {label} is not null and {label} not in ({mapped})
    qualify row_number() over (
        partition by {label} order by {time} nulls last, _file_name, _line_number
    ) = 1
)

select
    used.{label},
    unmapped.occurrences,
    strftime(unmapped.first_at at time zone 'UTC', '%Y-%m-%d %H:%M UTC') as first_at,
    strftime(timezone('Asia/Tokyo', unmapped.first_at), '%Y-%m-%d') as first_on,
    unmapped._file_name,
    unmapped._line_number
from used
left join unmapped on used.{label} = unmapped.{label}
"""
    frame = narrowed_frame(
        "labels",
        rows_sql=sql,
        types={
            column: "varchar",
            "occurrences": "bigint",
            "first_at": "varchar",
            "first_on": "varchar",
            "_file_name": "varchar",
            "_line_number": "integer",
        },
        order_by=(column,),
        unit="label",
        describe_row=functools.partial(describe_unmapped_label, column),
        gates=(
            value_set(
                column,
                labels,
                "error",
                f"a label that {STATUS_SEED} does not map stops the build of the marts; its row "
                f"in seeds/{STATUS_SEED} has a valid_from on or before the label's first day in "
                f"Japan, and a stage of: {', '.join(stages)}",
            ),
        ),
    )
    return (frame,), ()


def build_raw_suite(
    info: SuiteInfo,
    *,
    row_gates: Iterable[Gate],
    zero_rows_severity: Severity,
    extra_frames: Iterable[Frame] = (),
    extra_requires: Iterable[str] = (),
    notes: Iterable[str] = (),
) -> Suite:
    source = SOURCES_BY_NAME[info.asset_key[-1]]
    return Suite(
        info=info,
        frames=(
            schema_frame(source),
            rows_frame(source, row_gates),
            volume_frame(source, zero_rows_severity),
            quarantine_frame(source),
            *((snapshot_frame(source),) if source.kind == "snapshot" else ()),
            *extra_frames,
        ),
        requires=(
            info.table,
            f"{RAW_SCHEMA}.{MANIFEST_TABLE}",
            f"{RAW_SCHEMA}.{QUARANTINE_TABLE}",
            *extra_requires,
        ),
        notes=tuple(notes),
    )
