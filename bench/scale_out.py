"""Scale-out figures on loopback (real redis-server, writer and web processes; walls speak the push protocol).

    python bench/scale_out.py [--walls 1000] [--db FILE_5M] [--only push,mixed,snapshot,kill]

push      write acknowledged -> new number on every pushed wall, N walls on one web process; memory per wall
mixed     2 web processes, 2N walls, 20 analysts (API calls of the analyst panels), the standalone simulator
          writing through the writer's API: errors, analyst p50/p95, pushes received
snapshot  snapshot publish time on a copy of --db (e.g. 5 M messages): the full copy, then the snapshots after it
          (a block delta when a checkpoint ran since the one before, and the WAL), and the writes' latency while
          they run (--checkpoint-threshold 1MB: DuckDB's automatic checkpoints often, so most carry a delta)
kill      SIGKILL the web process holding N walls (a write follows at once): time until each has the new number

Every section is bounded in time (about a minute each) and prints the machine's load: the 2 cores here are
shared with other work, so figures vary from run to run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import redis  # noqa: E402
from spread import fmt, load  # noqa: E402

from queries.db import Store  # noqa: E402
from scaleout import bus  # noqa: E402
from tests.cluster import TOKEN, Cluster, PushWall, WallLoop, get_json  # noqa: E402

NOW_DAY = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))


class Walls(WallLoop):
    def add_many(self, origins: list[str], n: int) -> list[PushWall]:
        """n walls, connected 100 at a time (screens are switched on over minutes, not in one instant)."""
        new: list[PushWall] = []
        for start in range(0, n, 100):
            batch = [self.add(PushWall(origins)) for _ in range(min(100, n - start))]
            wait(lambda batch=batch: all(w.token for w in batch), 120, "walls' first picture")
            new += batch
        return new


def rss_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out: {what}")
        time.sleep(0.1)


def post(cluster: Cluster, n: int, tag: str) -> float:
    """Write n messages dated now; returns the monotonic time the writer acknowledged them."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 8 * 3600 - 5))
    rows = [{"message_id": f"b-{tag}-{i}", "created_at": stamp, "province": "河南", "title": "压测"} for i in range(n)]
    cluster.write("messages", rows)
    return time.monotonic()


def latencies_after(walls: list[PushWall], acked: float, timeout: float = 10.0) -> list[float]:
    """Per wall: first push received after `acked`."""
    deadline = time.monotonic() + timeout
    out: dict[int, float] = {}
    while time.monotonic() < deadline and len(out) < len(walls):
        for i, wall in enumerate(walls):
            if i not in out:
                later = [t for t in wall.received[-3:] if t >= acked]
                if later:
                    out[i] = later[0] - acked
        time.sleep(0.2)  # the walls stamp what they receive: this loop only collects (and leaves them the CPU)
    return list(out.values())


def cluster_for(workdir: Path, db: Path | None, **env) -> Cluster:
    target = workdir / "writer.duckdb"
    if db:
        shutil.copyfile(db, target)
    else:
        Store(target).close()
    return Cluster(workdir, target, **env)


# -- sections -----------------------------------------------------------------------------------------------------
def push(args, workdir: Path) -> None:
    with cluster_for(workdir, None) as c:
        c.start_redis()
        c.start_writer()
        port = c.web_ports[0]
        c.start_web(port)
        pid = c.webs[port].pid
        time.sleep(2)
        before = rss_kib(pid)
        walls = Walls()
        try:
            group = walls.add_many([c.web_url(port)], args.walls)
            wait(lambda: all(w.token for w in group), 120, "walls' first picture")
            time.sleep(2)
            after = rss_kib(pid)
            results = []
            for i in range(args.writes):
                acked = post(c, 1, f"p{i}")
                results += latencies_after(group, acked)
                time.sleep(1.0)
            missing = args.writes * args.walls - len(results)
            print(f"[push] {args.walls} walls on one web process, {args.writes} writes, load {load()}")
            print(f"  write ack -> wall has the new number: {fmt(results)}; missed {missing}")
            print(
                f"  web process RSS {before / 1024:.0f} MiB -> {after / 1024:.0f} MiB with walls connected: "
                f"{(after - before) / args.walls:.0f} KiB per wall (load {load()})"
            )
        finally:
            walls.close()


