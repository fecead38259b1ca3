"""The codes of the vocabulary table word_vocab (insight/words_store.py) in memory, owned by the Store.

Saving a few messages' words looked their distinct terms up by joining them against the whole vocabulary: a scan of
every word (26-44 ms at 579 k words, growing with the board) under the write lock. DuckDB's index on word_vocab.word
does not help: a join never uses it, and a bound list that does fetches each row by itself (about 30 us a word). Here
a look-up costs the batch's terms only (a few microseconds for a hundred messages' terms).

Kept compact (a dictionary of the words would be 150 bytes a word, 84 MB at 579 k): each word's 64-bit hash, sorted,
with its code and its word (Arrow: what a hash match is checked against), about 45 bytes a word. Words coded since
that sorted part was made are in a small dictionary, folded into it when it grows.

Codes are only ever added (numbered after the last one, under the write lock) and never change, so the codes are kept
in step by reading those above the highest held; and only committed ones are held: a save that rolls back leaves
nothing here.
"""

from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from queries.sql import text

FOLD_FROM = 20_000  # words in the small dictionary from which it is folded into the sorted part (~50 ms at 600 k)
READ_ROWS = 65_536  # words made Python strings at a time when hashing what was read (a bounded transient)


class WordCodes:
    def __init__(self, hasher=hash):
        self._hash = hasher  # str -> int64 (a test gives one that collides)
        self._lock = threading.Lock()
        self._top = -1  # the highest code held
        self._clear()

    def _clear(self) -> None:
        self._keys = np.empty(0, np.int64)  # hash(word), sorted
        self._codes = np.empty(0, np.int32)  # the code of each key's word
        self._words = pa.array([], pa.string())  # each key's word
        self._recent: dict[str, int] = {}  # codes read since the sorted part was made

    def refresh(self, cur) -> None:
        """Read the codes added since the last refresh: all of them the first time (about 0.5 s at 579 k words, so
        a caller does it before taking the write lock, and again under it, where only the check is left: `last_code`
        about 0.4 ms)."""
        with self._lock:
            ((top,),) = cur.execute(text("insight", "last_code")).fetchall()
            if top < self._top:  # the table was made again (its codes gone): read it whole
                self._clear()
                self._top = -1
            if top == self._top:
                return
            added = cur.sql(text("insight", "codes_above"), params={"top": self._top}).to_arrow_table()
            if self._top < 0 or added.num_rows >= FOLD_FROM:
                self._fold(added.column("word").combine_chunks(), added.column("id").to_numpy())
            else:
                self._recent.update(zip(added.column("word").to_pylist(), added.column("id").to_pylist(), strict=True))
                if len(self._recent) >= FOLD_FROM:
                    self._fold(pa.array(list(self._recent), pa.string()), np.fromiter(self._recent.values(), np.int32))
                    self._recent = {}
            # a write committed between the two reads may have added codes above `top`
            self._top = max(top, pc.max(added.column("id")).as_py() or top)

    def lookup(self, cur, terms: list[str]) -> dict[str, int]:
        """{term: its code} of the `terms` the vocabulary holds, as `cur` sees it (under the write lock, before the
        transaction adds codes: only committed ones are kept)."""
        self.refresh(cur)
        with self._lock:
            found, rest = {}, []
            for t in terms:
                code = self._recent.get(t)
                if code is None:
                    rest.append(t)
                else:
                    found[t] = code
            if rest and len(self._keys):
                found.update(self._sorted_lookup(rest))
            return found

    def _sorted_lookup(self, terms: list[str]) -> dict[str, int]:
        keys = np.fromiter(map(self._hash, terms), np.int64, len(terms))
        at = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        hit = np.flatnonzero(self._keys[at] == keys)
        same = pc.equal(self._words.take(at[hit]), pa.array([terms[i] for i in hit], pa.string()))
        found = {}
        for i, ok in zip(hit.tolist(), same.to_numpy(zero_copy_only=False).tolist(), strict=True):
            j = int(at[i])
            if not ok:  # another word with the same hash (about 1 in 10^8 at 600 k words): the next ones with it
                j += 1
                while j < len(self._keys) and self._keys[j] == keys[i] and self._words[j].as_py() != terms[i]:
                    j += 1
                if j == len(self._keys) or self._keys[j] != keys[i]:
                    continue
            found[terms[i]] = int(self._codes[j])
        return found

    def _fold(self, words: pa.Array, codes: np.ndarray) -> None:
        """The sorted part with `words` (and their `codes`) added."""
        keys = [self._keys]
        for lo in range(0, len(words), READ_ROWS):
            part = words.slice(lo, READ_ROWS).to_pylist()
            keys.append(np.fromiter(map(self._hash, part), np.int64, len(part)))
        keys = np.concatenate(keys)
        order = np.argsort(keys, kind="stable")
        self._keys = keys[order]
        self._codes = np.concatenate([self._codes, codes.astype(np.int32)])[order]
        self._words = pa.concat_arrays([self._words, words.cast(pa.string())]).take(pa.array(order))
        pa.default_memory_pool().release_unused()  # the read's and the old part's buffers (20 MB a 600 k words)
