"""Live simulator: keeps the demo platform alive at the national rhythm of the demo history.

In the server (`python app.py` on the demo database, see `start_in_process`) it first fills the gap since
it last ran, then ticks every second: new messages, first and follow-up replies, status changes (办理中),
evaluations, now and then a newly joined unit or leader; new hot issues and surges start and gather messages
(ingest/live_stories.py). Every write goes through
`queries.writes.upsert`, one transaction per kind and step. As its own process it posts through a
server's write API instead:

    python -m ingest.simulate --url http://127.0.0.1:8050 --token TOKEN [--speed N]

Model (times are naive Beijing wall-clock epoch seconds; a step simulates the interval [t0, t1)):

* Arrivals (messages, units, leaders) form a Poisson process whose cumulative intensity is a per-day total
  (the demo's `daily_rate`; the half-year unit/leader targets spread over working days) shaped within the
  day by the demo's hourly weights: count ~ Poisson(speed x expected), times by inverting the cumulative.
* Delays (first reply, follow-up replies, evaluation, 办理中) are lognormal in *business hours*: a clock that
  runs at the office-hour rhythm (slow at night, at weekends and over Spring Festival; mean rate 1). Each
  waiting record has an eventual probability p and a delay survival S. The hazard is stateless: given no
  event before t, P(event in [t, t')) = p (S(a) - S(a')) / (1 - p + p S(a)) (a = business age). Rather than
  evaluating it for every record at every tick, the event time is drawn from that same conditional law once,
  when a record enters the state (created, answered, loaded at start) or when the speed changes; a tick then
  only compares times. A gap filled in one-day steps and a live run in one-second steps are the same process.
* The speed factor multiplies arrival rates and makes the business clock run `speed` times faster from
  the start of the live run, so every kind of event is `speed` times as frequent while the eventual
  reply, evaluation and follow-up shares stay those of the demo (delays of new messages shrink by `speed`).

State: the messages still waiting for a first reply (created in the last `PENDING_DAYS`) and the answered
ones that still have a follow-up or an evaluation scheduled; records with nothing scheduled are dropped, so
memory is bounded whatever the gap. On the database they are loaded at start (answered in the last
`ANSWERED_DAYS`); against a remote server the simulator only knows the messages it created itself.

Ids: `<prefix><kind letter><event time YYYYMMDDHHMMSS>-<n>`, prefix S in the server and X standalone; the
demo's ids are M/R/U/L followed by digits. Steps never overlap in time and the database's resume point is
after the last simulated event, so ids never collide, across restarts too.

A demo database that received outside data (an import, or a write API call; `mark_imported` sets meta
imported='1') is never simulated again: `may_simulate`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial

import numpy as np
import pandas as pd
from scipy import special

from ingest import demo
from ingest.demo_compose import compose_live_replies
from ingest.live_stories import LiveStories
from ingest.validate import columns, validate
from queries import provinces as province_ref
from queries.periods import beijing_now
from queries.writes import KINDS, WriteResult, upsert

DAY = 86_400
_CAL0 = np.datetime64("2015-01-01", "D")
_CAL1 = np.datetime64("2041-01-01", "D")  # exclusive; the demo's level table is clipped beyond 2035

PENDING_DAYS = 120  # unanswered messages older than this are not answered any more (hazard ~0)
ANSWERED_DAYS = 90  # at start, messages answered earlier get no more follow-ups or evaluations
GAP_SECONDS = 300  # a longer interval between ticks is filled as a gap, at speed 1
GAP_STEP = DAY  # gap fill: one step (one transaction per kind) per day at most
TICK_SECONDS = 1.0
SAVE_SECONDS = 60  # persist meta sim_until at most this often (and at stop)

REPLY_FLOOR = 600  # no reply within 10 minutes of the message (as the demo)
FOLLOW_UP = (150.0, 1.0, 3600)  # follow-up reply: median hours, sigma, floor seconds after the last reply
EVALUATION = (30.0, 1.2, 900)  # evaluation after the first reply
STATUS = (12.0, 1.0, 600)  # 办理中 set by the source while the message waits
STATUS_SHARE = 0.4  # of waiting messages that get 办理中 (the demo: ~35 % of last month's)
STATUS_CLEARED = 0.99  # a reply clears 办理中 (the demo: 1 % of answered messages keep it)
SAME_UNIT = 0.7  # follow-ups by the unit that answered before
IN_PROGRESS = "办理中"

Clock = Callable[[], dt.datetime]
Writer = Callable[[str, pd.DataFrame], WriteResult]


# -- time -------------------------------------------------------------------------
def epoch(value: dt.datetime) -> int:
    """Naive Beijing datetime -> epoch seconds of the same wall-clock time (whole seconds, floor)."""
    return int(np.datetime64(value.replace(tzinfo=None), "s").astype(np.int64))


def from_epoch(seconds: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=int(seconds))


def _timestamps(seconds) -> np.ndarray:
    return (np.asarray(seconds, np.int64) * 1_000_000).astype("datetime64[us]")


class Rhythm:
    """Cumulative intensity over the calendar: per-day totals x within-day hourly weights, invertible."""

    def __init__(self, day_totals: np.ndarray, hour_weights: np.ndarray):
        self.day = np.asarray(day_totals, float)
        self.cum_days = np.concatenate([[0.0], np.cumsum(self.day)])
        self.w = np.asarray(hour_weights, float) / np.sum(hour_weights)
        self.edges = np.concatenate([[0.0], np.cumsum(self.w)])
        self.edges[-1] = 1.0
        self.first = int(_CAL0.astype(np.int64))

    def __call__(self, t):
        """Expected events from the calendar start to epoch second(s) t."""
        t = np.asarray(t, np.int64)
        d = np.clip(t // DAY - self.first, 0, len(self.day) - 1)
        s = t - (d + self.first) * DAY
        h = np.clip(s // 3600, 0, 23)
        share = np.minimum(self.edges[h] + (s - h * 3600) / 3600.0 * self.w[h], 1.0)
        return self.cum_days[d] + self.day[d] * share

    def inverse(self, v) -> np.ndarray:
        """Epoch second (floor) at which the cumulative intensity reaches v."""
        v = np.asarray(v, float)
        d = np.clip(np.searchsorted(self.cum_days, v, side="right") - 1, 0, len(self.day) - 1)
        share = np.clip((v - self.cum_days[d]) / self.day[d], 0.0, 1.0)
        h = np.clip(np.searchsorted(self.edges, share, side="right") - 1, 0, 23)
        s = (h + (share - self.edges[h]) / self.w[h]) * 3600.0
        return (d + self.first) * DAY + np.minimum(np.floor(s + 1e-6).astype(np.int64), DAY - 1)

    def arrivals(self, rng: np.random.Generator, t0: int, t1: int, speed: float) -> np.ndarray:
        """Sorted event times in [t0, t1) of the Poisson process with this intensity x speed."""
        low, high = float(self(t0)), float(self(t1))
        n = int(rng.poisson(max(high - low, 0.0) * speed))
        times = self.inverse(low + rng.random(n) * (high - low))
        return np.sort(np.clip(times, t0, t1 - 1))


def _calendar() -> np.ndarray:
    return np.arange(_CAL0, _CAL1)


def _weekend(days: np.ndarray) -> np.ndarray:
    return (days.astype(np.int64) + 3) % 7 >= 5


@lru_cache(maxsize=1)
def message_rhythm() -> Rhythm:
    """Expected messages: the demo's daily rate, hourly weights."""
    days = _calendar()
    return Rhythm(demo.daily_rate(days), demo.hourly_weights())


