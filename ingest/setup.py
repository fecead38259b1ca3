"""Create or open the database: the demo on first start, or an empty one on request."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

from queries.db import Store
from queries.periods import beijing_now
from settings import Settings

# A week's briefing is of the last complete week: it starts within the last WEEK_DAYS days.
WEEK_DAYS = 14


def _remove(path: Path) -> None:
    for suffix in ("", ".wal"):
        target = path.with_name(path.name + suffix)
        if target.exists():
            target.unlink()


def create_demo(settings: Settings, path: Path, now: dt.datetime | None = None) -> Store:
    """Generate the demo into a temporary file, then move it in place (no half-made database)."""
    from ingest.demo import generate

    tmp = path.with_name(path.name + ".tmp")
    _remove(tmp)
    began = time.perf_counter()
    store = Store(tmp, settings)
    counts = generate(
        store,
        seed=settings.seed,
        start=dt.date.fromisoformat(settings.demo_start),
        now=now or beijing_now(),
        progress=sys.stderr.isatty(),
    )
    store.cursor().execute("CHECKPOINT")
    store.close()
    tmp.replace(path)
    print(
        f"demo data generated in {time.perf_counter() - began:.1f} s: "
        + ", ".join(f"{v:,} {k}" for k, v in counts.items() if isinstance(v, int)),
        file=sys.stderr,
    )
    return Store(path, settings)


def index_newest(store: Store, now: dt.datetime) -> int:
    """Store the features the newest briefings read (words of their week and the REFERENCE_DAYS before it, reply
    checks of the units' window and its boilerplate lookback, computed on every core; the league's facts), so that
    a fresh demo's first briefing reads them instead of computing them (the server's indexer fills the rest in the
    background). Returns the words and reply checks stored."""
    from briefing.sections import UNIT_DAYS
    from insight.index import BATCH, batches, fill_many
    from insight.service import REFERENCE_DAYS
    from insight.words_store import MESSAGE_WORDS
    from supervision import boilerplate, league_facts
    from supervision.features import READ_DAYS, REPLY_FEATURES, WORKER_BATCH

    stop = now + dt.timedelta(days=1)  # records may be timed a little after now
    today = dt.datetime.combine(now.date(), dt.time())
    done = 0
    for kind, days, size, read_days in (
        # the week's words and those of the days its hot issues weigh terms by (insight/service.py)
        (MESSAGE_WORDS, WEEK_DAYS + REFERENCE_DAYS, BATCH, READ_DAYS),
        (REPLY_FEATURES, UNIT_DAYS + boilerplate.WINDOW_DAYS + WEEK_DAYS, WORKER_BATCH, READ_DAYS),
    ):
        found = batches(store, kind, today - dt.timedelta(days=days), stop, size, read_days)
        done += fill_many(store, kind, found)[0]
    boilerplate.ensure(store, today - dt.timedelta(days=UNIT_DAYS + WEEK_DAYS), stop)  # the units' boilerplate flags
    league_facts.ensure(store)
    return done


def open_or_create(settings: Settings) -> Store:
    path = Path(settings.db)
    if path.exists():
        return Store(path, settings)
    return create_demo(settings, path)


def init_database(settings: Settings, *, empty: bool, force: bool) -> int:
    path = Path(settings.db)
    if path.exists():
        if not force:
            print(f"error: {path} exists; use --force to replace it", file=sys.stderr)
            return 1
        _remove(path)
    store = Store(path, settings) if empty else create_demo(settings, path)
    store.close()
    print(f"created {'empty' if empty else 'demo'} database {path}", file=sys.stderr)
    return 0
