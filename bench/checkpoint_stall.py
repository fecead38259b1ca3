"""How often and how long checkpoints stall the writes, DuckDB's own (within the write that passes the threshold)
against the owner's in the pauses of the writes (queries/checkpoints.py), back to back on the same file.

    python bench/checkpoint_stall.py --db COPY.duckdb [--seconds 240] [--gap 1] [--threshold 2MB] [--wal-mb 0.6]

Writes into the database given (use a copy of a 6 M message file: it adds records). A writer thread writes a
batch (10-100 new messages plus a fifth as many replies to random older messages, as one request of the write API)
and then pauses `--gap` seconds (the simulator's rhythm; `--poisson`: pauses drawn at random with that mean), and
a reader thread asks a wall-like question every second (reads are what can make DuckDB refuse a checkpoint).

duckdb  checkpoint_threshold = --threshold: DuckDB checkpoints within the commit that passes it (the old behaviour;
        16MB by default, smaller here for more checkpoints per run). DuckDB compares its own estimate of the WAL:
        at 2MB the WAL file held about 0.6 MiB when it checkpointed
pauses  checkpoint_wal_mb = --wal-mb (the WAL file's size: the same checkpoints' size as the other mode) with the
        Checkpointer, checkpoint_limit 16MB (the new default behaviour)

For each: writes' latency (all, those that overlapped a checkpoint), checkpoints taken, their duration, refusals,
the largest WAL, and the machine's load (2 shared cores: figures vary from run to run).
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from spread import fmt, load  # noqa: E402

from queries.checkpoints import Checkpointer  # noqa: E402
from queries.db import Store  # noqa: E402
from queries.writes import upsert  # noqa: E402
from settings import Settings  # noqa: E402
from tests.conftest import frame, message, reply  # noqa: E402

NOW_DAY = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))


def run(db: Path, mode: str, args) -> None:
    if mode == "duckdb":
        settings = replace(Settings(), checkpoint_limit=args.threshold)
    else:
        settings = replace(Settings(), checkpoint_wal_mb=args.wal_mb, checkpoint_limit="16MB")
    store = Store(db, settings)
    store.checkpoint()  # both runs start from an empty WAL
    spans: list[tuple[float, float]] = []  # the owner's checkpoints
    checkpoint = store.checkpoint

    def timed() -> bool:
        began = time.perf_counter()
        taken = checkpoint()
        if taken:
            spans.append((began, time.perf_counter()))
        return taken

    store.checkpoint = timed
    checkpointer = Checkpointer(store, settings).start() if mode == "pauses" else None
    old_ids = [r[0] for r in store.rows("SELECT message_id FROM messages USING SAMPLE 20000 ROWS")]
    stop = threading.Event()
    writes: list[tuple[float, float, int, int]] = []  # start, duration, WAL before, WAL after
    reads: list[float] = []
    peak = [0]

    def writer() -> None:
        rng = random.Random(7)
        tag = f"ck{mode}{time.time_ns() // 1_000_000}"
        i = 0
        while not stop.is_set():
            n = rng.randint(10, 100)
            rows = frame([message(f"{tag}-{i}-{k}", f"{NOW_DAY} 08:00:00") for k in range(n)])
            answers = frame(
                [reply(f"{tag}-r{i}-{k}", rng.choice(old_ids), f"{NOW_DAY} 09:00:00") for k in range(n // 5)]
            )
            before = store.wal_bytes
            began = time.perf_counter()
            with store.writing():  # one request of the write API
                upsert(store, "messages", rows)
                upsert(store, "replies", answers)
            after = store.wal_bytes
            writes.append((began, time.perf_counter() - began, before, after))
            peak[0] = max(peak[0], before, after)
            i += 1
            stop.wait(rng.expovariate(1 / args.gap) if args.poisson else args.gap)

    def reader() -> None:
        while not stop.wait(1.0):
            began = time.perf_counter()
            store.rows(
                "SELECT province, count(*) FROM messages WHERE created_at >= now()::TIMESTAMP - INTERVAL 30 DAY "
                "GROUP BY ALL"
            )
            reads.append(time.perf_counter() - began)

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    loads = [load()]
    for t in threads:
        t.start()
    time.sleep(args.seconds)
    loads.append(load())
    stop.set()
    for t in threads:
        t.join()
    if checkpointer:
        checkpointer.stop()
    store.close()

    def during(s: float, d: float) -> bool:  # the owner's checkpoint ran while this write waited or ran
        return any(x - d <= s <= y for x, y in spans)

    within = [d for s, d, b, a in writes if a < b and not during(s, d)]  # DuckDB's checkpoint in this write's commit
    overlapped = [d for s, d, b, a in writes if a < b or during(s, d)]
    durations = [y - x for x, y in spans]
    taken = len(within) + len(spans)
    refused = checkpointer.refused if checkpointer else 0
    size = args.threshold if mode == "duckdb" else f"WAL file {args.wal_mb} MiB"
    print(f"[{mode}] {args.seconds} s, checkpoint at {size}, gap {args.gap} s{' (poisson)' if args.poisson else ''}")
    print(f"  load {' -> '.join(loads)}")
    print(f"  writes: {fmt([w[1] for w in writes])}")
    print(f"  writes that waited for a checkpoint: {fmt(overlapped)}")
    clean = [d for s, d, b, a in writes if not (a < b or during(s, d))]
    print(f"  the other writes: {fmt(clean)}")
    print(
        f"  checkpoints: {taken} ({len(within)} within a write, {len(spans)} in a pause: {fmt(durations)}), "
        f"refused {refused}, largest WAL {peak[0] / 2**20:.1f} MiB"
    )
    print(f"  reads: {fmt(reads)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True, help="a copy of a large database (records are added)")
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--gap", type=float, default=1.0, help="pause after each write (mean with --poisson)")
    parser.add_argument("--poisson", action="store_true", help="pauses drawn at random (writes from many sources)")
    parser.add_argument("--threshold", default="2MB", help="duckdb mode: DuckDB's checkpoint_threshold")
    parser.add_argument("--wal-mb", type=float, default=0.6, help="pauses mode: checkpoint_wal_mb")
    parser.add_argument("--modes", default="duckdb,pauses")
    args = parser.parse_args()
    for mode in args.modes.split(","):
        run(args.db, mode, args)


if __name__ == "__main__":
    main()
