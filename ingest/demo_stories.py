"""Planted stories of the demo: the ground truth that analysis should find, deterministic from the seed.

Stories rewrite attributes of messages that the history already drew (their time and province stay, so the
calibrated totals hold): a story's members get its place, domain and topic, and say it in their own words
(text keys differ). Kinds (rows of the `demo_truth` table, which no analysis code reads):

- hot: every month tens of problems that many people report at one place (5–300 messages over days to weeks);
- surge: a few times a year per domain, a province x domain count rises to 2–6x its usual level for 2–10 days;
- repeat: the same problem posted again 5–30 days later (mostly after the first answer), reworded (detail
  'planted'); the truth also lists, as detail 'drawn', the pairs that the history drew by chance and that are a
  repeat by the same definition (ingest/demo.py `_DRAWN_REPEATS`);
- slow_unit / boilerplate_unit: units that answer late, or answer every problem with the same text (their
  evaluations are worse); good_unit: units that answer fast, in their own words, and satisfy more (none is also
  slow or boilerplate); idea_adopted: suggestions (建言) that a later reply says were taken up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ingest import demo_text as words

DAY = 86_400
CATEGORY_NAMES = [c for c, _ in words.CATEGORIES]
# Domains of hot issues, with weights (problems at one place: water, wages, school buses, roads, ...).
HOT_DOMAINS = {"城建": 0.38, "企业": 0.14, "就业": 0.14, "交通": 0.1, "教育": 0.1, "环保": 0.09, "三农": 0.05}
HOT_PER_MONTH = (25, 60)
HOT_SIZE_MEDIAN, HOT_SIZE_SIGMA, HOT_SIZE_MAX = 14.0, 1.0, 300
SURGE_DOMAINS = ("城建", "企业", "就业", "交通", "教育", "环保", "治安", "医疗")
SURGES_PER_YEAR = (1, 4)  # per domain
SURGE_MIN_SIGMAS, SURGE_MAX_FACTOR = 6.0, 6.0  # at most the 2-6x of the planted surges
REPEAT_SHARE = 0.012  # of complaints, reposted
REPEAT_DAYS = 30  # a repeat restates an earlier message of its place within this many days
SLOW_UNIT_PER_MILLE, BOILERPLATE_UNIT_PER_MILLE = 30, 15
SLOW_FACTOR = 5.0  # a slow unit's first replies take this many times longer
GOOD_UNIT_PER_MILLE = 20
GOOD_FACTOR = 0.25  # a good unit's first replies take this share of the usual time
ADOPTED_SHARE = 0.5  # of suggestions with a follow-up reply


@dataclass
class Stories:
    """Per message: story index (-1 none), place name of the story (None), repeat flag; and the story rows."""

    story: np.ndarray
    place_name: np.ndarray
    repeat: np.ndarray
    rows: list[dict] = field(default_factory=list)
    members: list[np.ndarray] = field(default_factory=list)


def _mix(keys: np.ndarray, salt: int) -> np.ndarray:
    """A fixed integer hash of keys (splitmix64 finaliser), for unit-level traits that do not depend on a stream."""
    with np.errstate(over="ignore"):
        x = np.asarray(keys, np.uint64) + np.uint64((salt * 0x9E3779B97F4A7C15) % 2**64)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def slow_units(unit_keys: np.ndarray) -> np.ndarray:
    return (_mix(unit_keys, 1) % np.uint64(1000)) < SLOW_UNIT_PER_MILLE


def boilerplate_units(unit_keys: np.ndarray) -> np.ndarray:
    return (_mix(unit_keys, 2) % np.uint64(1000)) < BOILERPLATE_UNIT_PER_MILLE


def good_units(unit_keys: np.ndarray) -> np.ndarray:
    good = (_mix(unit_keys, 3) % np.uint64(1000)) < GOOD_UNIT_PER_MILLE
    return good & ~slow_units(unit_keys) & ~boilerplate_units(unit_keys)


def place_name(rng: np.random.Generator, category: int) -> str:
    """A made-up spot of the domain's kind (community, company, school, road...): a name word and a suffix."""
    kind = words.PLACE_KIND[CATEGORY_NAMES[category]]
    return (
        words.NAME_WORDS[rng.integers(len(words.NAME_WORDS))]
        + words.PLACE_SUFFIXES[kind][rng.integers(len(words.PLACE_SUFFIXES[kind]))]
    )


