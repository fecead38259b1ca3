"""Web side: wall views come from Redis; new versions are pushed to walls over a WebSocket.

Polling (the wall's regular Dash callback, the fallback): `RedisViews` answers it with the views the writer
published (a local LRU in front of Redis), never computing one; a view not published yet is asked for on the
want channel and the screen keeps its picture until the next tick.

Push: each wall opens `/push/ws` and says which view it shows (period, language, metric) and its token. The
`Hub` groups walls by view key; when the writer announces a version it fetches, per group and old token, the
writer's Patch (or the whole view) once and sends the same text to every wall of the group. It learns of
versions from the events channel and, every second, from the version key (pub/sub drops messages while
disconnected; the key also carries a Redis restart over). Snapshot announcements are fetched here too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import OrderedDict
from urllib.parse import urlparse

import redis
import redis.asyncio as aredis
from dash.exceptions import PreventUpdate
from starlette.websockets import WebSocket, WebSocketDisconnect

from dashboard import ids
from dashboard.auth import access
from dashboard.wall.callbacks import MAX_TOKEN, Views
from scaleout import bus

log = logging.getLogger(__name__)
WANT_EVERY = 2.0
WATCH_EVERY = 1.0
ACTIVE_EVERY = 10.0


class Current:
    """The newest version record this process knows, shared by the Hub (event loop) and the polling threads."""

    def __init__(self, client: redis.Redis):
        self.redis = client
        self.record: dict = {}
        self._asked: dict[str, float] = {}
        self._guard = threading.Lock()

    @property
    def tokens(self) -> dict:
        return self.record.get("tokens") or {}

    def want(self, key: str) -> None:
        """Ask the writer for a view nobody watched yet (at most every WANT_EVERY seconds per key)."""
        now = time.monotonic()
        with self._guard:
            if now - self._asked.get(key, 0.0) < WANT_EVERY:
                return
            self._asked[key] = now
        try:
            self.redis.zadd(bus.VIEWS, {key: time.time()})
            self.redis.publish(bus.WANT, key)
        except redis.RedisError:
            pass


class RedisViews(Views):
    """The wall callback's views, read from what the writer published (same interface as `Views`)."""

    def __init__(self, current: Current, size: int = 256):
        super().__init__(metrics=None, geojson_url="", size=size)
        self.current = current

    def peek(self, token) -> dict | None:
        view = super().peek(token)
        if view is not None or not isinstance(token, str) or len(token) > MAX_TOKEN:
            return view
        try:
            raw = self.current.redis.get(bus.view_name(token))
        except redis.RedisError:
            return None
        if raw is None:
            return None
        view = json.loads(raw)
        with self._guard:
            self._views[token] = view
            while len(self._views) > self.size:
                self._views.popitem(last=False)
        return view

    def get(
        self, period: str, lang: str, metric: str, today, wait: bool = True, province: int | None = None
    ) -> tuple[str, dict]:
        key = bus.view_key(period, lang, metric, province)
        if key is None:
            raise PreventUpdate
        token = self.current.tokens.get(key)
        view = self.peek(token) if token else None
        if view is None:
            self.current.want(key)
            raise PreventUpdate
        return token, view


class Wall:
    __slots__ = ("ws", "key", "token")

    def __init__(self, ws: WebSocket):
        self.ws = ws
        self.key: str | None = None
        self.token: str | None = None


