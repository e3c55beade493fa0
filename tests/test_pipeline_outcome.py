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


def test_the_not_run_line_names_five_steps_and_counts_the_rest() -> None:
    @dg.asset(key=["raw", "logins"])
    def logins() -> None:
        raise ValueError("logins_20261031.jsonl: not valid JSON at line 1, column 1")

    def model(index: int) -> dg.AssetsDefinition:
        @dg.asset(key=["staging", f"model_{index}"], deps=[logins])
        def staged() -> None:
            return None

        return staged

    # seven assets downstream of the failing one: the first five by name, two counted
    outcome = outcome_of(_run(logins, *(model(index) for index in range(7))))

    assert len(outcome.skipped_steps) == 7
    assert outcome.reasons()[-1] == (
        "not run because an upstream step or blocking check failed: staging__model_0, "
        "staging__model_1, staging__model_2, staging__model_3, staging__model_4 and 2 more"
    )


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


def _failing_dbt_step() -> dg.AssetsDefinition:
    from dagster_dbt.errors import DagsterDbtCliRuntimeError

    @dg.asset(name="dbt_models")
    def dbt_models() -> None:
        # what dagster-dbt raises when `dbt build` exits non-zero
        raise DagsterDbtCliRuntimeError(
            description="The dbt CLI process with command\n\n`dbt build`\n\nfailed with exit "
            "code `1`.\n\nErrors parsed from dbt logs:\n\n"
            "\x1b[31mCompilation Error in model int_deal_status_events_validated "
            "(../models/intermediate/int_deal_status_events_validated.sql)\x1b[0m\n"
            "  Unknown deal status label(s): the seed deal_status_stage_map has no row valid "
            "on the date of these events, so no funnel stage can be assigned.\n"
            "    - label '検討中' in the deals snapshot, file deals_20261031_v5.csv: 1 event(s) "
            "dated 2026-10-30 to 2026-10-30"
        )

    return dbt_models


def test_a_failed_dbt_step_without_dbt_results_shows_the_errors_of_dbt_log() -> None:
    outcome = outcome_of(_run(_failing_dbt_step()))

    assert outcome.reasons() == [
        "step dbt_models: dbt failed:\n"
        "    Compilation Error in model int_deal_status_events_validated "
        "(../models/intermediate/int_deal_status_events_validated.sql)\n"
        "    Unknown deal status label(s): the seed deal_status_stage_map has no row valid on "
        "the date of these events, so no funnel stage can be assigned.\n"
        "    - label '検討中' in the deals snapshot, file deals_20261031_v5.csv: 1 event(s) "
        "dated 2026-10-30 to 2026-10-30"
    ]


def test_a_failed_dbt_step_is_explained_by_the_nodes_dbt_could_not_build() -> None:
    from prm_warehouse.dbt_results import DbtNodeFailure

    model = DbtNodeFailure(
        unique_id="model.prm_warehouse.int_deal_status_events_validated",
        resource_type="model",
        name="int_deal_status_events_validated",
        status="error",
        relation="intermediate.int_deal_status_events_validated",
        column=None,
        failures=None,
        message=("Compilation Error: Unknown deal status label(s)", "- label '検討中'"),
    )
    test = DbtNodeFailure(
        unique_id="test.prm_warehouse.assert_funnel_counts_reconcile",
        resource_type="test",
        name="assert_funnel_counts_reconcile",
        status="fail",
        relation="marts.fct_funnel_person, marts.fct_funnel_partner",
        column=None,
        failures=3,
        message=("Got 3 results, configured to fail if != 0",),
    )

    outcome = outcome_of(_run(_failing_dbt_step()), dbt_failures=[model, test], dbt_skipped=40)

    # dagster-dbt's wrapper is left out: the nodes say why
    assert outcome.reasons() == [
        "dbt model intermediate.int_deal_status_events_validated failed: Compilation Error: "
        "Unknown deal status label(s)\n    - label '検討中'",
        "dbt test assert_funnel_counts_reconcile on marts.fct_funnel_person, "
        "marts.fct_funnel_partner failed: 3 failing rows",
        "dbt skipped 40 nodes that depend on these failures",
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
