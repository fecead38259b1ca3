"""Surges (预警): a province × domain or city × domain daily count far above its own expected level.

Expected level of a series on day t: the day's *reference volume* (the messages of its province in the other
domains) times the series' share of that volume on the same weekday in the previous BASELINE_WEEKS weeks, leaving
out the week where the share was highest (so one earlier surge does not lift the level). The reference carries
what moves every domain of a province together: the weekly rhythm, holidays (the Spring Festival, the National Day
week: fewer messages of every kind, and a plain count of earlier weeks would see any domain's ordinary holiday
count as low, or its ordinary next weeks as high after a holiday in the baseline), the season and the trend; the
share carries the domain's own weekday pattern over eight weeks. The reference is counted with REFERENCE_PRIOR
more messages a day: where it is large (a province's day: hundreds to thousands) the prior hardly matters, where
it is small (a province of few messages, or none counted) the level tends to the plain mean of the kept weeks, as
a ratio of small numbers measures no day's volume. The count is tested against a negative binomial with that mean
and the kept weeks' quasi-Poisson dispersion (Pearson's statistic around their fitted levels; Poisson when not
over-dispersed; scipy.stats). Single days and windows of WINDOWS days are tested (a week at 1.8 times the usual
level is as clear a surge as one day at four times, but no single day of it stands out): the upper tail of the
window's sum, against the sum of its days' expected levels and variances, must be below ALPHA / len(WINDOWS),
ALPHA being a Bonferroni bound over the about 2 million series-days a year nationally (31 provinces and ~340
cities × 16 domains × 365 days) with a margin of 1,000: under the model the whole country would see one false
alarm in a millennium, but a variance estimated from seven weeks is optimistic and days are not independent.
A window also needs at least MIN_MESSAGES messages and MIN_RATIO times its expected level; its alert days are
its days at MIN_RATIO times their expected level and two Poisson deviations above it or more.

Episodes. Alert days of a series join into one episode while the days between them (JOIN_DAYS at most) stay above
their expected level: one event whose count dips for a day or two is one alert, and a chance high day followed
by ordinary ones is not joined to a later surge. A passing window marks its high days, also those before the
rise that made it pass; so an episode starts where its most likely cluster starts (Kulldorff's scan: the Poisson
likelihood ratio of its days from that alert day on is largest), and an episode whose own days do not pass the
test (a lone day high by chance next to a surge's window) is dropped.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
from scipy import stats

BASELINE_WEEKS = 8
ALPHA = 1e-9
MIN_MESSAGES = 5
MIN_RATIO = 1.5
GAP_DAYS = 1
JOIN_DAYS = 6  # non-alert days an episode may span while they stay above their expected level
WINDOWS = (1, 3, 7)  # days summed by the scan test
REFERENCE_PRIOR = 50.0  # messages a day added to a series' reference volume (see baseline)
FLOOR = 0.2  # level of a series silent for 8 weeks: about 4x the 95 % upper bound of nought in 56 days (3/56)


def upper_tail(x, mean, variance) -> np.ndarray:
    """P(X >= x) for negative binomials of these means and variances (Poisson where variance <= 1.05 mean),
    elementwise. r = mean² / (variance - mean), p = r / (r + mean)."""
    x, mean, variance = (np.asarray(a, dtype=np.float64) for a in (x, mean, variance))
    over = variance > mean * 1.05
    excess = np.where(over, variance - mean, 1.0)
    r = mean * mean / excess
    return np.where(over, stats.nbinom.sf(x - 1, r, r / (r + mean)), stats.poisson.sf(x - 1, mean))


def baseline(
    matrix: np.ndarray, reference: np.ndarray | None = None, weeks: int = BASELINE_WEEKS
) -> tuple[np.ndarray, np.ndarray]:
    """Expected level and variance per (series, day) from the same weekday of the previous `weeks` weeks, leaving
    out the week where the series was highest against its reference (module docstring).

    `reference`: the day's reference volume of each series (the messages of its province in the other domains);
    the expected level is the day's reference times the series' share of it over the baseline weeks (the plain
    mean where the reference was empty). Days without `weeks` full weeks of history get NaN.
    """
    n_series, n_days = matrix.shape
    mean = np.full((n_series, n_days), np.nan)
    var = np.full((n_series, n_days), np.nan)
    if n_days <= 7 * weeks:
        return mean, var
    # the reference with REFERENCE_PRIOR more messages a day: a ratio of small numbers is no measure of a day's
    # volume, and where the reference is small (or none) the level becomes the series' own mean
    volume = (np.zeros_like(matrix) if reference is None else reference) + REFERENCE_PRIOR
    tested = slice(7 * weeks, n_days)

    def lag(a: np.ndarray, w: int) -> np.ndarray:  # the same weekday w weeks before each tested day
        return a[:, 7 * weeks - 7 * w : n_days - 7 * w]

    # the week left out: where the series' share of the volume was highest
    top_share = np.full((n_series, n_days - 7 * weeks), -np.inf)
    left_out = np.zeros(top_share.shape, dtype=np.int64)
    x_sum, v_sum, x_out, v_out = (np.zeros(top_share.shape) for _ in range(4))
    for w in range(1, weeks + 1):
        x, v = lag(matrix, w), lag(volume, w)
        higher = x / v > top_share
        top_share = np.where(higher, x / v, top_share)
        left_out, x_out, v_out = np.where(higher, w, left_out), np.where(higher, x, x_out), np.where(higher, v, v_out)
        x_sum += x
        v_sum += v
    rate = (x_sum - x_out) / (v_sum - v_out)
    # quasi-Poisson dispersion of the kept weeks around their fitted levels (Pearson's statistic, weeks - 2 df)
    pearson = np.zeros(x_sum.shape)
    for w in range(1, weeks + 1):
        fitted = lag(volume, w) * rate
        term = np.divide((lag(matrix, w) - fitted) ** 2, fitted, out=np.zeros_like(fitted), where=fitted > 0)
        pearson += np.where(left_out == w, 0.0, term)
    mean[:, tested] = np.maximum(volume[:, tested] * rate, FLOOR)
    var[:, tested] = pearson / (weeks - 2) * mean[:, tested]
    return mean, var


def level(ratio: float) -> str:
    if ratio >= 4:
        return "red"
    if ratio >= 2.5:
        return "orange"
    return "yellow"


def _series(counts: pd.DataFrame, days: pd.DatetimeIndex) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Dense day matrices of province × domain (city '') and city × domain series, and of each series' reference
    volume: its province's messages in the other domains."""
    counts = counts.assign(day=pd.to_datetime(counts["day"]))
    province = counts.groupby(["province", "category", "day"], as_index=False)["messages"].sum().assign(city="")
    city = counts[counts["city"] != ""]
    both = pd.concat([province, city[["province", "city", "category", "day", "messages"]]], ignore_index=True)
    # one row per series that has messages (city '' = the whole province), one column per day
    table = both.pivot_table(index=["province", "city", "category"], columns="day", values="messages", aggfunc="sum")
    table = table.reindex(columns=days).fillna(0)
    keys = table.index.to_frame(index=False)
    totals = province.pivot_table(index="province", columns="day", values="messages", aggfunc="sum")
    totals = totals.reindex(index=keys["province"], columns=days).fillna(0).to_numpy(dtype=np.float64)
    own = table.loc[[(p, "", c) for p, c in zip(keys["province"], keys["category"], strict=True)]]
    return keys, table.to_numpy(dtype=np.float64), totals - own.to_numpy(dtype=np.float64)


