"""Load test over real HTTP on loopback: wall screens polling + analysts changing filters while data is written.

    python bench/load.py [--db FILE | --size 5m] [--screens 200] [--analysts 10] [--duration 60]
                         [--write-every 1] [--batch 5] [--simulator] [--locust CMD]

Starts `python app.py` on the database as its own process (as in production: one
process, waitress threads; no in-process simulator), then runs locust headless
(bench/locustfile.py) with --screens wall displays polling the wall's Dash refresh
callback at the default interval (3 s, map rotation included), --analysts users
changing filters and fetching the analyst figures from the JSON API every 3-8 s, and
a writer posting new messages and first replies through the write API every
--write-every seconds (or, with --simulator, the live simulator as its own process:
`python -m ingest.simulate --url ... --token ...`). Bounded in time (--duration).

Reports p50/p95/max latency and errors per kind of request and overall, the server
process's CPU (its own utime+stime over the run, in % of one core) and its peak RSS,
and the machine's load average. The database is not modified except by the writes.

locust comes from the `bench` extra (`pip install -e .[bench]`); where it cannot share
an environment with the test extra (selenium 4.2 pins urllib3 1.26, locust needs 2),
point --locust (or LIUYAN_LOCUST) at a locust from another environment, e.g.
`python -m venv /tmp/lv && /tmp/lv/bin/pip install locust` then `--locust /tmp/lv/bin/locust`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

TOKEN = "load-test-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _locust_command(explicit: str | None) -> list[str]:
    candidates = [explicit.split()] if explicit else []
    if os.environ.get("LIUYAN_LOCUST"):
        candidates.append(os.environ["LIUYAN_LOCUST"].split())
    candidates += [[sys.executable, "-m", "locust"], ["locust"], ["/tmp/liuyan-bench/locust-venv/bin/locust"]]
    for command in candidates:
        if shutil.which(command[0]) or Path(command[0]).exists():
            probe = subprocess.run([*command, "--version"], capture_output=True, text=True)
            if probe.returncode == 0:
                return command
    raise SystemExit("locust not found: pip install -e .[bench], or pass --locust /path/to/locust")


def _proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_status(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(db: Path, port: int, env_extra: dict) -> subprocess.Popen:
    env = dict(os.environ, LIUYAN_SIMULATE="0", LIUYAN_INGEST_TOKEN=TOKEN, **env_extra)
    log = tempfile.TemporaryFile()  # the server's stderr (read if it fails to start)
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--db", str(db), "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        # a file, not a pipe: nobody reads a pipe once the server is up, and a server that logged 64 KB (waitress
        # warns of its queue under load) would block on its next line, with its request loop
        stderr=log,
    )
    deadline = time.time() + 600
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return proc
        except OSError:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(log.read().decode()) from None
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server did not start")


def spec_for(base: str, args, run: str) -> dict:
    from dashboard import ids
    from dashboard.wall import layout
    from settings import Settings

    with urllib.request.urlopen(f"{base}/_dash-dependencies", timeout=60) as response:
        dependencies = json.loads(response.read())
    output = next(d["output"] for d in dependencies if f"{ids.WALL_KPI}.data" in d["output"])
    outputs = [
        {"id": component, "property": prop}
        for component, prop in (part.rsplit(".", 1) for part in output.strip(".").split("..."))
    ]
    settings = Settings.from_env()
    config = layout.kiosk_options(f"?period={args.period}", settings)
    return {
        "output": output,
        "outputs": outputs,
        "config": config,
        "tick_id": ids.WALL_TICK,
        "rotate_id": ids.WALL_ROTATE,
        "carousel_id": ids.WALL_CAROUSEL,
        "config_id": ids.WALL_CONFIG,
        "state_id": ids.WALL_STATE,
        "interval": settings.refresh_seconds,
        "rotate": settings.rotate_seconds,
        "period": args.period,
        "screens": args.screens,
        "analysts": args.analysts,
        "writers": 0 if args.simulator else 1,
        "analyst_think": [3, 8],
        "write_every": args.write_every,
        "batch": args.batch,
        "token": TOKEN,
        "run": run,
    }


class Probe(threading.Thread):
    """One more wall screen and one API reader, in this process over urllib, timed independently of locust:
    a load generator on the same 2 cores adds its own scheduling delay to what it measures."""

    def __init__(self, base: str, spec: dict, every: float = 0.25):
        super().__init__(daemon=True)
        self.base, self.spec, self.every = base, spec, every
        self.tick_ms: list[float] = []
        self.api_ms: list[float] = []
        self.errors = 0
        self.stop = threading.Event()

    def run(self) -> None:
        state, n = None, 0
        while not self.stop.is_set():
            n += 1
            body = json.dumps(
                {
                    "output": self.spec["output"],
                    "outputs": self.spec["outputs"],
                    "inputs": [
                        {"id": self.spec["tick_id"], "property": "n_intervals", "value": n},
                        {"id": self.spec["rotate_id"], "property": "n_intervals", "value": 0},
                        {"id": self.spec["carousel_id"], "property": "n_intervals", "value": 0},
                    ],
                    "changedPropIds": [f"{self.spec['tick_id']}.n_intervals"],
                    "state": [
                        {"id": self.spec["config_id"], "property": "data", "value": self.spec["config"]},
                        {"id": self.spec["state_id"], "property": "data", "value": state},
                    ],
                }
            ).encode()
            request = urllib.request.Request(
                f"{self.base}/_dash-update-component",
                data=body,
                method="POST",
                headers={"Content-Type": "application/json"},
            )
            try:
                began = time.perf_counter()
                with urllib.request.urlopen(request, timeout=60) as response:
                    payload, status = response.read(), response.status
                self.tick_ms.append((time.perf_counter() - began) * 1000)
                if status == 200:
                    state = json.loads(payload)["response"][self.spec["state_id"]]["data"]
                began = time.perf_counter()
                urllib.request.urlopen(f"{self.base}/api/v1/summary", timeout=60).read()
                self.api_ms.append((time.perf_counter() - began) * 1000)
            except (OSError, ValueError, KeyError):
                self.errors += 1
            self.stop.wait(self.every)


def _percentiles(values: list[float]) -> str:
    if not values:
        return "no samples"
    values = sorted(values)
    return (
        f"n {len(values)}, p50 {values[len(values) // 2]:.1f} ms, p95 {values[int(len(values) * 0.95)]:.1f} ms, "
        f"max {values[-1]:.1f} ms"
    )


def _percentile_row(row: dict) -> dict:
    def num(key):
        value = row.get(key, "")
        return float(value) if value not in ("", "N/A") else float("nan")

    return {
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "p50": num("50%"),
        "p95": num("95%"),
        "p99": num("99%"),
        "max": num("Max Response Time"),
        "rps": num("Requests/s"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="database to serve (default: the bench database of --size)")
    parser.add_argument(
        "--size", default="5m", help="bench database size when --db is not given (bench/scale_build.py)"
    )
    parser.add_argument("--screens", type=int, default=200)
    parser.add_argument("--analysts", type=int, default=10)
    parser.add_argument("--duration", type=int, default=60, help="seconds of load (after the ramp-up)")
    parser.add_argument("--period", default="ytd", help="the screens' period")
    parser.add_argument("--write-every", type=float, default=1.0, help="seconds between write batches")
    parser.add_argument("--batch", type=int, default=5, help="new messages per write batch (and as many replies)")
    parser.add_argument("--simulator", action="store_true", help="write with ingest.simulate instead of the writer")
    parser.add_argument("--sim-speed", type=float, default=10.0)
    parser.add_argument("--duckdb-memory", default="", help="LIUYAN_DUCKDB_MEMORY of the server")
    parser.add_argument("--locust", help="locust command (default: this environment's, else LIUYAN_LOCUST)")
    args = parser.parse_args()

    locust = _locust_command(args.locust)
    if args.db:
        db = args.db
    else:
        from scale_build import DEFAULT_DIR, build, parse_size

        db = build(parse_size(args.size), DEFAULT_DIR)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env_extra = {"LIUYAN_DUCKDB_MEMORY": args.duckdb_memory} if args.duckdb_memory else {}
    print(f"serving {db} on {base} ...", flush=True)
    server = start_server(db, port, env_extra)
    work = Path(tempfile.mkdtemp(prefix="liuyan-load-"))
    simulator = None
    try:
        run = str(int(time.time()))
        spec = spec_for(base, args, run)
        (work / "spec.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        # warm up as a wall that has been running: one tick per map metric (the first view after opening
        # computes every metric from scratch; the measured minute is the steady state)
        for rotation in range(3):
            body = json.dumps(
                {
                    "output": spec["output"],
                    "outputs": spec["outputs"],
                    "inputs": [
                        {"id": spec["tick_id"], "property": "n_intervals", "value": 1},
                        {"id": spec["rotate_id"], "property": "n_intervals", "value": rotation},
                        {"id": spec["carousel_id"], "property": "n_intervals", "value": 0},
                    ],
                    "changedPropIds": [f"{spec['tick_id']}.n_intervals"],
                    "state": [
                        {"id": spec["config_id"], "property": "data", "value": spec["config"]},
                        {"id": spec["state_id"], "property": "data", "value": None},
                    ],
                }
            ).encode()
            request = urllib.request.Request(
                f"{base}/_dash-update-component", data=body, method="POST", headers={"Content-Type": "application/json"}
            )
            urllib.request.urlopen(request, timeout=600).read()
        urllib.request.urlopen(f"{base}/api/v1/summary", timeout=600).read()
        users = args.screens + args.analysts + spec["writers"]
        ramp = max(5, args.screens // 40)
        command = [
            *locust,
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(max(1, users // ramp)),
            "-t",
            f"{args.duration + ramp}s",
            "--host",
            base,
            "--csv",
            str(work / "load"),
            "--only-summary",
            "--stop-timeout",
            "10",
            "--loglevel",
            "WARNING",
        ]
        if args.simulator:
            simulator = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "ingest.simulate",
                    "--url",
                    base,
                    "--token",
                    TOKEN,
                    "--speed",
                    str(args.sim_speed),
                    "--prefix",
                    f"L{run}",
                    "--duration",
                    str(args.duration + ramp + 5),
                ],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        cpu0, t0, load0 = _proc_cpu_seconds(server.pid), time.monotonic(), os.getloadavg()
        rss = []
        probe = Probe(base, spec)
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=dict(os.environ, LIUYAN_LOAD_SPEC=str(work / "spec.json")),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        time.sleep(ramp)
        probe.start()
        while proc.poll() is None:
            rss.append(_proc_status(server.pid, "VmRSS"))
            time.sleep(1)
        probe.stop.set()
        probe.join(60)
        output = proc.stdout.read()
        for line in output.splitlines():
            if "CPU" in line or "ERROR" in line or "Traceback" in line:
                print("locust:", line.strip()[:200])
        cpu1, t1, load1 = _proc_cpu_seconds(server.pid), time.monotonic(), os.getloadavg()
        peak = _proc_status(server.pid, "VmHWM")
        stats_file = work / "load_stats.csv"
        if not stats_file.exists():
            print(output)
            raise SystemExit("locust wrote no statistics")
        rows = list(csv.DictReader(stats_file.open(encoding="utf-8")))
        failures_file = work / "load_failures.csv"
        failures = list(csv.DictReader(failures_file.open(encoding="utf-8"))) if failures_file.exists() else []
    finally:
        if simulator is not None and simulator.poll() is None:
            simulator.send_signal(signal.SIGINT)
            simulator.wait(30)
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()

    writer = (
        f"the simulator at speed {args.sim_speed:g}"
        if args.simulator
        else f"a writer ({args.batch} messages + {args.batch} replies every {args.write_every:g} s)"
    )
    print(
        f"\n{args.screens} wall screens (every {spec['interval']:g} s, period {args.period}) + "
        f"{args.analysts} analysts + {writer}; {args.duration} s after a {ramp} s ramp-up; database {db.name}"
    )
    print(f"{'request':<34}{'count':>8}{'errors':>8}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for row in rows:
        r = _percentile_row(row)
        name = "ALL" if row["Name"] == "Aggregated" else row["Name"]
        print(
            f"{name:<34}{r['requests']:>8}{r['failures']:>8}{r['rps']:>8.1f}{r['p50']:>9.0f}{r['p95']:>9.0f}"
            f"{r['p99']:>9.0f}{r['max']:>9.0f}"
        )
    print(
        f"independent probe (urllib in this process, every 0.25 s during the measured time; errors "
        f"{probe.errors}):\n  wall tick   {_percentiles(probe.tick_ms)}\n  API summary {_percentiles(probe.api_ms)}"
    )
    for failure in failures[:10]:
        print(f"  error: {failure.get('Name')}: {failure.get('Error')} x{failure.get('Occurrences')}")
    seconds = t1 - t0
    print(
        f"server CPU: {(cpu1 - cpu0) / seconds * 100:.0f}% of one core on average over {seconds:.0f} s "
        f"({cpu1 - cpu0:.1f} CPU s; 2 cores = 200%); server RSS: peak {peak:,.0f} MiB, "
        f"median during the run {sorted(rss)[len(rss) // 2] if rss else float('nan'):,.0f} MiB"
    )
    print(
        f"machine load average (1/5/15 min): before {' '.join(f'{x:.1f}' for x in load0)}, "
        f"after {' '.join(f'{x:.1f}' for x in load1)}"
    )
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
