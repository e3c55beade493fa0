"""Reading the portal's export files: discovery, decoding, parsing and normalising.

A reader turns one delivered file into typed columns (one Python list per contract
column, in file order) plus the physical line each record starts on, and a list of
quarantine records for the rows that cannot be read. ``read_file_chunks`` does so chunk
by chunk (``CHUNK_ROWS`` lines at a time, the file read in blocks), so memory does not
grow with the file; ``parse_bytes`` and ``read_file`` return a whole file at once.
Nothing here touches the warehouse; ``loader.py`` writes what the readers return.

Rules (see the raw contract):

- files live in ``<landing>/<source>/`` and are named
  ``<source>_<YYYYMMDD>[_<anything>].<csv|jsonl|json>``; other entries are skipped and
  reported; a file whose real path lies outside the landing root is refused;
- encoding: UTF-8 with BOM, UTF-8, else CP932 (decoded with Python's ``cp932`` codec);
  UTF-16 and UTF-32 text (with or without a byte order mark) is refused by name;
- CSV via the ``csv`` module (quoted commas and line breaks, LF or CRLF); JSONL one
  object per line; ``.json`` one array of objects;
- values are trimmed; ``''``, ``NULL``, ``-`` and whitespace-only mean no value;
- CSV timestamps without an offset are Japan time; JSON timestamps must carry an
  offset; every timestamp is returned as a UTC-aware ``datetime``. Besides the contract's
  forms, one-digit months, days and hours (``2026/4/1 9:00``), fractions of a second and
  an explicit offset are read too: they are unambiguous;
- identifiers stay text;
- a quarantined record carries its key whenever the key can be read: from the typed row
  (a bad value), from the field where the header places it (a CSV record of the wrong
  width), or from the record's first line alone, up to the first field or member that
  cannot be read (a CSV quote never closed, a JSONL line cut short).

Speed: the reader is on the path of every build, and event files hold millions of rows.
The common case is handled in bulk (the CSV module or one JSON decode for a whole chunk,
C-level ``map`` over columns, one conversion per distinct value, one shape check for a
whole timestamp column); whenever the bulk path meets something unusual it hands the file
or column to the value-by-value path, which is the reference for every rule above and
produces the quarantine reasons.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import itertools
import json
import math
import operator
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .contract import SOURCES_BY_NAME, Column, Source

try:  # installed with dagster-dbt; the stdlib decoder is the reference and the fallback
    import orjson
except ImportError:  # pragma: no cover
    orjson = None

UTC = dt.UTC
# Japan has had no daylight saving time since 1951: a fixed offset is exact and cheap.
JST_OFFSET = dt.timedelta(hours=9)
NULL_TOKENS = frozenset({"", "NULL", "-"})
FILE_FORMATS = ("csv", "jsonl", "json")

BOOL_TOKENS: dict[str, bool] = {
    "true": True,
    "false": False,
    "TRUE": True,
    "FALSE": False,
    "True": True,
    "False": False,
    "1": True,
    "0": False,
    "○": True,
    "×": False,
}

_DATE_RE = re.compile(r"(\d{4})([-/])(\d{1,2})\2(\d{1,2})")
# `YYYY-MM-DD HH:MM:SS` and `YYYY/MM/DD HH:MM` (and the same with one-digit month, day or
# hour as spreadsheet software writes them), optional fraction, optional offset.
_TIMESTAMP_RE = re.compile(
    r"(\d{4})([-/])(\d{1,2})\2(\d{1,2})[ T](\d{1,2}):(\d{2})"
    r"(?::(\d{2})(?:[.,](\d{1,6}))?)?"
    r" ?(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)


class RawInputError(Exception):
    """A landing file that cannot be read at all; the message names the file and cause."""


@dataclass(frozen=True)
class LandingFile:
    """A file in a source's landing folder whose name follows the contract."""

    source: str
    path: Path
    file_name: str
    export_date: dt.date
    file_format: str  # csv, jsonl or json (from the extension)


@dataclass(frozen=True)
class SkippedFile:
    """An entry of a source's landing folder that is not a contract file."""

    file_name: str
    reason: str


@dataclass(frozen=True)
class Discovery:
    files: tuple[LandingFile, ...]
    skipped: tuple[SkippedFile, ...]


@dataclass(frozen=True)
class QuarantineRecord:
    file_name: str
    line_number: int | None
    reason: str
    record: str | None
    # the record's key when it could be read (a snapshot keeps that entity's last readable row)
    record_key: str | None = None


@dataclass
class ParsedFile:
    """One file read into typed columns; rows that cannot be read are in ``quarantined``."""

    source: Source
    file_name: str
    encoding: str
    columns: dict[str, list[Any]]
    line_numbers: list[int]
    quarantined: list[QuarantineRecord] = field(default_factory=list)
    # columns of a CSV header that the contract does not know: read past, not loaded
    ignored_columns: tuple[str, ...] = ()

    @property
    def row_count(self) -> int:
        return len(self.line_numbers)

    def rows(self) -> Iterator[dict[str, Any]]:
        """Rows as dicts (contract columns plus ``_line_number``); for inspection and tests."""
        names = list(self.columns)
        for index, line in enumerate(self.line_numbers):
            row = {name: self.columns[name][index] for name in names}
            row["_line_number"] = line
            yield row


# --------------------------------------------------------------------------- discovery


def file_name_pattern(source: str) -> re.Pattern[str]:
    return re.compile(
        rf"{re.escape(source)}_(\d{{8}})(?:_(.+))?\.({'|'.join(FILE_FORMATS)})",
        re.IGNORECASE,
    )


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def discover_files(landing_dir: str | Path, source: Source | str) -> Discovery:
    """The contract files of one source, sorted by export date then name.

    Entries whose names do not follow the contract (and sub-folders) are returned as
    skipped. A matching entry that resolves outside the landing root (a symlink pointing
    elsewhere) is refused with ``RawInputError``, as is a source folder that does.
    """
    src = SOURCES_BY_NAME[source] if isinstance(source, str) else source
    root = Path(landing_dir).resolve()
    folder = Path(landing_dir) / src.name
    if not folder.exists():
        return Discovery(files=(), skipped=())
    if not _inside(folder.resolve(), root):
        raise RawInputError(f"{folder}: refused, the folder resolves outside the landing root")
    pattern = file_name_pattern(src.name)
    files: list[LandingFile] = []
    skipped: list[SkippedFile] = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        name = entry.name
        match = pattern.fullmatch(name)
        if match is None:
            skipped.append(SkippedFile(name, "name does not follow the landing-file pattern"))
            continue
        real = entry.resolve()
        if not _inside(real, root):
            raise RawInputError(f"{entry}: refused, the file resolves outside the landing root")
        if not real.is_file():
            skipped.append(SkippedFile(name, "not a regular file"))
            continue
        try:
            export_date = dt.datetime.strptime(match.group(1), "%Y%m%d").date()
        except ValueError as exc:
            raise RawInputError(
                f"{entry}: the export date {match.group(1)!r} in the file name is not a date"
            ) from exc
        files.append(
            LandingFile(
                source=src.name,
                path=entry,
                file_name=name,
                export_date=export_date,
                file_format=match.group(3).lower(),
            )
        )
    files.sort(key=lambda f: (f.export_date, f.file_name))
    return Discovery(files=tuple(files), skipped=tuple(skipped))


def check_inside_landing(path: str | Path, landing_dir: str | Path) -> Path:
    """The path, if its real location is inside the landing root; else ``RawInputError``."""
    real = Path(path).resolve()
    if not _inside(real, Path(landing_dir).resolve()):
        raise RawInputError(f"{path}: refused, the file is outside the landing root {landing_dir}")
    return real


# --------------------------------------------------------------------------- decoding


def utf8_only(file_format: str) -> bool:
    """JSON exports are UTF-8 by the contract; only CSV may also be CP932."""
    return file_format.lower() != "csv"


