"""Deterministic demo dataset: a national history of the message board, written in bulk.

`generate(store, seed=..., start=..., now=...)` fills an empty store with messages,
replies, evaluations, units and leaders from `start` up to `now` (naive Beijing
time). The same seed, start and now give identical data.

Everything is drawn with numpy, a column at a time; strings (ids, titles,
addressees, unit names) are assembled by DuckDB in the INSERT statements from
small dimension tables. The history is calibrated to the published figures of
2021 H1, 2021 and 2021-2025 (see the README): counts are hit by construction inside the
rounding of the published figures (36.7万 is 366,870), and no total sits on a round thousand:

- messages: daily counts follow a smooth level x weekday x holiday rhythm and are
  rounded (largest remainder) so that every complete half-year has its target
  total (2020 H1: 333,031; 2021 H1: 366,870);
- replies (first replies in a period): after the natural draw, a "backlog
  clearance" answers older unanswered messages (or, if over target, drops
  replies) until 2020 H1 has 266,942, 2021 H1 322,918 and 2021 H2 483,561;
- units and leaders: fixed counts per half-year over a fixed set of provinces;
- cohort reply rates per year (REPLY_RATE) give 83 % over 2019-2020 and 94.3 % over
  2021-2025 (3.83 M answered), the score shares 83.3 % satisfied over 2021-2025.

Text (titles, bodies, replies, comments) is put together by DuckDB (ingest/demo_compose.py);
planted stories (ingest/demo_stories.py) are kept in `demo_truth`.

The rhythm helpers (`hourly_weights`, `weekday_factor`, `spring_festival_factor`,
`daily_rate`, `province_shares`, `sample_reply_delay_hours`, ...) are public so that
a live simulator can continue the same patterns.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import zlib
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm import tqdm

from ingest import demo_compose as compose
from ingest import demo_stories as stories
from ingest import demo_text as words
from queries import provinces as province_ref
from queries import rollups
from settings import DATA_DIR

DEFAULT_START = dt.date(2019, 1, 1)

SPRING_FESTIVALS = [
    dt.date(2019, 2, 5),
    dt.date(2020, 1, 25),
    dt.date(2021, 2, 12),
    dt.date(2022, 2, 1),
    dt.date(2023, 1, 22),
    dt.date(2024, 2, 10),
    dt.date(2025, 1, 29),
    dt.date(2026, 2, 17),
    dt.date(2027, 2, 6),
    dt.date(2028, 1, 26),
    dt.date(2029, 2, 13),
    dt.date(2030, 2, 3),
]

# Messages per half-year (year, 1 = Jan-Jun / 2 = Jul-Dec). Complete half-years of the
# history hit these totals exactly; later half-years grow by GROWTH a year.
HALF_YEAR_MESSAGES: dict[tuple[int, int], int] = {
    (2019, 1): 261_837,
    (2019, 2): 298_412,
    (2020, 1): 333_031,
    (2020, 2): 347_254,  # 2021 H1 is +10.2 % on 2020 H1
    (2021, 1): 366_870,  # published: 36.7万 in 2021 H1 (inside its rounding, not on it)
    (2021, 2): 489_153,  # the 急难愁盼 collection campaign: 2021 answers "超80万件"
    (2022, 1): 391_764,
    (2022, 2): 404_318,
    (2023, 1): 393_627,
    (2023, 2): 405_981,
    (2024, 1): 395_238,
    (2024, 2): 407_462,
    (2025, 1): 397_516,  # 2021-2025: 4.06 M messages, 94.3 % answered: "超过380万件"
    (2025, 2): 409_874,
    (2026, 1): 399_147,
    (2026, 2): 411_628,
}
GROWTH = 0.01

# First replies (件) per calibrated period: published 32.3万 in 2021 H1, +21 %; over 800,000 in 2021.
CALIBRATED_REPLIES: list[tuple[dt.date, dt.date, int]] = [
    (dt.date(2020, 1, 1), dt.date(2020, 6, 30), 266_942),
    (dt.date(2021, 1, 1), dt.date(2021, 6, 30), 322_918),  # 32.3万
    (dt.date(2021, 7, 1), dt.date(2021, 12, 31), 483_561),  # 2021: 806,479, "超80万"
]

# Messages per 10,000 residents (2020 census) in 2021 H1, before the exact rescaling.
# The top five (河南, 四川, 陕西, 安徽, 北京) are the published ranking; 重庆 gives
# about 9,255 messages in 2021 and 江苏 about 28,000 in 2022.
INTENSITY: dict[int, float] = {
    410000: 4.5,
    510000: 4.0,
    610000: 3.6,
    340000: 3.3,
    110000: 3.0,
    120000: 2.3,
    130000: 2.55,
    140000: 2.45,
    150000: 2.1,
    210000: 2.5,
    220000: 2.3,
    230000: 2.35,
    310000: 2.1,
    320000: 1.52,
    330000: 2.0,
    350000: 2.1,
    360000: 2.5,
    370000: 2.55,
    420000: 2.6,
    430000: 2.55,
    440000: 2.0,
    450000: 2.35,
    460000: 2.4,
    500000: 1.23,  # 重庆 2021: about 9,255 messages
    520000: 2.45,
    530000: 2.35,
    540000: 1.5,
    620000: 2.5,
    630000: 2.2,
    640000: 2.45,
    650000: 1.9,
}
HUBEI, HENAN, CHONGQING, JIANGSU = 420000, 410000, 500000, 320000
HUBEI_2020H1_SHARE = 18_804 / 333_031  # epidemic period: 18,804 messages, 医疗 about 27 %
HUBEI_2020H1_MEDICAL = 0.27

# Cohort reply rate (share of a year's messages answered by now), national target per
# year of creation, before the backlog clearances (which lift 2019 and 2020 by ~2 pt).
REPLY_RATE: dict[int, float] = {
    2019: 0.816,
    2020: 0.8275,
    2021: 0.95,
    2022: 0.944,
    2023: 0.945,
    2024: 0.949,
    2025: 0.95,
    2026: 0.955,
}
# Offsets of each province's reply probability (河南 2020 90.3 %, 重庆 2021 94.8 %, 江苏 2022 94 %).
REPLY_OFFSET: dict[int, float] = {
    410000: 0.10,
    510000: 0.03,
    610000: 0.02,
    340000: 0.02,
    110000: 0.03,
    500000: 0.11,
    320000: 0.065,
    120000: 0.01,
    130000: -0.02,
    140000: -0.04,
    150000: -0.03,
    210000: -0.02,
    220000: -0.05,
    230000: -0.04,
    310000: 0.02,
    330000: 0.02,
    350000: 0.0,
    360000: -0.02,
    370000: 0.0,
    420000: -0.01,
    430000: -0.03,
    440000: 0.01,
    450000: -0.04,
    460000: -0.05,
    520000: -0.03,
    530000: -0.04,
    540000: -0.06,
    620000: -0.05,
    630000: -0.06,
    640000: -0.04,
    650000: -0.06,
}
HUBEI_2020H1_REPLY_OFFSET = -0.16  # Hubei 2020 H1: about 60 % answered
REPLY_MEDIAN_HOURS: dict[int, float] = {
    2019: 110,
    2020: 100,
    2021: 88,
    2022: 76,
    2023: 68,
    2024: 62,
    2025: 58,
    2026: 56,
}
REPLY_DELAY_SIGMA = 1.25
FOLLOW_UP_SHARE = 0.125  # replied messages with a second reply
THIRD_REPLY_SHARE = 0.2  # of those, the share with a third
EVALUATION_SHARE = 0.35  # replied messages that get evaluated
WEAK_UNHAPPY = 0.4  # evaluations of slow/boilerplate units' answers turned unsatisfied
GOOD_HAPPY = 0.8  # evaluations of good units' answers turned satisfied with top marks
# Base star score of an evaluation (J-shaped); the three scores mostly equal it.
SCORE_SHARES = {5: 0.822, 4: 0.028, 3: 0.036, 2: 0.026, 1: 0.088}

UNITS_PER_HALF_YEAR: dict[tuple[int, int], int] = {
    (2019, 1): 846,
    (2019, 2): 1053,
    (2020, 1): 1231,
    (2020, 2): 1446,
    (2021, 1): 1427,  # published
    (2021, 2): 1647,
    (2022, 1): 1553,
    (2022, 2): 1604,
    (2023, 1): 1497,
    (2023, 2): 1548,
    (2024, 1): 1453,
    (2024, 2): 1506,
    (2025, 1): 1394,
    (2025, 2): 1447,
    (2026, 1): 1419,
    (2026, 2): 1436,
}
# Province-specific campaigns: exact counts on top of the national figure (江苏 2022: 3,057).
UNIT_CAMPAIGNS: dict[tuple[int, int], dict[int, int]] = {(2022, 1): {JIANGSU: 1480}, (2022, 2): {JIANGSU: 1577}}
LEADERS_PER_HALF_YEAR: dict[tuple[int, int], int] = {
    (2019, 1): 112,
    (2019, 2): 147,
    (2020, 1): 203,
    (2020, 2): 231,
    (2021, 1): 254,  # published
    (2021, 2): 237,
    (2022, 1): 188,
    (2022, 2): 186,
    (2023, 1): 177,
    (2023, 2): 169,
    (2024, 1): 163,
    (2024, 2): 161,
    (2025, 1): 158,
    (2025, 2): 154,
    (2026, 1): 151,
    (2026, 2): 147,
}
# 2021 H1: 1,427 units from 21 provinces, 254 leaders from 24 provinces.
UNIT_PROVINCES_2021H1 = [
    110000,
    130000,
    140000,
    150000,
    210000,
    230000,
    320000,
    330000,
    340000,
    360000,
    370000,
    410000,
    420000,
    430000,
    440000,
    450000,
    500000,
    510000,
    520000,
    530000,
    610000,
]
LEADER_PROVINCES_2021H1 = [
    110000,
    130000,
    140000,
    150000,
    210000,
    220000,
    230000,
    320000,
    330000,
    340000,
    350000,
    360000,
    370000,
    410000,
    420000,
    430000,
    440000,
    450000,
    500000,
    510000,
    520000,
    530000,
    610000,
    620000,
]
RESTRICTED_PROVINCES = {(2021, 1): {"units": UNIT_PROVINCES_2021H1, "leaders": LEADER_PROVINCES_2021H1}}

_HOURLY = np.array(
    [
        0.9,
        0.5,
        0.3,
        0.2,
        0.2,
        0.3,
        0.8,
        2.0,
        3.8,
        6.0,
        6.8,
        6.2,
        4.0,
        4.2,
        5.6,
        6.2,
        6.0,
        4.8,
        3.6,
        4.0,
        5.0,
        5.2,
        4.0,
        2.2,
    ]
)
_OFFICE_HOURLY = np.array(
    [
        0.1,
        0.05,
        0.05,
        0.05,
        0.05,
        0.1,
        0.3,
        0.8,
        3.0,
        6.0,
        7.0,
        6.5,
        3.0,
        3.5,
        6.0,
        6.5,
        6.0,
        4.5,
        2.0,
        1.2,
        1.0,
        0.8,
        0.5,
        0.3,
    ]
)
_WEEKDAY = np.array([1.06, 1.04, 1.02, 1.0, 0.96, 0.72, 0.68])  # Monday first

_CAL_START = np.datetime64("2015-01-01", "D")
_CAL_END = np.datetime64("2036-01-01", "D")  # exclusive
_DAY = 86_400
_N_DEPTS = len(words.DEPARTMENTS)
_UNIT_KEYS_PER_PLACE = 3 * _N_DEPTS  # city / county / province level
_LEVEL_NAMES = {0: "市级", 1: "县级", 2: "省级"}

# Random streams: one per component, so that each draws the same numbers whatever the others do.
_S_NOISE, _S_TIMES, _S_PROV, _S_ATTR, _S_REPLY, _S_CAL, _S_FOLLOW, _S_EVAL, _S_UNITS, _S_LEADERS = range(1, 11)
_S_LIKES, _S_STORIES, _S_UNIT_PICK = 11, 12, 13
_SUGGESTION = [t for t, _ in words.MSG_TYPES].index("建言")
# Whom a message addresses: city secretary, city head, province secretary, province head, district head.
ADDRESSEE_SHARES = [0.38, 0.34, 0.10, 0.06, 0.12]


# -- rhythm helpers (public) -------------------------------------------------
def hourly_weights() -> np.ndarray:
    """Share of a day's messages posted in each hour 0..23: quiet nights, peaks 9-11h, 14-17h, 20-22h."""
    return _HOURLY / _HOURLY.sum()


