"""Running a suite: read its frames from DuckDB, validate them with Great Expectations.

Great Expectations validates pandas data frames here, never a SQL connection: over a
SQLAlchemy DuckDB connection GX 1.x has returned "N/A" for every expectation. The warehouse
is opened read-only, every frame of the suite is read, and the connection is closed before
validation starts, so a check holds the file for as short a time as possible.

A narrowed frame (``narrowing.py``) reads only the rows that may break a gate, plus one row of
counts over the whole frame: the rows validated and the base of each gate's unexpected share.
When it reads no row, no gate of it can fail, and GX is not called for it.

One ephemeral GX context (no files, no analytics) serves the whole process: creating it is
the slow part, and a validation on it keeps nothing between calls.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from .spec import SEVERITIES, Frame, Gate, Severity, Suite, counted

logger = logging.getLogger(__name__)

SAMPLE_ROWS = 5
# Offending rows a failure's message describes one by one (a frame's describe_row).
DESCRIBED_ROWS = 10
# How long a check waits for a writer (a load or a dbt build) to release the warehouse file.
OPEN_TIMEOUT_SECONDS = 120.0
_OPEN_RETRY_SECONDS = 2.0

_gx_lock = threading.Lock()
_gx_batch_definition: Any = None


def _batch_definition() -> Any:
    """The process-wide GX batch definition of a whole pandas data frame."""
    global _gx_batch_definition
    with _gx_lock:
        if _gx_batch_definition is None:
            os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            asset = context.data_sources.add_pandas(name="warehouse").add_dataframe_asset(
                name="frame"
            )
            _gx_batch_definition = asset.add_batch_definition_whole_dataframe("whole_frame")
        return _gx_batch_definition


@dataclass(frozen=True)
class Failure:
    """One failed expectation."""

    suite: str
    frame: str
    expectation: str  # e.g. "expect_column_values_to_be_between"
    columns: tuple[str, ...]
    severity: Severity
    reason: str
    observed: Any  # JSON-ready: an observed value, counts, or the error that stopped it
    unexpected_count: int | None
    sample_rows: tuple[dict[str, Any], ...]
    file_names: tuple[str, ...]
    unit: str = "row"  # what one counted row stands for (see Frame.unit)
    # the first offending rows in words (see Frame.describe_row), shown instead of the files
    details: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        if not self.columns:
            return self.expectation
        return f"{self.expectation}({', '.join(self.columns)})"

    def describe(self) -> str:
        if self.unexpected_count:
            text = f"{self.label} failed for {counted(self.unexpected_count, self.unit)}"
            observed = self.observed if isinstance(self.observed, dict) else {}
            # a value outside its set is the whole story (an unknown status label, say)
            values = (
                observed.get("unexpected_values")
                if self.expectation == "expect_column_values_to_be_in_set"
                else None
            )
            if values:
                text += " (unexpected: " + ", ".join(str(value) for value in values[:5]) + ")"
        else:
            text = f"{self.label} failed (observed {_short(self.observed)})"
        if self.details:
            text += ": " + "; ".join(self.details)
            more = (self.unexpected_count or 0) - len(self.details)
            if more > 0:
                text += f"; {counted(more, 'more ' + self.unit)}"
        elif self.file_names:
            text += " in " + ", ".join(self.file_names)
            lines = sorted(
                {row["_line_number"] for row in self.sample_rows if row.get("_line_number")}
            )
            if lines:
                text += " (lines " + ", ".join(str(line) for line in lines[:5]) + ")"
        if self.reason:
            text += f" (wanted: {self.reason})"
        return text

    def as_json(self) -> dict[str, Any]:
        return {
            "frame": self.frame,
            "expectation": self.label,
            "severity": self.severity,
            "reason": self.reason,
            "unexpected_count": self.unexpected_count,
            "observed": self.observed,
            "file_names": list(self.file_names),
        }


@dataclass(frozen=True)
class SuiteResult:
    suite: str
    table: str
    version: int
    skipped_reason: str | None = None
    rows_by_frame: Mapping[str, int] = field(default_factory=dict)
    evaluated: int = 0
    failures: tuple[Failure, ...] = ()
    notes: tuple[str, ...] = ()
    # per frame, what was validated: "rows (1,204 rows)", "quarantine (8 files)"
    validated: tuple[str, ...] = ()

    @property
    def skipped(self) -> bool:
        return self.skipped_reason is not None

    def failures_of(self, severity: Severity) -> tuple[Failure, ...]:
        return tuple(failure for failure in self.failures if failure.severity == severity)

    @property
    def success_by_severity(self) -> dict[Severity, bool]:
        return {severity: not self.failures_of(severity) for severity in SEVERITIES}

    @property
    def success(self) -> bool:
        """No error-severity failure (warnings report, they do not fail)."""
        return not self.failures_of("error")

    def summary(self) -> str:
        """One log line: what the expectations were validated on and how many failed."""
        if self.skipped_reason is not None:
            return f"suite {self.suite}: skipped, {self.skipped_reason}"
        return (
            f"suite {self.suite}: {counted(self.evaluated, 'expectation')} on "
            f"{', '.join(self.validated)}; {len(self.failures_of('error'))} error and "
            f"{len(self.failures_of('warn'))} warn failures"
        )

    def description(self) -> str:
        if self.skipped_reason is not None:
            return f"suite {self.suite}: skipped, {self.skipped_reason}"
        if not self.failures:
            return f"suite {self.suite}: all {self.evaluated} expectations passed"
        # errors first: the message says first what blocks.
        ordered = [*self.failures_of("error"), *self.failures_of("warn")]
        return f"suite {self.suite}: " + "; ".join(
            f"{failure.describe()} [{failure.severity}]" for failure in ordered
        )


def _short(value: Any, limit: int = 200) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_ready(value: Any) -> Any:
    """Plain JSON types for a value taken from pandas, numpy or GX."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Mapping):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_ready(item) for item in value]
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return json_ready(value.item())
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def open_read_only(
    warehouse_path: str | os.PathLike[str], timeout_seconds: float = OPEN_TIMEOUT_SECONDS
) -> duckdb.DuckDBPyConnection:
    """A read-only connection in UTC; waits while another process holds the file for writing."""
    path = Path(warehouse_path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the warehouse file does not exist")
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            con = duckdb.connect(str(path), read_only=True)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
            logger.info("warehouse %s is locked by a writer; retrying", path)
            time.sleep(_OPEN_RETRY_SECONDS)
    con.execute("set TimeZone = 'UTC'")
    return con


def existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables"
    ).fetchall()
    return {row[0] for row in rows}


