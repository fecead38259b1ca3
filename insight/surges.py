"""Surges (预警): a province × domain or city × domain daily count far above its own expected level.

Expected level of a series on day t: the mean of its counts on the same weekday in the previous BASELINE_WEEKS
weeks, leaving out the largest one (so one earlier surge or holiday does not lift the baseline). Using the same
weekday carries the weekly rhythm; eight weeks follow the season and the trend. The count is tested against a
negative binomial with that mean and the baseline's own variance (Poisson when the baseline is not
over-dispersed; scipy.stats). Single days and windows of WINDOWS days are tested (a week at 1.8 times the usual
level is as clear a surge as one day at four times, but no single day of it stands out): the upper tail of the
window's sum, against the sum of its days' expected levels and variances, must be below ALPHA / len(WINDOWS),
ALPHA being a Bonferroni bound over the about 2 million series-days a year nationally (31 provinces and ~340
cities × 16 domains × 365 days) with a margin of 1,000: under the model the whole country would see one false
alarm in a millennium, but a variance estimated from seven weeks is optimistic and days are not independent.
A window also needs at least MIN_MESSAGES messages and MIN_RATIO times its expected level; its alert days are
its days at MIN_RATIO times their expected level and two Poisson deviations above it or more (so a surge starts
on its first clearly high day, not at the window's start or on a day of small counts high by chance). Alert days
of a series no more than GAP_DAYS apart form one episode.
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
WINDOWS = (1, 3, 7)  # days summed by the scan test
_SERIES_AT_ONCE = 500  # series whose baselines are computed together
FLOOR = 0.2  # level of a series silent for 8 weeks: about 4x the 95 % upper bound of nought in 56 days (3/56)


def upper_tail(x, mean, variance) -> np.ndarray:
    """P(X >= x) for negative binomials of these means and variances (Poisson where variance <= 1.05 mean),
    elementwise. r = mean² / (variance - mean), p = r / (r + mean)."""
    x, mean, variance = (np.asarray(a, dtype=np.float64) for a in (x, mean, variance))
    over = variance > mean * 1.05
    excess = np.where(over, variance - mean, 1.0)
    r = mean * mean / excess
    return np.where(over, stats.nbinom.sf(x - 1, r, r / (r + mean)), stats.poisson.sf(x - 1, mean))


def baseline(matrix: np.ndarray, weeks: int = BASELINE_WEEKS) -> tuple[np.ndarray, np.ndarray]:
    """Expected level and variance per (series, day) from the same weekday of the previous `weeks` weeks.

    Days without `weeks` full weeks of history get NaN.
    """
    n_series, n_days = matrix.shape
    mean = np.full((n_series, n_days), np.nan)
    var = np.full((n_series, n_days), np.nan)
    if n_days <= 7 * weeks:
        return mean, var
    for lo in range(0, n_series, _SERIES_AT_ONCE):  # a year's lags of every series at once: about 0.5 GB
        part = matrix[lo : lo + _SERIES_AT_ONCE]
        lags = np.stack([part[:, 7 * weeks - 7 * w : n_days - 7 * w] for w in range(1, weeks + 1)], axis=2)
        trimmed = np.sort(lags, axis=2)[:, :, :-1]  # leave out the largest
        mean[lo : lo + len(part), 7 * weeks :] = np.maximum(trimmed.mean(axis=2), FLOOR)
        var[lo : lo + len(part), 7 * weeks :] = trimmed.var(axis=2, ddof=1)
    return mean, var


def level(ratio: float) -> str:
    if ratio >= 4:
        return "red"
    if ratio >= 2.5:
        return "orange"
    return "yellow"


def _series(counts: pd.DataFrame, days: pd.DatetimeIndex) -> tuple[pd.DataFrame, np.ndarray]:
    """Dense day matrices of province × domain (city '') and city × domain series."""
    counts = counts.assign(day=pd.to_datetime(counts["day"]))
    province = counts.groupby(["province", "category", "day"], as_index=False)["messages"].sum().assign(city="")
    city = counts[counts["city"] != ""]
    both = pd.concat([province, city[["province", "city", "category", "day", "messages"]]], ignore_index=True)
    # one row per series that has messages (city '' = the whole province), one column per day
    table = both.pivot_table(index=["province", "city", "category"], columns="day", values="messages", aggfunc="sum")
    table = table.reindex(columns=days).fillna(0)
    keys = table.index.to_frame(index=False)
    return keys, table.to_numpy(dtype=np.float64)


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
    keys, matrix = _series(counts, days)
    mean, var = baseline(matrix)
    tested = slice(7 * BASELINE_WEEKS, len(days))
    x, m, v = matrix[:, tested], mean[:, tested], var[:, tested]
    alerted = _alert_days(x, m, v)
    out = []
    test_days = days[tested]
    for s, alert_days in alerted.items():
        for run in _episodes(alert_days):
            lo, hi = run[0], run[-1]
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


def _episodes(days: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for d in days:
        if runs and d - runs[-1][-1] <= GAP_DAYS + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return runs
