"""The readers: discovery, encodings, CSV/JSONL/JSON parsing and value normalisation.

Every expected value below is worked out by hand from the file content shown beside it.
Japan time is UTC+9 all year, so a Japan-time wall clock minus 9 hours is the UTC instant.
"""

from __future__ import annotations

import codecs
import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from prm_warehouse.raw.readers import (
    RawInputError,
    check_inside_landing,
    discover_files,
    parse_bytes,
    read_file,
)

FIXTURES = Path(__file__).parent / "fixtures" / "raw_inputs"
UTC = dt.UTC


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def rows_by(parsed, key: str) -> dict[str, dict]:
    return {row[key]: row for row in parsed.rows()}


# --------------------------------------------------------------------------- encodings


def test_cp932_file_with_extension_characters_and_half_width_kana():
    # partners_20260401.csv (CP932, LF):
    #   1 partner_id,partner_name,prefecture,office_size_band,advisor_rank,joined_program_on,...
    #   2 P00042,㈱髙橋会計①,東京都,1-5,1,2024-04-01,2026-04-01 00:30:00
    #   3 007,ｶﾌﾞｼｷｶﾞｲｼｬ ﾃｽﾄ,大阪府,6-20,,2024/05/10,2026/04/01 09:00
    data = (FIXTURES / "partners_20260401.csv").read_bytes()
    parsed = parse_bytes("partners", "partners_20260401.csv", data)

    assert parsed.encoding == "cp932"
    assert parsed.quarantined == []
    rows = rows_by(parsed, "partner_id")
    # Leading zeros of an id survive: ids are text.
    assert sorted(rows) == ["007", "P00042"]
    first, second = rows["P00042"], rows["007"]
    assert first["partner_name"] == "㈱髙橋会計①"
    assert first["prefecture"] == "東京都"
    assert first["advisor_rank"] == 1
    assert first["joined_program_on"] == dt.date(2024, 4, 1)
    # 2026-04-01 00:30 in Japan is 2026-03-31 15:30 UTC.
    assert first["updated_at"] == utc(2026, 3, 31, 15, 30)
    assert first["updated_at"].utcoffset() == dt.timedelta(0)
    assert first["_line_number"] == 2
    assert second["partner_name"] == "ｶﾌﾞｼｷｶﾞｲｼｬ ﾃｽﾄ"
    assert second["advisor_rank"] is None  # empty field
    assert second["joined_program_on"] == dt.date(2024, 5, 10)  # slashes
    # 2026/04/01 09:00 in Japan is 2026-04-01 00:00 UTC.
    assert second["updated_at"] == utc(2026, 4, 1, 0, 0)
    assert second["_line_number"] == 3


def test_utf8_bom_crlf_quoted_comma_and_line_break_keep_line_numbers():
    # deals_20260401.csv (UTF-8 with BOM, CRLF), physical lines:
    #   1 header (13 columns)
    #   2 D0000001 ... "山田商店, 本店" ... 2026-04-01 00:30:00,2026-04-02 10:00:00,,12000
    #   3 D0000002 ... "複数行            <- quoted line break: the record spans lines 3-4
    #   4 の顧客名" ... NULL,2026/04/01 09:00,2026/04/03 18:30,"予算不足",-
    #   5 D0000003 ... approach_planned_on 2026-13-01 (no month 13)
    #   6 D0000004,P00042,U000123,short row      (4 fields instead of 13)
    #   7 D0000005 ... "  鈴木会計  ", industry "   ", ..., expected_mrr 30000.5
    data = (FIXTURES / "deals_20260401.csv").read_bytes()
    parsed = parse_bytes("deals", "deals_20260401.csv", data)

    assert parsed.encoding == "utf-8-sig"
    rows = rows_by(parsed, "deal_id")
    assert sorted(rows) == ["D0000001", "D0000002", "D0000005"]
    # The BOM is not part of the first column's name: deal_id was found and read.
    assert rows["D0000001"]["client_name"] == "山田商店, 本店"
    assert rows["D0000001"]["expected_mrr"] == 12000.0
    # 2026-04-01 00:30:00 JST == 2026-03-31 15:30 UTC; 2026-04-02 10:00 JST == 01:00 UTC.
    assert rows["D0000001"]["registered_at"] == utc(2026, 3, 31, 15, 30)
    assert rows["D0000001"]["updated_at"] == utc(2026, 4, 2, 1, 0)
    assert rows["D0000001"]["_line_number"] == 2

    d2 = rows["D0000002"]
    assert d2["client_name"] == "複数行\r\nの顧客名"  # the line break inside quotes is data
    assert d2["approach_planned_on"] is None  # NULL
    assert d2["expected_mrr"] is None  # -
    assert d2["lost_reason"] == "予算不足"
    # 2026/04/01 09:00 JST == 2026-04-01 00:00 UTC; 2026/04/03 18:30 JST == 09:30 UTC.
    assert d2["registered_at"] == utc(2026, 4, 1, 0, 0)
    assert d2["updated_at"] == utc(2026, 4, 3, 9, 30)
    assert d2["_line_number"] == 3

    d5 = rows["D0000005"]
    assert d5["client_name"] == "鈴木会計"  # trimmed
    assert d5["client_industry"] is None  # whitespace only
    assert d5["expected_mrr"] == 30000.5
    # Two physical lines before it belong to D0000002, so it starts on line 7.
    assert d5["_line_number"] == 7

    quarantined = [(q.file_name, q.line_number, q.reason) for q in parsed.quarantined]
    assert quarantined == [
        ("deals_20260401.csv", 5, "approach_planned_on: not a date: '2026-13-01'"),
        ("deals_20260401.csv", 6, "expected 13 fields as in the header, found 4"),
    ]
    assert parsed.quarantined[1].record == "D0000004,P00042,U000123,short row"


def test_plain_utf8_with_lf():
    data = "course_id,title,lesson_count,is_required\nK01,入門,3,true\n".encode()
    parsed = parse_bytes("courses", "courses_20260401.csv", data)
    assert parsed.encoding == "utf-8"
    assert list(parsed.rows()) == [
        {
            "course_id": "K01",
            "title": "入門",
            "lesson_count": 3,
            "is_required": True,
            "_line_number": 2,
        }
    ]


