"""Performance at scale: the wall, the API and the write path on 5 M and 50 M messages, side by side
with the in-memory pandas way most Dash apps compute the same screen.

    python bench/scale.py [--sizes 5m,50m] [--repeat 15] [--dir DIR] [--duckdb-memory 1GB] [--pandas-max 10m]
                          [--base DEMO] [--indexer]

For each size the database is built (bench/scale_build.py, cached in --dir), then
measured in a fresh process of its own (so that its peak RSS is its own):

* wall refresh over HTTP: real Dash callback requests (`/_dash-update-component`,
  bench/wall_refresh.Screen) against the app served by waitress in the process.
  "miss" is the first screen after a write (3 new messages: every metric of the
  tick recomputed, every figure rebuilt, the Patch diff); "hit" a second screen
  after the same write (view cached, diff only); "unchanged" a tick with no new
  data (204); "cold" the very first tick after the database is opened;
* the same miss in-process: dashboard.wall.callbacks.build_view with an empty
  cache, split into its metric queries and its figures;
* each API endpoint (default period: this year) right after a write (miss) and again (hit);
* incremental writes of 1,000 records with rollup maintenance, in-process
  (queries.writes.upsert: messages, then replies to unanswered messages) and
  through the write API (validation included);
* the wall's story (dashboard/wall/story.py: hot issues, surges, the league), which the first tick starts in the
  background as on a live wall: the ticks are measured once its first story is shown; its runs are timed (wall, CPU,
  RSS before and after) by wrapping `Story.compute`; with --indexer the background indexer runs too, as in
  app.py serve, and the measures wait for its first pass;
* peak RSS of the serving process and the database size.

The pandas approach runs in another process: the tables loaded into DataFrames
once, then every tick filters and groups them and rebuilds every figure as a
plotly object (`go.Figure`, validated, then serialised: what Dash apps usually do)
from the same figure specs (dashboard/figures.py); the ratio compares its tick with the
in-process miss. Both are reported with CPU time as well as wall time, and the
machine's load average is printed: on a shared machine, CPU milliseconds are the
steadier figure. Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scale_build import DEFAULT_DIR, built_path, label, parse_size  # noqa: E402

from dashboard.wall.story import ALERT_DAYS, ISSUE_DAYS, UNIT_DAYS  # noqa: E402

PERIOD = "ytd"
METRIC = "messages_per_10k"
ENDPOINTS = [
    ("summary", ""),
    ("provinces", ""),
    ("trend", ""),
    ("trend", "granularity=month"),
    ("categories", ""),
    ("types", ""),
    ("feed", ""),
    ("summary", "province=河南&category=城建"),
    ("provinces", "msg_type=咨询&urgent=true"),
]


# -- statistics -------------------------------------------------------------------------------------------------------
def stats(values: list[float]) -> dict:
    values = sorted(values)
    if not values:
        return {"n": 0}
    p95 = values[min(len(values) - 1, max(0, int(np.ceil(0.95 * len(values))) - 1))]
    return {"n": len(values), "min": values[0], "median": statistics.median(values), "p95": p95, "max": values[-1]}


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, value


def children_cpu_ms() -> float:
    """CPU of this process's ended children (the workers a reader may start to segment missing texts)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