def office_hourly_weights() -> np.ndarray:
    """Share of replies, evaluations and joins per hour: office hours."""
    return _OFFICE_HOURLY / _OFFICE_HOURLY.sum()


def _as_days(dates) -> np.ndarray:
    return np.asarray(dates, dtype="datetime64[D]")


def _scalar_or_array(dates, values):
    return float(values) if np.ndim(dates) == 0 else values


def weekday_factor(dates):
    """Relative volume by day of week (weekends about 0.7)."""
    days = _as_days(dates)
    return _scalar_or_array(dates, _WEEKDAY[(days.astype(np.int64) + 3) % 7])


_SF_DAYS = np.array(SPRING_FESTIVALS, dtype="datetime64[D]").astype(np.int64)


def spring_festival_factor(dates):
    """Dip to 0.4 on Spring Festival, short ramp before, slower recovery after (元宵)."""
    days = _as_days(dates).astype(np.int64)
    pos = np.clip(np.searchsorted(_SF_DAYS, days), 1, len(_SF_DAYS) - 1)
    before, after = days - _SF_DAYS[pos - 1], days - _SF_DAYS[pos]
    delta = np.where(np.abs(before) <= np.abs(after), before, after).astype(float)
    width = np.where(delta < 0, 2.5, 5.0)
    return _scalar_or_array(dates, 1.0 - 0.6 * np.exp(-0.5 * (delta / width) ** 2))