def _topic_range(category: int) -> tuple[int, int]:
    sizes = [len(words.TOPICS[c]) for c in CATEGORY_NAMES]
    start = int(np.sum(sizes[:category]))
    return start, start + sizes[category]


def plant(rng: np.random.Generator, m: dict[str, np.ndarray]) -> Stories:
    """Rewrite the members of every planted story in `m` (the drawn messages, sorted by time) in place."""
    created = m["created"]
    n = len(created)
    st = Stories(np.full(n, -1, np.int32), np.full(n, None, dtype=object), np.zeros(n, bool))
    if not n:
        return st
    taken = np.zeros(n, bool)
    _hot(rng, m, st, taken)
    _surges(rng, m, st, taken)
    _repeats(rng, m, st, taken)
    return st


def _assign(
    m, st: Stories, members: np.ndarray, row: dict, category: int, topic: int, place: int | None, name: str | None
) -> None:
    k = len(st.rows)
    st.rows.append(row)
    st.members.append(members)
    st.story[members] = k
    m["category"][members] = category
    m["topic"][members] = topic
    if place is not None:
        m["place"][members] = place
        m["addressee"][members] = place * 5 + m["addressee"][members] % 5
    if name is not None:
        st.place_name[members] = name


def _hot(rng, m, st: Stories, taken: np.ndarray) -> None:
    created, pidx = m["created"], m["pidx"]
    domains = [CATEGORY_NAMES.index(c) for c in HOT_DOMAINS]
    weights = np.array(list(HOT_DOMAINS.values()))
    first_day, last_day = created[0] // DAY, created[-1] // DAY
    for month_start in range(int(first_day), int(last_day) + 1, 30):
        for _ in range(int(rng.integers(*HOT_PER_MONTH))):
            start = (month_start + int(rng.integers(0, 30))) * DAY
            span = int(rng.integers(3, 36)) * DAY
            size = int(min(HOT_SIZE_MAX, max(5, rng.lognormal(np.log(HOT_SIZE_MEDIAN), HOT_SIZE_SIGMA))))
            lo, hi = np.searchsorted(created, [start, start + span])
            if hi - lo < size:
                continue
            seed_row = lo + int(rng.integers(hi - lo))
            window = np.arange(lo, hi)
            pool = window[(pidx[lo:hi] == pidx[seed_row]) & ~taken[lo:hi]]
            if len(pool) < 5:
                continue
            members = np.sort(rng.choice(pool, min(size, len(pool)), replace=False))
            category = domains[int(rng.choice(len(domains), p=weights / weights.sum()))]
            t0, t1 = _topic_range(category)
            topic = int(rng.integers(t0, t1))
            place = int(m["place"][seed_row])
            name = place_name(rng, category)
            taken[members] = True
            m["msg_type"][members] = np.where(rng.random(len(members)) < 0.9, 0, m["msg_type"][members])
            _retemplate(rng, m, members)
            _assign(
                m,
                st,
                members,
                _row("hot", created, members, place, category, topic, name),
                category,
                topic,
                place,
                name,
            )


