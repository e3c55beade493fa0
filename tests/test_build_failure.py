"""A broken export stops the build before dbt, names suite, expectation, file and line, and
leaves the published marts exactly as they were."""

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from prm_warehouse.pipeline import run_build
from prm_warehouse.settings import Settings

pytestmark = pytest.mark.slow


def _publication(serving: Path) -> list[tuple]:
    con = duckdb.connect(str(serving), read_only=True)
    try:
        return con.execute(
            "select publication_id, table_name, row_count, checksum from _publication order by 2"
        ).fetchall()
    finally:
        con.close()


def test_out_of_range_score_blocks_the_build_and_keeps_the_marts(
    small_build, tmp_path: Path
) -> None:
    # a copy of the built warehouse and its publication, and of the exports it came from
    landing = tmp_path / "landing"
    shutil.copytree(small_build.landing_dir, landing)
    shutil.copy(small_build.warehouse_path, tmp_path / "warehouse.duckdb")
    shutil.copy(small_build.serving_path, tmp_path / "serving.duckdb")
    published_before = _publication(tmp_path / "serving.duckdb")

    # a corrected export of the day with a score of 150 on quiz Q01, whose max_score is 100
    (landing / "quiz_attempts" / "quiz_attempts_20261031_fix.csv").write_text(
        "attempt_id,user_id,quiz_id,submitted_at,score\nA0099,U001,Q01,2026-10-30 10:00:00,150\n",
        encoding="utf-8",
    )
    settings = Settings(
        landing_dir=landing,
        warehouse_path=tmp_path / "warehouse.duckdb",
        serving_path=tmp_path / "serving.duckdb",
        as_of_date=small_build.as_of_date,
    )
    with dg.DagsterInstance.ephemeral() as instance:
        outcome = run_build(settings, instance=instance)

    assert not outcome.success
    # the data row is line 2 of the file (line 1 is the header)
    assert (
        "check gx_raw_quiz_attempts on raw/quiz_attempts failed (ERROR): suite raw_quiz_attempts: "
        "expect_column_pair_values_a_to_be_greater_than_b(max_score, score) failed for 1 row "
        "in quiz_attempts_20261031_fix.csv (lines 2) (wanted: a score never exceeds its quiz's "
        "max_score) [error]"
    ) in outcome.reasons()
    # the blocking check stopped dbt and the publication in the same run
    assert "raw/quiz_attempts" in outcome.materialized
    assert "marts/fct_learning_progress" not in outcome.materialized
    assert "serving/marts_publication" not in outcome.materialized
    # BI still reads the previous publication, table by table, checksum by checksum
    assert _publication(tmp_path / "serving.duckdb") == published_before
