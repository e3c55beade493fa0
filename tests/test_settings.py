"""Settings read from the environment: paths, the as-of date and what is refused."""

import datetime as dt
from pathlib import Path

import pytest

from prm_warehouse.settings import Settings, parse_as_of_date


def test_settings_come_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "PRM_LANDING_DIR": str(tmp_path / "landing"),
            "PRM_WAREHOUSE_PATH": str(tmp_path / "wh" / "prm.duckdb"),
            "PRM_AS_OF_DATE": "2026-10-31",
        }
    )
    assert settings.landing_dir == tmp_path / "landing"
    assert settings.warehouse_path == tmp_path / "wh" / "prm.duckdb"
    # no PRM_SERVING_PATH: the serving copy sits beside the warehouse, "<stem>_serving"
    assert settings.serving_path == tmp_path / "wh" / "prm_serving.duckdb"
    assert settings.as_of_date == dt.date(2026, 10, 31)


def test_relative_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({"PRM_WAREHOUSE_PATH": "data/w.duckdb"})
    assert settings.warehouse_path == tmp_path / "data" / "w.duckdb"


def test_empty_as_of_date_is_today_in_japan() -> None:
    # Japan is UTC+9 without daylight saving: today there is today in UTC shifted by 9 hours
    japan_today = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=9)).date()
    assert parse_as_of_date("  ") in {japan_today, japan_today - dt.timedelta(days=1)}


def test_a_malformed_as_of_date_names_the_setting() -> None:
    with pytest.raises(ValueError, match=r"PRM_AS_OF_DATE='31/10/2026' is not a date"):
        parse_as_of_date("31/10/2026")


def test_a_warehouse_named_like_a_schema_is_refused(tmp_path: Path) -> None:
    # DuckDB would name the database "raw", colliding with the raw schema
    with pytest.raises(ValueError, match="may not be named like a warehouse schema"):
        Settings.from_env({"PRM_WAREHOUSE_PATH": str(tmp_path / "raw.duckdb")})


def test_the_serving_copy_cannot_be_the_warehouse(tmp_path: Path) -> None:
    path = str(tmp_path / "prm.duckdb")
    with pytest.raises(ValueError, match="serving copy cannot be the warehouse"):
        Settings.from_env({"PRM_WAREHOUSE_PATH": path, "PRM_SERVING_PATH": path})
