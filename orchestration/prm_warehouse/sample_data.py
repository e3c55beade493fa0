"""Sample portal exports: a complete, deterministic landing folder.

``generate_landing(out_dir, scale, seed, faulty, last_export_date)`` simulates a partner
programme and writes what the partner portal would export, following the raw contract
(``prm_warehouse.raw.contract``; columns in contract order). The same arguments always give
the same bytes.

Programme window and export days (all dates Japan time)
--------------------------------------------------------
- The programme starts on ``PROGRAMME_START`` (2026-04-01); activity runs through
  ``WINDOW_END`` (2026-10-31, 23:59:59).
- ``BULK_EXPORT_DATE`` (2026-10-24) is the initial bulk export: every event that happened up to
  the end of that day (except a few late arrivals), and a full export of every snapshot source.
- Daily exports follow on every day from 2026-10-25 to 2026-10-31 (``EXPORT_DATES``). The export
  of day D is taken at the end of D.
- Event sources: each daily batch holds the events of its day, repeats the events of the
  preceding batch that happened in that batch's last ``OVERLAP_HOURS`` hours (so the same event
  id arrives in two files), and carries late arrivals: ``LATE_SHARE`` of the events from
  ``LATE_MAX_DAYS`` days before the bulk export onwards arrive one to ``LATE_MAX_DAYS`` days
  after their own day (never later than the last export), at the end of the batch.
- Snapshot sources: ``partners``, ``partner_users`` and ``deals`` are exported in full on every
  export day; ``contents``, ``courses`` and ``quizzes`` on ``CATALOGUE_EXPORT_DATES``. Entities
  change between exports: new people and deals appear, deals move through the funnel and some
  change owner, people get suspended, deleted or certified, firms get a new advisor rank or
  name, a course becomes required and contents are added or retitled.
- Several files per day: the bulk ``content_views`` export is split into one part per month
  (``content_views_20261024_part1.jsonl`` .. ``part7``) and the ``logins`` batch of 2026-10-29
  arrives in two halves (``logins_20261029_1.jsonl``, ``logins_20261029_2.jsonl``).
- ``last_export_date`` writes only the files dated on or before it; the data are simulated the
  same way whatever its value, so a later date adds the next days' files and rewrites the earlier
  ones with identical bytes. Files are written atomically (temporary name, then rename) and no
  other file in ``out_dir`` is touched.

Sizes
-----
``scale`` multiplies the full size ``FULL_SCALE``: 5,000 firms, 30,000 people, 200,000 deals
and 10,000,000 distinct events over all event sources. Each count is ``round(full * scale)``
(at least one firm). Deal status events, lesson completions and quiz attempts follow from the
simulated behaviour, logins take ``LOGIN_SHARE`` of the event total and content views the rest.
The counts returned are the records written per source (over all files written, including
repeated events in overlapping batches and the faulty rows).

Formats (fixed per file, see ``CSV_DIALECTS``)
----------------------------------------------
CSV files rotate through five dialects: CP932 or UTF-8 with BOM (Excel) or UTF-8; LF or CRLF
line ends; timestamps ``YYYY-MM-DD HH:MM:SS`` or ``YYYY/MM/DD HH:MM`` (Japan time, every CSV
instant is a whole minute so both forms are exact); booleans ``true/false``, ``TRUE/FALSE``,
``1/0`` or ``○/×``; empty values as ``''``, ``NULL``, ``-`` or a per-row mix (including a
whitespace-only value). Dates are ``YYYY-MM-DD``. Texts hold full-width digits and letters,
half-width kana and CP932-only characters (``①``, ``㈱``, ``髙``, ``﨑``); some quoted fields
hold a comma or a line break (the line break is always LF). JSONL timestamps carry ``+09:00``
or ``Z``; optional keys are sometimes missing or null, and unknown keys appear
(``app_version`` from 2026-10-01 on, ``ip_country``, ``session_id``, ``via``).

Faulty rows (``faulty=True``)
-----------------------------
Exactly these eight records are added, each in addition to the clean rows (every other file is
byte-identical to the clean run):

1. ``partners/partners_20261024.csv``: a row with an empty ``partner_id`` (missing id).
2. ``partner_users/partner_users_20261024.csv``: user ``U900001`` whose ``partner_id`` is
   ``P99999``, a firm that does not exist (unknown firm).
3. ``deals/deals_20261024.csv``: deal ``D9000001`` with ``registered_at`` on 2026-02-30
   (bad date).
4. ``deals/deals_20261024.csv``: deal ``D9000002`` owned by ``U999999``, a person who does not
   exist (unknown person).
5. ``deal_status_events/deal_status_events_20261026.csv``: event ``E9000000001`` with six
   fields instead of five (wrong column count).
6. ``logins/logins_20261024.jsonl``: event ``LG9000000001`` by ``U999999`` (unknown person).
7. ``logins/logins_20261024.jsonl``: event ``LG9000000002`` at ``2026-10-32T09:00:00+09:00``
   (bad date).
8. ``content_views/content_views_20261024_part7.jsonl``: an object without ``event_id``
   (missing id).

Each faulty record sits in the middle of its file.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import re
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from prm_warehouse.raw.contract import SOURCES_BY_NAME

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Programme window, export days and sizes
# ---------------------------------------------------------------------------------------------
PROGRAMME_START = dt.date(2026, 4, 1)
WINDOW_END = dt.date(2026, 10, 31)
BULK_EXPORT_DATE = dt.date(2026, 10, 24)
EXPORT_DATES: tuple[dt.date, ...] = tuple(
    BULK_EXPORT_DATE + dt.timedelta(days=k) for k in range((WINDOW_END - BULK_EXPORT_DATE).days + 1)
)
CATALOGUE_EXPORT_DATES: tuple[dt.date, ...] = (
    BULK_EXPORT_DATE,
    dt.date(2026, 10, 28),
    WINDOW_END,
)
FULL_SCALE = {"firms": 5_000, "people": 30_000, "deals": 200_000, "events": 10_000_000}
MAX_SCALE = 10.0  # keeps every id within its zero-padded width
LOGIN_SHARE = 0.25
OVERLAP_HOURS = 3
LATE_SHARE = 0.03
LATE_MAX_DAYS = 3

STATUS_LABELS: tuple[str, ...] = (
    "アプローチ予定",  # 0, stage 1
    "アポ打診",  # 1, stage 2
    "アポ設定中",  # 2, stage 2
    "提案済み",  # 3, stage 3
    "提案合意",  # 4, stage 4
    "継続合意",  # 5, stage 5 (won)
    "失注",  # 6, lost
    "保留",  # 7, on hold
)

_SNAPSHOT_DAILY = ("partners", "partner_users", "deals")
_CATALOGUE = ("contents", "courses", "quizzes")
_CSV_SOURCE_ORDER = tuple(name for name, s in SOURCES_BY_NAME.items() if s.format == "csv")

# ---------------------------------------------------------------------------------------------
# Time: instants are int64 seconds since the Unix epoch (UTC); calendar days are Japan time.
# ---------------------------------------------------------------------------------------------
JST_OFFSET_S = 9 * 3600
DAY_S = 86_400
_EPOCH = dt.date(1970, 1, 1)


def _day_start(day: dt.date) -> int:
    """UTC epoch seconds of 00:00 Japan time on ``day``."""
    return (day - _EPOCH).days * DAY_S - JST_OFFSET_S


DAY0_S = _day_start(PROGRAMME_START)
N_DAYS = (WINDOW_END - PROGRAMME_START).days + 1
WINDOW_END_S = DAY0_S + N_DAYS * DAY_S - 1
BULK_CUTOFF_S = _day_start(BULK_EXPORT_DATE) + DAY_S - 1
NEW_CONTENT_AT_S = _day_start(dt.date(2026, 10, 28)) + 9 * 3600
APP_VERSION_FROM_S = _day_start(dt.date(2026, 10, 1))
NEVER = np.iinfo(np.int64).max

# Busy season: more activity in June-July and September-October, less around Golden Week and
# the Obon holidays in August; weekends are quiet.
_MONTH_FACTOR = {4: 0.7, 5: 0.8, 6: 1.25, 7: 1.3, 8: 0.75, 9: 1.15, 10: 1.35}
_WEEKDAY_FACTOR = (1.1, 1.0, 1.0, 1.0, 0.95, 0.2, 0.1)  # Monday .. Sunday
_HOLIDAYS = {
    dt.date(2026, 4, 29),
    dt.date(2026, 5, 4),
    dt.date(2026, 5, 5),
    dt.date(2026, 5, 6),
    dt.date(2026, 8, 13),
    dt.date(2026, 8, 14),
    dt.date(2026, 8, 15),
    dt.date(2026, 9, 21),
    dt.date(2026, 10, 12),
}
# Relative activity per hour of the day (Japan time): office hours with a lunch dip.
# fmt: off
_HOUR_WEIGHTS = np.array(
    [0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 2.0, 4.5, 5.5, 5.0,
     3.0, 4.5, 5.0, 5.0, 4.5, 4.0, 3.0, 2.0, 1.5, 1.2, 0.9, 0.5]
)
# fmt: on


class _Calendar:
    """Samples instants between per-row bounds, weighted by season, weekday and hour."""

    def __init__(self) -> None:
        weights = np.empty(N_DAYS)
        for i in range(N_DAYS):
            day = PROGRAMME_START + dt.timedelta(days=i)
            factor = _MONTH_FACTOR[day.month] * _WEEKDAY_FACTOR[day.weekday()]
            weights[i] = factor * (0.2 if day in _HOLIDAYS else 1.0)
        self.day_cdf = np.concatenate([[0.0], np.cumsum(weights)])
        self.hour_cdf = np.concatenate([[0.0], np.cumsum(_HOUR_WEIGHTS)]) / _HOUR_WEIGHTS.sum()

    def time_of_day(self, rng: np.random.Generator, n: int) -> np.ndarray:
        hour = np.searchsorted(self.hour_cdf, rng.random(n), side="right") - 1
        return np.clip(hour, 0, 23) * 3600 + rng.integers(0, 3600, n)

    def sample(self, rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """One instant in [lo, hi] per row (seconds); callers ensure lo <= hi."""
        lo = np.asarray(lo, dtype=np.int64)
        hi = np.asarray(hi, dtype=np.int64)
        n = lo.size
        lo_d = np.clip((lo - DAY0_S) // DAY_S, 0, N_DAYS - 1)
        hi_d = np.clip((hi - DAY0_S) // DAY_S, 0, N_DAYS - 1)
        c_lo = self.day_cdf[lo_d]
        c_hi = self.day_cdf[hi_d + 1]
        u = c_lo + rng.random(n) * (c_hi - c_lo)
        day = np.clip(np.searchsorted(self.day_cdf, u, side="right") - 1, lo_d, hi_d)
        t = DAY0_S + day * DAY_S + self.time_of_day(rng, n)
        span = np.minimum(hi - lo, 4 * 3600)
        jitter = (rng.random(n) * span).astype(np.int64)
        t = np.where(t < lo, lo + jitter, t)
        return np.where(t > hi, hi - jitter, t)


def _minute(t: np.ndarray) -> np.ndarray:
    return t - t % 60


# ---------------------------------------------------------------------------------------------
# Vocabulary (every string is encodable in CP932)
# ---------------------------------------------------------------------------------------------
# fmt: off
_SURNAMES = (
    "佐藤", "鈴木", "高橋", "髙橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤",
    "吉田", "山田", "佐々木", "山口", "松本", "井上", "木村", "林", "斎藤", "清水", "山崎",
    "山﨑", "森", "池田", "橋本", "阿部", "石川", "藤田", "小川", "髙木", "岡田",
)
_GIVEN = (
    "翔太", "大輔", "健一", "直樹", "拓也", "美咲", "由美", "恵子", "陽子", "さくら", "花子",
    "太郎", "誠", "亮", "彩", "愛", "真由美", "修", "学", "智子", "ｹﾝｼﾞ", "ﾕｳｺ", "一郎",
)
_FIRM_WORDS = (
    "みらい", "あおば", "さくら", "ひかり", "ＡＢＣ", "ＮＥＸＴ", "ｱｵﾊﾞ", "ﾐﾗｲ", "東京中央",
    "大阪北", "名駅", "ＴＫ", "創成", "共栄", "第一", "第２", "グローバル", "ＳＫＹ",
)
_PREFECTURES = (
    ("東京都", 28), ("大阪府", 12), ("神奈川県", 9), ("愛知県", 8), ("埼玉県", 5),
    ("千葉県", 5), ("福岡県", 5), ("北海道", 4), ("兵庫県", 4), ("京都府", 3), ("静岡県", 3),
    ("広島県", 3), ("宮城県", 3), ("新潟県", 2), ("沖縄県", 2), ("長野県", 2), ("熊本県", 2),
)
# (band, share of firms, relative number of people)
_OFFICE_BANDS = (("1-5", 50, 1.0), ("6-20", 30, 3.5), ("21-50", 15, 9.0), ("51+", 5, 22.0))
_JOB_ROLES = (
    ("税理士", 22), ("公認会計士", 6), ("スタッフ", 55), ("事務長", 5), ("ﾏﾈｰｼﾞｬｰ", 4),
    ("補助者（パート）", 5), ("ＩＴ担当", 3),
)
# client industry -> (weight, endings of client names)
_INDUSTRIES = {
    "飲食": (18, ("食堂", "ｶﾌｪ", "居酒屋", "ラーメン", "寿司")),
    "建設": (16, ("工務店", "建設", "設備", "塗装")),
    "小売": (15, ("商店", "ストア", "酒店", "書店")),
    "IT": (10, ("システムズ", "ソフト", "ﾃｯｸ", "デジタル")),
    "医療": (10, ("クリニック", "歯科", "薬局", "整骨院")),
    "製造": (9, ("製作所", "工業", "精機")),
    "不動産": (8, ("不動産", "住宅", "ハウス")),
    "美容": (6, ("美容室", "サロン", "ﾈｲﾙ")),
    "運輸": (4, ("運輸", "物流")),
    "その他（農業）": (2, ("農園", "ファーム")),
    "教育・学習塾": (2, ("学習塾", "スクール")),
}
_CLIENT_PREFIX = (("㈱", 30), ("株式会社", 25), ("有限会社", 10), ("合同会社", 5), ("", 30))
_CLIENT_WORDS = (
    "山田", "ひまわり", "ＡＢＣ", "ｻﾝﾗｲｽﾞ", "丸の内", "みどり", "髙島", "北斗", "Ｋ＆Ｍ",
    "はなまる", "大和", "ﾌｼﾞ", "さくら", "第３", "東西", "いろは",
)
_CLIENT_SIZE = (("1-5", 45), ("6-20", 35), ("21-100", 15), ("101+", 5))
_PLANS = (
    ("スタンダード", 45), ("プロフェッショナル", 20), ("ミニマム", 20), ("エンタープライズ", 5),
    ("スタンダード＋給与計算", 6), ("ﾌﾟﾛ（年払い）", 3),
    ("スタンダード\n※給与計算は来期検討", 1),
)
_LOST_REASONS = (
    ("価格", 30), ("他社製品を採用", 20), ("他社製品を採用, 乗り換え予定なし", 8),
    ("時期尚早", 20), ("担当者不在\n（再アプローチ予定）", 5), ("機能不足：ＥＤＩ連携", 7),
    ("連絡がつかない", 10),
)
# fmt: on

# ---------------------------------------------------------------------------------------------
# Catalogue: contents, courses, quizzes (fixed, the same at every scale and seed)
# ---------------------------------------------------------------------------------------------
_TALK_INDUSTRIES = ("飲食", "建設", "小売", "IT", "医療", "製造", "不動産", "美容")


@dataclass(frozen=True)
class _Content:
    content_id: str
    title: str
    content_type: str
    industry: str
    topic: str
    published_at: int
    retitled: str = ""  # new title from the last catalogue export on


def _catalogue_contents() -> tuple[_Content, ...]:
    launch = _day_start(dt.date(2026, 3, 25)) + 10 * 3600
    rows: list[tuple[str, str, str, str, int]] = []
    parts = (
        ("①初回アプローチ", "初回アプローチ"),
        ("②アポ獲得", "アポイント"),
        ("③提案・クロージング", "提案"),
    )
    for industry in _TALK_INDUSTRIES:
        for title, topic in parts:
            rows.append(
                (f"トークスクリプト（{industry}）{title}", "talk_script", industry, topic, launch)
            )
    for i, plan in enumerate(
        ("スタンダード", "プロフェッショナル", "ミニマム", "エンタープライズ")
    ):
        rows.append((f"提案資料：{plan}プラン", "sales_deck", "", "提案", launch + i * 60))
    for i, industry in enumerate(_TALK_INDUSTRIES):
        published = DAY0_S + (10 + 21 * i) * DAY_S + 10 * 3600
        rows.append(
            (f"提案書テンプレート（{industry}向け）", "sales_deck", industry, "提案", published)
        )
        rows.append(
            (f"導入事例：{industry}　Ａ社様", "case_study", industry, "導入事例", published)
        )
        rows.append(
            (
                f"導入事例：{industry}　Ｂ社様（従業員２０名）",
                "case_study",
                industry,
                "導入事例",
                published + 7 * DAY_S,
            )
        )
    rows += [
        ("料金表（税込, 年払い）", "sales_deck", "", "料金", launch),
        ("ポータル操作マニュアル", "manual", "", "操作方法\n（初級）", launch),
        ("案件登録の手順", "manual", "", "操作方法", launch),
        ("ステータス更新のルール", "manual", "", "操作方法", launch),
        ("パートナープログラム規約", "manual", "", "規約", launch),
        ("よくある質問　Ｑ＆Ａ", "manual", "", "FAQ", DAY0_S + 40 * DAY_S + 36000),
        ("動画：３分でわかる製品概要", "video", "", "製品概要", launch),
        ("動画：初回訪問ロールプレイ①", "video", "", "初回アプローチ", launch),
        ("動画：初回訪問ロールプレイ②", "video", "", "初回アプローチ", DAY0_S + 30 * DAY_S + 36000),
        ("動画：提案のコツ（飲食・小売）", "video", "", "提案", DAY0_S + 60 * DAY_S + 36000),
        ("動画：インボイス制度ｾﾐﾅｰ", "video", "", "制度", DAY0_S + 90 * DAY_S + 36000),
        ("動画：電子帳簿保存法ｾﾐﾅｰ", "video", "", "制度", DAY0_S + 120 * DAY_S + 36000),
        ("トークスクリプト（飲食）④継続提案", "talk_script", "飲食", "継続", NEW_CONTENT_AT_S),
        ("トークスクリプト（医療）④継続提案", "talk_script", "医療", "継続", NEW_CONTENT_AT_S),
        ("動画：継続合意までの流れ", "video", "", "継続", NEW_CONTENT_AT_S + 3600),
    ]
    contents = []
    for i, (title, ctype, industry, topic, published) in enumerate(rows):
        retitled = f"{title}（改訂版）" if i in (0, 30) else ""
        contents.append(
            _Content(f"C{i + 1:04d}", title, ctype, industry, topic, published, retitled)
        )
    return tuple(contents)


@dataclass(frozen=True)
class _Course:
    course_id: str
    title: str
    lesson_count: int
    is_required: bool
    required_from: dt.date | None = None  # becomes required in the exports from this date


_COURSES: tuple[_Course, ...] = (
    _Course("CR001", "ポータルの使い方", 5, True),
    _Course("CR002", "製品基礎", 8, True),
    _Course("CR003", "パートナープログラム規約", 3, True),
    _Course("CR004", "提案の進め方", 6, True),
    _Course("CR005", "トークスクリプト活用講座", 6, False, dt.date(2026, 10, 28)),
    _Course("CR006", "業種別提案：飲食", 4, False),
    _Course("CR007", "業種別提案：建設", 4, False),
    _Course("CR008", "業種別提案：医療", 4, False),
    _Course("CR009", "給与計算オプション", 5, False),
    _Course("CR010", "インボイス制度対応", 7, False),
    _Course("CR011", "電子帳簿保存法", 5, False),
    _Course("CR012", "上級認定アドバイザー講座", 10, False),
)


@dataclass(frozen=True)
class _Quiz:
    quiz_id: str
    course_index: int  # -1: not tied to a course
    title: str
    max_score: int
    pass_score: int
    difficulty: float
    retitled: str = ""


def _catalogue_quizzes() -> tuple[_Quiz, ...]:
    quizzes = []
    number = 0
    for ci, course in enumerate(_COURSES):
        if course.course_id == "CR003":
            continue
        number += 1
        max_score, pass_score = (10, 8) if ci in (0, 8) else (100, 70)
        difficulty = 0.05 * (ci % 4)
        retitled = f"{course.title}　確認テスト（改訂）" if ci == 1 else ""
        quizzes.append(
            _Quiz(
                f"Q{number:03d}",
                ci,
                f"{course.title}　確認テスト",
                max_score,
                pass_score,
                difficulty,
                retitled,
            )
        )
    for k, (title, max_score, pass_score) in enumerate(
        (("理解度チェック①", 20, 14), ("理解度チェック②", 20, 14), ("総合テスト", 100, 80))
    ):
        quizzes.append(
            _Quiz(f"Q{number + k + 1:03d}", -1, title, max_score, pass_score, 0.05 + 0.05 * k)
        )
    return tuple(quizzes)


CONTENTS = _catalogue_contents()
QUIZZES = _catalogue_quizzes()

# ---------------------------------------------------------------------------------------------
# The simulated world
# ---------------------------------------------------------------------------------------------


def _weighted(pairs: Sequence[tuple]) -> tuple[list, np.ndarray]:
    values = [p[0] for p in pairs]
    weights = np.array([p[1] for p in pairs], dtype=float)
    return values, weights / weights.sum()


def _pick(rng: np.random.Generator, pairs: Sequence[tuple], n: int) -> np.ndarray:
    values, p = _weighted(pairs)
    return np.array(values, dtype=object)[rng.choice(len(values), n, p=p)]


@dataclass
class _Firms:
    ids: np.ndarray
    names: np.ndarray
    new_names: np.ndarray  # name after change_at ('' = unchanged)
    prefecture: np.ndarray
    band: np.ndarray
    band_people_weight: np.ndarray
    rank: np.ndarray  # 0 = not certified
    new_rank: np.ndarray
    change_at: np.ndarray
    joined_day: np.ndarray  # days since the Unix epoch
    updated_at: np.ndarray
    weight: np.ndarray


_FIRM_NAME_FORMS = (
    ("{surname}税理士事務所", 25),
    ("税理士法人{word}", 20),
    ("{surname}会計事務所", 25),
    ("㈱{word}会計", 8),
    ("{word}会計事務所　第１事務所", 5),
    ("{surname}・{word}会計", 14),
    ("{surname}会計事務所, {prefecture}支所", 3),
)


def _firm_names(rng: np.random.Generator, n: int) -> np.ndarray:
    forms = _pick(rng, _FIRM_NAME_FORMS, n)
    surname = rng.integers(0, len(_SURNAMES), n)
    word = rng.integers(0, len(_FIRM_WORDS), n)
    pref = rng.integers(0, len(_PREFECTURES), n)
    return np.array(
        [
            form.format(surname=_SURNAMES[s], word=_FIRM_WORDS[w], prefecture=_PREFECTURES[p][0])
            for form, s, w, p in zip(
                forms.tolist(), surname.tolist(), word.tolist(), pref.tolist(), strict=True
            )
        ],
        dtype=object,
    )


def _make_firms(rng: np.random.Generator, n: int) -> _Firms:
    band_idx = rng.choice(len(_OFFICE_BANDS), n, p=_weighted(_OFFICE_BANDS)[1])
    band = np.array([b[0] for b in _OFFICE_BANDS], dtype=object)[band_idx]
    band_w = np.array([b[2] for b in _OFFICE_BANDS])[band_idx]
    rank = np.where(rng.random(n) < 0.5, 0, rng.integers(1, 4, n)).astype(np.int64)
    # Most firms joined at the launch; the rest in waves up to the end of September.
    start_day = (PROGRAMME_START - _EPOCH).days
    late = rng.random(n) < 0.4
    joined = start_day + np.where(late, rng.integers(1, 183, n), 0)
    # Activity: most firms quiet, some moderate, a few very active.
    tier = rng.choice(3, n, p=[0.65, 0.30, 0.05])
    weight = rng.lognormal(np.array([-2.5, 0.0, 1.5])[tier], 0.5)
    updated = joined * DAY_S - JST_OFFSET_S + 9 * 3600 + rng.integers(0, 9 * 60, n) * 60
    # Changes: a new advisor rank (or a new name for rank-3 firms); half in the final week.
    changes = rng.random(n) < 0.06
    in_final_week = rng.random(n) < 0.5
    change_at = np.where(
        in_final_week,
        BULK_CUTOFF_S + 1 + rng.integers(0, 7 * 24 * 60, n) * 60,
        updated + rng.integers(1, 120, n) * DAY_S,
    )
    change_at = np.where(changes & (change_at <= WINDOW_END_S), _minute(change_at), NEVER)
    rename = (change_at != NEVER) & (rank == 3)
    new_rank = np.where((change_at != NEVER) & ~rename, np.minimum(rank + 1, 3), rank)
    names = _firm_names(rng, n)
    words = rng.integers(0, len(_FIRM_WORDS), n)
    new_names = np.array(
        [f"税理士法人{_FIRM_WORDS[w]}" if r else "" for w, r in zip(words, rename, strict=True)],
        dtype=object,
    )
    return _Firms(
        ids=np.array([f"P{i + 1:05d}" for i in range(n)], dtype=object),
        names=names,
        new_names=new_names,
        prefecture=_pick(rng, _PREFECTURES, n),
        band=band,
        band_people_weight=band_w,
        rank=rank,
        new_rank=new_rank,
        change_at=change_at,
        joined_day=joined,
        updated_at=updated,
        weight=weight,
    )


@dataclass
class _People:
    ids: np.ndarray
    firm: np.ndarray
    firm_ids: np.ndarray  # partner_id by firm index
    names: np.ndarray
    emails: np.ndarray  # '' = no email
    job_role: np.ndarray
    issued_at: np.ndarray
    first_login: np.ndarray  # NEVER = invited, never logged in
    active_end: np.ndarray  # no activity after this instant
    status_at: np.ndarray  # when status changed (NEVER = stays active)
    new_status: np.ndarray
    certified_at: np.ndarray
    weight: np.ndarray
    learner: np.ndarray  # reads talk scripts, studies, passes quizzes

    @property
    def n(self) -> int:
        return int(self.ids.size)

    @property
    def active(self) -> np.ndarray:
        return self.first_login != NEVER


def _make_people(rng: np.random.Generator, cal: _Calendar, firms: _Firms, n: int) -> _People:
    n_firms = firms.ids.size
    weight = firms.band_people_weight * rng.lognormal(0.0, 0.5, n_firms)
    counts = 1 + rng.multinomial(n - n_firms, weight / weight.sum())
    firm = np.repeat(np.arange(n_firms), counts)
    rank_in_firm = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    joined_s = firms.joined_day[firm] * DAY_S - JST_OFFSET_S
    first_of_firm = rank_in_firm == 0
    early = rng.random(n) < 0.7
    offset_days = np.where(
        first_of_firm,
        rng.random(n) * 2,
        np.where(early, rng.exponential(10.0, n), rng.random(n) * N_DAYS),
    )
    # Accounts are issued during office hours, from the day the firm joined on.
    issued = joined_s + offset_days.astype(np.int64) * DAY_S + cal.time_of_day(rng, n)
    issued = _minute(np.minimum(issued, WINDOW_END_S - 3 * 3600))
    # Ids are issued in time order.
    order = np.argsort(issued, kind="stable")
    firm, issued, first_of_firm = firm[order], issued[order], first_of_firm[order]

    invited_only = rng.random(n) < 0.08
    first_login = _minute(issued + (rng.exponential(2.0, n) * DAY_S).astype(np.int64) + 60)
    first_login = np.where(invited_only | (first_login > WINDOW_END_S), NEVER, first_login)
    active = first_login != NEVER

    # Suspended (3%) and deleted (2%) accounts; about a third of the changes in the final week.
    r = rng.random(n)
    new_status = np.where(r < 0.03, "suspended", np.where(r < 0.05, "deleted", "active"))
    change_from = issued + 14 * DAY_S
    in_final_week = rng.random(n) < 0.35
    status_at = np.where(
        in_final_week,
        BULK_CUTOFF_S + 1 + rng.integers(0, 7 * 24 * 60, n) * 60,
        change_from + (rng.random(n) * np.maximum(WINDOW_END_S - change_from, 0)).astype(np.int64),
    )
    status_at = np.where(
        (new_status != "active") & (status_at > issued) & (status_at <= WINDOW_END_S),
        _minute(status_at),
        NEVER,
    )
    new_status = np.where(status_at == NEVER, "active", new_status).astype(object)

    dormant = active & (rng.random(n) < 0.15)
    login_start = np.where(active, first_login, 0)
    dormant_at = login_start + (rng.uniform(0.1, 1.0, n) * (WINDOW_END_S - login_start)).astype(
        np.int64
    )
    active_end = np.minimum(WINDOW_END_S, status_at)
    active_end = np.where(dormant, np.minimum(active_end, dormant_at), active_end)
    active = active & (active_end > first_login)
    first_login = np.where(active, first_login, NEVER)

    weight = firms.weight[firm] * rng.lognormal(0.0, 1.0, n)
    learner = rng.random(n) < np.clip(0.2 + 0.1 * np.log1p(weight), 0.1, 0.6)
    certified_at = np.where(
        rng.random(n) < 0.15,
        issued,
        np.where(
            learner & active & (rng.random(n) < 0.3),
            _minute(issued + (rng.random(n) * (WINDOW_END_S - issued)).astype(np.int64)),
            NEVER,
        ),
    )
    job_role = _pick(rng, _JOB_ROLES, n)
    job_role[first_of_firm] = "代表"
    surname = rng.integers(0, len(_SURNAMES), n)
    given = rng.integers(0, len(_GIVEN), n)
    sep = rng.choice(3, n, p=[0.6, 0.25, 0.15])
    names = np.array(
        [
            _SURNAMES[s] + ("　", " ", "")[k] + _GIVEN[g]
            for s, g, k in zip(surname.tolist(), given.tolist(), sep.tolist(), strict=True)
        ],
        dtype=object,
    )
    ids = np.array([f"U{i + 1:06d}" for i in range(n)], dtype=object)
    has_email = rng.random(n) >= 0.1
    emails = np.array(
        [
            f"{uid.lower()}@p{f + 1:05d}.example.jp" if e else ""
            for uid, f, e in zip(ids.tolist(), firm.tolist(), has_email.tolist(), strict=True)
        ],
        dtype=object,
    )
    return _People(
        ids=ids,
        firm=firm,
        firm_ids=firms.ids,
        names=names,
        emails=emails,
        job_role=job_role,
        issued_at=issued,
        first_login=first_login,
        active_end=active_end,
        status_at=status_at,
        new_status=new_status,
        certified_at=certified_at,
        weight=weight,
        learner=learner,
    )


# Funnel transitions. Rows: current state (STATUS_LABELS index); columns: next state 0..7,
# then 8 = no further change. For 保留 (on hold) column 7 means "resume the state before".
_STOP = 8
_TRANSITIONS = np.array(
    [
        [0.00, 0.42, 0.15, 0.04, 0.00, 0.00, 0.08, 0.05, 0.26],  # アプローチ予定
        [0.03, 0.00, 0.40, 0.18, 0.00, 0.00, 0.12, 0.05, 0.22],  # アポ打診
        [0.02, 0.00, 0.00, 0.45, 0.02, 0.00, 0.12, 0.06, 0.33],  # アポ設定中
        [0.00, 0.00, 0.04, 0.00, 0.40, 0.04, 0.18, 0.07, 0.27],  # 提案済み
        [0.00, 0.00, 0.00, 0.04, 0.00, 0.55, 0.10, 0.04, 0.27],  # 提案合意
        [0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 1.00],  # 継続合意 (final)
        [0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 1.00],  # 失注 (final)
        [0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.25, 0.40, 0.35],  # 保留
    ]
)
# Mean days until the next change, per current state.
_MEAN_GAP_DAYS = np.array([6.0, 5.0, 10.0, 14.0, 18.0, 1.0, 1.0, 20.0])
# People who read talk scripts and pass quizzes turn appointments into proposals more often.
_PROPOSAL_BOOST = {True: 1.5, False: 0.75}
_INITIAL_STATE = ((0, 88), (1, 5), (2, 4), (3, 3))


@dataclass
class _Deals:
    ids: np.ndarray
    owner: np.ndarray
    new_owner: np.ndarray  # -1 = no reassignment
    reassigned_at: np.ndarray
    registered_at: np.ndarray
    client_name: np.ndarray
    industry: np.ndarray
    size_band: np.ndarray
    plan: np.ndarray
    approach_day: np.ndarray  # days since the epoch, -1 = empty
    lost_reason: np.ndarray
    expected_mrr: np.ndarray  # -1 = empty
    # status events, sorted by (deal, time)
    ev_deal: np.ndarray
    ev_at: np.ndarray
    ev_state: np.ndarray
    ev_actor: np.ndarray  # -1 = system change
    ev_start: np.ndarray  # first event row of each deal

    @property
    def n(self) -> int:
        return int(self.ids.size)


def _office_hours(
    rng: np.random.Generator, cal: _Calendar, raw: np.ndarray, earliest: np.ndarray
) -> np.ndarray:
    """Moves each instant to a usual time of its day; never before ``earliest``."""
    day_start = (raw + JST_OFFSET_S) // DAY_S * DAY_S - JST_OFFSET_S
    snapped = day_start + cal.time_of_day(rng, raw.size)
    soon = earliest + rng.integers(0, 180, raw.size) * 60
    return np.where(snapped <= earliest, soon, snapped)


def _next_change_at(
    rng: np.random.Generator, cal: _Calendar, t: np.ndarray, mean_days: np.ndarray
) -> np.ndarray:
    raw = t + (rng.exponential(mean_days) * DAY_S).astype(np.int64)
    return _minute(_office_hours(rng, cal, raw, t + 600))


def _simulate_funnel(
    rng: np.random.Generator,
    cal: _Calendar,
    owner: np.ndarray,
    registered: np.ndarray,
    people: _People,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = owner.size
    init_values, init_p = _weighted(_INITIAL_STATE)
    state = np.array(init_values)[rng.choice(len(init_values), n, p=init_p)]
    prev_active = state.copy()
    t = registered.copy()
    limit = people.active_end[owner]
    boost = np.where(people.learner[owner], _PROPOSAL_BOOST[True], _PROPOSAL_BOOST[False])
    deal_parts = [np.arange(n)]
    at_parts = [t.copy()]
    state_parts = [state.copy()]
    actor_parts = [owner.copy()]
    alive = np.ones(n, dtype=bool)
    for _ in range(14):
        idx = np.nonzero(alive)[0]
        if idx.size == 0:
            break
        s = state[idx]
        probs = _TRANSITIONS[s].copy()
        appointment = (s == 1) | (s == 2)
        to_proposal = probs[:, 3] * np.where(appointment, boost[idx], 1.0)
        probs[:, _STOP] = np.maximum(probs[:, _STOP] - (to_proposal - probs[:, 3]), 0.0)
        probs[:, 3] = to_proposal
        probs /= probs.sum(axis=1, keepdims=True)
        outcome = (rng.random(idx.size)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
        outcome = np.minimum(outcome, _STOP)
        new_state = np.where((s == 7) & (outcome == 7), prev_active[idx], outcome)
        new_t = _next_change_at(rng, cal, t[idx], _MEAN_GAP_DAYS[s])
        happens = (outcome != _STOP) & (new_t <= limit[idx])
        moved = idx[happens]
        ns = new_state[happens]
        deal_parts.append(moved)
        at_parts.append(new_t[happens])
        state_parts.append(ns)
        # A fifth of the losses are recorded by the system (no person).
        system = (ns == 6) & (rng.random(moved.size) < 0.2)
        actor_parts.append(np.where(system, -1, owner[moved]))
        state[moved] = ns
        t[moved] = new_t[happens]
        keep_prev = ns == 7
        prev_active[moved] = np.where(keep_prev, prev_active[moved], ns)
        alive[idx[~happens]] = False
        alive[moved[(ns == 5) | (ns == 6)]] = False
    return (
        np.concatenate(deal_parts),
        np.concatenate(at_parts),
        np.concatenate(state_parts),
        np.concatenate(actor_parts),
    )


def _client_names(rng: np.random.Generator, industry: np.ndarray) -> np.ndarray:
    n = industry.size
    prefix = _pick(rng, _CLIENT_PREFIX, n)
    word = rng.integers(0, len(_CLIENT_WORDS), n)
    ending_pick = rng.integers(0, 5, n)
    extra = rng.random(n)
    names = []
    for p, w, e, ind, x in zip(
        prefix.tolist(),
        word.tolist(),
        ending_pick.tolist(),
        industry.tolist(),
        extra.tolist(),
        strict=True,
    ):
        endings = _INDUSTRIES[ind][1]
        name = f"{p}{_CLIENT_WORDS[w]}{endings[e % len(endings)]}"
        if x < 0.02:
            name += ", 本店"
        elif x < 0.05:
            name += "　①号店"
        names.append(name)
    return np.array(names, dtype=object)


def _make_deals(rng: np.random.Generator, cal: _Calendar, people: _People, n: int) -> _Deals:
    window = np.where(people.active, people.active_end - people.first_login, 0)
    eligible = window >= DAY_S
    p = np.where(eligible, people.weight * window / DAY_S, 0.0)
    owner = rng.choice(people.n, n, p=p / p.sum())
    registered = _minute(
        cal.sample(rng, people.first_login[owner] + 60, people.active_end[owner] - 3600)
    )
    deal_i, ev_at, ev_state, ev_actor = _simulate_funnel(rng, cal, owner, registered, people)

    # Deal ids follow the registration order.
    order = np.argsort(registered, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    owner, registered = owner[order], registered[order]
    deal_i = rank[deal_i]
    ev_order = np.lexsort((ev_at, deal_i))
    ev_deal, ev_at, ev_state, ev_actor = (
        deal_i[ev_order],
        ev_at[ev_order],
        ev_state[ev_order],
        ev_actor[ev_order],
    )
    counts = np.bincount(ev_deal, minlength=n)
    ev_start = np.cumsum(counts) - counts
    last_at = ev_at[ev_start + counts - 1]

    industries = list(_INDUSTRIES)
    ind_p = np.array([_INDUSTRIES[k][0] for k in industries], dtype=float)
    industry = np.array(industries, dtype=object)[
        rng.choice(len(industries), n, p=ind_p / ind_p.sum())
    ]
    first_state = ev_state[ev_start]
    planned = rng.random(n) < np.where(first_state == 0, 0.85, 0.3)
    reg_day = (registered + JST_OFFSET_S) // DAY_S
    approach_day = np.where(
        planned,
        np.where(
            first_state == 0, reg_day + rng.integers(1, 46, n), reg_day - rng.integers(0, 20, n)
        ),
        -1,
    )
    mrr = np.where(rng.random(n) < 0.2, -1, rng.integers(30, 500, n) * 100)

    # Deals of people who left or went quiet are often handed to a colleague of the same firm.
    new_owner = np.full(n, -1, dtype=np.int64)
    reassigned_at = np.full(n, NEVER, dtype=np.int64)
    leaving = (people.active_end[owner] < WINDOW_END_S) & (rng.random(n) < 0.5)
    handover = _minute(
        np.maximum(last_at, people.active_end[owner])
        + (rng.exponential(4.0, n) * DAY_S).astype(np.int64)
        + 3600
    )
    by_firm = np.argsort(people.firm, kind="stable")
    firm_start = np.searchsorted(people.firm[by_firm], np.arange(people.firm.max() + 2))
    picks = rng.random(n)
    for d in np.nonzero(leaving & (handover <= WINDOW_END_S - 3600))[0].tolist():
        f = people.firm[owner[d]]
        members = by_firm[firm_start[f] : firm_start[f + 1]]
        at = handover[d]
        ok = members[
            (members != owner[d])
            & (people.first_login[members] <= at)
            & (people.active_end[members] >= at)
        ]
        if ok.size:
            new_owner[d] = ok[int(picks[d] * ok.size)]
            reassigned_at[d] = at
    return _Deals(
        ids=np.array([f"D{i + 1:07d}" for i in range(n)], dtype=object),
        owner=owner,
        new_owner=new_owner,
        reassigned_at=reassigned_at,
        registered_at=registered,
        client_name=_client_names(rng, industry),
        industry=industry,
        size_band=_pick(rng, _CLIENT_SIZE, n),
        plan=_pick(rng, _PLANS, n),
        approach_day=approach_day,
        lost_reason=_pick(rng, _LOST_REASONS, n),
        expected_mrr=mrr,
        ev_deal=ev_deal,
        ev_at=ev_at,
        ev_state=ev_state,
        ev_actor=ev_actor,
        ev_start=ev_start,
    )


@dataclass
class _Lessons:
    user: np.ndarray
    course: np.ndarray
    lesson: np.ndarray  # 1-based lesson number
    at: np.ndarray
    order_variant: np.ndarray  # 1 = keys in another order
    via: np.ndarray  # 1 = extra unknown key


def _make_lessons(rng: np.random.Generator, cal: _Calendar, people: _People) -> _Lessons:
    n, n_courses = people.n, len(_COURSES)
    required = np.array([c.is_required for c in _COURSES])
    lessons = np.array([c.lesson_count for c in _COURSES])
    learner = people.learner[:, None]
    p_start = np.where(required, np.where(learner, 0.95, 0.8), np.where(learner, 0.45, 0.12))
    started = (rng.random((n, n_courses)) < p_start) & people.active[:, None]
    full = rng.random((n, n_courses)) < np.where(learner, 0.85, 0.6)
    partial = np.ceil(rng.random((n, n_courses)) * (lessons - 1)).astype(np.int64)
    done = np.where(started, np.where(full, lessons, np.maximum(partial, 1)), 0)
    pair_user, pair_course = np.nonzero(done)
    k = done[pair_user, pair_course]
    lo = people.first_login[pair_user]
    end = people.active_end[pair_user]
    hi = np.where(required[pair_course], np.minimum(end, lo + 21 * DAY_S), end)
    start = cal.sample(rng, lo, hi)
    row_user = np.repeat(pair_user, k)
    row_course = np.repeat(pair_course, k)
    first_row = np.cumsum(k) - k
    lesson_no = np.arange(k.sum()) - np.repeat(first_row, k) + 1
    gaps = (rng.exponential(1.5, row_user.size) * DAY_S).astype(np.int64) + 300
    gaps[first_row] = 0
    csum = np.cumsum(gaps)
    at = np.repeat(start, k) + csum - np.repeat(csum[first_row], k)
    at = _office_hours(rng, cal, at, np.repeat(start, k) + 300)
    at[first_row] = start
    # Lessons of a course are completed in order.
    at = at[np.lexsort((at, np.repeat(np.arange(k.size), k)))]
    keep = at <= people.active_end[row_user]
    m = int(keep.sum())
    return _Lessons(
        user=row_user[keep],
        course=row_course[keep],
        lesson=lesson_no[keep],
        at=at[keep],
        order_variant=(rng.random(m) < 0.2).astype(np.int8),
        via=(rng.random(m) < 0.05).astype(np.int8),
    )


@dataclass
class _Attempts:
    user: np.ndarray
    quiz: np.ndarray
    at: np.ndarray
    score: np.ndarray


def _make_attempts(
    rng: np.random.Generator, cal: _Calendar, people: _People, lessons: _Lessons
) -> _Attempts:
    n_courses = len(_COURSES)
    quiz_of_course = np.full(n_courses, -1)
    for qi, quiz in enumerate(QUIZZES):
        if quiz.course_index >= 0:
            quiz_of_course[quiz.course_index] = qi
    # Who finished a course, and when (the last lesson).
    full = np.array([c.lesson_count for c in _COURSES])[lessons.course] == lessons.lesson
    f_user, f_course, f_at = lessons.user[full], lessons.course[full], lessons.at[full]
    with_quiz = quiz_of_course[f_course] >= 0
    take = with_quiz & (rng.random(f_user.size) < np.where(people.learner[f_user], 0.95, 0.8))
    users = [f_user[take]]
    quiz = [quiz_of_course[f_course[take]]]
    raw = f_at[take] + (rng.exponential(1.0, int(take.sum())) * DAY_S).astype(np.int64)
    after = _office_hours(rng, cal, raw, f_at[take] + 600)
    at = [after]
    # Quizzes without a course: anyone active may take them.
    for qi, q in enumerate(QUIZZES):
        if q.course_index >= 0:
            continue
        p = np.where(people.learner, 0.35, 0.1) * people.active
        who = np.nonzero(rng.random(people.n) < p)[0]
        users.append(who)
        quiz.append(np.full(who.size, qi))
        at.append(cal.sample(rng, people.first_login[who], people.active_end[who]))
    u = np.concatenate(users)
    q = np.concatenate(quiz)
    t = _minute(np.concatenate(at))
    max_score = np.array([x.max_score for x in QUIZZES])
    pass_score = np.array([x.pass_score for x in QUIZZES])
    difficulty = np.array([x.difficulty for x in QUIZZES])
    ability = rng.normal(0.68 + 0.14 * people.learner, 0.12)
    frac = ability[u] - difficulty[q] + rng.normal(0.0, 0.1, u.size)
    out_u, out_q, out_t, out_s = [], [], [], []
    alive = np.ones(u.size, dtype=bool)
    for _ in range(3):
        idx = np.nonzero(alive & (t <= people.active_end[u]))[0]
        score = np.round(np.clip(frac[idx], 0.1, 1.0) * max_score[q[idx]]).astype(np.int64)
        out_u.append(u[idx])
        out_q.append(q[idx])
        out_t.append(t[idx])
        out_s.append(score)
        alive[:] = False
        failed = idx[score < pass_score[q[idx]]]
        retry = failed[rng.random(failed.size) < 0.75]
        alive[retry] = True
        raw = t[retry] + (rng.exponential(2.0, retry.size) * DAY_S).astype(np.int64)
        t[retry] = _minute(_office_hours(rng, cal, raw, t[retry] + 3600))
        frac[retry] += 0.12 + rng.normal(0.0, 0.05, retry.size)
    return _Attempts(
        user=np.concatenate(out_u),
        quiz=np.concatenate(out_q),
        at=np.concatenate(out_t),
        score=np.concatenate(out_s),
    )


@dataclass
class _Logins:
    user: np.ndarray
    at: np.ndarray
    device: np.ndarray  # 0 pc, 1 mobile, 2 key missing, 3 null
    utc: np.ndarray  # 1 = written with 'Z'
    ip: np.ndarray  # 1 = extra unknown key


def _make_logins(rng: np.random.Generator, cal: _Calendar, people: _People, n: int) -> _Logins:
    first = np.nonzero(people.active)[0]
    rest = n - first.size
    if rest < 0:
        raise ValueError(f"login budget {n} is below the {first.size} people who logged in")
    window = np.where(people.active, (people.active_end - people.first_login) / DAY_S, 0.0)
    p = people.weight**0.7 * window
    counts = rng.multinomial(rest, p / p.sum())
    u = np.repeat(np.arange(people.n), counts)
    at = cal.sample(rng, people.first_login[u], people.active_end[u])
    user = np.concatenate([first, u])
    at = np.concatenate([people.first_login[first], at])
    m = user.size
    return _Logins(
        user=user,
        at=at,
        device=rng.choice(4, m, p=[0.62, 0.30, 0.05, 0.03]).astype(np.int8),
        utc=(rng.random(m) < 0.3).astype(np.int8),
        ip=(rng.random(m) < 0.05).astype(np.int8),
    )


@dataclass
class _Views:
    user: np.ndarray
    content: np.ndarray
    at: np.ndarray
    download: np.ndarray
    duration: np.ndarray  # -1 = key missing, -2 = null
    utc: np.ndarray
    session: np.ndarray  # 0 = no extra key


def _make_views(rng: np.random.Generator, cal: _Calendar, people: _People, n: int) -> _Views:
    window = np.where(people.active, (people.active_end - people.first_login) / DAY_S, 0.0)
    p = people.weight * window * np.where(people.learner, 1.6, 1.0)
    counts = rng.multinomial(n, p / p.sum())
    u = np.repeat(np.arange(people.n), counts)
    at = cal.sample(rng, people.first_login[u], people.active_end[u])
    published = np.array([c.published_at for c in CONTENTS])
    talk = np.array([c.content_type == "talk_script" for c in CONTENTS])
    launched = published <= DAY0_S
    talk_ids, other_ids = np.nonzero(talk)[0], np.nonzero(~talk)[0]
    popularity = 1.0 / np.arange(1, other_ids.size + 1) ** 0.8
    popularity = rng.permutation(popularity)
    is_talk = rng.random(u.size) < np.where(people.learner[u], 0.45, 0.10)
    content = np.where(
        is_talk,
        talk_ids[rng.integers(0, talk_ids.size, u.size)],
        other_ids[rng.choice(other_ids.size, u.size, p=popularity / popularity.sum())],
    )
    # A material cannot be viewed before it is published: fall back to a launch material.
    talk_launch = np.nonzero(talk & launched)[0]
    other_launch = np.nonzero(~talk & launched)[0]
    early = published[content] > at
    fallback = np.where(
        talk[content],
        talk_launch[rng.integers(0, talk_launch.size, u.size)],
        other_launch[rng.integers(0, other_launch.size, u.size)],
    )
    content = np.where(early, fallback, content)
    download = rng.random(u.size) < 0.18
    seconds = np.round(rng.lognormal(4.5, 0.9, u.size) * np.where(talk[content], 2.0, 1.0))
    duration = np.where(
        download,
        np.where(rng.random(u.size) < 0.7, -1, -2),
        np.where(rng.random(u.size) < 0.08, -1, seconds.astype(np.int64) + 1),
    )
    session = np.where(rng.random(u.size) < 0.1, rng.integers(1, 10**8, u.size), 0)
    return _Views(
        user=u,
        content=content,
        at=at,
        download=download,
        duration=duration,
        utc=(rng.random(u.size) < 0.25).astype(np.int8),
        session=session,
    )


# ---------------------------------------------------------------------------------------------
# Batching of events into export files
# ---------------------------------------------------------------------------------------------


def _cutoff(k: int) -> int:
    """End of the day of export ``k`` (index into EXPORT_DATES)."""
    return _day_start(EXPORT_DATES[k]) + DAY_S - 1


def _batches(rng: np.random.Generator, at: np.ndarray) -> list[np.ndarray]:
    """Row indices of each export batch in file order: repeats, on-time events, late arrivals."""
    day = (at + JST_OFFSET_S) // DAY_S
    bulk_day = (BULK_EXPORT_DATE - _EPOCH).days
    last_day = (WINDOW_END - _EPOCH).days
    late = (day >= bulk_day - LATE_MAX_DAYS) & (rng.random(at.size) < LATE_SHARE)
    arrival = np.minimum(
        day + np.where(late, rng.integers(1, LATE_MAX_DAYS + 1, at.size), 0), last_day
    )
    export = np.maximum(arrival - bulk_day, 0)
    late = late & (export > np.maximum(day - bulk_day, 0))
    order = np.argsort(at, kind="stable")
    export_sorted = export[order]
    late_sorted = late[order]
    batches: list[np.ndarray] = []
    previous = np.empty(0, dtype=np.int64)
    for k in range(len(EXPORT_DATES)):
        in_batch = export_sorted == k
        on_time = order[in_batch & ~late_sorted]
        arrived_late = order[in_batch & late_sorted]
        repeat = previous[at[previous] > _cutoff(k - 1) - OVERLAP_HOURS * 3600] if k else previous
        repeat = repeat[np.argsort(at[repeat], kind="stable")]
        batch = np.concatenate([repeat, on_time, arrived_late])
        batches.append(batch)
        previous = np.concatenate([on_time, arrived_late])
    return batches


# ---------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvDialect:
    encoding: str  # python codec: 'utf-8', 'utf-8-sig' (BOM) or 'cp932'
    line_end: str
    timestamps: str  # 'seconds': YYYY-MM-DD HH:MM:SS, 'minutes': YYYY/MM/DD HH:MM
    booleans: tuple[str, str]  # (true, false)
    empty: str  # '', 'NULL', '-' or 'mixed' (a per-row choice, including blanks)


CSV_DIALECTS: tuple[CsvDialect, ...] = (
    CsvDialect("utf-8", "\n", "seconds", ("true", "false"), "NULL"),  # the portal's own export
    CsvDialect("cp932", "\r\n", "minutes", ("○", "×"), ""),  # Excel on Japanese Windows
    CsvDialect("utf-8-sig", "\r\n", "minutes", ("TRUE", "FALSE"), ""),  # Excel "CSV UTF-8"
    CsvDialect("utf-8", "\r\n", "seconds", ("1", "0"), "-"),
    CsvDialect("cp932", "\n", "seconds", ("1", "0"), "mixed"),
)
_MIXED_EMPTY = np.array(["", "NULL", "-", "  "], dtype=object)


def csv_dialect(source: str, export_date: dt.date) -> CsvDialect:
    """The dialect of a CSV source's file of ``export_date``: rotates with source and day."""
    i = _CSV_SOURCE_ORDER.index(source)
    k = EXPORT_DATES.index(export_date)
    return CSV_DIALECTS[(i + k) % len(CSV_DIALECTS)]


