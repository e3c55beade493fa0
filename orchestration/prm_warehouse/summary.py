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
        return "\n".join(lines)
    finally:
        con.close()