class StoryWatch:
    """Every computation of the wall's story (dashboard/wall/story.py) timed: wall and CPU milliseconds (its thread's,
    the process's), and the RSS of the process before and after (the bench wraps `Story.compute`; the app is
    unchanged)."""

    def __init__(self, story):
        self.story = story
        self.runs: list[dict] = []
        compute = story.compute

        def timed_compute(province, today):
            rss, wall, children = rss_mib(), time.perf_counter(), children_cpu_ms()
            thread, process = time.thread_time(), time.process_time()
            try:
                return compute(province, today)
            finally:
                self.runs.append(
                    {
                        "ms": (time.perf_counter() - wall) * 1000,
                        # its own thread's; the process's counts DuckDB's threads too, and whatever else ran
                        "cpu_ms": (time.thread_time() - thread) * 1000,
                        "process_cpu_ms": (time.process_time() - process) * 1000,
                        "children_cpu_ms": children_cpu_ms() - children,
                        "rss_before": rss,
                        "rss_after": rss_mib(),
                        "peak_rss": peak_rss_mib(),
                        "load": load(),
                    }
                )

        story.compute = timed_compute

    def wait_first(self, timeout: float) -> dict:
        """The first story of the nation (the measured screen's scope), waited for."""
        deadline = time.monotonic() + timeout
        while self.story.get(None)[1] is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no wall story after {timeout:.0f} s")
            time.sleep(0.2)
        return self.runs[0]


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the serving process --------------------------------------------------------------------------------------------
def new_messages(count: int, tag: str, now: pd.Timestamp, rng) -> pd.DataFrame:
    from queries import provinces

    codes = np.array(provinces.codes())
    return pd.DataFrame(
        {
            "message_id": [f"bench-{tag}-{i}" for i in range(count)],
            "created_at": [now - pd.Timedelta(seconds=int(s)) for s in rng.integers(1, 600, count)],
            "province": codes[rng.integers(0, len(codes), count)].astype("int32"),
            "city": "郑州市",
            "district": None,
            "addressee": None,
            "category": rng.choice(["城建", "交通", "教育", "医疗", "环保"], count),
            "msg_type": rng.choice(["投诉/求助", "咨询", "建言"], count),
            "title": "小区道路破损请求维修",
            "is_urgent": rng.random(count) < 0.05,
            "source_status": None,
        }
    )


