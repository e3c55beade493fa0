"""Dagster assets of the raw layer: one asset per source (``raw/<source>``), one check each.

Each asset loads the new and changed landing files of its source into ``raw.<source>``
(see ``loader.load_source``) and reports what it did as materialization metadata. Its
``quarantine_share`` check is blocking: when more than ``PRM_QUARANTINE_MAX_SHARE``
(default 0.05) of the source's delivered rows sit in quarantine, nothing downstream runs.
"""

# No `from __future__ import annotations`: Dagster reads the context annotations at runtime.
import os

import dagster as dg

from ..resources import WarehouseResource
from .contract import QUARANTINE_TABLE, RAW_SCHEMA, SOURCES, Source
from .loader import LoadReport, RawLoadError, load_source, load_workers, source_totals
from .readers import RawInputError
from .schema import create_raw_tables

ENV_QUARANTINE_MAX_SHARE = "PRM_QUARANTINE_MAX_SHARE"
DEFAULT_QUARANTINE_MAX_SHARE = 0.05
GROUP_NAME = "raw"
CHECK_NAME = "quarantine_share"
SAMPLE_SIZE = 10


def quarantine_max_share(environ: dict[str, str] | None = None) -> float:
    """The largest quarantined share a source may have (``PRM_QUARANTINE_MAX_SHARE``)."""
    env = os.environ if environ is None else environ
    value = (env.get(ENV_QUARANTINE_MAX_SHARE) or "").strip()
    if not value:
        return DEFAULT_QUARANTINE_MAX_SHARE
    try:
        share = float(value)
    except ValueError:
        share = -1.0
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"{ENV_QUARANTINE_MAX_SHARE}={value!r} is not a share between 0 and 1")
    return share


def raw_asset_key(source: Source | str) -> dg.AssetKey:
    return dg.AssetKey([RAW_SCHEMA, source if isinstance(source, str) else source.name])


def _share(quarantined: int, loaded: int) -> float:
    total = quarantined + loaded
    return quarantined / total if total else 0.0


