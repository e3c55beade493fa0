"""Building blocks of the mart suites (``expectations/marts/*.py``).

A mart suite names only columns of the mart contract (the "must hold at least" column of the
mart table in the KPI definitions): the marts may hold more columns, never fewer. Every mart
suite checks its columns, that its grain columns are never NULL and unique together, and the
ranges its module adds (rates in [0, 1], scores 0-100, counts >= 0).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence

import great_expectations.expectations as gxe
import yaml

from ..settings import PROJECT_ROOT
from .narrowing import narrowed_frame
from .spec import Frame, Gate, Severity, Suite, SuiteInfo, error, quote

MART_SCHEMA = "marts"
MART_MODELS_DIR = PROJECT_ROOT / "models" / MART_SCHEMA
# dbt contract types written as DuckDB prints them in information_schema
_TYPE_SPELLINGS = {"timestamp with time zone": "timestamptz"}

# The five funnel stages, in rank order.
STAGES: tuple[str, ...] = ("approach_planned", "approach", "proposal", "proposal_agreed", "won")


def mart_suite_info(mart_name: str, version: int, description: str) -> SuiteInfo:
    return SuiteInfo(
        name=f"mart_{mart_name}",
        asset_key=(MART_SCHEMA, mart_name),
        table=f"{MART_SCHEMA}.{mart_name}",
        version=version,
        description=description,
    )


def rate(column: str, severity: Severity = "error") -> Gate:
    return Gate(
        gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=1),
        severity,
        "a share lies in [0, 1]",
    )


def score_0_100(column: str, severity: Severity = "error") -> Gate:
    return Gate(
        gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=100),
        severity,
        "a score lies in [0, 100]",
    )


def non_negative(column: str, severity: Severity = "error") -> Gate:
    return Gate(
        gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0),
        severity,
        "a count is never negative",
    )


def rank(column: str, severity: Severity = "error") -> Gate:
    return Gate(
        gxe.ExpectColumnValuesToBeBetween(column=column, min_value=1),
        severity,
        "a rank starts at 1",
    )


def one_of(column: str, values: Iterable[str], severity: Severity = "error") -> Gate:
    return Gate(
        gxe.ExpectColumnValuesToBeInSet(column=column, value_set=sorted(values)),
        severity,
        "a value of the contract's closed list",
    )


def not_null(column: str, severity: Severity = "error") -> Gate:
    return Gate(gxe.ExpectColumnValuesToNotBeNull(column=column), severity, "never NULL")


def grain_gates(grain: Sequence[str]) -> tuple[Gate, ...]:
    gates = [
        error(gxe.ExpectColumnValuesToNotBeNull(column=column), "a grain column is never NULL")
        for column in grain
    ]
    if len(grain) == 1:
        unique = gxe.ExpectColumnValuesToBeUnique(column=grain[0])
    else:
        unique = gxe.ExpectCompoundColumnsToBeUnique(column_list=list(grain))
    gates.append(error(unique, f"one row per {' x '.join(grain)}"))
    return tuple(gates)


@functools.cache
def contract_types() -> Mapping[str, Mapping[str, str]]:
    """The declared type of every column of every mart, from its enforced dbt contract."""
    types: dict[str, dict[str, str]] = {}
    for path in sorted(MART_MODELS_DIR.rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in document.get("models") or ():
            types[model["name"]] = {
                column["name"]: _TYPE_SPELLINGS.get(column["data_type"], column["data_type"])
                for column in model.get("columns") or ()
                if column.get("data_type")
            }
    return types


def build_mart_suite(
    info: SuiteInfo,
    *,
    columns: Sequence[str],
    grain: Sequence[str],
    gates: Iterable[Gate] = (),
) -> Suite:
    """The suite of a mart: a ``columns`` frame (no rows) for the contract's column set and a
    ``rows`` frame narrowed to the rows that may break a grain or range gate (narrowing.py),
    so a mart of millions of rows is not read into pandas to find that nothing is wrong."""
    missing = [column for column in grain if column not in columns]
    if missing:
        raise ValueError(f"suite {info.name}: grain columns {missing} are not in its columns")
    schema, table = info.table.split(".", 1)
    relation = f"{schema}.{quote(table)}"
    column_frame = Frame(
        name="columns",
        sql=f"select * from {relation} limit 0",
        unit=None,  # no rows: the table's columns
        gates=(
            error(
                gxe.ExpectTableColumnsToMatchSet(column_set=list(columns), exact_match=False),
                "every column of the mart contract is present",
            ),
        ),
    )
    declared = contract_types().get(table, {})
    types = {column: declared.get(column, "unknown") for column in columns}
    row_frame = narrowed_frame(
        "rows",
        rows_sql=f"select * from {relation}",
        types=types,
        gates=(*grain_gates(grain), *gates),
        order_by=grain,
    )
    return Suite(info=info, frames=(column_frame, row_frame), requires=(info.table,))