@dataclass(frozen=True)
class _FrameData:
    frame: Frame
    data: pd.DataFrame | None
    error: str | None
    # a narrowed frame's counts over the whole frame (see Frame.population_sql)
    population: Mapping[str, int] | None = None


def read_frames(con: duckdb.DuckDBPyConnection, suite: Suite) -> str | list[_FrameData]:
    """Every frame of the suite as a data frame; a string (the reason) when skipped."""
    tables = existing_tables(con)
    missing = [table for table in suite.requires if table not in tables]
    if missing:
        return f"table {', '.join(missing)} does not exist yet"
    frames: list[_FrameData] = []
    for frame in suite.frames:
        try:
            population = None
            if frame.population_sql is not None:
                cursor = con.execute(frame.population_sql)
                names = [column[0] for column in cursor.description]
                population = dict(zip(names, cursor.fetchone(), strict=True))
            frames.append(_FrameData(frame, con.execute(frame.sql).df(), None, population))
        except duckdb.Error as exc:
            frames.append(_FrameData(frame, None, f"{type(exc).__name__}: {exc}"))
    return frames


def _exception_message(exception_info: Any) -> str | None:
    if not isinstance(exception_info, Mapping):
        return None
    if exception_info.get("raised_exception"):
        return str(exception_info.get("exception_message"))
    for item in exception_info.values():
        if isinstance(item, Mapping) and item.get("raised_exception"):
            return str(item.get("exception_message"))
    return None


def _columns(kwargs: Mapping[str, Any]) -> tuple[str, ...]:
    if kwargs.get("column"):
        return (kwargs["column"],)
    if kwargs.get("column_A"):
        return (kwargs["column_A"], kwargs["column_B"])
    return tuple(kwargs.get("column_list") or ())


def _failure(suite: Suite, frame: Frame, gate: Gate, result: Any, data: pd.DataFrame) -> Failure:
    config = gate.expectation.configuration
    details = result.result or {}
    message = _exception_message(result.exception_info)
    indexes: Sequence[Any] = details.get("unexpected_index_list") or []
    offending = data.loc[list(indexes)] if len(indexes) else data.iloc[0:0]
    file_names: tuple[str, ...] = ()
    if "_file_name" in offending.columns:
        file_names = tuple(sorted({str(name) for name in offending["_file_name"].dropna()}))
    if message is not None:
        observed: Any = {"error": message}
    elif "observed_value" in details:
        observed = {"observed_value": json_ready(details["observed_value"])}
        if details.get("details"):
            observed["details"] = json_ready(details["details"])
    else:
        observed = {
            "unexpected_values": json_ready(details.get("partial_unexpected_list", [])[:10]),
            "unexpected_percent": json_ready(details.get("unexpected_percent")),
        }
    sample = tuple(
        {str(key): json_ready(value) for key, value in row.items()}
        for row in offending.head(SAMPLE_ROWS).to_dict(orient="records")
    )
    described = ()
    if frame.describe_row is not None:
        described = tuple(
            frame.describe_row({str(key): json_ready(value) for key, value in row.items()})
            for row in offending.head(DESCRIBED_ROWS).to_dict(orient="records")
        )
    unexpected = details.get("unexpected_count")
    return Failure(
        suite=suite.name,
        frame=frame.name,
        expectation=config.type,
        columns=_columns(config.kwargs),
        severity=gate.severity,
        reason=gate.reason,
        observed=observed,
        unexpected_count=int(unexpected) if unexpected is not None else None,
        sample_rows=sample,
        file_names=file_names,
        unit=frame.unit or "row",
        details=described,
    )


