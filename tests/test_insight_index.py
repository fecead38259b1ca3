"""The words index (insight/words_store.py) and the background indexer (insight/index.py).

Expected words come from the segmenter's own `words` on the message's text, built here from the fixture rows;
the stored ones must equal them, and a corpus must be the same whether words were stored before or not.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import pandas as pd
import pytest

from insight import corpus, index, words_store
from insight.segment import BODY_CHARS, Segmenter, own_places, place_names
from queries.periods import Filters
from queries.sql import text
from queries.writes import upsert
from settings import Settings
from tests import insight_fixtures as fx
from tests.conftest import frame
from tests.test_insight import MARCH, _row, load_fixtures

START, STOP = dt.datetime(2024, 1, 1), dt.datetime(2024, 5, 1)


@pytest.fixture(scope="module")
def segmenter():
    return Segmenter(place_names(), [])


def _expected(segmenter, title, content, drop=frozenset()):
    return segmenter.words(f"{title or ''}。{(content or '')[:BODY_CHARS]}", drop)


def _texts(store) -> dict[str, tuple[str, str]]:
    rows = store.rows(
        "SELECT m.message_id, m.title, t.content FROM messages m LEFT JOIN message_texts t USING (message_id)"
    )
    return {mid: (title, content) for mid, title, content in rows}


def _stored(store, column: str = "words") -> dict[str, list[str]]:
    """Each message's stored words (or places) as text: its codes looked up in word_vocab, in their order."""
    assert column in ("words", "places")
    rows = store.rows(
        f"SELECT w.message_id, c.pos, v.word FROM message_words w, unnest(w.{column}) WITH ORDINALITY AS c(id, pos) "
        "JOIN word_vocab v ON v.id = c.id"
    )
    ids = [row[0] for row in store.rows("SELECT message_id FROM message_words")]
    out: dict[str, list[str]] = {mid: [] for mid in ids}
    for mid, _, word in sorted(rows):
        out[mid].append(word)
    return out


def _ensure(store, kind, start, stop, compute) -> int:
    """Fill what `kind` lacks in [start, stop) in this process, batch by batch; the number of records computed."""
    done, last = 0, None
    while True:
        frame = kind.missing(store, start, stop, index.BATCH)
        if frame.empty:
            return done
        ids = tuple(frame.iloc[:, 0])
        assert ids != last, "saved but still missing: the kind's save does not match its missing query"
        index.fill(store, kind, frame, compute)
        done, last = done + len(frame), ids


def test_stored_words_are_the_segmenters(store, segmenter):
    load_fixtures(store)
    texts = _texts(store)
    compute = partial(words_store.compute_with, segmenter)
    computed = _ensure(store, words_store.MESSAGE_WORDS, START, STOP, compute)
    assert computed == len(texts)
    stored = _stored(store)
    assert stored.keys() == texts.keys()
    for mid, (title, content) in texts.items():
        assert stored[mid] == _expected(segmenter, title, content), mid
    # the water problem's first message names its community: kept as a named place
    assert "翠竹园小区" in _stored(store, "places")["water-0"]
    # nothing left: a second pass computes nothing
    assert _ensure(store, words_store.MESSAGE_WORDS, START, STOP, partial(words_store.compute_with, segmenter)) == 0


def test_changed_text_is_indexed_again(store, segmenter):
    load_fixtures(store)
    compute = partial(words_store.compute_with, segmenter)
    _ensure(store, words_store.MESSAGE_WORDS, START, STOP, compute)
    before = store.scalar("SELECT text_hash FROM message_words WHERE message_id = 'water-0'")
    assert "停电" not in _stored(store)["water-0"]
    with store.write() as cur:  # a re-import with another body
        cur.execute(
            "UPDATE message_texts SET content = $c WHERE message_id = 'water-0'",
            {"c": "翠竹园小区连续停电两天，冰箱里的东西全坏了"},
        )
    assert _ensure(store, words_store.MESSAGE_WORDS, START, STOP, compute) == 1
    title, content = _texts(store)["water-0"]
    assert _stored(store)["water-0"] == _expected(segmenter, title, content) and "停电" in _stored(store)["water-0"]
    assert store.scalar("SELECT text_hash FROM message_words WHERE message_id = 'water-0'") != before