def analyst(urls: list[str], stop: threading.Event, times: list[tuple], errors: list[str]) -> None:
    rng = random.Random()
    queries = ["summary", "provinces", "trend", "categories", "types"]
    stop.wait(rng.uniform(0.0, 2.0))  # the think time before the first question too: analysts do not click in step
    while not stop.is_set():
        base = rng.choice(urls)
        params = rng.choice(["period=ytd", "period=month", "period=h1", "period=today", "period=last30"])
        if rng.random() < 0.5:
            params += "&province=" + rng.choice(["410000", "510000", "110000", "440000"])
        began = time.perf_counter()
        try:
            with urllib.request.urlopen(f"{base}/api/v1/{rng.choice(queries)}?{params}", timeout=10) as r:
                r.read()
            times.append((time.time(), time.perf_counter() - began, urls.index(base)))
        except urllib.error.HTTPError as exc:
            errors.append(f"HTTP {exc.code} {exc.read()[:80].decode(errors='replace')}")
        except Exception as exc:
            errors.append(type(exc).__name__)
        stop.wait(rng.uniform(1.0, 3.0))


def analysts(urls: list[str], seconds: float, n: int = 20) -> tuple[list[tuple], list[str]]:
    """(wall-clock time answered, seconds taken, which web process) per request, and the errors."""
    stop = threading.Event()
    times: list[tuple] = []
    errors: list[str] = []
    threads = [threading.Thread(target=analyst, args=(urls, stop, times, errors)) for _ in range(n)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(15)
    return times, errors


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def mixed(args, workdir: Path) -> None:
    with cluster_for(workdir, args.db, LIUYAN_SNAPSHOT_SECONDS=str(args.snapshot_seconds)) as c:
        c.start()
        walls = Walls()
        sim = None
        try:
            urls = [c.web_url(p) for p in c.web_ports]
            groups = [walls.add_many([u], args.walls) for u in urls]
            wait(lambda: all(w.token for g in groups for w in g), 180, "walls' first picture")
            sim = subprocess.Popen(
                [sys.executable, "-m", "ingest.simulate", "--url", c.writer_url, "--token", TOKEN,
                 "--speed", str(args.sim_speed), "--duration", str(args.seconds + 5), "--prefix", "B"],
                cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            received = sum(len(w.received) for w in walls.walls)
            received_bytes = sum(w.received_bytes for w in walls.walls)
            wall_errors = sum(w.errors for w in walls.walls)
            # the analysts in a process of their own: the walls' loop here would hold the GIL under their timers
            pids = {"writer": c.writer.pid, **{f"web {p}": c.webs[p].pid for p in c.web_ports}}
            cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
            bench_cpu = cpu_seconds(os.getpid())
            snapshot0 = {p: get_json(c.web_url(p) + "/scale/status")["snapshot"]["name"] for p in c.web_ports}
            announcements = redis.Redis.from_url(c.redis_url, socket_timeout=5)
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                began_at = time.time()
                pending = pool.apply_async(analysts, (urls, args.seconds))
                began = time.monotonic()
                loads = []
                published = {}  # the writer's snapshot announcements seen (name -> record)
                while time.monotonic() - began < args.seconds:
                    time.sleep(5)
                    loads.append(load())
                    record = json.loads(announcements.get(bus.SNAPSHOT) or "{}")
                    published.setdefault(record.get("name"), record)
                times, errors = pending.get(args.seconds + 60)
            cpu = {name: (cpu_seconds(pid) - cpu0[name]) / args.seconds for name, pid in pids.items()}
            switched = sum(
                get_json(c.web_url(p) + "/scale/status")["snapshot"]["name"] != snapshot0[p] for p in c.web_ports
            )
            pushes = sum(len(w.received) for w in walls.walls) - received
            pushed_bytes = sum(w.received_bytes for w in walls.walls) - received_bytes
            versions = get_json(c.writer_url + "/api/v1/meta")["data_version"]
            half = began_at + args.seconds / 2
            print(
                f"[mixed] 2 web processes, {2 * args.walls} walls, 20 analysts, simulator x{args.sim_speed}, "
                f"{args.seconds} s, snapshots every {args.snapshot_seconds:g} s, load {' '.join(loads)}"
            )
            print(
                f"  analyst API requests: {fmt([d for _, d, _ in times])}; errors {len(errors)} {sorted(set(errors))}"
            )
            print(f"    first half: {fmt([d for t, d, _ in times if t < half])}")
            print(f"    second half: {fmt([d for t, d, _ in times if t >= half])}")
            slow = sorted((t - began_at, d, w) for t, d, w in times if d > 0.3)
            print(
                "    over 300 ms, answered at second (web process): "
                + ", ".join(f"{t:.0f} ({d * 1000:.0f} ms, {'ab'[w]})" for t, d, w in slow)
            )
            for port in c.web_ports:
                said = [line for line in (workdir / f"web-{port}.log").read_text().splitlines() if "snapshot" in line]
                print(f"    web {port}: " + " | ".join(said[-3:]))
            for port in c.web_ports if errors else ():  # what the web processes said about them
                said = [line for line in (workdir / f"web-{port}.log").read_text().splitlines() if "Error" in line]
                print(f"    web {port} log: " + " | ".join(said[-3:]))
            print(f"  web processes that switched to a newer snapshot during the run: {switched} of 2")
            made = [r for name, r in published.items() if name and name not in snapshot0.values()]
            print(
                f"  snapshots published during the run: {len(made)}, seconds each: "
                + ", ".join(f"{r['seconds']:.2f} ({'blocks' if r['bytes'] else 'WAL only'})" for r in made)
            )
            cpu["this bench (walls' client)"] = (cpu_seconds(os.getpid()) - bench_cpu) / args.seconds
            print("  CPU (share of one core): " + ", ".join(f"{name} {share:.0%}" for name, share in cpu.items()))
            print(
                f"  pushes received {pushes} ({pushes / args.seconds:.0f}/s, "
                f"{pushed_bytes / max(pushes, 1):,.0f} characters each); wall connection errors "
                f"{sum(w.errors for w in walls.walls) - wall_errors}; writer at version {versions}"
            )
        finally:
            if sim is not None and sim.poll() is None:
                sim.kill()
                sim.wait(10)
            walls.close()


def snapshot(args, workdir: Path) -> None:
    from scaleout.snapshot import Snapshots

    if not args.db:
        print("[snapshot] skipped: give --db (a copy of a 5 M message database, see bench/scale_build.py)")
        return
    if args.db_in_place:
        target = args.db
    else:
        target = workdir / "snapshot-source.duckdb"
        shutil.copyfile(args.db, target)
    store = Store(target)
    if args.checkpoint_threshold:  # DuckDB's automatic checkpoints sooner: deltas with the blocks they rewrote
        store.cursor().execute("SET checkpoint_threshold = $t", {"t": args.checkpoint_threshold}).fetchall()
    messages = store.scalar("SELECT count(*) FROM messages")
    old_ids = [r[0] for r in store.rows("SELECT message_id FROM messages USING SAMPLE 20000 ROWS")]
    stop = threading.Event()
    writes: list[tuple[float, float]] = []  # (start, duration)

    def writer():
        from queries.writes import upsert
        from tests.conftest import frame, message, reply

        rng = random.Random(7)
        run = time.time_ns() // 1_000_000  # ids of this run only (--db-in-place keeps the rows of runs before)
        i = 0
        while not stop.is_set():
            rows = [message(f"snapbench-{run}-{i}-{k}", f"{NOW_DAY} 08:00:00") for k in range(100)]
            # replies to older messages: checkpoints then rewrite old row groups too, as the simulator makes them
            answers = [
                reply(f"snapbench-r{run}-{i}-{k}", rng.choice(old_ids), f"{NOW_DAY} 09:00:00") for k in range(20)
            ]
            began = time.perf_counter()
            upsert(store, "messages", frame(rows))
            upsert(store, "replies", frame(answers))
            writes.append((began, time.perf_counter() - began))
            i += 1
            stop.wait(0.1)

    out = workdir / "snaps"
    out.mkdir()
    snapshots = Snapshots(store, out)
    thread = threading.Thread(target=writer)
    thread.start()
    spans, records, cpu = [], [], []
    try:
        for _ in range(1 + args.deltas):
            time.sleep(args.snapshot_gap)
            began, began_cpu = time.perf_counter(), time.thread_time() + children_cpu()
            records.append(snapshots.make())
            spans.append((began, time.perf_counter()))
            cpu.append(time.thread_time() + children_cpu() - began_cpu)  # with its child process's
    finally:
        stop.set()
        thread.join()
        store.close()
    during = [d for s, d in writes if any(a - d <= s <= b for a, b in spans[1:])]  # the deltas' publishes
    copying = [d for s, d in writes if spans[0][0] - d <= s <= spans[0][1]]  # the full copy, once per writer start
    outside = [d for s, d in writes if not any(a - 1 <= s <= b + 1 for a, b in spans)]
    size = (out / records[0]["base"]).stat().st_size
    print(f"[snapshot] {messages:,} messages, {size / 2**30:.2f} GiB file, load {load()}")

    def line(r: dict, c: float) -> str:
        return (
            f"{r['seconds']:.2f} s (CPU {c:.2f} s, writes wait {r['lock_seconds'] * 1000:.0f} ms, "
            f"{r['bytes'] / 2**20:.1f} MiB + WAL {r['wal_bytes'] / 2**20:.1f} MiB)"
        )

    print(f"  first (full copy, once per writer start): {line(records[0], cpu[0])}")
    print(f"  then every {args.snapshot_gap:g} s of writing (100 messages + 20 replies per 0.1 s), delta + WAL:")
    for r, c in zip(records[1:], cpu[1:], strict=True):
        print(f"    {line(r, c)}")
    deltas = [r["seconds"] for r in records[1:]]
    if deltas:
        print(f"  delta publish: median {statistics.median(deltas):.2f} s, max {max(deltas):.2f} s")
    print(f"  a write (100 messages + 20 replies) while a delta is published: {fmt(during)}; otherwise: {fmt(outside)}")
    print(f"  a write while the first full copy is made: {fmt(copying)}")


def kill(args, workdir: Path) -> None:
    with cluster_for(workdir, None) as c:
        c.start()
        one, two = c.web_ports
        walls = Walls()
        try:
            group = walls.add_many([c.web_url(one), c.web_url(two)], args.kill_walls)
            wait(lambda: all(w.token for w in group), 120, "walls' first picture")
            killed = time.monotonic()
            c.kill_web(one)
            acked = post(c, 1, "kill")
            got = latencies_after(group, acked, timeout=30)
            back = [acked - killed + t for t in got]
            print(f"[kill] SIGKILL the web process of {args.kill_walls} walls, a write at once, load {load()}")
            print(
                f"  kill -> wall shows the new number from the other process: {fmt(back)}; "
                f"not back {args.kill_walls - len(back)}"
            )
        finally:
            walls.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--walls", type=int, default=1000, help="walls per web process")
    parser.add_argument("--kill-walls", type=int, default=500)
    parser.add_argument("--writes", type=int, default=15)
    parser.add_argument("--seconds", type=int, default=45, help="length of the mixed run")
    parser.add_argument("--sim-speed", type=float, default=300.0)
    parser.add_argument("--snapshot-seconds", type=float, default=20.0, help="mixed section: LIUYAN_SNAPSHOT_SECONDS")
    parser.add_argument("--db", type=Path, help="database to copy for the snapshot and mixed sections (5 M)")
    parser.add_argument("--db-in-place", action="store_true", help="snapshot section: write to --db itself, no copy")
    parser.add_argument("--deltas", type=int, default=5, help="snapshot section: delta snapshots after the full one")
    parser.add_argument("--snapshot-gap", type=float, default=5.0, help="snapshot section: seconds of writing between")
    parser.add_argument("--checkpoint-threshold", help="snapshot section: DuckDB checkpoint_threshold (e.g. 1MB)")
    parser.add_argument("--only", default="push,mixed,snapshot,kill")
    args = parser.parse_args()
    print(f"bench/scale_out.py on {os.cpu_count()} cores, load at start {load()}")
    for name in args.only.split(","):
        with tempfile.TemporaryDirectory(prefix=f"scale-{name}-") as tmp:
            globals()[name](args, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
