"""A build with nothing new is recognised from the fingerprint of its inputs."""

import datetime as dt
import shutil
from pathlib import Path

import duckdb

from prm_warehouse import fingerprint
from prm_warehouse.raw.contract import SOURCES_BY_NAME
from prm_warehouse.raw.loader import load_source
from prm_warehouse.raw.withdraw import mark_rebuilt, withdraw_file
from prm_warehouse.settings import Settings

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "landing_small"


def _settings(tmp_path: Path, as_of: dt.date = dt.date(2026, 10, 31)) -> Settings:
    landing = tmp_path / "landing"
    if not landing.exists():
        shutil.copytree(FIXTURE, landing)
    return Settings(
        landing_dir=landing,
        warehouse_path=tmp_path / "prm.duckdb",
        serving_path=tmp_path / "prm_serving.duckdb",
        as_of_date=as_of,
    )


def test_same_inputs_are_up_to_date_and_any_change_is_not(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    # stand-ins: an empty warehouse (read for pending withdrawals) and a serving copy (only
    # its existence is checked)
    duckdb.connect(str(settings.warehouse_path)).close()
    settings.serving_path.write_bytes(b"")
    inputs = fingerprint.build_fingerprint(settings)
    # nothing recorded yet: a build must run
    assert not fingerprint.is_up_to_date(settings, inputs)

    fingerprint.record(settings, inputs, run_id="run-1")
    assert fingerprint.is_up_to_date(settings, fingerprint.build_fingerprint(settings))

    # another as-of date is another build
    later = _settings(tmp_path, as_of=dt.date(2026, 11, 1))
    assert not fingerprint.is_up_to_date(later, fingerprint.build_fingerprint(later))

    # a new export file is another build
    (settings.landing_dir / "logins" / "logins_20261101.jsonl").write_text(
        '{"event_id": "LGX", "user_id": "U001", "occurred_at": "2026-11-01T09:00:00+09:00"}\n',
        encoding="utf-8",
    )
    assert not fingerprint.is_up_to_date(settings, fingerprint.build_fingerprint(settings))


def test_a_missing_serving_copy_is_never_up_to_date(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    duckdb.connect(str(settings.warehouse_path)).close()
    inputs = fingerprint.build_fingerprint(settings)
    fingerprint.record(settings, inputs, run_id="run-1")
    assert not fingerprint.is_up_to_date(settings, inputs)


def test_a_file_rewritten_with_its_old_size_and_modification_time_is_a_change(
    tmp_path: Path,
) -> None:
    import os

    settings = _settings(tmp_path)
    partners = sorted((settings.landing_dir / "partners").iterdir())[-1]
    before = fingerprint.build_fingerprint(settings)
    stat = partners.stat()
    # A corrected export of the same length, its modification time set back as `cp -p`,
    # `rsync -t` or unzip do: only the status-change time tells.
    data = partners.read_bytes()
    corrected = data.replace(b"P0", b"Q0", 1)
    assert corrected != data and len(corrected) == len(data)
    partners.write_bytes(corrected)
    os.utime(partners, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert partners.stat().st_mtime_ns == stat.st_mtime_ns
    assert fingerprint.build_fingerprint(settings) != before


def test_a_withdrawal_waiting_for_its_rebuild_is_never_up_to_date(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        load_source(con, SOURCES_BY_NAME["logins"], settings.landing_dir)
    settings.serving_path.write_bytes(b"")
    inputs = fingerprint.build_fingerprint(settings)
    fingerprint.record(settings, inputs, run_id="run-1")
    assert fingerprint.is_up_to_date(settings, inputs)

    # The landing folder and the recorded fingerprint are unchanged; the warehouse is not.
    with duckdb.connect(str(settings.warehouse_path)) as con:
        withdrawal = withdraw_file(con, "logins", "logins_20261031.jsonl")
    assert fingerprint.build_fingerprint(settings) == inputs
    assert not fingerprint.is_up_to_date(settings, inputs)

    # Once a full rebuild is recorded, the same inputs are up to date again.
    with duckdb.connect(str(settings.warehouse_path)) as con:
        assert mark_rebuilt(con, [withdrawal]) == 1
    assert fingerprint.is_up_to_date(settings, inputs)


def test_an_unreadable_warehouse_is_never_up_to_date(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.warehouse_path.write_bytes(b"not a DuckDB file")
    settings.serving_path.write_bytes(b"")
    inputs = fingerprint.build_fingerprint(settings)
    fingerprint.record(settings, inputs, run_id="run-1")
    assert not fingerprint.is_up_to_date(settings, inputs)