def test_corpus_same_with_and_without_stored_words(store, segmenter):
    load_fixtures(store)
    assert not store.scalar("SELECT count(*) FROM message_words")
    without = corpus.load(store, lambda: segmenter, MARCH)  # every message segmented here (and saved)
    assert store.scalar("SELECT count(*) FROM message_words") == len(without)
    with_stored = corpus.load(store, lambda: segmenter, MARCH)
    assert with_stored.words == without.words
    for column in ("message_id", "place", "mentions"):
        assert with_stored.frame[column].tolist() == without.frame[column].tolist()
    # and the words are the segmenter's without the message's own place names
    texts = _texts(store)
    full = {fx.HENAN: "河南省", fx.BEIJING: "北京市", fx.SICHUAN: "四川省", fx.GUANGDONG: "广东省"}
    for row, words in zip(with_stored.frame.itertuples(), with_stored.words, strict=True):
        drop = own_places(full[row.province], row.city, row.district)
        assert list(words) == _expected(segmenter, *texts[row.message_id], drop), row.message_id
        assert not set(words) & drop
    water = with_stored.frame.set_index("message_id").loc["water-1"]  # location empty: named in the text
    assert water["place"] == "翠竹园小区"


def test_corpus_after_writes_built_from_the_earlier_one_equals_a_fresh_one(store, segmenter, monkeypatch):
    load_fixtures(store)
    earlier = corpus.load(store, lambda: segmenter, MARCH)
    upsert(store, "messages", frame([_row("may", fx.HENAN, "郑州市", "金水区", "城建", "2024-05-02", "路灯不亮")]))
    assert corpus.load(store, lambda: segmenter, MARCH, previous=earlier) is earlier  # nothing of March changed
    # a new message, a reply to an old one, a re-import with another text and more likes, one moved out of March
    upsert(store, "messages", frame([_row("late", fx.HENAN, "郑州市", "金水区", "城建", "2024-03-20", "路灯不亮")]))
    upsert(
        store,
        "replies",
        frame(
            [dict(reply_id="r-new", message_id="water-3", replied_at=pd.Timestamp("2024-03-09 10:00"), unit="水务局")]
        ),
    )
    with store.write() as cur:
        cur.execute("UPDATE message_texts SET content = '翠竹园小区停电了', likes = 99 WHERE message_id = 'water-0'")
        cur.execute("UPDATE messages SET created_at = '2024-04-02 08:00:00' WHERE message_id = 'water-1'")
    read, real_read = [], corpus._read
    monkeypatch.setattr(
        corpus, "_read", lambda store, seg, window, ids, *a: read.append(ids) or real_read(store, seg, window, ids, *a)
    )
    later = corpus.load(store, lambda: segmenter, MARCH, previous=earlier)
    assert sorted(read[0]) == ["late", "water-0", "water-3"]  # only what changed was read again
    fresh = corpus.load(store, lambda: segmenter, MARCH)
    assert earlier.coded is not None and later.coded is not None  # the rows read again coded with the others
    assert later.words == fresh.words
    pd.testing.assert_frame_equal(later.frame, fresh.frame)
    rows = later.frame.set_index("message_id")
    assert "late" in rows.index and "water-1" not in rows.index and len(later) == len(earlier)
    assert rows.loc["water-0", "likes"] == 99 and "停电" in later.words[rows.index.get_loc("water-0")]
    assert rows.loc["water-3", "first_reply_at"] == pd.Timestamp("2024-03-09 10:00")  # the reply read again


def test_indexer_fills_then_idles_wakes_on_a_write_and_closes(store):
    load_fixtures(store)
    version = store.data_version
    settings = replace(Settings(), clock="2024-04-01T12:00:00", text_index_days=60)
    indexer = index.Indexer(store, [words_store.MESSAGE_WORDS], settings).start()
    try:
        assert indexer.idle(120), "the indexer did not finish a pass"
        assert store.scalar("SELECT count(*) FROM message_words") == store.scalar(
            "SELECT count(*) FROM messages WHERE created_at >= '2024-02-01 12:00:00'"
        )
        assert store.data_version == version  # stored words change no result: cached results stay valid
        # a live write: the indexer looks at the newest week again
        upsert(store, "messages", frame([_row("late", fx.HENAN, "郑州市", "金水区", "城建", "2024-03-31", "路灯不亮")]))
        deadline = time.monotonic() + 60
        while store.scalar("SELECT count(*) FROM message_words WHERE message_id = 'late'") == 0:
            assert time.monotonic() < deadline, "the new message was not indexed"
            time.sleep(0.5)
        assert len(multiprocessing.active_children()) == 1  # the one worker
    finally:
        began = time.monotonic()
        indexer.close()
    assert time.monotonic() - began < 10
    assert not multiprocessing.active_children()
    assert indexer.indexed == store.scalar("SELECT count(*) FROM message_words")