def detect(counts: pd.DataFrame, start: dt.date, end: dt.date, today: dt.date) -> list[dict]:
    """Surge episodes inside start..end (days after `today` are not tested), from daily counts that begin
    BASELINE_WEEKS weeks before `start`. Columns of `counts`: day, province, city, category, messages."""
    first = start - dt.timedelta(weeks=BASELINE_WEEKS)
    last = min(end, today)
    if counts.empty or last < start:
        return []
    days = pd.date_range(first, last, freq="D")
    counts = counts[(pd.to_datetime(counts["day"]) >= days[0]) & (pd.to_datetime(counts["day"]) <= days[-1])]
    if counts.empty:
        return []
    keys, matrix, reference = _series(counts, days)
    mean, var = baseline(matrix, reference)
    tested = slice(7 * BASELINE_WEEKS, len(days))
    x, m, v = matrix[:, tested], mean[:, tested], var[:, tested]
    alerted = _alert_days(x, m, v)
    out = []
    test_days = days[tested]
    for s, alert_days in alerted.items():
        for lo, hi in _episodes(alert_days, x[s], m[s], v[s]):
            messages = float(x[s, lo : hi + 1].sum())
            expected = float(m[s, lo : hi + 1].sum())
            ratio = messages / expected if expected else math.inf
            city = keys.at[s, "city"]
            out.append(
                {
                    "province_code": int(keys.at[s, "province"]),
                    "city": city if isinstance(city, str) and city else None,
                    "category": keys.at[s, "category"],
                    "start": test_days[lo].date().isoformat(),
                    # still going: alerted up to today (or yesterday: today's count is not complete yet)
                    "end": None
                    if last >= today and hi >= len(test_days) - 1 - GAP_DAYS
                    else test_days[hi].date().isoformat(),
                    "last_day": test_days[hi].date().isoformat(),
                    "messages": int(messages),
                    "expected": expected,
                    "ratio": ratio,
                    "level": level(ratio),
                    "daily": [
                        {"day": test_days[k].date().isoformat(), "messages": int(x[s, k]), "expected": float(m[s, k])}
                        for k in range(lo, hi + 1)
                    ],
                }
            )
    return ordered(out)


