"""Stand-ins for dbt's cross-database macros (`{{ dbt.<macro>(...) }}`) for sqlfluff.

sqlfluff's jinja templater renders models without dbt. Each function returns DuckDB SQL of
the same shape as dbt-duckdb's implementation, so the rendered model parses the way the
real one does. Templated text is not linted for style, only parsed.
"""


def _unquote(value):
    return str(value).strip().strip("'\"")


def dateadd(datepart, interval, from_date_or_timestamp):
    part = _unquote(datepart)
    return f"({from_date_or_timestamp} + ((interval '1 {part}') * ({interval})))"


def datediff(first_date, second_date, datepart):
    return f"date_diff('{_unquote(datepart)}', {first_date}, {second_date})"


def date_trunc(datepart, date):
    return f"date_trunc('{_unquote(datepart)}', {date})"


def last_day(date, datepart):
    part = _unquote(datepart)
    return f"cast(date_trunc('{part}', {date}) + interval '1 {part}' - interval '1 day' as date)"


default_last_day = last_day


def concat(fields):
    return "(" + " || ".join(str(field) for field in fields) + ")"


def listagg(measure, delimiter_text="','", order_by_clause=None, limit_num=None):
    order = f" {order_by_clause}" if order_by_clause else ""
    return f"string_agg({measure}, {delimiter_text}{order})"


def length(expression):
    return f"length({expression})"


def replace(field, old_chars, new_chars):
    return f"replace({field}, {old_chars}, {new_chars})"


def split_part(string_text, delimiter_text, part_number):
    return f"split_part({string_text}, {delimiter_text}, {part_number})"


def position(substring_text, string_text):
    return f"position({substring_text} in {string_text})"


def right(string_text, length_expression):
    return f"right({string_text}, {length_expression})"


def any_value(expression):
    return f"any_value({expression})"


def bool_or(expression):
    return f"bool_or({expression})"


def string_literal(value):
    return "'" + str(value).replace("'", "''") + "'"


def escape_single_quotes(expression):
    return str(expression).replace("'", "''")


# Argument and function names below are dbt's own, shadowed builtins included.
def safe_cast(field, type):
    return f"try_cast({field} as {type})"


def cast(field, type):
    return f"cast({field} as {type})"


def hash(field):
    return f"md5(cast({field} as varchar))"


def current_timestamp():
    return "now()"


def generate_series(upper_bound):
    return f"select unnest(generate_series(1, {upper_bound})) as generated_number"


def date_spine(datepart, start_date, end_date):
    part = _unquote(datepart)
    return (
        f"select cast(range as date) as date_{part} "
        f"from range({start_date}, {end_date}, interval '1 {part}')"
    )


def type_string():
    return "varchar"


def type_bigint():
    return "bigint"


def type_int():
    return "integer"


def type_boolean():
    return "boolean"


def type_numeric():
    return "decimal(28, 6)"


def type_float():
    return "double"


def type_timestamp():
    return "timestamp"
