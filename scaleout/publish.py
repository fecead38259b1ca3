"""Writer side: every new data version, each watched wall view is built once and published to Redis.

The publisher owns a thread that notices a new data version (the store's counter, checked every POLL seconds),
builds the views walls watch (the writer app's shared `Views`, so its own screens reuse them), stores each view
and its Patch from the previous version, then sets the version key, appends to the capped log and announces
on the events channel. A Redis restart (the version key gone) or a wall asking for a view nobody watched
(the want channel) makes it publish the current version again.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from dash import no_update

from dashboard import figures
from dashboard.wall.callbacks import OUTPUTS, Views
from scaleout import bus
from settings import Settings

log = logging.getLogger(__name__)
POLL = 0.05
CHECK_SECONDS = 1.0


class Publisher:
    def __init__(self, views: Views, client: redis.Redis, settings: Settings):
        self.views = views
        self.redis = client
        self.settings = settings
        self._last: dict[str, str] = {}  # view key -> token published last
        self._published = ""  # the views' stamp (data and story versions) published last
        self._date = ""  # and the Beijing date it was published for
        self._wanted: set[str] = set()
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.snapshot_record: str | None = None  # re-announced after a Redis restart

    # -- lifecycle ---------------------------------------------------------------------------------------------------
    def start(self) -> Publisher:
        for target, name in ((self._run, "publisher"), (self._listen, "publisher-want")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _run(self) -> None:
        checked = 0.0
        while not self._stop.is_set():
            try:
                now = time.monotonic()
                force = False
                if now - checked > CHECK_SECONDS:
                    checked = now
                    force = not self.redis.exists(bus.VERSION)  # Redis restarted (or first run): publish again
                    if force and self.snapshot_record:
                        self.announce_snapshot(self.snapshot_record)
                with self._guard:
                    wanted, self._wanted = self._wanted, set()
                # a new day changes "today" on every wall even without a write
                new_day = self.settings.now().date().isoformat() != self._date
                if force or wanted or new_day or self.views.stamp() != self._published:
                    self.publish(extra=wanted)
            except redis.RedisError as exc:
                log.warning("publisher: Redis unavailable (%s); retrying", exc)
                self._stop.wait(0.5)
                checked = 0.0
            except Exception:
                log.exception("publisher: publishing failed; retrying")
                self._stop.wait(0.5)
            self._stop.wait(POLL)

    def _listen(self) -> None:
        """Walls asking for a view not yet published (a new period or language): publish it at once."""
        while not self._stop.is_set():
            try:
                pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(bus.WANT)
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message and isinstance(message.get("data"), bytes | str):
                        key = _text(message["data"])
                        if bus.valid_key(key):
                            with self._guard:
                                self._wanted.add(key)
            except redis.RedisError:
                self._stop.wait(0.5)

    # -- publishing --------------------------------------------------------------------------------------------------
    def active_keys(self, extra=()) -> list[str]:
        since = time.time() - bus.ACTIVE_SECONDS
        watched = [_text(k) for k in self.redis.zrangebyscore(bus.VIEWS, since, "+inf")]
        keys = [k for k in dict.fromkeys([*bus.DEFAULT_KEYS, *watched, *extra]) if bus.valid_key(k)]
        # a national wall rotates through the map metrics: every metric of a watched period and language is ready
        expanded = [
            f"{period}|{lang}|{m}|" if province is None else key
            for key in keys
            for period, lang, _, province in [bus.split_key(key)]
            for m in (figures.MAP_METRICS if province is None else [None])
        ]
        return list(dict.fromkeys(expanded))

    def publish(self, extra=()) -> dict:
        """Build and publish every watched view of the current data version; returns the version record."""
        today = self.settings.now().date()
        stamp = self.views.stamp()
        tokens: dict[str, str] = {}
        pipe = self.redis.pipeline(transaction=False)
        for key in self.active_keys(extra):
            period, lang, metric, province = bus.split_key(key)
            metric = next(iter(figures.MAP_METRICS)) if province else metric  # ignored by a province view
            token, view = self.views.get(period, lang, metric, today, province=province)
            tokens[key] = token
            old_token = self._last.get(key)
            if old_token == token:
                continue
            pipe.set(bus.view_name(token), bus.encode(view), ex=bus.TTL)
            old = self.views.peek(old_token)
            if old is not None:
                values = self.views.patches(old_token, old, token, view)
                changed = [
                    [component, prop, value]
                    for (_, component, prop), value in zip(OUTPUTS, values, strict=True)
                    if value is not no_update
                ]
                pipe.set(bus.patch_name(old_token, token), bus.encode(changed), ex=bus.TTL)
            self._last[key] = token
        version = next(iter(tokens.values())).split("|", 1)[0] if tokens else self.views.metrics.data_version
        record = {
            "v": version,
            "date": today.isoformat(),
            "at": time.time(),
            "updated_at": self.views.metrics.store.last_write_at,
            "tokens": tokens,
        }
        text = bus.encode(record)
        pipe.set(bus.VERSION, text)
        pipe.xadd(bus.LOG, {"kind": "version", "v": version}, maxlen=bus.LOG_LENGTH, approximate=True)
        pipe.publish(bus.EVENTS, bus.encode({"kind": "version", **record}))
        pipe.execute()
        self._published, self._date = stamp, record["date"]
        return record

    def announce_snapshot(self, record_json: str) -> None:
        self.snapshot_record = record_json
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(bus.SNAPSHOT, record_json)
        pipe.xadd(bus.LOG, {"kind": "snapshot", "record": record_json}, maxlen=bus.LOG_LENGTH, approximate=True)
        pipe.publish(bus.EVENTS, '{"kind":"snapshot",' + record_json[1:])
        pipe.execute()


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value
