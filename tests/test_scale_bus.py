"""The writer's Redis protocol without processes (fakeredis): what is published per version, and what a web
process reads back for polling walls."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import fakeredis
import pytest
from dash.exceptions import PreventUpdate

from dashboard.wall.callbacks import OUTPUTS, Views
from queries.service import Metrics
from queries.writes import upsert
from scaleout import bus
from scaleout.publish import Publisher
from scaleout.push import Current, RedisViews
from settings import Settings
from tests.cluster import apply_patch
from tests.conftest import frame, message

NOW = "2026-11-26T12:00:00"
KEY = "ytd|zh|messages_per_10k|"


@pytest.fixture
def parts(store):
    server = fakeredis.FakeServer()
    client = fakeredis.FakeRedis(server=server)
    settings = replace(Settings(), clock=NOW)
    views = Views(Metrics(store), "/geo.json")
    return store, client, Publisher(views, client, settings), fakeredis.FakeRedis(server=server)


def test_each_watched_view_published_once_with_its_patch(parts):
    store, client, publisher, _ = parts
    upsert(store, "messages", frame([message("a", "2026-11-26 09:00:00"), message("b", "2026-11-25 09:00:00")]))
    watched = dict.fromkeys(["today|en|reply_ratio|", "ytd|zh|cities|410000", "bogus|xx|y|", "ytd|zh|cities|1"], 9e12)
    client.zadd(bus.VIEWS, watched)  # watched by walls (a national and a province one); junk ignored
    events = client.pubsub()
    events.subscribe(bus.EVENTS)
    first = publisher.publish()
    # the watched view in every metric a wall rotates through, besides the default wall's
    assert set(first["tokens"]) == {*bus.DEFAULT_KEYS, "today|en|messages_per_10k|", "today|en|replies_per_10k|",
                                    "today|en|reply_ratio|", "ytd|zh|cities|410000"}  # fmt: skip
    for key, token in first["tokens"].items():
        assert bus.key_of_token(token) == key  # a wall's token names its view
    henan = json.loads(client.get(bus.view_name(first["tokens"]["ytd|zh|cities|410000"])))
    assert henan["kpi"]["messages"] == 2  # both messages are 河南's (the fixture's default province)
    assert first["v"] == store.data_version and first["date"] == "2026-11-26"
    old_token = first["tokens"][KEY]
    old = json.loads(client.get(bus.view_name(old_token)))
    assert old["kpi"]["today_messages"] == 1 and old["kpi"]["messages"] == 2

    upsert(store, "messages", frame([message("c", "2026-11-26 10:00:00")]))
    second = publisher.publish()
    new_token = second["tokens"][KEY]
    assert new_token != old_token and new_token.startswith(store.data_version + "|")
    assert json.loads(client.get(bus.VERSION))["tokens"][KEY] == new_token
    patch = json.loads(client.get(bus.patch_name(old_token, new_token)))
    new = json.loads(client.get(bus.view_name(new_token)))
    assert new["kpi"]["today_messages"] == 2 and new["kpi"]["messages"] == 3
    # the published Patch turns the old picture into the new one, output by output
    by_output = {(component, prop): value for component, prop, value in patch}
    for key, component, prop in OUTPUTS:
        value = json.loads(json.dumps(old[key]))
        if (component, prop) in by_output:
            value = apply_patch(value, by_output[(component, prop)])
        assert value == new[key], key
    kinds = []
    while (msg := events.get_message(timeout=0.1)) is not None:
        if msg["type"] == "message":
            kinds.append(json.loads(msg["data"])["v"])
    assert kinds == [first["v"], second["v"]]
    assert client.xlen(bus.LOG) == 2


def test_polling_walls_read_published_views_and_ask_for_missing_ones(parts):
    store, client, publisher, web_client = parts
    upsert(store, "messages", frame([message("a", "2026-11-26 09:00:00")]))
    record = publisher.publish()
    current = Current(web_client)
    current.record = record
    views = RedisViews(current)
    token, view = views.get("ytd", "zh", "messages_per_10k", dt.date(2026, 11, 26))
    assert token == record["tokens"][KEY] and view["kpi"]["today_messages"] == 1
    wants = client.pubsub()
    wants.subscribe(bus.WANT)
    with pytest.raises(PreventUpdate):
        views.get("month", "en", "reply_ratio", dt.date(2026, 11, 26))  # nobody watched it yet
    with pytest.raises(PreventUpdate):
        views.get("drop table", "zh", "reply_ratio", dt.date(2026, 11, 26))  # never asked for
    asked = [m["data"] for m in iter(lambda: wants.get_message(timeout=0.1), None) if m["type"] == "message"]
    assert asked == [b"month|en|reply_ratio|"]
    assert client.zscore(bus.VIEWS, "month|en|reply_ratio|") is not None
    # the writer publishes it on the next round
    assert "month|en|reply_ratio|" in publisher.publish(extra=["month|en|reply_ratio|"])["tokens"]


class _Story:
    """A story whose version the test moves (dashboard.wall.story.Story's interface as the views use it)."""

    def __init__(self):
        self.version = 0

    def get(self, province):
        return self.version, None

    def stamp(self):
        return self.version


def test_running_publisher_announces_only_when_data_or_story_changes(store):
    import time

    client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    story = _Story()
    views = Views(Metrics(store), "/geo.json", story=story)
    publisher = Publisher(views, client, replace(Settings(), clock=NOW)).start()
    try:

        def versions(count: int) -> list[str]:
            """The announced versions once there are `count` (bounded wait), after a further quiet second."""
            deadline = time.monotonic() + 30
            while client.xlen(bus.LOG) < count and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(1.0)  # ~20 polls: nothing more may be announced without a change
            return [entry[1][b"v"].decode() for entry in client.xrange(bus.LOG)]

        first = versions(1)
        assert first == [f"{store.data_version}~0"]  # published once, then quiet
        story.version = 1  # a new surge or hot issue on the wall: a new view without a write
        assert versions(2) == [*first, f"{store.data_version}~1"]
        before_write = store.data_version
        upsert(store, "messages", frame([message("n", "2026-11-26 10:00:00")]))
        assert versions(3) == [*first, f"{before_write}~1", f"{store.data_version}~1"]
    finally:
        publisher.stop()
