"""The raw input contract as data: every source, its kind, format and typed columns.

The loaders, the sample-data generator, the dbt sources and the test fixtures all read
this one description. Column kinds decide how a delivered value is parsed and what the
column's type is in the `raw` schema:

- ``id``: identifier, kept as text as delivered but for surrounding white space (never cast
  to a number: leading zeros stay);
- ``text``: free text, trimmed;
- ``timestamp``: an instant, stored as UTC-aware ``timestamptz``; CSV values carry no
  offset and are Japan time, JSON values carry an offset;
- ``date``: a calendar date;
- ``bool``: ``true/false``, ``TRUE/FALSE``, ``1/0`` or ``○/×``;
- ``int`` / ``number``: whole or decimal numbers.

Every raw table also has the lineage columns ``_file_name``, ``_export_date``,
``_line_number`` and ``_loaded_at`` (see ``LINEAGE_COLUMNS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SourceKind = Literal["snapshot", "events"]
FileFormat = Literal["csv", "jsonl"]
ColumnKind = Literal["id", "text", "timestamp", "date", "bool", "int", "number"]

RAW_SCHEMA = "raw"
QUARANTINE_TABLE = "_quarantine"
MANIFEST_TABLE = "_load_manifest"
WITHDRAWALS_TABLE = "_withdrawals"

DUCKDB_TYPES: dict[ColumnKind, str] = {
    "id": "varchar",
    "text": "varchar",
    "timestamp": "timestamptz",
    "date": "date",
    "bool": "boolean",
    "int": "bigint",
    "number": "double",
}

# (name, duckdb type) of the columns the loader adds to every raw table.
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_file_name", "varchar"),  # file name inside the source's landing folder
    ("_export_date", "date"),  # the export date in the file name (Japan time)
    ("_line_number", "integer"),  # physical line where the record starts; CSV header is 1
    ("_loaded_at", "timestamptz"),
)


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind
    required: bool = False  # a row without a value goes to quarantine

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.kind]


@dataclass(frozen=True)
class Source:
    name: str
    kind: SourceKind
    format: FileFormat
    key: str  # the column that identifies a record (event id or entity id)
    columns: tuple[Column, ...]
    description: str

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")


def _c(name: str, kind: ColumnKind = "text", required: bool = False) -> Column:
    return Column(name=name, kind=kind, required=required)


SOURCES: tuple[Source, ...] = (
    Source(
        name="partners",
        kind="snapshot",
        format="csv",
        key="partner_id",
        description="Accounting firms in the partner programme.",
        columns=(
            _c("partner_id", "id", required=True),
            _c("partner_name"),
            _c("prefecture"),
            _c("office_size_band"),
            _c("advisor_rank", "int"),
            _c("joined_program_on", "date"),
            _c("updated_at", "timestamp"),
        ),
    ),
    Source(
        name="partner_users",
        kind="snapshot",
        format="csv",
        key="user_id",
        description="Individual people at the firms.",
        columns=(
            _c("user_id", "id", required=True),
            _c("partner_id", "id", required=True),
            _c("full_name"),
            _c("email"),
            _c("job_role"),
            _c("is_certified", "bool"),
            _c("account_issued_at", "timestamp"),
            _c("status"),
            _c("updated_at", "timestamp"),
        ),
    ),
    Source(
        name="deals",
        kind="snapshot",
        format="csv",
        key="deal_id",
        description="Deals that people at the firms registered.",
        columns=(
            _c("deal_id", "id", required=True),
            _c("partner_id", "id", required=True),
            _c("owner_user_id", "id", required=True),
            _c("client_name"),
            _c("client_industry"),
            _c("client_size_band"),
            _c("product_plan"),
            _c("status", required=True),
            _c("approach_planned_on", "date"),
            _c("registered_at", "timestamp", required=True),
            _c("updated_at", "timestamp", required=True),
            _c("lost_reason"),
            _c("expected_mrr", "number"),
        ),
    ),
    Source(
        name="deal_status_events",
        kind="events",
        format="csv",
        key="event_id",
        description="Every status change of a deal.",
        columns=(
            _c("event_id", "id", required=True),
            _c("deal_id", "id", required=True),
            _c("status", required=True),
            _c("changed_at", "timestamp", required=True),
            _c("changed_by_user_id", "id"),
        ),
    ),
    Source(
        name="logins",
        kind="events",
        format="jsonl",
        key="event_id",
        description="Portal logins.",
        columns=(
            _c("event_id", "id", required=True),
            _c("user_id", "id", required=True),
            _c("occurred_at", "timestamp", required=True),
            _c("device"),
        ),
    ),
    Source(
        name="content_views",
        kind="events",
        format="jsonl",
        key="event_id",
        description="Views and downloads of portal materials.",
        columns=(
            _c("event_id", "id", required=True),
            _c("user_id", "id", required=True),
            _c("content_id", "id", required=True),
            _c("occurred_at", "timestamp", required=True),
            _c("action"),
            _c("duration_sec", "number"),
        ),
    ),
    Source(
        name="contents",
        kind="snapshot",
        format="csv",
        key="content_id",
        description="The portal's materials.",
        columns=(
            _c("content_id", "id", required=True),
            _c("title"),
            _c("content_type"),
            _c("industry"),
            _c("topic"),
            _c("published_at", "timestamp"),
        ),
    ),
    Source(
        name="courses",
        kind="snapshot",
        format="csv",
        key="course_id",
        description="E-learning courses.",
        columns=(
            _c("course_id", "id", required=True),
            _c("title"),
            _c("lesson_count", "int"),
            _c("is_required", "bool"),
        ),
    ),
    Source(
        name="lesson_completions",
        kind="events",
        format="jsonl",
        key="event_id",
        description="E-learning lesson completions.",
        columns=(
            _c("event_id", "id", required=True),
            _c("user_id", "id", required=True),
            _c("course_id", "id", required=True),
            _c("lesson_id", "id", required=True),
            _c("completed_at", "timestamp", required=True),
        ),
    ),
    Source(
        name="quizzes",
        kind="snapshot",
        format="csv",
        key="quiz_id",
        description="Online comprehension tests.",
        columns=(
            _c("quiz_id", "id", required=True),
            _c("course_id", "id"),
            _c("title"),
            _c("max_score", "number"),
            _c("pass_score", "number"),
        ),
    ),
    Source(
        name="quiz_attempts",
        kind="events",
        format="csv",
        key="attempt_id",
        description="Quiz attempts and their scores.",
        columns=(
            _c("attempt_id", "id", required=True),
            _c("user_id", "id", required=True),
            _c("quiz_id", "id", required=True),
            _c("submitted_at", "timestamp", required=True),
            _c("score", "number", required=True),
        ),
    ),
)

SOURCES_BY_NAME: dict[str, Source] = {source.name: source for source in SOURCES}
