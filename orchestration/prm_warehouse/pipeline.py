"""Run the warehouse job in this process and say plainly whether it worked.

The command line and the end-to-end tests both go through :func:`run_build`, so what a
user runs is what the tests prove.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from .automation import warehouse_tags
from .dbt_results import (
    CONTINUATION,
    DbtNodeFailure,
    errors_in_step_failure,
    node_failures,
    read_run_results,
    skipped_node_count,
)
from .locking import warehouse_write_lock
from .settings import PROJECT_ROOT, Settings

logger = logging.getLogger(__name__)

DAGSTER_HOME_DIR = PROJECT_ROOT / ".dagster_home"


@dataclass(frozen=True)
class CheckFailure:
    asset: str
    check: str
    severity: str
    description: str


@dataclass
class BuildOutcome:
    run_id: str
    success: bool
    failed_steps: list[str] = field(default_factory=list)
    failed_checks: list[CheckFailure] = field(default_factory=list)
    warned_checks: list[CheckFailure] = field(default_factory=list)
    skipped_steps: list[str] = field(default_factory=list)
    materialized: list[str] = field(default_factory=list)
    # What dbt reported for the nodes it could not build (its run_results.json), and how many
    # nodes it skipped because of them.
    dbt_failures: list[DbtNodeFailure] = field(default_factory=list)
    dbt_skipped: int = 0

    def reasons(self) -> list[str]:
        """Why the build failed, most specific first: dbt's errors of the models it could not
        build, the failed checks (a failed dbt test is one), the dbt failures that are no
        check, then the failed steps. A reason may continue on indented lines."""
        checks = {f.check for f in self.failed_checks}
        dbt_errors = [f for f in self.dbt_failures if f.resource_type != "test"]
        dbt_tests = [
            f for f in self.dbt_failures if f.resource_type == "test" and f.name not in checks
        ]
        lines = [f.describe() for f in dbt_errors]
        lines += [
            f"check {f.check} on {f.asset} failed ({f.severity}): {f.description}"
            for f in self.failed_checks
        ]
        lines += [f.describe() for f in dbt_tests]
        if self.dbt_skipped:
            lines.append(f"dbt skipped {self.dbt_skipped} nodes that depend on these failures")
        lines += [f"step {step}" for step in self.failed_steps]
        if self.skipped_steps and not self.success:
            lines.append(
                "not run because an upstream step or blocking check failed: "
                + _first_names(sorted(self.skipped_steps))
            )
        return lines


# Steps named in the summary's not-run line; the run's page in the Dagster UI lists them all.
NOT_RUN_NAMES_SHOWN = 5


def _first_names(names: list[str], limit: int = NOT_RUN_NAMES_SHOWN) -> str:
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit} more"


def project_instance() -> dg.DagsterInstance:
    """The Dagster instance of the project folder (runs show in ``dagster dev``).

    ``DAGSTER_HOME`` wins when set; otherwise ``.dagster_home/`` in the project. Either folder
    gets the project's ``dagster.yaml`` (run queue, retries, storage, no telemetry) when it
    has none: without it Dagster would fall back to its defaults. A ``DAGSTER_HOME`` that
    brings its own ``dagster.yaml`` keeps it; ``.dagster_home/`` always follows the project's.
    """
    project_config = PROJECT_ROOT / "dagster.yaml"
    external = os.environ.get("DAGSTER_HOME")
    home = Path(external) if external else DAGSTER_HOME_DIR
    config = home / "dagster.yaml"
    if project_config.exists():
        if not config.exists():
            home.mkdir(parents=True, exist_ok=True)
            config.write_bytes(project_config.read_bytes())
            if external:
                logger.info("wrote the project's dagster.yaml to DAGSTER_HOME=%s", home)
        elif not external and config.read_bytes() != project_config.read_bytes():
            config.write_bytes(project_config.read_bytes())
    os.environ["DAGSTER_HOME"] = os.fspath(home)
    return dg.DagsterInstance.get()


# Tags of a build run: which process on which machine runs it (see fail_abandoned_runs).
TAG_PID = "prm/pid"
TAG_HOST = "prm/host"


def _process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # a process of another user has that id now
        return False
    return False


def fail_abandoned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark as failed the build runs whose process on this machine ended mid-run (killed).

    Such a run stays STARTED for ever, and the run queue (one warehouse-writing run at a
    time, ``dagster.yaml``) would count it as running and never launch another. Called with
    the warehouse write lock held, when no build of this machine can be running.
    """
    host = socket.gethostname()
    abandoned = []
    for run in instance.get_runs(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED], tags={TAG_HOST: host})
    ):
        pid = run.tags.get(TAG_PID, "")
        if pid.isdigit() and int(pid) != os.getpid() and _process_is_gone(int(pid)):
            instance.report_run_failed(
                run, message=f"the process running it (pid {pid}) ended without finishing"
            )
            abandoned.append(run.run_id)
    if abandoned:
        logger.warning(
            "%d run(s) left STARTED by a build that was killed marked as failed: %s",
            len(abandoned),
            ", ".join(abandoned),
        )
    return abandoned