def test_read_only_store_uses_words_without_saving(tmp_path, segmenter):
    from queries.db import Store

    path = tmp_path / "snap.duckdb"
    writable = Store(path)
    load_fixtures(writable)
    writable.close()
    snapshot = Store(path, read_only=True)
    try:
        found = corpus.load(snapshot, lambda: segmenter, Filters(dt.date(2024, 3, 4), dt.date(2024, 3, 10)))
        assert len(found) and all(found.words)
        assert not snapshot.scalar("SELECT count(*) FROM message_words")
    finally:
        snapshot.close()


def test_migration_17_codes_words_stored_as_text(tmp_path):
    """A file from before the vocabulary (words stored as text lists) opens with the same words, in the same order,
    as codes: one code per distinct word or place, shared by the words and places lists."""
    from queries.db import SCHEMA_VERSION, Store

    path = tmp_path / "v16.duckdb"
    old = {
        "a": (["停水", "小区", "停水"], ["翠竹园小区"]),
        "b": ([], ["解放路", "停水"]),
        "c": (["噪音"], []),
    }
    store = Store(path)
    cur = store.cursor()
    cur.execute("DROP TABLE message_words")
    cur.execute("DROP TABLE word_vocab")
    schema = Path(__file__).resolve().parent.parent / "queries" / "schema_words.sql"
    cur.execute(schema.read_text(encoding="utf-8"))  # as migration 11 made it
    for k, (mid, (words, places)) in enumerate(old.items()):
        cur.execute("INSERT INTO message_words VALUES ($m, $h, $w, $p)", {"m": mid, "h": k, "w": words, "p": places})
    cur.execute("UPDATE meta SET value = '16' WHERE key = 'schema_version'")
    store.close()
    store = Store(path)
    try:
        assert store.meta("schema_version") == str(SCHEMA_VERSION)
        assert {mid: (_stored(store)[mid], _stored(store, "places")[mid]) for mid in old} == old
        vocab = store.rows("SELECT word FROM word_vocab")
        assert sorted(w for (w,) in vocab) == ["停水", "噪音", "小区", "翠竹园小区", "解放路"]
        assert store.scalar("SELECT text_hash FROM message_words WHERE message_id = 'c'") == 2
    finally:
        store.close()


def _die_once(frame: pd.DataFrame) -> pd.DataFrame:
    """A worker's compute that ends its process the first time (`marker`: a file it leaves)."""
    marker = Path(frame["marker"].iloc[0])
    if not marker.exists():
        marker.touch()
        os._exit(1)
    return frame


def test_indexer_starts_a_new_worker_after_one_died(store, tmp_path, monkeypatch):
    monkeypatch.setattr(index, "RETRY_SECONDS", 0.1)
    saved = []
    todo = pd.DataFrame({"id": ["a"], "marker": [str(tmp_path / "died")]})

    def missing(store, start, stop, n):
        return todo.iloc[:0] if saved else todo

    kind = index.Kind("die_once", missing, _die_once, lambda store, frame: saved.append(frame))
    indexer = index.Indexer(store, [kind], Settings()).start()
    try:
        assert indexer.idle(120), "the indexer did not finish a pass"
    finally:
        indexer.close()
    assert (tmp_path / "died").exists() and len(saved) == 1 and saved[0]["id"].tolist() == ["a"]


def test_corpus_of_many_unindexed_messages_is_segmented_in_worker_processes(store, monkeypatch):
    """A store nothing has indexed yet: the workers' words (saved) equal this process's segmenter's."""
    load_fixtures(store)
    here = Segmenter(place_names(), words_store.unit_names(store))  # as the insight service builds its own
    monkeypatch.setattr(index, "PARALLEL_FROM", 1)
    monkeypatch.setattr(index, "BATCH", 7)  # several batches, finishing in any order

    def not_here():
        raise AssertionError("the worker processes segment, not this one")

    parallel = corpus.load(store, not_here, MARCH)
    assert store.scalar("SELECT count(*) FROM message_words") == len(parallel) > 2 * 7
    stored = _stored(store)
    with store.write() as cur:
        cur.execute("DELETE FROM message_words")
    monkeypatch.setattr(index, "PARALLEL_FROM", 10**9)
    in_process = corpus.load(store, lambda: here, MARCH)
    assert parallel.words == in_process.words
    assert parallel.frame["message_id"].tolist() == in_process.frame["message_id"].tolist()
    assert parallel.frame["mentions"].tolist() == in_process.frame["mentions"].tolist()
    assert _stored(store) == stored