def _share_of_population(failure: Failure, base: int | None) -> Failure:
    """The failure with its unexpected share taken of the whole frame, not of the candidates."""
    observed = failure.observed
    if base is None or failure.unexpected_count is None or "unexpected_percent" not in observed:
        return failure
    percent = 100.0 * failure.unexpected_count / base if base else None
    return replace(failure, observed={**observed, "unexpected_percent": percent})


def validate_frame(
    suite: Suite,
    frame: Frame,
    data: pd.DataFrame,
    population: Mapping[str, int] | None = None,
) -> list[Failure]:
    """Validate one frame with its gates; the failures, in gate order.

    population: the counts of a narrowed frame (see Frame.population_sql).
    """
    import great_expectations as gx

    data = data.reset_index(drop=True)
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": data})
    gx_suite = gx.ExpectationSuite(name=f"{suite.name}.{frame.name}")
    for index, gate in enumerate(frame.gates):
        # A copy carries the gate's position; the gate's own object stays untouched, so one
        # built suite can be validated more than once.
        expectation = gate.expectation.copy(deep=True)
        expectation.meta = {"gate": index}
        gx_suite.add_expectation(expectation)
    if len(gx_suite.expectations) != len(frame.gates):
        raise ValueError(f"suite {suite.name}, frame {frame.name}: two gates are the same")
    validation = batch.validate(gx_suite, result_format={"result_format": "COMPLETE"})
    failed = []
    for result in validation.results:
        if not result.success:
            index = result.expectation_config.meta["gate"]
            failure = _failure(suite, frame, frame.gates[index], result, data)
            if population is not None:
                failure = _share_of_population(failure, population.get(f"gate_{index}"))
            failed.append((index, failure))
    return [failure for _, failure in sorted(failed, key=lambda item: item[0])]


def run_suite_on_frames(suite: Suite, frames: str | list[_FrameData]) -> SuiteResult:
    if isinstance(frames, str):
        logger.info("suite %s skipped: %s", suite.name, frames)
        return SuiteResult(
            suite=suite.name,
            table=suite.info.table,
            version=suite.info.version,
            skipped_reason=frames,
            notes=suite.notes,
        )
    failures: list[Failure] = []
    rows: dict[str, int] = {}
    validated: list[str] = []
    for item in frames:
        if item.data is None:
            validated.append(f"{item.frame.name} (not read)")
            failures.extend(
                Failure(
                    suite=suite.name,
                    frame=item.frame.name,
                    expectation=gate.expectation.expectation_type,
                    columns=_columns(gate.expectation.configuration.kwargs),
                    severity=gate.severity,
                    reason=gate.reason,
                    observed={"error": f"frame {item.frame.name} could not be read: {item.error}"},
                    unexpected_count=None,
                    sample_rows=(),
                    file_names=(),
                )
                for gate in item.frame.gates
            )
            continue
        population = item.population
        rows[item.frame.name] = int(population["rows"]) if population else len(item.data)
        unit = item.frame.unit
        validated.append(
            f"{item.frame.name} ("
            + ("the table's columns" if unit is None else counted(rows[item.frame.name], unit))
            + ")"
        )
        if population is not None and item.data.empty:
            continue  # no candidate row: every gate of the frame holds
        failures.extend(validate_frame(suite, item.frame, item.data, population))
    result = SuiteResult(
        suite=suite.name,
        table=suite.info.table,
        version=suite.info.version,
        rows_by_frame=rows,
        evaluated=len(suite.gates),
        failures=tuple(failures),
        notes=suite.notes,
        validated=tuple(validated),
    )
    # the asset check logs the same line to the run's event log (and the console)
    logger.debug("%s", result.summary())
    return result


def run_suite(suite: Suite, warehouse_path: str | os.PathLike[str]) -> SuiteResult:
    """Read the suite's frames from the warehouse (read-only, closed promptly) and validate."""
    con = open_read_only(warehouse_path)
    try:
        frames = read_frames(con, suite)
    finally:
        con.close()
    return run_suite_on_frames(suite, frames)
