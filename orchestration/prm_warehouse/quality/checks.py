"""Dagster asset checks that run the expectation suites of ``expectations/``.

One blocking ``@dg.asset_check`` per suite, named ``gx_<suite>``. Dagster blocks downstream
assets only for checks defined with ``@asset_check(blocking=True)`` (not for
``@multi_asset_check``), and only when the result has ERROR severity. So the check's result
carries the worst failed severity: a failed ``error`` gate gives ERROR (downstream assets of
the run do not start), failed ``warn`` gates alone give WARN (reported, nothing blocked). A
suite whose table does not exist yet passes with the reason in its description and metadata.

The checks read the warehouse file and the as-of date from the ``warehouse`` resource
(``WarehouseResource``: ``absolute_warehouse_path()``, ``resolved_as_of_date()``).
"""

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import dagster as dg

from ..settings import EXPECTATIONS_DIR, PROJECT_ROOT
from .runner import SuiteResult, run_suite
from .spec import SuiteContext
from .suites import MART_NAMES, SuiteLayer, SuiteModule, load_suite_modules

WAREHOUSE_RESOURCE_KEY = "warehouse"
MAX_MARKDOWN_CELL = 80


def check_name(suite_name: str) -> str:
    return f"gx_{suite_name}"


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= MAX_MARKDOWN_CELL else text[: MAX_MARKDOWN_CELL - 3] + "..."


def offending_rows_markdown(result: SuiteResult) -> str:
    """The sample of offending rows of every failure, one markdown table per failure."""
    parts: list[str] = []
    for failure in result.failures:
        parts.append(f"**{failure.label}** ({failure.severity}, frame `{failure.frame}`)")
        if not failure.sample_rows:
            parts.append(f"observed: `{_cell(failure.observed)}`")
            continue
        header = list(failure.sample_rows[0])
        parts.append("| " + " | ".join(_cell(name) for name in header) + " |")
        parts.append("|" + "---|" * len(header))
        for row in failure.sample_rows:
            parts.append("| " + " | ".join(_cell(row.get(name)) for name in header) + " |")
        parts.append("")
    return "\n".join(parts)


def to_check_result(result: SuiteResult) -> dg.AssetCheckResult:
    """The Dagster result of a suite run: ERROR blocks, WARN reports, skipped passes."""
    errors = result.failures_of("error")
    warnings = result.failures_of("warn")
    if result.skipped:
        status = "skipped"
    elif errors:
        status = "failed"
    elif warnings:
        status = "warned"
    else:
        status = "passed"
    files = sorted({name for failure in result.failures for name in failure.file_names})
    metadata: dict[str, Any] = {
        "suite": result.suite,
        "suite_version": result.version,
        "table": result.table,
        "status": status,
        "rows_validated": dg.MetadataValue.json(dict(result.rows_by_frame)),
        "expectations_evaluated": result.evaluated,
        "error_failures": len(errors),
        "warn_failures": len(warnings),
    }
    if result.skipped_reason:
        metadata["skipped_reason"] = result.skipped_reason
    if result.failures:
        metadata["failing_expectations"] = dg.MetadataValue.json(
            [failure.as_json() for failure in result.failures]
        )
        metadata["offending_rows"] = dg.MetadataValue.md(offending_rows_markdown(result))
    if files:
        metadata["offending_files"] = ", ".join(files)
    if result.notes:
        metadata["notes"] = "\n".join(result.notes)
    return dg.AssetCheckResult(
        passed=not result.failures,
        severity=dg.AssetCheckSeverity.ERROR if errors else dg.AssetCheckSeverity.WARN,
        description=result.description(),
        metadata=metadata,
    )


def build_suite_check(
    module: SuiteModule, seeds_dir: Path = PROJECT_ROOT / "seeds"
) -> dg.AssetChecksDefinition:
    info = module.info

    @dg.asset_check(
        asset=dg.AssetKey(list(info.asset_key)),
        name=check_name(info.name),
        description=f"Expectation suite {info.name} (v{info.version}): {info.description}",
        blocking=True,
        required_resource_keys={WAREHOUSE_RESOURCE_KEY},
    )
    def _suite_check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        warehouse = getattr(context.resources, WAREHOUSE_RESOURCE_KEY)
        as_of_date = warehouse.resolved_as_of_date()
        suite = module.build(SuiteContext(as_of_date=as_of_date, seeds_dir=seeds_dir))
        result = run_suite(suite, warehouse.absolute_warehouse_path())
        context.log.info("%s", result.summary())
        return to_check_result(result)

    return _suite_check


def _build(
    layer: SuiteLayer, names: Iterable[str] | None, expectations_dir: Path, seeds_dir: Path
) -> list[dg.AssetChecksDefinition]:
    modules = load_suite_modules(layer, expectations_dir)
    selected = list(modules) if names is None else list(names)
    unknown = [name for name in selected if name not in modules]
    if unknown:
        raise KeyError(f"no {layer} suite for {unknown}; known: {sorted(modules)}")
    return [build_suite_check(modules[name], seeds_dir) for name in selected]


def build_raw_suite_checks(
    sources: Iterable[str] | None = None,
    expectations_dir: Path = EXPECTATIONS_DIR,
    seeds_dir: Path = PROJECT_ROOT / "seeds",
) -> list[dg.AssetChecksDefinition]:
    """One blocking check per raw source (asset ``raw/<source>``), all sources by default."""
    return _build("raw", sources, expectations_dir, seeds_dir)


def build_mart_suite_checks(
    marts: Iterable[str] | None = None,
    expectations_dir: Path = EXPECTATIONS_DIR,
    seeds_dir: Path = PROJECT_ROOT / "seeds",
) -> list[dg.AssetChecksDefinition]:
    """One blocking check per mart (asset ``marts/<mart>``), every contract mart by default."""
    return _build("marts", MART_NAMES if marts is None else marts, expectations_dir, seeds_dir)
