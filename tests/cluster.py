"""A scale-out cluster on loopback for tests and bench/scale_out.py: redis-server, one writer, web processes,
and walls that speak the push protocol (scaleout/push.py) like assets/wall.js does."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import ROOT, free_port

TOKEN = "scale-test-token"
SECRET = "scale-test-secret"


def wait_http(url: str, proc: subprocess.Popen | None, timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{url}: process ended\n{log.read_text() if log else ''}") from None
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout} s\n{log.read_text()[-3000:] if log else ''}")


class Cluster:
    """Every process it starts is killed by `close()` (also on failure: use it as a context manager)."""

    def __init__(self, workdir: Path, db: Path, **env):
        self.dir = workdir
        self.db = db
        self.redis_port = free_port()
        self.writer_port = free_port()
        self.redis: subprocess.Popen | None = None
        self.writer: subprocess.Popen | None = None
        self.webs: dict[int, subprocess.Popen] = {}
        self.web_ports = [free_port(), free_port()]
        self.env = {
            **os.environ,
            "LIUYAN_SIMULATE": "0",
            "LIUYAN_INGEST_TOKEN": TOKEN,
            "LIUYAN_SNAPSHOT_SECRET": SECRET,
            "LIUYAN_SNAPSHOT_SECONDS": "1",
            "LIUYAN_SNAPSHOT_DIR": str(workdir),
            "LIUYAN_REDIS_URL": self.redis_url,
            "LIUYAN_PEERS": ",".join(self.web_url(p) for p in self.web_ports),
            "PYTHONUNBUFFERED": "1",
            **env,
        }

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def writer_url(self) -> str:
        return f"http://127.0.0.1:{self.writer_port}"

    @staticmethod
    def web_url(port: int) -> str:
        return f"http://127.0.0.1:{port}"

    def _spawn(self, name: str, args: list[str]) -> tuple[subprocess.Popen, Path]:
        log = self.dir / f"{name}.log"
        out = open(log, "ab")  # noqa: SIM115 (the child owns it)
        proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        return proc, log

    def start_redis(self) -> None:
        self.redis, _ = self._spawn(
            "redis",
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--daemonize", "no"],
        )
        deadline = time.monotonic() + 10
        import redis

        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.redis_url).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop_redis(self) -> None:
        _kill(self.redis)
        self.redis = None

    def start_writer(self, timeout: float = 240) -> None:
        self.writer, log = self._spawn(
            "writer", [sys.executable, "app.py", "writer", "--db", str(self.db), "--port", str(self.writer_port)]
        )
        wait_http(self.writer_url + "/healthz", self.writer, timeout, log)

    def stop_writer(self, sig=signal.SIGTERM) -> None:
        if self.writer is not None:
            self.writer.send_signal(sig)
            try:
                self.writer.wait(20)
            except subprocess.TimeoutExpired:
                _kill(self.writer)
        self.writer = None

    def start_web(self, port: int, timeout: float = 240) -> None:
        self.webs[port], log = self._spawn(f"web-{port}", [sys.executable, "app.py", "web", "--port", str(port)])
        wait_http(self.web_url(port) + "/push/hello", self.webs[port], timeout, log)

    def kill_web(self, port: int) -> None:
        proc = self.webs.pop(port)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def start(self) -> Cluster:
        self.start_redis()
        self.start_writer()
        for port in self.web_ports:
            self.start_web(port)
        return self

    def close(self) -> None:
        for proc in [*self.webs.values(), self.writer, self.redis]:
            _kill(proc)
        self.webs.clear()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- HTTP helpers ---------------------------------------------------------------------------------------------
    def write(self, kind: str, rows: list[dict]) -> dict:
        request = urllib.request.Request(
            f"{self.writer_url}/api/v1/ingest/{kind}",
            data=json.dumps(rows, ensure_ascii=False).encode(),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


def get_json(url: str, timeout: float = 10) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def _kill(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait(10)


# -- walls speaking the push protocol -----------------------------------------------------------------------------
def apply_patch(value, patch):
    """Apply a dash.Patch as the renderer does (the operations the wall's diffs produce: Assign, Delete)."""
    if not (isinstance(patch, dict) and "__dash_patch_update" in patch):
        return patch
    for op in patch["operations"]:
        *parents, last = op["location"]
        target = value
        for step in parents:
            target = target[step]
        if op["operation"] == "Assign":
            target[last] = op["params"]["value"]
        elif op["operation"] == "Delete":
            del target[last]
        else:
            raise AssertionError(f"unexpected patch operation {op['operation']}")
    return value


class PushWall:
    """One wall: subscribes to a view, applies what is pushed, moves to the next origin when its server dies."""

    def __init__(self, origins: list[str], period="ytd", lang="zh", metric="messages_per_10k", province=None):
        self.origins = origins
        self.view = {"period": period, "lang": lang, "metric": metric, "province": province}
        self.token: str | None = None
        self.props: dict[tuple[str, str], object] = {}
        self.origin: str | None = None
        self.received: list[float] = []  # monotonic time of each pushed message
        self.received_bytes = 0  # characters of the pushed messages (as sent, before any compression)
        self.errors = 0
        self.changed = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        import websockets

        index = 0
        while not stop.is_set():
            self.origin = self.origins[index % len(self.origins)]
            url = self.origin.replace("http://", "ws://") + "/push/ws"
            try:
                async with websockets.connect(url, open_timeout=20, max_size=None) as ws:
                    await ws.send(json.dumps({**self.view, "token": self.token}))
                    async for text in ws:  # until the server goes; WallLoop.close cancels the task
                        self.received_bytes += len(text)
                        self._apply(json.loads(text))
                raise OSError("closed by the server")
            except (OSError, TimeoutError, websockets.WebSocketException):
                self.errors += 1
                index += 1
                await asyncio.sleep(0.3)

    def _apply(self, message: dict) -> None:
        if "o" not in message:
            return
        self.received.append(time.monotonic())
        for component, prop, value in message["o"]:
            self.props[(component, prop)] = apply_patch(self.props.get((component, prop)), value)
        self.token = message["t"]
        self.changed.set()

    def kpi(self, name: str):
        return (self.props.get(("wall-kpi", "data")) or {}).get(name)


class WallLoop:
    """An event loop in a thread hosting PushWalls (tests and the bench are synchronous)."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.stop = self._run(_event())
        self.walls: list[PushWall] = []

    def _run(self, coro, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def add(self, wall: PushWall) -> PushWall:
        asyncio.run_coroutine_threadsafe(wall.run(self.stop), self.loop)
        self.walls.append(wall)
        return wall

    def close(self) -> None:
        self._run(_cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


async def _event() -> asyncio.Event:
    return asyncio.Event()


async def _cancel_all() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