def ordered(episodes: list[dict]) -> list[dict]:
    """Episodes by start, the strongest first (a total order: a series has one episode a day at most)."""
    return sorted(episodes, key=lambda a: (a["start"], -a["ratio"], a["province_code"], a["city"] or "", a["category"]))


def _window_sums(a: np.ndarray, w: int) -> np.ndarray:
    """Sums of `a` over the w days starting at each day (the last w - 1 days: NaN, their window is not complete)."""
    out = np.full_like(a, np.nan)
    if a.shape[1] >= w:
        cum = np.concatenate([np.zeros((a.shape[0], 1)), np.cumsum(a, axis=1)], axis=1)
        out[:, : a.shape[1] - w + 1] = cum[:, w:] - cum[:, :-w]
    return out


def _alert_days(x: np.ndarray, m: np.ndarray, v: np.ndarray) -> dict[int, list[int]]:
    """{series: alert days} of the scan test (module docstring) on counts x, expected levels m, variances v."""
    expected = np.nan_to_num(m, nan=np.inf)
    high = (x >= MIN_RATIO * expected) & (x >= expected + 2 * np.sqrt(expected))
    alerted = np.zeros(x.shape, dtype=bool)
    for w in WINDOWS:
        xs, ms, vs = _window_sums(x, w), _window_sums(m, w), _window_sums(v, w)
        with np.errstate(invalid="ignore"):
            candidates = np.argwhere((xs >= MIN_MESSAGES) & (xs >= MIN_RATIO * np.nan_to_num(ms, nan=np.inf)))
        if not len(candidates):
            continue
        rows, cols = candidates[:, 0], candidates[:, 1]
        passed = upper_tail(xs[rows, cols], ms[rows, cols], vs[rows, cols]) < ALPHA / len(WINDOWS)
        for s, d in zip(rows[passed], cols[passed], strict=True):
            alerted[s, d : d + w] |= high[s, d : d + w]
    return {int(s): np.flatnonzero(row).tolist() for s, row in enumerate(alerted) if row.any()}


def _episodes(days: list[int], x: np.ndarray, m: np.ndarray, v: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) day of each episode of a series' alert days (module docstring): alert days join while the days
    between them (JOIN_DAYS at most) stay above their expected level; an episode starts where its most likely
    cluster starts (the Poisson likelihood ratio of its days from there on is largest) and must itself pass the
    test."""
    runs: list[list[int]] = []
    for d in days:
        if runs and d - runs[-1][-1] <= JOIN_DAYS + 1 and (x[runs[-1][-1] + 1 : d] > m[runs[-1][-1] + 1 : d]).all():
            runs[-1].append(d)
        else:
            runs.append([d])
    out = []
    for run in runs:
        hi = run[-1]
        lo = max(run, key=lambda d: _likelihood_ratio(x[d : hi + 1].sum(), m[d : hi + 1].sum()))
        if upper_tail(x[lo : hi + 1].sum(), m[lo : hi + 1].sum(), v[lo : hi + 1].sum()) < ALPHA / len(WINDOWS):
            out.append((lo, hi))
    return out


def _likelihood_ratio(observed: float, expected: float) -> float:
    """Log likelihood ratio of a Poisson rate raised to observed/expected against the expected rate (0 if lower)."""
    if observed <= expected:
        return 0.0
    return observed * math.log(observed / expected) - (observed - expected)
