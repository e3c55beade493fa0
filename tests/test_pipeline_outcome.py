"""What a build reports when it fails: the user's error and the failed check, not a wrapper."""

import os

import dagster as dg

from prm_warehouse.console import STACK_TRACE_NOTE, console_logger
from prm_warehouse.pipeline import outcome_of


def _run(*assets: dg.AssetsDefinition, checks=(), loggers=None) -> dg.ExecuteInProcessResult:
    defs = dg.Definitions(
        assets=list(assets),
        asset_checks=list(checks),
        jobs=[dg.define_asset_job("build", selection="*")],
        loggers=loggers,  # the jobs' loggers (the console's, say)
    )
    job = defs.resolve_job_def("build")
    # as the build configures it: a logger named in the run config is the one that runs
    run_config = {"loggers": {name: {"config": {"log_level": "INFO"}} for name in loggers or {}}}
    return job.execute_in_process(
        run_config=run_config, raise_on_error=False, instance=dg.DagsterInstance.ephemeral()
    )


def test_a_failed_step_names_the_error_of_the_asset() -> None:
    @dg.asset(key=["raw", "quiz_attempts"])
    def quiz_attempts() -> None:
        raise ValueError("quiz_attempts_20261031.csv: cannot decode the file: not UTF-8")

    outcome = outcome_of(_run(quiz_attempts))

    assert not outcome.success
    assert outcome.reasons() == [
        "step raw__quiz_attempts: ValueError: quiz_attempts_20261031.csv: cannot decode the "
        "file: not UTF-8"
    ]


def test_a_failed_blocking_check_stops_downstream_and_is_reported() -> None:
    @dg.asset(key=["raw", "logins"])
    def logins() -> None:
        return None

    @dg.asset_check(asset=logins, blocking=True)
    def no_logins_today() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, description="0 logins on 2026-10-31")

    @dg.asset(key=["staging", "stg_portal__logins"], deps=[logins])
    def staged() -> None:
        return None

    outcome = outcome_of(_run(logins, staged, checks=[no_logins_today]))

    assert not outcome.success
    assert [(f.asset, f.check, f.severity) for f in outcome.failed_checks] == [
        ("raw/logins", "no_logins_today", "ERROR")
    ]
    # the staging asset never ran: the only materialization is the raw one
    assert outcome.materialized == ["raw/logins"]
    # the check says why; the raw step's own failure (its blocking check failed) is not
    # repeated, and the staging step that never started is named
    assert outcome.reasons() == [
        "check no_logins_today on raw/logins failed (ERROR): 0 logins on 2026-10-31",
        "not run because an upstream step or blocking check failed: staging__stg_portal__logins",
    ]


def test_the_console_prints_a_failure_without_its_stack_trace_or_not_executing_lines(
    capfd,
) -> None:
    @dg.asset(key=["raw", "logins"])
    def logins() -> None:
        raise ValueError("logins_20261031.jsonl: line 3: not JSON")

    @dg.asset(key=["staging", "stg_portal__logins"], deps=[logins])
    def staged() -> None:
        return None

    outcome = outcome_of(_run(logins, staged, loggers={"console": console_logger}))
    printed = capfd.readouterr().err

    assert not outcome.success
    lines = printed.splitlines()
    (failure_line,) = [line for line in lines if "STEP_FAILURE" in line]
    # Dagster's wrapper, the asset's own error, then where the stack trace is
    at = lines.index(failure_line)
    assert lines[at + 1].startswith("dagster._core.errors.DagsterExecutionStepExecutionError")
    assert lines[at + 2] == (
        "ValueError: logins_20261031.jsonl: line 3: not JSON" + STACK_TRACE_NOTE
    )
    assert "Stack Trace:" not in printed
    assert 'File "' not in printed
    assert "Not executing" not in printed
    assert outcome.skipped_steps == ["staging__stg_portal__logins"]


def test_a_failure_raised_by_the_asset_is_reported_by_its_description() -> None:
    @dg.asset(key=["raw", "deal_status_events"])
    def deal_status_events() -> None:
        try:
            b"\x81".decode("cp932")
        except UnicodeDecodeError as exc:
            raise dg.Failure(
                description="raw.deal_status_events: deal_status_events_20261031.csv: cannot "
                "decode the file"
            ) from exc

    outcome = outcome_of(_run(deal_status_events))

    # The description names the file; the innermost error (the decode error) does not.
    assert outcome.reasons() == [
        "step raw__deal_status_events: raw.deal_status_events: "
        "deal_status_events_20261031.csv: cannot decode the file"
    ]


def test_a_warning_of_a_dbt_test_says_how_many_rows_fail() -> None:
    @dg.asset(key=["intermediate", "int_reference_violations"])
    def violations() -> None:
        return None

    # What dagster-dbt reports for a dbt test of severity warn: no description, a count.
    @dg.asset_check(asset=violations)
    def int_reference_violations_is_empty() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"dagster_dbt/failed_row_count": 8},
        )

    outcome = outcome_of(_run(violations, checks=[int_reference_violations_is_empty]))

    assert outcome.success
    assert [(w.check, w.description) for w in outcome.warned_checks] == [
        ("int_reference_violations_is_empty", "8 rows fail this dbt test")
    ]


def test_a_run_left_started_by_a_killed_build_is_marked_failed() -> None:
    import socket
    import subprocess
    import sys

    from dagster._core.storage.dagster_run import DagsterRun

    from prm_warehouse.pipeline import TAG_HOST, TAG_PID, fail_abandoned_runs

    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()  # a process id that no longer runs
    host = socket.gethostname()
    with dg.DagsterInstance.ephemeral() as instance:

        def started(run_id: str, pid: int, on_host: str) -> None:
            instance.add_run(
                DagsterRun(
                    job_name="build_warehouse",
                    run_id=run_id,
                    status=dg.DagsterRunStatus.STARTED,
                    tags={TAG_PID: str(pid), TAG_HOST: on_host},
                )
            )

        started("killed", ended.pid, host)
        started("running-here", os.getppid(), host)  # this test's parent: alive
        started("elsewhere", ended.pid, "another-machine")

        assert fail_abandoned_runs(instance) == ["killed"]

        statuses = {run.run_id: run.status for run in instance.get_runs()}
    assert statuses == {
        "killed": dg.DagsterRunStatus.FAILURE,
        "running-here": dg.DagsterRunStatus.STARTED,
        "elsewhere": dg.DagsterRunStatus.STARTED,
    }
