"""Write throughput while screens read: writers alone, then the same writers with readers, on a real server.

    python bench/write_under_reads.py [--writers 8] [--readers 20] [--batch 10] [--duration 20]
                                      [--seed-batches 40] [--db FILE] [--body-kb N]

Starts `python app.py` (its own process, waitress on loopback, no simulator) on a new empty database
(or --db, a copy), seeds it with `--seed-batches` × 1,000 messages through the write API, then runs two
phases of `--duration` seconds each:

* writers only: `--writers` threads each posting batches of `--batch` new messages (`POST
  /api/v1/ingest/messages`) back to back;
* writers + readers: the same, plus `--readers` threads (in a process of their own, as screens are other
  machines' browsers; `--reader-nice N` lowers its priority) reading back to back what screens and analysts
  read: a wall refresh tick (the Dash callback, as the browser sends it), and the JSON API's summary,
  provinces, trend, categories and feed with varied filters (every write changes the data version,
  so most reads miss the cache, the worst case).

`--scaled` runs the scale-out roles instead (real redis-server, `app.py writer`, one `app.py web`): writers post
to the writer, readers read from the web process (walls from Redis, the API on the writer's snapshots), so reads
never share the writer's process; `--web-nice N` starts the web process at that nice level (what a shared machine
would do; on separate machines the writer's cores are its own).

`--warm` first ticks the wall until its story (the text analysis of hot issues, surges and units, seconds of CPU
on first sight of the data, in the background) is in its view, as on a wall that has been running; without it the
readers' first tick starts that analysis during the second phase.

`--body-kb N` makes each write body about N KB (every message of the batch gets a body of up to the contract's
10,000 characters: the wall tick while large messages arrive).

Prints per phase: records/s, write latency p50/p95/max, reads/s, read p95, the wall tick's p50/p95, the
server's CPU (% of one core) and the load average before and after. Bounded in time; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load import TOKEN, _free_port, _proc_cpu_seconds, spec_for, start_server  # noqa: E402
from spread import pct  # noqa: E402

PROVINCES = ["河南", "四川", "陕西", "安徽", "北京", "广东", "山东", "湖北", "浙江", "江苏"]
CATEGORIES = ["城建", "交通", "教育", "医疗", "环保"]
TYPES = ["投诉/求助", "咨询", "建言"]
BEIJING = dt.timezone(dt.timedelta(hours=8))
PERIODS = ["today", "week", "month", "ytd", "last30", "year"]


def _post(url: str, body: bytes, headers: dict) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code


CLAUSE = "小区门口道路破损多年，雨天积水严重，老人孩子出行很不方便，多次反映仍未维修。"
MAX_CONTENT = 10_000  # characters: the contract's limit for a message body


def _content(chars: int) -> str | None:
    return (CLAUSE * (chars // len(CLAUSE) + 1))[:chars] if chars > 0 else None


def _messages(tag: str, n: int, content_chars: int = 0) -> bytes:
    now = dt.datetime.now(BEIJING).replace(tzinfo=None)
    rows = [
        {
            "message_id": f"wur-{tag}-{j}",
            "created_at": (now - dt.timedelta(seconds=random.randint(1, 600))).isoformat(sep=" ", timespec="seconds"),
            "province": random.choice(PROVINCES),
            "city": "郑州市",
            "category": random.choice(CATEGORIES),
            "msg_type": random.choice(TYPES),
            "title": "小区道路破损请求维修",
            "is_urgent": j % 20 == 0,
            **({"content": _content(content_chars)} if content_chars else {}),
        }
        for j in range(n)
    ]
    return json.dumps(rows, ensure_ascii=False).encode()


class Phase:
    def __init__(self) -> None:
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.write_ms: list[float] = []
        self.read_ms: list[float] = []
        self.tick_ms: list[float] = []
        self.records = 0
        self.errors = 0


def writer(base: str, phase: Phase, name: str, batch: int, content_chars: int = 0) -> None:
    url = f"{base}/api/v1/ingest/messages"
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    n = 0
    while not phase.stop.is_set():
        n += 1
        body = _messages(f"{name}-{n}", batch, content_chars)
        began = time.perf_counter()
        status = _post(url, body, headers)
        elapsed = (time.perf_counter() - began) * 1000
        with phase.lock:
            if status == 200:
                phase.write_ms.append(elapsed)
                phase.records += batch
            else:
                phase.errors += 1


def _tick(base: str, spec: dict, tick: int, state) -> tuple[int, bytes]:
    """A wall refresh tick as the browser sends it: (status, body)."""
    body = {
        "output": spec["output"],
        "outputs": spec["outputs"],
        "inputs": [
            {"id": spec["tick_id"], "property": "n_intervals", "value": tick},
            {"id": spec["rotate_id"], "property": "n_intervals", "value": 0},
            *([{"id": spec["carousel_id"], "property": "n_intervals", "value": 0}] if spec.get("carousel_id") else []),
        ],
        "changedPropIds": [f"{spec['tick_id']}.n_intervals"],
        "state": [
            {"id": spec["config_id"], "property": "data", "value": spec["config"]},
            {"id": spec["state_id"], "property": "data", "value": state},
        ],
    }
    request = urllib.request.Request(
        f"{base}/_dash-update-component",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.status, response.read()


def warm(base: str, spec: dict, timeout: float = 300.0) -> float:
    """Tick the wall until its first story is in its view (the text analysis of a wall that has been running):
    seconds waited."""
    began = time.perf_counter()
    state, tick = None, 0
    while time.perf_counter() - began < timeout:
        tick += 1
        status, payload = _tick(base, spec, tick, state)
        if status == 200:
            state = json.loads(payload)["response"][spec["state_id"]]["data"]
        story = (state or {}).get("token", "").split("|", 1)[0].partition("~")[2]
        if story.isdigit() and int(story) > 0:
            break
        time.sleep(1.0)
    return time.perf_counter() - began


def reader(base: str, phase: Phase, spec: dict, seed: int) -> None:
    rng = random.Random(seed)
    state, tick = None, 0
    while not phase.stop.is_set():
        began = time.perf_counter()
        is_tick = rng.random() < 0.3
        try:
            if is_tick:
                tick += 1
                status, payload = _tick(base, spec, tick, state)
                if status == 200:
                    state = json.loads(payload)["response"][spec["state_id"]]["data"]
            else:
                endpoint = rng.choice(["summary", "provinces", "trend", "categories", "feed"])
                params = [("period", rng.choice(PERIODS))]
                if rng.random() < 0.5:
                    params.append(("province", rng.choice(PROVINCES)))
                if rng.random() < 0.3:
                    params.append(("category", rng.choice(CATEGORIES)))
                query = urllib.parse.urlencode(params)
                with urllib.request.urlopen(f"{base}/api/v1/{endpoint}?{query}", timeout=120) as response:
                    response.read()
        except (OSError, ValueError, KeyError):
            with phase.lock:
                phase.errors += 1
            continue
        with phase.lock:
            phase.read_ms.append((time.perf_counter() - began) * 1000)
            if is_tick:
                phase.tick_ms.append(phase.read_ms[-1])


def _readers_process(base: str, spec: dict, readers: int, ready, go, stop, results, nice: int) -> None:
    """The readers in their own process (screens are other machines' browsers): their HTTP and JSON work does not
    take the writers' client threads' interpreter lock."""
    if nice:
        os.nice(nice)
    phase = Phase()
    threads = [threading.Thread(target=reader, args=(base, phase, spec, r), daemon=True) for r in range(readers)]
    ready.set()
    go.wait()
    for t in threads:
        t.start()
    stop.wait()
    phase.stop.set()
    for t in threads:
        t.join(timeout=120)
    results.put({"read_ms": phase.read_ms, "tick_ms": phase.tick_ms, "errors": phase.errors})


def _start_readers(base: str, spec: dict, readers: int, nice: int):
    context = multiprocessing.get_context("spawn")
    ready, go, stop, results = context.Event(), context.Event(), context.Event(), context.Queue()
    process = context.Process(
        target=_readers_process, args=(base, spec, readers, ready, go, stop, results, nice), daemon=True
    )
    process.start()
    ready.wait(timeout=60)
    return process, go, stop, results


def run_phase(
    base: str,
    spec: dict,
    pid: int,
    writers: int,
    readers: int,
    batch: int,
    duration: float,
    content_chars: int = 0,
    write_base: str | None = None,
    reader_nice: int = 0,
) -> dict:
    phase = Phase()
    threads = [
        threading.Thread(
            target=writer,
            args=(write_base or base, phase, f"{readers}r{w}-{time.time_ns()}", batch, content_chars),
            daemon=True,
        )
        for w in range(writers)
    ]
    reading = _start_readers(base, spec, readers, reader_nice) if readers else None
    load_before = os.getloadavg()
    cpu_before = _proc_cpu_seconds(pid)
    began = time.perf_counter()
    if reading:
        reading[1].set()
    for t in threads:
        t.start()
    time.sleep(duration)
    phase.stop.set()
    elapsed = time.perf_counter() - began
    if reading:
        process, _, stop, results = reading
        stop.set()
        read = results.get(timeout=180)
        process.join(timeout=30)
        phase.read_ms, phase.tick_ms = read["read_ms"], read["tick_ms"]
        phase.errors += read["errors"]
    for t in threads:
        t.join(timeout=120)
    elapsed_all = time.perf_counter() - began
    cpu = _proc_cpu_seconds(pid) - cpu_before
    return {
        "writers": writers,
        "readers": readers,
        "records_per_s": phase.records / elapsed_all,
        "write_p50": pct(phase.write_ms, 0.5),
        "write_p95": pct(phase.write_ms, 0.95),
        "write_max": max(phase.write_ms, default=float("nan")),
        "reads_per_s": len(phase.read_ms) / elapsed,
        "read_p95": pct(phase.read_ms, 0.95),
        "tick_p50": pct(phase.tick_ms, 0.5),
        "tick_p95": pct(phase.tick_ms, 0.95),
        "errors": phase.errors,
        "server_cpu": 100 * cpu / elapsed_all,
        "load": (load_before, os.getloadavg()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--seed-batches", type=int, default=40)
    parser.add_argument("--db", help="database to write into (a copy; default: a new empty one)")
    parser.add_argument("--period", default="ytd", help="the wall screens' period")
    parser.add_argument("--body-kb", type=float, default=0, help="each write body about this size (message bodies)")
    parser.add_argument("--url", help="a running server (token: the bench's) instead of starting one; no seeding")
    parser.add_argument("--pid", type=int, help="with --url: the server's process id (for its CPU)")
    parser.add_argument("--scaled", action="store_true", help="writer + web process + redis-server (scale-out)")
    parser.add_argument("--web-nice", type=int, default=0, help="with --scaled: the web process's nice level")
    parser.add_argument("--reader-nice", type=int, default=0, help="the readers' process's nice level")
    parser.add_argument(
        "--warm", action="store_true", help="before the phases: the wall's first story analysed (a running wall)"
    )
    args = parser.parse_args()
    if args.scaled:
        scaled(args)
        return
    if args.url:
        spec = spec_for(args.url, _spec_args(args), "write-under-reads")
        report(args.url, spec, args.pid or os.getpid(), args)
        return

    folder = Path(tempfile.mkdtemp(prefix="liuyan-wur-"))
    db = Path(args.db) if args.db else folder / "bench.duckdb"
    if not args.db:
        subprocess.run([sys.executable, str(ROOT / "app.py"), "init", "--empty", "--db", str(db)], check=True)
    port = _free_port()
    proc = start_server(db, port, {})
    base = f"http://127.0.0.1:{port}"
    try:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
        for i in range(args.seed_batches):
            _post(f"{base}/api/v1/ingest/messages", _messages(f"seed-{i}", 1000), headers)
        spec = spec_for(base, _spec_args(args), "write-under-reads")
        print(f"server pid {proc.pid}, {args.seed_batches * 1000:,} seeded messages, batch {args.batch}")
        report(base, spec, proc.pid, args)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # it did not stop in time (seen at load 10): never leave it running
            print(f"server pid {proc.pid} still running 30 s after SIGTERM: killed", file=sys.stderr)
            proc.kill()
            proc.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)  # the bench's own database (never --db)


def scaled(args) -> None:
    from tests.cluster import Cluster

    folder = Path(tempfile.mkdtemp(prefix="liuyan-wur-"))
    db = folder / "writer.duckdb"
    if args.db:
        shutil.copyfile(args.db, db)
    else:
        subprocess.run([sys.executable, str(ROOT / "app.py"), "init", "--empty", "--db", str(db)], check=True)
    cluster = Cluster(folder, db, LIUYAN_INGEST_TOKEN=TOKEN)  # the bench's writers use its token
    cluster.web_ports = cluster.web_ports[:1]
    try:
        cluster.start()
        web_port = cluster.web_ports[0]
        if args.web_nice:
            os.setpriority(os.PRIO_PROCESS, cluster.webs[web_port].pid, args.web_nice)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
        for i in range(args.seed_batches):
            _post(f"{cluster.writer_url}/api/v1/ingest/messages", _messages(f"seed-{i}", 1000), headers)
        web = cluster.web_url(web_port)
        spec = spec_for(web, _spec_args(args), "write-under-reads")
        print(
            f"scaled: writer pid {cluster.writer.pid}, web pid {cluster.webs[web_port].pid} (nice {args.web_nice}), "
            f"{args.seed_batches * 1000:,} seeded messages, batch {args.batch}; server CPU is the writer's"
        )
        report(web, spec, cluster.writer.pid, args, write_base=cluster.writer_url)
    finally:
        cluster.close()
        shutil.rmtree(folder, ignore_errors=True)


def _spec_args(args) -> argparse.Namespace:
    return argparse.Namespace(**vars(args), screens=0, analysts=0, simulator=False, write_every=0)


def report(base: str, spec: dict, pid: int, args, write_base: str | None = None) -> None:
    if args.warm:
        print(f"warm: the wall's story analysed in {warm(base, spec):.1f} s before the phases")
    print(
        f"{'writers':>7} {'readers':>7} {'records/s':>10} {'write p50':>10} {'write p95':>10} {'write max':>10} "
        f"{'reads/s':>8} {'read p95':>9} {'tick p50/p95':>13} {'errors':>6} {'server CPU':>10}  load before → after"
    )
    content_chars = min(MAX_CONTENT, int(args.body_kb * 1024 / max(1, args.batch) / 3))  # 3 bytes a character
    if content_chars:
        size = len(_messages("size", args.batch, content_chars)) / 1024
        print(f"write bodies of {size:.0f} KB ({args.batch} messages with {content_chars:,}-character bodies)")
    for readers in (0, args.readers):
        r = run_phase(
            base,
            spec,
            pid,
            args.writers,
            readers,
            args.batch,
            args.duration,
            content_chars,
            write_base or base,
            args.reader_nice,
        )
        (b1, b5, _), (a1, a5, _) = r["load"]
        print(
            f"{r['writers']:>7} {r['readers']:>7} {r['records_per_s']:>10.0f} {r['write_p50']:>8.0f}ms "
            f"{r['write_p95']:>8.0f}ms {r['write_max']:>8.0f}ms {r['reads_per_s']:>8.1f} "
            f"{r['read_p95']:>7.0f}ms {r['tick_p50']:>5.0f}/{r['tick_p95']:<5.0f}ms "
            f"{r['errors']:>6} {r['server_cpu']:>9.0f}%  "
            f"{b1:.2f}/{b5:.2f} → {a1:.2f}/{a5:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
