"""Import throughput: 1,000,000 synthetic messages as Parquet, CSV and JSON Lines into fresh databases, then
their replies (Parquet) into the database that holds them.

    python bench/import_speed.py [--rows N] [--profile] [--formats parquet,csv,jsonl] [--runs N] [--statements]

Prints rows/s per format (target: >= 300,000 messages/s, and replies) and where the time
went: read, validate, write (`queries.writes.upsert`) and rollups (the days the import
changed, rebuilt once at its end), with the process CPU seconds (steadier than wall time
on a shared machine). `--statements`: the replies import reads and validates in its writing thread (no overlap)
and prints the process CPU seconds of each SQL statement, so the CPU splits into statements, validation and the
rest. The
synthetic rows look like real ones: ISO timestamps in time order (some with
offsets), province names in mixed forms, Chinese text.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import importer  # noqa: E402
from ingest.importer import import_files  # noqa: E402
from queries import provinces  # noqa: E402
from queries.db import Store  # noqa: E402

FORMATS = ("parquet", "csv", "jsonl")


def synthetic_messages(rows: int, seed: int = 7, with_text: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    table = provinces.table()
    pick = rng.integers(0, len(table), rows)
    forms = rng.integers(0, 4, rows)
    names = np.select(
        [forms == 0, forms == 1, forms == 2],
        [
            table["adcode"].astype(str).to_numpy()[pick],
            table["name_short"].to_numpy()[pick],
            table["name_full"].to_numpy()[pick],
        ],
        table["name_en"].to_numpy()[pick],
    )
    start = np.datetime64("2019-01-01T00:00:00")
    # Exports come in time order: ids and times ascend together (each chunk touches a few weeks).
    created = start + np.sort(rng.integers(0, 3 * 365 * 86400, rows)).astype("timedelta64[s]")
    stamps = pd.Series(created).dt.strftime("%Y-%m-%d %H:%M:%S")
    stamps = stamps.where(rng.random(rows) > 0.1, stamps + "+08:00")
    categories = np.array(["城建", "交通", "教育", "医疗", "环保", "三农", "", "治安"])
    types = np.array(["投诉/求助", "咨询", "建言", "感谢", ""])
    frame = pd.DataFrame(
        {
            "message_id": pd.Series(np.arange(rows)).map("M{:08d}".format),
            "created_at": stamps,
            "province": names,
            "city": "某市",
            "district": "某区",
            "addressee": "某市委书记",
            "category": categories[rng.integers(0, len(categories), rows)],
            "msg_type": types[rng.integers(0, len(types), rows)],
            "title": pd.Series(rng.integers(0, 50_000, rows)).map("关于小区{}号楼供暖问题的反映".format),
            "is_urgent": np.where(rng.random(rows) < 0.05, "是", "否"),
            "status": np.array(["待回复", "办理中", "已办理", ""])[rng.integers(0, 4, rows)],
        }
    )
    if with_text:  # bodies of 100-400 characters, likes, a location (the text tables are written too)
        pieces = np.array(
            [
                "我家住在幸福里小区{}号楼，",
                "自今年三月以来小区一直停水停电，",
                "多次联系物业和社区均没有结果，",
                "希望有关部门尽快协调解决，",
                "附近道路施工已经持续了{}个月，噪音很大，",
                "孩子上学每天要绕行很远的路，",
                "恳请领导重视，谢谢！",
            ]
        )
        parts = rng.integers(0, len(pieces), (rows, 8))
        numbers = rng.integers(1, 40, rows).astype(str)
        body = pd.Series(pieces[parts[:, 0]]).str.cat([pd.Series(pieces[parts[:, i]]) for i in range(1, 8)])
        frame["content"] = body.str.replace("{}", "", regex=False) + numbers
        frame["likes"] = rng.poisson(0.5, rows)
        frame["location"] = pd.Series(rng.integers(1, 500, rows)).map("幸福里小区{}号楼".format)
    return frame


def synthetic_replies(messages: pd.DataFrame, seed: int = 8) -> pd.DataFrame:
    """Replies to 88 % of the messages (a sixth of them twice), after lognormal delays, in time order."""
    rng = np.random.default_rng(seed)
    created = pd.to_datetime(messages["created_at"].str.slice(0, 19)).to_numpy()
    answered = np.flatnonzero(rng.random(len(messages)) < 0.88)
    answered = np.concatenate([answered, answered[rng.random(len(answered)) < 1 / 6]])
    delay = (rng.lognormal(np.log(48 * 3600), 1.2, len(answered))).astype("int64").astype("timedelta64[s]")
    replied = created[answered] + delay
    order = np.argsort(replied, kind="stable")
    return pd.DataFrame(
        {
            "reply_id": pd.Series(np.arange(len(answered))).map("R{:08d}".format),
            "message_id": messages["message_id"].to_numpy()[answered][order],
            "replied_at": pd.Series(replied[order]).dt.strftime("%Y-%m-%d %H:%M:%S"),
            "unit": "某市住房和城乡建设局",
        }
    )


class _TimedCursor:
    """A cursor whose statements' process CPU and wall seconds are summed per statement text (`costs`)."""

    def __init__(self, cursor, costs: dict):
        self._cursor, self._costs = cursor, costs

    def execute(self, sql, params=None):
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            return self._cursor.execute(sql) if params is None else self._cursor.execute(sql, params)
        finally:
            cost = self._costs[" ".join(sql.split())[:90]]
            cost[0] += 1
            cost[1] += time.process_time() - cpu
            cost[2] += time.perf_counter() - wall

    def __getattr__(self, name):
        return getattr(self._cursor, name)


