"""dbt's own words for the nodes a build could not build: read from run_results.json (when it
is the build's own) or from the error lines dagster-dbt copies into a failed step."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from prm_warehouse.dbt_results import (
    MAX_MESSAGE_LINES,
    errors_in_step_failure,
    node_failures,
    read_run_results,
    skipped_node_count,
)

LABEL_ERROR = (
    "Compilation Error in model int_deal_status_events_validated "
    "(../models/intermediate/int_deal_status_events_validated.sql)\n"
    "  Unknown deal status label(s): the seed deal_status_stage_map has no row valid on the "
    "date of these events, so no funnel stage can be assigned.\n"
    "    - label '検討中' in the deals snapshot, file deals_20261031_v5.csv: 3 event(s) dated "
    "2026-10-02 to 2026-10-30\n"
    "  Add a row for each label to seeds/deal_status_stage_map.csv (with its valid_from) and "
    "rebuild.\n"
    "  \n"
    "  > in macro assert_deal_status_labels_mapped (macros/assert_deal_status_labels_mapped.sql)\n"
    "  > called by model int_deal_status_events_validated "
    "(../models/intermediate/int_deal_status_events_validated.sql)"
)
RELATIONSHIPS = (
    "relationships_fct_deal_funnel_individual_id__individual_id__ref_dim_partner_individual_"
)

MANIFEST = {
    "nodes": {
        "model.prm_warehouse.int_deal_status_events_validated": {
            "resource_type": "model",
            "name": "int_deal_status_events_validated",
            "schema": "intermediate",
        },
        "model.prm_warehouse.fct_deal_funnel": {
            "resource_type": "model",
            "name": "fct_deal_funnel",
            "schema": "marts",
        },
        "model.prm_warehouse.dim_partner_individual": {
            "resource_type": "model",
            "name": "dim_partner_individual",
            "schema": "marts",
        },
        f"test.prm_warehouse.{RELATIONSHIPS}.62b1d7f9bc": {
            "resource_type": "test",
            "name": RELATIONSHIPS,
            "schema": "dbt_test__audit",
            "attached_node": "model.prm_warehouse.fct_deal_funnel",
            "column_name": "individual_id",
            "depends_on": {
                "nodes": [
                    "model.prm_warehouse.dim_partner_individual",
                    "model.prm_warehouse.fct_deal_funnel",
                ]
            },
        },
        "test.prm_warehouse.assert_funnel_counts_reconcile": {
            "resource_type": "test",
            "name": "assert_funnel_counts_reconcile",
            "schema": "dbt_test__audit",
            "attached_node": None,
            "column_name": None,
            "depends_on": {
                "nodes": [
                    "model.prm_warehouse.fct_deal_funnel",
                    "model.prm_warehouse.dim_partner_individual",
                ]
            },
        },
    }
}


def _result(unique_id: str, status: str, message: str | None, failures: int | None = None):
    return {"unique_id": unique_id, "status": status, "message": message, "failures": failures}


RUN_RESULTS = {
    "metadata": {
        "invocation_id": "a1",
        "invocation_started_at": "2026-10-31T21:00:05.000000Z",
        "generated_at": "2026-10-31T21:00:40.000000Z",
    },
    "results": [
        _result("model.prm_warehouse.dim_partner_individual", "success", "OK"),
        _result("model.prm_warehouse.int_deal_status_events_validated", "error", LABEL_ERROR),
        _result(
            f"test.prm_warehouse.{RELATIONSHIPS}.62b1d7f9bc",
            "fail",
            "Got 2 results, configured to fail if != 0",
            2,
        ),
        _result(
            "test.prm_warehouse.int_reference_violations_is_empty.4ea628efd0",
            "warn",
            "Got 1 result, configured to warn if != 0",
            1,
        ),
        _result(
            "test.prm_warehouse.assert_funnel_counts_reconcile",
            "error",
            "Runtime Error in test assert_funnel_counts_reconcile "
            "(tests/funnel/assert_funnel_counts_reconcile.sql)\n"
            '  Binder Error: Referenced column "won_count" not found',
            None,
        ),
        _result("model.prm_warehouse.fct_deal_funnel", "skipped", "SKIP"),
    ],
}


def test_a_model_error_keeps_dbt_message_without_heading_blank_lines_or_macro_trace() -> None:
    (model, *_) = node_failures(RUN_RESULTS, MANIFEST)

    assert (model.resource_type, model.name, model.relation) == (
        "model",
        "int_deal_status_events_validated",
        "intermediate.int_deal_status_events_validated",
    )
    assert model.describe().splitlines() == [
        "dbt model intermediate.int_deal_status_events_validated failed: Compilation Error: "
        "Unknown deal status label(s): the seed deal_status_stage_map has no row valid on the "
        "date of these events, so no funnel stage can be assigned.",
        "    - label '検討中' in the deals snapshot, file deals_20261031_v5.csv: 3 event(s) "
        "dated 2026-10-02 to 2026-10-30",
        "    Add a row for each label to seeds/deal_status_stage_map.csv (with its valid_from) "
        "and rebuild.",
    ]


def test_failed_tests_name_the_test_its_model_and_the_failing_rows() -> None:
    failures = node_failures(RUN_RESULTS, MANIFEST)

    # the warning (status warn) and the skipped model are no failures
    assert [f.name for f in failures] == [
        "int_deal_status_events_validated",
        RELATIONSHIPS,
        "assert_funnel_counts_reconcile",
    ]
    relationships, reconcile = failures[1:]
    assert relationships.describe() == (
        f"dbt test {RELATIONSHIPS} on marts.fct_deal_funnel.individual_id failed: 2 failing rows"
    )
    # a singular test reads two models; its SQL failed (no failing-row count)
    assert reconcile.describe().splitlines() == [
        "dbt test assert_funnel_counts_reconcile on marts.fct_deal_funnel, "
        "marts.dim_partner_individual could not run:",
        '    Runtime Error: Binder Error: Referenced column "won_count" not found',
    ]
    assert skipped_node_count(RUN_RESULTS) == 1


def test_a_long_message_is_bounded() -> None:
    labels = "\n".join(f"    - label 'L{n}' in deals file deals_20261031.csv" for n in range(20))
    results = {
        "results": [
            _result(
                "model.prm_warehouse.int_deal_status_events_validated",
                "error",
                f"Compilation Error in model int_x (x.sql)\n  Unknown labels:\n{labels}",
            )
        ]
    }
    (failure,) = node_failures(results, MANIFEST)

    assert len(failure.message) == MAX_MESSAGE_LINES
    assert failure.message[0] == "Compilation Error: Unknown labels:"
    assert failure.message[1] == "- label 'L0' in deals file deals_20261031.csv"
    # 21 lines: 5 shown, the sixth says how many are left
    assert failure.message[-1] == "... 16 more lines in the dbt log"


def _target(tmp_path: Path) -> Path:
    (tmp_path / "run_results.json").write_text(json.dumps(RUN_RESULTS), encoding="utf-8")
    (tmp_path / "manifest.json").write_text(json.dumps(MANIFEST), encoding="utf-8")
    return tmp_path


def test_run_results_are_read_only_when_they_are_the_builds_own(tmp_path: Path) -> None:
    target = _target(tmp_path)
    build_started = dt.datetime(2026, 10, 31, 21, 0, 0, tzinfo=dt.UTC)

    found = read_run_results(target, started_after=build_started, invocation_ids={"a1"})
    assert found is not None and found[0]["metadata"]["invocation_id"] == "a1"
    # the run's events named no invocation: the start time decides
    assert read_run_results(target, started_after=build_started) is not None
    # an invocation started before the build: an earlier build's results
    later = build_started + dt.timedelta(seconds=10)
    assert read_run_results(target, started_after=later) is None
    # another invocation than the one the run's events came from
    assert read_run_results(target, started_after=build_started, invocation_ids={"b2"}) is None
    # no results at all
    assert read_run_results(tmp_path / "missing", started_after=build_started) is None


def test_the_error_lines_of_a_failed_dbt_step_without_colour_codes() -> None:
    description = (
        "The dbt CLI process with command\n\n`dbt build`\n\nfailed with exit code `1`. Check "
        "the stdout in the Dagster compute logs for the full information about the error.\n\n"
        "Errors parsed from dbt logs:\n\n"
        f"348 of 391 FAIL 2 {RELATIONSHIPS}  [\x1b[31mFAIL 2\x1b[0m in 0.04s]\n\n"
        f"\x1b[31mFailure in test {RELATIONSHIPS} (../models/marts/_marts__models.yml)\x1b[0m"
    )

    assert errors_in_step_failure(description) == [
        f"348 of 391 FAIL 2 {RELATIONSHIPS}  [FAIL 2 in 0.04s]",
        f"Failure in test {RELATIONSHIPS} (../models/marts/_marts__models.yml)",
    ]
    assert errors_in_step_failure("raw.deals: deals_20261031.csv: cannot decode") == []
