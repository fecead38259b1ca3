"""New planted stories while the live simulator runs: hot issues and surges start, grow and end as in the history.

The history plants its stories once (ingest/demo_stories.py); the simulator (ingest/simulate.py) asks this module
every step to start new ones and to turn some of the step's new messages into members. Like the history, a story
rewrites messages that were drawn anyway (their time and province stay, so the national rhythm holds):

- hot issue: many people report one problem at one place. It starts HOT_PER_MONTH times a month (at speed 1),
  lasts 3-35 days and gathers about a lognormal size of messages of its province (5-300), which get its place,
  its place name (a community, company, school or road), its domain and topic, mostly as complaints, with likes;
- surge: a province x domain count rises 2-6x for 2-10 days (SURGES_PER_YEAR per domain): messages of the
  province in other domains are rewritten to the domain and one topic (one cause).

At speed N stories start N times as often and last 1/N as long, so they hold as many messages as at speed 1.
Stories live in memory only (a restart ends the ones running); none of this is written to `demo_truth`, and no
analysis code reads this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingest import demo, demo_stories
from ingest import demo_text as words
from queries import provinces as province_ref

DAY = demo_stories.DAY
MONTH = 30 * DAY
YEAR = 365 * DAY
MAX_SHARE = 0.8  # at most this share of a province's messages joins one story
_CATEGORIES = [c for c, _ in words.CATEGORIES]
_COMPLAINT = 0  # index of 投诉/求助 in MSG_TYPES


@dataclass(frozen=True)
class Story:
    """A live story: messages of `province` created in [start, end) join it with probability `share`."""

    kind: str  # "hot" or "surge"
    province: int  # adcode
    category: int  # index into CATEGORIES
    topic: str
    start: int  # epoch seconds (naive Beijing)
    end: int
    share: float
    place: int | None = None  # hot issues: the demo place (key) and the name of the spot
    place_name: str | None = None


class LiveStories:
    """The stories running in a simulation: `advance` starts new ones every step, `plant` picks their members among
    the step's new messages. `rhythm(t)`: expected messages (nationally, at speed 1) from the calendar start to
    epoch second(s) t."""

    def __init__(self, rhythm: Callable[[np.ndarray], np.ndarray]) -> None:
        self.rhythm = rhythm
        self.running: list[Story] = []
        self.started: list[Story] = []  # every story started so far (for a look at what was planted)

    def snapshot(self) -> tuple[list[Story], int]:
        return list(self.running), len(self.started)

    def restore(self, snapshot: tuple[list[Story], int]) -> None:
        """Back to a snapshot (a step whose rows were not written is simulated again)."""
        self.running, self.started = list(snapshot[0]), self.started[: snapshot[1]]

    def advance(self, rng: np.random.Generator, t0: int, t1: int, speed: float) -> None:
        """Start the stories of the step [t0, t1) (every step, messages or not) and forget the ended ones."""
        self._start(rng, t0, t1, speed)
        self.running = [s for s in self.running if s.end > t0]

    def plant(self, rng: np.random.Generator, rows: pd.DataFrame, times: np.ndarray) -> np.ndarray:
        """Rewrite the members among `rows` (new messages drawn by `demo.sample_message_attributes`, created at
        `times`) in place; adds `story_place` (None outside a hot issue) and returns the story of each row (None
        outside a story)."""
        member = np.full(len(rows), None, dtype=object)
        taken = np.zeros(len(rows), bool)
        rows["story_place"] = np.full(len(rows), None, dtype=object)
        province = rows["province"].to_numpy()
        category = rows["category_index"].to_numpy()
        for story in self.running:
            pool = ~taken & (province == story.province) & (times >= story.start) & (times < story.end)
            if story.kind == "surge":
                pool &= category != story.category
            picked = np.flatnonzero(pool)[rng.random(int(pool.sum())) < story.share]
            if len(picked):
                _rewrite(rng, rows, picked, story)
                member[picked] = story
                taken[picked] = True
        return member

    def _start(self, rng: np.random.Generator, t0: int, t1: int, speed: float) -> None:
        span = max(t1 - t0, 0) * speed
        mean_hot = np.mean(demo_stories.HOT_PER_MONTH) * span / MONTH
        mean_surge = np.mean(demo_stories.SURGES_PER_YEAR) * len(demo_stories.SURGE_DOMAINS) * span / YEAR
        for kind, mean in (("hot", mean_hot), ("surge", mean_surge)):
            for start in np.sort(t0 + (rng.random(rng.poisson(mean)) * (t1 - t0)).astype(np.int64)):
                story = (self._hot if kind == "hot" else _surge)(rng, int(start), speed)
                if story is not None:
                    self.running.append(story)
                    self.started.append(story)

    def _hot(self, rng: np.random.Generator, start: int, speed: float) -> Story | None:
        pidx, shares = _province(rng, start)
        domains = list(demo_stories.HOT_DOMAINS)
        weights = np.array(list(demo_stories.HOT_DOMAINS.values()))
        category = _CATEGORIES.index(domains[int(rng.choice(len(domains), p=weights / weights.sum()))])
        end = start + max(int(int(rng.integers(3, 36)) * DAY / speed), 1)
        size = min(demo_stories.HOT_SIZE_MAX, max(5.0, rng.lognormal(np.log(demo_stories.HOT_SIZE_MEDIAN), 1.0)))
        # messages expected in the province over the story's span at this speed
        expected = float(self.rhythm(end) - self.rhythm(start)) * speed * shares[pidx]
        if expected <= 0:
            return None
        return Story(
            kind="hot",
            province=int(province_ref.codes()[pidx]),
            category=category,
            topic=_topic(rng, category),
            start=start,
            end=end,
            share=min(size / expected, MAX_SHARE),
            place=int(demo.sample_places(rng, np.array([pidx]))[0]),
            place_name=demo_stories.place_name(rng, category),
        )


def _province(rng: np.random.Generator, start: int) -> tuple[int, np.ndarray]:
    """A province index drawn by the shares of messages at `start`, and the shares."""
    day = np.datetime64(start, "s").astype("datetime64[D]")
    month = int(day.astype("datetime64[M]").astype(np.int64))
    year, half = month // 12 + 1970, 1 if month % 12 < 6 else 2
    shares = demo.province_shares(year, half)
    return int(rng.choice(len(shares), p=shares / shares.sum())), shares


def _surge(rng: np.random.Generator, start: int, speed: float) -> Story | None:
    pidx, _ = _province(rng, start)
    category = _CATEGORIES.index(demo_stories.SURGE_DOMAINS[int(rng.integers(len(demo_stories.SURGE_DOMAINS)))])
    usual = dict(words.CATEGORIES)[_CATEGORIES[category]] / sum(s for _, s in words.CATEGORIES)
    factor = float(min(rng.uniform(2.0, 6.0), 0.7 / usual))
    end = start + max(int(int(rng.integers(2, 11)) * DAY / speed), 1)
    return Story(
        kind="surge",
        province=int(province_ref.codes()[pidx]),
        category=category,
        topic=_topic(rng, category),
        start=start,
        end=end,
        # of the province's messages in other domains, the share rewritten lifts the domain's count `factor` times
        share=min((factor - 1.0) * usual / (1.0 - usual), MAX_SHARE),
    )


def _topic(rng: np.random.Generator, category: int) -> str:
    topics = words.TOPICS[_CATEGORIES[category]]
    return topics[int(rng.integers(len(topics)))]


def _rewrite(rng: np.random.Generator, rows: pd.DataFrame, picked: np.ndarray, story: Story) -> None:
    """Members of `story` get its domain and topic; a hot issue's also its place, spot and (mostly) the complaint
    type, with more likes (many people share the problem), as in the history."""
    n = len(picked)
    at = rows.index[picked]
    rows.loc[at, "category_index"] = np.int8(story.category)
    rows.loc[at, "category"] = _CATEGORIES[story.category]
    rows.loc[at, "topic"] = story.topic
    if story.kind != "hot":
        return
    places = demo.place_table()
    rows.loc[at, "place"] = np.int32(story.place)
    rows.loc[at, "city"] = str(places["city"].iloc[story.place])
    rows.loc[at, "district"] = str(places["district"].iloc[story.place])
    rows.loc[at, "addressee"] = demo.sample_addressees(rng, np.full(n, story.place))
    rows.loc[at, "story_place"] = story.place_name
    complaint = rng.random(n) < 0.9
    types = np.where(complaint, _COMPLAINT, rows.loc[at, "msg_type_index"].to_numpy()).astype(np.int8)
    rows.loc[at, "msg_type_index"] = types
    rows.loc[at, "msg_type"] = [words.MSG_TYPES[t][0] for t in types]
    templates = [words.TEMPLATES[words.MSG_TYPES[t][0]] for t in types]  # a template belongs to one type
    rows.loc[at, "template"] = [ts[int(rng.integers(len(ts)))] for ts in templates]
    shared = rng.random(n) < 0.5
    extra = np.where(shared, rng.geometric(0.08, n), 0)
    rows.loc[at, "likes"] = (rows.loc[at, "likes"].to_numpy() + extra).astype(rows["likes"].dtype)