def test_undecodable_file_names_the_file_and_the_cause():
    # 0x85 0x40 is neither a UTF-8 sequence nor a CP932 character. The header is 40
    # characters and its line feed (bytes 0-40); line 2 is `K01,` (41-44), then 0x85 at 45.
    data = b"course_id,title,lesson_count,is_required\nK01,\x85\x40,3,true\n"
    with pytest.raises(RawInputError) as raised:
        parse_bytes("courses", "courses_20260401.csv", data)
    assert str(raised.value) == (
        "courses_20260401.csv: cannot decode the file: "
        "not UTF-8 (line 2, column 5: byte 0x85 at byte offset 45, invalid start byte) "
        "and not CP932 (line 2, column 5: byte 0x85 at byte offset 45, "
        "illegal multibyte sequence); the encoding is decided for the whole file: "
        "deliver it again as UTF-8 or CP932"
    )


COURSES_HEADER = "course_id,title,lesson_count,is_required\n"  # 41 bytes in any encoding


def test_one_bad_byte_in_a_utf8_csv_is_named_by_line_and_column_in_each_encoding():
    # bytes  0-40  line 1: the header
    #       41-53  line 2: `K01,a,3,true` and its line feed (13 bytes)
    #       54-57  line 3: `K02,`, then UTF-8 応 (E5 BF 9C, 58-60) and 用 (E7 94 A8, 61-63),
    #          64  0x87, which starts no UTF-8 character: line 3, column 7 (K 0 2 , 応 用);
    # read as CP932 the six bytes of 応用 are three two-byte characters (E5 BF, 9C E7, 94 A8),
    # and 0x87 followed by `,` is no CP932 character: line 3, column 8.
    data = (COURSES_HEADER + "K01,a,3,true\nK02,応用").encode() + b"\x87,5,false\n"
    with pytest.raises(RawInputError) as raised:
        parse_bytes("courses", "courses_20260401.csv", data)
    assert str(raised.value) == (
        "courses_20260401.csv: cannot decode the file: "
        "not UTF-8 (line 3, column 7: byte 0x87 at byte offset 64, invalid start byte) "
        "and not CP932 (line 3, column 8: byte 0x87 at byte offset 64, "
        "illegal multibyte sequence); the encoding is decided for the whole file: "
        "deliver it again as UTF-8 or CP932"
    )


def test_one_bad_byte_after_a_utf8_bom_is_named_by_line_and_column():
    # bytes 0-2 the BOM, 3-43 the header, 44-61 line 2 (`K01,入門,3,true` and its line feed:
    # 4 + 6 + 7 + 1 bytes), 62-65 `K02,` on line 3, 66-68 応, then 0xFF at 69: column 6.
    data = codecs.BOM_UTF8 + (COURSES_HEADER + "K01,入門,3,true\nK02,応").encode() + b"\xff\n"
    with pytest.raises(RawInputError) as raised:
        parse_bytes("courses", "courses_20260401.csv", data)
    assert str(raised.value) == (
        "courses_20260401.csv: starts with a UTF-8 BOM but is not UTF-8 "
        "(line 3, column 6: byte 0xFF at byte offset 69, invalid start byte)"
    )


CUT_OFF = "the file looks cut off: deliver it again in full"


def test_a_cp932_csv_cut_inside_its_last_character_says_it_looks_cut_off(tmp_path, monkeypatch):
    import prm_warehouse.raw.readers as readers

    # CP932: bytes 0-40 the header; 41-56 line 2 (`K01,` 4, 入門 4, `,3,true` 7, line feed 1);
    # line 3 is `K02,` (57-60), 応 (61-62) and the first byte of 用 (97 70) at 63, where the
    # file ends. (As UTF-8 it fails at once: 入 is 93 FC in CP932, and 0x93 starts no UTF-8
    # character.)
    data = (COURSES_HEADER + "K01,入門,3,true\nK02,応用").encode("cp932")[:-1]
    assert len(data) == 64 and data[-1:] == b"\x97"
    cause = (
        "cannot decode the file: it ends inside a character: its last line, line 3, ends "
        f"with 0x97 at byte offset 63, the first byte of a CP932 character; {CUT_OFF}"
    )
    name = "courses_20260401.csv"
    with pytest.raises(RawInputError) as raised:
        parse_bytes("courses", name, data)
    assert str(raised.value) == f"{name}: {cause}"
    # from a landing folder, read in blocks that end inside characters: the same message
    (tmp_path / "courses").mkdir()
    (tmp_path / "courses" / name).write_bytes(data)
    (landing_file,) = discover_files(tmp_path, "courses").files
    for block_bytes in (3, readers.BLOCK_BYTES):
        monkeypatch.setattr(readers, "BLOCK_BYTES", block_bytes)
        with pytest.raises(RawInputError) as raised:
            read_file(landing_file, tmp_path)
        assert str(raised.value) == f"{tmp_path / 'courses' / name}: {cause}"


def test_a_cp932_csv_with_a_bad_byte_before_its_end_is_not_called_cut_off():
    # the same file with 0x97 in the middle of line 3 instead of at its end: 0x97 then `,` is
    # no CP932 character (line 3, column 6: `K02,応` before it; byte offset 63)
    data = (COURSES_HEADER + "K01,入門,3,true\nK02,応").encode("cp932") + b"\x97,5,false\n"
    with pytest.raises(RawInputError) as raised:
        parse_bytes("courses", "courses_20260401.csv", data)
    message = str(raised.value)
    assert "cut off" not in message
    assert message.endswith(
        "and not CP932 (line 3, column 6: byte 0x97 at byte offset 63, illegal multibyte sequence)"
        "; the encoding is decided for the whole file: deliver it again as UTF-8 or CP932"
    )


def test_a_utf8_csv_with_bom_cut_inside_its_last_character_says_it_looks_cut_off():
    # bytes 0-2 the BOM, 3-43 the header, 44-61 line 2 (18 bytes in UTF-8), then line 3:
    # `K02,` (62-65), 応 (66-68) and the first two bytes of 用 (E7 94 A8) at 69-70.
    data = codecs.BOM_UTF8 + (COURSES_HEADER + "K01,入門,3,true\nK02,応用").encode()[:-1]
    with pytest.raises(RawInputError) as raised:
        parse_bytes("courses", "courses_20260401.csv", data)
    assert str(raised.value) == (
        "courses_20260401.csv: cannot decode the file: it ends inside a character: its last "
        "line, line 3, ends with 0xE7 0x94 at byte offset 69, the first bytes of a UTF-8 "
        f"character; {CUT_OFF}"
    )


