"""The vocabulary's codes kept in memory (queries/word_codes.py) and the saves that use them (insight/words_store.py):
codes stay unique and stable, and the words read back through word_vocab (SQL, not the kept codes) are the words
given, whoever added codes meanwhile."""

from __future__ import annotations

import threading
from dataclasses import replace

import pandas as pd
import pytest

from insight import words_store
from insight.index import Indexer
from queries import word_codes
from queries.db import Store
from queries.word_codes import WordCodes
from settings import Settings
from tests.test_insight_index import _stored


def _frame(rows: dict[str, tuple[list[str], list[str]]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "message_id": list(rows),
            "text_hash": list(range(len(rows))),
            "words": [w for w, _ in rows.values()],
            "places": [p for _, p in rows.values()],
        }
    )


def _check(store, given: dict[str, tuple[list[str], list[str]]]) -> dict[str, int]:
    """The stored words and places equal `given`, each word has one code and each code one word; {word: code}."""
    words, places = _stored(store), _stored(store, "places")
    assert {mid: (words[mid], places[mid]) for mid in given} == given
    rows = store.rows("SELECT word, id FROM word_vocab")
    assert len({w for w, _ in rows}) == len({c for _, c in rows}) == len(rows)
    return dict(rows)


def test_two_batches_sharing_new_words_at_once_get_one_code_each(store):
    shared = [f"共享词{k}" for k in range(30)]
    given = {}
    for round_ in range(5):
        batches = [
            {
                f"r{round_}-{side}-{m}": ([*shared[m : m + 10], f"独有{side}{round_}{m}", "停水"], [f"地名{m % 3}"])
                for m in range(8)
            }
            for side in "ab"
        ]
        start = threading.Barrier(2)
        errors = []

        def save(rows, start=start, errors=errors):
            start.wait()
            try:
                words_store.save(store, _frame(rows))
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=save, args=(rows,)) for rows in batches]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        for rows in batches:
            given.update(rows)
        before = _check(store, given)
        words = {w for ws, ps in given.values() for w in [*ws, *ps]}
        assert set(before) == words  # no word coded twice, none lost
    # codes are stable: saving the same words again changes none
    words_store.save(store, _frame(given))
    assert _check(store, given) == before


def test_codes_added_by_another_writer_are_used(store):
    first = {"m1": (["停水", "小区"], ["翠竹园"])}
    words_store.save(store, _frame(first))
    words_store.save(store, _frame(first))  # its refresh reads the codes the first save added: now held in memory
    assert store.word_codes.lookup(store.cursor(), ["停水", "外来词"]) == {"停水": _check(store, first)["停水"]}
    with store.write(bump=False) as cur:  # another writer (a migration, a copy) adds a word
        cur.execute("INSERT INTO word_vocab SELECT max(id) + 1, '外来词' FROM word_vocab")
    outsider = store.scalar("SELECT id FROM word_vocab WHERE word = '外来词'")
    second = {"m2": (["外来词", "停水", "新词"], [])}
    words_store.save(store, _frame(second))
    codes = _check(store, {**first, **second})
    assert codes["外来词"] == outsider


def test_a_rolled_back_save_leaves_no_code_held(store, monkeypatch):
    words_store.save(store, _frame({"m1": (["停水"], [])}))
    real = words_store._run

    def fail_on_rows(cur, name, table_name, table):
        real(cur, name, table_name, table)
        if name == "save_coded":
            raise RuntimeError("disk full")

    monkeypatch.setattr(words_store, "_run", fail_on_rows)
    with pytest.raises(RuntimeError):
        words_store.save(store, _frame({"m2": (["幽灵词", "停水"], [])}))
    monkeypatch.setattr(words_store, "_run", real)
    assert store.scalar("SELECT count(*) FROM word_vocab WHERE word = '幽灵词'") == 0
    # another word now takes the code the rolled-back one had; the kept codes must not give it to 幽灵词
    with store.write(bump=False) as cur:
        cur.execute("INSERT INTO word_vocab SELECT max(id) + 1, '别的词' FROM word_vocab")
    given = {"m1": (["停水"], []), "m2": (["幽灵词", "别的词"], [])}
    words_store.save(store, _frame({"m2": given["m2"]}))
    _check(store, given)


def test_a_vocabulary_made_again_is_read_again(store):
    words_store.save(store, _frame({"m1": (["停水", "小区", "噪音"], [])}))
    words_store.save(store, _frame({"m1": (["停水", "小区", "噪音"], [])}))  # their codes now held in memory
    with store.write(bump=False) as cur:
        cur.execute("DELETE FROM message_words")
        cur.execute("DELETE FROM word_vocab")
        cur.execute("INSERT INTO word_vocab VALUES (0, '噪音')")
    given = {"m2": (["小区", "噪音"], [])}
    words_store.save(store, _frame(given))
    assert _check(store, given) == {"噪音": 0, "小区": 1}


def test_lookup_with_colliding_hashes_and_folds(store, monkeypatch):
    """Every word hashed into one of three buckets (long runs of equal keys) and the small dictionary folded into the
    sorted part every few words: each look-up still gives each word its own code, and nothing for a word not held."""
    monkeypatch.setattr(word_codes, "FOLD_FROM", 4)
    codes = WordCodes(hasher=lambda w: len(w) % 3)
    words = [f"词{'甲' * (k % 5)}{k}" for k in range(40)]
    cur = store.cursor()
    for lo in range(0, len(words), 3):  # codes added a few at a time, each time looked up
        with store.write(bump=False) as w:
            for k in range(lo, min(lo + 3, len(words))):
                w.execute("INSERT INTO word_vocab VALUES ($id, $w)", {"id": k, "w": words[k]})
        held = words[: min(lo + 3, len(words))]
        expected = {w: k for k, w in enumerate(held)}
        assert codes.lookup(cur, [*reversed(words), "不在词表", "词甲甲"]) == expected


def test_the_indexer_reads_the_codes_before_a_live_write_needs_them(tmp_path, monkeypatch):
    path = tmp_path / "board.duckdb"
    first = Store(path)
    words_store.save(first, _frame({"m1": (["停水", "路灯"], ["金水区"]), "m2": (["噪音"], [])}))
    first.close()

    def folds(store):
        calls = []
        fold = store.word_codes._fold
        monkeypatch.setattr(store.word_codes, "_fold", lambda *a: (calls.append(a), fold(*a)))
        return calls

    cold = Store(path)  # no indexer: the first save reads the whole vocabulary itself
    calls = folds(cold)
    words_store.save(cold, _frame({"m3": (["停水"], [])}))
    assert len(calls) == 1 and len(calls[0][0]) == 4
    cold.close()

    store = Store(path)
    calls = folds(store)
    indexer = Indexer(store, [words_store.MESSAGE_WORDS], replace(Settings(), clock="2024-04-01T12:00:00")).start()
    try:
        assert indexer.idle(120), "the indexer did not finish a pass"
    finally:
        indexer.close()
    assert len(calls) == 1  # read by the indexer's thread
    words_store.save(store, _frame({"m4": (["噪音", "路灯"], ["金水区"])}))
    assert len(calls) == 1 and _check(store, {"m4": (["噪音", "路灯"], ["金水区"])})["噪音"] >= 0
    store.close()