def _check_failure(evaluation: dg.AssetCheckEvaluation) -> CheckFailure:
    description = (evaluation.description or "").strip()
    if not description:
        # A dbt test reports its failing rows as metadata, not as a description.
        failing = evaluation.metadata.get("dagster_dbt/failed_row_count")
        count = getattr(failing, "value", failing)
        if count is not None:
            description = (
                "1 row fails this dbt test" if count == 1 else f"{count} rows fail this dbt test"
            )
    return CheckFailure(
        asset=evaluation.asset_key.to_user_string(),
        check=evaluation.check_name,
        severity=evaluation.severity.value,
        description=description,
    )


def _is_dbt_failure(event: dg.DagsterEvent) -> bool:
    """A step that failed because its dbt invocation failed (dagster-dbt's error)."""
    failure = event.step_failure_data
    error = failure.error if failure else None
    while error is not None:
        if error.cls_name == "DagsterDbtCliRuntimeError":
            return True
        error = error.cause
    return False


def _root_cause(event: dg.DagsterEvent) -> str:
    """The user's error of a failed step, not Dagster's wrapper.

    The description of a ``dg.Failure`` the asset raised (it names the file and the cause),
    otherwise the innermost error of the chain. For a failed dbt invocation, whose
    description starts with dagster-dbt's wrapper, the error lines of dbt's log that
    dagster-dbt copied into it.
    """
    failure = event.step_failure_data
    user_failure = failure.user_failure_data if failure else None
    if user_failure is not None and (user_failure.description or "").strip():
        dbt_errors = errors_in_step_failure(user_failure.description)
        if dbt_errors:
            return CONTINUATION.join(["dbt failed:", *dbt_errors])
        return user_failure.description.strip().splitlines()[0]
    error = failure.error if failure else None
    if error is None:
        return event.message or "failed"
    while error.cause is not None:
        error = error.cause
    lines = [line for line in error.message.splitlines() if line.strip()]
    return lines[0].strip() if lines else error.cls_name


def _failed_by_its_checks(event: dg.DagsterEvent) -> bool:
    """A step that failed only because a blocking check of its own failed: the failed check
    is reported, with its reason, instead."""
    failure = event.step_failure_data
    error = failure.error if failure else None
    return error is not None and error.cls_name == "DagsterAssetCheckFailedError"


def outcome_of(
    result: dg.ExecuteInProcessResult,
    *,
    dbt_failures: Sequence[DbtNodeFailure] = (),
    dbt_skipped: int = 0,
) -> BuildOutcome:
    """What the run did. `dbt_failures` and `dbt_skipped` are what dbt reported for the
    run's own invocation (``dbt_results_of``): with them, a failed dbt step is explained
    by the nodes that failed instead of dagster-dbt's wrapper."""
    failed_checks: list[CheckFailure] = []
    warned_checks: list[CheckFailure] = []
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed:
            continue
        if evaluation.severity == dg.AssetCheckSeverity.ERROR:
            failed_checks.append(_check_failure(evaluation))
        else:
            warned_checks.append(_check_failure(evaluation))
    failed_steps = [
        f"{event.step_key}: {_root_cause(event)}"
        for event in result.get_step_failure_events()
        if not _failed_by_its_checks(event) and not (dbt_failures and _is_dbt_failure(event))
    ]
    # Steps skipped, and steps never started because a step or blocking check before them
    # failed (Dagster logs "Not executing" for those instead of a skip event).
    started = {
        event.step_key
        for event in result.all_events
        if event.step_key and event.event_type_value == "STEP_START"
    }
    skipped = sorted(
        {event.step_key for event in result.get_step_skipped_events() if event.step_key}
        | {node.name for node in result.job_def.nodes if node.name not in started}
    )
    materialized = sorted(
        {
            event.asset_key.to_user_string()
            for event in result.get_asset_materialization_events()
            if event.asset_key is not None
        }
    )
    return BuildOutcome(
        run_id=result.run_id,
        success=result.success and not failed_checks and not failed_steps,
        failed_steps=failed_steps,
        failed_checks=failed_checks,
        warned_checks=warned_checks,
        skipped_steps=skipped,
        materialized=materialized,
        dbt_failures=list(dbt_failures),
        dbt_skipped=dbt_skipped if dbt_failures else 0,
    )


