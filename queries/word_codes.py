"""The codes of the vocabulary table word_vocab (insight/words_store.py) in memory, owned by the Store.

Saving a few messages' words looked their distinct terms up by joining them against the whole vocabulary: a scan of
every word (26-44 ms at 579 k words, growing with the board) under the write lock. DuckDB's index on word_vocab.word
does not help: a join never uses it, and a bound list that does fetches each row by itself (about 30 us a word). A
dictionary makes the look-up cost the batch's terms only (about 0.1 us a term), at about 150 bytes a word of memory.

Codes are only ever added (numbered after the last one, under the write lock) and never change, so the dictionary
is kept in step by reading the codes above the highest it holds, and it holds committed codes only: a save that rolls
back leaves nothing here.
"""

from __future__ import annotations

import threading

from queries.sql import text


class WordCodes:
    def __init__(self):
        self._codes: dict[str, int] = {}
        self._top = -1  # the highest code held
        self._lock = threading.Lock()

    def refresh(self, cur) -> None:
        """Read the codes added since the last refresh (all of them the first time: about 0.3 s at 579 k words,
        so that a caller does it before taking the write lock, and again under it, where only the check is left:
        `last_code` reads the table's statistics)."""
        with self._lock:
            ((top,),) = cur.execute(text("insight", "last_code")).fetchall()
            if top < self._top:  # the table was made again (its codes gone): read it whole
                self._codes, self._top = {}, -1
            if top > self._top:
                added = cur.sql(text("insight", "codes_above"), params={"top": self._top}).to_arrow_table()
                self._codes.update(zip(added.column("word").to_pylist(), added.column("id").to_pylist(), strict=True))
                self._top = max(self._top, top)

    def lookup(self, cur, terms) -> dict[str, int]:
        """{term: its code} of the `terms` the vocabulary holds, as `cur` (in the write transaction) sees it."""
        self.refresh(cur)
        with self._lock:
            codes = self._codes
            return {t: codes[t] for t in terms if t in codes}
