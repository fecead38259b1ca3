"""New hot issues and surges while the simulator runs (ingest/live_stories.py).

The stories' messages are checked with plain pandas / SQL over what was drawn or written: a hot issue's members
share one place (city, district, the spot named in the text) and one problem (domain, topic); a surge lifts its
province x domain count well above the domain's usual share; sizes are those of the history's stories.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import numpy as np
import pandas as pd

from ingest import demo, demo_stories
from ingest import simulate as sim
from ingest.live_stories import LiveStories
from queries.writes import upsert
from tests.test_simulate import FakeClock, run_ticks

START = dt.datetime(2026, 4, 1)


def draw_days(days: int, speed: float = 1.0, seed: int = 3):
    """Messages of `days` one-day steps drawn as the simulator draws them, with stories planted; one frame."""
    rng = np.random.default_rng(seed)
    stories = LiveStories(sim.message_rhythm())
    frames = []
    t0 = sim.epoch(START)
    for _ in range(days):
        t1 = t0 + sim.DAY
        times = sim.message_rhythm().arrivals(rng, t0, t1, speed)
        years = np.full(len(times), START.year)
        rows = demo.sample_message_attributes(rng, years, np.full(len(times), 1 if START.month <= 6 else 2))
        stories.advance(rng, t0, t1, speed)
        member = stories.plant(rng, rows, times)
        rows["t"] = times
        rows["story"] = [id(s) if s is not None else 0 for s in member]
        frames.append(rows)
        t0 = t1
    return stories, pd.concat(frames, ignore_index=True)


def test_hot_issues_and_surges_start_and_look_like_the_historys():
    stories, rows = draw_days(90)
    hot = [s for s in stories.started if s.kind == "hot"]
    surges = [s for s in stories.started if s.kind == "surge"]
    # history: 25-60 hot issues a month, 1-4 surges a year in each of 8 domains
    assert 60 <= len(hot) <= 190
    assert 1 <= len(surges) <= 20
    places = demo.place_table()
    sizes = []
    for story in hot:
        members = rows[rows["story"] == id(story)]
        if story.end <= rows["t"].max() and len(members):
            sizes.append(len(members))
        if not len(members):
            continue
        # one place, one problem
        assert set(members["city"]) == {places["city"].iloc[story.place]}
        assert set(members["district"]) == {places["district"].iloc[story.place]}
        assert set(members["story_place"]) == {story.place_name}
        assert set(members["topic"]) == {story.topic}
        assert members["category"].nunique() == 1 and members["category"].iloc[0] in demo_stories.HOT_DOMAINS
        assert (members["t"] >= story.start).all() and (members["t"] < story.end).all()
    assert len(sizes) >= 30
    assert 5 <= np.median(sizes) <= 40 and max(sizes) <= 400  # history: median 14, 5-300
    # members mostly complain and get more support than other messages
    members = rows[rows["story_place"].notna()]
    assert (members["msg_type"] == "投诉/求助").mean() > 0.85
    assert members["likes"].mean() > 3 * rows.loc[rows["story"] == 0, "likes"].mean()
    # a surge lifts its province x domain count 1.5x or more over its usual share
    lifted = 0
    for story in surges:
        domain = demo.words.CATEGORIES[story.category][0]
        inside = rows[(rows["province"] == story.province) & (rows["t"] >= story.start) & (rows["t"] < story.end)]
        usual = (rows.loc[rows["story"] == 0, "category"] == domain).mean()
        if len(inside) >= 50:
            lifted += (inside["category"] == domain).mean() >= 1.5 * usual
            assert (inside.loc[inside["story"] == id(story), "topic"] == story.topic).all()
    assert lifted >= 1


def test_deterministic_and_speed_makes_them_shorter_not_smaller():
    first, rows1 = draw_days(10, seed=5)
    second, rows2 = draw_days(10, seed=5)
    assert first.started == second.started
    pd.testing.assert_frame_equal(rows1.drop(columns="story"), rows2.drop(columns="story"))
    fast, _ = draw_days(1, speed=20, seed=5)
    slow_hours = np.mean([(s.end - s.start) / 3600 for s in first.started if s.kind == "hot"])
    fast_hours = np.mean([(s.end - s.start) / 3600 for s in fast.started if s.kind == "hot"])
    assert fast_hours < slow_hours / 5


def test_stories_start_at_the_same_rate_in_short_live_ticks_without_messages():
    # live ticks are short and most carry no message: stories must start all the same (history: ~42 hot a month)
    stories = LiveStories(sim.message_rhythm())
    rng = np.random.default_rng(9)
    t0 = sim.epoch(START)
    for t in range(t0, t0 + 2 * sim.DAY, 10):
        stories.advance(rng, t, t + 10, 20.0)
    hot = sum(s.kind == "hot" for s in stories.started)
    expected = np.mean(demo_stories.HOT_PER_MONTH) / 30 * 2 * 20  # 2 days at speed 20
    assert 0.6 * expected <= hot <= 1.4 * expected


def test_a_hot_issue_starts_while_simulating_and_its_messages_share_place_and_problem(store):
    clock = FakeClock(dt.datetime(2026, 3, 11, 9, 0))
    simulator = sim.Simulator(partial(upsert, store), seed=11, speed=200, clock=clock)
    simulator.start_at(clock.now)
    run_ticks(simulator, clock, 3600, tick=300)
    hot = [s for s in simulator.stories.started if s.kind == "hot"]
    assert hot and all(s.start >= sim.epoch(dt.datetime(2026, 3, 11, 9, 0)) for s in simulator.stories.started)
    places = demo.place_table()
    seen = 0
    for story in hot:
        members = store.df(
            "SELECT m.city, m.district, m.category, m.title, t.content FROM messages m "
            "JOIN message_texts t USING (message_id) "
            "WHERE t.location = $name AND m.province = $p AND m.created_at >= $start AND m.created_at < $end",
            {
                "name": story.place_name,
                "p": story.province,
                "start": sim.from_epoch(story.start),
                "end": sim.from_epoch(story.end),
            },
        )
        # the spot's name alone may come up by chance elsewhere in the province: the story is its largest group
        groups = members.groupby(["city", "district", "category"]).size().sort_values(ascending=False)
        if not len(groups) or groups.iloc[0] < 3:
            continue
        seen += 1
        city, district, category = groups.index[0]
        assert (city, district) == (places["city"].iloc[story.place], places["district"].iloc[story.place])
        assert category == demo.words.CATEGORIES[story.category][0]
        assert groups.iloc[0] <= demo_stories.HOT_SIZE_MAX
        own = members[(members["city"] == city) & (members["district"] == district)]
        assert own["content"].str.contains(story.place_name, regex=False).all()
        assert own["title"].str.contains(story.topic, regex=False).all()  # every title template names the topic
    assert seen >= 1