def test_a_new_demo_stores_the_newest_briefings_words_and_reply_checks(store):
    """ingest.setup.index_newest: words of the messages of the last WEEK_DAYS + REFERENCE_DAYS days (from
    midnight, up to a day ahead), reply checks of the units' window and its lookback (the fixture's replies all
    lie in it)."""
    from ingest.setup import WEEK_DAYS, index_newest
    from insight.service import REFERENCE_DAYS

    load_fixtures(store)
    now = dt.datetime(2024, 3, 20, 15, 30)
    since = dt.datetime(2024, 3, 20) - dt.timedelta(days=WEEK_DAYS + REFERENCE_DAYS)
    query = "SELECT message_id FROM messages WHERE created_at >= ? AND created_at < ?"
    newest = {r for (r,) in store.rows(query, [since, now + dt.timedelta(days=1)])}
    replies = store.scalar("SELECT count(*) FROM replies")
    assert 0 < len(newest) < store.scalar("SELECT count(*) FROM messages") and replies
    assert index_newest(store, now) == len(newest) + replies
    assert set(_stored(store)) == newest
    assert store.scalar("SELECT count(*) FROM reply_features") == replies
    assert store.scalar(text("supervision", "league_facts_complete"))


def test_a_period_read_a_few_days_at_a_time_equals_one_read(store, segmenter, monkeypatch):
    """A long period is read PART_DAYS at a time and the parts joined (their codes over one vocabulary): the corpus,
    its term counts and its hot issues (grouped a province at a time from the codes) equal those of one read, and
    the hot issues those of the string path (every row at once)."""
    from insight import hotwords, issues

    load_fixtures(store)
    load_fixtures(store, prefix="later-", shift_days=20)
    period = Filters(dt.date(2024, 3, 1), dt.date(2024, 4, 30))
    corpus.load(store, lambda: segmenter, period)  # words stored: the corpora below are coded
    whole = corpus.load(store, lambda: segmenter, period)
    monkeypatch.setattr(corpus, "PART_DAYS", 7)
    windows, real_query = [], corpus._query
    monkeypatch.setattr(corpus, "_query", lambda *a: windows.append(a[1]) or real_query(*a))
    parts = corpus.load(store, lambda: segmenter, period)
    assert len(windows) == 9  # 61 days, 7 at a time
    # the daily counts too, 7 days at a time: those of one plain query
    daily = corpus.daily_counts(store, period, period.start, period.end)
    plain = store.df(
        "SELECT CAST(created_at AS DATE) AS day, province, coalesce(city, '') AS city, category, count(*) AS messages "
        "FROM messages WHERE created_at >= ? AND created_at < ? GROUP BY ALL",
        [dt.datetime(2024, 3, 1), dt.datetime(2024, 5, 1)],
    )
    assert sorted(daily.itertuples(index=False)) == sorted(plain.itertuples(index=False))
    assert len(daily["day"].unique()) > 7
    assert whole.coded is not None and parts.coded is not None
    pd.testing.assert_frame_equal(parts.frame, whole.frame)
    assert parts.words == whole.words
    strings = corpus.Corpus(whole.frame, list(whole.words))  # no codes: counted and grouped from the strings
    assert _held(hotwords.counts(parts)) == _held(hotwords.counts(strings))
    # the rows holding some words, looked up in the codes (a corpus with no word lists made)
    some = {strings.words[0][0], strings.words[-1][-1]}
    holding = corpus.Corpus(whole.frame, None, coded=whole.coded).holding(some).tolist()
    assert holding == [not some.isdisjoint(w) for w in strings.words] and 2 <= sum(holding) < len(holding)
    # and the rows whose features hold some place terms: one of a location field, one of a place the text names
    rows = list(zip(strings.frame["location"].tolist(), strings.frame["mentions"].tolist(), strict=True))
    located = next(loc.strip() for loc, named in rows if loc.strip() and loc.strip() not in named)
    mentioned = next(named[0] for loc, named in rows if named and not loc.strip())
    some = {"@" + located, "@" + mentioned, strings.words[0][0]}
    tags = issues.place_terms(strings)
    holding = issues._holding(strings, some).tolist()
    assert holding == [not some.isdisjoint(w + t) for w, t in zip(strings.words, tags, strict=True)]
    assert sum(holding) < len(holding)
    assert issues.feature_frequency(parts) == issues.feature_frequency(strings)
    weights = issues.Weights.counted(len(whole), issues.feature_frequency(strings))
    found = issues.group(parts, weights).ranked()
    assert len({i["province_code"] for i in found}) >= 2  # several provinces, each grouped on its own
    assert found == issues.group(whole, weights).ranked() == issues.group(strings, weights).ranked()
    # counted a few rows at a time, and grouped a few cities at a time (a province of more rows split): the same
    monkeypatch.setattr(corpus, "TERM_ROWS", 5)
    monkeypatch.setattr(issues, "BATCH_ROWS", 4)
    assert len(issues._batches(parts.frame)) > len(set(parts.frame["province"]))
    assert issues.feature_frequency(parts) == issues.feature_frequency(strings)
    assert _held(hotwords.counts(parts)) == _held(hotwords.counts(strings))
    assert issues.group(parts, weights).ranked() == found


