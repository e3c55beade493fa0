"""The console logger of the build's Dagster runs: one event a line, without repeats.

Dagster's own console logger prints a failed step's stack trace and, for every step that
did not run because of it, one more error line. The build's closing summary already names
the failure and lists the steps that did not run, so below DEBUG this logger prints the
first line of a failure's error (its stack trace stays in the run's event log, shown in the
Dagster UI and printed with ``prm-warehouse -v``) and leaves out the not-executing lines.
"""

from __future__ import annotations

import logging
import re

import dagster as dg

STACK_TRACE_MARK = "Stack Trace:"
_TRACE_HEADINGS = {
    "Stack Trace:",
    "The above exception was caused by the following exception:",
    "The above exception occurred during handling of the following exception:",
}
STACK_TRACE_NOTE = " (stack trace in the run's event log; `prm-warehouse -v build` prints it)"
_NOT_EXECUTING = re.compile(
    r"Dependencies for step \S+ (failed|were not executed): .*\. Not executing\.$", re.DOTALL
)
FORMAT = "%(asctime)s - dagster - %(levelname)s - %(message)s"


class ShortEvents(logging.Filter):
    """Drops the not-executing lines and the stack traces of failure messages."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _NOT_EXECUTING.search(message):
            return False
        if STACK_TRACE_MARK in message:
            record.msg = without_stack_traces(message) + STACK_TRACE_NOTE
            record.args = ()
        return True


def without_stack_traces(message: str) -> str:
    """The message's own lines and its errors' (``Error: text``), without the frames."""
    kept = [
        line
        for line in message.splitlines()
        if line.strip()
        and not line[0].isspace()  # a frame: "  File ...", then its source line
        and line.strip() not in _TRACE_HEADINGS
    ]
    return "\n".join(kept)


@dg.logger(
    config_schema={
        "log_level": dg.Field(
            str, is_required=False, default_value="INFO", description="The logger's threshold."
        )
    },
    description="Console: one line per event; stack traces and not-executing lines at DEBUG.",
)
def console_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    level = logging.getLevelName(init_context.logger_config["log_level"].upper())
    log = logging.Logger("dagster", level=level)  # not registered: one per run
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    if level > logging.DEBUG:
        handler.addFilter(ShortEvents())
    log.addHandler(handler)
    return log