def test_a_jsonl_file_cut_inside_its_last_character_says_it_looks_cut_off():
    # line 1 is 26 bytes and a line feed (0-26); line 2 is `{"event_id":"` (27-39), then
    # the first byte of あ (E3 81 82) at 40, where the file ends.
    data = '{"event_id":"L1","x":null}\n{"event_id":"あ'.encode()[:-2]
    with pytest.raises(RawInputError) as raised:
        parse_bytes("logins", "logins_20260401.jsonl", data)
    assert str(raised.value) == (
        "logins_20260401.jsonl: cannot decode the file: it ends inside a character: its last "
        "line, line 2, ends with 0xE3 at byte offset 40, the first byte of a UTF-8 character; "
        f"{CUT_OFF}"
    )


# 45 + 1 and 31 + 1 characters, all ASCII: 78 characters
QUIZ_ATTEMPTS_CSV = (
    "attempt_id,user_id,quiz_id,submitted_at,score\nA1,U1,Q1,2026-10-01 10:00:00,50\n"
)
NOT_ALLOWED = (
    "an encoding the contract does not allow; CSV exports are UTF-8, UTF-8 with BOM or CP932"
)


@pytest.mark.parametrize(
    ("data", "cause"),
    [
        (
            codecs.BOM_UTF16_LE + QUIZ_ATTEMPTS_CSV.encode("utf-16-le"),
            "encoded as UTF-16 little-endian (byte order mark FF FE)",
        ),
        (
            codecs.BOM_UTF16_BE + QUIZ_ATTEMPTS_CSV.encode("utf-16-be"),
            "encoded as UTF-16 big-endian (byte order mark FE FF)",
        ),
        # 2 bytes a character, one of them NUL: 78 of 156
        (
            QUIZ_ATTEMPTS_CSV.encode("utf-16-le"),
            "encoded as UTF-16 little-endian without a byte order mark "
            "(78 of its first 156 bytes are NUL)",
        ),
        (
            QUIZ_ATTEMPTS_CSV.encode("utf-16-be"),
            "encoded as UTF-16 big-endian without a byte order mark "
            "(78 of its first 156 bytes are NUL)",
        ),
        # 4 bytes a character, three of them NUL: 234 of 312
        (
            QUIZ_ATTEMPTS_CSV.encode("utf-32-be"),
            "encoded as UTF-32 big-endian without a byte order mark "
            "(234 of its first 312 bytes are NUL)",
        ),
        (
            codecs.BOM_UTF32_LE + QUIZ_ATTEMPTS_CSV.encode("utf-32-le"),
            "encoded as UTF-32 little-endian (byte order mark FF FE 00 00)",
        ),
    ],
    ids=["utf16le-bom", "utf16be-bom", "utf16le", "utf16be", "utf32be", "utf32le-bom"],
)
def test_a_utf16_or_utf32_csv_is_refused_for_its_encoding(tmp_path, data, cause):
    name = "quiz_attempts_20261031.csv"
    with pytest.raises(RawInputError) as raised:
        parse_bytes("quiz_attempts", name, data)
    assert str(raised.value) == f"{name}: {cause}, {NOT_ALLOWED}"
    # read from a landing folder, as the loader reads it: the message names the path
    (tmp_path / "quiz_attempts").mkdir()
    (tmp_path / "quiz_attempts" / name).write_bytes(data)
    (landing_file,) = discover_files(tmp_path, "quiz_attempts").files
    with pytest.raises(RawInputError) as raised:
        read_file(landing_file, tmp_path)
    assert str(raised.value) == f"{tmp_path / 'quiz_attempts' / name}: {cause}, {NOT_ALLOWED}"


def test_a_utf16_jsonl_is_refused_for_its_encoding():
    data = '{"event_id": "L1"}\n'.encode("utf-16-le")  # 19 characters: 19 NUL of 38, 36 read
    with pytest.raises(RawInputError) as raised:
        parse_bytes("logins", "logins_20261031.jsonl", data)
    assert str(raised.value) == (
        "logins_20261031.jsonl: encoded as UTF-16 little-endian without a byte order mark "
        "(18 of its first 36 bytes are NUL), an encoding the contract does not allow; "
        "JSON exports are UTF-8"
    )


def test_japanese_csv_in_utf8_and_cp932_is_not_taken_for_utf16():
    text = "course_id,title,lesson_count,is_required\nK01,㈱①ｶﾅ研修,3,○\n"
    for encoding in ("utf-8", "utf-8-sig", "cp932"):
        parsed = parse_bytes("courses", "courses_20260401.csv", text.encode(encoding))
        assert [(r["title"], r["is_required"]) for r in parsed.rows()] == [("㈱①ｶﾅ研修", True)]


# --------------------------------------------------------------------------- values


def test_every_boolean_form_and_bad_values_go_to_quarantine():
    data = (
        "course_id,title,lesson_count,is_required\n"  # line 1
        "K01,a,3,true\n"
        "K02,b,3,false\n"
        "K03,c,3,TRUE\n"
        "K04,d,3,FALSE\n"
        "K05,e,3,1\n"
        "K06,f,3,0\n"
        "K07,g,3,○\n"
        "K08,h,3,×\n"  # line 9
        "K09,i,3,yes\n"  # line 10: not a boolean
        "K10,j,x,\n"  # line 11: lesson count not a number; empty boolean is fine
        ",k,3,true\n"  # line 12: required course_id missing
    ).encode()
    parsed = parse_bytes("courses", "courses_20260401.csv", data)
    flags = {row["course_id"]: row["is_required"] for row in parsed.rows()}
    assert flags == {
        "K01": True,
        "K02": False,
        "K03": True,
        "K04": False,
        "K05": True,
        "K06": False,
        "K07": True,
        "K08": False,
    }
    assert [(q.line_number, q.reason) for q in parsed.quarantined] == [
        (10, "is_required: not a boolean: 'yes'"),
        (11, "lesson_count: not a whole number: 'x'"),
        (12, "course_id: required value missing"),
    ]


