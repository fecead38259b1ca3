"""Benchmark databases of a given size, built fast and vectorised, cached in a bench directory.

    python bench/scale_build.py 5m 50m [--dir DIR]      # (bench/scale.py calls build())

The default demo history (ingest.demo, ~6 M messages 2019-now) is generated once
(`demo-base.duckdb`). A database of N messages is then made from it in SQL: the
base is attached and copied `k = ceil(N / base)` times with INSERT ... SELECT,
each copy with new ids (M<c>..., R<c>...), provinces rotated by 5 places per
copy and every time shifted back by c x 1237 s, keeping only the newest N / k
messages of each copy (and their replies and evaluations). Rows go in time
order, half a year at a time, so the tables stay in creation order as a live
system keeps them (row groups of other days are pruned). All times are moved by
whole days so that the newest data is "today". Then the rollups are rebuilt
from the raw rows (queries.rollups.rebuild) and the file is checkpointed.

The supervision's stored facts are copied the same way when the base has them (`--base` a demo whose league facts,
reply features and boilerplate flags were filled, e.g. by bench/supervision_speed.py): league_facts,
reply_features, reply_boilerplate and the generic bigrams. A copy's flags are its base rows' flags (the copies'
identical texts are not compared with each other), and its facts keep the base's province: the same units, each
answering nine times as many messages (rotated provinces would pair every unit with nine provinces: ~600,000
league rows instead of the base's ~67,000 units). This is the data the league reads at 50 M, for its timing; its
quality is measured on the demo itself.

The texts are copied too (message_texts, reply_texts, evaluation_comments), with what the background indexer stores
of them: each message's words (message_words, codes of the base's word_vocab) and each checked reply's clauses
(reply_clauses), per copy with the copy's ids, in the order of their records. Where the base indexed fewer days than
the app's indexer keeps (`--words-days`, default its `text_index_days`), the missing words are made by the indexer's
own code for the first copy and given to the others (`fill_words`): the copy is then a running system whose indexer
has kept up, so that the wall's story reads stored words as it would live. Copies of a text lie ~20 minutes apart in
time order, so zstd stores them in less room than distinct texts would take (the file is smaller than a real one).

A 50 M database is thus a platform about nine times as busy as the demo over
the same 7 years (every period holds nine times the rows): the hard case for
the screens, whose periods end today.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from queries import provinces as province_ref  # noqa: E402
from queries import rollups  # noqa: E402
from queries.db import Store  # noqa: E402
from queries.periods import beijing_now  # noqa: E402
from settings import Settings  # noqa: E402

DEFAULT_DIR = Path(os.environ.get("LIUYAN_BENCH_DIR", "/tmp/liuyan-bench"))
SIZES = {"1m": 1_000_000, "5m": 5_000_000, "10m": 10_000_000, "20m": 20_000_000, "50m": 50_000_000, "100m": 100_000_000}
SHIFT_SECONDS = 1237  # copy c is moved back by c x this
PROVINCE_STEP = 5  # copy c's provinces are rotated by c x this in census order


def parse_size(text: str) -> int:
    text = text.strip().lower()
    if text in SIZES:
        return SIZES[text]
    if text.endswith("m"):
        return int(float(text[:-1]) * 1_000_000)
    if text.endswith("k"):
        return int(float(text[:-1]) * 1_000)
    return int(text)


def label(size: int) -> str:
    return f"{size / 1e6:g}m" if size >= 1_000_000 else f"{size // 1000}k"


def _log(message: str) -> None:
    print(f"[build {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def base_demo(directory: Path) -> Path:
    """The default demo history (generated once per bench directory)."""
    path = directory / "demo-base.duckdb"
    if path.exists():
        return path
    from ingest.demo import generate

    directory.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    for stale in directory.glob(tmp.name + "*"):
        stale.unlink()
    now = beijing_now().replace(minute=0, second=0)
    began = time.perf_counter()
    store = Store(tmp)
    counts = generate(store, seed=Settings().seed, start=dt.date(2019, 1, 1), now=now, progress=sys.stderr.isatty())
    store.cursor().execute("CHECKPOINT")
    store.close()
    tmp.rename(path)
    _log(f"demo base generated in {time.perf_counter() - began:.0f} s: {counts}")
    return path


def _half_years(first: dt.date, last: dt.date):
    year, half = first.year, 1 if first.month <= 6 else 2
    while True:
        lo = dt.date(year, 1 if half == 1 else 7, 1)
        if lo > last:
            return
        hi = dt.date(year, 7, 1) if half == 1 else dt.date(year + 1, 1, 1)
        yield dt.datetime.combine(lo, dt.time()), dt.datetime.combine(hi, dt.time())
        year, half = (year, 2) if half == 1 else (year + 1, 1)


def built_path(size: int, directory: Path = DEFAULT_DIR, base: Path | None = None) -> Path:
    """Where `build` keeps the database of `size` messages copied from `base` (default: the generated demo)."""
    return directory / f"scale-{label(size)}{'-' + base.stem if base else ''}.duckdb"


def build(
    size: int,
    directory: Path = DEFAULT_DIR,
    memory_limit: str = "8GB",
    base: Path | None = None,
    shift_days: int | None = None,
    words_days: int = 0,
) -> Path:
    """Path of a database of `size` messages (built if not cached) from `base` (default: the generated demo),
    its times moved by `shift_days` (default: so that its newest day is today), the words of its last `words_days`
    stored where the base had none (`fill_words`)."""
    path = built_path(size, directory, base)
    if path.exists():
        return path
    base = base or base_demo(directory)
    began = time.perf_counter()
    tmp = path.with_suffix(".tmp")
    for stale in directory.glob(tmp.name + "*"):
        stale.unlink()
    store = Store(tmp)
    cur = store.cursor()
    cur.execute(f"SET memory_limit = '{memory_limit}'")
    cur.execute("SET preserve_insertion_order = true")
    cur.execute(f"ATTACH '{base}' AS base (READ_ONLY)")
    base_count = cur.execute("SELECT count(*) FROM base.messages").fetchone()[0]
    demo_until = dt.datetime.fromisoformat(
        cur.execute("SELECT value FROM base.meta WHERE key = 'demo_until'").fetchone()[0]
    )
    copies = max(1, math.ceil(size / base_count))
    per_copy = math.ceil(size / copies)
    # the newest `per_copy` messages of the base (ids ascend with creation time in the demo; others, e.g. a bench's
    # writes into it, are left out)
    cutoff_id = cur.execute(
        "SELECT message_id FROM base.messages WHERE message_id LIKE 'M%' ORDER BY message_id DESC LIMIT 1 OFFSET $n",
        {"n": per_copy - 1},
    ).fetchone()[0]
    days = (beijing_now().date() - demo_until.date()).days if shift_days is None else shift_days
    _log(f"{path.name}: {copies} copies x {per_copy:,} messages of {base.name}, times +{days} days")

    codes = province_ref.codes()
    mapping = [
        (c, codes[i], codes[(i + PROVINCE_STEP * c) % len(codes)]) for c in range(copies) for i in range(len(codes))
    ]
    cur.execute(
        "CREATE TEMP TABLE copies AS SELECT * FROM (VALUES "
        + ", ".join(f"({c}, {a}, {b})" for c, a, b in mapping)
        + ") t(c, province, moved)"
    )
    shift = f"INTERVAL {days} DAY - to_seconds(k.c * {SHIFT_SECONDS})"

    def new_id(column: str, prefix: str) -> str:
        return f"CASE WHEN k.c = 0 THEN {column} ELSE '{prefix}' || k.c || substr({column}, 2) END"

    first = cur.execute(
        "SELECT min(created_at)::DATE FROM base.messages WHERE message_id >= $c", {"c": cutoff_id}
    ).fetchone()[0]
    last = demo_until.date() + dt.timedelta(days=1)
    cur.execute("CREATE TEMP TABLE k AS SELECT DISTINCT c FROM copies")
    cur.execute("INSERT INTO word_vocab SELECT * FROM base.word_vocab")  # the codes of the copied words
    for lo, hi in _half_years(first - dt.timedelta(days=1), last):
        window = {"lo": lo, "hi": hi, "cut": cutoff_id}
        cur.execute(
            f"""
            INSERT INTO messages
            SELECT {new_id("m.message_id", "M")}, m.created_at + {shift}, p.moved, m.city, m.district, m.addressee,
                   m.category, m.msg_type, m.title, m.is_urgent, m.source_status, m.first_reply_at + {shift},
                   m.first_reply_unit, m.reply_count
            FROM base.messages m CROSS JOIN k JOIN copies p ON p.c = k.c AND p.province = m.province
            WHERE m.created_at >= $lo AND m.created_at < $hi AND m.message_id BETWEEN $cut AND 'M~'
            ORDER BY 2""",
            window,
        )
        cur.execute(
            f"""
            INSERT INTO replies
            SELECT {new_id("r.reply_id", "R")}, {new_id("r.message_id", "M")}, r.replied_at + {shift}, r.unit
            FROM base.replies r CROSS JOIN k
            WHERE r.replied_at >= $lo AND r.replied_at < $hi AND r.message_id BETWEEN $cut AND 'M~'
            ORDER BY 3""",
            window,
        )
        cur.execute(
            f"""
            INSERT INTO evaluations
            SELECT {new_id("e.message_id", "M")}, e.rated_at + {shift}, e.satisfied, e.score_resolution,
                   e.score_attitude, e.score_speed, e.verdict
            FROM base.evaluations e CROSS JOIN k
            WHERE e.rated_at >= $lo AND e.rated_at < $hi AND e.message_id BETWEEN $cut AND 'M~'
            ORDER BY 2""",
            window,
        )
        _copy_texts(cur, shift, new_id, window)
        _log(
            f"  {lo:%Y-%m}: {cur.execute('SELECT count(*) FROM messages').fetchone()[0]:,} messages "
            f"({time.perf_counter() - began:.0f} s)"
        )
    _copy_supervision(cur, shift, new_id, cutoff_id)
    _log(f"  supervision facts copied ({time.perf_counter() - began:.0f} s)")
    for table in ("units", "leaders"):
        cur.execute(
            f"INSERT INTO {table} SELECT * REPLACE (joined_at + INTERVAL {days} DAY AS joined_at) FROM base.{table}"
        )
    cur.execute("INSERT OR REPLACE INTO meta VALUES ('bench_copies', $c)", {"c": str(copies)})
    if words_days:
        filled = fill_words(store, words_days)
        _log(f"  words of {filled:,} messages x {copies} copies stored ({time.perf_counter() - began:.0f} s)")
    cur.execute("CHECKPOINT")
    _log(f"raw rows written ({time.perf_counter() - began:.0f} s); rebuilding the rollups")
    with store.write() as wcur:
        rollups.rebuild(wcur)
        for key in ("demo", "demo_seed", "demo_start"):
            value = wcur.execute("SELECT value FROM base.meta WHERE key = $k", {"k": key}).fetchone()
            if value:
                store.set_meta(wcur, key, value[0])
        store.set_meta(wcur, "demo_until", (demo_until + dt.timedelta(days=days)).isoformat())
        store.set_meta(wcur, "imported", "1")  # never simulated in-process: the load test writes itself
    cur.execute("DETACH base")
    cur.execute("CHECKPOINT")
    store.close()
    tmp.rename(path)
    wal = tmp.with_name(tmp.name + ".wal")
    if wal.exists():
        wal.unlink()
    _log(f"{path.name} built in {time.perf_counter() - began:.0f} s")
    return path


def _copy_texts(cur, shift: str, new_id, window: dict) -> None:
    """The texts of the window's records and what the indexer stores of them (the words of each message, the clauses
    of each reply), per copy with the copy's ids, in the order of their records (a live system appends them so)."""
    messages = "JOIN base.messages m USING (message_id) CROSS JOIN k"
    in_window = "m.created_at >= $lo AND m.created_at < $hi AND m.message_id BETWEEN $cut AND 'M~'"
    cur.execute(
        f"""
        INSERT INTO message_texts
        SELECT {new_id("t.message_id", "M")}, t.content, t.location, t.likes
        FROM base.message_texts t {messages}
        WHERE {in_window}
        ORDER BY m.created_at + {shift}""",
        window,
    )
    cur.execute(
        f"""
        INSERT INTO message_words
        SELECT {new_id("w.message_id", "M")}, w.text_hash, w.words, w.places
        FROM base.message_words w {messages}
        WHERE {in_window}
        ORDER BY m.created_at + {shift}""",
        window,
    )
    cur.execute(
        f"""
        INSERT INTO reply_texts
        SELECT {new_id("t.reply_id", "R")}, t.content
        FROM base.reply_texts t JOIN base.replies r USING (reply_id) CROSS JOIN k
        WHERE r.replied_at >= $lo AND r.replied_at < $hi AND r.message_id BETWEEN $cut AND 'M~'
        ORDER BY r.replied_at + {shift}""",
        window,
    )
    cur.execute(
        f"""
        INSERT INTO evaluation_comments
        SELECT {new_id("t.message_id", "M")}, t.comment
        FROM base.evaluation_comments t JOIN base.evaluations e USING (message_id) CROSS JOIN k
        WHERE e.rated_at >= $lo AND e.rated_at < $hi AND e.message_id BETWEEN $cut AND 'M~'
        ORDER BY e.rated_at + {shift}""",
        window,
    )
    cur.execute(  # the clauses of the replies with stored checks (reply_features: copied with the league's facts)
        f"""
        INSERT INTO reply_clauses
        SELECT {new_id("c.reply_id", "R")}, c.replied_at + {shift}, c.problem_key, c.clause_key, c.length, c.addresses
        FROM base.reply_clauses c JOIN base.reply_features f USING (reply_id) CROSS JOIN k
        WHERE c.replied_at >= $lo AND c.replied_at < $hi AND f.message_id BETWEEN $cut AND 'M~'
        ORDER BY 2""",
        window,
    )


