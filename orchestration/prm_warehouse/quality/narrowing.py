"""Frames that hand Great Expectations only the rows that can break a gate.

A raw table holds millions of rows; every gate of its ``rows`` frame is a row-level (map)
expectation: not null, in a set, between two values, A greater than B, unique. Such a gate
judges a row by that row alone (uniqueness: by the other rows with the same value). So DuckDB
can select the *candidate* rows, those that may break at least one gate, and Great
Expectations validates only them: the unexpected rows, their count, the sample shown with a
failure and the files named stay the same as on the whole frame, and a clean table gives an
empty frame. The predicates only need to be generous: a candidate that breaks no gate is
judged by GX and passes.

A narrowed frame comes with a population query (:attr:`Frame.population_sql`): the number of
rows the gates apply to (reported as the rows validated) and, per gate, the rows its
unexpected share is taken of, so the reported share is the share of the whole frame.

A gate this module cannot translate (another expectation type, ``mostly``, a row condition,
a value whose type does not match its column) keeps every row in the frame: slower, never
different.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .spec import Frame, Gate, quote, sql_literal

NUMERIC_TYPES = frozenset(
    {"tinyint", "smallint", "integer", "bigint", "hugeint", "float", "double", "decimal"}
)
FLOAT_TYPES = frozenset({"float", "double"})
# Types whose equality is the same in DuckDB and pandas (uniqueness is decided by both).
EXACT_TYPES = frozenset(
    {"varchar", "tinyint", "smallint", "integer", "bigint", "date", "timestamp", "timestamptz"}
)
# Keyword arguments that do not change which rows a gate finds unexpected.
NEUTRAL_KWARGS = frozenset(
    {"column", "column_A", "column_B", "column_list", "result_format", "catch_exceptions"}
)

ALL_ROWS = "true"


def _base_type(duckdb_type: str) -> str:
    return duckdb_type.lower().split("(")[0].strip()


def _missing(column: str, types: Mapping[str, str]) -> str:
    """pandas reads a NULL and a float NaN alike as missing."""
    name = quote(column)
    if _base_type(types[column]) in FLOAT_TYPES:
        return f"({name} is null or isnan({name}))"
    return f"{name} is null"


def _literal(value: Any, duckdb_type: str) -> str | None:
    """A SQL literal of `value` comparable with a column of `duckdb_type` as pandas compares."""
    base = _base_type(duckdb_type)
    if isinstance(value, bool):
        return ("true" if value else "false") if base == "boolean" else None
    if isinstance(value, int | float):
        if base not in NUMERIC_TYPES or (isinstance(value, float) and not math.isfinite(value)):
            return None
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return sql_literal(value) if base == "varchar" else None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None and base == "timestamptz":
            return f"timestamptz {sql_literal(value.isoformat())}"
        if value.tzinfo is None and base in {"date", "timestamp"}:
            return f"timestamp {sql_literal(value.isoformat())}"
        return None
    if isinstance(value, dt.date):
        return f"date {sql_literal(value.isoformat())}" if base == "date" else None
    return None


def _neutral(kwargs: Mapping[str, Any], allowed: Iterable[str]) -> bool:
    extra = set(kwargs) - NEUTRAL_KWARGS - set(allowed)
    mostly = kwargs.get("mostly")
    return not (extra - {"mostly"}) and (mostly is None or mostly >= 1)


def _between(kwargs: Mapping[str, Any], types: Mapping[str, str]) -> str | None:
    column = kwargs["column"]
    name = quote(column)
    parts: list[str] = []
    bounds = (
        ("min_value", "strict_min", "<=", "<"),
        ("max_value", "strict_max", ">=", ">"),
    )
    for key, strict_key, strict_operator, operator in bounds:
        value = kwargs.get(key)
        if value is None:
            continue
        literal = _literal(value, types[column])
        if literal is None:
            return None
        parts.append(f"{name} {strict_operator if kwargs.get(strict_key) else operator} {literal}")
    return " or ".join(parts) if parts else "false"


def _in_set(kwargs: Mapping[str, Any], types: Mapping[str, str]) -> str | None:
    column = kwargs["column"]
    values = list(kwargs.get("value_set") or ())
    if not values:
        return f"{quote(column)} is not null"
    literals = [_literal(value, types[column]) for value in values]
    if any(literal is None for literal in literals):
        return None
    return f"{quote(column)} not in ({', '.join(literals)})"  # type: ignore[arg-type]


def _pair(kwargs: Mapping[str, Any], types: Mapping[str, str]) -> str | None:
    a, b = kwargs["column_A"], kwargs["column_B"]
    if {_base_type(types[a]), _base_type(types[b])} - NUMERIC_TYPES - {"date", "timestamptz"}:
        return None
    operator = ">=" if kwargs.get("or_equal") else ">"
    broken = f"not ({quote(a)} {operator} {quote(b)})"
    if kwargs.get("ignore_row_if") == "either_value_is_missing":
        return broken
    # other modes compare a row with one value missing (and GX finds it unexpected)
    return f"{_missing(a, types)} or {_missing(b, types)} or {broken}"


def gate_predicate(gate: Gate, index: int, types: Mapping[str, str]) -> str | None:
    """SQL true for every row the gate may find unexpected; None when it cannot say.

    A uniqueness gate refers to the column ``_copies_<index>`` (rows sharing the value).
    """
    config = gate.expectation.configuration
    kwargs = dict(config.kwargs)
    columns = [kwargs[key] for key in ("column", "column_A", "column_B") if kwargs.get(key)]
    columns += list(kwargs.get("column_list") or ())
    if not columns or any(column not in types for column in columns):
        return None
    match config.type:
        case "expect_compound_columns_to_be_unique" if _neutral(kwargs, {"ignore_row_if"}):
            # rows sharing all the values (NULLs alike, as pandas groups them) are candidates
            if any(_base_type(types[column]) not in EXACT_TYPES for column in columns):
                return None
            return f"_copies_{index} > 1"
        case "expect_column_values_to_not_be_null" if _neutral(kwargs, ()):
            return _missing(columns[0], types)
        case "expect_column_values_to_be_unique" if _neutral(kwargs, ()):
            if _base_type(types[columns[0]]) not in EXACT_TYPES:
                return None
            return f"_copies_{index} > 1"
        case "expect_column_values_to_be_in_set" if _neutral(kwargs, {"value_set"}):
            return _in_set(kwargs, types)
        case "expect_column_values_to_be_between" if _neutral(
            kwargs, {"min_value", "max_value", "strict_min", "strict_max"}
        ):
            return _between(kwargs, types)
        case "expect_column_pair_values_a_to_be_greater_than_b" if _neutral(
            kwargs, {"or_equal", "ignore_row_if"}
        ):
            return _pair(kwargs, types)
    return None


def _key_columns(gate: Gate) -> list[str]:
    """The column, or the columns together, whose values a uniqueness gate compares."""
    kwargs = gate.expectation.configuration.kwargs
    return list(kwargs.get("column_list") or ()) or [kwargs["column"]]


def _denominator(gate: Gate, types: Mapping[str, str]) -> str:
    """The rows a gate's unexpected share is taken of, as GX counts them (non-missing ones)."""
    config = gate.expectation.configuration
    kwargs = config.kwargs
    if config.type == "expect_column_values_to_not_be_null":
        return "count(*)"
    if kwargs.get("column"):
        return f"count(*) filter (where not {_missing(kwargs['column'], types)})"
    # several columns: compound uniqueness (column_list) or a pair (column_A, column_B)
    columns = list(kwargs.get("column_list") or ()) or [kwargs["column_A"], kwargs["column_B"]]
    default = "all_values_are_missing" if kwargs.get("column_list") else "both_values_are_missing"
    ignored_when = {
        "all_values_are_missing": " and ",
        "both_values_are_missing": " and ",
        "any_value_is_missing": " or ",
        "either_value_is_missing": " or ",
    }.get(kwargs.get("ignore_row_if") or default)
    if ignored_when is None:  # "never"
        return "count(*)"
    missing = ignored_when.join(_missing(column, types) for column in columns)
    return f"count(*) filter (where not ({missing}))"