def test_both_csv_timestamp_forms_are_japan_time():
    data = (
        b"attempt_id,user_id,quiz_id,submitted_at,score\n"
        b"A1,U1,Q1,2026-04-01 00:30:00,80\n"  # JST -> 2026-03-31 15:30:00 UTC
        b"A2,U1,Q1,2026/04/01 00:30,70.5\n"  # same instant, minute precision
        b"A3,U1,Q1,2026-01-01 08:59:59,0\n"  # JST -> 2025-12-31 23:59:59 UTC (year rolls back)
        b"A4,U1,Q1,2026-02-30 10:00:00,10\n"  # no 30 February -> quarantine
        b"A5,U1,Q1,yesterday,10\n"  # not a timestamp -> quarantine
        b"A6,U1,Q1,2026-04-01 00:30:00,\n"  # score is required -> quarantine
    )
    parsed = parse_bytes("quiz_attempts", "quiz_attempts_20260401.csv", data)
    rows = rows_by(parsed, "attempt_id")
    assert rows["A1"]["submitted_at"] == utc(2026, 3, 31, 15, 30, 0)
    assert rows["A2"]["submitted_at"] == utc(2026, 3, 31, 15, 30, 0)
    assert rows["A3"]["submitted_at"] == utc(2025, 12, 31, 23, 59, 59)
    assert rows["A2"]["score"] == 70.5
    assert rows["A3"]["score"] == 0.0
    assert [(q.line_number, q.reason) for q in parsed.quarantined] == [
        (5, "submitted_at: not a timestamp: '2026-02-30 10:00:00'"),
        (6, "submitted_at: not a timestamp: 'yesterday'"),
        (7, "score: required value missing"),
    ]


def test_null_tokens_and_leading_zero_ids():
    data = (
        "quiz_id,course_id,title,max_score,pass_score\n"
        "0001,,  基礎テスト ,100,NULL\n"
        "0002,-,   ,-,60\n"
        "0003,NULL,x,  ,  \n"
    ).encode()
    parsed = parse_bytes("quizzes", "quizzes_20260401.csv", data)
    assert [
        (r["quiz_id"], r["course_id"], r["title"], r["max_score"], r["pass_score"])
        for r in parsed.rows()
    ] == [
        ("0001", None, "基礎テスト", 100.0, None),
        ("0002", None, None, None, 60.0),
        ("0003", None, "x", None, None),
    ]


def test_extra_csv_columns_are_ignored_and_order_does_not_matter():
    data = (
        "is_required,note,course_id,lesson_count,title\n"  # reordered, one unknown column
        "×,ignored,K01,2,a\n"
    ).encode()
    parsed = parse_bytes("courses", "courses_20260401.csv", data)
    assert list(parsed.rows()) == [
        {
            "course_id": "K01",
            "title": "a",
            "lesson_count": 2,
            "is_required": False,
            "_line_number": 2,
        }
    ]


def test_missing_header_column_fails_the_whole_file():
    data = b"course_id,title,lesson_count\nK01,a,3\n"
    with pytest.raises(
        RawInputError, match=r"courses_20260401\.csv: header lacks column is_required"
    ):
        parse_bytes("courses", "courses_20260401.csv", data)


def test_empty_file_fails():
    with pytest.raises(RawInputError, match=r"courses_20260401\.csv: the file is empty"):
        parse_bytes("courses", "courses_20260401.csv", b"")


def test_unterminated_quote_is_quarantined_with_its_line():
    data = b'course_id,title,lesson_count,is_required\nK01,a,1,true\nK02,"open,2,true\n'
    parsed = parse_bytes("courses", "courses_20260401.csv", data)
    assert [r["course_id"] for r in parsed.rows()] == ["K01"]
    assert len(parsed.quarantined) == 1
    assert parsed.quarantined[0].line_number == 3
    assert parsed.quarantined[0].reason.startswith("malformed CSV record")


@pytest.mark.parametrize("chunk_rows", [1, 2, 7, 100_000])
def test_unclosed_quote_sets_aside_its_line_and_reading_resumes(chunk_rows):
    # 36 records on lines 2-37; line 11 opens a quote that nothing closes, so the CSV module
    # reads every later line into that one field up to the end of the file.
    records = [f"K{line:02d},t{line},{line},true" for line in range(2, 38)]
    records[11 - 2] = 'K11,"open,11,true'
    data = ("course_id,title,lesson_count,is_required\n" + "\n".join(records) + "\n").encode()
    parsed = parse_bytes("courses", "courses_20260401.csv", data, chunk_rows=chunk_rows)
    kept = [(r["course_id"], r["_line_number"]) for r in parsed.rows()]
    assert len(kept) == 35
    assert kept[8:11] == [("K10", 10), ("K12", 12), ("K13", 13)]
    assert kept[-1] == ("K37", 37)
    assert [(q.line_number, q.record) for q in parsed.quarantined] == [(11, 'K11,"open,11,true')]
    assert parsed.quarantined[0].reason == (
        "malformed CSV record: a quoted field opened on this line runs to the end of the file"
        " (unexpected end of data); only this line is set aside, reading resumes on line 12"
    )


@pytest.mark.parametrize("chunk_rows", [1, 3, 100_000])
def test_unclosed_quote_ended_by_a_later_quote_loses_only_its_line(chunk_rows):
    data = (
        b"course_id,title,lesson_count,is_required\n"  # line 1
        b'K02,"open,2,true\n'  # line 2: a quote never closed on its line ...
        b"K03,c,3,true\n"  # line 3
        b'K04,"d",4,true\n'  # line 4: ... pairs with this line's first quote, then fails
        b'K05,e,5,"true\n'  # line 5: the same, but the next line's quote closes it cleanly:
        b'K06",f,6\n'  # line 6: read alone, a record of three fields (too few)
        b"K07,g,7,false\n"  # line 7
    )
    parsed = parse_bytes("courses", "courses_20260401.csv", data, chunk_rows=chunk_rows)
    assert [(r["course_id"], r["_line_number"]) for r in parsed.rows()] == [
        ("K03", 3),
        ("K04", 4),
        ("K07", 7),
    ]
    assert [(q.line_number, q.record) for q in parsed.quarantined] == [
        (2, 'K02,"open,2,true'),
        (5, 'K05,e,5,"true'),
        (6, 'K06",f,6'),
    ]
    reasons = [q.reason for q in parsed.quarantined]
    assert reasons[0].startswith("malformed CSV record: a quoted field opened on this line runs")
    assert reasons[0].endswith(
        "to line 4 (',' expected after '\"'); only this line is set aside,"
        " reading resumes on line 3"
    )
    # line 5's quote closes on line 6 after "K06", so lines 5-6 read as one record of 6 fields
    assert reasons[1] == (
        "expected 4 fields as in the header, found 6 in a record running to line 6 (a quote"
        " opened on this line may not be closed); only this line is set aside, reading"
        " resumes on line 6"
    )
    assert reasons[2] == "expected 4 fields as in the header, found 3"


