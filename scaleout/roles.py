"""The scale-out commands.

python app.py writer [--redis URL]          the one process that owns the DuckDB file (waitress, as `serve`),
                                            plus the publisher and the snapshotter
python app.py web --redis URL [--writer URL]  a stateless web process (uvicorn): the unchanged Dash app (WSGI)
                                            on a read-only snapshot, walls from Redis, /push/ws for push
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import time
from dataclasses import replace

import redis

from scaleout import bus
from settings import Settings

STARTUP_WAIT = 120.0
WARM_SECONDS = 20.0  # at most this long answering recent questions on a new snapshot before switching to it


def run_writer(settings: Settings) -> int:
    from app import serve

    return serve(settings, "liuyan-writer", _writer_parts)


def _writer_parts(settings: Settings, store, app) -> list:
    """The writer's additions to the one-process server: snapshots for analysts, views published to Redis."""
    from scaleout import snapshot
    from scaleout.publish import Publisher

    snapshots = snapshot.directory(settings, "writer")
    app.server.register_blueprint(snapshot.blueprint(settings, snapshots))
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, health_check_interval=10)
    publisher = Publisher(app.server.extensions["liuyan"]["wall_views"], client, settings).start()
    base_url = settings.writer_url or f"http://{settings.host}:{settings.port}"
    snapshotter = snapshot.Snapshotter(store, settings, publisher.announce_snapshot, base_url).start()
    print(f"writer: publishing to {settings.redis_url}, snapshots at {base_url}/", file=sys.stderr)
    return [snapshotter, publisher]


def first_snapshot(client: redis.Redis, fetcher, timeout: float = STARTUP_WAIT):
    """Block until the writer has announced a snapshot and it is downloaded (a web process needs one to start)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            raw = client.get(bus.SNAPSHOT)
            if raw:
                fetcher.fetch(json.loads(raw))
                return fetcher.store
        except (redis.RedisError, OSError) as exc:
            if time.monotonic() > deadline:
                raise SystemExit(f"web: no snapshot from the writer ({exc})") from None
        if time.monotonic() > deadline:
            raise SystemExit("web: the writer announced no snapshot; is it running?")
        time.sleep(0.5)


def build_web(settings: Settings):
    """The ASGI app of a web process: push routes, status, and the Dash app (Flask, as WSGI) at /."""
    from a2wsgi import WSGIMiddleware
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    from redis import asyncio as aredis
    from starlette.requests import HTTPConnection

    from dashboard.server import build_app
    from scaleout.push import Current, Hub, RedisViews, hello
    from scaleout.snapshot import Fetcher

    # writes go to the writer: here the write API answers 503. With no writes to leave the CPU to, every worker
    # may read at once: with two read slots, answers already computed waited behind the questions of a new snapshot
    settings = replace(settings, ingest_token="", read_slots=settings.threads)
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, health_check_interval=10)
    fetcher = Fetcher(settings)
    store = first_snapshot(client, fetcher)
    current = Current(client)
    dash_app = build_app(settings, store, wall_views=RedisViews(current))
    metrics = dash_app.server.extensions["liuyan"]["metrics"]
    metrics.prime(settings.now().date())
    insight = dash_app.server.extensions["liuyan"]["insight"]
    gate = dash_app.server.extensions["liuyan"]["gate"]

    def viewer(connection: HTTPConnection):
        """These routes come before the Flask app: the same login as the wall page (auth=open: everyone)."""
        return gate.wall_principal(connection.headers, connection.url.query)

    switching = threading.Lock()

    def swap(record: dict) -> None:
        # one at a time (announcements can come faster than a fetch and warm-up): a second fetch would write to
        # the same file, and close the store that requests still read before the first has switched away from it
        with switching:
            _swap(record)

    def _swap(record: dict) -> None:
        began = time.monotonic()
        new = fetcher.fetch(record)
        if new is not None:
            fetched = time.monotonic()
            # the analysts' recent questions answered on the new file first: a switch does not make them all cold
            warmed = metrics.warm(new, WARM_SECONDS)
            # requests in flight finish on the previous file (closed one snapshot later); the insight service
            # reads the store too (it kept the first file, closed two snapshots later)
            metrics.store = insight.store = new
            print(
                f"web: snapshot {record['name']} open (fetched in {fetched - began:.2f} s), {warmed} recent "
                f"questions answered on it in {time.monotonic() - fetched:.2f} s",
                file=sys.stderr,
            )

    # a pool that waits for a free connection: 1,000 walls connecting at once asked for more than the default pool's
    # 100 connections and it raised MaxConnectionsError
    pool = aredis.BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=64,
        timeout=20,
        socket_timeout=None,  # the events channel waits
    )
    hub = Hub(current, aredis.Redis(connection_pool=pool), on_snapshot=swap, viewer=viewer)
    peers = [p.strip().rstrip("/") for p in settings.peers.split(",") if p.strip()]

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        task = asyncio.create_task(hub.run())
        yield
        task.cancel()

    api = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    api.add_api_websocket_route("/push/ws", hub.serve)

    @api.get("/push/hello")
    def push_hello():
        # public and tiny; any origin may read it (a wall whose web process died asks its peers)
        return JSONResponse(hello(peers), headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"})

    def status(request: HTTPConnection):  # a plain Starlette route (a sync one runs in the thread pool)
        if viewer(request) is None:
            return JSONResponse({"error": "sign in first"}, status_code=401)
        record = fetcher.record or {}
        return JSONResponse(
            {
                "walls": hub.walls,
                "version": current.record.get("v"),
                "snapshot": {k: record.get(k) for k in ("name", "v", "updated_at", "at")},
            }
        )

    api.add_route("/scale/status", status, methods=["GET"])

    api.mount("/", WSGIMiddleware(dash_app.server, workers=settings.threads))
    return api


def run_web(settings: Settings) -> int:
    import uvicorn

    app = build_web(settings)
    print(f"web: http://{settings.host}:{settings.port}/, walls from {settings.redis_url}", file=sys.stderr)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        ws="websockets-sansio",
        # compressing was 40 % of a web process's busy time with 1,000 walls: each connection compresses the same
        # message again, in the event loop, while the analysts' requests wait for the GIL
        ws_per_message_deflate=settings.push_deflate,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        backlog=4096,
        timeout_graceful_shutdown=5,
    )
    return 0