# The first bytes of a file, enough to tell UTF-16 or UTF-32 text by its NUL bytes.
SNIFF_BYTES = 4096
# Byte order marks of encodings the contract does not allow; UTF-32's little-endian mark
# begins with UTF-16's, so it is tried first.
_FOREIGN_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "UTF-32 little-endian"),
    (codecs.BOM_UTF32_BE, "UTF-32 big-endian"),
    (codecs.BOM_UTF16_LE, "UTF-16 little-endian"),
    (codecs.BOM_UTF16_BE, "UTF-16 big-endian"),
)


def _supported_encodings(only_utf8: bool) -> str:
    if only_utf8:
        return "JSON exports are UTF-8"
    return "CSV exports are UTF-8, UTF-8 with BOM or CP932"


def check_not_utf16_or_utf32(head: bytes, label: str, *, only_utf8: bool = False) -> None:
    """``RawInputError`` when a file's first bytes (``SNIFF_BYTES`` of them) are UTF-16 or
    UTF-32 text, which the contract does not allow.

    Such a file starts with a byte order mark, or, without one, shows itself by its NUL
    bytes: every ASCII character (the header's column names, JSON's keys and punctuation)
    comes with one NUL byte in UTF-16 and three in UTF-32, on the same side of it, while
    UTF-8 and CP932 text holds none. Read as UTF-8 or CP932, such a file would give a
    header of unknown columns or lines that are not JSON, hiding the cause.
    """
    supported = _supported_encodings(only_utf8)
    for mark, name in _FOREIGN_BYTE_ORDER_MARKS:
        if head.startswith(mark):
            raise RawInputError(
                f"{label}: encoded as {name} (byte order mark {mark.hex(' ').upper()}), "
                f"an encoding the contract does not allow; {supported}"
            )
    head = head[: len(head) - len(head) % 4]
    nuls = head.count(0)
    if not head or nuls * 4 < len(head):
        return
    if nuls * 8 > len(head) * 5:  # beyond 5 in 8: three NUL bytes to a character
        little = head[3::4].count(0) > head[0::4].count(0)
        name = "UTF-32 little-endian" if little else "UTF-32 big-endian"
    else:
        little = head[1::2].count(0) > head[0::2].count(0)
        name = "UTF-16 little-endian" if little else "UTF-16 big-endian"
    raise RawInputError(
        f"{label}: encoded as {name} without a byte order mark ({nuls} of its first "
        f"{len(head)} bytes are NUL), an encoding the contract does not allow; {supported}"
    )


def _shown_bytes(data: bytes) -> str:
    return " ".join(f"0x{byte:02X}" for byte in data)


def _named_bytes(data: bytes) -> str:
    """``byte 0x87`` or ``bytes 0xE3 0x81``."""
    return f"{'byte' if len(data) == 1 else 'bytes'} {_shown_bytes(data)}"


def _ends_inside_a_character(label: str, line: int, tail: bytes, offset: int, name: str) -> str:
    """The message for a file whose last bytes begin a character that never ends."""
    first = "the first byte" if len(tail) == 1 else "the first bytes"
    return (
        f"{label}: cannot decode the file: it ends inside a character: its last line, "
        f"line {line}, ends with {_shown_bytes(tail)} at byte offset {offset}, {first} of a "
        f"{name} character; the file looks cut off: deliver it again in full"
    )


def _cut_off(error: UnicodeDecodeError) -> bool:
    """Whether the only problem the decoder met is a character that the data's end cuts off."""
    return error.end == len(error.object) and error.reason in (
        "unexpected end of data",  # UTF-8
        "incomplete multibyte sequence",  # CP932
    )


def _undecodable(data: bytes, error: UnicodeDecodeError, encoding: str, base: int = 0) -> str:
    """Where the first bytes ``data`` cannot be decoded by are, and why:
    ``line L, column C: byte 0x87 at byte offset P, invalid start byte``.

    Lines count line feeds (a line feed is never part of a UTF-8 or CP932 character) and
    columns count characters, both from 1; ``base`` is where ``data`` starts in the file.
    """
    start = error.start
    line_start = data.rfind(b"\n", 0, start) + 1
    column = len(data[line_start:start].decode(encoding)) + 1
    line = data.count(b"\n", 0, start) + 1
    return (
        f"line {line}, column {column}: {_named_bytes(data[start : error.end])} "
        f"at byte offset {base + start}, {error.reason}"
    )


def _cut_off_message(
    data: bytes, error: UnicodeDecodeError, name: str, label: str, base: int = 0
) -> str:
    return _ends_inside_a_character(
        label, data.count(b"\n") + 1, data[error.start :], base + error.start, name
    )


def decode(data: bytes, label: str, *, only_utf8: bool = False) -> tuple[str, str]:
    """(text, encoding): UTF-8 with BOM, UTF-8, else CP932; ``RawInputError`` otherwise.

    With ``only_utf8`` (JSON exports), bytes that are not UTF-8 are never read as CP932.
    UTF-16 and UTF-32 text is refused by name (``check_not_utf16_or_utf32``). The error
    names the line and column of the first bytes each encoding cannot decode; a file whose
    only fault is a character cut off by its end is said to look cut off.
    """
    check_not_utf16_or_utf32(data[:SNIFF_BYTES], label, only_utf8=only_utf8)
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8) :]
        try:
            return body.decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            base = len(codecs.BOM_UTF8)
            if _cut_off(exc):
                raise RawInputError(_cut_off_message(body, exc, "UTF-8", label, base)) from exc
            raise RawInputError(
                f"{label}: starts with a UTF-8 BOM but is not UTF-8 "
                f"({_undecodable(body, exc, 'utf-8', base)})"
            ) from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        if only_utf8 and _cut_off(utf8_error):
            raise RawInputError(_cut_off_message(data, utf8_error, "UTF-8", label)) from utf8_error
        not_utf8 = f"not UTF-8 ({_undecodable(data, utf8_error, 'utf-8')})"
        if only_utf8:
            raise RawInputError(
                f"{label}: cannot decode the file: {not_utf8}; JSON exports are UTF-8"
            ) from utf8_error
        try:
            return data.decode("cp932"), "cp932"
        except UnicodeDecodeError as cp932_error:
            # the first encoding whose only fault is the end: all bytes before it are that
            if _cut_off(utf8_error):
                raise RawInputError(
                    _cut_off_message(data, utf8_error, "UTF-8", label)
                ) from cp932_error
            if _cut_off(cp932_error):
                raise RawInputError(
                    _cut_off_message(data, cp932_error, "CP932", label)
                ) from cp932_error
            raise RawInputError(
                f"{label}: cannot decode the file: {not_utf8} "
                f"and not CP932 ({_undecodable(data, cp932_error, 'cp932')}); the encoding is "
                "decided for the whole file: deliver it again as UTF-8 or CP932"
            ) from cp932_error


# --------------------------------------------------------------------------- values
#
# Each converter takes the delivered values of one column and returns the typed values
# plus {row index: reason} for the values that cannot be read. CSV values are strings;
# JSON values may also be numbers, booleans, null or nested structures.

Converted = tuple[list[Any], dict[int, str]]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _clean(value: Any) -> Any:
    """Trim strings and map the null tokens to None; other JSON scalars pass through."""
    if value.__class__ is str:
        value = value.strip()
        return None if value in NULL_TOKENS else value
    return value


_NULLS_TO_NONE: dict[str, None] = dict.fromkeys(NULL_TOKENS)


def _strings_cleaned(values: list[Any]) -> list[str | None] | None:
    """Trimmed strings with the null tokens as None, in C loops; None unless all are strings.

    Every CSV column and most JSON ones are all strings; the converters' fast paths start here.
    """
    if not all(map(str.__instancecheck__, values)):
        return None
    stripped = list(map(str.strip, values))
    return list(map(_NULLS_TO_NONE.get, stripped, stripped))