@pytest.mark.parametrize("chunk_rows", [1, 3, 100_000])
def test_a_set_aside_csv_record_names_its_key_when_its_line_shows_it(chunk_rows):
    # The header puts the key second, so each line shows whether the key field comes before
    # or after the field where the line breaks.
    data = (
        "title,content_id,content_type,industry,topic,published_at\n"  # line 1
        "a,CT01,manual,,t,2026-10-01 10:00:00\n"  # line 2: read
        '"未閉じタイトル, CT02 ,manual,,t,2026-10-01 10:00:00\n'  # 3: quote opens before the key
        'c, CT03 ,"manual,,t,2026-10-01 10:00:00\n'  # 4: quote opens after the key
        "d,CT04,manual,,t,2026-10-01 10:00:00\n"  # line 5: read
        'e,"CT05"x,manual,,t,2026-10-01 10:00:00\n'  # line 6: text after the key's closing quote
        "f,CT06,manual,t,2026-10-01 10:00:00\n"  # line 7: one field too few
        "g\n"  # line 8: one field, no key
        "h, - ,manual,,t,2026-10-01 10:00:00,x\n"  # line 9: too many fields, key is a null token
        "i,CT09,manual,,t,2026-13-01 10:00:00\n"  # line 10: a bad value
        'j,"CT10,manual,,t,2026-10-01 10:00:00\n'  # line 11: the key's own quote never closes
        '"k, ""x""","CT11","open,,t,2026-10-01 10:00:00\n'  # line 12: quoted fields, then open
        'l,CT12,"manual"x,,t,2026-10-01 10:00:00\n'  # line 13: text after a quote after the key
    ).encode("cp932")
    parsed = parse_bytes("contents", "contents_20261031.csv", data, chunk_rows=chunk_rows)
    assert [r["content_id"] for r in parsed.rows()] == ["CT01", "CT04"]
    assert [(q.line_number, q.record_key) for q in parsed.quarantined] == [
        (3, None),
        (4, "CT03"),
        (6, None),
        (7, "CT06"),
        (8, None),
        (9, None),
        (10, "CT09"),
        (11, None),
        (12, "CT11"),
        (13, "CT12"),
    ]
    assert parsed.quarantined[1].reason.startswith(
        "malformed CSV record: a quoted field opened on this line runs to"
    )


def test_an_unclosed_quote_after_the_key_keeps_the_key():
    data = (
        "content_id,title,content_type,industry,topic,published_at\n"
        "C0001,資料,manual,,t,2026-10-01 10:00:00\n"
        'C0003,"未閉じタイトル,sales_deck,,t,2026-10-01 10:00:00\n'
        "C0004,動画,video,,t,2026-10-01 10:00:00\n"
    ).encode()
    parsed = parse_bytes("contents", "contents_20261031_v2.csv", data)
    assert [r["content_id"] for r in parsed.rows()] == ["C0001", "C0004"]
    assert [(q.line_number, q.record_key) for q in parsed.quarantined] == [(3, "C0003")]


# --------------------------------------------------------------------------- JSON


def test_jsonl_offsets_missing_and_extra_keys():
    lines = [
        '{"event_id": "L001", "user_id": "U000123", "occurred_at": "2026-03-31T15:30:00Z",'
        ' "device": "pc"}',
        # no device key; +09:00 offset: 00:30 JST is 15:30 UTC the day before
        '{"event_id": "L002", "user_id": "U000123", "occurred_at": "2026-04-01T00:30:00+09:00"}',
        "",
        # an unknown key must not break anything
        '{"event_id": "L003", "user_id": "U000124", "occurred_at": "2026-04-01T09:00:00+09:00",'
        ' "device": "mobile", "browser": "safari"}',
    ]
    data = ("\n".join(lines) + "\n").encode()
    parsed = parse_bytes("logins", "logins_20260401.jsonl", data)
    assert parsed.quarantined == []
    assert list(parsed.rows()) == [
        {
            "event_id": "L001",
            "user_id": "U000123",
            "occurred_at": utc(2026, 3, 31, 15, 30),
            "device": "pc",
            "_line_number": 1,
        },
        {
            "event_id": "L002",
            "user_id": "U000123",
            "occurred_at": utc(2026, 3, 31, 15, 30),
            "device": None,
            "_line_number": 2,
        },
        {
            "event_id": "L003",
            "user_id": "U000124",
            "occurred_at": utc(2026, 4, 1, 0, 0),
            "device": "mobile",
            "_line_number": 4,
        },
    ]


def test_jsonl_bad_lines_are_quarantined_and_the_rest_loads():
    lines = [
        '{"event_id": "L001", "user_id": "U1", "occurred_at": "2026-04-01T00:30:00+09:00"}',
        '{"event_id": "L002", "user_id": "U1", "occurred_at": "2026-04-01 09:00:00"}',
        '{"event_id": "L003", "user_id": "U1", "occurred_at": ',
        '["not", "an", "object"]',
        '{"event_id": "L005", "occurred_at": "2026-04-01T00:00:00Z"}',
        '{"event_id": "L006", "user_id": "U1", "occurred_at": "2026-04-01T01:00:00-01:00"}',
    ]
    data = ("\r\n".join(lines) + "\r\n").encode()
    parsed = parse_bytes("logins", "logins_20260401.jsonl", data)
    # L006: 01:00 at UTC-1 is 02:00 UTC.
    assert [(r["event_id"], r["occurred_at"], r["_line_number"]) for r in parsed.rows()] == [
        ("L001", utc(2026, 3, 31, 15, 30), 1),
        ("L006", utc(2026, 4, 1, 2, 0), 6),
    ]
    reasons = {q.line_number: q.reason for q in parsed.quarantined}
    assert sorted(reasons) == [2, 3, 4, 5]
    assert reasons[2] == "occurred_at: timestamp without a UTC offset: '2026-04-01 09:00:00'"
    assert reasons[3].startswith("not valid JSON")
    assert reasons[4] == "expected a JSON object, found list"
    assert reasons[5] == "user_id: required value missing"
    assert parsed.quarantined[0].record == lines[1]


