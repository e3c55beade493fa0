"""The short report printed after a build: rows per mart and the programme's funnel."""

from __future__ import annotations

from pathlib import Path

import duckdb

STAGES = ("approach_planned", "approach", "proposal", "proposal_agreed", "won")


def mart_row_counts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    tables = con.execute(
        """
        select table_name
        from information_schema.tables
        where table_schema = 'marts' and table_type = 'BASE TABLE'
        order by table_name
        """
    ).fetchall()
    counts = []
    for (table,) in tables:
        quoted = '"' + table.replace('"', '""') + '"'
        (count,) = con.execute(f"select count(*) from marts.{quoted}").fetchone()
        counts.append((table, count))
    return counts


def latest_month_funnel(con: duckdb.DuckDBPyConnection) -> tuple[str, list[tuple[str, int]]] | None:
    """Stage entries of the latest month with any entry, summed over the whole programme."""
    sums = ", ".join(f"sum({stage}_count)" for stage in STAGES)
    row = con.execute(
        f"""
        with monthly as (
            select
                date_trunc('month', activity_date) as month_start,
                {sums}
            from marts.fct_funnel_partner
            group by 1
        )
        select * from monthly order by month_start desc limit 1
        """
    ).fetchone()
    if row is None:
        return None
    month, *values = row
    return month.strftime("%Y-%m"), list(zip(STAGES, (int(v or 0) for v in values), strict=True))


def _table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    (count,) = con.execute(
        """
        select count(*)
        from information_schema.tables
        where table_schema = 'marts' and table_name = ?
        """,
        [table],
    ).fetchone()
    return count > 0


def support_top_ten(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Whom to contact first today, and why."""
    if not _table_exists(con, "fct_support_priority"):
        return []
    rows = con.execute(
        """
        select
            support.priority_rank,
            support.individual_id,
            coalesce(people.full_name, '') as full_name,
            coalesce(people.partner_name, support.partner_id) as partner_name,
            support.reason_codes,
            support.suggested_next_action
        from marts.fct_support_priority as support
        left join marts.dim_partner_individual as people
            on support.individual_id = people.individual_id
        order by support.priority_rank
        limit 10
        """
    ).fetchall()
    lines = ["Contact first today (fct_support_priority):"]
    for rank, individual_id, name, firm, reasons, action in rows:
        lines.append(f"  {rank:>2}. {individual_id} {name} ({firm}): {reasons}")
        lines.append(f"      -> {action}")
    return lines


def key_person_coverage(con: duckdb.DuckDBPyConnection) -> list[str]:
    """How many firms have no, one or several key persons (one is a dependency risk)."""
    if not _table_exists(con, "fct_partner_key_person_coverage"):
        return []
    rows = dict(
        con.execute(
            """
            select coverage_band, count(*)
            from marts.fct_partner_key_person_coverage
            group by coverage_band
            """
        ).fetchall()
    )
    return [
        "Key-person coverage of firms: "
        + ", ".join(f"{band} {rows.get(band, 0):,}" for band in ("none", "one", "several"))
    ]


def render_summary(database: Path) -> str:
    con = duckdb.connect(str(database), read_only=True)
    try:
        lines = ["Rows per mart:"]
        counts = mart_row_counts(con)
        width = max((len(name) for name, _ in counts), default=0)
        lines += [f"  {name:<{width}}  {count:>10,}" for name, count in counts]
        funnel = latest_month_funnel(con) if counts else None
        if funnel is not None:
            month, stages = funnel
            lines.append(f"Programme funnel, {month} (deals entering each stage):")
            first = stages[0][1] or 1
            lines += [
                f"  {stage:<16} {count:>8,}  ({count / first:6.1%} of approach_planned)"
                for stage, count in stages
            ]
        if counts:
            lines += key_person_coverage(con)
            lines += support_top_ten(con)
        return "\n".join(lines)
    finally:
        con.close()


def render_input_problems(warehouse: Path) -> str:
    """Rows the build could not use: quarantined on load, or referencing unknown ids."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        quarantined = con.execute(
            "select source, count(*) from raw._quarantine group by source order by source"
        ).fetchall()
        violations = con.execute(
            """
            select source_name, count(*)
            from intermediate.int_reference_violations
            group by source_name
            order by source_name
            """
        ).fetchall()
        carried = _snapshot_rows_from_earlier_files(con)
    finally:
        con.close()

    def listed(rows: list[tuple[str, int]]) -> str:
        return ", ".join(f"{source} {count:,}" for source, count in rows) if rows else "none"

    return "\n".join(
        [
            f"Rows quarantined on load (raw._quarantine): {listed(quarantined)}",
            "Rows referencing an unknown firm, person or deal "
            f"(intermediate.int_reference_violations): {listed(violations)}",
            "Snapshot rows kept from an earlier file because their record in the newest file "
            f"was quarantined: {listed(carried)}",
        ]
    )


def _snapshot_rows_from_earlier_files(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """Per snapshot source, staging rows that do not come from the newest file."""
    from .raw.contract import SOURCES

    counts = []
    for source in SOURCES:
        if source.kind != "snapshot":
            continue
        newest = f"""
            select max(_file_name) from raw.{source.name}
            where _export_date = (select max(_export_date) from raw.{source.name})
        """
        (count,) = con.execute(
            f"select count(*) from staging.stg_portal__{source.name} where _file_name <> ({newest})"
        ).fetchone()
        if count:
            counts.append((source.name, count))
    return counts


def render_skipped_inputs(landing_dir: Path) -> str:
    """Landing entries the loaders did not read: files not named as the contract says, and
    folders that are no source. Empty when there are none."""
    from .raw.contract import SOURCES
    from .raw.readers import discover_files

    lines = []
    known = {source.name for source in SOURCES}
    for entry in sorted(landing_dir.iterdir()) if landing_dir.is_dir() else []:
        if entry.name.startswith("."):
            continue
        if entry.name not in known:
            lines.append(f"  {entry.name}: not a source folder ({', '.join(sorted(known))})")
    for source in SOURCES:
        for skipped in discover_files(landing_dir, source).skipped:
            lines.append(f"  {source.name}/{skipped.file_name}: {skipped.reason}")
    if not lines:
        return ""
    return "\n".join([f"Not read from the landing folder ({len(lines)}):", *lines])
