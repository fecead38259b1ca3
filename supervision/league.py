"""Unit league (红黑榜): per replying unit and province, how fast, how satisfying, how often the problem comes back
and how often the answer is boilerplate, with one composite score.

Definitions (period = inclusive Beijing dates; filters apply to the messages):
- **answered**: messages whose first reply is in the period and came from the unit (as the drill-down).
- **on_time_rate**: of those, the share first answered within `on_time_days` days of creation.
- **median_reply_hours**: exact median first-reply delay of those (DuckDB quantile_cont).
- **rated / satisfaction_rate**: evaluations rated in the period, with a verdict, of messages the unit answered
  first (at any time); the share satisfied.
- **satisfaction_adjusted**: empirical-Bayes shrinkage toward the province's rate p:
  (satisfied + K·p) / (rated + K) with K = `SHRINK_K` = 20 pseudo-ratings. A unit with 3 ratings is mostly p; one
  with 300 mostly itself. p is the pooled rate of the province's *ranked* units (the national pooled rate of
  ranked units when the province has none), so adding units below the minimum never moves anyone else.
- **repeat_rate**: of its answered messages, the share restated after its answer (queries/supervision.sql
  `fill_league_facts`: same place and domain, within 30 days of the answer, similar title or same named location).
  The insight branch's repeat detection can replace this count later.

- **boilerplate_rate**: of its answered messages whose first reply has text, the share that is boilerplate
  (supervision/boilerplate.py: the reply compared with the replies of its day and the 90 days before); null
  without reply texts.
- **score** (0–100): 100 × weighted mean of satisfaction_adjusted (0.4), on_time_rate (0.3),
  1 − repeat_rate (0.15) and 1 − boilerplate_rate (0.15); a missing part's weight is spread over the others.
- **rank**: 1 = best score among units with at least `min_rated` rated answers (ties: more answered, then name);
  the others are listed with rank null.

Every count is read from the stored per-message facts (supervision/league_facts.py) and, for boilerplate, the stored
per-reply flags, in one query (queries/supervision.sql `league_counts`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from queries.db import Store
from queries.masking import mask_text
from queries.periods import Filters
from supervision import boilerplate, league_facts
from supervision.common import province_names, rate, sql, window

SHRINK_K = 20.0
WEIGHTS = {"satisfaction_adjusted": 0.4, "on_time_rate": 0.3, "repeat_rate": 0.15, "boilerplate_rate": 0.15}
LOWER_IS_BETTER = {"repeat_rate", "boilerplate_rate"}
UNIT_LIMIT = 60
READ_TRIES = 3
COLUMNS = [
    "unit",
    "province",
    "province_name",
    "answered",
    "on_time_rate",
    "median_reply_hours",
    "rated",
    "satisfaction_rate",
    "satisfaction_adjusted",
    "repeat_rate",
    "boilerplate_rate",
    "score",
    "rank",
]
SORT_KEYS = tuple(c for c in COLUMNS if c not in ("province_name",))
KEY = ["unit", "province"]


def counts(store: Store, f: Filters, on_time_days: int = 15) -> pd.DataFrame:
    """The raw counts per (unit, province): answered, on_time, median_reply_hours, rated, satisfied, repeats,
    with_text, boilerplate; by answered (descending), unit and province (the league's order of unranked units)."""
    params = window(f)
    for _ in range(READ_TRIES):
        # a write between the fills and the reads drops stored rows it changes: read again until no write came
        # between (else a short league would be cached under the version the caller keyed it on)
        version = store.data_version
        league_facts.ensure(store, params["start"], params["stop"])  # the period's rows only
        boilerplate.ensure(store, params["start"], params["stop"])
        frame = store.df(sql("league_counts"), dict(params, on_time_seconds=float(on_time_days) * 86_400.0))
        if store.data_version == version:
            break
    for column in ("answered", "on_time", "rated", "satisfied", "repeats", "with_text", "boilerplate"):
        frame[column] = frame[column].fillna(0).astype("int64")
    frame["median_reply_hours"] = frame["median_reply_hours"].astype("float64")
    frame["province"] = frame["province"].astype("int64")
    return frame


def league(store: Store, f: Filters, on_time_days: int = 15, min_rated: int = 30) -> pd.DataFrame:
    """Every unit that answered or was rated in the period, scored; ranked ones first by rank."""
    return score(counts(store, f, on_time_days), min_rated)


def score(frame: pd.DataFrame, min_rated: int = 30) -> pd.DataFrame:
    """Rates, shrunk satisfaction, composite score and rank from the counts (pure: no database). Ranked units come
    first by rank; the others keep the order of `frame` (counts: by answered, descending, unit and province)."""
    out = frame.copy()
    out["on_time_rate"] = rate(out["on_time"], out["answered"])
    out["satisfaction_rate"] = rate(out["satisfied"], out["rated"])
    out["repeat_rate"] = rate(out["repeats"], out["answered"])
    out["boilerplate_rate"] = rate(out["boilerplate"], out["with_text"])
    out["ranked"] = out["rated"] >= max(1, int(min_rated))
    prior = _province_prior(out)
    out["satisfaction_adjusted"] = (out["satisfied"] + SHRINK_K * prior) / (out["rated"] + SHRINK_K)
    out["score"] = _composite(out)
    out["rank"] = pd.Series(pd.NA, index=out.index, dtype="Int64")
    ranked = out[out["ranked"] & out["score"].notna()].sort_values(
        ["score", "answered", "unit", "province"], ascending=[False, False, True, True]
    )
    out.loc[ranked.index, "rank"] = np.arange(1, len(ranked) + 1)
    out["province_name"] = province_names(out["province"])
    # ranked units by rank, then the others by answered (descending) and name: the counts come in that order
    # (`counts`), so only the ranked few are moved (sorting tens of thousands of names in pandas cost ~50 ms)
    others = np.flatnonzero(out["rank"].isna().to_numpy())
    first = out.index.get_indexer(ranked.index)
    return out.take(np.concatenate([first, others])).reset_index(drop=True)


def _province_prior(frame: pd.DataFrame) -> pd.Series:
    """Pooled satisfaction of the ranked units per province (national pooled rate where a province has none)."""
    ranked = frame[frame["ranked"]]
    pooled = ranked.groupby("province")[["satisfied", "rated"]].sum()
    national_rated = ranked["rated"].sum()
    if national_rated:
        national = ranked["satisfied"].sum() / national_rated
    elif frame["rated"].sum():
        national = frame["satisfied"].sum() / frame["rated"].sum()
    else:
        national = np.nan
    by_province = (pooled["satisfied"] / pooled["rated"]).to_dict()
    return frame["province"].map(by_province).astype("float64").fillna(national)


def _composite(frame: pd.DataFrame) -> pd.Series:
    parts, weights = [], []
    for column, weight in WEIGHTS.items():
        value = frame[column].astype("float64")
        if column in LOWER_IS_BETTER:
            value = 1.0 - value
        parts.append(value.to_numpy())
        weights.append(np.where(np.isnan(value.to_numpy()), 0.0, weight))
    values = np.vstack(parts)
    w = np.vstack(weights)
    total = w.sum(axis=0)
    weighted = np.nansum(np.where(w > 0, values * w, 0.0), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.Series(np.where(total > 0, 100.0 * weighted / total, np.nan), index=frame.index)


def shown(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows as they leave the server: unit names masked (done on the rows shown, not the whole league)."""
    out = frame.copy()
    out["unit"] = [mask_text(u, UNIT_LIMIT) for u in out["unit"]]
    return out


def sort_table(frame: pd.DataFrame, sort: str = "rank", limit: int | None = None) -> pd.DataFrame:
    """`sort` is a key of SORT_KEYS, ascending, or '-key' descending; missing values last; ties by rank, unit."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORT_KEYS:
        raise ValueError(f"unknown sort key {key!r}")
    ordered = frame.assign(_rank=frame["rank"].astype("float64")).sort_values(
        [key, "_rank", "unit"], ascending=[not descending, True, True], na_position="last", kind="stable"
    )
    ordered = ordered.drop(columns="_rank")
    return shown(ordered if limit is None else ordered.head(limit)).reset_index(drop=True)


def lists(frame: pd.DataFrame, n: int = 15) -> list[dict]:
    """Per province (by adcode): the best and the worst `n` ranked units by score (worst: lowest first). A unit is
    on one list at most: a province with fewer than 2n ranked units splits them, the best list taking the middle
    one of an odd count (a unit never stands on both the red and the black list)."""
    out = []
    ranked = frame[frame["rank"].notna()]
    for province, group in ranked.groupby("province", sort=True):
        ordered = group.sort_values("rank")
        best = min(n, (len(ordered) + 1) // 2)
        worst = min(n, len(ordered) - best)
        out.append(
            {
                "province": int(province),
                "province_name": str(group["province_name"].iloc[0]),
                "ranked": len(ordered),
                "best": shown(ordered.head(best)),
                "worst": shown(ordered.iloc[::-1].head(worst)),
            }
        )
    return out