def test_a_jsonl_line_that_is_not_valid_json_names_its_key_when_it_reads_before_the_break():
    lines = [
        '{"event_id": "L001", "user_id": "U1", "occurred_at": "2026-04-01T00:30:00+09:00"}',
        '{"user_id": "U1", "event_id": " L002 ", "occurred_at": "2026-04-0',  # cut short
        '{"event_id": "L003", "user_id": U1, "occurred_at": "2026-04-01T00:00:00Z"}',
        '{"user_id": "U1", "occurred_at": "2026-04-01T00:00:00Z", "event_id": "L00',
        '{"event_id": 5',  # a number cut short might have had more digits
        '{"event_id": 6, "user_id": "U1", "occurred_at": 2026-04-01}',
        '{"event_id": "NULL", "user_id": "U1",',
        '{"event_id": "L008", "user_id": "U1", "occurred_at": "2026-04-01 09:00:00"}',
        '{"event_id": {"id": "L009"}, "user_id": "U1"',
        '["L010", "U1"',
    ]
    parsed = parse_bytes("logins", "logins_20260401.jsonl", ("\n".join(lines) + "\n").encode())
    assert [r["event_id"] for r in parsed.rows()] == ["L001"]
    assert [(q.line_number, q.record_key) for q in parsed.quarantined] == [
        (2, "L002"),
        (3, "L003"),
        (4, None),
        (5, None),
        (6, "6"),
        (7, None),
        (8, "L008"),  # valid JSON with a bad value
        (9, None),
        (10, None),
    ]
    assert parsed.quarantined[0].reason.startswith("not valid JSON")


def test_json_array_file_with_line_numbers():
    text = (
        "[\n"
        '  {"event_id": "V1", "user_id": "U1", "content_id": "C0001",'
        ' "occurred_at": "2026-04-01T00:30:00+09:00", "action": "view", "duration_sec": 42},\n'
        '  {"event_id": "V2",\n'
        '   "user_id": "U1", "content_id": "C0002", "occurred_at": "2026-04-01T01:00:00Z",'
        ' "action": "download"}\n'
        "]\n"
    )
    parsed = parse_bytes("content_views", "content_views_20260401.json", text.encode())
    assert list(parsed.rows()) == [
        {
            "event_id": "V1",
            "user_id": "U1",
            "content_id": "C0001",
            "occurred_at": utc(2026, 3, 31, 15, 30),
            "action": "view",
            "duration_sec": 42.0,
            "_line_number": 2,
        },
        {
            "event_id": "V2",
            "user_id": "U1",
            "content_id": "C0002",
            "occurred_at": utc(2026, 4, 1, 1, 0),
            "action": "download",
            "duration_sec": None,
            "_line_number": 3,
        },
    ]


def test_json_that_is_not_an_array_fails_the_file():
    with pytest.raises(RawInputError, match=r"content_views_20260401\.json: expected a JSON"):
        parse_bytes("content_views", "content_views_20260401.json", b'{"event_id": "V1"}')


@pytest.mark.parametrize(
    ("content", "cause"),
    [
        # a comma missing between two members of the second object: reading stops at the
        # second member's opening quote, line 3 column 21
        (
            '[\n  {"event_id": "V1"},\n  {"event_id": "V2" "user_id": "U1"}\n]\n',
            "not valid JSON at line 3, column 21: Expecting ',' delimiter",
        ),
        # a trailing comma: `}` where a member name should be, line 2 column 20
        (
            '[\n {"event_id": "V1",}\n]',
            "not valid JSON at line 2, column 20: Expecting property "
            "name enclosed in double quotes",
        ),
        # cut off after the first object: the text ends at line 2 column 20
        (
            '[\n {"event_id": "V1"}',
            "not valid JSON at line 2, column 20: the file ends before the array is closed "
            "(expected ',' or ']')",
        ),
        # two objects without a comma between them: the second starts at line 2 column 2
        (
            '[{"event_id": "V1"}\n {"event_id": "V2"}]',
            "not valid JSON at line 2, column 2: expected ',' or ']' after an element, found '{'",
        ),
        (
            '[{"event_id": "V1"}]\n\nx\n',
            "not valid JSON at line 3, column 1: content after the end of the array",
        ),
        # broken before any array starts: a bare word
        ("\n  nope", "not valid JSON at line 2, column 3: Expecting value"),
        # JSONL content in a .json file
        (
            '{"event_id": "V1"}\n{"event_id": "V2"}\n',
            "expected a JSON array of objects, found an object at line 1, column 1",
        ),
        ("  \n", "the file is empty (expected a JSON array of objects)"),
    ],
    ids=[
        "missing-comma",
        "trailing-comma",
        "cut-off",
        "no-comma-between",
        "after-array",
        "bare-word",
        "jsonl",
        "empty",
    ],
)
def test_a_json_file_that_cannot_be_read_names_line_column_and_cause(content, cause):
    with pytest.raises(RawInputError) as raised:
        parse_bytes("content_views", "content_views_20260401.json", content.encode())
    assert str(raised.value) == f"content_views_20260401.json: {cause}"


# --------------------------------------------------------------------------- discovery


def test_discovery_matches_the_contract_names_and_reports_the_rest(tmp_path):
    folder = tmp_path / "deals"
    folder.mkdir()
    for name in [
        "deals_20260402.csv",
        "deals_20260401_second.csv",
        "deals_20260401.csv",
        "deals_20260401.json",
        "README.txt",
        "deals_2026041.csv",  # seven digits
        "partners_20260401.csv",  # another source's name
    ]:
        (folder / name).write_text("x")
    (folder / "deals_20260403.csv").mkdir()  # a folder with a matching name
    found = discover_files(tmp_path, "deals")
    # Sorted by export date, then name.
    assert [f.file_name for f in found.files] == [
        "deals_20260401.csv",
        "deals_20260401.json",
        "deals_20260401_second.csv",
        "deals_20260402.csv",
    ]
    assert found.files[0].export_date == dt.date(2026, 4, 1)
    assert sorted(s.file_name for s in found.skipped) == [
        "README.txt",
        "deals_20260403.csv",  # "...0403" sorts before "...041." ('0' < '1')
        "deals_2026041.csv",
        "partners_20260401.csv",
    ]