class Hub:
    def __init__(self, current: Current, client: aredis.Redis, on_snapshot=None, viewer=None):
        self.current = current
        # viewer(ws) -> Principal | None: the login check (None: nobody; no viewer given: everyone, as with auth=open)
        self.viewer = viewer
        self.redis = client
        self.on_snapshot = on_snapshot
        self.groups: dict[str, set[Wall]] = {}
        self._messages: OrderedDict[tuple, str | None] = OrderedDict()
        self._lock = asyncio.Lock()
        self._snapshot_name: str | None = None
        self.sent = 0

    @property
    def walls(self) -> int:
        return sum(len(g) for g in self.groups.values())

    # -- walls ----------------------------------------------------------------------------------------------------
    async def subscribe(self, wall: Wall, key: str, token: str | None) -> None:
        self.drop(wall)
        wall.key, wall.token = key, token
        self.groups.setdefault(key, set()).add(wall)
        new = self.current.tokens.get(key)
        if new is None:
            await asyncio.to_thread(self.current.want, key)
        elif new != token:
            await self._send_group(key, new, [wall])

    def drop(self, wall: Wall) -> None:
        group = self.groups.get(wall.key)
        if group is not None:
            group.discard(wall)
            if not group:
                del self.groups[wall.key]

    async def serve(self, ws: WebSocket) -> None:
        """One wall's WebSocket: subscription messages in, pushed outputs out."""
        if not _same_origin(ws):
            await ws.close(code=4003)
            return
        await ws.accept()  # accepted first so that a refusal is a close code (1008), not a bare HTTP 403
        if not self._allowed(ws):
            await ws.close(code=1008, reason="sign in first")
            return
        wall = Wall(ws)
        try:
            while True:
                message = await ws.receive_json()
                if not self._allowed(ws):  # re-checked on every message: a removed user is out at once
                    await ws.close(code=1008, reason="sign in first")
                    return
                if not isinstance(message, dict):
                    continue
                if message.get("ping"):
                    await ws.send_text('{"pong":1}')
                    continue
                # the view a wall shows is named by its token; before it has one, by the view's parts
                token = message.get("token")
                token = token if isinstance(token, str) and len(token) <= MAX_TOKEN else None
                key = bus.key_of_token(token) or bus.view_key(
                    str(message.get("period")), str(message.get("lang")), str(message.get("metric")),
                    message.get("province"),
                )  # fmt: skip
                if key is None or not self._may_watch(ws, key):
                    await ws.close(code=1008)
                    return
                await self.subscribe(wall, key, token)
        except (WebSocketDisconnect, RuntimeError, ValueError):
            pass
        finally:
            self.drop(wall)

    def _allowed(self, ws: WebSocket) -> bool:
        return self.viewer is None or self.viewer(ws) is not None

    def _may_watch(self, ws: WebSocket, key: str) -> bool:
        """A province analyst is sent their own province's view only (the page gives them no other)."""
        return self.viewer is None or access.may_watch(self.viewer(ws), bus.split_key(key)[3])

    # -- versions -------------------------------------------------------------------------------------------------
    async def on_record(self, record: dict) -> None:
        if not isinstance(record, dict) or record == self.current.record:
            return
        self.current.record = record
        async with self._lock:
            for key in list(self.groups):
                token = self.current.tokens.get(key)
                if token is None:
                    await asyncio.to_thread(self.current.want, key)
                else:
                    await self._send_group(key, token, list(self.groups.get(key, ())))

    async def _send_group(self, key: str, token: str, walls: list[Wall]) -> None:
        by_old: dict[str | None, list[Wall]] = {}
        for wall in walls:
            if wall.token != token:
                by_old.setdefault(wall.token, []).append(wall)
        for old, group in by_old.items():
            text = await self._message(key, old, token)
            if text is None:
                continue
            for wall in group:
                wall.token = token
                # one after another: a send only hands the frame to the transport (no task per wall);
                # uvicorn's pings close a wall that stops reading
                try:
                    await wall.ws.send_text(text)
                    self.sent += 1
                except Exception:
                    self.drop(wall)

    async def _message(self, key: str, old: str | None, new: str) -> str | None:
        """The text turning view `old` into `new` (the writer's Patch, else the whole view), built once."""
        cache_key = (old, new)
        if cache_key in self._messages:
            return self._messages[cache_key]
        outputs = await self.redis.get(bus.patch_name(old, new)) if old else None
        if outputs is None:
            raw = await self.redis.get(bus.view_name(new))
            if raw is None:
                return None
            outputs = bus.encode(bus.full_outputs(json.loads(raw)))
        outputs = outputs.decode() if isinstance(outputs, bytes) else outputs
        text = bus.push_message(new, bus.split_key(key)[2], outputs)
        self._messages[cache_key] = text
        while len(self._messages) > 512:
            self._messages.popitem(last=False)
        return text

    # -- background tasks -----------------------------------------------------------------------------------------
    async def run(self) -> None:
        await asyncio.gather(self._listen(), self._watch())

    async def _listen(self) -> None:
        while True:
            try:
                async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(bus.EVENTS)
                    async for message in pubsub.listen():
                        event = json.loads(message["data"])
                        kind = event.pop("kind", None)
                        if kind == "version":
                            await self.on_record(event)
                        elif kind == "snapshot":
                            await self._snapshot(event)
            except (redis.RedisError, OSError, ConnectionError) as exc:
                log.warning("push: events channel lost (%s); reconnecting", exc)
                await asyncio.sleep(0.5)

    async def _watch(self) -> None:
        """Catch-up and liveness: the version and snapshot keys every second, watched views every 10 s."""
        marked = 0.0
        while True:
            try:
                raw = await self.redis.get(bus.VERSION)
                if raw:
                    await self.on_record(json.loads(raw))
                raw = await self.redis.get(bus.SNAPSHOT)
                if raw:
                    await self._snapshot(json.loads(raw))
                if time.monotonic() - marked > ACTIVE_EVERY and self.groups:
                    marked = time.monotonic()
                    await self.redis.zadd(bus.VIEWS, dict.fromkeys(self.groups, time.time()))
            except (redis.RedisError, OSError, ConnectionError):
                pass
            except Exception:
                log.exception("push: watch failed")
            await asyncio.sleep(WATCH_EVERY)

    async def _snapshot(self, record: dict) -> None:
        if self.on_snapshot is None or record.get("name") == self._snapshot_name:
            return
        self._snapshot_name = record.get("name")
        try:
            await asyncio.to_thread(self.on_snapshot, record)
        except Exception:
            self._snapshot_name = None  # try again on the next announcement or watch
            log.exception("push: snapshot %s could not be fetched", record.get("name"))


def _same_origin(ws: WebSocket) -> bool:
    """Walls connect from their own page; another site's page may not hold a connection (CSWSH)."""
    origin = ws.headers.get("origin")
    return origin is None or urlparse(origin).netloc == ws.headers.get("host")


def hello(peers: list[str]) -> dict:
    """What assets/wall.js needs to push: the socket path, the ids it sets, the origins to move to."""
    return {"ws": "/push/ws", "tick": ids.WALL_TICK, "state": ids.WALL_STATE, "peers": peers}
