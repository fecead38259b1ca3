"""Speed and memory of the insight methods (prints figures, asserts nothing).

    python bench/insight_speed.py [--db FILE] [--month 2026-10] [--year-end 2026-10-31] [--skip-year] [--index-only]
                                  [--part all|month|year]
    python bench/insight_speed.py --db /tmp/demoA.duckdb      # the 6 M-message demo (a private copy: it is written)

Uses a demo database (generated from 2025-06-01 when FILE does not exist) and gives every message of the
measured range a synthetic body when it has none (random clauses of a small hand-written phrase book, a
community name and a few numbers, 80–300 characters: the bench measures speed, not quality). Measures:
  - storing the words of the measured range with the background indexer (one worker process): messages/s;
  - one month nationally, each run with a fresh Insight service (words stored): hot issues + hot words + alerts,
    cold, then again after each of three live writes of 100 messages (only these are segmented, in process);
  - one year nationally, cold (hot issues + hot words + alerts), in a fresh process (`--part year`, started by the
    default `--part all` once the month's figures are printed) with its CPU seconds and its own peak RSS;
  - peak RSS of the process (the indexer's worker apart).
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dataclasses import replace  # noqa: E402

import pandas as pd  # noqa: E402

from insight.index import Indexer  # noqa: E402
from insight.service import Insight  # noqa: E402
from insight.words_store import MESSAGE_WORDS  # noqa: E402
from queries import metrics  # noqa: E402
from queries.db import Store  # noqa: E402
from queries.periods import Filters  # noqa: E402
from queries.writes import upsert  # noqa: E402
from settings import Settings  # noqa: E402

NOW = dt.datetime(2026, 11, 26, 12, 0)
CLAUSES = [
    "家门口的道路坑洼不平下雨天积水严重",
    "楼下餐馆油烟直排窗户都不敢开",
    "小区自来水浑浊发黄已经好几天",
    "工地夜间施工噪音扰民整夜睡不着",
    "单位拖欠工资半年多一直不发",
    "孩子上学的校车线路被取消",
    "社保转移手续办了三个月还没办好",
    "公交车班次太少等车要一个小时",
    "电梯经常故障老人被困过两次",
    "物业费上涨却没有开过业主大会",
    "垃圾清运不及时天热气味很大",
    "房屋漏水找开发商维修一直推脱",
    "路灯坏了很久晚上出行不安全",
    "农村自建房审批流程不清楚",
    "医保报销比例和异地就医怎么办理",
    "退役军人优待证什么时候可以领取",
    "停车位被长期占用堆放杂物",
    "供暖温度不达标家里只有十几度",
    "菜市场周边占道经营交通拥堵",
    "网购商品质量问题商家拒绝退货",
]
NAMES = ["阳光", "幸福", "翠湖", "锦绣", "金桂", "和平", "滨江", "长青", "春晖", "福源", "新华", "绿洲"]
KINDS = ["小区", "花园", "家园", "公司", "小学", "路"]


def ensure_demo(path: Path) -> Store:
    fresh = not path.exists()
    store = Store(path)
    if fresh:
        from ingest.demo import generate

        t0 = time.perf_counter()
        generate(store, seed=20240601, start=dt.date(2025, 6, 1), now=NOW)
        print(f"demo generated from 2025-06-01 in {time.perf_counter() - t0:.1f} s")
    return store


def ensure_texts(store: Store, start: dt.date, end: dt.date) -> None:
    """Synthetic bodies for the messages of start..end that have none, written by one SQL statement."""
    t0 = time.perf_counter()
    with store.write() as cur:
        cur.execute("CREATE OR REPLACE TEMP MACRO pick(xs, key) AS xs[(1 + hash(key) % len(xs))::BIGINT]")
        cur.execute(
            """
            INSERT INTO message_texts
            SELECT m.message_id,
                   pick($name, m.message_id || 'n') || pick($kind, m.message_id || 'k') || '的情况：'
                   || array_to_string(list_transform(range(2 + (hash(m.message_id) % 8)::BIGINT),
                        lambda i: pick($clause, m.message_id || i::VARCHAR) || '，已经'
                             || (1 + hash(m.message_id || i::VARCHAR || 'd') % 30)::VARCHAR || '天'), '。'),
                   '',
                   (hash(m.message_id || 'l') % 20)::INTEGER
            FROM messages m
            WHERE m.created_at >= $start AND m.created_at < $stop
              AND m.message_id NOT IN (SELECT message_id FROM message_texts)
            """,
            {
                "start": dt.datetime.combine(start, dt.time()),
                "stop": dt.datetime.combine(end + dt.timedelta(days=1), dt.time()),
                "clause": CLAUSES,
                "name": NAMES,
                "kind": KINDS,
            },
        )
    count = store.scalar("SELECT count(*) FROM message_texts")
    print(f"synthetic texts ready ({count:,} rows) in {time.perf_counter() - t0:.1f} s")


def index(store: Store, start: dt.date, end: dt.date) -> None:
    """Store the words of start..end (plus the month before: hot words compare with it) with the background indexer
    (one worker process), newest first, printing its rate."""
    settings = replace(
        Settings(),
        clock=dt.datetime.combine(end + dt.timedelta(days=1), dt.time()).isoformat(),
        text_index_days=(end - start).days + 32,
    )
    indexer = Indexer(store, [MESSAGE_WORDS], settings)
    t0, c0 = time.perf_counter(), time.process_time()
    workers0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    indexer.start()
    while not indexer.idle(30):
        wall = time.perf_counter() - t0
        done = indexer.indexed
        print(f"  indexed {done:,} messages in {wall:.0f} s ({done / wall:.0f}/s); load {_load()}")
    indexer.close()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker = children.ru_utime + children.ru_stime - workers0.ru_utime - workers0.ru_stime
    done = indexer.indexed
    print(
        f"words stored for {done:,} messages in {wall:.1f} s: {done / wall:.0f} messages/s with one worker process "
        f"({worker:.1f} s CPU in the worker: {done / max(worker, 1e-9):.0f} messages/s per core; serving process "
        f"{cpu:.1f} s CPU); load {_load()}"
    )


def _load() -> str:
    return Path("/proc/loadavg").read_text().strip()


def timed(label: str, fn):
    t0, c0 = time.perf_counter(), time.process_time()
    value = fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"  {label:<44} {wall * 1000:9.0f} ms wall {cpu * 1000:9.0f} ms CPU")
    return value, wall


def analyse(service: Insight, f: Filters, words: bool = True) -> float:
    total = 0.0
    for name, call in (
        ("hot issues", lambda: service.hot_issues(f)),
        ("hot words", lambda: service.hot_words(f)),
        ("alerts", lambda: service.alerts(f)),
    ):
        if name == "hot words" and not words:
            continue
        _, wall = timed(f"{name} {f.start}..{f.end}", call)
        total += wall
    return total


def live_write(store: Store, day: dt.date, n: int = 100) -> None:
    """n new messages (with text) on `day`, as the write API adds them: one write, text included."""
    rows = []
    for k in range(n):
        mid = f"bench-live-{time.time_ns()}-{k}"
        rows.append(
            dict(
                message_id=mid,
                created_at=pd.Timestamp(day) + pd.Timedelta(minutes=7 * k),
                province=410000,
                city="郑州市",
                district="金水区",
                addressee=None,
                category="城建",
                msg_type="投诉/求助",
                title=f"{NAMES[k % len(NAMES)]}小区{CLAUSES[k % len(CLAUSES)][:8]}",
                is_urgent=False,
                source_status=None,
                content="。".join(CLAUSES[(k + j) % len(CLAUSES)] for j in range(4)),
                location="",
                likes=k % 5,
            )
        )
    frame = pd.DataFrame(rows)
    frame.insert(0, "_row", range(2, n + 2))
    upsert(store, "messages", frame)


class TickProbe:
    """A wall tick's own work (the day's summary from the rollups, uncached as after a write) every 100 ms on
    another thread; `busy` marks the ticks that ran while the insight update did. Shows whether the update
    holds the interpreter long enough to delay the wall."""

    def __init__(self, store: Store, day: dt.date):
        self.store, self.filters = store, Filters(day, day)
        self.busy = False
        self.ticks: dict[bool, list[float]] = {True: [], False: []}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tick-probe", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            busy = self.busy
            t0 = time.perf_counter()
            metrics.summary(self.store, self.filters)
            self.ticks[busy and self.busy].append(time.perf_counter() - t0)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def report(self) -> None:
        for busy, label in ((False, "idle"), (True, "during the insight update")):
            ms = sorted(1000 * t for t in self.ticks[busy])
            if ms:
                print(
                    f"  wall tick work {label:<26} n={len(ms):3d} median {statistics.median(ms):5.1f} ms, "
                    f"max {ms[-1]:5.1f} ms (target <= 50 ms)"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="/tmp/insight_bench.duckdb")
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--year-end", default="2026-10-31")
    parser.add_argument("--skip-year", action="store_true")
    parser.add_argument("--repeat", type=int, default=2, help="cold month runs (fresh service each)")
    parser.add_argument("--index-only", action="store_true", help="store the words of the measured range and stop")
    parser.add_argument("--part", choices=["all", "month", "year"], default="all", help="year: the cold year alone")
    args = parser.parse_args()
    print(f"load before: {_load()}")
    store = ensure_demo(Path(args.db))
    year_end = dt.date.fromisoformat(args.year_end)
    year_start = year_end - dt.timedelta(days=364)
    if args.part == "year":  # texts and words made by the run that started this one
        year_cold(store, year_start, year_end)
        store.close()
        return
    ensure_texts(store, year_start - dt.timedelta(days=31), year_end)
    month_start = dt.date.fromisoformat(args.month + "-01")
    month_end = (month_start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    print(f"\nstoring words (load {_load()}):")
    index(store, month_start if args.skip_year else year_start, max(month_end, year_end))
    if args.index_only:
        store.close()
        return
    month = Filters(month_start, month_end)
    n = store.scalar(
        "SELECT count(*) FROM messages WHERE created_at >= $a AND created_at < $b",
        {"a": dt.datetime.combine(month_start, dt.time()), "b": dt.datetime.combine(month_end, dt.time.max)},
    )
    print(f"\none month nationally: {n:,} messages ({month_start}..{month_end})")
    colds = []
    for run in range(args.repeat):
        service = Insight(store, clock=lambda: NOW)
        colds.append(analyse(service, month))
        print(f"  cold total, run {run + 1}: {colds[-1]:.2f} s   (load {_load()})")
    print(f"cold month: median {statistics.median(colds):.2f} s over {len(colds)} runs (target < 3 s)")
    warm = analyse(service, month)
    print(f"same data version again (cache hit): {warm * 1000:.1f} ms")
    # a running server's service has built its segmenter long before (the first messages the index lacked)
    timed("segmenter (jieba dictionary + places + units), once", lambda: service.segmenter)
    extras, cpus = [], []
    with TickProbe(store, month_end) as probe:
        time.sleep(1.0)  # idle ticks first
        for _ in range(3):
            live_write(store, month_end - dt.timedelta(days=2))
            probe.busy, c0 = True, time.process_time()
            _, reload = timed("the month's corpus again (100 segmented)", lambda: service.corpus(month))
            extras.append(reload + analyse(service, month))
            probe.busy = False
            cpus.append(time.process_time() - c0)  # the probe's own ticks included
            time.sleep(0.5)
    print(
        f"after a live write of 100 messages: {', '.join(f'{e:.2f}' for e in extras)} s wall, "
        f"{', '.join(f'{c:.2f}' for c in cpus)} s CPU (target: < 0.2 s extra); load {_load()}"
    )
    probe.report()
    print(f"peak RSS so far: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    store.close()
    if not args.skip_year and args.part == "all":  # a fresh process: the year's own peak RSS, nothing cached
        argv = [sys.executable, __file__, "--db", args.db, "--year-end", args.year_end, "--part", "year"]
        subprocess.run(argv, check=True)


def year_cold(store: Store, year_start: dt.date, year_end: dt.date) -> None:
    """One year nationally, cold, in this (fresh) process: wall, CPU and the process's peak RSS."""
    year = Filters(year_start, year_end)
    service = Insight(store, clock=lambda: NOW)
    print(f"\none year nationally ({year_start}..{year_end}), cold, in a fresh process (load {_load()}):")
    # hot words compare with the year before: measured only when its words are stored too
    before = (year_start - dt.timedelta(days=365), year_start)
    lacking = store.scalar(
        "SELECT count(*) FROM messages m LEFT JOIN message_words w USING (message_id) "
        "WHERE m.created_at >= $a AND m.created_at < $b AND w.message_id IS NULL",
        {"a": dt.datetime.combine(before[0], dt.time()), "b": dt.datetime.combine(before[1], dt.time())},
    )
    if lacking:
        print(f"  hot words not measured: {lacking:,} messages of {before[0]}..{before[1]} lack stored words")
    c0 = time.process_time()
    total = analyse(service, year, words=not lacking)
    cpu = time.process_time() - c0
    print(f"cold year: {total:.1f} s wall, {cpu:.1f} s CPU (target < 30 s on 2 cores); load {_load()}")
    print(
        f"peak RSS of the year's process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB "
        "(target < 1 GiB)"
    )


if __name__ == "__main__":
    main()