def test_missing_source_folder_means_no_files(tmp_path):
    found = discover_files(tmp_path, "deals")
    assert found.files == () and found.skipped == ()


def test_impossible_export_date_in_a_file_name_fails(tmp_path):
    (tmp_path / "deals").mkdir()
    (tmp_path / "deals" / "deals_20261301.csv").write_text("x")
    with pytest.raises(RawInputError, match=r"deals_20261301\.csv: the export date"):
        discover_files(tmp_path, "deals")


def test_symlink_escaping_the_landing_root_is_refused(tmp_path):
    landing = tmp_path / "landing"
    (landing / "partners").mkdir(parents=True)
    outside = tmp_path / "elsewhere.csv"
    shutil.copy(FIXTURES / "partners_20260401.csv", outside)
    os.symlink(outside, landing / "partners" / "partners_20260401.csv")
    with pytest.raises(RawInputError, match="outside the landing root"):
        discover_files(landing, "partners")
    with pytest.raises(RawInputError, match="outside the landing root"):
        check_inside_landing(outside, landing)


def test_symlink_inside_the_landing_root_is_read(tmp_path):
    landing = tmp_path / "landing"
    (landing / "partners").mkdir(parents=True)
    (landing / "archive").mkdir()
    shutil.copy(FIXTURES / "partners_20260401.csv", landing / "archive" / "p.csv")
    os.symlink(landing / "archive" / "p.csv", landing / "partners" / "partners_20260401.csv")
    (found,) = discover_files(landing, "partners").files
    # The fixture has two readable rows.
    assert read_file(found, landing).row_count == 2


def test_jsonl_without_blank_lines_crlf_and_one_offset_for_all():
    # Every line a single object and every timestamp in one shape: the bulk path. Results
    # must be the same as value by value, including quarantine line numbers.
    lines = [
        '{"event_id": "X1", "user_id": "U1", "course_id": "K01", "lesson_id": "K01-1",'
        ' "completed_at": "2026-04-01T00:30:00+09:00"}',
        '{"event_id": "X2", "user_id": "U1", "course_id": "K01", "lesson_id": "K01-2",'
        ' "completed_at": "2026-04-01T23:59:59+09:00"}',
        '{"event_id": "X3", "user_id": "U1", "course_id": "K01",'
        ' "completed_at": "2026-04-02T08:00:00+09:00"}',
        '{"event_id": "X4", "user_id": "U2", "course_id": "K01", "lesson_id": "K01-1",'
        ' "completed_at": "2026-04-31T08:00:00+09:00"}',
    ]
    data = ("\r\n".join(lines) + "\r\n").encode()
    parsed = parse_bytes("lesson_completions", "lesson_completions_20260402.jsonl", data)
    # 00:30 JST -> 15:30 UTC the day before; 23:59:59 JST -> 14:59:59 UTC the same day.
    assert [(r["event_id"], r["completed_at"], r["_line_number"]) for r in parsed.rows()] == [
        ("X1", utc(2026, 3, 31, 15, 30), 1),
        ("X2", utc(2026, 4, 1, 14, 59, 59), 2),
    ]
    assert [(q.line_number, q.reason) for q in parsed.quarantined] == [
        (3, "lesson_id: required value missing"),
        (4, "completed_at: not a timestamp: '2026-04-31T08:00:00+09:00'"),  # no 31 April
    ]
    assert parsed.quarantined[0].record == lines[2]


def test_timestamp_at_the_edge_of_the_calendar_is_quarantined_not_a_crash():
    # 0001-01-01 00:00 in Japan would be 9 hours before the first representable instant.
    data = b"attempt_id,user_id,quiz_id,submitted_at,score\nA1,U1,Q1,0001-01-01 00:00:00,1\n"
    parsed = parse_bytes("quiz_attempts", "quiz_attempts_20260401.csv", data)
    assert parsed.row_count == 0
    assert [(q.line_number, q.reason) for q in parsed.quarantined] == [
        (2, "submitted_at: not a timestamp: '0001-01-01 00:00:00'")
    ]


def test_malformed_quoting_mid_file_keeps_the_following_line_numbers():
    data = (
        b"course_id,title,lesson_count,is_required\n"  # line 1
        b'K01,"a"x,1,true\n'  # line 2: text after a closing quote -> quarantine
        b'K02,"two\n'  # lines 3-4: one record with a quoted line break
        b'lines",2,false\n'
        b"K03,c,3,true\n"  # line 5
    )
    parsed = parse_bytes("courses", "courses_20260401.csv", data)
    assert [(r["course_id"], r["title"], r["_line_number"]) for r in parsed.rows()] == [
        ("K02", "two\nlines", 3),
        ("K03", "c", 5),
    ]
    assert [(q.line_number, q.record) for q in parsed.quarantined] == [(2, 'K01,"a"x,1,true')]
    assert parsed.quarantined[0].reason.startswith("malformed CSV record")


def test_blank_lines_and_lone_carriage_returns_in_quoted_fields():
    data = (
        b"course_id,title,lesson_count,is_required\r\n"  # line 1
        b"\r\n"  # line 2: blank
        b'K01,"old\rmac",1,true\r\n'  # line 3-4: a lone CR inside quotes is a line break too
        b"K02,b,2,false\r\n"  # line 5
        b"\r\n"  # line 6: blank
        b"K03,c,3\r\n"  # line 7: too few fields
    )
    parsed = parse_bytes("courses", "courses_20260401.csv", data)
    assert [(r["course_id"], r["_line_number"]) for r in parsed.rows()] == [("K01", 3), ("K02", 5)]
    assert [q.line_number for q in parsed.quarantined] == [7]