def _held(counted) -> tuple[int, dict[str, int]]:
    """(messages, {term: messages holding it}) of hot words' counts, terms held by none left out."""
    words = counted.terms.words[: len(counted.n)]
    return counted.messages, {w: n for w, n in zip(words, counted.n.tolist(), strict=True) if n}


def test_similar_pairs_in_chunks_hold_every_close_pair(store, segmenter, monkeypatch):
    """Rows compared in small chunks, each with its blocks' rows within the day gap, find every pair of one block
    within the gap whose cosine reaches the threshold, as a plain comparison of every pair finds them."""
    import numpy as np

    from insight import issues

    load_fixtures(store)
    load_fixtures(store, prefix="soon-", shift_days=30)
    load_fixtures(store, prefix="late-", shift_days=70)  # beyond the gap of the first copy
    period = Filters(dt.date(2024, 3, 1), dt.date(2024, 6, 30))
    found = corpus.load(store, lambda: segmenter, period)
    matrix, _ = issues.vectors(issues.features(found))
    frame = found.frame
    days = frame["day"].to_numpy().astype("datetime64[D]").astype("int64")
    monkeypatch.setattr(issues, "_CHUNK", 7)
    monkeypatch.setattr(issues, "PRODUCT_CELLS", 20)  # a chunk's cosines a row or a few at a time
    rows, cols = issues.similar_pairs(frame, matrix, 0.3, days, 45)
    near = np.abs(days[rows] - days[cols]) <= 45
    got = set(zip(rows[near].tolist(), cols[near].tolist(), strict=True))
    dense = matrix.toarray()
    block = list(zip(frame["province"], frame["city"], frame["district"], strict=True))
    expected = {
        (i, j)
        for i in range(len(frame))
        for j in range(i + 1, len(frame))
        if block[i] == block[j] and abs(days[i] - days[j]) <= 45 and dense[i] @ dense[j] >= 0.3
    }
    assert len(expected) > 50 and any(abs(days[i] - days[j]) > 20 for i, j in expected)
    assert got == expected


def test_linked_pairs_filtered_in_pieces_are_every_similar_pair_whose_places_agree(store, segmenter, monkeypatch):
    """The similar pairs filtered a few at a time (chunks of rows and pieces of pairs far smaller than a batch's) are
    the similar pairs within the day gap whose places agree by places_agree, each pair judged on its own."""
    import numpy as np

    from insight import issues

    load_fixtures(store)
    load_fixtures(store, prefix="soon-", shift_days=30)
    period = Filters(dt.date(2024, 3, 1), dt.date(2024, 5, 31))
    found = corpus.load(store, lambda: segmenter, period)
    matrix, _ = issues.vectors(issues.features(found))
    frame = found.frame
    days = frame["day"].to_numpy().astype("datetime64[D]").astype("int64")
    rows, cols = issues.similar_pairs(frame, matrix, issues.LINK_COSINE, days, issues.MAX_GAP_DAYS)
    places = issues.place_sets(frame)
    expected = [
        (i, j)
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True)
        if abs(days[i] - days[j]) <= issues.MAX_GAP_DAYS and issues.places_agree(places[i], places[j])
    ]
    assert len(expected) > 20 and len(expected) < len(rows)  # some similar pairs are not linked
    monkeypatch.setattr(issues, "_CHUNK", 5)
    monkeypatch.setattr(issues, "PAIRS_AT_ONCE", 3)
    i, j = issues._linked(frame, matrix)
    assert i.dtype == j.dtype == np.int32  # rows of one frame: a grouping keeps them
    assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == sorted(expected)