@lru_cache(maxsize=2)
def joiner_rhythm(kind: str) -> Rhythm:
    """Expected new units or leaders: each half-year's target over its working days, office hours."""
    table = demo.UNITS_PER_HALF_YEAR if kind == "units" else demo.LEADERS_PER_HALF_YEAR
    days = _calendar()
    weight = demo.day_factor(days) * np.where(_weekend(days), 0.15, 1.0)
    months = days.astype("datetime64[M]").astype(np.int64)
    block = (months // 12) * 2 + (months % 12 >= 6)
    _, inverse = np.unique(block, return_inverse=True)
    targets = np.array([table.get((int(b // 2) + 1970, int(b % 2) + 1), table[max(table)]) for b in np.unique(block)])
    totals = np.bincount(inverse, weights=weight)
    return Rhythm(weight * (targets / totals)[inverse], demo.office_hourly_weights())


@lru_cache(maxsize=1)
def business_clock() -> Rhythm:
    """Business seconds: office hours, weekends at 0.4 and Spring Festival (eve to day 5) at 0.3, mean rate 1."""
    days = _calendar()
    sf = np.array(demo.SPRING_FESTIVALS, dtype="datetime64[D]").astype(np.int64)
    d = days.astype(np.int64)
    holiday = ((d[:, None] >= sf - 1) & (d[:, None] <= sf + 5)).any(axis=1)
    factor = np.where(_weekend(days), 0.4, 1.0) * np.where(holiday, 0.3, 1.0)
    return Rhythm(factor / factor.mean() * DAY, demo.office_hourly_weights())


# -- lognormal delays ----------------------------------------------------------------
def lognormal_sf(hours, median, sigma) -> np.ndarray:
    """P(delay > hours) of a lognormal delay; 1 at 0."""
    hours = np.asarray(hours, float)
    with np.errstate(divide="ignore"):
        z = np.where(hours > 0, np.log(np.maximum(hours, 1e-300) / median), -np.inf) / (sigma * np.sqrt(2.0))
    return 0.5 * special.erfc(z)


def lognormal_isf(survival, median, sigma) -> np.ndarray:
    """Hours at which the survival function equals `survival`."""
    return median * np.exp(-sigma * special.ndtri(np.clip(survival, 1e-300, 1 - 1e-16)))


NEVER = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Timing:
    """Business age <-> time: the business clock runs `speed` times faster from epoch second `live`."""

    speed: float = 1.0
    live: int = 0

    @property
    def b_live(self) -> float:
        return float(business_clock()(self.live))

    def age_hours(self, t, b_origin) -> np.ndarray:
        """Business age at time(s) t of records whose clock started at business time b_origin."""
        b = business_clock()(t)
        extra = (self.speed - 1.0) * np.maximum(b - np.maximum(self.b_live, b_origin), 0.0)
        return np.maximum(b - b_origin + extra, 0.0) / 3600.0

    def time_at(self, hours, b_origin) -> np.ndarray:
        """The time (epoch second) at which the business age reaches `hours` (after the live start)."""
        b = (hours * 3600.0 + b_origin + (self.speed - 1.0) * np.maximum(self.b_live, b_origin)) / self.speed
        return business_clock().inverse(b)

    def draw(self, rng: np.random.Generator, t_from, origin_s, b_origin, median, sigma, share) -> np.ndarray:
        """When the event of each waiting record happens, given that it has not happened before t_from:
        NEVER with probability 1 - p S(a) / (1 - p + p S(a)), else from the delay distribution truncated to
        ages above a = age at t_from. (The stateless hazard, drawn once per record: a tick is a comparison.)"""
        b_origin = np.asarray(b_origin, float)
        n = len(b_origin)
        out = np.full(n, NEVER, np.int64)
        if not n:
            return out
        s_from = lognormal_sf(self.age_hours(t_from, b_origin), median, sigma)
        p_event = share * s_from / np.maximum(1.0 - share + share * s_from, 1e-300)
        happens = rng.random(n) < p_event
        k = int(happens.sum())
        if k:
            survival = np.maximum(rng.random(k), 1e-12) * s_from[happens]
            hours = lognormal_isf(survival, np.broadcast_to(median, (n,))[happens], sigma)
            at = self.time_at(np.minimum(hours, 1e6), b_origin[happens])
            lower = np.maximum(
                np.broadcast_to(np.asarray(t_from, np.int64), (n,))[happens],
                np.broadcast_to(np.asarray(origin_s, np.int64), (n,))[happens],
            )
            out[happens] = np.maximum(at, lower)
        return out


# -- reply probabilities ----------------------------------------------------------------
@lru_cache(maxsize=1)
def _reply_probability_table() -> np.ndarray:
    """Eventual first-reply probability by (year - 2015, province index): the demo's cohort targets."""
    codes = province_ref.codes()
    offsets = np.array([demo.REPLY_OFFSET[c] for c in codes])
    rows = []
    for year in range(2015, 2041):
        shares = demo.province_shares(min(year, 2035), 1)
        target = demo.reply_rate_target(year)
        base = target
        for _ in range(8):
            base += target - (np.clip(base + offsets, 0.3, 0.985) * shares).sum()
        rows.append(np.clip(base + offsets, 0.3, 0.985))
    return np.array(rows)


def _years(seconds: np.ndarray) -> np.ndarray:
    return _timestamps(seconds).astype("datetime64[Y]").astype(np.int64) + 1970


def reply_probability(province: np.ndarray, years: np.ndarray) -> np.ndarray:
    pidx = np.searchsorted(np.array(province_ref.codes()), np.asarray(province, np.int64))
    pidx = np.clip(pidx, 0, len(province_ref.codes()) - 1)
    return _reply_probability_table()[np.clip(np.asarray(years) - 2015, 0, 25), pidx]


def reply_median_hours(years: np.ndarray) -> np.ndarray:
    table = demo.REPLY_MEDIAN_HOURS
    return np.array(
        [table.get(int(y), table[max(table)] if y > max(table) else table[min(table)]) for y in range(2015, 2041)],
        float,
    )[np.clip(np.asarray(years) - 2015, 0, 25)]


# -- state --------------------------------------------------------------------------
# The record columns the simulator keeps for waiting messages (text is written once, with the new message).
TEXT_COLUMNS = {"messages": ("content", "likes", "location"), "replies": ("content",)}
MESSAGE_COLUMNS = [c for c in columns("messages") if c not in TEXT_COLUMNS["messages"]]
Table = dict[str, np.ndarray]


def _size(table: Table) -> int:
    return len(next(iter(table.values())))


def _take(table: Table, index) -> Table:
    return {k: v[index] for k, v in table.items()}


def _concat(a: Table, b: Table) -> Table:
    if not _size(b):
        return a
    if not _size(a):
        return b
    return {k: np.concatenate([a[k], b[k]]) for k in a}


def _pending_table(rows: pd.DataFrame, place, category_index) -> Table:
    """Messages waiting for their first reply: the canonical message columns plus what the delays need.
    `t_reply` / `t_status` (the scheduled first reply / 办理中) are filled by `_schedule_pending`."""
    out = {c: np.array(rows[c].to_numpy(dtype=object), dtype=object) for c in MESSAGE_COLUMNS}
    for c in MESSAGE_COLUMNS:
        missing = pd.isna(out[c])
        if missing.any():
            out[c][missing] = None
    out["province"] = rows["province"].to_numpy().astype(np.int32)
    out["is_urgent"] = rows["is_urgent"].to_numpy().astype(bool)
    out["created_at"] = rows["created_at"].to_numpy().astype("datetime64[us]")
    created_s = out["created_at"].astype("datetime64[s]").astype(np.int64)
    years = _years(created_s)
    n = len(created_s)
    out.update(
        created_s=created_s,
        place=np.asarray(place, np.int32),
        category_index=np.asarray(category_index, np.int8),
        probability=reply_probability(out["province"], years),
        median=reply_median_hours(years),
        b_origin=business_clock()(created_s + REPLY_FLOOR),
        t_reply=np.full(n, NEVER),
        t_status=np.full(n, NEVER),
        dirty=np.zeros(n, bool),
    )
    return out


def _answered_table(message_id, place, category_index, first_s, last_s, count, unit, evaluated) -> Table:
    """Answered messages that may still get a follow-up reply or an evaluation (`t_follow`, `t_eval`)."""
    clock = business_clock()
    first_s, last_s = np.asarray(first_s, np.int64), np.asarray(last_s, np.int64)
    n = len(first_s)
    return {
        "message_id": np.asarray(message_id, object),
        "place": np.asarray(place, np.int32),
        "category_index": np.asarray(category_index, np.int8),
        "first_s": first_s,
        "last_s": last_s,
        "count": np.asarray(count, np.int32),
        "unit": np.asarray(unit, object),
        "evaluated": np.asarray(evaluated, bool),
        "b_follow": clock(last_s + FOLLOW_UP[2]),
        "b_eval": clock(first_s + EVALUATION[2]),
        "t_follow": np.full(n, NEVER),
        "t_eval": np.full(n, NEVER),
    }


def _schedule_pending(rng: np.random.Generator, timing: Timing, table: Table, t_from) -> None:
    """(Re)draw the first reply and the 办理中 change of waiting messages, given none before t_from."""
    origin = table["created_s"] + REPLY_FLOOR
    table["t_reply"] = timing.draw(
        rng, t_from, origin, table["b_origin"], table["median"], demo.REPLY_DELAY_SIGMA, table["probability"]
    )
    status = timing.draw(rng, t_from, origin, table["b_origin"], STATUS[0], STATUS[1], STATUS_SHARE)
    table["t_status"] = np.where(pd.isna(table["source_status"]), status, NEVER)


def _schedule_answered(
    rng: np.random.Generator, timing: Timing, table: Table, t_from, follow=True, evaluation=True
) -> None:
    """(Re)draw the next follow-up reply and the evaluation of answered messages, given none before t_from."""
    if follow:
        share = np.where(table["count"] == 1, demo.FOLLOW_UP_SHARE, demo.THIRD_REPLY_SHARE)
        at = timing.draw(
            rng, t_from, table["last_s"] + FOLLOW_UP[2], table["b_follow"], FOLLOW_UP[0], FOLLOW_UP[1], share
        )
        table["t_follow"] = np.where(table["count"] < 3, at, NEVER)
    if evaluation:
        at = timing.draw(
            rng,
            t_from,
            table["first_s"] + EVALUATION[2],
            table["b_eval"],
            EVALUATION[0],
            EVALUATION[1],
            demo.EVALUATION_SHARE,
        )
        table["t_eval"] = np.where(table["evaluated"], NEVER, at)


def _unit_names(rng: np.random.Generator, place: np.ndarray, category_index: np.ndarray) -> np.ndarray:
    """Replying units of the demo's kind; none for a message outside the demo's places."""
    out = np.full(len(place), None, dtype=object)
    known = place >= 0
    if known.any():
        out[known] = demo.sample_unit_names(rng, place[known], category_index[known])
    return out


def _reply_texts(frame: pd.DataFrame, *tables: Table) -> list:
    """Reply texts for the step's replies, from their messages' place and domain (None where unknown)."""
    ids = np.concatenate([t["message_id"] for t in tables])
    place = np.concatenate([t["place"] for t in tables]).astype(np.int64)
    category = np.concatenate([t["category_index"] for t in tables]).astype(np.int64)
    first = ~pd.Index(ids).duplicated()
    ids, place, category = ids[first], place[first], category[first]
    where = pd.Index(ids).get_indexer(frame["message_id"])
    known = (where >= 0) & (place[np.maximum(where, 0)] >= 0)
    texts = [None] * len(frame)
    if known.any():
        sel = where[known]
        places = demo.place_table()
        rows = frame[known].assign(
            category_index=category[sel],
            city=places["city"].astype(str).to_numpy()[place[sel]],
            district=places["district"].astype(str).to_numpy()[place[sel]],
        )
        for i, text in zip(np.flatnonzero(known), compose_live_replies(rows), strict=True):
            texts[i] = text
    return texts


def _ids(prefix: str, seconds: np.ndarray) -> np.ndarray:
    stamps = pd.to_datetime(np.asarray(seconds, np.int64), unit="s").strftime("%Y%m%d%H%M%S")
    return np.array([f"{prefix}{s}-{i}" for i, s in enumerate(stamps)], dtype=object)


@dataclass
class StepResult:
    """What one step (or a whole gap fill) wrote: new records per kind, and status changes."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    status_changes: int = 0
    rejected: int = 0

    def add(self, other: StepResult) -> None:
        for kind, n in other.counts.items():
            self.counts[kind] += n
        self.status_changes += other.status_changes
        self.rejected += other.rejected

    @property
    def total(self) -> int:
        return sum(self.counts.values()) + self.status_changes

    def __str__(self) -> str:
        return (
            ", ".join(f"{n:,} {kind}" for kind, n in self.counts.items()) + f" ({self.status_changes:,} status changes)"
        )


# -- the simulator ----------------------------------------------------------------------
class Simulator:
    """Simulates [until, now) in steps and writes each step through `write` (upsert or RemoteWriter).

    `store` (optional): the database the writes go to; then the waiting and answered messages are loaded
    from it, the resume point is meta sim_until (or demo_until), and the live thread stops when
    `may_simulate(store)` turns false. Without a store only the simulator's own messages are known.
    """

    def __init__(
        self,
        write: Writer,
        *,
        seed: int,
        speed: float = 1.0,
        clock: Clock = beijing_now,
        store=None,
        prefix: str = "S",
        tick_seconds: float = TICK_SECONDS,
        log=None,
    ):
        if not speed > 0:
            raise ValueError("speed must be positive")
        self.write = write
        self.seed = int(seed)
        self.speed = float(speed)
        self.clock = clock
        self.store = store
        self.prefix = prefix
        self.tick_seconds = tick_seconds
        self.log = log or (lambda text: print(f"simulator: {text}", file=sys.stderr, flush=True))
        self.pending = _pending_table(pd.DataFrame({c: [] for c in MESSAGE_COLUMNS}), [], [])
        self.answered = _answered_table([], [], [], [], [], [], [], [])
        self.timing = Timing()
        self.stories = LiveStories(message_rhythm())  # new hot issues and surges (ingest/live_stories.py)
        self.until: int | None = None
        self.live_since: int | None = None
        self.totals = StepResult()
        self._saved_until: int | None = None
        self._saved_at = 0.0
        self._pruned_at = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if store is not None:
            self._load(store)

    # -- state from the database --------------------------------------------------------
    def _load(self, store) -> None:
        self.until = resume_point(store)
        since = from_epoch(self.until - PENDING_DAYS * DAY)
        rows = store.df(
            f"SELECT {', '.join(MESSAGE_COLUMNS)} FROM messages "
            "WHERE first_reply_at IS NULL AND created_at >= $since ORDER BY created_at, message_id",
            {"since": since},
        )
        pending = _pending_table(
            rows,
            demo.place_keys(rows["province"], rows["city"], rows["district"]),
            demo.category_keys(rows["category"]),
        )
        since = from_epoch(self.until - ANSWERED_DAYS * DAY)
        rows = store.df(
            "SELECT m.message_id, m.province, m.city, m.district, m.category, m.first_reply_at, r.last_at, r.n, "
            "r.last_unit, e.message_id IS NOT NULL AS evaluated "
            "FROM messages m "
            "JOIN (SELECT message_id, max(replied_at) AS last_at, arg_max(unit, replied_at) AS last_unit, "
            "      count(*) AS n FROM replies WHERE replied_at >= $since GROUP BY message_id) r USING (message_id) "
            "LEFT JOIN evaluations e USING (message_id) "
            "WHERE m.first_reply_at >= $since ORDER BY m.first_reply_at, m.message_id",
            {"since": since},
        )
        seconds = {
            c: rows[c].to_numpy().astype("datetime64[s]").astype(np.int64) for c in ("first_reply_at", "last_at")
        }
        units = np.array(rows["last_unit"].to_numpy(dtype=object), dtype=object)
        units[pd.isna(units)] = None
        answered = _answered_table(
            rows["message_id"].to_numpy(dtype=object),
            demo.place_keys(rows["province"], rows["city"], rows["district"]),
            demo.category_keys(rows["category"]),
            seconds["first_reply_at"],
            seconds["last_at"],
            rows["n"],
            units,
            rows["evaluated"],
        )
        rng = np.random.default_rng([self.seed, 1, self.until])
        _schedule_pending(rng, self.timing, pending, self.until)
        _schedule_answered(rng, self.timing, answered, self.until)
        self.pending, self.answered = pending, answered
        self._prune(self.until)
        self._saved_until = self.until

    def _retime(self, t: int, timing: Timing) -> None:
        """The speed changed at t: redraw every scheduled event under the new timing, given none before t."""
        rng = np.random.default_rng([self.seed, 2, t])
        pending, answered = dict(self.pending), dict(self.answered)
        _schedule_pending(rng, timing, pending, t)
        _schedule_answered(rng, timing, answered, t)
        self.pending, self.answered, self.timing = pending, answered, timing

    # -- one step ------------------------------------------------------------------------
    def start_at(self, when: dt.datetime) -> None:
        self.until = epoch(when)

    def step(self, t1: int, speed: float | None = None) -> StepResult:
        """Simulate [until, t1) and write it; `speed` defaults to the live speed."""
        t0 = self.until
        if t0 is None:
            raise RuntimeError("the simulator has no start time: call start_at() or give it a store")
        if t1 <= t0:
            return StepResult()
        speed = self.speed if speed is None else float(speed)
        if speed != 1.0 and self.live_since is None:
            self.live_since = t0
        timing = Timing(speed, self.live_since) if speed != 1.0 else Timing()
        if timing != self.timing:
            self._retime(t0, timing)
        rng = np.random.default_rng([self.seed, 0, t0, t1])
        stories = self.stories.snapshot()
        frames, pending, answered, result = self._simulate(rng, t0, t1)
        done: list[str] = []
        try:
            self._write(frames, done, result, latest=from_epoch(t1))
        except Exception:
            if done:  # rows are out: keep the state that produced them even though a later kind failed
                self.pending, self.answered, self.until = pending, answered, t1
            else:
                self.stories.restore(stories)
            raise
        self.pending, self.answered, self.until = pending, answered, t1
        if t1 - self._pruned_at >= 3600:
            self._prune(t1)
        self.totals.add(result)
        return result

    def _simulate(self, rng: np.random.Generator, t0: int, t1: int):
        timing = self.timing
        result = StepResult()
        frames: dict[str, pd.DataFrame] = {}

        # New messages, with their first reply and 办理中 scheduled; some join a (new) hot issue or surge.
        times = message_rhythm().arrivals(rng, t0, t1, timing.speed)
        self.stories.advance(rng, t0, t1, timing.speed)
        pending = self.pending
        if len(times):
            years = _years(times)
            halves = np.where(_timestamps(times).astype("datetime64[M]").astype(np.int64) % 12 < 6, 1, 2)
            rows = demo.sample_message_attributes(rng, years, halves)
            self.stories.plant(rng, rows, times)
            rows["message_id"] = _ids(self.prefix + "M", times)
            rows["created_at"] = _timestamps(times)
            rows["source_status"] = None
            texts = demo.compose_message_texts(rows)
            rows["title"] = texts["title"].to_numpy(dtype=object)
            new_texts = pd.DataFrame(
                {
                    "message_id": rows["message_id"],
                    "content": texts["content"].to_numpy(dtype=object),
                    "location": texts["location"].to_numpy(dtype=object),
                    "likes": rows["likes"].to_numpy(),
                }
            )
            new = _pending_table(rows, rows["place"].to_numpy(), rows["category_index"].to_numpy())
            new["dirty"][:] = True
            _schedule_pending(rng, timing, new, times)
            pending = _concat(pending, new)
            result.counts["messages"] = len(times)

        # First replies due in the step; a reply clears a source's 办理中 (mostly).
        due = pending["t_reply"] < t1
        now_answered = _take(pending, due)
        still = dict(_take(pending, ~due) if due.any() else pending)
        first_at = now_answered["t_reply"]
        first_units = _unit_names(rng, now_answered["place"], now_answered["category_index"])
        replies = [(now_answered["message_id"], first_at, first_units)]
        cleared = (now_answered["source_status"] == IN_PROGRESS) & (rng.random(len(first_at)) < STATUS_CLEARED)
        if cleared.any():
            now_answered["source_status"] = np.where(cleared, None, now_answered["source_status"])
            now_answered["dirty"] = now_answered["dirty"] | cleared
            result.status_changes += int(cleared.sum())

        # 办理中 of messages still waiting.
        due = still["t_status"] < t1
        if due.any():
            for column, value in (("source_status", IN_PROGRESS), ("dirty", True), ("t_status", NEVER)):
                still[column] = still[column].copy()
                still[column][due] = value
            result.status_changes += int(due.sum())
        changed = _concat(_take(still, still["dirty"]), _take(now_answered, now_answered["dirty"]))
        if still["dirty"].any():
            still["dirty"] = np.zeros(_size(still), bool)
        if _size(changed):
            frame = pd.DataFrame({c: changed[c] for c in MESSAGE_COLUMNS})
            if len(times):  # the new messages' text (re-written messages carry none: their text stays)
                frame = frame.merge(new_texts, on="message_id", how="left")
            frames["messages"] = frame.sort_values(["created_at", "message_id"], kind="stable")

        # Follow-up replies and evaluations of answered messages (including those answered just now).
        answered = self.answered
        if len(first_at):
            new = _answered_table(
                now_answered["message_id"],
                now_answered["place"],
                now_answered["category_index"],
                first_at,
                first_at,
                np.ones(len(first_at)),
                first_units,
                np.zeros(len(first_at), bool),
            )
            _schedule_answered(rng, timing, new, first_at)
            answered = _concat(answered, new)
        copied = len(first_at) > 0  # the concatenation made new arrays
        while True:
            due = np.flatnonzero(answered["t_follow"] < t1)
            if not len(due):
                break
            if not copied:
                answered, copied = {k: v.copy() for k, v in answered.items()}, True
            at = answered["t_follow"][due]
            other = _unit_names(rng, answered["place"][due], answered["category_index"][due])
            unit = np.where(rng.random(len(due)) < SAME_UNIT, answered["unit"][due], other)
            answered["count"][due] += 1
            answered["last_s"][due] = at
            answered["unit"][due] = unit
            answered["b_follow"][due] = business_clock()(at + FOLLOW_UP[2])
            part = _take(answered, due)
            _schedule_answered(rng, timing, part, at, evaluation=False)
            answered["t_follow"][due] = part["t_follow"]
            replies.append((answered["message_id"][due], at, unit))
        due = np.flatnonzero(answered["t_eval"] < t1)
        if len(due):
            if not copied:
                answered, copied = {k: v.copy() for k, v in answered.items()}, True
            rated_at = answered["t_eval"][due]
            answered["evaluated"][due] = True
            answered["t_eval"][due] = NEVER
            resolution, attitude, speed_score, satisfied = demo.sample_scores(rng, len(due))
            frames["evaluations"] = pd.DataFrame(
                {
                    "message_id": answered["message_id"][due],
                    "rated_at": _timestamps(rated_at),
                    "satisfied": satisfied,
                    "score_resolution": resolution,
                    "score_attitude": attitude,
                    "score_speed": speed_score,
                }
            ).sort_values(["rated_at", "message_id"], kind="stable")
            result.counts["evaluations"] = len(due)

        ids = np.concatenate([p[0] for p in replies])
        if len(ids):
            at = np.concatenate([p[1] for p in replies])
            order = np.lexsort((ids.astype(str), at))
            frame = pd.DataFrame(
                {
                    "reply_id": _ids(self.prefix + "R", at[order]),
                    "message_id": ids[order],
                    "replied_at": _timestamps(at[order]),
                    "unit": np.concatenate([p[2] for p in replies])[order],
                }
            )
            frames["replies"] = frame.assign(content=_reply_texts(frame, now_answered, answered))
            result.counts["replies"] = len(ids)

        # Newly joined units and leaders.
        for kind, letter in (("units", "U"), ("leaders", "L")):
            times = joiner_rhythm(kind).arrivals(rng, t0, t1, timing.speed)
            if len(times):
                rows = demo.sample_joiners(rng, kind, len(times))
                rows.insert(0, "unit_id" if kind == "units" else "leader_id", _ids(self.prefix + letter, times))
                rows["joined_at"] = _timestamps(times)
                frames[kind] = rows
                result.counts[kind] = len(times)
        return frames, still, answered, result

    def _write(self, frames: dict[str, pd.DataFrame], done: list[str], result: StepResult, latest: dt.datetime) -> None:
        """One write per kind, in dependency order (a reply's message is written before it); `done` lists
        the kinds written so far. The rows are validated against the simulator's own clock (`latest`, the
        step's end), which tests and demos may freeze anywhere."""
        for kind in KINDS:
            frame = frames.get(kind)
            if frame is None or frame.empty:
                continue
            frame = frame.reindex(columns=columns(kind)).reset_index(drop=True)  # absent text columns: no text
            frame.insert(0, "_row", np.arange(1, len(frame) + 1))
            accepted, rejected = validate(kind, frame, latest=latest)
            if rejected:
                raise AssertionError(f"simulated {kind} rows are invalid: {rejected[:3]}")
            written = self.write(kind, accepted)
            done.append(kind)
            result.rejected += len(written.rejected)
            if written.rejected:
                self.log(f"{len(written.rejected)} {kind} rejected, e.g. {written.rejected[0]}")

    def _prune(self, now: int) -> None:
        """Forget records with nothing scheduled, and waiting messages too old to be answered."""
        self._pruned_at = now
        p = self.pending
        keep = ((p["t_reply"] != NEVER) | (p["t_status"] != NEVER)) & (p["created_s"] >= now - PENDING_DAYS * DAY)
        if not keep.all():
            self.pending = _take(p, keep)
        a = self.answered
        keep = (a["t_follow"] != NEVER) | (a["t_eval"] != NEVER)
        if not keep.all():
            self.answered = _take(a, keep)

    # -- gap fill and live ticks ---------------------------------------------------------
    def fill_gap(self, now: dt.datetime | None = None, *, progress: bool = False) -> StepResult:
        """Simulate [until, now) at speed 1, one step per calendar day (bounded memory, one transaction per
        kind and day), then persist the resume point."""
        end = epoch(now or self.clock())
        total = StepResult()
        if self.until is None or end <= self.until:
            return total
        from tqdm import tqdm

        bar = tqdm(
            total=round((end - self.until) / DAY, 2),
            unit="day",
            desc="simulator gap fill",
            file=sys.stderr,
            disable=not progress,
            bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} days [{elapsed}<{remaining}]{postfix}",
        )
        try:
            while self.until < end:
                t0 = self.until
                t1 = min((t0 // GAP_STEP + 1) * GAP_STEP, end)
                total.add(self.step(t1, speed=1.0))
                bar.update(round((t1 - t0) / DAY, 4))
                bar.set_postfix_str(f"{total.counts['messages']:,} messages")
        finally:
            bar.close()
            self.save()
        return total

    def advance(self, now: dt.datetime | None = None) -> StepResult:
        """Catch up with `now` (the clock by default): a gap longer than GAP_SECONDS at speed 1, else one step."""
        end = epoch(now or self.clock())
        if self.until is None:
            self.until = end
        if end - self.until > GAP_SECONDS:
            filled = self.fill_gap(from_epoch(end))
            self.live_since = self.until  # the speeded clock restarts after a gap
            return filled
        if self.live_since is None:
            self.live_since = self.until
        result = self.step(end)
        if result.total:
            self._maybe_save()
        return result

    def save(self) -> None:
        """Persist the resume point (meta sim_until) in the database, when there is one and it moved."""
        if self.store is None or self.until is None or self.until == self._saved_until:
            return
        with self.store.write() as cur:
            self.store.touch()  # no message changes
            self.store.set_meta(cur, "sim_until", from_epoch(self.until).isoformat())
        self._saved_until = self.until
        self._saved_at = time.monotonic()

    def _maybe_save(self) -> None:
        if time.monotonic() - self._saved_at >= SAVE_SECONDS:
            self.save()

    # -- thread -----------------------------------------------------------------------
    def start(self) -> Simulator:
        """Tick in a daemon thread until stop()."""
        if self.until is None:
            self.until = epoch(self.clock())
        self.live_since = self.until
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="liuyan-simulator", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        failures = 0
        while not self._stop.wait(self.tick_seconds if not failures else min(60.0, 2.0**failures)):
            try:
                if self.store is not None and not may_simulate(self.store):
                    self.log("the database now holds imported data: the simulator stops")
                    return
                self.advance()
                failures = 0
            except Exception as exc:  # keep the server alive; retry with back-off
                failures += 1
                if failures <= 3 or failures % 20 == 0:
                    self.log(f"step failed ({type(exc).__name__}: {exc}); retrying")

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        try:
            if self.store is None or may_simulate(self.store):
                self.save()
        except Exception as exc:  # the store may be closing
            self.log(f"could not save the resume point: {exc}")

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


# -- the database: when to simulate, where to resume ------------------------------------
def may_simulate(store) -> bool:
    """Only a demo database that never received outside data (import or write API) is simulated."""
    return store.is_demo and store.meta("imported") != "1"


def mark_imported(store) -> None:
    """Record that outside data reached a demo database: the simulator never runs on it again."""
    if store.is_demo and store.meta("imported") != "1":
        with store.write() as cur:
            store.touch()  # no message changes
            store.set_meta(cur, "imported", "1")


def resume_point(store) -> int:
    """Where the simulation continues: meta sim_until (else demo_until), or just after the last simulated
    event written later than that (a crash between a step's writes and the next save)."""
    saved = store.meta("sim_until") or store.meta("demo_until")
    if not saved:
        raise ValueError("not a demo database: no demo_until")
    until = dt.datetime.fromisoformat(saved)
    last = store.scalar(
        "SELECT max(t) FROM (SELECT max(created_at) AS t FROM messages WHERE created_at >= $u "
        "UNION ALL SELECT max(replied_at) FROM replies WHERE replied_at >= $u "
        "UNION ALL SELECT max(rated_at) FROM evaluations WHERE rated_at >= $u "
        "UNION ALL SELECT max(joined_at) FROM units WHERE joined_at >= $u "
        "UNION ALL SELECT max(joined_at) FROM leaders WHERE joined_at >= $u)",
        {"u": until},
    )
    if last is not None:
        until = max(until, last.replace(microsecond=0) + dt.timedelta(seconds=1))
    return epoch(until)


def start_in_process(
    store, settings, *, clock: Clock = beijing_now, progress: bool | None = None, tick_seconds: float = TICK_SECONDS
) -> Simulator | None:
    """For `python app.py`: on a demo database (and with simulation on) fill the gap since the simulator
    last ran, then start the live thread. Returns None when it does not run."""
    if not settings.simulate or not may_simulate(store):
        return None
    simulator = Simulator(
        partial(upsert, store),
        seed=settings.seed,
        speed=settings.sim_speed,
        clock=clock,
        store=store,
        prefix="S",
        tick_seconds=tick_seconds,
    )
    since = simulator.until
    gap = epoch(clock()) - since
    if gap > 0:
        began = time.perf_counter()
        filled = simulator.fill_gap(progress=sys.stderr.isatty() if progress is None else progress)
        if gap > GAP_SECONDS:
            simulator.log(
                f"filled the {gap / 3600:,.1f} h since {from_epoch(since)} in "
                f"{time.perf_counter() - began:.1f} s: {filled}"
            )
    simulator.start()
    simulator.log(f"live at speed {simulator.speed:g} (--sim-speed), one tick every {tick_seconds:g} s")
    return simulator


# -- standalone -------------------------------------------------------------------------
def main(argv=None) -> int:
    """Simulate against a running server through its write API."""
    from ingest.forward import RemoteWriter

    parser = argparse.ArgumentParser(prog="python -m ingest.simulate", description=main.__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8050", help="server base URL")
    parser.add_argument(
        "--token",
        default=os.environ.get("LIUYAN_INGEST_TOKEN", ""),
        help="write API bearer token (default: LIUYAN_INGEST_TOKEN)",
    )
    parser.add_argument("--speed", type=float, default=1.0, help="speed factor, 1 = real national rhythm")
    parser.add_argument("--seed", type=int, default=20210722)
    parser.add_argument("--tick", type=float, default=TICK_SECONDS, help="seconds between steps")
    parser.add_argument("--duration", type=float, default=0, help="stop after this many seconds (0: run until ^C)")
    parser.add_argument("--prefix", default="X", help="id prefix (distinct per concurrent simulator)")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("--token (or LIUYAN_INGEST_TOKEN) is required")
    simulator = Simulator(
        RemoteWriter(args.url, args.token, timeout=60),
        seed=args.seed,
        speed=args.speed,
        prefix=args.prefix,
        tick_seconds=args.tick,
    )
    simulator.log(f"posting to {args.url} at speed {args.speed:g}; ^C to stop")
    began = time.monotonic()
    last_report = began
    simulator.until = epoch(simulator.clock())
    simulator.live_since = simulator.until
    try:
        while not args.duration or time.monotonic() - began < args.duration:
            time.sleep(args.tick)
            try:
                simulator.advance()
            except Exception as exc:  # the server may be restarting: keep trying
                simulator.log(f"step failed ({exc}); retrying")
                time.sleep(min(30.0, args.tick * 5))
            if time.monotonic() - last_report >= 60:
                simulator.log(f"so far {simulator.totals}")
                last_report = time.monotonic()
    except KeyboardInterrupt:
        pass
    simulator.log(f"done: {simulator.totals}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
