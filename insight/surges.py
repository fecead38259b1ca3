"""Surges (预警): a province × domain or city × domain daily count far above its own expected level.

Expected level of a series on day t: the mean of its counts on the same weekday in the previous BASELINE_WEEKS
weeks, leaving out the largest one (so one earlier surge or holiday does not lift the baseline). Using the same
weekday carries the weekly rhythm; eight weeks follow the season and the trend. The count is tested against a
negative binomial with that mean and the baseline's own variance (Poisson when the baseline is not
over-dispersed): the upper tail P(X >= x) must be below ALPHA, a Bonferroni bound over the about 2 million
series-days a year nationally (31 provinces and ~340 cities × 16 domains × 365 days), so that under the model
the whole country sees about one false alarm a year. A day also needs at least MIN_MESSAGES messages and
MIN_RATIO times the expected level. Alert days of a series no more than GAP_DAYS apart form one episode.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

BASELINE_WEEKS = 8
ALPHA = 1e-6
MIN_MESSAGES = 5
MIN_RATIO = 1.5
GAP_DAYS = 1
FLOOR = 0.5  # expected level of a series that was silent for eight weeks


def upper_tail(x: int, mean: float, variance: float) -> float:
    """P(X >= x) for a negative binomial of this mean and variance (Poisson when variance <= mean).

    Summed upward from x in log space: only counts above the mean are tested, where the terms fall, and the
    sum stays accurate when the tail is tiny (1 - cdf would cancel).
    """
    if x <= 0:
        return 1.0
    if not variance > mean * 1.05:
        log_term = lambda k: -mean + k * math.log(mean) - math.lgamma(k + 1)  # noqa: E731
    else:
        r = mean * mean / (variance - mean)
        p = r / (r + mean)
        log_term = lambda k: (  # noqa: E731
            math.lgamma(k + r) - math.lgamma(r) - math.lgamma(k + 1) + r * math.log(p) + k * math.log1p(-p)
        )
    total, k = 0.0, x
    while k < x + 20_000:
        term = math.exp(log_term(k))
        total += term
        if term <= total * 1e-10:
            break
        k += 1
    return min(1.0, total)


def baseline(matrix: np.ndarray, weeks: int = BASELINE_WEEKS) -> tuple[np.ndarray, np.ndarray]:
    """Expected level and variance per (series, day) from the same weekday of the previous `weeks` weeks.

    Days without `weeks` full weeks of history get NaN.
    """
    n_series, n_days = matrix.shape
    mean = np.full((n_series, n_days), np.nan)
    var = np.full((n_series, n_days), np.nan)
    if n_days <= 7 * weeks:
        return mean, var
    lags = np.stack([matrix[:, 7 * weeks - 7 * w : n_days - 7 * w] for w in range(1, weeks + 1)], axis=2)
    trimmed = np.sort(lags, axis=2)[:, :, :-1]  # leave out the largest
    mean[:, 7 * weeks :] = np.maximum(trimmed.mean(axis=2), FLOOR)
    var[:, 7 * weeks :] = trimmed.var(axis=2, ddof=1)
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
    candidates = np.argwhere((x >= MIN_MESSAGES) & (x >= MIN_RATIO * np.nan_to_num(m, nan=np.inf)))
    alerted: dict[int, list[int]] = {}
    for s, d in candidates:
        if upper_tail(int(x[s, d]), float(m[s, d]), float(v[s, d])) < ALPHA:
            alerted.setdefault(int(s), []).append(int(d))
    out = []
    test_days = days[tested]
    for s, alert_days in alerted.items():
        for run in _episodes(sorted(alert_days)):
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
    out.sort(key=lambda a: (a["start"], -a["ratio"], a["province_code"], a["city"] or "", a["category"]))
    return out


def _episodes(days: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for d in days:
        if runs and d - runs[-1][-1] <= GAP_DAYS + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return runs