def _indent(sql: str) -> str:
    return "\n".join(f"    {line}" if line.strip() else "" for line in sql.strip().splitlines())


def narrowed_frame(
    name: str,
    *,
    rows_sql: str,
    types: Mapping[str, str],
    gates: Sequence[Gate],
    order_by: Sequence[str] = ("_file_name", "_line_number"),
    full_rows: tuple[str, Sequence[str]] | None = None,
    unit: str = "row",
    describe_row: Callable[[Mapping[str, Any]], str] | None = None,
) -> Frame:
    """A frame of the candidate rows of `gates` among the rows of `rows_sql`.

    rows_sql: the rows the gates apply to, with every column a gate names and the `order_by`
    columns (no ``order by``). types: the DuckDB type of each of those columns.
    full_rows: (table, identifying columns): the frame then holds the candidates' whole rows of
    that table, found by those columns (so `rows_sql` may select only the checked columns).
    The frame is in `order_by` order, as GX numbers the unexpected rows in frame order.
    unit, describe_row: see Frame.
    """
    predicates = [gate_predicate(gate, index, types) for index, gate in enumerate(gates)]
    narrowed = all(predicate is not None for predicate in predicates)
    unique = [
        index for index, predicate in enumerate(predicates) if predicate == f"_copies_{index} > 1"
    ]
    copies = [
        f"count(*) over (partition by {', '.join(map(quote, _key_columns(gates[index])))})"
        f" as _copies_{index}"
        for index in unique
    ]
    where = " or ".join(f"({predicate})" for predicate in predicates) if narrowed else ALL_ROWS
    select_flagged = ",\n        ".join(["*", *copies])
    order = ", ".join(quote(column) for column in order_by)
    if full_rows is None:
        drop = ", ".join(f"_copies_{index}" for index in unique)
        final = f"select *{f' exclude ({drop})' if drop else ''} from candidates\norder by {order}"
    else:
        table, keys = full_rows
        final = (
            f"select full_rows.* from {table} as full_rows\n"
            f"semi join candidates using ({', '.join(quote(key) for key in keys)})\n"
            f"order by {order}"
        )
    sql = f"""
with frame_rows as (
{_indent(rows_sql)}
),

flagged as (
    select
        {select_flagged},
    from frame_rows
),

candidates as (
    select * from flagged
    where {where}
)

{final}
"""
    population_sql = None
    if narrowed:
        counts = ",\n    ".join(
            ["count(*) as rows"]
            + [f"{_denominator(gate, types)} as gate_{index}" for index, gate in enumerate(gates)]
        )
        population_sql = f"""
with frame_rows as (
{_indent(rows_sql)}
)

select
    {counts},
from frame_rows
"""
    return Frame(
        name=name,
        sql=sql,
        gates=tuple(gates),
        population_sql=population_sql,
        unit=unit,
        describe_row=describe_row,
    )
