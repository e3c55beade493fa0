"""A broken export stops the build before dbt, names suite, expectation, file and line, and
leaves the published marts exactly as they were."""

import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from prm_warehouse.pipeline import run_build
from prm_warehouse.settings import Settings
from prm_warehouse.summary import render_input_problems

pytestmark = pytest.mark.slow


def _publication(serving: Path) -> list[tuple]:
    con = duckdb.connect(str(serving), read_only=True)
    try:
        return con.execute(
            "select publication_id, table_name, row_count, checksum from _publication order by 2"
        ).fetchall()
    finally:
        con.close()


def _copy_of(small_build, tmp_path: Path) -> tuple[Path, Settings]:
    """A copy of the small build's exports, warehouse and serving copy, and its settings."""
    landing = tmp_path / "landing"
    shutil.copytree(small_build.landing_dir, landing)
    shutil.copy(small_build.warehouse_path, tmp_path / "warehouse.duckdb")
    shutil.copy(small_build.serving_path, tmp_path / "serving.duckdb")
    settings = Settings(
        landing_dir=landing,
        warehouse_path=tmp_path / "warehouse.duckdb",
        serving_path=tmp_path / "serving.duckdb",
        as_of_date=small_build.as_of_date,
    )
    return landing, settings


def test_out_of_range_score_blocks_the_build_and_keeps_the_marts(
    small_build, tmp_path: Path
) -> None:
    # a copy of the built warehouse and its publication, and of the exports it came from
    landing, settings = _copy_of(small_build, tmp_path)
    published_before = _publication(tmp_path / "serving.duckdb")

    # a corrected export of the day with a score of 150 on quiz Q01, whose max_score is 100
    (landing / "quiz_attempts" / "quiz_attempts_20261031_fix.csv").write_text(
        "attempt_id,user_id,quiz_id,submitted_at,score\nA0099,U001,Q01,2026-10-30 10:00:00,150\n",
        encoding="utf-8",
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


def test_a_late_batch_of_which_nothing_could_be_read_blocks_the_build(
    small_build, tmp_path: Path
) -> None:
    landing, settings = _copy_of(small_build, tmp_path)
    published_before = _publication(tmp_path / "serving.duckdb")

    # a late batch of two status changes, both at 25:00:00: both records are quarantined
    (landing / "deal_status_events" / "deal_status_events_20261031_late.csv").write_text(
        "event_id,deal_id,status,changed_at,changed_by_user_id\n"
        "EV9901,D0000008,提案合意,2026-10-30 25:00:00,U009\n"
        "EV9902,D0000009,提案合意,2026-10-30 25:00:00,U002\n",
        encoding="utf-8",
    )
    with dg.DagsterInstance.ephemeral() as instance:
        outcome = run_build(settings, instance=instance)

    assert not outcome.success
    (reason,) = [reason for reason in outcome.reasons() if "gx_raw_deal_status_events" in reason]
    # a file of two records is under the 100 records the share gate needs, but no record of
    # it could be read: the error names the file, its counts and its share
    assert reason.startswith(
        "check gx_raw_deal_status_events on raw/deal_status_events failed (ERROR): "
        "suite raw_deal_status_events: expect_column_values_to_be_between("
        "blocking_quarantined_share) failed for 1 file: 2 of 2 records quarantined (100%) in "
        "deal_status_events_20261031_late.csv (wanted: "
    )
    assert "marts/fct_deal_funnel" not in outcome.materialized
    assert _publication(tmp_path / "serving.duckdb") == published_before


def test_a_cut_off_snapshot_blocks_the_build_and_names_the_missing_deals(
    small_build, tmp_path: Path
) -> None:
    landing, settings = _copy_of(small_build, tmp_path)
    published_before = _publication(tmp_path / "serving.duckdb")

    # a second export of the day cut off after its seventh record (D0000001..D0000007 of 15)
    lines = (landing / "deals" / "deals_20261031.csv").read_text(encoding="utf-8-sig")
    (landing / "deals" / "deals_20261031_fix.csv").write_text(
        "\n".join(lines.splitlines()[:8]) + "\n", encoding="utf-8"
    )
    with dg.DagsterInstance.ephemeral() as instance:
        outcome = run_build(settings, instance=instance)

    assert not outcome.success
    # 8 of 15 deals gone: 53.3 %, above the 5 % a snapshot may lose
    assert (
        "check gx_raw_deals on raw/deals failed (ERROR): suite raw_deals: "
        "expect_column_values_to_be_between(missing_entity_share) failed for 1 file: "
        "deals_20261031_fix.csv (7 records read, 0 quarantined) lacks 8 of the 15 deal_ids of "
        "deals_20261031.csv (53.3%): D0000008, D0000009, D0000010, D0000011, D0000012, "
        "D0000013, D0000014, D0000015 (wanted: the newest deals file lacks at most 5% of the "
        "previous file's deal_id values (a cut-off or empty export is mended by delivering it "
        "again in full)) [error]"
    ) in outcome.reasons()
    assert "marts/fct_deal_funnel" not in outcome.materialized
    assert _publication(tmp_path / "serving.duckdb") == published_before


def test_a_quarantined_snapshot_record_keeps_the_deal_as_last_read(
    small_build, tmp_path: Path
) -> None:
    landing, settings = _copy_of(small_build, tmp_path)

    # A corrected export of the day (the newest snapshot: same date, later name) in which
    # D0000002's record is unreadable (month 13) and says 失注.
    newest = landing / "deals" / "deals_20261031.csv"
    lines = newest.read_text(encoding="utf-8-sig").splitlines()
    assert lines[2].startswith("D0000002,") and ",継続合意," in lines[2]
    lines[2] = (
        lines[2].replace(",継続合意,", ",失注,").replace("2026-09-10 09:00", "2026-13-10 09:00")
    )
    (landing / "deals" / "deals_20261031_fix.csv").write_text(
        "\n".join(lines) + "\n", encoding="utf-8"
    )
    with dg.DagsterInstance.ephemeral() as instance:
        outcome = run_build(settings, instance=instance)
        tags = instance.get_run_by_id(outcome.run_id).tags
    assert outcome.success, "\n".join(outcome.reasons())
    # the run names the warehouse it built and its as-of date
    assert tags["prm/warehouse"] == str((tmp_path / "warehouse.duckdb").resolve())
    assert tags["prm/as-of-date"] == "2026-10-31"

    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute(
            "select line_number, record_key from raw._quarantine "
            "where file_name = 'deals_20261031_fix.csv'"
        ).fetchall() == [(3, "D0000002")]
        # the 15 deals of the export stay; D0000002 as the previous export read it
        staged = dict(
            con.execute("select deal_id, _file_name from staging.stg_portal__deals").fetchall()
        )
        assert len(staged) == 15
        assert staged.pop("D0000002") == "deals_20261031.csv"
        assert set(staged.values()) == {"deals_20261031_fix.csv"}
    with duckdb.connect(str(tmp_path / "serving.duckdb"), read_only=True) as con:
        # 継続合意 is the won stage (the unreadable record's 失注 would be lost)
        assert con.execute(
            "select current_status from marts.fct_deal_funnel where deal_id = 'D0000002'"
        ).fetchall() == [("won",)]
    assert (
        "Snapshot rows kept from an earlier file because their record in the newest file was "
        "quarantined: deals 1"
    ) in render_input_problems(tmp_path / "warehouse.duckdb")


def test_a_content_whose_record_opens_a_quote_it_never_closes_keeps_its_last_read_row(
    small_build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # contents is a small source: its one set-aside record is 1 of the 8 rows delivered
    # (12.5%), above the default limit of 5%
    monkeypatch.setenv("PRM_QUARANTINE_MAX_SHARE", "0.2")
    landing, settings = _copy_of(small_build, tmp_path)

    # A second export of the day (the newest snapshot) in which CT003's title opens a quote
    # that nothing closes: line 4 is set aside, its key CT003 read before the quote.
    newest = landing / "contents" / "contents_20261031.csv"
    lines = newest.read_text(encoding="utf-8-sig").splitlines()
    assert lines[3] == 'CT003,"導入事例：飲食店, 3店舗",case_study,飲食,事例,2026-10-15 10:00:00'
    lines[3] = 'CT003,"未閉じタイトル,case_study,飲食,事例,2026-10-15 10:00:00'
    (landing / "contents" / "contents_20261031_v2.csv").write_text(
        "\n".join(lines) + "\n", encoding="utf-8"
    )
    with dg.DagsterInstance.ephemeral() as instance:
        outcome = run_build(settings, instance=instance)
    assert outcome.success, "\n".join(outcome.reasons())

    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute(
            "select line_number, record_key from raw._quarantine "
            "where file_name = 'contents_20261031_v2.csv'"
        ).fetchall() == [(4, "CT003")]
        # CT001 and CT002 as the new export reads them, CT003 as the earlier one of the day
        assert con.execute(
            "select content_id, title, content_type, _file_name "
            "from staging.stg_portal__contents order by content_id"
        ).fetchall() == [
            ("CT001", "飲食店向けトークスクリプト", "talk_script", "contents_20261031_v2.csv"),
            ("CT002", "クラウド会計 提案資料", "sales_deck", "contents_20261031_v2.csv"),
            ("CT003", "導入事例：飲食店, 3店舗", "case_study", "contents_20261031.csv"),
        ]
        # CV0004 (U007 viewed CT003) still refers to a known content
        assert con.execute(
            "select count(*) from intermediate.int_reference_violations "
            "where source_name = 'content_views'"
        ).fetchall() == [(0,)]
    with duckdb.connect(str(tmp_path / "serving.duckdb"), read_only=True) as con:
        # CV0004: 2026-10-22 01:00 UTC is 10:00 in Japan, a view in October by U007
        assert con.execute(
            "select month_start, content_type, industry, views, downloads, unique_viewers "
            "from marts.fct_content_engagement where content_id = 'CT003'"
        ).fetchall() == [(dt.date(2026, 10, 1), "case_study", "飲食", 1, 0, 1)]
