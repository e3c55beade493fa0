"""What dbt said about the nodes a build could not build, in the words of a build's summary.

A failed ``dbt build`` ends the Dagster step with dagster-dbt's wrapper ("The dbt CLI process
with command ... failed"), while dbt's own messages (a model's compilation error that names
the unknown status label and its file, the failing test and its row count) are in the dbt
log. dbt also writes them, one result per node, to ``run_results.json`` in its target
folder: :func:`read_run_results` reads that file when it is the build's own, and
:func:`node_failures` turns each model, seed or snapshot that errored and each test that
failed or errored into one :class:`DbtNodeFailure`. When no such file is at hand,
:func:`errors_in_step_failure` takes the error lines dagster-dbt copied from dbt's log into
the step's failure.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUN_RESULTS_FILE = "run_results.json"
MANIFEST_FILE = "manifest.json"
# Lines of a dbt message kept in the summary; the dbt log holds the rest.
MAX_MESSAGE_LINES = 6
# Continuation lines of a reason are indented under the reason's first line.
CONTINUATION = "\n    "
# What dagster-dbt puts before the error lines it copies from dbt's log.
DBT_LOG_ERRORS_HEADING = "Errors parsed from dbt logs:"

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
# "Compilation Error in model int_x (../models/int_x.sql)": dbt's heading of a node's error
_ERROR_HEADING = re.compile(r"^(?P<kind>[\w ]*Error) in \w+ \S+ \(.*\)$")
_FAILED_STATUSES = {"error", "fail"}


@dataclass(frozen=True)
class DbtNodeFailure:
    """A dbt node that did not build: a model, seed or snapshot error, or a failed test."""

    unique_id: str
    resource_type: str  # model, seed, snapshot or test
    name: str
    status: str  # error, or fail for a test whose rows fail it
    relation: str  # <schema>.<name> of the node, or of the models a test reads
    column: str | None  # the column a generic test checks
    failures: int | None  # failing rows of a test
    message: tuple[str, ...]  # dbt's message, bounded to MAX_MESSAGE_LINES

    def describe(self) -> str:
        """One reason of the build's summary; a long dbt message continues on indented lines."""
        if self.resource_type == "test":
            target = self.relation + (f".{self.column}" if self.column else "")
            head = f"dbt test {self.name} on {target}"
            if self.status == "fail" and self.failures is not None:
                return f"{head} failed: {failing_rows(self.failures)}"
            return CONTINUATION.join([f"{head} could not run:", *self.message])
        head = f"dbt {self.resource_type} {self.relation} failed"
        if not self.message:
            return head
        return CONTINUATION.join([f"{head}: {self.message[0]}", *self.message[1:]])


def failing_rows(count: int) -> str:
    return "1 failing row" if count == 1 else f"{count} failing rows"


def readable_lines(text: str) -> list[str]:
    """The lines of a dbt message worth reading: no colour codes, no blank lines and no macro
    call trace (``> in macro ...``)."""
    lines = (line.strip() for line in _ANSI_ESCAPE.sub("", text).splitlines())
    return [line for line in lines if line and not line.startswith("> ")]


def bounded(lines: list[str], limit: int = MAX_MESSAGE_LINES) -> tuple[str, ...]:
    """At most `limit` lines; the last then says how many more the dbt log holds."""
    if len(lines) <= limit:
        return tuple(lines)
    return (*lines[: limit - 1], f"... {len(lines) - (limit - 1)} more lines in the dbt log")


def _message(text: str) -> tuple[str, ...]:
    """dbt's message of an errored node, bounded, its heading ("Compilation Error in model x
    (path)") shortened to the kind of error: the node is named by the reason already."""
    lines = readable_lines(text)
    heading = _ERROR_HEADING.match(lines[0]) if len(lines) > 1 else None
    if heading:
        lines = [f"{heading['kind']}: {lines[1]}", *lines[2:]]
    return bounded(lines)


def _relation(node: Mapping[str, Any]) -> str:
    return f"{node.get('schema')}.{node.get('name')}"


def _tested_relation(test: Mapping[str, Any], nodes: Mapping[str, Any]) -> str:
    """The model a test is attached to, or every model a singular test reads."""
    attached = test.get("attached_node")
    read = [attached] if attached else test.get("depends_on", {}).get("nodes", [])
    relations = [_relation(nodes[uid]) for uid in read if uid in nodes]
    return ", ".join(relations) or "(no model)"


def node_failures(
    run_results: Mapping[str, Any], manifest: Mapping[str, Any]
) -> list[DbtNodeFailure]:
    """Every node of a dbt invocation that errored, and every test that failed, in run order.

    Tests of severity warn that found rows (status ``warn``) and skipped nodes are not
    failures: the warning is reported as such, and a skip follows from a failure listed here.
    """
    nodes = manifest.get("nodes", {})
    failures = []
    for result in run_results.get("results", []):
        if result.get("status") not in _FAILED_STATUSES:
            continue
        unique_id = result["unique_id"]
        node = nodes.get(unique_id, {})
        resource_type = node.get("resource_type") or unique_id.split(".", 1)[0]
        is_test = resource_type == "test"
        failures.append(
            DbtNodeFailure(
                unique_id=unique_id,
                resource_type=resource_type,
                name=node.get("name") or unique_id.rsplit(".", 1)[-1],
                status=result["status"],
                relation=_tested_relation(node, nodes) if is_test else _relation(node),
                column=node.get("column_name") if is_test else None,
                failures=result.get("failures") if is_test else None,
                message=_message(result.get("message") or ""),
            )
        )
    return failures


def skipped_node_count(run_results: Mapping[str, Any]) -> int:
    return sum(1 for result in run_results.get("results", []) if result.get("status") == "skipped")


def read_run_results(
    target_dir: Path,
    *,
    started_after: dt.datetime,
    invocation_ids: Collection[str] = (),
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``run_results.json`` and ``manifest.json`` of the target folder, when they belong to the
    dbt invocation of the build that called this; None otherwise.

    The build's own results are those of an invocation started after the build started (the
    caller holds the target folder's lock, so no other build wrote in between) and, when the
    build's events name the invocation (dagster-dbt puts its id in their metadata), of that
    invocation. A build that failed before dbt ran, or a dbt that stopped before writing its
    results, leaves an older file: it is not read as this build's.
    """
    try:
        run_results = json.loads((target_dir / RUN_RESULTS_FILE).read_text(encoding="utf-8"))
        manifest = json.loads((target_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    metadata = run_results.get("metadata", {})
    started = metadata.get("invocation_started_at") or metadata.get("generated_at")
    try:
        invocation_started = dt.datetime.fromisoformat(started.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    if invocation_started.tzinfo is None:
        invocation_started = invocation_started.replace(tzinfo=dt.UTC)
    if invocation_started < started_after:
        return None
    if invocation_ids and metadata.get("invocation_id") not in invocation_ids:
        return None
    return run_results, manifest


def errors_in_step_failure(description: str) -> list[str]:
    """The dbt error lines dagster-dbt copied into a failed dbt step's description, bounded;
    empty when the description holds none."""
    _, found, errors = description.partition(DBT_LOG_ERRORS_HEADING)
    if not found:
        return []
    return list(bounded(readable_lines(errors)))