def measure(path: Path, repeat: int, out: Path, story_timeout: float = 1800.0, with_indexer: bool = False) -> None:
    from waitress.server import create_server
    from wall_refresh import Screen

    from dashboard.server import build_app
    from dashboard.wall import layout
    from dashboard.wall.callbacks import build_view
    from insight.index import Indexer
    from insight.words_store import MESSAGE_WORDS
    from queries.db import Store
    from queries.periods import Filters, beijing_now, preset
    from queries.service import Metrics
    from queries.writes import upsert
    from settings import Settings
    from supervision.boilerplate import BOILERPLATE
    from supervision.features import REPLY_FEATURES
    from supervision.league_facts import LEAGUE_FACTS

    result: dict = {"load_start": load()}
    began = time.perf_counter()
    store = Store(path, Settings.from_env())  # LIUYAN_DUCKDB_MEMORY from --duckdb-memory
    result["open_s"] = time.perf_counter() - began
    result["messages"] = store.scalar("SELECT count(*) FROM messages")
    result["replies"] = store.scalar("SELECT count(*) FROM replies")
    result["db_mib"] = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20
    result["duckdb_memory_limit"] = store.scalar("SELECT current_setting('memory_limit')")
    result["rss_open"] = rss_mib()
    token = "bench-token"
    settings = replace(Settings(), db=str(path), simulate=False, ingest_token=token)
    app = build_app(settings, store)
    # with_indexer: the features stored per record are filled in the background as app.py serve does (the bench's
    # own writes get their words and checks as live writes do; else the story segments the few it reads itself)
    indexer = None
    if with_indexer:
        indexer = Indexer(store, [MESSAGE_WORDS, REPLY_FEATURES, BOILERPLATE, LEAGUE_FACTS], settings).start()
    port = _free_port()
    server = create_server(app.server, host="127.0.0.1", port=port, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    config = layout.kiosk_options(f"?period={PERIOD}", settings)
    rng = np.random.default_rng(11)
    now = pd.Timestamp(beijing_now())
    run = f"{time.time_ns():x}"  # ids unique per run: a re-run writes new records, not updates

    def write(count: int = 3) -> None:
        frame = new_messages(count, f"w{time.time_ns()}", now, rng)
        frame.insert(0, "_row", np.arange(count))
        upsert(store, "messages", frame)

    # -- wall over HTTP
    first, second = Screen(base, app, config), Screen(base, app, config)
    views = app.server.extensions["liuyan"]["wall_views"]
    watch = StoryWatch(views.story) if views.story is not None else None
    cold_ms, cold_bytes, _ = first.tick()  # also starts the story, in the background as on a live wall
    result["cold_tick_ms"] = cold_ms
    result["cold_tick_cpu"] = first.cpu_ms
    result["cold_tick_bytes"] = cold_bytes
    result["rss_cold"] = rss_mib()
    # the ticks are measured with the first story shown and the indexer's first pass over its window done, as on
    # a wall that has run a while
    wall, cpu = time.perf_counter(), time.process_time()
    if watch is not None:
        result["story_first"] = watch.wait_first(story_timeout)
    if indexer is not None and not indexer.idle(story_timeout):
        raise TimeoutError(f"the indexer's first pass took over {story_timeout:.0f} s")
    result["settle"] = {
        "ms": (time.perf_counter() - wall) * 1000,
        "cpu_ms": (time.process_time() - cpu) * 1000,
        "indexed": indexer.indexed if indexer is not None else 0,
        "rss": rss_mib(),
        "peak_rss": peak_rss_mib(),
        "load": load(),
    }
    first.tick()
    second.tick()
    # The second ask for a long period sorts its whole first-reply delays once (the median window of
    # queries/metrics.py, kept while no earlier day changes): once per period and day in a running
    # server, reported on its own line rather than inside the steady-state misses.
    write()
    result["window_tick_ms"] = first.tick()[0]
    second.tick()
    miss, miss_cpu, hit, unchanged, patch_bytes = [], [], [], [], []
    for _ in range(repeat):
        write()
        ms, size, status = first.tick()
        miss.append(ms)
        miss_cpu.append(first.cpu_ms)
        patch_bytes.append(size)
        hit.append(second.tick()[0])
        ms, _, status = first.tick()
        unchanged.append(ms)
    result["http_miss"], result["http_hit"], result["http_unchanged"] = stats(miss), stats(hit), stats(unchanged)
    result["http_miss_cpu"] = stats(miss_cpu)
    result["patch_bytes"] = statistics.median(patch_bytes)
    result["rss_wall"] = rss_mib()

    # -- the same miss in-process: metrics, figures
    today = beijing_now().date()
    f, today_f = Filters(*preset(PERIOD, today)), Filters(today, today)

    def metrics_only(m: Metrics) -> None:
        m.summary(f), m.summary(today_f), m.by_province(f), m.by_category(f), m.by_type(f)
        m.trend(Filters(*preset("last30", today)), "day"), m.trend(Filters(*preset("last12m", today)), "month")
        m.latest_messages(f, 24), m.latest_replies(f, 24)

    views, views_cpu, metric_ms, metric_cpu = [], [], [], []
    for _ in range(repeat):
        write()
        w, c, _ = timed(
            lambda: build_view(
                Metrics(store), period=PERIOD, lang="zh", metric=METRIC, today=today, geojson_url="/geo.json"
            )
        )
        views.append(w)
        views_cpu.append(c)
        write()
        w, c, _ = timed(lambda: metrics_only(Metrics(store)))
        metric_ms.append(w)
        metric_cpu.append(c)
    result["view_miss"], result["view_miss_cpu"] = stats(views), stats(views_cpu)
    result["view_metrics"], result["view_metrics_cpu"] = stats(metric_ms), stats(metric_cpu)

    # -- API endpoints
    api: dict = {}
    for _ in range(repeat):
        write()
        for endpoint, query in ENDPOINTS:
            url = f"{base}/api/v1/{endpoint}" + (f"?{urllib.parse.quote(query, safe='=&')}" if query else "")
            name = endpoint + (f"?{query}" if query else "")
            for kind in ("miss", "hit"):
                w, c, _ = timed(lambda url=url: urllib.request.urlopen(url, timeout=300).read())
                api.setdefault(name, {}).setdefault(kind, []).append(w)
                api[name].setdefault(kind + "_cpu", []).append(c)
    result["api"] = {name: {kind: stats(v) for kind, v in kinds.items()} for name, kinds in api.items()}

    # -- writes of 1,000 records
    # first replies to unanswered messages of the last 60 days (not the bench's own: a live reply
    # answers the platform's messages), newest first; topped up with messages of two days ago
    # (written before the clock starts) where a re-run has answered them all
    wanted = 1000 * 2 * repeat
    targets = store.df(
        "SELECT message_id, created_at FROM messages WHERE first_reply_at IS NULL "
        "AND created_at >= $since AND message_id NOT LIKE 'bench-%' "
        "ORDER BY created_at DESC LIMIT $n",
        {"since": (now - pd.Timedelta(days=60)).to_pydatetime(), "n": wanted},
    )
    if len(targets) < wanted:
        extra = new_messages(wanted - len(targets), f"t{run}", now - pd.Timedelta(days=2), rng)
        extra.insert(0, "_row", np.arange(len(extra)))
        upsert(store, "messages", extra)
        targets = pd.concat([targets, extra[["message_id", "created_at"]]], ignore_index=True)
    writes: dict = {}
    for i in range(repeat):
        frame = new_messages(1000, f"b{run}-{i}", now, rng)
        frame.insert(0, "_row", np.arange(1000))
        writes.setdefault("messages", []).append(timed(lambda frame=frame: upsert(store, "messages", frame))[:2])
        chunk = targets.iloc[i * 1000 : (i + 1) * 1000]
        if len(chunk) == 1000:
            replies = pd.DataFrame(
                {
                    "_row": np.arange(1000),
                    "reply_id": [f"bench-r{run}-{i}-{j}" for j in range(1000)],
                    "message_id": chunk["message_id"].to_numpy(),
                    "replied_at": np.maximum(
                        chunk["created_at"].to_numpy(), (now - pd.Timedelta(seconds=5)).to_numpy()
                    ),
                    "unit": "某市住建局",
                }
            )
            writes.setdefault("replies", []).append(timed(lambda r=replies: upsert(store, "replies", r))[:2])
    for i in range(repeat):
        rows = [
            {
                "message_id": f"bench-api{run}-{i}-{j}",
                "created_at": (now - pd.Timedelta(seconds=j)).isoformat(sep=" "),
                "province": "河南",
                "city": "郑州市",
                "category": "城建",
                "msg_type": "咨询",
                "title": "路灯不亮",
                "is_urgent": False,
            }
            for j in range(1000)
        ]
        body = json.dumps(rows, ensure_ascii=False).encode()
        request = urllib.request.Request(
            f"{base}/api/v1/ingest/messages",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        w, c, response = timed(lambda request=request: json.loads(urllib.request.urlopen(request, timeout=300).read()))
        assert response["written"] == 1000, response
        writes.setdefault("messages via write API", []).append((w, c))
        chunk = targets.iloc[(repeat + i) * 1000 : (repeat + i + 1) * 1000]
        if len(chunk) == 1000:
            rows = [
                {
                    "reply_id": f"bench-api-r{run}-{i}-{j}",
                    "message_id": m,
                    "replied_at": max(pd.Timestamp(c_at), now - pd.Timedelta(seconds=5)).isoformat(sep=" "),
                    "unit": "某市住建局",
                }
                for j, (m, c_at) in enumerate(zip(chunk["message_id"], chunk["created_at"], strict=True))
            ]
            body = json.dumps(rows, ensure_ascii=False).encode()
            request = urllib.request.Request(
                f"{base}/api/v1/ingest/replies",
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            )
            w, c, response = timed(
                lambda request=request: json.loads(urllib.request.urlopen(request, timeout=300).read())
            )
            writes.setdefault("replies via write API", []).append((w, c))
    result["writes"] = {
        k: {"wall": stats([w for w, _ in v]), "cpu": stats([c for _, c in v])} for k, v in writes.items()
    }
    result["rss_end"] = rss_mib()
    result["peak_rss"] = peak_rss_mib()
    result["story_runs"] = watch.runs if watch is not None else []
    result["load_end"] = load()
    result["indexed"] = indexer.indexed if indexer is not None else 0
    result["with_indexer"] = indexer is not None
    server.close()
    if indexer is not None:
        indexer.close()
    store.close()
    out.write_text(json.dumps(result))


# -- the pandas way -------------------------------------------------------------------------------------------------
class PandasWall:
    """The screen as a typical Dash app computes it: DataFrames in memory, filtered and grouped per tick."""

    def __init__(self, path: Path):
        from queries import provinces
        from queries.db import Store

        store = Store(path)
        self.m = store.df(
            "SELECT message_id, created_at, province, city, category, msg_type, title, is_urgent, "
            "source_status, first_reply_at, first_reply_unit FROM messages"
        )
        self.e = store.df(
            "SELECT e.rated_at, e.verdict, m.province FROM evaluations e JOIN messages m USING (message_id)"
        )
        self.units = store.df("SELECT province, joined_at FROM units")
        self.leaders = store.df("SELECT province, joined_at FROM leaders")
        store.close()
        self.ref = provinces.table()

    def summary(self, start, stop, pstart, pstop) -> dict:
        m, e = self.m, self.e
        created = m[(m["created_at"] >= start) & (m["created_at"] < stop)]
        created_prev = m[(m["created_at"] >= pstart) & (m["created_at"] < pstop)]
        answered = m[(m["first_reply_at"] >= start) & (m["first_reply_at"] < stop)]
        answered_prev = m[(m["first_reply_at"] >= pstart) & (m["first_reply_at"] < pstop)]
        delays = (answered["first_reply_at"] - answered["created_at"]).dt.total_seconds() / 3600
        rated = e[(e["rated_at"] >= start) & (e["rated_at"] < stop) & e["verdict"].notna()]
        joined = {
            name: ((t["joined_at"] >= start) & (t["joined_at"] < stop)).sum()
            for name, t in (("units", self.units), ("leaders", self.leaders))
        }
        people = self.ref["census_2020"].sum()
        return {
            "messages": len(created),
            "replies": len(answered),
            "messages_yoy": len(created) / max(len(created_prev), 1) - 1,
            "replies_yoy": len(answered) / max(len(answered_prev), 1) - 1,
            "reply_ratio": len(answered) / max(len(created), 1),
            "reply_rate": created["first_reply_at"].notna().mean(),
            "median_reply_hours": delays.median(),
            "satisfaction_rate": rated["verdict"].astype(bool).mean(),
            "pending": int((created["first_reply_at"].isna() & created["source_status"].ne("办理中")).sum()),
            "new_units": int(joined["units"]),
            "new_leaders": int(joined["leaders"]),
            "messages_per_10k": len(created) * 10_000 / people,
        }

    def breakdown(self, key, start, stop, pstart, pstop) -> pd.DataFrame:
        m = self.m
        created = m[(m["created_at"] >= start) & (m["created_at"] < stop)].groupby(key).size()
        prev = m[(m["created_at"] >= pstart) & (m["created_at"] < pstop)].groupby(key).size()
        answered = m[(m["first_reply_at"] >= start) & (m["first_reply_at"] < stop)].groupby(key).size()
        frame = pd.DataFrame({"messages": created, "messages_prev": prev, "replies": answered}).fillna(0)
        return frame.astype("int64").rename_axis(key).reset_index()

    def by_province(self, start, stop, pstart, pstop) -> pd.DataFrame:
        frame = (
            self.ref.rename(columns={"name_short": "name"})
            .merge(
                self.breakdown("province", start, stop, pstart, pstop).rename(columns={"province": "adcode"}),
                on="adcode",
                how="left",
            )
            .fillna({"messages": 0, "replies": 0})
        )
        frame["messages_per_10k"] = frame["messages"] * 10_000 / frame["census_2020"]
        frame["replies_per_10k"] = frame["replies"] * 10_000 / frame["census_2020"]
        frame["reply_ratio"] = frame["replies"] / frame["messages"].where(frame["messages"] > 0)
        for metric in ("messages_per_10k", "replies_per_10k", "reply_ratio"):
            frame[f"rank_{metric}"] = frame[metric].rank(ascending=False, method="first")
        return frame

    def trend(self, start, stop, freq: str) -> pd.DataFrame:
        m = self.m
        out = {}
        for name, column, lo, hi in (
            ("messages", "created_at", start, stop),
            ("replies", "first_reply_at", start, stop),
            ("messages_prev", "created_at", start - pd.DateOffset(years=1), stop - pd.DateOffset(years=1)),
            ("replies_prev", "first_reply_at", start - pd.DateOffset(years=1), stop - pd.DateOffset(years=1)),
        ):
            rows = m.loc[(m[column] >= lo) & (m[column] < hi), column]
            if name.endswith("_prev"):
                rows = rows + pd.DateOffset(years=1)
            out[name] = rows.dt.to_period(freq).value_counts()
        frame = pd.DataFrame(out).fillna(0).astype("int64").sort_index()
        frame.index = frame.index.to_timestamp().strftime("%Y-%m-%d")
        return frame.rename_axis("bucket").reset_index()

    def view(self, today: dt.date) -> dict:
        import plotly.graph_objects as go

        from dashboard import figures
        from dashboard.theme import WALL as THEME
        from dashboard.wall.callbacks import feed_items

        def _figure_json(spec: dict) -> dict:
            return json.loads(go.Figure(spec).to_json())

        from queries import provinces
        from queries.periods import Filters, preset

        f = Filters(*preset(PERIOD, today))
        ts = [
            pd.Timestamp(d)
            for d in (f.start, f.end + dt.timedelta(days=1), f.previous.start, f.previous.end + dt.timedelta(days=1))
        ]
        summary = self.summary(*ts)
        day = pd.Timestamp(today)
        today_summary = self.summary(
            day,
            day + pd.Timedelta(days=1),
            day - pd.DateOffset(years=1),
            day - pd.DateOffset(years=1) + pd.Timedelta(days=1),
        )
        prov = self.by_province(*ts)
        cats = self.breakdown("category", *ts)
        types = self.breakdown("msg_type", *ts)
        t30 = self.trend(day - pd.Timedelta(days=29), day + pd.Timedelta(days=1), "D")
        first = (day - pd.DateOffset(years=1)).replace(day=1) + pd.DateOffset(months=1)
        t12 = self.trend(first, day + pd.Timedelta(days=1), "M")
        names = provinces.names()
        latest = self.m.nlargest(24, "created_at").assign(province_name=lambda x: x["province"].map(names))
        replied = (
            self.m.nlargest(24, "first_reply_at")
            .rename(columns={"first_reply_at": "replied_at"})
            .assign(province_name=lambda x: x["province"].map(names))
        )
        return {
            "kpi": {k: summary[k] for k in summary} | {f"today_{k}": today_summary[k] for k in today_summary},
            "feed": feed_items(latest, replied, "zh", today),
            "map": _figure_json(figures.china_map(prov, METRIC, THEME, "zh", "/geo.json", subtitle="")),
            "ranking": _figure_json(figures.ranking(prov, METRIC, THEME, "zh")),
            "trend_day": _figure_json(figures.trend(t30, THEME, "zh")),
            "trend_month": _figure_json(figures.trend(t12, THEME, "zh", "month")),
            "categories": _figure_json(figures.categories(cats, THEME, "zh")),
            "types": _figure_json(figures.types(types, THEME, "zh")),
        }


def pandas_baseline(path: Path, repeat: int, out: Path) -> None:
    from queries.periods import beijing_now

    result: dict = {"load_start": load()}
    wall, cpu, wall_app = timed(lambda: PandasWall(path))
    result["load_s"] = wall / 1000
    result["rss_loaded"] = rss_mib()
    today = beijing_now().date()
    wall_app.view(today)
    ticks, ticks_cpu = [], []
    for _ in range(repeat):
        w, c, _ = timed(lambda: wall_app.view(today))
        ticks.append(w)
        ticks_cpu.append(c)
    result["tick"], result["tick_cpu"] = stats(ticks), stats(ticks_cpu)
    result["peak_rss"] = peak_rss_mib()
    result["load_end"] = load()
    out.write_text(json.dumps(result))


# -- driver ---------------------------------------------------------------------------------------------------------
def _child(args: list[str], env: dict | None = None) -> None:
    subprocess.run([sys.executable, __file__, *args], check=True, env=env)


def _fmt(s: dict | None, key: str = "median") -> str:
    return "—" if not s or not s.get("n") else f"{s[key]:,.1f}"


def report(size: str, m: dict, p: dict | None) -> None:
    print(
        f"\n=== {size}: {m['messages']:,} messages, {m['replies']:,} replies; database {m['db_mib']:,.0f} MiB; "
        f"DuckDB memory_limit {m['duckdb_memory_limit']}"
    )
    print(f"load average (1/5/15 min) at start {m['load_start']}, at end {m['load_end']}; 2 cores")
    print(f"{'measure':<58}{'min':>9}{'median':>9}{'p95':>9}{'cpu med':>9}")
    rows = [
        ("wall refresh, HTTP callback, cache miss (after a write)", m["http_miss"], m.get("http_miss_cpu")),
        ("wall refresh, HTTP callback, cache hit (view cached)", m["http_hit"], None),
        ("wall refresh, HTTP callback, nothing changed (204)", m["http_unchanged"], None),
        ("wall refresh in-process, miss (build_view)", m["view_miss"], m["view_miss_cpu"]),
        ("  of which the 9 metric calls", m["view_metrics"], m["view_metrics_cpu"]),
    ]
    if p:
        rows.append(("same tick the pandas way (DataFrames in memory)", p["tick"], p["tick_cpu"]))
    for name, s, c in rows:
        print(f"{name:<58}{_fmt(s, 'min'):>9}{_fmt(s):>9}{_fmt(s, 'p95'):>9}{_fmt(c):>9}")
    print(
        f"{'  first tick after opening (nothing cached)':<58}{'':>9}{m['cold_tick_ms']:>9,.1f}{'':>9}"
        f"{m.get('cold_tick_cpu', float('nan')):>9,.1f}"
    )
    print(f"{'  next miss (median windows sorted, once per period/day)':<58}{'':>9}{m['window_tick_ms']:>9,.1f}")
    if p:
        print(
            f"ratio pandas / build_view (median wall ms): {p['tick']['median'] / m['view_miss']['median']:.1f}x; "
            f"by CPU ms: {p['tick_cpu']['median'] / m['view_miss_cpu']['median']:.1f}x "
            f"(pandas: load {p['load_s']:.0f} s, peak RSS {p['peak_rss']:,.0f} MiB)"
        )
    else:
        print("pandas approach: skipped at this size (--pandas-max)")
    print(f"bytes per miss tick (Patch): median {m['patch_bytes']:,.0f}; cold first tick {m['cold_tick_bytes']:,}")
    print(
        f"\n{'API endpoint (period: this year)':<46}{'miss med':>9}{'miss p95':>9}{'cpu med':>9}"
        f"{'hit med':>9}{'hit p95':>9}"
    )
    for name, kinds in m["api"].items():
        print(
            f"{name:<46}{_fmt(kinds['miss']):>9}{_fmt(kinds['miss'], 'p95'):>9}{_fmt(kinds.get('miss_cpu')):>9}"
            f"{_fmt(kinds['hit']):>9}{_fmt(kinds['hit'], 'p95'):>9}"
        )
    print(
        f"\n{'write of 1,000 records (rollups included)':<46}{'median ms':>10}{'p95 ms':>9}{'cpu med':>9}"
        f"{'records/s':>11}"
    )
    for name, s in m["writes"].items():
        print(
            f"{name:<46}{_fmt(s['wall']):>10}{_fmt(s['wall'], 'p95'):>9}{_fmt(s['cpu']):>9}"
            f"{1000 / s['wall']['median'] * 1000:>11,.0f}"
        )
    _report_story(m)
    print(
        f"\nRSS of the serving process: after open {m['rss_open']:,.0f} MiB, "
        f"after the wall {m['rss_wall']:,.0f} MiB, "
        f"at the end {m['rss_end']:,.0f} MiB, peak {m['peak_rss']:,.0f} MiB (opening took {m['open_s']:.1f} s)"
    )


def _report_story(m: dict) -> None:
    first = m.get("story_first")
    if not first:
        return
    print(
        f"\nwall story (hot issues {ISSUE_DAYS} d, surges {ALERT_DAYS} d, league {UNIT_DAYS} d), first: "
        f"{first['ms']:,.0f} ms, CPU {first['process_cpu_ms']:,.0f} ms in the process (its thread "
        f"{first['cpu_ms']:,.0f} ms; the cold tick ran beside it), children {first['children_cpu_ms']:,.0f} ms; "
        f"RSS {first['rss_before']:,.0f} -> {first['rss_after']:,.0f} MiB, peak so far {first['peak_rss']:,.0f} MiB; "
        f"load {first['load']}"
    )
    settle = m["settle"]
    print(
        f"waited after the cold tick for the first story{' and the indexer' if m['with_indexer'] else ''}: "
        f"{settle['ms']:,.0f} ms, CPU {settle['cpu_ms']:,.0f} ms in the process; RSS then {settle['rss']:,.0f} MiB, "
        f"peak {settle['peak_rss']:,.0f} MiB; load {settle['load']}"
        + (f"; records indexed: {settle['indexed']:,}, by the end {m['indexed']:,}" if m["with_indexer"] else "")
    )
    for run in m["story_runs"][1:]:
        print(
            f"  again during the measures: {run['ms']:,.0f} ms, CPU {run['process_cpu_ms']:,.0f} ms in the process "
            f"(its thread {run['cpu_ms']:,.0f} ms), RSS {run['rss_before']:,.0f} -> {run['rss_after']:,.0f} MiB; "
            f"load {run['load']}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5m,50m", help="comma-separated sizes, e.g. 5m,50m or 1m")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--duckdb-memory", default="", help="DuckDB memory limit of the serving process (e.g. 1GB)")
    parser.add_argument("--pandas-max", default="10m", help="largest size at which the pandas approach runs")
    parser.add_argument("--base", type=Path, help="the demo the databases are copied from (bench/scale_build.py)")
    parser.add_argument(
        "--story-timeout", type=float, default=1800.0, help="seconds to wait for the wall's first story"
    )
    parser.add_argument(
        "--indexer",
        action="store_true",
        help="run the background indexer as app.py serve does, and measure after its first pass over its window "
        "(at 50 M this pass reads 400 days of texts: tens of minutes)",
    )
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--pandas", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.repeat, args.out, args.story_timeout, args.indexer)
        return 0
    if args.pandas:
        pandas_baseline(args.pandas, args.repeat, args.out)
        return 0
    env = dict(os.environ)
    if args.duckdb_memory:
        env["LIUYAN_DUCKDB_MEMORY"] = args.duckdb_memory
    for text in args.sizes.split(","):
        size = parse_size(text)
        name = label(size)
        base = ["--base", str(args.base)] if args.base else []
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "scale_build.py"), name, "--dir", str(args.dir), *base], check=True
        )
        path = built_path(size, args.dir, args.base)
        measured, baseline = args.dir / f"measure-{path.stem}.json", args.dir / f"pandas-{path.stem}.json"
        timeout = ["--story-timeout", str(args.story_timeout), *(["--indexer"] if args.indexer else [])]
        _child(["--measure", str(path), "--repeat", str(args.repeat), "--out", str(measured), *timeout], env)
        pandas_result = None
        if size <= parse_size(args.pandas_max):
            _child(["--pandas", str(path), "--repeat", str(max(3, args.repeat // 3)), "--out", str(baseline)])
            pandas_result = json.loads(baseline.read_text())
        report(name, json.loads(measured.read_text()), pandas_result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