_NEEDS_QUOTES = re.compile(r'[,"\r\n]|^\s|\s$')


def _quote(value: str) -> str:
    if _NEEDS_QUOTES.search(value):
        return '"' + value.replace('"', '""') + '"'
    return value


def _quoted(values: Iterable[str]) -> list[str]:
    return [_quote(v) for v in values]


@functools.cache
def _clock(separator: str, seconds: bool) -> np.ndarray:
    """Time-of-day texts indexed by second of the day, each led by ``separator``."""
    sod = np.arange(DAY_S)
    if seconds:
        texts = [
            f"{separator}{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in sod.tolist()
        ]
    else:
        texts = [f"{separator}{s // 3600:02d}:{s // 60 % 60:02d}" for s in sod.tolist()]
    return np.array(texts, dtype=object)


def _day_texts(days: np.ndarray, separator: str) -> tuple[np.ndarray, int]:
    """``YYYY-MM-DD`` texts for the days from ``days.min()`` on (with ``separator``)."""
    first, last = int(days.min()), int(days.max())
    texts = np.datetime_as_string(np.arange(first, last + 1).astype("datetime64[D]"))
    if separator != "-":
        texts = np.char.replace(texts, "-", separator)
    return texts.astype(object), first


def _csv_timestamps(t: np.ndarray, style: str) -> list[str]:
    """Japan-time wall clock: ``YYYY-MM-DD HH:MM:SS`` or ``YYYY/MM/DD HH:MM``."""
    if t.size == 0:
        return []
    local = t + JST_OFFSET_S
    day, sod = local // DAY_S, local % DAY_S
    if style == "seconds":
        names, first = _day_texts(day, "-")
        return (names[day - first] + _clock(" ", True)[sod]).tolist()
    names, first = _day_texts(day, "/")
    return (names[day - first] + _clock(" ", False)[sod]).tolist()