def fill_words(store: Store, days: int) -> int:
    """The words of the messages of the last `days` (before the newest) that the base had not indexed, as the app's
    indexer stores them over its window (`text_index_days`): segmented for the first copy (whose ids are the base's)
    by the indexer's own code, then given to every other copy (same texts, the copy's ids). Returns how many
    messages of the first copy got words."""
    from insight import index
    from insight.segment import BODY_CHARS
    from insight.words_store import MESSAGE_WORDS

    cur = store.cursor()
    copies = int(cur.execute("SELECT value FROM meta WHERE key = 'bench_copies'").fetchone()[0])
    newest = cur.execute("SELECT max(created_at) FROM messages").fetchone()[0]
    frame = cur.execute(  # as queries/insight.sql words_missing, for the first copy (its ids start 'M0')
        """
        SELECT m.message_id, hash(m.title, left(t.content, $chars)) AS text_hash, m.title,
               left(t.content, $chars) AS content
        FROM messages m LEFT JOIN message_texts t USING (message_id) ANTI JOIN message_words w USING (message_id)
        WHERE m.message_id LIKE 'M0%' AND m.created_at >= $since
        ORDER BY m.created_at DESC""",
        {"chars": BODY_CHARS, "since": newest - dt.timedelta(days=days)},
    ).df()
    if frame.empty:
        return 0
    index.fill_many(store, MESSAGE_WORDS, index.pieces(frame))
    cur.register("filled", frame[["message_id"]])
    try:
        cur.execute(
            "INSERT INTO message_words SELECT 'M' || c || substr(w.message_id, 2), w.text_hash, w.words, w.places "
            "FROM message_words w JOIN filled USING (message_id) CROSS JOIN range(1, $copies) k(c)",
            {"copies": copies},
        )
    finally:
        cur.unregister("filled")
    cur.execute("CHECKPOINT")
    return len(frame)


