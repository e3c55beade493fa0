"""The sample-export generator writes a landing folder that follows the raw contract.

Expected values come from the contract and the generator's documented sizes and window
(5,000 firms, 30,000 people, 200,000 deals and 10,000,000 events at scale 1; exports dated
2026-10-24 to 2026-10-31), not from running the generator.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from prm_warehouse.raw.contract import SOURCES, SOURCES_BY_NAME
from prm_warehouse.sample_data import generate_landing

SCALE = 0.002
JST = ZoneInfo("Asia/Tokyo")
# The documented export days: the bulk export on 2026-10-24, then one a day to 2026-10-31.
EXPORT_DAYS = [dt.date(2026, 10, d) for d in range(24, 32)]
LABELS = {
    "アプローチ予定",
    "アポ打診",
    "アポ設定中",
    "提案済み",
    "提案合意",
    "継続合意",
    "失注",
    "保留",
}
NAME_PATTERN = re.compile(r"^(?P<source>[a-z_]+?)_(?P<date>\d{8})(?:_[^.]*)?\.(?P<ext>csv|jsonl)$")


def _generate(out: Path, **kwargs) -> dict[str, int]:
    return generate_landing(out, scale=kwargs.pop("scale", SCALE), seed=42, **kwargs)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp932"), "cp932"


def _csv_rows(data: bytes) -> list[list[str]]:
    text, _ = _decode(data)
    return list(csv.reader(io.StringIO(text, newline="")))


def _records(rel: str, data: bytes) -> list[dict]:
    if rel.endswith(".csv"):
        header, *rows = _csv_rows(data)
        return [dict(zip(header, row, strict=False)) for row in rows]
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def _export_date(rel: str) -> dt.date:
    match = NAME_PATTERN.match(rel.split("/")[1])
    assert match, rel
    return dt.datetime.strptime(match["date"], "%Y%m%d").date()


def _newest(files: dict[str, bytes], source: str) -> list[dict]:
    names = sorted(n for n in files if n.startswith(f"{source}/"))
    newest = max(names, key=lambda n: (_export_date(n), n))
    return _records(newest, files[newest])


def _empty(value: str | None) -> bool:
    return value is None or value.strip() in ("", "NULL", "-")


def _instant(value: str) -> dt.datetime:
    """A contract timestamp as an aware datetime (CSV values are Japan time)."""
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M"):
        try:
            return dt.datetime.strptime(value, fmt).replace(tzinfo=JST)
        except ValueError:
            pass
    return dt.datetime.fromisoformat(value)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], dict[str, int]]:
    out = tmp_path_factory.mktemp("clean")
    counts = _generate(out)
    return _files(out), counts


def test_same_arguments_give_the_same_bytes(tmp_path: Path, clean) -> None:
    files, counts = clean
    again = _generate(tmp_path / "again")
    assert _files(tmp_path / "again") == files
    assert again == counts
    # another seed simulates another programme
    generate_landing(tmp_path / "other", scale=SCALE, seed=7)
    assert _files(tmp_path / "other") != files


@pytest.mark.parametrize(
    ("scale", "firms", "people", "deals", "events"),
    [
        # round(5000 * s), round(30000 * s), round(200000 * s), round(10_000_000 * s)
        (0.002, 10, 60, 400, 20_000),
        (0.003, 15, 90, 600, 30_000),
    ],
)
def test_sizes_follow_the_scale(
    tmp_path: Path, scale: float, firms: int, people: int, deals: int, events: int
) -> None:
    counts = _generate(tmp_path, scale=scale)
    files = _files(tmp_path)
    # The newest snapshot holds every entity once.
    assert len({r["partner_id"] for r in _newest(files, "partners")}) == firms
    assert len(_newest(files, "partners")) == firms
    assert len({r["user_id"] for r in _newest(files, "partner_users")}) == people
    assert len({r["deal_id"] for r in _newest(files, "deals")}) == deals
    # Distinct events over all event sources (repeats in overlapping batches count once).
    distinct = 0
    for source in (s for s in SOURCES if s.kind == "events"):
        ids = set()
        for rel, data in files.items():
            if rel.startswith(f"{source.name}/"):
                ids |= {r[source.key] for r in _records(rel, data)}
        distinct += len(ids)
    assert distinct == events
    # The returned counts are the records in the files written, per source.
    written = {s.name: 0 for s in SOURCES}
    for rel, data in files.items():
        written[rel.split("/")[0]] += len(_records(rel, data))
    assert counts == written


def test_file_names_follow_the_contract(clean) -> None:
    files, _ = clean
    per_source: dict[str, set[dt.date]] = {s.name: set() for s in SOURCES}
    for rel in files:
        folder, name = rel.split("/")
        match = NAME_PATTERN.match(name)
        assert match, f"{rel} does not follow <source>_<YYYYMMDD>[_<anything>].<csv|jsonl>"
        assert match["source"] == folder
        assert match["ext"] == SOURCES_BY_NAME[folder].format
        per_source[folder].add(_export_date(rel))
    # Every export day has each event source and the daily snapshots; the catalogue
    # (contents, courses, quizzes) is exported on the bulk day, on 10-28 and on the last day.
    for source in SOURCES:
        if source.name in ("contents", "courses", "quizzes"):
            expected = {dt.date(2026, 10, 24), dt.date(2026, 10, 28), dt.date(2026, 10, 31)}
        else:
            expected = set(EXPORT_DAYS)
        assert per_source[source.name] == expected, source.name
    # Several files a day: the bulk content views in seven monthly parts (April to October),
    # and two login files on 2026-10-29.
    parts = [n for n in files if n.startswith("content_views/content_views_20261024_")]
    assert len(parts) == 7
    assert len([n for n in files if n.startswith("logins/logins_20261029")]) == 2


def test_csv_headers_are_the_contract_columns(clean) -> None:
    files, _ = clean
    for rel, data in files.items():
        source = SOURCES_BY_NAME[rel.split("/")[0]]
        if source.format == "csv":
            assert tuple(_csv_rows(data)[0]) == source.column_names, rel


def test_some_csv_is_cp932_with_characters_only_cp932_has(clean) -> None:
    files, _ = clean
    found = set()
    for rel, data in files.items():
        if not rel.endswith(".csv"):
            continue
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp932")
            found |= {ch for ch in "①㈱髙﨑" if ch in text}
    assert found
    for ch in found:
        # Shift_JIS (JIS X 0208) lacks them: they are CP932 extensions.
        with pytest.raises(UnicodeEncodeError):
            ch.encode("shift_jis")


def test_csv_dialects_vary(clean) -> None:
    files, _ = clean
    csvs = {rel: data for rel, data in files.items() if rel.endswith(".csv")}
    assert any(d.startswith(b"\xef\xbb\xbf") for d in csvs.values()), "no UTF-8 file with BOM"
    assert any(b"\r\n" in d for d in csvs.values()), "no CRLF file"
    assert any(b"\r\n" not in d for d in csvs.values()), "no LF file"
    cells = [cell for d in csvs.values() for row in _csv_rows(d)[1:] for cell in row]
    assert any("," in c for c in cells), "no quoted field with a comma"
    assert any("\n" in c for c in cells), "no quoted field with a line break"
    assert {"", "NULL", "-"} <= set(cells)
    flags = set()
    for rel, data in csvs.items():
        if rel.startswith("partner_users/"):
            flags |= {r["is_certified"] for r in _records(rel, data)}
    assert flags == {"true", "false", "TRUE", "FALSE", "1", "0", "○", "×"}
    stamps = [
        r[col]
        for rel, data in csvs.items()
        for r in _records(rel, data)
        for col in ("changed_at", "registered_at", "updated_at", "submitted_at")
        if col in r
    ]
    seconds = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
    minutes = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}$")
    assert all(seconds.match(s) or minutes.match(s) for s in stamps)
    assert any(seconds.match(s) for s in stamps) and any(minutes.match(s) for s in stamps)


def test_jsonl_variants(clean) -> None:
    files, _ = clean
    logins = [r for rel, d in files.items() if rel.startswith("logins/") for r in _records(rel, d)]
    stamps = [r["occurred_at"] for r in logins]
    assert any(s.endswith("+09:00") for s in stamps) and any(s.endswith("Z") for s in stamps)
    assert any("device" not in r for r in logins), "no login without the optional device key"
    assert {r.get("device") for r in logins} == {"pc", "mobile", None}
    known = set(SOURCES_BY_NAME["logins"].column_names)
    assert any(set(r) - known for r in logins), "no unknown key"


def test_event_batches_overlap_and_carry_late_arrivals(clean) -> None:
    files, _ = clean
    overlapping, late = 0, 0
    for source in (s for s in SOURCES if s.kind == "events"):
        seen: dict[str, str] = {}
        time_column = next(c.name for c in source.columns if c.kind == "timestamp")
        for rel in sorted(n for n in files if n.startswith(f"{source.name}/")):
            export = _export_date(rel)
            for r in _records(rel, files[rel]):
                key = r[source.key]
                if key in seen and seen[key] != rel:
                    overlapping += 1
                seen[key] = rel
                # A repeat of the previous batch is at most one day old; two days or more
                # before the export date can only be a late arrival.
                if export > EXPORT_DAYS[0]:
                    day = _instant(r[time_column]).astimezone(JST).date()
                    late += day <= export - dt.timedelta(days=2)
    assert overlapping > 0
    assert late > 0


def test_last_export_date_writes_a_prefix_of_the_same_files(tmp_path: Path, clean) -> None:
    files, _ = clean
    out = tmp_path / "partial"
    _generate(out, last_export_date=dt.date(2026, 10, 27))
    partial = _files(out)
    assert partial == {n: d for n, d in files.items() if _export_date(n) <= dt.date(2026, 10, 27)}
    assert {_export_date(n) for n in partial} == set(EXPORT_DAYS[:4])
    # One more day adds that day's files and leaves the earlier ones as they were.
    _generate(out, last_export_date=dt.date(2026, 10, 28))
    longer = _files(out)
    assert longer == {n: d for n, d in files.items() if _export_date(n) <= dt.date(2026, 10, 28)}
    assert {n: d for n, d in longer.items() if n in partial} == partial


def test_references_are_valid_and_status_is_the_latest_event(clean) -> None:
    files, _ = clean
    partners = {r["partner_id"] for r in _newest(files, "partners")}
    users = {r["user_id"]: r["partner_id"] for r in _newest(files, "partner_users")}
    deals = {r["deal_id"]: r for r in _newest(files, "deals")}
    contents = {r["content_id"] for r in _newest(files, "contents")}
    courses = {r["course_id"]: int(r["lesson_count"]) for r in _newest(files, "courses")}
    quizzes = {r["quiz_id"] for r in _newest(files, "quizzes")}
    assert set(users.values()) <= partners
    for deal in deals.values():
        assert users[deal["owner_user_id"]] == deal["partner_id"]
        assert deal["status"] in LABELS
    events = {
        r["event_id"]: r
        for rel, d in files.items()
        if rel.startswith("deal_status_events/")
        for r in _records(rel, d)
    }
    latest: dict[str, tuple[dt.datetime, str]] = {}
    for e in events.values():
        assert e["deal_id"] in deals and e["status"] in LABELS
        assert _empty(e["changed_by_user_id"]) or e["changed_by_user_id"] in users
        at = _instant(e["changed_at"])
        if e["deal_id"] not in latest or at > latest[e["deal_id"]][0]:
            latest[e["deal_id"]] = (at, e["status"])
    assert all(latest[d][1] == deal["status"] for d, deal in deals.items())
    for rel, data in files.items():
        source = rel.split("/")[0]
        if source in ("logins", "content_views", "lesson_completions", "quiz_attempts"):
            for r in _records(rel, data):
                assert r["user_id"] in users, rel
                if source == "content_views":
                    assert r["content_id"] in contents
                if source == "lesson_completions":
                    course, number = r["lesson_id"].split("-L")
                    assert course == r["course_id"] and 1 <= int(number) <= courses[course]
                if source == "quiz_attempts":
                    assert r["quiz_id"] in quizzes


# (file, records the faulty run adds): the list in the generator's documentation.
FAULTY_FILES = {
    "partners/partners_20261024.csv": 1,  # empty partner_id
    "partner_users/partner_users_20261024.csv": 1,  # firm P99999 does not exist
    "deals/deals_20261024.csv": 2,  # registered on 2026-02-30; owner U999999
    "deal_status_events/deal_status_events_20261026.csv": 1,  # six fields
    "logins/logins_20261024.jsonl": 2,  # user U999999; occurred on 2026-10-32
    "content_views/content_views_20261024_part7.jsonl": 1,  # no event_id
}


def test_faulty_adds_exactly_the_documented_rows(tmp_path: Path, clean) -> None:
    files, counts = clean
    faulty_counts = _generate(tmp_path, faulty=True)
    faulty = _files(tmp_path)
    assert faulty.keys() == files.keys()
    assert {n for n in files if faulty[n] != files[n]} == set(FAULTY_FILES)
    for rel, extra in FAULTY_FILES.items():
        assert len(_records(rel, faulty[rel])) == len(_records(rel, files[rel])) + extra, rel
    # 1 + 1 + 2 + 1 + 2 + 1 = 8 rows more, per source as listed above.
    added = {s: faulty_counts[s] - counts[s] for s in counts}
    assert added == {
        "partners": 1,
        "partner_users": 1,
        "deals": 2,
        "deal_status_events": 1,
        "logins": 2,
        "content_views": 1,
        "contents": 0,
        "courses": 0,
        "lesson_completions": 0,
        "quizzes": 0,
        "quiz_attempts": 0,
    }

    def new_rows(rel: str) -> list:
        old = _records(rel, files[rel])
        return [r for r in _records(rel, faulty[rel]) if r not in old]

    assert [r["partner_id"] for r in new_rows("partners/partners_20261024.csv")] == [""]
    bad_user = new_rows("partner_users/partner_users_20261024.csv")[0]
    assert bad_user["partner_id"] not in {r["partner_id"] for r in _newest(files, "partners")}
    bad_deals = {r["deal_id"]: r for r in new_rows("deals/deals_20261024.csv")}
    assert bad_deals["D9000001"]["registered_at"].replace("/", "-").startswith("2026-02-30")
    assert bad_deals["D9000002"]["owner_user_id"] == "U999999"
    rel = "deal_status_events/deal_status_events_20261026.csv"
    widths = [len(row) for row in _csv_rows(faulty[rel])]
    assert sorted(set(widths)) == [5, 6] and widths.count(6) == 1
    bad_logins = new_rows("logins/logins_20261024.jsonl")
    assert {r["user_id"] for r in bad_logins} >= {"U999999"}
    bad_date = next(r for r in bad_logins if r["user_id"] != "U999999")["occurred_at"]
    with pytest.raises(ValueError):  # 2026-10-32 is no date
        dt.datetime.fromisoformat(bad_date)
    assert "event_id" not in new_rows("content_views/content_views_20261024_part7.jsonl")[0]


@pytest.mark.parametrize("scale", [0, -1, 11])
def test_scale_out_of_range_is_refused(tmp_path: Path, scale: float) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate_landing(tmp_path, scale=scale)