_ZONE_SUFFIX = np.array(["+09:00", "Z"], dtype=object)


def _json_timestamps(t: np.ndarray, utc: np.ndarray) -> list[str]:
    """ISO-8601 with ``+09:00`` (Japan time) or, where ``utc`` is 1, ``Z`` (UTC)."""
    if t.size == 0:
        return []
    utc = utc.astype(np.int64)
    local = t + np.where(utc == 1, 0, JST_OFFSET_S)
    day, sod = local // DAY_S, local % DAY_S
    names, first = _day_texts(day, "-")
    return (names[day - first] + _clock("T", True)[sod] + _ZONE_SUFFIX[utc]).tolist()


def _dates(days: np.ndarray) -> list[str]:
    return np.datetime_as_string(days.astype("datetime64[D]")).tolist()


class _Cells:
    """Renders optional and boolean cells in one file's dialect."""

    def __init__(self, dialect: CsvDialect, file_name: str, seed: int) -> None:
        self.dialect = dialect
        self.rng = np.random.default_rng([seed, zlib.crc32(file_name.encode())])

    def empties(self, n: int) -> list[str]:
        if self.dialect.empty == "mixed":
            return _MIXED_EMPTY[self.rng.integers(0, _MIXED_EMPTY.size, n)].tolist()
        return [self.dialect.empty] * n

    def optional(self, values: Sequence[str], present: np.ndarray) -> list[str]:
        blanks = self.empties(len(values))
        return [v if p else b for v, p, b in zip(values, present.tolist(), blanks, strict=True)]

    def booleans(self, flags: np.ndarray) -> list[str]:
        yes, no = self.dialect.booleans
        return [yes if f else no for f in flags.tolist()]

    def timestamps(self, t: np.ndarray) -> list[str]:
        return _csv_timestamps(t, self.dialect.timestamps)