def _surges(rng, m, st: Stories, taken: np.ndarray) -> None:
    created, pidx, category = m["created"], m["pidx"], m["category"]
    years = range(int(m["year"].min()), int(m["year"].max()) + 1)
    shares = np.bincount(category, minlength=len(CATEGORY_NAMES)) / len(category)
    for year in years:
        in_year = np.flatnonzero(m["year"] == year)
        if not len(in_year):
            continue
        for name in SURGE_DOMAINS:
            d = CATEGORY_NAMES.index(name)
            for _ in range(int(rng.integers(*SURGES_PER_YEAR))):
                start = created[in_year[int(rng.integers(len(in_year)))]] // DAY * DAY
                span = int(rng.integers(2, 11)) * DAY
                lo, hi = np.searchsorted(created, [start, start + span])
                seed_row = lo + int(rng.integers(max(hi - lo, 1)))
                if seed_row >= len(created) or m["hubei_2020h1"][seed_row]:
                    continue
                here = np.arange(lo, hi)[pidx[lo:hi] == pidx[seed_row]]
                factor = float(min(rng.uniform(2.0, 6.0), 0.7 / max(shares[d], 1e-6)))
                usual = max(shares[d] * len(here), 1.0)
                pool = here[(category[here] != d) & ~taken[here]]
                # a surge the numbers show: its extra messages stand well out of the usual count's chance
                # variation (SURGE_MIN_SIGMAS Poisson deviations over its days), else the truth would list surges
                # that no count could reveal
                wanted = max(round((factor - 1.0) * usual), math.ceil(SURGE_MIN_SIGMAS * math.sqrt(usual) + 5))
                extra = min(len(pool), wanted)
                if extra < wanted or 1.0 + extra / usual > SURGE_MAX_FACTOR:
                    continue
                factor = 1.0 + extra / usual
                members = np.sort(rng.choice(pool, extra, replace=False))
                taken[members] = True
                t0, t1 = _topic_range(d)
                topic = int(rng.integers(t0, t1))  # one cause: a storm, a policy change, a company collapse
                row = _row("surge", created, members, None, d, topic, None)
                row["detail"] = f"x{factor:.1f} of the usual {usual:.0f} messages"
                _assign(m, st, members, row, d, topic, None, None)


def _repeats(rng, m, st: Stories, taken: np.ndarray) -> None:
    created = m["created"]
    complaints = np.flatnonzero((m["msg_type"] == 0) & ~taken)
    first = np.sort(rng.choice(complaints, int(len(complaints) * REPEAT_SHARE), replace=False))
    later = np.searchsorted(created, created[first] + rng.integers(5 * DAY, REPEAT_DAYS * DAY, len(first)))
    ok = later < len(created)
    first, later = first[ok], later[ok]
    # the next message after the drawn time can fall past the window (by seconds, or days in a sparse history)
    ok = created[later] - created[first] <= REPEAT_DAYS * DAY
    first, later = first[ok], later[ok]
    ok = ~taken[later] & (later != first)
    first, later = first[ok], later[np.flatnonzero(ok)]
    _, unique = np.unique(later, return_index=True)
    first, later = first[unique], later[unique]
    ok = ~taken[first] & ~np.isin(first, later)
    first, later = first[ok], later[ok]
    taken[first] = taken[later] = True
    for column in ("pidx", "place", "category", "topic", "msg_type"):
        m[column][later] = m[column][first]
    m["addressee"][later] = m["place"][later].astype(np.int64) * 5 + m["addressee"][later] % 5
    _retemplate(rng, m, later)
    st.repeat[later] = True
    base = len(st.rows)
    for j, (a, b) in enumerate(zip(first.tolist(), later.tolist(), strict=True)):
        name = place_name(rng, int(m["category"][a]))
        st.place_name[a] = st.place_name[b] = name
        st.story[a] = st.story[b] = base + j
        members = np.array([a, b])
        row = _row("repeat", created, members, int(m["place"][a]), int(m["category"][a]), int(m["topic"][a]), name)
        row["detail"] = "planted"
        st.rows.append(row)
        st.members.append(members)


def _retemplate(rng, m, members: np.ndarray) -> None:
    """Title templates of `members` drawn again for their (changed) type: a template belongs to one type."""
    sizes = np.array([len(words.TEMPLATES[t]) for t, _ in words.MSG_TYPES])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    kind = m["msg_type"][members].astype(np.int64)
    m["template"][members] = (starts[kind] + (rng.random(len(members)) * sizes[kind]).astype(np.int64)).astype(
        m["template"].dtype
    )


def _row(kind, created, members, place, category, topic, name) -> dict:
    return {
        "kind": kind,
        "place": place,
        "category": CATEGORY_NAMES[category],
        "topic": topic,
        "place_name": name,
        "span_start": int(created[members].min()),
        "span_end": int(created[members].max()),
        "size": len(members),
        "detail": None,
    }