def national_day_factor(dates):
    """Golden week (1-7 October) at about 0.75."""
    days = _as_days(dates)
    month_start = days.astype("datetime64[M]")
    day_of_month = (days - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    in_week = ((month_start.astype(np.int64) % 12) == 9) & (day_of_month <= 7)
    return _scalar_or_array(dates, np.where(in_week, 0.75, 1.0))


def day_factor(dates):
    """Weekday x Spring Festival x National Day factor."""
    return weekday_factor(dates) * spring_festival_factor(dates) * national_day_factor(dates)


def half_year_target(year: int, half: int) -> int:
    """Planned messages in a half-year (table value, extrapolated outside the table)."""
    if (year, half) in HALF_YEAR_MESSAGES:
        return HALF_YEAR_MESSAGES[(year, half)]
    years = sorted({y for y, _ in HALF_YEAR_MESSAGES})
    if year > years[-1]:
        return round(HALF_YEAR_MESSAGES[(years[-1], half)] * (1 + GROWTH) ** (year - years[-1]))
    return round(HALF_YEAR_MESSAGES[(years[0], half)] * 0.8 ** (years[0] - year))


def _year_half(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    months = days.astype("datetime64[M]").astype(np.int64)
    return months // 12 + 1970, np.where(months % 12 < 6, 1, 2)


@lru_cache(maxsize=1)
def _level_table() -> np.ndarray:
    """Smooth daily level (per unit day factor) over the calendar, solved so half-years hit their targets."""
    days = np.arange(_CAL_START, _CAL_END)
    shape = day_factor(days)
    years, halves = _year_half(days)
    block = (years - years[0]) * 2 + halves - 1
    n_blocks = block.max() + 1
    targets = np.array([half_year_target(int(years[0]) + b // 2, b % 2 + 1) for b in range(n_blocks)], float)
    x = np.arange(len(days), dtype=float)
    mids = np.bincount(block, weights=x) / np.bincount(block)
    level = targets / np.bincount(block, weights=shape)
    for _ in range(12):
        daily = np.interp(x, mids, level)
        level *= targets / np.bincount(block, weights=daily * shape)
    return np.interp(x, mids, level)


def daily_rate(dates):
    """Expected messages on a (Beijing) date: smooth level x weekday x holiday factors."""
    days = _as_days(dates)
    index = np.clip((days - _CAL_START).astype(np.int64), 0, (_CAL_END - _CAL_START).astype(np.int64) - 1)
    return _scalar_or_array(dates, _level_table()[index] * day_factor(days))


def cumulative_hour_share(seconds_of_day, weights: np.ndarray | None = None):
    """Share of a day's volume before a time of day (seconds since midnight)."""
    w = hourly_weights() if weights is None else weights
    edges = np.concatenate([[0.0], np.cumsum(w)])
    s = np.asarray(seconds_of_day, dtype=float) / 3600.0
    hour = np.clip(np.floor(s).astype(np.int64), 0, 23)
    return np.minimum(edges[hour] + (s - hour) * w[hour], 1.0)


def sample_seconds_of_day(rng: np.random.Generator, n: int, weights: np.ndarray | None = None, cap=1.0) -> np.ndarray:
    """Seconds since midnight following the hourly weights; `cap` (share, scalar or per row) truncates the day."""
    w = hourly_weights() if weights is None else weights
    edges = np.concatenate([[0.0], np.cumsum(w)])
    edges[-1] = 1.0
    u = rng.random(n) * cap
    hour = np.clip(_count_le(edges, u) - 1, 0, 23)
    within = (u - edges[hour]) / w[hour]
    return np.minimum(((hour + within) * 3600).astype(np.int64), _DAY - 1)


def sample_reply_delay_hours(rng: np.random.Generator, years) -> np.ndarray:
    """First-reply delays in hours (lognormal, median ~2.5-4.5 days by year, tail to months)."""
    years = np.asarray(years)
    medians = np.array(
        [REPLY_MEDIAN_HOURS.get(int(y), REPLY_MEDIAN_HOURS[max(REPLY_MEDIAN_HOURS)]) for y in range(2015, 2036)]
    )
    median = medians[np.clip(years - 2015, 0, len(medians) - 1)]
    return np.maximum(median * np.exp(rng.normal(0.0, REPLY_DELAY_SIGMA, len(years))), 0.15)


def sample_scores(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(resolution, attitude, speed, satisfied) of n evaluations: J-shaped, mostly equal scores."""
    stars = np.array(list(SCORE_SHARES))
    base = stars[
        np.searchsorted(
            np.cumsum(list(SCORE_SHARES.values())), rng.random(n) * sum(SCORE_SHARES.values()), side="right"
        ).clip(0, len(stars) - 1)
    ]
    resolution = base.copy()
    speed = np.where((rng.random(n) < 0.06) & (base > 1), base - 1, base)
    attitude = np.where((rng.random(n) < 0.08) & (base < 5), base + 1, base)
    satisfied = (resolution + attitude + speed) >= 12
    return resolution.astype(np.int8), attitude.astype(np.int8), speed.astype(np.int8), satisfied


def reply_rate_target(year: int) -> float:
    """Planned national cohort reply rate of messages created in `year`."""
    return REPLY_RATE.get(year, REPLY_RATE[min(REPLY_RATE)] if year < min(REPLY_RATE) else REPLY_RATE[max(REPLY_RATE)])


@lru_cache(maxsize=64)
def province_shares(year: int, half: int = 1) -> np.ndarray:
    """Share of messages by province (census order) in a half-year."""
    census = province_ref.table()
    base = np.array([INTENSITY[int(c)] for c in census["adcode"]]) * census["census_2020"].to_numpy()
    codes = census["adcode"].to_numpy()
    # A fixed, seed-independent drift by year; 2021 is the calibrated year, 河南 and 重庆 are published.
    jitter = np.random.default_rng(20210722).lognormal(0.0, 0.05, size=(2036 - 2015, len(codes)))
    factor = jitter[min(max(year, 2015), 2035) - 2015].copy()
    if year == 2021:
        factor[:] = 1.0
    factor[np.isin(codes, [HENAN, CHONGQING])] = 1.0
    shares = base * factor
    shares /= shares.sum()
    if (year, half) == (2020, 1):
        hubei = codes == HUBEI
        shares[~hubei] *= (1 - HUBEI_2020H1_SHARE) / shares[~hubei].sum()
        shares[hubei] = HUBEI_2020H1_SHARE
    return shares


# -- places -------------------------------------------------------------------
@lru_cache(maxsize=1)
def _places() -> pd.DataFrame:
    """data/places.csv in census order; weight favours provincial capitals and urban districts."""
    places = pd.read_csv(DATA_DIR / "places.csv", dtype={"province_adcode": "int64"})
    places["row"] = np.arange(len(places))
    places = places.sort_values(["province_adcode", "row"], kind="stable").reset_index(drop=True)
    codes = province_ref.table()["adcode"].to_numpy()
    places["pidx"] = np.searchsorted(codes, places["province_adcode"].to_numpy())
    capital = places.groupby("province_adcode")["city"].transform("first")
    places["is_capital"] = places["city"] == capital
    places["city_first"] = ~places.duplicated(["province_adcode", "city"])
    places["province_first"] = ~places.duplicated(["province_adcode"])
    full = dict(zip(province_ref.table()["adcode"], province_ref.table()["name_full"], strict=True))
    # Municipalities: the city is the province; counties of Hainan etc.: the district is the city.
    places["own_city"] = places["city_first"] & (places["city"] != places["province_adcode"].map(full))
    places["own_district"] = places["district"] != places["city"]
    urban = places["district"].astype(str).str.endswith("区")
    places["weight"] = np.where(places["is_capital"], 2.5, 1.0) * np.where(urban, 1.5, 1.0)
    within = places.groupby("pidx")["weight"].transform(lambda w: np.cumsum(w) / w.sum())
    places["right_edge"] = places["pidx"] + within
    places.loc[~places["pidx"].duplicated(keep="last"), "right_edge"] = places["pidx"] + 1.0
    return places


def place_table() -> pd.DataFrame:
    """The demo places (data/places.csv in census order) with their keys as positions."""
    return _places()


def sample_places(rng: np.random.Generator, pidx: np.ndarray) -> np.ndarray:
    """Demo places (keys) in the given provinces (census order), capitals and urban districts more often."""
    edges = _places()["right_edge"].to_numpy()
    return _count_le(edges, pidx + rng.random(len(pidx)) * (1 - 1e-9)).astype(np.int32)


# -- generation -----------------------------------------------------------------
def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def _apportion(weights: np.ndarray, total: int) -> np.ndarray:
    """Integers proportional to weights summing exactly to total (largest remainder)."""
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), np.int64)
    exact = weights * (total / weights.sum())
    counts = np.floor(exact).astype(np.int64)
    rest = total - counts.sum()
    if rest:
        counts[np.argsort(-(exact - counts), kind="stable")[:rest]] += 1
    return counts


def _epoch_seconds(value: dt.datetime | dt.date) -> int:
    return int(np.datetime64(value, "s").astype(np.int64))


def _half_years(first: np.datetime64, last: np.datetime64):
    """(year, half, block_first, block_last, cover_first, cover_last) for blocks meeting [first, last]."""
    year, half = int(str(first)[:4]), 1 if int(str(first)[5:7]) <= 6 else 2
    while True:
        b0 = np.datetime64(f"{year}-{'01' if half == 1 else '07'}-01")
        b1 = np.datetime64(f"{year}-06-30") if half == 1 else np.datetime64(f"{year}-12-31")
        if b0 > last:
            return
        yield year, half, b0, b1, max(b0, first), min(b1, last)
        year, half = (year, 2) if half == 1 else (year + 1, 1)


def _message_times(seed: int, first: np.datetime64, last: np.datetime64, now_s: int) -> np.ndarray:
    """Sorted creation times (epoch seconds) of all messages."""
    days = np.arange(first, last + 1)
    calendar = np.arange(_CAL_START, _CAL_END)
    noise = _rng(seed, _S_NOISE).lognormal(0.0, 0.05, len(calendar))
    index = np.clip((days - _CAL_START).astype(np.int64), 0, len(calendar) - 1)
    expected = daily_rate(days) * noise[index]
    last_share = float(cumulative_hour_share(now_s - int(last.astype(np.int64)) * _DAY))
    expected[-1] *= last_share
    counts = np.zeros(len(days), np.int64)
    for _, _, b0, b1, c0, c1 in _half_years(first, last):
        sel = slice(int((c0 - first).astype(np.int64)), int((c1 - first).astype(np.int64)) + 1)
        complete = c0 == b0 and c1 == b1 and b1 < last
        total = (
            half_year_target(int(str(b0)[:4]), 1 if str(b0)[5:7] == "01" else 2)
            if complete
            else int(round(expected[sel].sum()))
        )
        counts[sel] = _apportion(expected[sel], total)
    day_of = np.repeat(days.astype(np.int64), counts)
    cap = np.where(day_of == last.astype(np.int64), last_share, 1.0)
    seconds = sample_seconds_of_day(_rng(seed, _S_TIMES), len(day_of), cap=cap)
    return np.sort(day_of * _DAY + seconds)


def _segments(created: np.ndarray, first: np.datetime64, last: np.datetime64):
    """(year, half, slice) of the sorted creation times per half-year."""
    for year, half, _, _, c0, c1 in _half_years(first, last):
        lo = np.searchsorted(created, int(c0.astype(np.int64)) * _DAY)
        hi = np.searchsorted(created, (int(c1.astype(np.int64)) + 1) * _DAY)
        yield year, half, slice(lo, hi)


_LOOKUP_BINS = 1 << 16


def _count_le(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """np.searchsorted(edges, values, side="right") for sorted edges >= 0 and values >= 0, exactly, but
    faster for millions of values: a few comparisons for a few edges; else a lookup table over bins of
    a power-of-two width (so a value's bin is exact), then one comparison per edge that a bin can hold."""
    edges = np.asarray(edges, float)
    values = np.asarray(values)
    if len(edges) <= 8:
        out = np.zeros(len(values), np.int64)
        for edge in edges:
            out += values >= edge
        return out
    if edges[0] < 0 or not edges[-1] > 0 or len(values) < 100_000:
        return np.searchsorted(edges, values, side="right")
    scale = 2.0 ** np.floor(np.log2(_LOOKUP_BINS / edges[-1]))  # edges[-1] * scale <= bins
    table = np.searchsorted(edges, np.arange(_LOOKUP_BINS + 1) / scale, side="right")
    passes = int(np.diff(table).max())
    if passes > 8:
        return np.searchsorted(edges, values, side="right")
    out = table[np.minimum((values * scale).astype(np.int64), _LOOKUP_BINS)]
    padded = np.append(edges, np.inf)
    for _ in range(passes):
        out += padded[out] <= values
    return out


def _draw(rng: np.random.Generator, shares, n: int) -> np.ndarray:
    cum = np.cumsum(np.asarray(shares, float))
    return _count_le(cum, rng.random(n) * cum[-1]).clip(0, len(cum) - 1)


def _messages(seed: int, first: np.datetime64, last: np.datetime64, now_s: int) -> dict[str, np.ndarray]:
    created = _message_times(seed, first, last, now_s)
    n = len(created)
    prov_rng, rng = _rng(seed, _S_PROV), _rng(seed, _S_ATTR)
    pidx = np.zeros(n, np.int32)
    year = np.zeros(n, np.int16)
    hubei_2020h1 = np.zeros(n, bool)
    hubei_index = province_ref.codes().index(HUBEI)
    for y, h, sel in _segments(created, first, last):
        pidx[sel] = _draw(prov_rng, province_shares(y, h), sel.stop - sel.start)
        year[sel] = y
        if (y, h) == (2020, 1):
            hubei_2020h1[sel] = pidx[sel] == hubei_index
    category = _draw(rng, [s for _, s in words.CATEGORIES], n).astype(np.int8)
    medical = [c for c, _ in words.CATEGORIES].index("医疗")
    k = int(hubei_2020h1.sum())
    if k:
        others = np.array([s for _, s in words.CATEGORIES])
        others[medical] = 0.0
        others *= (1 - HUBEI_2020H1_MEDICAL) / others.sum()
        others[medical] = HUBEI_2020H1_MEDICAL
        category[hubei_2020h1] = _draw(rng, others, k)
    msg_type = _draw(rng, [s for _, s in words.MSG_TYPES], n).astype(np.int8)
    topics_per = np.array([len(words.TOPICS[c]) for c, _ in words.CATEGORIES])
    topic = (
        np.concatenate([[0], np.cumsum(topics_per)[:-1]])[category]
        + (rng.random(n) * topics_per[category]).astype(np.int64)
    ).astype(np.int16)
    templates_per = np.array([len(words.TEMPLATES[t]) for t, _ in words.MSG_TYPES])
    template = (
        np.concatenate([[0], np.cumsum(templates_per)[:-1]])[msg_type]
        + (rng.random(n) * templates_per[msg_type]).astype(np.int64)
    ).astype(np.int16)
    place = sample_places(rng, pidx)
    addressee = (place.astype(np.int64) * 5 + _draw(rng, ADDRESSEE_SHARES, n)).astype(np.int32)
    urgent = rng.random(n) < np.where(year >= 2021, 0.055, 0.03)
    return dict(
        created=created,
        pidx=pidx,
        year=year,
        hubei_2020h1=hubei_2020h1,
        category=category,
        msg_type=msg_type,
        topic=topic,
        template=template,
        place=place,
        addressee=addressee,
        urgent=urgent,
    )


def _department_table() -> tuple[np.ndarray, np.ndarray]:
    lists = [words.CATEGORY_DEPARTMENTS[c] for c, _ in words.CATEGORIES]
    table = np.zeros((len(lists), max(map(len, lists))), np.int64)
    for i, depts in enumerate(lists):
        table[i, : len(depts)] = depts
    return table, np.array([len(d) for d in lists])


def _unit_keys(rng: np.random.Generator, place: np.ndarray, category: np.ndarray) -> np.ndarray:
    """Replying unit: a department matching the domain, at city (55 %), county (35 %) or province level."""
    table, sizes = _department_table()
    dept = table[category, (rng.random(len(place)) * sizes[category]).astype(np.int64)]
    level = _draw(rng, [0.55, 0.35, 0.10], len(place))
    return (place.astype(np.int64) * _UNIT_KEYS_PER_PLACE + level * _N_DEPTS + dept).astype(np.int32)


def _office_time(rng: np.random.Generator, raw: np.ndarray, not_before: np.ndarray) -> np.ndarray:
    """Move reply-like events into office hours of the day they fall on (weekends and the holiday mostly
    move on to the next working day), never earlier than `not_before`."""
    day = raw // _DAY
    weekday = (day + 3) % 7
    move = (weekday >= 5) & (rng.random(len(raw)) < 0.6)
    day = np.where(move, day + 7 - weekday, day)
    pos = np.clip(np.searchsorted(_SF_DAYS, day + 1, side="right") - 1, 0, len(_SF_DAYS) - 1)
    in_holiday = (day >= _SF_DAYS[pos] - 1) & (day <= _SF_DAYS[pos] + 5) & (rng.random(len(raw)) < 0.7)
    day = np.where(in_holiday, _SF_DAYS[pos] + 6, day)
    out = day * _DAY + sample_seconds_of_day(rng, len(raw), office_hourly_weights())
    out = np.where(out < not_before, out + _DAY, out)
    return np.maximum(out, not_before)


def _reply_probability(m: dict[str, np.ndarray]) -> np.ndarray:
    """Per-message reply probability: national cohort target per year, solved over province offsets."""
    offsets = np.array([REPLY_OFFSET[c] for c in province_ref.codes()])
    extra = offsets[m["pidx"]] + np.where(m["hubei_2020h1"], HUBEI_2020H1_REPLY_OFFSET, 0.0)
    # The offset depends only on (province, Hubei 2020 H1): count those per year instead of sorting rows.
    provinces = len(offsets)
    year0, year1 = (int(m["year"].min()), int(m["year"].max())) if len(m["year"]) else (0, 0)
    combo = (m["year"].astype(np.int64) - year0) * (2 * provinces) + m["pidx"] * 2 + m["hubei_2020h1"]
    per_combo = np.bincount(combo, minlength=(year1 - year0 + 1) * 2 * provinces).reshape(-1, 2 * provinces)
    combo_extra = offsets.repeat(2) + np.tile([0.0, HUBEI_2020H1_REPLY_OFFSET], provinces)
    base_by_year = np.zeros(len(per_combo))
    for i, present in enumerate(per_combo):
        if not present.any():
            continue
        y = year0 + i
        values, where = np.unique(np.round(combo_extra[present > 0], 4), return_inverse=True)
        counts = np.bincount(where, weights=present[present > 0]).astype(np.int64)
        b = reply_rate_target(y)
        for _ in range(8):
            b += reply_rate_target(y) - (np.clip(b + values, 0.3, 0.985) * counts).sum() / counts.sum()
        base_by_year[i] = b
    base = base_by_year[m["year"].astype(np.int64) - year0]
    return np.clip(base + extra, 0.3, 0.985)


def _replies(seed: int, m: dict[str, np.ndarray], start_s: int, now_s: int) -> dict[str, np.ndarray]:
    rng = _rng(seed, _S_REPLY)
    created = m["created"]
    n = len(created)
    wanted = rng.random(n) < _reply_probability(m)
    # The unit that would answer first; a slow unit's answers take longer, a good one's less long (planted stories).
    unit_all = _unit_keys(_rng(seed, _S_UNIT_PICK), m["place"], m["category"])
    traits = _unit_hash(unit_all)
    slowness = np.where(
        stories.slow_units(traits), stories.SLOW_FACTOR, np.where(stories.good_units(traits), stories.GOOD_FACTOR, 1.0)
    )
    raw = created + (sample_reply_delay_hours(rng, m["year"]) * slowness * 3600).astype(np.int64)
    first_at = _office_time(rng, raw, created + 600)
    replied = wanted & (first_at <= now_s)
    first_at = np.where(replied, first_at, 0)

    # Calibrated periods: answer older backlog (or drop replies) until the first-reply count is exact.
    cal = _rng(seed, _S_CAL)
    backlog = np.zeros(n, bool)
    for p0, p1, target in CALIBRATED_REPLIES:
        lo, hi = _epoch_seconds(p0), _epoch_seconds(p1 + dt.timedelta(days=1))
        if lo <= start_s or hi > now_s:
            continue
        in_period = replied & (first_at >= lo) & (first_at < hi)
        diff = target - int(in_period.sum())
        if diff > 0:
            candidates = np.flatnonzero(~replied & (created < lo))
            chosen = np.sort(cal.choice(candidates, min(diff, len(candidates)), replace=False))
            days = np.arange(lo // _DAY, hi // _DAY)
            weight = day_factor(days.astype("datetime64[D]")) * np.where((days + 3) % 7 >= 5, 0.3, 1.0)
            day = days[_draw(cal, weight, len(chosen))]
            first_at[chosen] = day * _DAY + sample_seconds_of_day(cal, len(chosen), office_hourly_weights())
            replied[chosen] = True
            backlog[chosen] = True
        elif diff < 0:
            chosen = cal.choice(np.flatnonzero(in_period), -diff, replace=False)
            replied[chosen] = False
            first_at[chosen] = 0
    idx1 = np.flatnonzero(replied)
    unit1 = unit_all[idx1]

    # Follow-up replies (补充答复), by the same unit mostly.
    follow = _rng(seed, _S_FOLLOW)
    parts_idx, parts_at, parts_unit = [idx1], [first_at[idx1]], [unit1]
    count = np.zeros(n, np.int32)
    count[idx1] = 1
    prev_sel, prev_at, prev_unit = idx1, first_at[idx1], unit1
    for share in (FOLLOW_UP_SHARE, THIRD_REPLY_SHARE):
        pick = follow.random(len(prev_sel)) < share
        sel, at0, unit0 = prev_sel[pick], prev_at[pick], prev_unit[pick]
        gap = np.maximum(np.exp(follow.normal(np.log(150.0), 1.0, len(sel))), 1.0)
        at = _office_time(follow, at0 + (gap * 3600).astype(np.int64), at0 + 3600)
        other = _unit_keys(follow, m["place"][sel], m["category"][sel])
        unit = np.where(follow.random(len(sel)) < 0.7, unit0, other)
        keep = at <= now_s
        sel, at, unit = sel[keep], at[keep], unit[keep]
        parts_idx.append(sel)
        parts_at.append(at)
        parts_unit.append(unit)
        count[sel] += 1
        prev_sel, prev_at, prev_unit = sel, at, unit
    msg = np.concatenate(parts_idx)
    at = np.concatenate(parts_at)
    unit = np.concatenate(parts_unit)
    order = np.argsort(at * n + msg, kind="stable")  # by time, then message (lexsort is slower)
    first_unit = np.full(n, -1, np.int32)
    first_unit[idx1] = unit1
    r_msg, r_unit = msg[order], unit[order]
    # Suggestions taken up: the last of two or more replies says so (a planted story).
    last = len(r_msg) - 1 - np.unique(r_msg[::-1], return_index=True)[1]
    ideas = last[(m["msg_type"][r_msg[last]] == _SUGGESTION) & (count[r_msg[last]] >= 2)]
    adopted = np.zeros(len(r_msg), bool)
    adopted[ideas[follow.random(len(ideas)) < stories.ADOPTED_SHARE]] = True
    return dict(
        replied=replied,
        first_at=first_at,
        first_unit=first_unit,
        count=count,
        backlog=backlog,
        r_msg=r_msg,
        r_at=at[order],
        r_unit=r_unit,
        r_boilerplate=stories.boilerplate_units(_unit_hash(r_unit)),
        r_adopted=adopted,
    )


def _truth_tables(planted, m: dict[str, np.ndarray], r: dict[str, np.ndarray]) -> dict[str, pa.Table]:
    """The planted stories as tables for demo_truth: stories, their members, weak units, adopted ideas."""
    rows = planted.rows
    codes = np.array(province_ref.codes(), np.int32)
    firsts = np.array([mem[0] for mem in planted.members], np.int64) if rows else np.zeros(0, np.int64)
    story_ids = np.arange(len(rows), dtype=np.int32)
    units, answers = np.unique(r["r_unit"], return_counts=True)
    traits = _unit_hash(units)
    unit_kind = np.select(
        [stories.slow_units(traits), stories.boilerplate_units(traits), stories.good_units(traits)],
        ["slow_unit", "boilerplate_unit", "good_unit"],
        "",
    )
    listed = unit_kind != ""
    ideas = np.flatnonzero(r["r_adopted"])
    return {
        "demo_truth_stories": pa.table(
            {
                "story": story_ids,
                "kind": [x["kind"] for x in rows],
                "place": pa.array([x["place"] for x in rows], pa.int32()),
                "province": codes[m["pidx"][firsts]] if rows else np.zeros(0, np.int32),
                "category": [x["category"] for x in rows],
                "topic": pa.array([x["topic"] for x in rows], pa.int16()),
                "place_name": pa.array([x["place_name"] for x in rows], pa.string()),
                "span_start": _ts(np.array([x["span_start"] for x in rows], np.int64)),
                "span_end": _ts(np.array([x["span_end"] for x in rows], np.int64)),
                "size": np.array([x["size"] for x in rows], np.int32),
                "detail": pa.array([x["detail"] for x in rows], pa.string()),
            }
        ),
        "demo_truth_members": pa.table(
            {
                "story": np.repeat(story_ids, [len(x) for x in planted.members]),
                "i": (np.concatenate(planted.members) + 1) if rows else np.zeros(0, np.int64),
            }
        ),
        "demo_truth_units": pa.table({"kind": unit_kind[listed], "unit": units[listed], "answers": answers[listed]}),
        "demo_truth_ideas": pa.table(
            {
                "i": r["r_msg"][ideas] + 1,
                "created_at": _ts(m["created"][r["r_msg"][ideas]]),
                "replied_at": _ts(r["r_at"][ideas]),
            }
        ),
    }


@lru_cache(maxsize=1)
def _unit_hashes() -> np.ndarray:
    """A fixed hash of each replying unit's *name* by key (several keys share a name, e.g. a provincial
    department): a unit's planted traits follow its name, as an analyst sees it."""
    names = _live_names()["units"].to_pylist()
    return np.array([zlib.crc32(name.encode("utf-8")) for name in names], np.uint64)


def _unit_hash(keys: np.ndarray) -> np.ndarray:
    return _unit_hashes()[np.asarray(keys, np.int64)]


def _likes(rng: np.random.Generator, story: np.ndarray) -> np.ndarray:
    """Support counts: most messages none or a few; messages of a planted story (many people share the
    problem) more."""
    base = np.minimum(rng.geometric(0.6, len(story)) - 1, 50)
    shared = (story >= 0) & (rng.random(len(story)) < 0.5)
    return np.where(shared, base + rng.geometric(0.08, len(story)), base).astype(np.int32)


def _source_status(seed: int, created: np.ndarray, replied: np.ndarray, now_s: int) -> np.ndarray:
    """1 = '办理中' given by the source, 0 = none (status derives from replies)."""
    rng = _rng(seed, _S_ATTR + 100)
    recent = created >= now_s - 30 * _DAY
    share = np.where(replied, 0.01, np.where(recent, 0.35, 0.04))
    return (rng.random(len(created)) < share).astype(np.int8)


def _evaluations(seed: int, r: dict[str, np.ndarray], now_s: int) -> dict[str, np.ndarray]:
    rng = _rng(seed, _S_EVAL)
    idx = np.flatnonzero(r["replied"])
    idx = idx[rng.random(len(idx)) < EVALUATION_SHARE]
    gap = np.maximum(np.exp(rng.normal(np.log(30.0), 1.2, len(idx))), 0.25)
    rated = _office_time(rng, r["first_at"][idx] + (gap * 3600).astype(np.int64), r["first_at"][idx] + 900)
    resolution, attitude, speed, satisfied = sample_scores(rng, len(idx))
    # answers of slow and boilerplate units satisfy less (a planted story)
    traits = _unit_hash(r["first_unit"][idx])
    weak = (stories.slow_units(traits) | stories.boilerplate_units(traits)) & (rng.random(len(idx)) < WEAK_UNHAPPY)
    low = np.where(rng.random(len(idx)) < 0.7, 1, 2).astype(np.int8)
    resolution, attitude, speed = (np.where(weak, low, x) for x in (resolution, attitude, speed))
    satisfied = satisfied & ~weak
    # answers of good units satisfy more: most of their evaluations get top marks; as many satisfied evaluations of
    # ordinary units turn low, so the calibrated national satisfaction stays (drawn last: the rest is unchanged)
    good_unit = stories.good_units(traits)
    good = good_unit & (rng.random(len(idx)) < GOOD_HAPPY)
    ordinary = ~(good_unit | stories.slow_units(traits) | stories.boilerplate_units(traits))
    gained = int((good & ~satisfied).sum())
    lost = np.zeros(len(idx), bool)
    lost[rng.choice(np.flatnonzero(ordinary & satisfied), gained, replace=False)] = True
    resolution, attitude, speed = (
        np.where(good, 5, np.where(lost, low, x)).astype(np.int8) for x in (resolution, attitude, speed)
    )
    satisfied = (satisfied | good) & ~lost
    keep = rated <= now_s
    return dict(
        msg=idx[keep],
        rated=rated[keep],
        resolution=resolution[keep],
        attitude=attitude[keep],
        speed=speed[keep],
        satisfied=satisfied[keep],
    )


def _candidates(kind: str, rng: np.random.Generator) -> pd.DataFrame:
    """Units or leader posts that may join, per province in a random (weighted) joining order."""
    places = _places()
    rows = []
    if kind == "units":
        dept_weight = np.full(_N_DEPTS, 0.3)
        for d, w in words.UNIT_DEPARTMENTS:
            dept_weight[d] = w
        for level, mask, lw in (
            (2, places["province_first"], 3.0),
            (0, places["own_city"], 2.0),
            (1, places["own_district"], 1.0),
        ):
            sub = places[np.asarray(mask)]
            k = np.repeat(sub.index.to_numpy() * _UNIT_KEYS_PER_PLACE + level * _N_DEPTS, _N_DEPTS) + np.tile(
                np.arange(_N_DEPTS), len(sub)
            )
            rows.append(
                pd.DataFrame(
                    {
                        "pidx": np.repeat(sub["pidx"].to_numpy(), _N_DEPTS),
                        "key": k,
                        "weight": lw * np.tile(dept_weight, len(sub)),
                        "level": level,
                    }
                )
            )
    else:
        for kinds, mask, lw, level in (
            ((0, 1, 2), places["province_first"], 3.0, 2),
            ((3, 4, 5), places["own_city"], 2.0, 0),
            ((6, 7), places["own_district"], 1.0, 1),
        ):
            sub = places[np.asarray(mask)]
            k = np.repeat(sub.index.to_numpy() * 8, len(kinds)) + np.tile(kinds, len(sub))
            rows.append(
                pd.DataFrame(
                    {"pidx": np.repeat(sub["pidx"].to_numpy(), len(kinds)), "key": k, "weight": lw, "level": level}
                )
            )
    frame = pd.concat(rows, ignore_index=True)
    frame["order"] = rng.exponential(size=len(frame)) / frame["weight"]  # weighted order without replacement
    return frame.sort_values(["pidx", "order"], kind="stable").reset_index(drop=True)


def _joiners(seed: int, kind: str, first: np.datetime64, last: np.datetime64, now_s: int) -> pd.DataFrame:
    """Units or leaders joining per half-year: exact counts for complete half-years."""
    rng = _rng(seed, _S_UNITS if kind == "units" else _S_LEADERS)
    targets = UNITS_PER_HALF_YEAR if kind == "units" else LEADERS_PER_HALF_YEAR
    codes = np.array(province_ref.codes())
    census = province_ref.table()["census_2020"].to_numpy().astype(float)
    pref = census**0.7 * rng.lognormal(0.0, 0.3, len(codes))
    out_p, out_t = [], []
    for year, half, b0, b1, c0, c1 in _half_years(first, last):
        covered = int((c1 - c0).astype(np.int64)) + 1
        total_days = int((b1 - b0).astype(np.int64)) + 1
        scale = 1.0 if covered == total_days else covered / total_days
        target = targets.get((year, half), targets[max(targets)])
        n = int(round(target * scale))
        allowed = RESTRICTED_PROVINCES.get((year, half), {}).get(kind)
        campaigns = UNIT_CAMPAIGNS.get((year, half), {}) if kind == "units" else {}
        weight = pref * (np.isin(codes, allowed) if allowed else 1.0)
        weight = weight * ~np.isin(codes, list(campaigns))
        counts = np.zeros(len(codes), np.int64)
        if allowed and n >= len(allowed):
            counts += np.isin(codes, allowed)
            n -= len(allowed)
        counts += rng.multinomial(n, weight / weight.sum())
        for code, extra in campaigns.items():
            counts[codes == code] += int(round(extra * scale))
        pidx = np.repeat(np.arange(len(codes)), counts)
        days = np.arange(c0, c1 + 1).astype(np.int64)
        day_weight = day_factor(days.astype("datetime64[D]")) * np.where((days + 3) % 7 >= 5, 0.15, 1.0)
        day = days[_draw(rng, day_weight, len(pidx))]
        joined = day * _DAY + sample_seconds_of_day(rng, len(pidx), office_hourly_weights())
        keep = joined <= now_s
        out_p.append(pidx[keep])
        out_t.append(joined[keep])
    pidx = np.concatenate(out_p) if out_p else np.zeros(0, np.int64)
    joined = np.concatenate(out_t) if out_t else np.zeros(0, np.int64)
    order = np.lexsort((pidx, joined))
    pidx, joined = pidx[order], joined[order]
    cands = _candidates(kind, rng)
    cand_p = cands["pidx"].to_numpy()
    offset = np.searchsorted(cand_p, np.arange(len(codes)))
    size = np.bincount(cand_p, minlength=len(codes))
    by_prov = np.lexsort((np.arange(len(pidx)), pidx))
    rank = np.empty(len(pidx), np.int64)
    group_start = np.searchsorted(pidx[by_prov], pidx[by_prov])
    rank[by_prov] = np.arange(len(pidx)) - group_start
    pick = offset[pidx] + rank % size[pidx]
    return pd.DataFrame(
        {
            "province": codes[pidx].astype(np.int32),
            "joined": joined,
            "key": cands["key"].to_numpy()[pick].astype(np.int32),
            "level": cands["level"].to_numpy()[pick].astype(np.int8),
        }
    )


# -- writing --------------------------------------------------------------------
def _ts(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    values = (np.asarray(seconds, np.int64) * 1_000_000).astype("datetime64[us]")
    return pa.array(values, type=pa.timestamp("us"), mask=None if valid is None else ~valid)


def _head_title(col: str) -> str:
    """SQL: the head's title of a place name (省长, 市长, 主席, 州长, 区长, 县长, ...)."""
    return (
        f"CASE WHEN {col} LIKE '%自治区' THEN '主席' WHEN {col} LIKE '%省' THEN '省长' "
        f"WHEN {col} LIKE '%市' THEN '市长' WHEN {col} LIKE '%州' THEN '州长' "
        f"WHEN {col} LIKE '%盟' THEN '盟长' WHEN {col} LIKE '%地区' THEN '行署专员' "
        f"WHEN {col} LIKE '%区' THEN '区长' WHEN {col} LIKE '%旗' THEN '旗长' "
        f"WHEN {col} LIKE '%县' THEN '县长' ELSE '负责人' END"
    )


def _secretary(col: str) -> str:
    """SQL: the party secretary's post of a place name (河南省委书记, 郑州市委书记, 阿里地委书记)."""
    return (
        f"CASE WHEN {col} LIKE '%自治区' THEN {col} || '党委书记' "
        f"WHEN {col} LIKE '%地区' THEN left({col}, length({col}) - 2) || '地委书记' "
        f"ELSE {col} || '委书记' END"
    )


def _dimension_frames() -> dict[str, pa.Table]:
    places = _places()
    return {
        "demo_places": pa.table(
            {
                "k": np.arange(len(places), dtype=np.int32),
                "province": places["province_adcode"].to_numpy().astype(np.int32),
                "city": places["city"].astype(str).to_numpy(),
                "district": places["district"].astype(str).to_numpy(),
            }
        ),
        "demo_depts": pa.table(
            {
                "d": np.arange(_N_DEPTS, dtype=np.int32),
                "local_name": [a for a, _ in words.DEPARTMENTS],
                "province_name": [b for _, b in words.DEPARTMENTS],
            }
        ),
        "demo_topics": pa.table(
            {
                "k": np.arange(sum(len(words.TOPICS[c]) for c, _ in words.CATEGORIES), dtype=np.int16),
                "category": [c for c, _ in words.CATEGORIES for _ in words.TOPICS[c]],
                "topic": [t for c, _ in words.CATEGORIES for t in words.TOPICS[c]],
            }
        ),
        "demo_templates": pa.table(
            {
                "k": np.arange(sum(len(words.TEMPLATES[t]) for t, _ in words.MSG_TYPES), dtype=np.int16),
                "msg_type": [t for t, _ in words.MSG_TYPES for _ in words.TEMPLATES[t]],
                "template": [x for t, _ in words.MSG_TYPES for x in words.TEMPLATES[t]],
            }
        ),
    }


_DIMENSIONS_SQL = [
    # Replying / joining units: key = (place * 3 + level) * departments + department.
    f"""CREATE TEMP TABLE demo_unit_names AS
    SELECT p.k * {_UNIT_KEYS_PER_PLACE} + l.level * {_N_DEPTS} + d.d AS k,
           CASE l.level WHEN 0 THEN p.city || d.local_name WHEN 1 THEN p.district || d.local_name
                ELSE pr.name_full || d.province_name END AS name
    FROM demo_places p JOIN provinces pr ON pr.adcode = p.province
    CROSS JOIN (SELECT unnest([0, 1, 2]) AS level) l CROSS JOIN demo_depts d""",
    # Place and addressee of a message: key = place * 5 + (城市书记, 城市首长, 省委书记, 省首长, 区县首长).
    f"""CREATE TEMP TABLE demo_addressees AS
    SELECT p.k * 5 + c.c AS k, p.province, p.city, p.district,
           CASE c.c WHEN 0 THEN {_secretary("p.city")} WHEN 1 THEN p.city || {_head_title("p.city")}
                WHEN 2 THEN {_secretary("pr.name_full")} WHEN 3 THEN pr.name_full || {_head_title("pr.name_full")}
                ELSE p.district || {_head_title("p.district")} END AS name
    FROM demo_places p JOIN provinces pr ON pr.adcode = p.province
    CROSS JOIN (SELECT unnest([0, 1, 2, 3, 4]) AS c) c""",
    # Leader posts: key = place * 8 + kind.
    f"""CREATE TEMP TABLE demo_posts AS
    SELECT p.k * 8 + c.c AS k,
           CASE c.c WHEN 0 THEN {_secretary("pr.name_full")} WHEN 1 THEN pr.name_full || {_head_title("pr.name_full")}
                WHEN 2 THEN pr.name_full || '副' || {_head_title("pr.name_full")}
                WHEN 3 THEN {_secretary("p.city")} WHEN 4 THEN p.city || {_head_title("p.city")}
                WHEN 5 THEN p.city || '副' || {_head_title("p.city")}
                WHEN 6 THEN {_secretary("p.district")} ELSE p.district || {_head_title("p.district")} END AS name
    FROM demo_places p JOIN provinces pr ON pr.adcode = p.province
    CROSS JOIN (SELECT unnest([0, 1, 2, 3, 4, 5, 6, 7]) AS c) c""",
]

# The messages with what their text needs (`s` of ingest/demo_compose.py); h: the message's text key.
_MESSAGE_SOURCE = """
SELECT f.i, f.created_at, f.urgent, f.status, f.first_reply_at, f.unit, f.reply_count, f.category, f.msg_type,
       f.story_place, f.repeat, hash(f.i, $seed) AS h, a.province, a.city, a.district, a.name AS addressee_name,
       tc.category AS category_name, tc.topic, tp.msg_type AS msg_type_name, tp.template
FROM demo_messages f
JOIN demo_addressees a ON a.k = f.addressee
JOIN demo_templates tp ON tp.k = f.template
JOIN demo_topics tc ON tc.k = f.topic
"""
_INSERT_MESSAGES = f"""
INSERT INTO messages (message_id, created_at, province, city, district, addressee, category, msg_type, title,
                      is_urgent, source_status, first_reply_at, first_reply_unit, reply_count)
SELECT 'M' || lpad(CAST(s.i AS VARCHAR), 8, '0'), s.created_at, s.province, s.city, s.district, s.addressee_name,
       s.category_name, s.msg_type_name, {compose.TITLE},
       s.urgent, CASE WHEN s.status = 1 THEN '办理中' END, s.first_reply_at, u.name, s.reply_count
FROM ({compose.source(_MESSAGE_SOURCE)}) s
LEFT JOIN demo_unit_names u ON u.k = s.unit
"""
_INSERT_MESSAGE_TEXTS = f"""
INSERT INTO message_texts (message_id, content, location, likes)
SELECT 'M' || lpad(CAST(s.i AS VARCHAR), 8, '0'), {compose.BODY}, s.loc, s.likes
FROM ({
    compose.source(
        "SELECT f.i, hash(f.i, $seed) AS h, f.category, f.msg_type, f.story_place, f.repeat, f.likes, a.city, "
        "a.district, tc.topic FROM demo_messages f JOIN demo_addressees a ON a.k = f.addressee "
        "JOIN demo_topics tc ON tc.k = f.topic"
    )
}) s
"""
_INSERT_REPLIES = """
INSERT INTO replies (reply_id, message_id, replied_at, unit)
SELECT 'R' || lpad(CAST(f.i AS VARCHAR), 8, '0'), 'M' || lpad(CAST(f.m AS VARCHAR), 8, '0'), f.replied_at, u.name
FROM demo_replies f JOIN demo_unit_names u ON u.k = f.unit
"""
_INSERT_REPLY_TEXTS = f"""
INSERT INTO reply_texts (reply_id, content)
SELECT 'R' || lpad(CAST(s.i AS VARCHAR), 8, '0'), {compose.REPLY}
FROM ({
    compose.source(
        "SELECT f.i, hash(f.m, $seed) AS h, hash(f.i, $seed, 7) AS rh, f.unit AS unit_h, u.name AS unit, f.category, "
        "f.story_place, false AS repeat, f.boilerplate, f.adopted, pl.city, pl.district, tc.topic "
        "FROM demo_replies f JOIN demo_unit_names u ON u.k = f.unit JOIN demo_places pl ON pl.k = f.place "
        "JOIN demo_topics tc ON tc.k = f.topic"
    )
}) s
"""
_INSERT_EVALUATIONS = """
INSERT INTO evaluations (message_id, rated_at, satisfied, score_resolution, score_attitude, score_speed, verdict)
SELECT 'M' || lpad(CAST(m AS VARCHAR), 8, '0'), rated_at, satisfied, resolution, attitude, speed, satisfied
FROM demo_evaluations
"""
_INSERT_COMMENTS = f"""
INSERT INTO evaluation_comments (message_id, comment)
SELECT 'M' || lpad(CAST(s.m AS VARCHAR), 8, '0'), {compose.COMMENT}
FROM (SELECT m, hash(m, $seed) AS h, satisfied FROM demo_evaluations) s
WHERE {compose.HAS_COMMENT}
"""
# Every pair that is a repeat by the definition the planted ones follow (ingest/demo_stories.py): the later message
# names the same place (key and named spot: the planted story's, else the one its text draws) about the same domain
# and topic within REPEAT_DAYS after the earlier. The history draws such pairs by chance too; the truth lists them
# all (the planted ones as their stories, the others here). Members of a planted hot issue are left out: many
# people reporting one problem are its hot issue.
_DRAWN_REPEATS = f"""
CREATE TEMP TABLE demo_truth_pairs AS
WITH keyed AS (
    SELECT s.i, s.created_at, s.place, s.category, s.topic, s.loc FROM ({
    compose.source(
        "SELECT f.i, hash(f.i, $seed) AS h, f.created_at, f.addressee // 5 AS place, f.category, f.topic, "
        "f.story_place FROM demo_messages f WHERE f.i NOT IN (SELECT x.i FROM demo_truth_members x "
        "JOIN demo_truth_stories t USING (story) WHERE t.kind = 'hot')"
    )
}) s
), planted AS (
    SELECT min(x.i) AS first, max(x.i) AS later FROM demo_truth_members x JOIN demo_truth_stories t USING (story)
    WHERE t.kind = 'repeat' GROUP BY x.story
)
SELECT a.i AS first, b.i AS later, a.place, a.topic, a.loc, a.created_at AS first_at, b.created_at AS later_at
FROM keyed a JOIN keyed b ON a.place = b.place AND a.category = b.category AND a.topic = b.topic AND a.loc = b.loc
    AND b.created_at > a.created_at AND b.created_at <= a.created_at + INTERVAL {stories.REPEAT_DAYS} DAY
ANTI JOIN planted q ON q.first = a.i AND q.later = b.i
"""
# The planted stories (ingest/demo_stories.py): known answers for checking analysis, never read by it.
_CREATE_TRUTH = """
CREATE OR REPLACE TABLE demo_truth AS
SELECT t.kind, t.story, t.place_name AS name,
       (SELECT list('M' || lpad(CAST(x.i AS VARCHAR), 8, '0') ORDER BY x.i) FROM demo_truth_members x
        WHERE x.story = t.story) AS members,
       t.province, pl.city, pl.district, t.category, tc.topic, t.span_start, t.span_end, t.size, t.detail
FROM demo_truth_stories t LEFT JOIN demo_places pl ON pl.k = t.place LEFT JOIN demo_topics tc ON tc.k = t.topic
UNION ALL
SELECT 'repeat', NULL, p.loc,
       ['M' || lpad(CAST(p.first AS VARCHAR), 8, '0'), 'M' || lpad(CAST(p.later AS VARCHAR), 8, '0')],
       pl.province, pl.city, pl.district, tc.category, tc.topic, p.first_at, p.later_at, 2, 'drawn'
FROM demo_truth_pairs p JOIN demo_places pl ON pl.k = p.place JOIN demo_topics tc ON tc.k = p.topic
UNION ALL
SELECT u.kind, NULL, n.name, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, sum(u.answers)::INTEGER, NULL
FROM demo_truth_units u JOIN demo_unit_names n ON n.k = u.unit
GROUP BY u.kind, n.name
UNION ALL
SELECT 'idea_adopted', NULL, NULL, ['M' || lpad(CAST(a.i AS VARCHAR), 8, '0')], NULL, NULL, NULL, '建言', NULL,
       a.created_at, a.replied_at, 1, NULL
FROM demo_truth_ideas a
"""
_INSERT_JOINERS = """
INSERT INTO {table}
SELECT '{prefix}' || lpad(CAST(f.i AS VARCHAR), 6, '0'), n.name, f.province,
       CASE f.level WHEN 0 THEN '市级' WHEN 1 THEN '县级' ELSE '省级' END, f.joined_at
FROM demo_{table} f JOIN {names} n ON n.k = f.key
"""


# Tables loaded in bulk, with their primary key column. Inserting millions of rows into a
# table that has its key index costs about twice the work of building the index after the
# load (the transaction's own index, then the merge into the table's at commit; serial either
# way), so these are emptied and recreated without the key, filled, then given the same key.
_KEYED_BULK = (
    ("messages", "message_id"),
    ("replies", "reply_id"),
    ("evaluations", "message_id"),
    ("message_texts", "message_id"),
    ("reply_texts", "reply_id"),
    ("evaluation_comments", "message_id"),
)


def _drop_keys(cur) -> list[tuple[str, str]]:
    """Recreate the (empty) bulk tables without their primary key; returns those to key again."""
    dropped = []
    for table, key in _KEYED_BULK:
        here = "database_name = current_database() AND schema_name = 'main' AND table_name = $t"
        ddl = cur.execute(f"SELECT sql FROM duckdb_tables() WHERE {here}", {"t": table}).fetchone()[0]
        column = f"{key} VARCHAR PRIMARY KEY"
        indexes = cur.execute(f"SELECT count(*) FROM duckdb_indexes() WHERE {here}", {"t": table}).fetchone()[0]
        if ddl.count(column) != 1 or ddl.count("PRIMARY KEY") != 1 or indexes:
            continue  # an unexpected schema (or an index the DROP would lose): load it as it is, slower
        cur.execute(f"DROP TABLE {table}")
        cur.execute(ddl.replace(column, f"{key} VARCHAR"))
        dropped.append((table, key))
    return dropped


class _Stages:
    """Wall and CPU (all threads) seconds of each stage of `generate`, with a progress bar."""

    def __init__(self, progress: bool, timings: dict[str, tuple[float, float]] | None):
        self.bar = tqdm(desc="demo data", unit="stage", file=sys.stderr, disable=not progress)
        self.timings = timings if timings is not None else {}
        self.name: str | None = None
        self.began = (0.0, 0.0)

    def __call__(self, name: str | None) -> None:
        now = (time.perf_counter(), time.process_time())
        if self.name is not None:
            self.timings[self.name] = (now[0] - self.began[0], now[1] - self.began[1])
            self.bar.update()
        self.name, self.began = name, now
        if name is not None:
            self.bar.set_postfix_str(name)

    def close(self) -> None:
        self(None)
        self.bar.close()


def generate(
    store,
    *,
    seed: int,
    start: dt.date = DEFAULT_START,
    now: dt.datetime,
    progress: bool = False,
    timings: dict[str, tuple[float, float]] | None = None,
) -> dict:
    """Fill an empty store with the demo history from `start` to `now` (naive Beijing time).

    Returns the number of rows written per table; `timings` (if given) receives (wall, CPU) seconds per stage.
    """
    if not store.is_empty():
        raise ValueError("the demo generator needs an empty store")
    if isinstance(now, dt.date) and not isinstance(now, dt.datetime):
        now = dt.datetime.combine(now, dt.time())
    now = now.replace(microsecond=0, tzinfo=None)
    first, last = np.datetime64(start, "D"), np.datetime64(now.date(), "D")
    start_s, now_s = _epoch_seconds(start), _epoch_seconds(now)
    stage = _Stages(progress, timings)
    stage("messages")
    if last >= first:
        m = _messages(seed, first, last, now_s)
    else:
        m = _messages(seed, first, first, first.astype(np.int64) * _DAY)  # nothing to draw
    planted = stories.plant(_rng(seed, _S_STORIES), m)
    m["story_place"], m["repeat"] = planted.place_name, planted.repeat
    m["likes"] = _likes(_rng(seed, _S_LIKES), planted.story)
    stage("replies")
    r = _replies(seed, m, start_s, now_s)
    status = _source_status(seed, m["created"], r["replied"], now_s)
    stage("evaluations")
    e = _evaluations(seed, r, now_s)
    stage("units and leaders")
    units = _joiners(seed, "units", first, last, now_s) if last >= first else None
    leaders = _joiners(seed, "leaders", first, last, now_s) if last >= first else None
    stage("arrow tables")

    n = len(m["created"])
    story_place = m.get("story_place")
    messages = pa.table(
        {
            "i": np.arange(1, n + 1, dtype=np.int64),
            "created_at": _ts(m["created"]),
            "addressee": m["addressee"],
            "template": m["template"],
            "topic": m["topic"],
            "category": m["category"],
            "msg_type": m["msg_type"],
            "story_place": pa.nulls(n, pa.string()) if story_place is None else pa.array(story_place, pa.string()),
            "repeat": m.get("repeat", np.zeros(n, bool)),
            "likes": m.get("likes", np.zeros(n, np.int32)),
            "urgent": m["urgent"],
            "status": status,
            "first_reply_at": _ts(r["first_at"], r["replied"]),
            "unit": pa.array(r["first_unit"], mask=~r["replied"]),
            "reply_count": r["count"],
        }
    )
    r_msg = r["r_msg"]
    replies = pa.table(
        {
            "i": np.arange(1, len(r_msg) + 1, dtype=np.int64),
            "m": r_msg + 1,
            "replied_at": _ts(r["r_at"]),
            "unit": r["r_unit"],
            "category": m["category"][r_msg],
            "topic": m["topic"][r_msg],
            "place": m["place"][r_msg],
            "story_place": messages.column("story_place").take(pa.array(r_msg)),
            "boilerplate": r.get("r_boilerplate", np.zeros(len(r_msg), bool)),
            "adopted": r.get("r_adopted", np.zeros(len(r_msg), bool)),
        }
    )
    evaluations = pa.table(
        {
            "m": e["msg"] + 1,
            "rated_at": _ts(e["rated"]),
            "satisfied": e["satisfied"],
            "resolution": e["resolution"],
            "attitude": e["attitude"],
            "speed": e["speed"],
        }
    )
    joiners = {}
    for name, frame in (("units", units), ("leaders", leaders)):
        frame = frame if frame is not None else pd.DataFrame({"province": [], "joined": [], "key": [], "level": []})
        joiners[name] = pa.table(
            {
                "i": np.arange(1, len(frame) + 1, dtype=np.int64),
                "province": frame["province"].to_numpy().astype(np.int32),
                "key": frame["key"].to_numpy().astype(np.int32),
                "level": frame["level"].to_numpy().astype(np.int8),
                "joined_at": _ts(frame["joined"].to_numpy().astype(np.int64)),
            }
        )

    truth = _truth_tables(planted, m, r)
    registered = dict(
        _dimension_frames(),
        **truth,
        demo_messages=messages,
        demo_replies=replies,
        demo_evaluations=evaluations,
        demo_units=joiners["units"],
        demo_leaders=joiners["leaders"],
    )
    with store.write() as cur:
        for name, table in registered.items():
            cur.register(name, table)
        try:
            for sql in _DIMENSIONS_SQL:
                cur.execute(sql)
            keyed = _drop_keys(cur)
            stage("insert messages")
            cur.execute(_INSERT_MESSAGES, compose.bind(_INSERT_MESSAGES, seed=seed))
            stage("insert message texts")
            cur.execute(_INSERT_MESSAGE_TEXTS, compose.bind(_INSERT_MESSAGE_TEXTS, seed=seed))
            stage("insert replies")
            cur.execute(_INSERT_REPLIES)
            stage("insert reply texts")
            cur.execute(_INSERT_REPLY_TEXTS, compose.bind(_INSERT_REPLY_TEXTS, seed=seed))
            stage("insert evaluations, comments, units, leaders")
            cur.execute(_INSERT_EVALUATIONS)
            cur.execute(_INSERT_COMMENTS, compose.bind(_INSERT_COMMENTS, seed=seed))
            cur.execute(_INSERT_JOINERS.format(table="units", prefix="U", names="demo_unit_names"))
            cur.execute(_INSERT_JOINERS.format(table="leaders", prefix="L", names="demo_posts"))
            for table, key in keyed:
                stage(f"primary key {table}")
                cur.execute(f"ALTER TABLE {table} ADD PRIMARY KEY ({key})")
            stage("demo_truth")
            cur.execute(_DRAWN_REPEATS, compose.bind(_DRAWN_REPEATS, seed=seed))
            cur.execute(_CREATE_TRUTH)
            stage("rollups")
            rollups.rebuild(cur)  # bulk rows bypass the write path: build the daily rollups here
            store.set_meta(cur, "demo", "1")
            store.set_meta(cur, "demo_until", now.isoformat())
            store.set_meta(cur, "demo_seed", str(seed))
            store.set_meta(cur, "demo_start", start.isoformat())
            stage("commit")
        finally:
            for sql_name in ("demo_unit_names", "demo_addressees", "demo_posts", "demo_truth_pairs"):
                cur.execute(f"DROP TABLE IF EXISTS {sql_name}")
            for name in registered:
                cur.unregister(name)
    stage.close()
    return {
        "messages": n,
        "replies": len(r["r_msg"]),
        "evaluations": len(e["msg"]),
        "units": joiners["units"].num_rows,
        "leaders": joiners["leaders"].num_rows,
    }


def main(argv=None) -> int:
    """Generate the demo into a database file and print the time taken (a benchmark)."""
    from queries.db import Store

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("db")
    parser.add_argument("--seed", type=int, default=20210722)
    parser.add_argument("--start", default=DEFAULT_START.isoformat())
    parser.add_argument("--now", default=None, help="naive Beijing time, ISO (default: current Beijing time)")
    parser.add_argument("--timings", action="store_true", help="print wall and CPU seconds of each stage")
    parser.add_argument(
        "--index",
        action="store_true",
        help="also store the newest briefings' words and reply checks (else the server's indexer does, newest first)",
    )
    args = parser.parse_args(argv)
    now = (
        dt.datetime.fromisoformat(args.now)
        if args.now
        else dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None)
    )
    began = time.perf_counter()
    store = Store(args.db)
    timings: dict[str, tuple[float, float]] = {}
    start = dt.date.fromisoformat(args.start)
    counts = generate(store, seed=args.seed, start=start, now=now, progress=True, timings=timings)
    generated = time.perf_counter() - began
    if args.index:
        from ingest.setup import index_newest

        indexed = index_newest(store, now)
        print(
            f"stored words and reply checks of {indexed:,} records in {time.perf_counter() - began - generated:.1f} s"
        )
    checkpoint, cpu = time.perf_counter(), time.process_time()
    store.cursor().execute("CHECKPOINT")
    store.close()
    timings["checkpoint"] = (time.perf_counter() - checkpoint, time.process_time() - cpu)
    if args.timings:
        for name, (wall, used) in timings.items():
            print(f"{name:<48} {wall:7.2f} s wall {used:7.2f} s CPU")
    print(f"generated in {generated:.1f} s (with checkpoint {time.perf_counter() - began:.1f} s): {counts}")
    return 0


# -- new records for the live simulator (ingest/simulate.py) ------------------------
# Drawn as the history draws them, so that live data continues the same shares and names.


@lru_cache(maxsize=1)
def _live_names() -> dict[str, pa.Array]:
    """Unit names, addressees and leader posts by key (the dimension tables of the INSERT statements)."""
    from queries.db import Store

    store = Store(":memory:")
    try:
        cur = store.cursor()
        for name, table in _dimension_frames().items():
            cur.register(name, table)
        for sql in _DIMENSIONS_SQL:
            cur.execute(sql)
        return {
            key: cur.sql(f"SELECT name FROM {table} ORDER BY k").to_arrow_table()["name"].combine_chunks()
            for key, table in (("units", "demo_unit_names"), ("addressees", "demo_addressees"), ("posts", "demo_posts"))
        }
    finally:
        store.close()


def _names(kind: str, keys: np.ndarray) -> np.ndarray:
    return _live_names()[kind].take(pa.array(np.asarray(keys, np.int64))).to_numpy(zero_copy_only=False)


def sample_message_attributes(rng: np.random.Generator, years: np.ndarray, halves: np.ndarray) -> pd.DataFrame:
    """Attributes of new messages of the given (year, half-year): province (adcode), city, district,
    addressee, category, msg_type, is_urgent, likes, plus the keys `place`, `category_index`, `msg_type_index`
    and the `topic` and title `template` their text is made of (`compose_message_texts`)."""
    years, halves = np.asarray(years, np.int64), np.asarray(halves, np.int64)
    n = len(years)
    pidx = np.zeros(n, np.int32)
    for y, h in sorted(set(zip(years.tolist(), halves.tolist(), strict=True))):
        sel = (years == y) & (halves == h)
        pidx[sel] = _draw(rng, province_shares(y, h), int(sel.sum()))
    category = _draw(rng, [s for _, s in words.CATEGORIES], n)
    msg_type = _draw(rng, [s for _, s in words.MSG_TYPES], n)
    topics = [words.TOPICS[c] for c, _ in words.CATEGORIES]
    templates = [words.TEMPLATES[t] for t, _ in words.MSG_TYPES]
    topic = (rng.random(n) * np.array([len(t) for t in topics])[category]).astype(np.int64)
    template = (rng.random(n) * np.array([len(t) for t in templates])[msg_type]).astype(np.int64)
    place = sample_places(rng, pidx)
    addressee = place.astype(np.int64) * 5 + _draw(rng, ADDRESSEE_SHARES, n)
    urgent = rng.random(n) < np.where(years >= 2021, 0.055, 0.03)
    places = _places()
    city = places["city"].astype(str).to_numpy()[place]
    district = places["district"].astype(str).to_numpy()[place]
    return pd.DataFrame(
        {
            "province": province_ref.table()["adcode"].to_numpy()[pidx].astype(np.int32),
            "city": city,
            "district": district,
            "addressee": _names("addressees", addressee),
            "category": np.array([c for c, _ in words.CATEGORIES], dtype=object)[category],
            "msg_type": np.array([t for t, _ in words.MSG_TYPES], dtype=object)[msg_type],
            "is_urgent": urgent,
            "place": place.astype(np.int32),
            "category_index": category.astype(np.int8),
            "msg_type_index": msg_type.astype(np.int8),
            "topic": np.array([topics[g][j] for g, j in zip(category, topic, strict=True)], dtype=object),
            "template": np.array([templates[t][k] for t, k in zip(msg_type, template, strict=True)], dtype=object),
            "likes": np.minimum(rng.geometric(0.6, n) - 1, 50).astype(np.int32),
        }
    )


def sample_addressees(rng: np.random.Generator, place: np.ndarray) -> np.ndarray:
    """Addressees (names) of new messages about the given places."""
    keys = np.asarray(place, np.int64) * 5 + _draw(rng, ADDRESSEE_SHARES, len(place))
    return _names("addressees", keys)


def compose_message_texts(rows: pd.DataFrame) -> pd.DataFrame:
    """Title, content and location of messages drawn by `sample_message_attributes` (with their message_id), put
    together as the history's are (ingest/demo_compose.py)."""
    return compose.compose_live(rows, rows["template"].tolist())


def sample_unit_names(rng: np.random.Generator, place: np.ndarray, category_index: np.ndarray) -> np.ndarray:
    """Replying units: a department matching the domain, at city, county or province level of the place."""
    return _names("units", _unit_keys(rng, np.asarray(place), np.asarray(category_index)))


@lru_cache(maxsize=2)
def _joiner_edges(kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cands = _candidates(kind, np.random.default_rng(0))
    pidx = cands["pidx"].to_numpy()
    weight = cands["weight"].to_numpy(float)
    within = cands.assign(w=weight).groupby("pidx")["w"].transform(lambda w: np.cumsum(w) / w.sum()).to_numpy()
    return pidx + np.minimum(within, 1.0), cands["key"].to_numpy(), cands["level"].to_numpy()


def sample_joiners(rng: np.random.Generator, kind: str, n: int) -> pd.DataFrame:
    """n newly joining units or leader posts (kind 'units' / 'leaders'): name, province (adcode), level;
    provinces weighted by population ** 0.7 as in the history (duplicates of earlier names are possible)."""
    census = province_ref.table()["census_2020"].to_numpy().astype(float)
    pidx = _draw(rng, census**0.7, n)
    edges, keys, levels = _joiner_edges(kind)
    pick = np.searchsorted(edges, pidx + rng.random(n) * (1 - 1e-9), side="right").clip(0, len(keys) - 1)
    return pd.DataFrame(
        {
            "name": _names("units" if kind == "units" else "posts", keys[pick]),
            "province": province_ref.table()["adcode"].to_numpy()[pidx].astype(np.int32),
            "level": np.array([_LEVEL_NAMES[int(v)] for v in levels[pick]], dtype=object),
        }
    )


def place_keys(province, city, district) -> np.ndarray:
    """Index of each (province adcode, city, district) among the demo places; -1 when not a demo place."""
    places = _places()
    lookup = pd.Series(
        np.arange(len(places)),
        index=pd.MultiIndex.from_arrays(
            [places["province_adcode"].to_numpy(), places["city"].astype(str), places["district"].astype(str)]
        ),
    )
    lookup = lookup[~lookup.index.duplicated()]
    wanted = pd.MultiIndex.from_arrays(
        [
            np.asarray(province, np.int64),
            pd.Series(city, dtype=object).astype(str),
            pd.Series(district, dtype=object).astype(str),
        ]
    )
    return lookup.reindex(wanted).fillna(-1).to_numpy().astype(np.int32)


def category_keys(categories) -> np.ndarray:
    """Index of each domain name in the demo's domain list (unknown names: 其他)."""
    names = [c for c, _ in words.CATEGORIES]
    return (
        pd.Series(categories, dtype=object)
        .map(dict(zip(names, range(len(names)), strict=True)))
        .fillna(names.index("其他"))
        .to_numpy()
        .astype(np.int8)
    )


if __name__ == "__main__":
    sys.exit(main())
