"""The vocabulary of the expectation suites in ``expectations/``.

A suite checks one warehouse table (a raw source or a mart). It reads one or more *frames*
from the warehouse (a SQL query each: the de-duplicated rows, the load volume, the quarantine
share ...) and holds, per frame, a list of *gates*: a Great Expectations expectation plus a
severity. ``error`` gates block everything downstream of the table; ``warn`` gates report.

Suites are built per validation by a ``build(ctx)`` function, so that values that depend on
the run (the as-of date, the labels of a seed file) are read when the check runs, not when
the code location is loaded.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from great_expectations.expectations import Expectation

from ..settings import JST, PROJECT_ROOT

Severity = Literal["error", "warn"]
SEVERITIES: tuple[Severity, ...] = ("error", "warn")

# The earliest instant a portal export can plausibly hold: the programme's portal did not
# exist before 2015, so an older value is a parsing error (a swapped day and month, an epoch).
EARLIEST_PLAUSIBLE = dt.datetime(2015, 1, 1, tzinfo=JST)


@dataclass(frozen=True)
class Gate:
    """One expectation and what its failure means for the pipeline."""

    expectation: Expectation
    severity: Severity
    reason: str = ""  # why the expectation exists, shown with a failure


def error(expectation: Expectation, reason: str = "") -> Gate:
    return Gate(expectation=expectation, severity="error", reason=reason)


def warn(expectation: Expectation, reason: str = "") -> Gate:
    return Gate(expectation=expectation, severity="warn", reason=reason)


@dataclass(frozen=True)
class Frame:
    """A query against the warehouse and the gates validated on its result."""

    name: str
    sql: str
    gates: tuple[Gate, ...]
    # Set on a narrowed frame (see narrowing.py), whose `sql` returns only the rows that may
    # break a gate: one row with `rows`, the rows the gates apply to, and per gate `gate_<i>`,
    # the rows its unexpected share is taken of.
    population_sql: str | None = None
    # What one row of the frame stands for ("row", "file", "export day"): a failure counts in
    # it and the run's log line says how many were validated. None: the frame holds no rows
    # (a check of the table's columns).
    unit: str | None = "row"
    # The text of one offending row in a failure's message (its counts and its file); None:
    # the message names the offending files and lines.
    describe_row: Callable[[Mapping[str, Any]], str] | None = None


@dataclass(frozen=True)
class SuiteInfo:
    """What a suite checks; known without building it (used to define Dagster checks)."""

    name: str
    asset_key: tuple[str, ...]
    table: str  # schema-qualified, e.g. "raw.deals"
    version: int
    description: str


@dataclass(frozen=True)
class Suite:
    info: SuiteInfo
    frames: tuple[Frame, ...]
    # Tables that must exist for the suite to run; when one is missing the suite is skipped.
    requires: tuple[str, ...]
    notes: tuple[str, ...] = ()  # what the suite could not check this time, and why

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def gates(self) -> tuple[Gate, ...]:
        return tuple(gate for frame in self.frames for gate in frame.gates)


@dataclass(frozen=True)
class SuiteContext:
    """What a suite may depend on besides the warehouse."""

    as_of_date: dt.date
    seeds_dir: Path = field(default=PROJECT_ROOT / "seeds")

    @property
    def latest_plausible(self) -> dt.datetime:
        """Exclusive upper bound of a plausible instant: the end of the day after the as-of date."""
        day_after_next = self.as_of_date + dt.timedelta(days=2)
        return dt.datetime.combine(day_after_next, dt.time(0, 0), tzinfo=JST)


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def read_seed_column(path: Path, column: str) -> tuple[str, ...]:
    """The distinct non-empty values of one column of a seed CSV, in file order.

    Raises ValueError naming the file, line and cause when the column is missing or a value
    is blank.
    """
    values: list[str] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or column not in reader.fieldnames:
            raise ValueError(f"{path}, line 1: the header has no column {column!r}")
        for row in reader:
            value = (row.get(column) or "").strip()
            if not value:
                raise ValueError(f"{path}, line {reader.line_num}: empty {column}")
            if value not in values:
                values.append(value)
    return tuple(values)


def counted(count: int, unit: str) -> str:
    """ "1 file", "3 files", "1,204 rows"."""
    return f"{count:,} {unit}" if count == 1 else f"{count:,} {unit}s"


def percent(share: float) -> str:
    """A share as a percentage: "5%", "100%", "33.3%"; never rounded to look whole ("5.04%")."""
    value = 100.0 * share
    if value == round(value):
        return f"{value:.0f}%"
    text = f"{value:.1f}"
    return f"{value:.2f}%" if float(text) == round(value) else f"{text}%"


def columns_of(gates: Iterable[Gate]) -> set[str]:
    """Every column the gates name (used by tests to keep suites inside the contract)."""
    names: set[str] = set()
    for gate in gates:
        config = gate.expectation.configuration.kwargs
        for key in ("column", "column_A", "column_B"):
            if config.get(key):
                names.add(config[key])
        names.update(config.get("column_list") or ())
    return names