def _validated_inline(kind, path, chunk_rows, timings, local=True, latest=None):
    """importer._validated without its reader thread: every CPU second of the import is the writing thread's or
    DuckDB's, so a statement's process CPU is its own."""
    for chunk in importer._quick_start(importer.read_chunks(path, chunk_rows)):
        started = time.process_time()
        accepted, rejections = importer.validate(kind, chunk.frame, latest=latest)
        timings["validate"] += time.process_time() - started
        yield chunk, accepted, rejections, importer.prepare(kind, accepted) if local else None


def run_replies(path: Path, db: Path, statements: bool = False) -> float:
    """Import the replies into the database that holds their messages."""
    store = Store(db)
    costs: dict = defaultdict(lambda: [0, 0.0, 0.0])
    if statements:
        timed = _TimedCursor(store.cursor(), costs)
        store.cursor = lambda: timed
        inline, importer._validated = importer._validated, _validated_inline
    started, cpu = time.perf_counter(), time.process_time()
    try:
        report = import_files(store, "replies", [path], progress=sys.stderr.isatty())
    finally:
        if statements:
            importer._validated = inline
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    store.close()
    assert report.ok, report.rejections[:5]
    rate = report.rows_read / seconds
    stages = ", ".join(f"{stage} {t:.2f} s" for stage, t in report.timings.items())
    print(
        f"replies  {report.rows_read:,} rows (Parquet, messages stored) in {seconds:.2f} s: {rate:,.0f} rows/s "
        f"(cpu {cpu:.2f} s; {stages})"
    )
    if statements:
        spent = sum(c[1] for c in costs.values())
        print(
            f"  statements {spent:.2f} cpu-s, validation {report.timings['validate']:.2f}, the rest (reading, Arrow, "
            f"Python) {cpu - spent - report.timings['validate']:.2f}; the costliest (calls, cpu-s, wall s):"
        )
        for text, (calls, cpu_s, wall) in sorted(costs.items(), key=lambda item: -item[1][1])[:12]:
            print(f"  {calls:4d} {cpu_s:6.2f} {wall:6.2f}  {text}")
    return rate


def run(path: Path, db: Path, profile: bool) -> float:
    store = Store(db)
    profiler = cProfile.Profile() if profile else None
    started, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    report = import_files(store, "messages", [path], progress=sys.stderr.isatty())
    if profiler:
        profiler.disable()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    count = store.scalar("SELECT count(*) FROM messages")
    store.close()
    assert report.ok and count == report.rows_read, (report.rejections[:5], count)
    rate = report.rows_read / seconds
    stages = ", ".join(f"{stage} {t:.2f} s" for stage, t in report.timings.items())
    own = report.timings["read"] + report.timings["validate"]
    print(
        f"{path.suffix[1:]:8} {report.rows_read:,} rows in {seconds:.2f} s: {rate:,.0f} rows/s "
        f"(cpu {cpu:.2f} s; {stages}; read+validate alone {report.rows_read / own:,.0f} rows/s)"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--text", action="store_true", help="rows carry content, likes and location")
    parser.add_argument("--formats", default=",".join(FORMATS), help="message file formats (replies: Parquet)")
    parser.add_argument("--runs", type=int, default=1, help="repeat each import; the spread is printed")
    parser.add_argument("--statements", action="store_true", help="replies: CPU per SQL statement (no read overlap)")
    args = parser.parse_args()
    formats = [f for f in args.formats.split(",") if f in FORMATS]
    rates: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        frame = synthetic_messages(args.rows, with_text=args.text)
        frame.to_parquet(tmp / "messages.parquet", index=False)
        if "csv" in formats:
            frame.to_csv(tmp / "messages.csv", index=False, encoding="utf-8-sig")
        if "jsonl" in formats:
            frame.to_json(tmp / "messages.jsonl", orient="records", lines=True, force_ascii=False)
        synthetic_replies(frame).to_parquet(tmp / "replies.parquet", index=False)
        sizes = ", ".join(f"{ext} {(tmp / f'messages.{ext}').stat().st_size / 1e6:.0f} MB" for ext in formats)
        print(f"synthetic files: {sizes}")
        for _ in range(args.runs):
            print(f"load {Path('/proc/loadavg').read_text().split()[:3]}")
            for ext in formats:
                db = tmp / f"{ext}.duckdb"
                db.unlink(missing_ok=True)
                rates.setdefault(ext, []).append(run(tmp / f"messages.{ext}", db, args.profile))
                if ext == "parquet":
                    rates.setdefault("replies", []).append(run_replies(tmp / "replies.parquet", db, args.statements))
                db.unlink()
    for name, values in rates.items():
        print(f"{name:8} rows/s over {len(values)} runs: min {min(values):,.0f}, max {max(values):,.0f}")
    print(f"load {Path('/proc/loadavg').read_text().split()[:3]}")
    low = min(min(values) for values in rates.values())
    print(f"target 300,000 rows/s: {'met' if low >= 300_000 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