def _copy_supervision(cur, shift: str, new_id, cutoff_id: str) -> None:
    """The league's stored facts and the reply checks, per copy (ids, provinces and times as the raw rows)."""
    if not cur.execute("SELECT count(*) FROM base.league_facts").fetchone()[0]:
        return
    cut = {"cut": cutoff_id}
    cur.execute(
        "INSERT INTO league_units SELECT row_number() OVER (ORDER BY unit, province), unit, province "
        "FROM (SELECT DISTINCT unit, province FROM base.league_facts WHERE unit IS NOT NULL)"
    )
    cur.execute(
        f"""
        INSERT INTO league_facts
        SELECT {new_id("f.message_id", "M")}, f.unit, f.province, f.city, f.district, f.category, f.msg_type,
               f.is_urgent, f.first_reply_at + {shift}, f.delay_seconds, f.restated, f.rated_at + {shift}, f.verdict,
               f.first_boilerplate, u.code
        FROM base.league_facts f CROSS JOIN k LEFT JOIN league_units u ON u.unit = f.unit AND u.province = f.province
        WHERE f.message_id BETWEEN $cut AND 'M~'
        ORDER BY 9""",
        cut,
    )
    for table in ("reply_features", "reply_boilerplate"):  # per reply, keyed by reply and message
        cur.execute(
            f"""
            INSERT INTO {table}
            SELECT r.* REPLACE ({new_id("r.reply_id", "R")} AS reply_id, {new_id("r.message_id", "M")} AS message_id,
                              r.replied_at + {shift} AS replied_at)
            FROM base.{table} r CROSS JOIN k
            WHERE r.message_id BETWEEN $cut AND 'M~'
            ORDER BY replied_at""",
            cut,
        )
    cur.execute("INSERT INTO reply_generic_bigrams SELECT * FROM base.reply_generic_bigrams")
    cur.execute(
        "INSERT OR REPLACE INTO meta SELECT * FROM base.meta "
        "WHERE key IN ('reply_reference_sample', 'reply_features_code')"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="+", help="e.g. 5m 50m 12.5m 800k")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--memory-limit", default="8GB", help="DuckDB memory limit while building")
    parser.add_argument("--base", type=Path, help="the demo to copy (default: generate one in --dir)")
    parser.add_argument("--shift-days", type=int, help="move every time by this many days (default: newest = today)")
    parser.add_argument(
        "--words-days",
        type=int,
        default=Settings().text_index_days,
        help="store the words of the messages of this many last days the base has not indexed, as the app's "
        "indexer does (default: its window, text_index_days; 0: none)",
    )
    args = parser.parse_args()
    for size in args.sizes:
        print(build(parse_size(size), args.dir, args.memory_limit, args.base, args.shift_days, args.words_days))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