def _rows(columns: Sequence[Sequence[str]]) -> list[str]:
    return [",".join(cells) for cells in zip(*columns, strict=True)]


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------
_CHUNK = 200_000


class _Landing:
    def __init__(self, out_dir: Path, last_export_date: dt.date | None, seed: int) -> None:
        self.out_dir = out_dir
        self.last = last_export_date
        self.seed = seed
        self.rows: dict[str, int] = {name: 0 for name in SOURCES_BY_NAME}
        self.files = 0

    def wanted(self, export_date: dt.date) -> bool:
        return self.last is None or export_date <= self.last

    def _path(self, source: str, export_date: dt.date, suffix: str) -> Path:
        ext = SOURCES_BY_NAME[source].format
        name = f"{source}_{export_date:%Y%m%d}{suffix}.{ext}"
        return self.out_dir / source / name

    def _write(self, path: Path, chunks: Iterable[bytes]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
        os.replace(tmp, path)
        self.files += 1

    def cells(self, source: str, export_date: dt.date, suffix: str = "") -> _Cells:
        name = self._path(source, export_date, suffix).name
        return _Cells(csv_dialect(source, export_date), name, self.seed)

    def csv(
        self,
        source: str,
        export_date: dt.date,
        records: list[str],
        cells: _Cells,
        suffix: str = "",
    ) -> None:
        dialect = cells.dialect
        header = ",".join(SOURCES_BY_NAME[source].column_names)
        end = dialect.line_end
        text = header + end + "".join(r + end for r in records)
        self._write(self._path(source, export_date, suffix), [text.encode(dialect.encoding)])
        self.rows[source] += len(records)

    def jsonl(
        self, source: str, export_date: dt.date, lines: Iterator[list[str]], suffix: str = ""
    ) -> None:
        count = 0

        def encoded() -> Iterator[bytes]:
            nonlocal count
            for chunk in lines:
                count += len(chunk)
                yield "".join(chunk).encode("utf-8")

        self._write(self._path(source, export_date, suffix), encoded())
        self.rows[source] += count


def _insert_middle(records: list[str], extra: Sequence[str]) -> list[str]:
    middle = len(records) // 2
    return records[:middle] + list(extra) + records[middle:]


def _write_partners(out: _Landing, firms: _Firms, faulty: bool) -> None:
    for export_date in EXPORT_DATES:
        if not out.wanted(export_date):
            continue
        cutoff = _day_start(export_date) + DAY_S - 1
        cells = out.cells("partners", export_date)
        changed = firms.change_at <= cutoff
        renamed = changed & (firms.new_names != "")
        names = np.where(renamed, firms.new_names, firms.names)
        rank = np.where(changed, firms.new_rank, firms.rank)
        updated = np.where(changed, firms.change_at, firms.updated_at)
        records = _rows(
            [
                firms.ids.tolist(),
                _quoted(names.tolist()),
                firms.prefecture.tolist(),
                firms.band.tolist(),
                cells.optional([str(r) for r in rank.tolist()], rank > 0),
                _dates(firms.joined_day),
                cells.timestamps(updated),
            ]
        )
        if faulty and export_date == BULK_EXPORT_DATE:
            bad = [
                "",
                "名称未設定事務所",
                "東京都",
                "1-5",
                "",
                "2026-04-01",
                cells.timestamps(np.array([DAY0_S + 36000]))[0],
            ]
            records = _insert_middle(records, [",".join(bad)])
        out.csv("partners", export_date, records, cells)


def _write_people(out: _Landing, firms: _Firms, people: _People, faulty: bool) -> None:
    for export_date in EXPORT_DATES:
        if not out.wanted(export_date):
            continue
        cutoff = _day_start(export_date) + DAY_S - 1
        cells = out.cells("partner_users", export_date)
        rows = np.nonzero(people.issued_at <= cutoff)[0]
        status_changed = people.status_at[rows] <= cutoff
        certified = people.certified_at[rows] <= cutoff
        updated = people.issued_at[rows]
        updated = np.where(status_changed, np.maximum(updated, people.status_at[rows]), updated)
        updated = np.where(certified, np.maximum(updated, people.certified_at[rows]), updated)
        status = np.where(status_changed, people.new_status[rows], "active")
        emails = people.emails[rows].tolist()
        records = _rows(
            [
                people.ids[rows].tolist(),
                firms.ids[people.firm[rows]].tolist(),
                _quoted(people.names[rows].tolist()),
                cells.optional(emails, people.emails[rows] != ""),
                _quoted(people.job_role[rows].tolist()),
                cells.booleans(certified),
                cells.timestamps(people.issued_at[rows]),
                status.tolist(),
                cells.timestamps(updated),
            ]
        )
        if faulty and export_date == BULK_EXPORT_DATE:
            ts = cells.timestamps(np.array([DAY0_S + 36000]))[0]
            bad = [
                "U900001",
                "P99999",
                "所属不明　太郎",
                "",
                "スタッフ",
                cells.booleans(np.array([False]))[0],
                ts,
                "active",
                ts,
            ]
            records = _insert_middle(records, [",".join(bad)])
        out.csv("partner_users", export_date, records, cells)


def _write_deals(out: _Landing, people: _People, deals: _Deals, faulty: bool) -> None:
    counts = np.diff(np.append(deals.ev_start, deals.ev_deal.size))
    client = _quoted(deals.client_name.tolist())
    plan = _quoted(deals.plan.tolist())
    lost_reason = _quoted(deals.lost_reason.tolist())
    approach = _dates(np.maximum(deals.approach_day, 0))
    mrr = [str(v) for v in deals.expected_mrr.tolist()]
    labels = np.array(STATUS_LABELS, dtype=object)
    for export_date in EXPORT_DATES:
        if not out.wanted(export_date):
            continue
        cutoff = _day_start(export_date) + DAY_S - 1
        cells = out.cells("deals", export_date)
        rows = np.nonzero(deals.registered_at <= cutoff)[0]
        # Status as of the export: the latest status event up to the cutoff.
        seen = np.add.reduceat((deals.ev_at <= cutoff).astype(np.int64), deals.ev_start)
        last = deals.ev_start + np.minimum(seen, counts) - 1
        state = deals.ev_state[last]
        reassigned = deals.reassigned_at <= cutoff
        owner = np.where(reassigned, deals.new_owner, deals.owner)
        updated = np.maximum(deals.ev_at[last], np.where(reassigned, deals.reassigned_at, 0))
        lost = state[rows] == 6
        rl = rows.tolist()
        records = _rows(
            [
                deals.ids[rows].tolist(),
                people.firm_ids[people.firm[deals.owner[rows]]].tolist(),
                people.ids[owner[rows]].tolist(),
                [client[i] for i in rl],
                _quoted(deals.industry[rows].tolist()),
                deals.size_band[rows].tolist(),
                [plan[i] for i in rl],
                labels[state[rows]].tolist(),
                cells.optional([approach[i] for i in rl], deals.approach_day[rows] >= 0),
                cells.timestamps(deals.registered_at[rows]),
                cells.timestamps(updated[rows]),
                cells.optional([lost_reason[i] for i in rl], lost),
                cells.optional([mrr[i] for i in rl], deals.expected_mrr[rows] >= 0),
            ]
        )
        if faulty and export_date == BULK_EXPORT_DATE:
            ts = cells.timestamps(np.array([DAY0_S + 36000]))[0]
            bad_date = (
                "2026-02-30 09:00:00"
                if cells.dialect.timestamps == "seconds"
                else ("2026/02/30 09:00")
            )
            good_owner = people.ids[deals.owner[0]] if deals.n else "U000001"
            good_firm = people.firm_ids[people.firm[deals.owner[0]]] if deals.n else "P00001"
            bad = [
                ",".join(
                    [
                        "D9000001",
                        good_firm,
                        good_owner,
                        "㈱日付不正商店",
                        "小売",
                        "1-5",
                        "ミニマム",
                        "アプローチ予定",
                        "",
                        bad_date,
                        ts,
                        "",
                        "",
                    ]
                ),
                ",".join(
                    [
                        "D9000002",
                        good_firm,
                        "U999999",
                        "担当者不明商事",
                        "小売",
                        "1-5",
                        "ミニマム",
                        "アプローチ予定",
                        "",
                        ts,
                        ts,
                        "",
                        "",
                    ]
                ),
            ]
            records = _insert_middle(records, bad)
        out.csv("deals", export_date, records, cells)


def _write_deal_events(
    out: _Landing, rng: np.random.Generator, people: _People, deals: _Deals, faulty: bool
) -> None:
    time_order = np.argsort(deals.ev_at, kind="stable")
    event_no = np.empty(deals.ev_at.size, dtype=np.int64)
    event_no[time_order] = np.arange(1, deals.ev_at.size + 1)
    labels = np.array(STATUS_LABELS, dtype=object)
    actor_ids = np.append(people.ids, "")  # -1 -> ''
    for k, batch in enumerate(_batches(rng, deals.ev_at)):
        export_date = EXPORT_DATES[k]
        if not out.wanted(export_date):
            continue
        cells = out.cells("deal_status_events", export_date)
        actor = deals.ev_actor[batch]
        records = _rows(
            [
                [f"E{n:010d}" for n in event_no[batch].tolist()],
                deals.ids[deals.ev_deal[batch]].tolist(),
                labels[deals.ev_state[batch]].tolist(),
                cells.timestamps(deals.ev_at[batch]),
                cells.optional(actor_ids[actor].tolist(), actor >= 0),
            ]
        )
        if faulty and export_date == dt.date(2026, 10, 26):
            ts = cells.timestamps(np.array([_day_start(export_date) + 36000]))[0]
            deal_id = deals.ids[0] if deals.n else "D0000001"
            bad = ",".join(["E9000000001", deal_id, "提案済み", ts, "", "余分な列"])
            records = _insert_middle(records, [bad])
        out.csv("deal_status_events", export_date, records, cells)


def _write_attempts(
    out: _Landing, rng: np.random.Generator, people: _People, attempts: _Attempts
) -> None:
    time_order = np.argsort(attempts.at, kind="stable")
    number = np.empty(attempts.at.size, dtype=np.int64)
    number[time_order] = np.arange(1, attempts.at.size + 1)
    quiz_ids = np.array([q.quiz_id for q in QUIZZES], dtype=object)
    for k, batch in enumerate(_batches(rng, attempts.at)):
        export_date = EXPORT_DATES[k]
        if not out.wanted(export_date):
            continue
        cells = out.cells("quiz_attempts", export_date)
        records = _rows(
            [
                [f"QA{n:010d}" for n in number[batch].tolist()],
                people.ids[attempts.user[batch]].tolist(),
                quiz_ids[attempts.quiz[batch]].tolist(),
                cells.timestamps(attempts.at[batch]),
                [str(s) for s in attempts.score[batch].tolist()],
            ]
        )
        out.csv("quiz_attempts", export_date, records, cells)


def _write_catalogue(out: _Landing) -> None:
    for export_date in CATALOGUE_EXPORT_DATES:
        if not out.wanted(export_date):
            continue
        cutoff = _day_start(export_date) + DAY_S - 1
        final = export_date == CATALOGUE_EXPORT_DATES[-1]
        cells = out.cells("contents", export_date)
        shown = [c for c in CONTENTS if c.published_at <= cutoff]
        titles = [c.retitled if final and c.retitled else c.title for c in shown]
        records = _rows(
            [
                [c.content_id for c in shown],
                _quoted(titles),
                [c.content_type for c in shown],
                cells.optional(
                    _quoted(c.industry for c in shown), np.array([c.industry != "" for c in shown])
                ),
                _quoted(c.topic for c in shown),
                cells.timestamps(np.array([c.published_at for c in shown], dtype=np.int64)),
            ]
        )
        out.csv("contents", export_date, records, cells)

        cells = out.cells("courses", export_date)
        required = np.array(
            [
                c.is_required or (c.required_from is not None and export_date >= c.required_from)
                for c in _COURSES
            ]
        )
        records = _rows(
            [
                [c.course_id for c in _COURSES],
                _quoted(c.title for c in _COURSES),
                [str(c.lesson_count) for c in _COURSES],
                cells.booleans(required),
            ]
        )
        out.csv("courses", export_date, records, cells)

        cells = out.cells("quizzes", export_date)
        course_ids = [
            _COURSES[q.course_index].course_id if q.course_index >= 0 else "" for q in QUIZZES
        ]
        records = _rows(
            [
                [q.quiz_id for q in QUIZZES],
                cells.optional(course_ids, np.array([q.course_index >= 0 for q in QUIZZES])),
                _quoted(q.retitled if final and q.retitled else q.title for q in QUIZZES),
                [str(q.max_score) for q in QUIZZES],
                [str(q.pass_score) for q in QUIZZES],
            ]
        )
        out.csv("quizzes", export_date, records, cells)


_DEVICE = np.array(['"device":"pc",', '"device":"mobile",', "", '"device":null,'], dtype=object)


def _login_lines(
    people: _People, ev: _Logins, ids: np.ndarray, rows: np.ndarray, extra: Sequence[str] = ()
) -> Iterator[list[str]]:
    middle = rows.size // 2
    for start in range(0, max(rows.size, 1), _CHUNK):
        part = rows[start : start + _CHUNK]
        ts = _json_timestamps(ev.at[part], ev.utc[part])
        app = np.where(ev.at[part] >= APP_VERSION_FROM_S, ',"app_version":"4.2.0"', "")
        ip = np.where(ev.ip[part] == 1, ',"ip_country":"JP"', "")
        lines = [
            f'{{"event_id":"{i}","user_id":"{u}",{d}"occurred_at":"{t}"{a}{x}}}\n'
            for i, u, d, t, a, x in zip(
                ids[part].tolist(),
                people.ids[ev.user[part]].tolist(),
                _DEVICE[ev.device[part]].tolist(),
                ts,
                app.tolist(),
                ip.tolist(),
                strict=True,
            )
        ]
        if extra and start <= middle < start + _CHUNK:
            lines[middle - start : middle - start] = list(extra)
        yield lines


def _write_logins(
    out: _Landing, rng: np.random.Generator, people: _People, ev: _Logins, faulty: bool
) -> None:
    order = np.argsort(ev.at, kind="stable")
    ids = np.empty(ev.at.size, dtype=object)
    ids[order] = [f"LG{n:010d}" for n in range(1, ev.at.size + 1)]
    split_day = dt.date(2026, 10, 29)
    for k, batch in enumerate(_batches(rng, ev.at)):
        export_date = EXPORT_DATES[k]
        if not out.wanted(export_date):
            continue
        extra: list[str] = []
        if faulty and export_date == BULK_EXPORT_DATE:
            user = people.ids[0]
            extra = [
                '{"event_id":"LG9000000001","user_id":"U999999",'
                '"occurred_at":"2026-10-20T10:00:00+09:00","device":"pc"}\n',
                f'{{"event_id":"LG9000000002","user_id":"{user}",'
                '"occurred_at":"2026-10-32T09:00:00+09:00","device":"pc"}\n',
            ]
        if export_date == split_day:
            half = batch.size // 2
            out.jsonl("logins", export_date, _login_lines(people, ev, ids, batch[:half]), "_1")
            out.jsonl("logins", export_date, _login_lines(people, ev, ids, batch[half:]), "_2")
        else:
            out.jsonl("logins", export_date, _login_lines(people, ev, ids, batch, extra))


def _view_lines(
    people: _People, ev: _Views, ids: np.ndarray, rows: np.ndarray, extra: Sequence[str] = ()
) -> Iterator[list[str]]:
    content_ids = np.array([c.content_id for c in CONTENTS], dtype=object)
    middle = rows.size // 2
    for start in range(0, max(rows.size, 1), _CHUNK):
        part = rows[start : start + _CHUNK]
        ts = _json_timestamps(ev.at[part], ev.utc[part])
        action = np.where(ev.download[part], "download", "view").tolist()
        duration = [
            "" if d == -1 else ',"duration_sec":null' if d == -2 else f',"duration_sec":{d}'
            for d in ev.duration[part].tolist()
        ]
        session = [f',"session_id":"s{s:08d}"' if s else "" for s in ev.session[part].tolist()]
        lines = [
            f'{{"event_id":"{i}","user_id":"{u}","content_id":"{c}","occurred_at":"{t}",'
            f'"action":"{a}"{d}{s}}}\n'
            for i, u, c, t, a, d, s in zip(
                ids[part].tolist(),
                people.ids[ev.user[part]].tolist(),
                content_ids[ev.content[part]].tolist(),
                ts,
                action,
                duration,
                session,
                strict=True,
            )
        ]
        if extra and start <= middle < start + _CHUNK:
            lines[middle - start : middle - start] = list(extra)
        yield lines


def _write_views(
    out: _Landing, rng: np.random.Generator, people: _People, ev: _Views, faulty: bool
) -> None:
    order = np.argsort(ev.at, kind="stable")
    ids = np.empty(ev.at.size, dtype=object)
    ids[order] = [f"CV{n:010d}" for n in range(1, ev.at.size + 1)]
    month = (ev.at + JST_OFFSET_S).astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    first_month = np.datetime64(PROGRAMME_START, "M").astype(np.int64)
    n_parts = (
        (BULK_EXPORT_DATE.year - PROGRAMME_START.year) * 12
        + BULK_EXPORT_DATE.month
        - PROGRAMME_START.month
        + 1
    )
    for k, batch in enumerate(_batches(rng, ev.at)):
        export_date = EXPORT_DATES[k]
        if not out.wanted(export_date):
            continue
        if k == 0:
            part_of = month[batch] - first_month
            for p in range(n_parts):
                extra: list[str] = []
                if faulty and p == n_parts - 1:
                    extra = [
                        f'{{"user_id":"{people.ids[0]}","content_id":"{CONTENTS[0].content_id}",'
                        '"occurred_at":"2026-10-20T10:00:00+09:00","action":"view"}\n'
                    ]
                rows = batch[part_of == p]
                out.jsonl(
                    "content_views",
                    export_date,
                    _view_lines(people, ev, ids, rows, extra),
                    f"_part{p + 1}",
                )
        else:
            out.jsonl("content_views", export_date, _view_lines(people, ev, ids, batch))


def _lesson_lines(
    people: _People, ev: _Lessons, ids: np.ndarray, rows: np.ndarray
) -> Iterator[list[str]]:
    course_ids = np.array([c.course_id for c in _COURSES], dtype=object)
    for start in range(0, max(rows.size, 1), _CHUNK):
        part = rows[start : start + _CHUNK]
        ts = _json_timestamps(ev.at[part], np.zeros(part.size, dtype=np.int8))
        lines = []
        for i, u, c, n, t, o, v in zip(
            ids[part].tolist(),
            people.ids[ev.user[part]].tolist(),
            course_ids[ev.course[part]].tolist(),
            ev.lesson[part].tolist(),
            ts,
            ev.order_variant[part].tolist(),
            ev.via[part].tolist(),
            strict=True,
        ):
            via = ',"via":"mobile_app"' if v else ""
            if o:
                lines.append(
                    f'{{"completed_at":"{t}","lesson_id":"{c}-L{n:02d}",'
                    f'"course_id":"{c}","user_id":"{u}","event_id":"{i}"{via}}}\n'
                )
            else:
                lines.append(
                    f'{{"event_id":"{i}","user_id":"{u}","course_id":"{c}",'
                    f'"lesson_id":"{c}-L{n:02d}","completed_at":"{t}"{via}}}\n'
                )
        yield lines


def _write_lessons(out: _Landing, rng: np.random.Generator, people: _People, ev: _Lessons) -> None:
    order = np.argsort(ev.at, kind="stable")
    ids = np.empty(ev.at.size, dtype=object)
    ids[order] = [f"LC{n:010d}" for n in range(1, ev.at.size + 1)]
    for k, batch in enumerate(_batches(rng, ev.at)):
        export_date = EXPORT_DATES[k]
        if out.wanted(export_date):
            out.jsonl("lesson_completions", export_date, _lesson_lines(people, ev, ids, batch))


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def scaled_sizes(scale: float) -> dict[str, int]:
    """Firms, people, deals and distinct events for ``scale`` (``round(full * scale)``)."""
    if not 0 < scale <= MAX_SCALE:
        raise ValueError(f"scale must be in (0, {MAX_SCALE}], got {scale}")
    sizes = {key: round(full * scale) for key, full in FULL_SCALE.items()}
    sizes["firms"] = max(sizes["firms"], 1)
    sizes["people"] = max(sizes["people"], sizes["firms"])
    sizes["deals"] = max(sizes["deals"], 1)
    return sizes


def generate_landing(
    out_dir: Path,
    scale: float = 0.05,
    seed: int = 42,
    faulty: bool = False,
    last_export_date: dt.date | None = None,
) -> dict[str, int]:
    """Write the sample exports; returns rows written per source."""
    started = time.perf_counter()
    sizes = scaled_sizes(scale)
    out_dir = Path(out_dir)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(12)]
    cal = _Calendar()

    firms = _make_firms(streams[0], sizes["firms"])
    people = _make_people(streams[1], cal, firms, sizes["people"])
    deals = _make_deals(streams[2], cal, people, sizes["deals"])
    lessons = _make_lessons(streams[3], cal, people)
    attempts = _make_attempts(streams[4], cal, people, lessons)
    n_logins = round(sizes["events"] * LOGIN_SHARE)
    logins = _make_logins(streams[5], cal, people, n_logins)
    n_views = sizes["events"] - n_logins - deals.ev_at.size - lessons.at.size - attempts.at.size
    if n_views <= 0:
        raise ValueError(
            f"scale {scale} leaves no room for content views in {sizes['events']} events"
        )
    views = _make_views(streams[6], cal, people, n_views)
    log.info(
        "simulated %d firms, %d people, %d deals; events: %d deal status, %d logins, "
        "%d content views, %d lesson completions, %d quiz attempts (%.1fs)",
        firms.ids.size,
        people.n,
        deals.n,
        deals.ev_at.size,
        logins.at.size,
        views.at.size,
        lessons.at.size,
        attempts.at.size,
        time.perf_counter() - started,
    )

    out = _Landing(out_dir, last_export_date, seed)
    for source in SOURCES_BY_NAME:
        (out_dir / source).mkdir(parents=True, exist_ok=True)
    _write_partners(out, firms, faulty)
    _write_people(out, firms, people, faulty)
    _write_deals(out, people, deals, faulty)
    _write_catalogue(out)
    _write_deal_events(out, streams[7], people, deals, faulty)
    _write_attempts(out, streams[8], people, attempts)
    _write_logins(out, streams[9], people, logins, faulty)
    _write_views(out, streams[10], people, views, faulty)
    _write_lessons(out, streams[11], people, lessons)
    log.info(
        "wrote %d files, %d rows to %s in %.1fs: %s",
        out.files,
        sum(out.rows.values()),
        out_dir,
        time.perf_counter() - started,
        ", ".join(f"{k}={v}" for k, v in out.rows.items()),
    )
    return dict(out.rows)