@pytest.mark.parametrize(
    ("file_name", "content"),
    [
        # CSV, every value `YYYY-MM-DD HH:MM:SS` (Japan time)
        (
            "logins_20260401.csv",
            "event_id,user_id,occurred_at,device\n"
            "L1,U1,2026-04-01 00:30:00,pc\n"
            "L2,U1,2026-01-01 08:59:59,pc\n",
        ),
        # JSONL, every value with +09:00
        (
            "logins_20260401.jsonl",
            '{"event_id": "L1", "user_id": "U1", "occurred_at": "2026-04-01T00:30:00+09:00"}\n'
            '{"event_id": "L2", "user_id": "U1", "occurred_at": "2026-01-01T08:59:59+09:00"}\n',
        ),
        # JSONL, every value in UTC with Z
        (
            "logins_20260401.jsonl",
            '{"event_id": "L1", "user_id": "U1", "occurred_at": "2026-03-31T15:30:00Z"}\n'
            '{"event_id": "L2", "user_id": "U1", "occurred_at": "2025-12-31T23:59:59Z"}\n',
        ),
    ],
)
def test_one_shape_per_column_gives_the_same_instants(file_name, content):
    # All three files describe the same two instants:
    # 2026-04-01 00:30 JST = 2026-03-31 15:30 UTC; 2026-01-01 08:59:59 JST = 2025-12-31 23:59:59.
    parsed = parse_bytes("logins", file_name, content.encode())
    assert [r["occurred_at"] for r in parsed.rows()] == [
        utc(2026, 3, 31, 15, 30),
        utc(2025, 12, 31, 23, 59, 59),
    ]
    assert all(r["occurred_at"].tzinfo == UTC for r in parsed.rows())


# --------------------------------------------------------------------------- chunked reading


@pytest.mark.parametrize("chunk_rows", [1, 2, 100_000])
def test_csv_read_in_chunks_keeps_line_numbers_and_quarantine(chunk_rows):
    lines = [
        "event_id,deal_id,status,changed_at,changed_by_user_id",  # line 1
        "E1,D1,提案,2026/04/01 09:00,U1",  # line 2
        'E2,D1,"複数',  # line 3: a quoted field with a line break ...
        '行",2026/04/01 10:00,U1',  # line 4: ... ends here
        "E3,D2",  # line 5: two fields
        'E4,D2,"a"b,2026/04/01 11:00,U1',  # line 6: text after a closing quote
        "E5,D2,受注,2026/04/01 12:00,",  # line 7
    ]
    data = ("\n".join(lines) + "\n").encode()
    # With 1 or 2 lines a chunk, a chunk ends inside E2 (and, with 1, on the malformed E4):
    # the record is read again with the following lines, so every chunk size gives the
    # result of reading the whole file at once.
    parsed = parse_bytes(
        "deal_status_events", "deal_status_events_20260401.csv", data, chunk_rows=chunk_rows
    )
    # Japan wall clock minus 9 hours: 09:00 -> 00:00, 10:00 -> 01:00, 12:00 -> 03:00 UTC.
    assert [
        (r["event_id"], r["status"], r["changed_at"], r["changed_by_user_id"], r["_line_number"])
        for r in parsed.rows()
    ] == [
        ("E1", "提案", utc(2026, 4, 1, 0, 0), "U1", 2),
        ("E2", "複数\n行", utc(2026, 4, 1, 1, 0), "U1", 3),
        ("E5", "受注", utc(2026, 4, 1, 3, 0), None, 7),
    ]
    assert [(q.line_number, q.record) for q in parsed.quarantined] == [
        (5, "E3,D2"),
        (6, 'E4,D2,"a"b,2026/04/01 11:00,U1'),
    ]
    assert parsed.quarantined[0].reason == "expected 5 fields as in the header, found 2"
    assert parsed.quarantined[1].reason.startswith("malformed CSV record")


@pytest.mark.parametrize("chunk_rows", [1, 2, 100_000])
def test_jsonl_read_in_chunks_with_long_integers_and_nan(chunk_rows):
    lines = [
        # line 1: an identifier delivered as a 20-digit JSON number (beyond 64 bits)
        '{"event_id": 18446744073709551616, "user_id": "U1",'
        ' "occurred_at": "2026-04-01T00:30:00+09:00"}',
        "",  # line 2: blank
        '{"event_id": "L3", "user_id": "U1", "occurred_at": "2026-04-01T00:00:00Z"}',
        '{"event_id": "L4", "user_id": NaN, "occurred_at": "2026-04-01T00:00:00Z"}',
        '{"event_id": "L5", "user_id": "U2", "occurred_at": "2026-04-01T01:00:00Z",'
        ' "device": "pc"}',
    ]
    data = ("\r\n".join(lines) + "\r\n").encode()
    parsed = parse_bytes("logins", "logins_20260401.jsonl", data, chunk_rows=chunk_rows)
    # The identifier keeps its exact digits (an integer, not a rounded float);
    # 00:30 at +09:00 is 15:30 UTC the day before.
    assert [
        (r["event_id"], r["occurred_at"], r["device"], r["_line_number"]) for r in parsed.rows()
    ] == [
        ("18446744073709551616", utc(2026, 3, 31, 15, 30), None, 1),
        ("L3", utc(2026, 4, 1, 0, 0), None, 3),
        ("L5", utc(2026, 4, 1, 1, 0), "pc", 5),
    ]
    # NaN is read (as Python's json reads it) and refused as a user id; the record is the
    # line without its CRLF.
    assert [(q.line_number, q.reason, q.record) for q in parsed.quarantined] == [
        (4, "user_id: expected text, found nan", lines[3]),
    ]


def test_read_file_in_small_blocks_splits_crlf_across_blocks(tmp_path, monkeypatch):
    import prm_warehouse.raw.readers as readers

    landing = tmp_path / "landing"
    (landing / "courses").mkdir(parents=True)
    content = "course_id,title,lesson_count,is_required\r\nK01,入門,3,true\r\nK02,応用,5,false\r\n"
    (landing / "courses" / "courses_20260401.csv").write_bytes(content.encode("cp932"))
    # Three bytes a block: blocks end between a CR and its LF, and inside two-byte characters.
    monkeypatch.setattr(readers, "BLOCK_BYTES", 3)
    (found,) = discover_files(landing, "courses").files
    parsed = read_file(found, landing, chunk_rows=1)
    assert parsed.encoding == "cp932"
    # header on line 1, one record a line after it
    assert [(r["course_id"], r["title"], r["_line_number"]) for r in parsed.rows()] == [
        ("K01", "入門", 2),
        ("K02", "応用", 3),
    ]
    assert parsed.quarantined == []