def _files_table(report: LoadReport) -> str:
    lines = [
        "| file | status | encoding | rows loaded | rows quarantined | seconds "
        "| columns not loaded |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for f in report.files:
        lines.append(
            f"| {_md(f.file_name)} | {f.status} | {f.encoding or ''} | {f.rows_loaded} "
            f"| {f.rows_quarantined} | {f.seconds:.2f} | {_md(', '.join(f.ignored_columns))} |"
        )
    for skipped in report.skipped:
        lines.append(f"| {_md(skipped.file_name)} | skipped: {_md(skipped.reason)} | | | | | |")
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def build_raw_asset(source: Source) -> dg.AssetsDefinition:
    """The asset that loads one source's landing files into ``raw.<source>``."""

    @dg.asset(
        key=raw_asset_key(source),
        group_name=GROUP_NAME,
        kinds={"duckdb", "python"},
        description=(
            f"{source.description} Raw {source.kind} rows of `{source.name}` "
            f"({source.format.upper()} exports in the landing folder `{source.name}/`), typed "
            "per the raw contract, with lineage columns; unreadable rows go to "
            f"`{RAW_SCHEMA}.{QUARANTINE_TABLE}`."
        ),
        metadata={"source_kind": source.kind, "file_format": source.format},
    )
    def _raw_asset(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        landing_dir = warehouse.absolute_landing_dir()
        try:
            with warehouse.connect() as con:
                report = load_source(con, source, landing_dir, workers=load_workers())
                table_rows, _, _ = source_totals(con, source)
        except (RawInputError, RawLoadError) as exc:
            context.log.error("raw.%s: load failed, nothing written: %s", source.name, exc)
            raise dg.Failure(
                description=f"raw.{source.name}: {exc}",
                metadata={"landing_dir": landing_dir},
            ) from exc
        share = _share(report.rows_quarantined, report.rows_loaded)
        context.log.info(
            "raw.%s: %d files seen, %d loaded (%d re-delivered), %d unchanged, %d skipped; "
            "%d rows loaded, %d quarantined (%.2f%%) in %.2fs; %d rows in the table",
            source.name,
            report.files_seen,
            report.files_loaded,
            report.files_reloaded,
            report.files_unchanged,
            report.files_skipped,
            report.rows_loaded,
            report.rows_quarantined,
            share * 100,
            report.seconds,
            table_rows,
        )
        return dg.MaterializeResult(
            metadata={
                "files_seen": report.files_seen,
                "files_loaded": report.files_loaded,
                "files_reloaded": report.files_reloaded,
                "files_unchanged": report.files_unchanged,
                "files_skipped": report.files_skipped,
                "rows_loaded": report.rows_loaded,
                "rows_quarantined": report.rows_quarantined,
                "quarantined_share": dg.MetadataValue.float(share),
                "table_rows": table_rows,
                "dagster/row_count": table_rows,
                "rows_per_second": dg.MetadataValue.float(round(report.rows_per_second, 1)),
                "seconds": dg.MetadataValue.float(round(report.seconds, 3)),
                "files": dg.MetadataValue.md(_files_table(report)),
                "landing_dir": dg.MetadataValue.path(landing_dir),
            }
        )

    return _raw_asset


def build_quarantine_check(source: Source) -> dg.AssetChecksDefinition:
    """Blocking check: the quarantined share of all rows delivered for the source."""

    @dg.asset_check(
        asset=raw_asset_key(source),
        name=CHECK_NAME,
        blocking=True,
        description=(
            f"At most {ENV_QUARANTINE_MAX_SHARE} (default {DEFAULT_QUARANTINE_MAX_SHARE:g}) of "
            f"the rows delivered for {source.name} are in quarantine."
        ),
    )
    def _quarantine_check(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        threshold = quarantine_max_share()
        with warehouse.connect() as con:
            create_raw_tables(con)
            _, loaded, quarantined = source_totals(con, source)
            reasons = con.execute(
                # The reason up to the quoted bad value, so equal problems group together.
                "select regexp_replace(reason, ': [''\"].*$', '') as problem, count(*) as n "
                f"from {RAW_SCHEMA}.{QUARANTINE_TABLE} where source = ? "
                "group by problem order by n desc, problem limit ?",
                [source.name, SAMPLE_SIZE],
            ).fetchall()
            sample = con.execute(
                "select file_name, line_number, reason "
                f"from {RAW_SCHEMA}.{QUARANTINE_TABLE} where source = ? "
                "order by file_name, line_number limit ?",
                [source.name, SAMPLE_SIZE],
            ).fetchall()
        share = _share(quarantined, loaded)
        passed = share <= threshold
        description = (
            f"{quarantined} of {loaded + quarantined} rows delivered for {source.name} are "
            f"quarantined ({share:.2%}; at most {threshold:.2%} allowed)"
        )
        (context.log.info if passed else context.log.error)("raw.%s: %s", source.name, description)
        sample_md = "\n".join(
            ["| file | line | reason |", "|---|---:|---|"]
            + [f"| {_md(f)} | {'' if n is None else n} | {_md(r)} |" for f, n, r in sample]
        )
        return dg.AssetCheckResult(
            passed=passed,
            severity=dg.AssetCheckSeverity.ERROR,
            description=description,
            metadata={
                "rows_loaded": loaded,
                "rows_quarantined": quarantined,
                "quarantined_share": dg.MetadataValue.float(share),
                "max_share": dg.MetadataValue.float(threshold),
                "reasons": dg.MetadataValue.json({problem: n for problem, n in reasons}),
                "sample": dg.MetadataValue.md(sample_md),
            },
        )

    return _quarantine_check


raw_assets: list[dg.AssetsDefinition] = [build_raw_asset(source) for source in SOURCES]
raw_asset_checks: list[dg.AssetChecksDefinition] = [
    build_quarantine_check(source) for source in SOURCES
]