def _by_distinct_value(
    values: list[Any], name: str, one_by_one: Callable[[list[Any], str], Converted]
) -> Converted:
    """Convert each distinct string once with `one_by_one`, then map all values in C.

    Snapshot columns repeat few values (dates, flags, ranks); event timestamps that did not
    fit the bulk path are converted once per distinct value too.
    """
    cleaned = _strings_cleaned(values)
    if cleaned is None:
        return one_by_one(values, name)
    distinct = [value for value in set(cleaned) if value is not None]
    parsed, bad_distinct = one_by_one(distinct, name)
    out = list(map(dict(zip(distinct, parsed, strict=True)).get, cleaned))
    if not bad_distinct:
        return out, {}
    reasons = {distinct[index]: reason for index, reason in bad_distinct.items()}
    bad = {index: reasons[value] for index, value in enumerate(cleaned) if value in reasons}
    return out, bad


def _convert_text(values: list[Any], name: str) -> Converted:
    cleaned = _strings_cleaned(values)
    if cleaned is not None:
        return cleaned, {}
    bad: dict[int, str] = {}
    out: list[Any] = []
    append = out.append
    for index, value in enumerate(values):
        if value is None:
            append(None)
        elif value.__class__ is str:
            value = value.strip()
            append(None if value in NULL_TOKENS else value)
        elif isinstance(value, (bool, dict, list)):
            append(None)
            bad[index] = f"{name}: expected text, found {_show(value)}"
        elif isinstance(value, int):
            append(str(value))
        else:
            append(None)
            bad[index] = f"{name}: expected text, found {_show(value)}"
    return out, bad


def _convert_bool(values: list[Any], name: str) -> Converted:
    return _by_distinct_value(values, name, _convert_bool_one_by_one)


def _convert_bool_one_by_one(values: list[Any], name: str) -> Converted:
    bad: dict[int, str] = {}
    out: list[Any] = []
    append = out.append
    tokens = BOOL_TOKENS
    for index, raw in enumerate(values):
        value = _clean(raw)
        if value is None:
            append(None)
        elif value.__class__ is str:
            parsed = tokens.get(value)
            if parsed is None:
                bad[index] = f"{name}: not a boolean: {_show(raw)}"
            append(parsed)
        elif value.__class__ is bool:
            append(value)
        elif value.__class__ is int and value in (0, 1):
            append(bool(value))
        else:
            append(None)
            bad[index] = f"{name}: not a boolean: {_show(raw)}"
    return out, bad


def _convert_int(values: list[Any], name: str) -> Converted:
    return _by_distinct_value(values, name, _convert_int_one_by_one)


def _convert_int_one_by_one(values: list[Any], name: str) -> Converted:
    bad: dict[int, str] = {}
    out: list[Any] = []
    append = out.append
    for index, raw in enumerate(values):
        value = _clean(raw)
        if value is None:
            append(None)
            continue
        parsed: int | None = None
        if value.__class__ is str:
            if "_" not in value:
                try:
                    parsed = int(value)
                except ValueError:
                    parsed = None
        elif value.__class__ is int:
            parsed = value
        elif value.__class__ is float and value.is_integer():
            parsed = int(value)
        if parsed is None or not -(2**63) <= parsed < 2**63:
            bad[index] = f"{name}: not a whole number: {_show(raw)}"
            parsed = None
        append(parsed)
    return out, bad


def _convert_number(values: list[Any], name: str) -> Converted:
    # Fast path: every value a JSON number, or a numeric string or null token; all finite.
    cleaned = _strings_cleaned(values)
    given = values if cleaned is None else cleaned  # JSON null and the null tokens are None
    present = [v for v in given if v is not None]
    kinds = set(map(type, present))
    if (kinds <= {int, float}) or (kinds == {str} and "_" not in "".join(present)):
        try:
            numbers = list(map(float, present))
        except (ValueError, TypeError):
            pass
        else:
            if all(map(math.isfinite, numbers)):
                if len(numbers) == len(given):
                    return numbers, {}
                found = iter(numbers)
                return [None if v is None else next(found) for v in given], {}
    return _convert_number_one_by_one(values, name)


def _convert_number_one_by_one(values: list[Any], name: str) -> Converted:
    bad: dict[int, str] = {}
    out: list[Any] = []
    append = out.append
    isfinite = math.isfinite
    for index, raw in enumerate(values):
        cls = raw.__class__
        if (cls is float or cls is int) and isfinite(raw):
            append(float(raw))
            continue
        value = _clean(raw)
        if value is None:
            append(None)
            continue
        parsed: float | None = None
        if value.__class__ is str:
            if "_" not in value:
                try:
                    parsed = float(value)
                except ValueError:
                    parsed = None
        elif value.__class__ is int or value.__class__ is float:
            parsed = float(value)
        if parsed is None or not isfinite(parsed):
            bad[index] = f"{name}: not a number: {_show(raw)}"
            parsed = None
        append(parsed)
    return out, bad


def _convert_date(values: list[Any], name: str) -> Converted:
    return _by_distinct_value(values, name, _convert_date_one_by_one)


def _convert_date_one_by_one(values: list[Any], name: str) -> Converted:
    bad: dict[int, str] = {}
    out: list[Any] = []
    append = out.append
    cache: dict[str, dt.date] = {}
    match = _DATE_RE.fullmatch
    for index, raw in enumerate(values):
        value = _clean(raw)
        if value is None:
            append(None)
            continue
        if value.__class__ is str:
            parsed = cache.get(value)
            if parsed is None:
                found = match(value)
                if found is not None:
                    try:
                        parsed = dt.date(int(found[1]), int(found[3]), int(found[4]))
                    except ValueError:
                        parsed = None
                    if parsed is not None:
                        cache[value] = parsed
        else:
            parsed = None
        if parsed is None:
            bad[index] = f"{name}: not a date: {_show(raw)}"
        append(parsed)
    return out, bad


_OFFSETS: dict[str, dt.timedelta] = {}


