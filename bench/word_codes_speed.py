"""Speed of saving a batch's words as codes (insight/words_store.py save; prints figures, asserts nothing).

    python bench/word_codes_speed.py --db FILE [--runs 7] [--sizes 100,2000]

FILE is written (a private copy of a demo whose words are stored, e.g. of the 6 M-message one). Each run saves again
the stored words of `size` messages read from the file (their words known: the codes are looked up) plus one new word
per ten messages (numbered: the codes of new words are added), as the indexer and a live write do. Prints per size the
save's wall and CPU milliseconds (median, min, max; the first save apart: it may read the vocabulary), the distinct
terms per batch, the vocabulary's size and the machine load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from insight import words_store  # noqa: E402
from queries.db import Store  # noqa: E402


def batch(store: Store, size: int, offset: int, tag: str) -> pd.DataFrame:
    """The stored words of `size` messages (as text), one new word added to every tenth."""
    rows = store.df(
        "WITH m AS (SELECT message_id, text_hash, words, places FROM message_words ORDER BY message_id "
        "LIMIT $n OFFSET $o) "
        "SELECT message_id, any_value(text_hash) AS text_hash, "
        "coalesce(list(v.word ORDER BY k) FILTER (WHERE NOT place), []) AS words, "
        "coalesce(list(v.word ORDER BY k) FILTER (WHERE place), []) AS places "
        "FROM (SELECT message_id, text_hash, false AS place, unnest(words) AS id, unnest(range(len(words))) AS k "
        "FROM m "
        "UNION ALL SELECT message_id, text_hash, true, unnest(places), unnest(range(len(places))) FROM m) "
        "JOIN word_vocab v USING (id) GROUP BY message_id",
        {"n": size, "o": offset},
    )
    rows["words"] = [[w for w in ws if not w.startswith("新词")] for ws in rows["words"]]  # an earlier run's
    rows["places"] = [list(p) for p in rows["places"]]
    for k in range(0, len(rows), 10):
        rows.at[k, "words"] = [*rows.at[k, "words"], f"新词{tag}{k}"]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sizes", default="100,2000")
    args = parser.parse_args()
    store = Store(args.db)
    try:
        print(f"vocabulary {store.scalar('SELECT count(*) FROM word_vocab'):,} words; load {_load()}")
        offset = 0
        for size in [int(s) for s in args.sizes.split(",")]:
            walls, cpus, terms = [], [], []
            for _ in range(args.runs + 1):
                frame = batch(store, size, offset, uuid.uuid4().hex[:8])
                offset += size
                terms.append(len(set().union(*frame["words"], *frame["places"])))
                t0, c0 = time.perf_counter(), time.process_time()
                words_store.save(store, frame)
                walls.append((time.perf_counter() - t0) * 1e3)
                cpus.append((time.process_time() - c0) * 1e3)
            print(
                f"{size} messages ({statistics.median(terms):.0f} distinct terms): first save {walls[0]:.1f} ms "
                f"({cpus[0]:.1f} CPU); then wall {_spread(walls[1:])}, CPU {_spread(cpus[1:])}; load {_load()}"
            )
    finally:
        store.close()


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ms (min {min(values):.1f}, max {max(values):.1f})"


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if os.path.exists("/proc/loadavg") else "?"


if __name__ == "__main__":
    main()