def _dbt_invocation_ids(result: dg.ExecuteInProcessResult) -> set[str]:
    """The dbt invocations the run's dbt events came from (dagster-dbt's metadata)."""
    metadata = [evaluation.metadata for evaluation in result.get_asset_check_evaluations()]
    metadata += [
        event.step_materialization_data.materialization.metadata
        for event in result.get_asset_materialization_events()
    ]
    ids = set()
    for entries in metadata:
        value = entries.get("invocation_id")
        if value is not None:
            ids.add(str(getattr(value, "value", value)))
    return ids


def dbt_results_of(
    result: dg.ExecuteInProcessResult, started_at: dt.datetime
) -> tuple[list[DbtNodeFailure], int]:
    """The dbt nodes that failed in the run's dbt invocation, and how many dbt skipped.

    Read from the dbt target folder while the build still holds its lock, and only when a
    step of the run failed in dbt and the folder's results are the run's own (an invocation
    started after `started_at`, named by the run's dbt events when they name one).
    """
    from .dbt_manifest import TARGET_DIR

    if not any(_is_dbt_failure(event) for event in result.get_step_failure_events()):
        return [], 0
    invocation_ids = _dbt_invocation_ids(result)
    found = read_run_results(TARGET_DIR, started_after=started_at, invocation_ids=invocation_ids)
    if found is None:
        logger.info(
            "no dbt results of this run's invocation (%s) in %s",
            ", ".join(sorted(invocation_ids)) or "id unknown",
            TARGET_DIR,
        )
        return [], 0
    run_results, manifest = found
    failures = node_failures(run_results, manifest)
    skipped = skipped_node_count(run_results)
    logger.info(
        "dbt invocation %s: %d nodes failed, %d skipped",
        run_results["metadata"].get("invocation_id"),
        len(failures),
        skipped,
    )
    return failures, skipped


def run_build(
    settings: Settings,
    *,
    full_refresh: bool = False,
    instance: dg.DagsterInstance | None = None,
    console_log_level: str = "INFO",
) -> BuildOutcome:
    """Materialize every asset of the warehouse job in this process.

    Holds the warehouse write lock for the whole run: a second build waits for the first.
    """
    from .dbt_manifest import dbt_target_lock, ensure_manifest

    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    run_config = {
        "ops": {"dbt_models": {"config": {"full_refresh": full_refresh}}},
        # Step-by-step engine events (DEBUG) stay in the run's event log (Dagster UI) unless
        # the console asks for them.
        "loggers": {"console": {"config": {"log_level": console_log_level}}},
    }
    started_at = dt.datetime.now(dt.UTC)
    with warehouse_write_lock(settings.warehouse_path), dbt_target_lock():
        # Models or seeds may have changed since the last parse; parsing in the build's
        # own environment lets the dbt build below reuse this parse.
        ensure_manifest(
            force=True,
            as_of_date=settings.as_of_date.isoformat(),
            warehouse_path=str(settings.warehouse_path),
        )
        from .definitions import build_definitions  # imported late: it loads the manifest

        job = build_definitions(settings).resolve_job_def("build_warehouse")
        instance = instance if instance is not None else project_instance()
        fail_abandoned_runs(instance)
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            raise_on_error=False,
            tags={
                TAG_PID: str(os.getpid()),
                TAG_HOST: socket.gethostname(),
                **warehouse_tags(settings),
            },
        )
        dbt_failures, dbt_skipped = dbt_results_of(result, started_at)
    outcome = outcome_of(result, dbt_failures=dbt_failures, dbt_skipped=dbt_skipped)
    logger.info(
        "run %s: %s; %d assets materialized, %d checks failed, %d warned, %d steps skipped",
        outcome.run_id,
        "succeeded" if outcome.success else "FAILED",
        len(outcome.materialized),
        len(outcome.failed_checks),
        len(outcome.warned_checks),
        len(outcome.skipped_steps),
    )
    return outcome


def landing_has_exports(landing_dir: Path) -> bool:
    return landing_dir.is_dir() and any(p.is_file() for p in landing_dir.glob("*/*"))