def _offset(text: str) -> dt.timedelta:
    known = _OFFSETS.get(text)
    if known is not None:
        return known
    if text in ("Z", "z"):
        offset = dt.timedelta(0)
    else:
        sign = -1 if text[0] == "-" else 1
        digits = text[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        if hours > 23 or minutes > 59:
            raise ValueError(f"bad offset {text!r}")
        offset = sign * dt.timedelta(hours=hours, minutes=minutes)
    _OFFSETS[text] = offset
    return offset


def _slow_timestamp(value: str) -> dt.datetime | None:
    """A UTC-aware value if the text carries an offset, a naive one if not, None if bad."""
    found = _TIMESTAMP_RE.fullmatch(value)
    if found is None:
        return None
    fraction = found[8]
    try:
        parsed = dt.datetime(
            int(found[1]),
            int(found[3]),
            int(found[4]),
            int(found[5]),
            int(found[6]),
            int(found[7] or 0),
            int(fraction.ljust(6, "0")) if fraction else 0,
        )
        zone = found[9]
        if zone is not None:
            parsed = parsed.replace(tzinfo=UTC) - _offset(zone)
    except (ValueError, OverflowError):
        return None
    return parsed


_UTC_SUFFIX = itertools.repeat("Z")
_SLASHES = itertools.repeat("/")
_DASHES = itertools.repeat("-")
_TWICE = itertools.repeat(2)


def _same_char(joined: str, start: int, step: int, allowed: str) -> bool:
    """Whether every value (all `step` long, concatenated) has an allowed char at `start`."""
    return set(joined[start::step]) <= set(allowed)


def _timestamps_fast(values: list[Any], naive_is_japan: bool) -> list[dt.datetime] | None:
    """The column in bulk when every value has one of the exact common shapes; else None.

    Event files hold millions of timestamps written by one program, so they share a few
    shapes: ``YYYY-MM-DD HH:MM:SS`` and ``YYYY/MM/DD HH:MM`` (CSV),
    ``YYYY-MM-DDTHH:MM:SS+09:00`` and ``...Z`` (JSON, often both in one file). The values of
    each length are checked at once (the separators at their positions), then
    ``fromisoformat`` reads them in C loops; any value it rejects sends the whole column to
    the value-by-value path, which names the bad values.
    """
    if not values or not all(map(str.__instancecheck__, values)):
        return None
    lengths = list(map(len, values))
    shapes = set(lengths)
    if len(shapes) == 1:
        return _timestamps_of_one_shape(values, shapes.pop(), naive_is_japan)
    if not shapes <= {16, 19, 20, 25}:
        return None
    out: list[Any] = [None] * len(values)
    for length in shapes:
        indexes = [index for index, found in enumerate(lengths) if found == length]
        converted = _timestamps_of_one_shape(
            list(map(values.__getitem__, indexes)), length, naive_is_japan
        )
        if converted is None:
            return None
        for index, value in zip(indexes, converted, strict=True):
            out[index] = value
    return out


def _timestamps_of_one_shape(
    values: list[str], length: int, naive_is_japan: bool
) -> list[dt.datetime] | None:
    """Bulk conversion of strings that all have `length` characters (see _timestamps_fast)."""
    joined = "".join(values)
    if length == 16:  # YYYY/MM/DD HH:MM or YYYY-MM-DD HH:MM, Japan time in CSV
        if not naive_is_japan or not (
            _same_char(joined, 10, length, "T ") and _same_char(joined, 13, length, ":")
        ):
            return None
        if _same_char(joined, 4, length, "/") and _same_char(joined, 7, length, "/"):
            values = list(map(str.replace, values, _SLASHES, _DASHES, _TWICE))
        elif not (_same_char(joined, 4, length, "-") and _same_char(joined, 7, length, "-")):
            return None
        try:
            utc_wall = map(dt.datetime.fromisoformat, map(operator.add, values, _UTC_SUFFIX))
            return list(map(operator.sub, utc_wall, itertools.repeat(JST_OFFSET)))
        except (ValueError, OverflowError):
            return None
    if not (
        length in (19, 20, 25)
        and _same_char(joined, 4, length, "-")
        and _same_char(joined, 7, length, "-")
        and _same_char(joined, 10, length, "T ")
        and _same_char(joined, 13, length, ":")
        and _same_char(joined, 16, length, ":")
    ):
        return None
    fromisoformat = dt.datetime.fromisoformat
    try:
        if length == 19:  # no offset: Japan time in CSV, refused in JSON
            if not naive_is_japan:
                return None
            utc_wall = map(fromisoformat, map(operator.add, values, _UTC_SUFFIX))
            return list(map(operator.sub, utc_wall, itertools.repeat(JST_OFFSET)))
        if length == 20:  # ...Z
            if not _same_char(joined, 19, length, "Z"):
                return None
            return list(map(fromisoformat, values))
        # length 25: ...+HH:MM, one offset for the whole column
        tails = set(map(operator.itemgetter(slice(19, None)), values))
        if len(tails) != 1:
            return None
        (tail,) = tails
        if tail[0] not in "+-" or tail[3] != ":":
            return None
        offset = _offset(tail)
        heads = map(operator.itemgetter(slice(None, 19)), values)
        utc_wall = map(fromisoformat, map(operator.add, heads, _UTC_SUFFIX))
        return list(map(operator.sub, utc_wall, itertools.repeat(offset)))
    except (ValueError, OverflowError):  # a bad value, or one at the edge of the calendar
        return None


def _timestamp_converter(naive_is_japan: bool) -> Callable[[list[Any], str], Converted]:
    """CSV: a value without an offset is Japan time. JSON: an offset is required.

    Speed matters here (millions of events). ``datetime.replace`` and ``astimezone`` cost
    about a microsecond each, so the common forms are read by ``fromisoformat`` as if they
    were UTC (a trailing ``Z``) and the offset is then subtracted, which keeps ``tzinfo``
    at UTC and is several times faster.
    """

    def convert(values: list[Any], name: str) -> Converted:
        fast = _timestamps_fast(values, naive_is_japan)
        if fast is not None:
            return fast, {}
        return _by_distinct_value(values, name, one_by_one)

    def one_by_one(values: list[Any], name: str) -> Converted:
        bad: dict[int, str] = {}
        out: list[Any] = []
        append = out.append
        fromisoformat = dt.datetime.fromisoformat
        utc = UTC
        jst_offset = JST_OFFSET
        nulls = NULL_TOKENS
        offsets = _OFFSETS
        for index, raw in enumerate(values):
            parsed = None
            naive = False
            if raw.__class__ is str:
                value = raw.strip()
                if value in nulls:
                    append(None)
                    continue
                if value[4:5] == "/" and value[7:8] == "/":
                    value = value.replace("/", "-", 2)
                # The zero-padded forms go to the C parser; anything else takes the
                # stricter and slower regular-expression path.
                if (
                    value[4:5] == "-"
                    and value[7:8] == "-"
                    and value[10:11] in (" ", "T")
                    and value[13:14] == ":"
                ):
                    tail = value[-6:]
                    try:
                        if value[-1] == "Z":
                            parsed = fromisoformat(value)
                        elif tail[0] in "+-" and tail[3] == ":":
                            parsed = fromisoformat(value[:-6] + "Z") - (
                                offsets.get(tail) or _offset(tail)
                            )
                        else:
                            try:
                                parsed = fromisoformat(value + "Z")
                                naive = True
                            except ValueError:  # another offset form, e.g. +0900
                                parsed = fromisoformat(value)
                                if parsed.tzinfo is None:
                                    raise
                                parsed = parsed.astimezone(utc)
                    except (ValueError, OverflowError):
                        parsed = None
                else:
                    parsed = _slow_timestamp(value)
                    if parsed is not None and parsed.tzinfo is None:
                        parsed = parsed.replace(tzinfo=utc)
                        naive = True
            elif raw is None:
                append(None)
                continue
            if parsed is None:
                bad[index] = f"{name}: not a timestamp: {_show(raw)}"
            elif naive:
                if naive_is_japan:
                    try:
                        parsed -= jst_offset
                    except OverflowError:
                        parsed = None
                        bad[index] = f"{name}: not a timestamp: {_show(raw)}"
                else:
                    bad[index] = f"{name}: timestamp without a UTC offset: {_show(raw)}"
                    parsed = None
            append(parsed)
        return out, bad

    return convert


_CSV_TIMESTAMP = _timestamp_converter(naive_is_japan=True)
_JSON_TIMESTAMP = _timestamp_converter(naive_is_japan=False)

_CONVERTERS: dict[str, Callable[[list[Any], str], Converted]] = {
    "id": _convert_text,
    "text": _convert_text,
    "bool": _convert_bool,
    "int": _convert_int,
    "number": _convert_number,
    "date": _convert_date,
}


def convert_column(column: Column, values: list[Any], *, from_json: bool) -> Converted:
    """Typed values of one column and the reasons for the values that cannot be read."""
    if column.kind == "timestamp":
        converter = _JSON_TIMESTAMP if from_json else _CSV_TIMESTAMP
    else:
        converter = _CONVERTERS[column.kind]
    out, bad = converter(values, column.name)
    if column.required and None in out:
        reason = f"{column.name}: required value missing"
        for index, value in enumerate(out):
            if value is None and index not in bad:
                bad[index] = reason
    return out, bad


def _typed_columns(
    source: Source,
    file_name: str,
    raw_columns: dict[str, list[Any]],
    line_numbers: list[int],
    records: Callable[[int], str],
    *,
    from_json: bool,
    encoding: str,
    quarantined: list[QuarantineRecord],
    ignored_columns: tuple[str, ...] = (),
) -> ParsedFile:
    """Convert every contract column; rows with any unreadable value go to quarantine."""
    typed: dict[str, list[Any]] = {}
    reasons: dict[int, list[str]] = {}
    for column in source.columns:
        out, bad = convert_column(column, raw_columns[column.name], from_json=from_json)
        typed[column.name] = out
        for index, reason in bad.items():
            reasons.setdefault(index, []).append(reason)
    if reasons:
        keys = typed[source.key]
        for index in sorted(reasons):
            quarantined.append(
                QuarantineRecord(
                    file_name=file_name,
                    line_number=line_numbers[index],
                    reason="; ".join(reasons[index]),
                    record=records(index),
                    record_key=keys[index],
                )
            )
        keep = [i for i in range(len(line_numbers)) if i not in reasons]
        typed = {name: [values[i] for i in keep] for name, values in typed.items()}
        line_numbers = [line_numbers[i] for i in keep]
    quarantined.sort(key=lambda q: q.line_number or 0)
    return ParsedFile(
        source=source,
        file_name=file_name,
        encoding=encoding,
        columns=typed,
        line_numbers=line_numbers,
        quarantined=quarantined,
        ignored_columns=ignored_columns,
    )


# --------------------------------------------------------------------------- streaming
#
# A file is read as a stream of decoded text blocks, split into physical lines, and parsed
# in chunks of about ``CHUNK_ROWS`` lines: memory stays bounded by the chunk, not the file.
# Line numbers count from the start of the file across chunks. Parsing a chunk that starts
# on a record boundary gives exactly what parsing the whole file gives for those records
# (the CSV reader starts every record afresh; a JSONL record is one line), so the chunked
# result equals the whole-file result.

CHUNK_ROWS = 100_000
BLOCK_BYTES = 4 * 1024 * 1024
# A file whose first bytes that are not UTF-8 come after this many non-ASCII characters that
# were is UTF-8 with a damaged byte: CP932 text is almost never valid UTF-8 for so long.
DAMAGED_UTF8_MIN_CHARACTERS = 20


def _split_universal(text: str, final: bool) -> tuple[list[str], str]:
    """Lines as ``StringIO(newline="")`` splits them (ends kept), and the unfinished tail."""
    lines = io.StringIO(text, newline="").readlines()
    if final or not lines or lines[-1][-1] == "\n":
        return lines, ""
    # no line end yet, or a carriage return that the next block may complete as CRLF
    return lines[:-1], lines[-1]


def _split_line_feeds(text: str, final: bool) -> tuple[list[str], str]:
    """Lines split on line feeds, one carriage return of a CRLF dropped; the unfinished tail."""
    lines = text.split("\n")
    tail = lines.pop()
    if "\r" in text:
        lines = [line[:-1] if line[-1:] == "\r" else line for line in lines]
    if final:
        if tail:
            lines.append(tail)
        return lines, ""
    return lines, tail


class _Lines:
    """Physical lines of a stream of text blocks: one at a time, or taken in batches."""

    def __init__(
        self, blocks: Iterable[str], split: Callable[[str, bool], tuple[list[str], str]]
    ) -> None:
        self._blocks = iter(blocks)
        self._split = split
        self._buffer: list[str] = []
        self._position = 0
        self._tail = ""
        self._done = False

    def _fill(self) -> bool:
        """Append the lines of the next block(s); False once the stream is used up."""
        while not self._done:
            block = next(self._blocks, None)
            if block is None:
                self._done = True
                lines, self._tail = self._split(self._tail, True)
            elif block:
                lines, self._tail = self._split(self._tail + block, False)
            else:
                continue
            if lines:
                if self._position:
                    del self._buffer[: self._position]
                    self._position = 0
                self._buffer.extend(lines)
                return True
        return False

    def take(self, count: int) -> list[str]:
        """The next `count` lines (fewer only at the end of the stream)."""
        while len(self._buffer) - self._position < count and self._fill():
            pass
        start = self._position
        taken = self._buffer[start : start + count]
        self._position = start + len(taken)
        return taken

    def at_end(self) -> bool:
        return self._position >= len(self._buffer) and not self._fill()

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._position >= len(self._buffer) and not self._fill():
            raise StopIteration
        line = self._buffer[self._position]
        self._position += 1
        return line


def detect_encoding(path: str | Path, label: str | None = None, *, only_utf8: bool = False) -> str:
    """The file's encoding as ``decode`` would choose it, read in blocks (not held whole).

    ``RawInputError`` (the same message ``decode`` gives) when no encoding fits.
    """
    label = label or str(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
        check_not_utf16_or_utf32(head, label, only_utf8=only_utf8)
        if head.startswith(codecs.BOM_UTF8):
            candidates: tuple[str, ...] = ("utf-8-sig",)
        else:
            candidates = ("utf-8",) if only_utf8 else ("utf-8", "cp932")
        for encoding in candidates:
            decoder = codecs.getincrementaldecoder(encoding)()
            read = 0  # bytes decoded before the current block
            non_ascii = 0  # characters beyond ASCII decoded so far
            line_breaks = 0
            column = 0  # characters decoded since the last line feed
            block = b""
            try:
                with open(path, "rb") as handle:
                    while block := handle.read(BLOCK_BYTES):
                        text = decoder.decode(block)
                        if encoding == "utf-8":  # only a UTF-8 failure is judged by them
                            non_ascii += len(text) - len(text.encode("ascii", "ignore"))
                            last_break = text.rfind("\n")
                            if last_break >= 0:
                                line_breaks += text.count("\n")
                                column = len(text) - last_break - 1
                            else:
                                column += len(text)
                            read += len(block)
                decoder.decode(b"", True)
            except UnicodeDecodeError as exc:
                if encoding != "utf-8":
                    continue
                # the decoder's bytes: those of the block, after any it held back from before
                pending = exc.object
                offset = read - (len(pending) - len(block))  # where they start in the file
                before = pending[: exc.start]
                text = before.decode(encoding, "ignore")
                non_ascii += len(text) - len(text.encode("ascii", "ignore"))
                if non_ascii >= DAMAGED_UTF8_MIN_CHARACTERS:
                    line = line_breaks + text.count("\n") + 1
                    if not block and exc.reason == "unexpected end of data":
                        raise RawInputError(
                            _ends_inside_a_character(
                                label, line, pending[exc.start :], offset + exc.start, "UTF-8"
                            )
                        ) from exc
                    if "\n" in text:
                        column = len(text) - text.rfind("\n") - 1
                    else:
                        column += len(text)
                    bad = _named_bytes(pending[exc.start : exc.end])
                    raise RawInputError(
                        f"{label}: a damaged UTF-8 file: line {line}, column {column + 1} "
                        f"({bad} at byte offset {offset + exc.start}, {exc.reason}) "
                        f"is not UTF-8, although the {non_ascii} non-ASCII characters before it "
                        "were; the file is not read as CP932 either: deliver it again as UTF-8"
                    ) from exc
                continue
            return encoding
        # raises with the whole file's positions
        decode(Path(path).read_bytes(), label, only_utf8=only_utf8)
    except OSError as exc:
        raise RawInputError(f"{label}: cannot read the file ({exc})") from exc
    raise RawInputError(f"{label}: cannot decode the file")  # pragma: no cover


def file_stat_key(path: Path) -> str:
    """Size, modification and inode change times (ns), device and inode of a file, as one
    string.

    A file whose key equals the one recorded earlier has not been written since: rewriting a
    file, even with its old size and modification time restored (``cp -p``, ``rsync -t``,
    unzip, ``touch -d``), changes its inode change time, which no tool can set back. The
    loader does not read such a file again to compute its digest, and a build whose landing
    files all have their recorded keys has nothing new.
    """
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}:{stat.st_dev}:{stat.st_ino}"


def file_digest(path: str | Path, label: str | None = None) -> tuple[str, int]:
    """(sha256 hex digest, size in bytes) of a file, read in blocks."""
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as handle:
            while block := handle.read(BLOCK_BYTES):
                digest.update(block)
                size += len(block)
    except OSError as exc:
        raise RawInputError(f"{label or path}: cannot read the file ({exc})") from exc
    return digest.hexdigest(), size


def _text_blocks(path: Path, encoding: str, label: str, sha256: str | None) -> Iterator[str]:
    """Decoded blocks of a file; with `sha256`, the bytes read must have that digest."""
    decoder = codecs.getincrementaldecoder(encoding)()
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while block := handle.read(BLOCK_BYTES):
                digest.update(block)
                yield decoder.decode(block)
        text = decoder.decode(b"", True)
    except OSError as exc:
        raise RawInputError(f"{label}: cannot read the file ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise RawInputError(f"{label}: cannot decode the file as {encoding} ({exc})") from exc
    if sha256 is not None and digest.hexdigest() != sha256:
        raise RawInputError(f"{label}: the file changed while it was being read")
    yield text


# --------------------------------------------------------------------------- formats


def _line_breaks(text: str) -> int:
    """Physical line breaks in a field, counted as ``StringIO(newline="")`` splits lines."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _key_value(value: Any, name: str) -> str | None:
    """A delivered key value as the key column reads it (trimmed text); None when blank or
    not readable as text."""
    out, bad = _convert_text([value], name)
    return None if bad else out[0]


def _csv_field_key(row: list[str], position: int, name: str) -> str | None:
    """The key of a CSV record of the wrong width: the field where the header places it."""
    return _key_value(row[position], name) if position < len(row) else None


_CSV_QUOTED_FIELD = re.compile(r'"(?:[^"]|"")*"')


def _csv_line_key(line: str, position: int, name: str) -> str | None:
    """The key of a CSV line that cannot be read as a record, read from that line alone.

    The fields are read from the start of the line as the strict reader reads them, and
    reading stops at the first one it cannot read: a quote that the line opens and never
    closes, or text after a closing quote. The key counts only when its field comes
    before that one and is not blank.
    """
    line = line.rstrip("\r\n")
    value = None
    start = 0
    for _ in range(position + 1):
        if start > len(line):
            return None  # the line has fewer fields
        if line.startswith('"', start):
            quoted = _CSV_QUOTED_FIELD.match(line, start)
            if quoted is None:
                return None  # a quote opened in this field and never closed on the line
            end = quoted.end()
            if end < len(line) and line[end] != ",":
                return None  # text after the closing quote
            value = line[start + 1 : end - 1].replace('""', '"')
        else:
            end = line.find(",", start)
            end = len(line) if end < 0 else end
            value = line[start:end]
        start = end + 1
    return _key_value(value, name)


def _csv_rows_in_bulk(
    lines: list[str],
    offset: int,
    width: int,
    key: tuple[int, str],
    file_name: str,
    record_text: Callable[[int, int], str],
    quarantined: list[QuarantineRecord],
) -> tuple[list[list[str]], list[int], list[int]] | None:
    """Fast path: all records of a chunk parsed in one C loop, line numbers worked out after.

    ``lines`` are the chunk's physical lines, the first being line ``offset + 1`` of the
    file. A record takes one physical line plus one per line break inside its quoted fields
    (blank lines are empty records of one line), so the line each record starts on follows
    from a running sum. None when the CSV module reports a malformed record (the
    record-by-record path then quarantines it) or the line count does not add up. ``key``
    is the key column's position in the header and its name.
    """
    try:
        rows = list(csv.reader(lines, strict=True))
    except csv.Error:
        return None
    count = len(rows)
    last_line = offset + len(lines)
    if count == len(lines):
        ends = list(range(offset + 1, last_line + 1))
        spans: list[int] | None = None
    else:
        joined = list(map("".join, rows))
        spans = [1] * count
        multi_line = map(
            operator.or_,
            map(operator.contains, joined, itertools.repeat("\n")),
            map(operator.contains, joined, itertools.repeat("\r")),
        )
        for index in itertools.compress(range(count), multi_line):
            spans[index] += _line_breaks(joined[index])
        ends = list(itertools.accumulate(spans, initial=offset))[1:]
        if (ends[-1] if ends else offset) != last_line:
            return None
    starts = ends if spans is None else list(map(operator.sub, ends, [s - 1 for s in spans]))
    if count and set(map(len, rows)) == {width}:
        return rows, starts, ends
    good_rows: list[list[str]] = []
    good_starts: list[int] = []
    good_ends: list[int] = []
    for row, start, end in zip(rows, starts, ends, strict=True):
        if len(row) == width:
            good_rows.append(row)
            good_starts.append(start)
            good_ends.append(end)
        elif not row or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line carries no record
        elif end > start:
            return None  # perhaps an unclosed quote: the record-by-record path resumes after it
        else:
            quarantined.append(
                QuarantineRecord(
                    file_name=file_name,
                    line_number=start,
                    reason=f"expected {width} fields as in the header, found {len(row)}",
                    record=record_text(start, end),
                    record_key=_csv_field_key(row, *key),
                )
            )
    return good_rows, good_starts, good_ends


def _csv_rows_by_record(
    lines: list[str],
    offset: int,
    width: int,
    key: tuple[int, str],
    file_name: str,
    record_text: Callable[[int, int], str],
    quarantined: list[QuarantineRecord],
    more: bool,
) -> tuple[list[list[str]], list[int], list[int], int]:
    """Record by record, tracking the physical line each starts and ends on.

    Returns the rows, their first and last lines, and how many of the chunk's lines were
    used: when more lines follow and the chunk ends inside a record, that record's lines
    are left for the next chunk.

    A malformed record that runs over several lines is most often a quote opened and never
    closed, which swallows every line after it up to the next quote or the end of the file.
    Only its first line is set aside then, and reading resumes on the next line: the lines
    it swallowed are records of their own and are read as such.

    A set-aside record carries its key (``key``: the key column's position in the header and
    its name) when the key can be read: from the record's fields when the record was read
    with the wrong width, from its first line alone when the record cannot be read at all.
    """
    reader = csv.reader(lines, strict=True)
    rows: list[list[str]] = []
    starts: list[int] = []
    ends: list[int] = []
    previous = offset

    def set_aside_first_line(start: int, reason: str) -> int:
        line = record_text(start, start)
        quarantined.append(
            QuarantineRecord(
                file_name=file_name,
                line_number=start,
                reason=f"{reason}; only this line is set aside, reading resumes on line "
                f"{start + 1}",
                record=line,
                record_key=_csv_line_key(line, *key),
            )
        )
        return start - offset  # the lines used: up to and including the first line

    while True:
        try:
            for row in reader:
                start = previous + 1
                previous = offset + reader.line_num
                if len(row) == width:
                    rows.append(row)
                    starts.append(start)
                    ends.append(previous)
                elif not row or (len(row) == 1 and not row[0].strip()):
                    continue  # a blank line carries no record
                elif previous > start:
                    used = set_aside_first_line(
                        start,
                        f"expected {width} fields as in the header, found {len(row)} in a "
                        f"record running to line {previous} (a quote opened on this line "
                        "may not be closed)",
                    )
                    return rows, starts, ends, used
                else:
                    quarantined.append(
                        QuarantineRecord(
                            file_name=file_name,
                            line_number=start,
                            reason=f"expected {width} fields as in the header, found {len(row)}",
                            record=record_text(start, previous),
                            record_key=_csv_field_key(row, *key),
                        )
                    )
            break
        except csv.Error as exc:
            start = previous + 1
            previous = offset + reader.line_num
            at_end = reader.line_num == len(lines)
            if more and at_end:
                return rows, starts, ends, start - 1 - offset  # finish it with the next chunk
            if previous > start:
                runs_to = "the end of the file" if at_end else f"line {previous}"
                used = set_aside_first_line(
                    start,
                    f"malformed CSV record: a quoted field opened on this line runs to "
                    f"{runs_to} ({exc})",
                )
                return rows, starts, ends, used
            record = record_text(start, previous)
            quarantined.append(
                QuarantineRecord(
                    file_name=file_name,
                    line_number=start,
                    reason=f"malformed CSV record ({exc})",
                    record=record,
                    record_key=_csv_line_key(record, *key),
                )
            )
    return rows, starts, ends, len(lines)


def _csv_chunks(
    source: Source, file_name: str, lines: _Lines, encoding: str, label: str, chunk_rows: int
) -> Iterator[ParsedFile]:
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise RawInputError(f"{label}: the header row cannot be parsed ({exc})") from exc
    if header is None or not any(cell.strip() for cell in header):
        raise RawInputError(f"{label}: the file is empty (no header row)")
    header = [cell.strip() for cell in header]
    missing = [name for name in source.column_names if name not in header]
    if missing:
        noun = "column" if len(missing) == 1 else "columns"
        raise RawInputError(f"{label}: header lacks {noun} {', '.join(missing)}")
    repeated = sorted({name for name in source.column_names if header.count(name) > 1})
    if repeated:
        raise RawInputError(f"{label}: header repeats column {', '.join(repeated)}")
    width = len(header)
    positions = [header.index(name) for name in source.column_names]
    key = (header.index(source.key), source.key)
    known = set(source.column_names)
    ignored = tuple(name for name in header if name not in known)

    offset = reader.line_num  # lines before the chunk (the header's, at first)
    carried: list[str] = []
    wanted = chunk_rows
    while True:
        chunk = carried + lines.take(wanted) if carried else lines.take(wanted)
        if not chunk:
            return
        more = not lines.at_end()

        def record_text(start: int, end: int, chunk: list[str] = chunk, base: int = offset) -> str:
            return "".join(chunk[start - 1 - base : end - base]).rstrip("\r\n")

        quarantined: list[QuarantineRecord] = []
        used = len(chunk)
        bulk = _csv_rows_in_bulk(chunk, offset, width, key, file_name, record_text, quarantined)
        if bulk is not None:
            rows, starts, ends = bulk
        else:
            quarantined.clear()
            rows, starts, ends, used = _csv_rows_by_record(
                chunk, offset, width, key, file_name, record_text, quarantined, more
            )
        # a record still open at the end of the chunk is read again with the next lines;
        # the next read grows with it, so an unclosed quote costs linear time, not quadratic
        carried = chunk[used:]
        wanted = max(chunk_rows, len(carried))
        offset += used
        if not rows and not quarantined:
            continue
        if rows:
            transposed = list(zip(*rows, strict=True))
            del rows
            raw_columns = {
                name: list(transposed[position])
                for name, position in zip(source.column_names, positions, strict=True)
            }
            del transposed
        else:
            raw_columns = {name: [] for name in source.column_names}
        yield _typed_columns(
            source,
            file_name,
            raw_columns,
            starts,
            lambda index, starts=starts, ends=ends, text=record_text: text(
                starts[index], ends[index]
            ),
            from_json=False,
            encoding=encoding,
            quarantined=quarantined,
            ignored_columns=ignored,
        )


def _json_objects_columns(source: Source, objects: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {
        name: list(map(dict.get, objects, itertools.repeat(name))) for name in source.column_names
    }


_JSON_DECODER = json.JSONDecoder()
_JSON_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _json_line_key(line: str, key: str) -> str | None:
    """The key of a JSONL line that is not valid JSON, when the members up to it are.

    The object is read member by member from its start and reading stops at the first
    member that cannot be read: a line cut short or broken after its key still names it.
    A member counts only once the ``,`` or ``}`` after it is read, so a value cut short
    (``"event_id": 12`` of ``123``) is not taken for the key.
    """
    skip = _JSON_WHITESPACE.match
    position = skip(line).end()
    if line[position : position + 1] != "{":
        return None
    position = skip(line, position + 1).end()
    found = None
    while True:
        try:
            name, position = _JSON_DECODER.raw_decode(line, position)
            position = skip(line, position).end()
            if name.__class__ is not str or line[position : position + 1] != ":":
                return found
            value, position = _JSON_DECODER.raw_decode(line, skip(line, position + 1).end())
        except ValueError:
            return found
        position = skip(line, position).end()
        after = line[position : position + 1]
        if after not in (",", "}"):
            return found
        if name == key:
            found = _key_value(value, key)
        if after == "}":
            return found
        position = skip(line, position + 1).end()


def _decode_lines(
    numbered: list[tuple[int, str]],
    file_name: str,
    key: str,
    quarantined: list[QuarantineRecord],
) -> list[tuple[tuple[int, str], Any]]:
    decoded: list[tuple[tuple[int, str], Any]] = []
    for number, line in numbered:
        try:
            decoded.append(((number, line), json.loads(line)))
        except ValueError as exc:
            quarantined.append(
                QuarantineRecord(
                    file_name,
                    number,
                    f"not valid JSON ({exc})",
                    line.rstrip("\r"),
                    record_key=_json_line_key(line, key),
                )
            )
    return decoded


_DIGITS_TO_ZERO = str.maketrans("123456789", "000000000")
_LONG_DIGIT_RUN = "0" * 19


def _loads_array(text: str) -> Any:
    """``json.loads`` of a JSON array; through orjson when it gives the very same values.

    orjson reads a whole chunk two to three times faster, but it refuses what ``json``
    accepts (NaN, Infinity, lone surrogates: then ``json`` reads the chunk) and turns
    integers beyond 64 bits into floats, so a chunk with a run of 19 or more digits
    anywhere is left to ``json`` too (every integer of up to 18 digits fits 64 bits).
    """
    if orjson is not None and _LONG_DIGIT_RUN not in text.translate(_DIGITS_TO_ZERO):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def _jsonl_chunk(
    source: Source, file_name: str, lines: list[str], offset: int, encoding: str
) -> ParsedFile:
    """One chunk of JSONL lines; the first is line ``offset + 1`` of the file."""
    while lines and not lines[-1]:
        lines = lines[:-1]  # empty lines carry no record; trailing ones would block the bulk
    quarantined: list[QuarantineRecord] = []
    count = len(lines)
    decoded = None
    # Fast path: every line is exactly `{...}` (no blank or padded lines): the chunk becomes
    # one JSON array decoded in a single call; the object count must equal the line count.
    # Anything else goes line by line.
    body = "\n".join(lines)
    if (
        body[:1] == "{"
        and body[-1:] == "}"
        and body.count("\n{") == count - 1
        and body.count("}\n") == count - 1
    ):
        try:
            decoded = _loads_array("[" + body.replace("\n", ",") + "]")
        except ValueError:
            decoded = None
    del body
    objects: list[dict[str, Any]] = []
    numbers: list[int] = []
    candidates: Iterable[tuple[tuple[int, str], Any]] = ()
    if decoded is not None and len(decoded) == count:
        if all(map(dict.__instancecheck__, decoded)):
            objects, numbers = decoded, list(range(offset + 1, offset + count + 1))
        else:
            candidates = zip(enumerate(lines, start=offset + 1), decoded, strict=True)
    else:
        numbered = [(n, line) for n, line in enumerate(lines, start=offset + 1) if line.strip()]
        candidates = _decode_lines(numbered, file_name, source.key, quarantined)
    for (number, line), obj in candidates:
        if obj.__class__ is dict:
            objects.append(obj)
            numbers.append(number)
        else:
            quarantined.append(
                QuarantineRecord(
                    file_name,
                    number,
                    f"expected a JSON object, found {type(obj).__name__}",
                    line.rstrip("\r"),
                )
            )
    raw_columns = _json_objects_columns(source, objects)
    del objects, decoded
    return _typed_columns(
        source,
        file_name,
        raw_columns,
        numbers,
        lambda index: lines[numbers[index] - 1 - offset],
        from_json=True,
        encoding=encoding,
        quarantined=quarantined,
    )


def _jsonl_chunks(
    source: Source, file_name: str, lines: _Lines, encoding: str, label: str, chunk_rows: int
) -> Iterator[ParsedFile]:
    # JSON strings cannot hold a raw line feed (nor a carriage return), so splitting on
    # line feeds finds every record, and a line feed is only ever a record separator.
    offset = 0
    while chunk := lines.take(chunk_rows):
        parsed = _jsonl_chunk(source, file_name, chunk, offset, encoding)
        offset += len(chunk)
        if parsed.row_count or parsed.quarantined:
            yield parsed


def _line_and_column(text: str, position: int) -> str:
    """Where a position of a text is, as ``line L, column C`` (both from 1)."""
    line = text.count("\n", 0, position) + 1
    column = position - text.rfind("\n", 0, position)
    return f"line {line}, column {column}"


def _json_syntax_error(
    label: str, text: str, position: int, problem: str | ValueError
) -> RawInputError:
    """The error for a `.json` file that is not valid JSON, naming where reading stopped:
    at ``position``, or where the decoder's own error says."""
    if isinstance(problem, json.JSONDecodeError):
        position, problem = problem.pos, problem.msg
    return RawInputError(
        f"{label}: not valid JSON at {_line_and_column(text, position)}: {problem}"
    )


def _json_kind(value: Any) -> str:
    if value.__class__ is dict:
        return "an object"
    if value.__class__ is str:
        return "a string"
    if value is None:
        return "null"
    if value.__class__ is bool:
        return "a boolean"
    return "a number"


def _parse_json_array(
    source: Source, file_name: str, text: str, encoding: str, label: str
) -> ParsedFile:
    """A `.json` file: one array of objects; each object's line is where it starts.

    A file that is not one JSON array fails whole; the error names the line and column
    where reading stopped and what was wrong there.
    """
    decoder = _JSON_DECODER
    whitespace = _JSON_WHITESPACE
    position = whitespace.match(text, 0).end()
    if position >= len(text):
        raise RawInputError(f"{label}: the file is empty (expected a JSON array of objects)")
    if text[position] != "[":
        try:
            value, _ = decoder.raw_decode(text, position)
        except ValueError as exc:
            raise _json_syntax_error(label, text, position, exc) from exc
        raise RawInputError(
            f"{label}: expected a JSON array of objects, found {_json_kind(value)} "
            f"at {_line_and_column(text, position)}"
        )
    position = whitespace.match(text, position + 1).end()
    objects: list[dict[str, Any]] = []
    numbers: list[int] = []
    spans: list[tuple[int, int]] = []
    quarantined: list[QuarantineRecord] = []
    line = 1
    counted_to = 0
    if position < len(text) and text[position] == "]":
        position += 1
    else:
        while True:
            line += text.count("\n", counted_to, position)
            counted_to = position
            try:
                obj, end = decoder.raw_decode(text, position)
            except ValueError as exc:
                raise _json_syntax_error(label, text, position, exc) from exc
            if obj.__class__ is dict:
                objects.append(obj)
                numbers.append(line)
                spans.append((position, end))
            else:
                quarantined.append(
                    QuarantineRecord(
                        file_name,
                        line,
                        f"expected a JSON object, found {type(obj).__name__}",
                        text[position:end],
                    )
                )
            position = whitespace.match(text, end).end()
            if position < len(text) and text[position] == ",":
                position = whitespace.match(text, position + 1).end()
                continue
            if position < len(text) and text[position] == "]":
                position += 1
                break
            if position >= len(text):
                problem = "the file ends before the array is closed (expected ',' or ']')"
            else:
                problem = f"expected ',' or ']' after an element, found {text[position]!r}"
            raise _json_syntax_error(label, text, position, problem)
    position = whitespace.match(text, position).end()
    if position < len(text):
        raise _json_syntax_error(label, text, position, "content after the end of the array")
    return _typed_columns(
        source,
        file_name,
        _json_objects_columns(source, objects),
        numbers,
        lambda index: text[spans[index][0] : spans[index][1]],
        from_json=True,
        encoding=encoding,
        quarantined=quarantined,
    )


def _json_array_chunks(
    source: Source, file_name: str, lines: _Lines, encoding: str, label: str, chunk_rows: int
) -> Iterator[ParsedFile]:
    # One JSON array is one value: it is decoded whole (the contract delivers CSV and JSONL;
    # `.json` exports are small).
    text = "".join(iter(lambda: "".join(lines.take(chunk_rows)), ""))
    parsed = _parse_json_array(source, file_name, text, encoding, label)
    if parsed.row_count or parsed.quarantined:
        yield parsed


_Splitter = Callable[[str, bool], tuple[list[str], str]]
_ChunkParser = Callable[[Source, str, _Lines, str, str, int], Iterator[ParsedFile]]
_CHUNK_PARSERS: dict[str, tuple[_ChunkParser, _Splitter]] = {
    "csv": (_csv_chunks, _split_universal),
    "jsonl": (_jsonl_chunks, _split_line_feeds),
    "json": (_json_array_chunks, _split_universal),
}


def _chunk_parser(fmt: str, label: str) -> tuple[_ChunkParser, _Splitter]:
    found = _CHUNK_PARSERS.get(fmt)
    if found is None:
        raise RawInputError(f"{label}: unknown file format {fmt!r} (expected csv, jsonl or json)")
    return found


def parse_text_chunks(
    source: Source | str,
    file_name: str,
    blocks: Iterable[str],
    *,
    encoding: str,
    file_format: str | None = None,
    label: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[ParsedFile]:
    """Parse decoded text, given as consecutive blocks, into chunks of at most about
    ``chunk_rows`` records each (a chunk holds the records of ``chunk_rows`` physical lines,
    a little more when a record spans the chunk's end). Line numbers count from the start
    of the file; only chunks with rows or quarantine records are yielded.
    """
    src = SOURCES_BY_NAME[source] if isinstance(source, str) else source
    label = label or file_name
    fmt = (file_format or file_name.rsplit(".", 1)[-1]).lower()
    parser, split = _chunk_parser(fmt, label)
    return parser(src, file_name, _Lines(blocks, split), encoding, label, chunk_rows)


def read_file_chunks(
    landing_file: LandingFile,
    landing_dir: str | Path,
    *,
    encoding: str | None = None,
    sha256: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[ParsedFile]:
    """Read one discovered file in chunks, never holding the whole file.

    ``encoding`` defaults to what ``detect_encoding`` finds; with ``sha256``, a file whose
    bytes no longer have that digest by the end of the read raises ``RawInputError``.
    Refuses a file whose real path is outside the landing root.
    """
    path = check_inside_landing(landing_file.path, landing_dir)
    label = str(landing_file.path)
    parser, split = _chunk_parser(landing_file.file_format, label)
    encoding = encoding or detect_encoding(
        path, label, only_utf8=utf8_only(landing_file.file_format)
    )
    source = SOURCES_BY_NAME[landing_file.source]
    blocks = _text_blocks(path, encoding, label, sha256)
    return parser(
        source, landing_file.file_name, _Lines(blocks, split), encoding, label, chunk_rows
    )


def _merge(
    source: Source, file_name: str, encoding: str, chunks: Iterable[ParsedFile]
) -> ParsedFile:
    """One ParsedFile from a file's chunks (in file order, so quarantine stays line-sorted)."""
    merged = ParsedFile(
        source=source,
        file_name=file_name,
        encoding=encoding,
        columns={name: [] for name in source.column_names},
        line_numbers=[],
    )
    for chunk in chunks:
        for name, values in chunk.columns.items():
            merged.columns[name].extend(values)
        merged.line_numbers.extend(chunk.line_numbers)
        merged.quarantined.extend(chunk.quarantined)
        merged.ignored_columns = chunk.ignored_columns
    return merged


def parse_bytes(
    source: Source | str,
    file_name: str,
    data: bytes,
    *,
    file_format: str | None = None,
    label: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> ParsedFile:
    """Decode and parse one file's content; the format defaults to the name's extension.

    ``label`` is how error messages name the file (defaults to ``file_name``).
    """
    src = SOURCES_BY_NAME[source] if isinstance(source, str) else source
    label = label or file_name
    fmt = (file_format or file_name.rsplit(".", 1)[-1]).lower()
    _chunk_parser(fmt, label)
    text, encoding = decode(data, label, only_utf8=utf8_only(fmt))
    chunks = parse_text_chunks(
        src,
        file_name,
        [text],
        encoding=encoding,
        file_format=fmt,
        label=label,
        chunk_rows=chunk_rows,
    )
    return _merge(src, file_name, encoding, chunks)


def read_file(
    landing_file: LandingFile, landing_dir: str | Path, *, chunk_rows: int = CHUNK_ROWS
) -> ParsedFile:
    """Read one discovered file whole; refuses a file whose real path is outside the landing
    root. The loader reads files chunk by chunk with ``read_file_chunks`` instead.
    """
    path = check_inside_landing(landing_file.path, landing_dir)
    label = str(landing_file.path)
    encoding = detect_encoding(path, label, only_utf8=utf8_only(landing_file.file_format))
    source = SOURCES_BY_NAME[landing_file.source]
    chunks = read_file_chunks(landing_file, landing_dir, encoding=encoding, chunk_rows=chunk_rows)
    return _merge(source, landing_file.file_name, encoding, chunks)