def test_components_a_few_pairs_at_a_time_are_the_graphs_numbered_by_first_node(monkeypatch):
    """Components found a few pairs at a time are the connected components of all the pairs (found here by a plain
    search), numbered in the order of their first node; a node in no pair is a component of its own."""
    import numpy as np

    from insight import issues

    rng = np.random.default_rng(5)
    n = 40
    rows, cols = rng.integers(0, n, 30), rng.integers(0, n, 30)
    neighbours: dict[int, set[int]] = {k: set() for k in range(n)}
    for a, b in zip(rows.tolist(), cols.tolist(), strict=True):
        neighbours[a].add(b)
        neighbours[b].add(a)
    expected = [-1] * n
    label = 0
    for start in range(n):
        if expected[start] < 0:
            expected[start], todo = label, [start]
            while todo:
                for other in neighbours[todo.pop()]:
                    if expected[other] < 0:
                        expected[other] = label
                        todo.append(other)
            label += 1
    assert 1 < label < n - 5  # some components join several nodes
    for at_once in (1, 4, 1000):
        monkeypatch.setattr(issues, "PAIRS_AT_ONCE", at_once)
        assert issues._components(n, rows, cols).tolist() == expected
    assert issues._components(3, np.zeros(0, np.int64), np.zeros(0, np.int64)).tolist() == [0, 1, 2]


def test_dropping_cached_blocks_keeps_the_memory_limit(tmp_path):
    """DuckDB's limit is lowered for a moment to evict the blocks a long read loaded, then set back: to the
    configured limit, or to DuckDB's own default."""
    from queries.db import Store

    for name, memory in (("default.duckdb", ""), ("limited.duckdb", "300MB")):
        store = Store(tmp_path / name, replace(Settings(), duckdb_memory=memory))
        try:
            limit = store.scalar("SELECT current_setting('memory_limit')")
            store.scalar("SELECT count(*) FROM messages")
            store.drop_cached_blocks()
            assert store.scalar("SELECT current_setting('memory_limit')") == limit
        finally:
            store.close()
    fresh = Store(tmp_path / "fresh.duckdb")
    try:
        assert fresh.scalar("SELECT current_setting('memory_limit')") != limit  # the 300MB was really set
    finally:
        fresh.close()


def test_a_periods_and_its_references_missing_words_are_segmented_at_once(store, monkeypatch):
    """Hot issues on a store nothing has indexed: the period's and its reference month's words are made by one
    fill_many (one start of the worker), and the hot issues and stored words equal those made in this process."""
    from insight.service import REFERENCE_DAYS, Insight

    load_fixtures(store)
    clock = partial(dt.datetime, 2024, 4, 1)
    calls = []
    real = index.fill_many
    monkeypatch.setattr(index, "fill_many", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(index, "PARALLEL_FROM", 1)
    monkeypatch.setattr(index, "BATCH", 7)
    parallel = Insight(store, clock=clock).hot_issues(MARCH)
    assert len(calls) == 1
    since = dt.datetime.combine(MARCH.start - dt.timedelta(days=REFERENCE_DAYS), dt.time())
    query = "SELECT message_id FROM messages WHERE created_at >= ? AND created_at < ?"
    windows = {r for (r,) in store.rows(query, [since, dt.datetime.combine(MARCH.end, dt.time()) + dt.timedelta(1)])}
    stored = _stored(store)
    assert set(stored) == windows and len(windows) > 2 * 7
    with store.write() as cur:
        cur.execute("DELETE FROM message_words")
    monkeypatch.setattr(index, "PARALLEL_FROM", 10**9)
    assert Insight(store, clock=clock).hot_issues(MARCH) == parallel
    assert len(calls) == 1 and _stored(store) == stored
