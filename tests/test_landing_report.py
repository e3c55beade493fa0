"""What a successful build says about landing entries the loaders did not read."""

import shutil
from pathlib import Path

from prm_warehouse.summary import render_skipped_inputs

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "landing_small"


def test_landing_entries_the_loaders_do_not_read_are_listed(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(FIXTURE, landing)
    assert render_skipped_inputs(landing) == ""
    events = landing / "deal_status_events"
    (events / "deal_status_events_2026-10-31.csv").write_text("event_id\n")  # dashed date
    (landing / "unknown_source").mkdir()
    lines = render_skipped_inputs(landing).splitlines()
    assert lines[0] == "Not read from the landing folder (2):"
    assert lines[1].startswith("  unknown_source: not a source folder (content_views, ")
    assert lines[2] == (
        "  deal_status_events/deal_status_events_2026-10-31.csv: "
        "name does not follow the landing-file pattern"
    )
