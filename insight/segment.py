"""Chinese word segmentation for the insight methods (jieba with the project's own dictionary and stopwords).

A Segmenter owns one jieba Tokenizer: its dictionary is loaded when the object is built (about a second), so
the cost is paid once per owner (the insight service, the indexer's worker process), never at import. Place
names (data/places.csv, the provinces) and the store's unit names are added as words so that jieba keeps them
whole; a message's own place names are dropped from its words when they are read (every message from 郑州 says
郑州: it says nothing of the topic), so that the stored words (insight/words_store.py) do not depend on where a
message is filed.
"""

from __future__ import annotations

import csv
import logging
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import jieba

from insight.places import mentioned_places
from settings import DATA_DIR

STOPWORDS_FILE = Path(__file__).with_name("stopwords.txt")
PLACES_CSV = DATA_DIR / "places.csv"
# Suffixes an administrative name is also written without (郑州市 -> 郑州, 金水区 -> 金水).
_ADMIN_SUFFIXES = (
    "特别行政区",
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "自治区",
    "自治州",
    "自治县",
    "省",
    "市",
    "区",
    "县",
    "旗",
    "盟",
)
_WORDLIKE = re.compile(r"[\u4e00-\u9fff]|[A-Za-z]{2,}")
_DIGITS = re.compile(r"^[\d.,%％:：\-/]+$")
# Body characters segmented per message (message_text).
BODY_CHARS = 160
# jieba cuts a text as the runs of these characters (and what lies between them) each on its own, so a text's words
# are its pieces' words in order: pieces recur across messages (phrases, names, stock sentences) and are cut once.
_PIECES = jieba.re_han_default
PIECES_KEPT = 200_000  # distinct pieces remembered per segmenter (tens of MB); then it starts afresh


def load_stopwords(path: Path = STOPWORDS_FILE) -> frozenset[str]:
    words: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0]
        words.update(line.split())
    return frozenset(words)


def short_name(name: str) -> str:
    """The administrative name without its level suffix, when at least two characters remain."""
    for suffix in _ADMIN_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def place_names(path: Path = PLACES_CSV) -> set[str]:
    """Every city and district name of data/places.csv and the provinces, full and short."""
    from queries import provinces as province_ref

    names: set[str] = set()
    with open(path, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for key in ("city", "district"):
                if row.get(key):
                    names.update((row[key], short_name(row[key])))
    for full, short in zip(province_ref.table()["name_full"], province_ref.table()["name_short"], strict=True):
        names.update((full, short))
    return {n for n in names if len(n) >= 2}


def own_places(province_name: str | None, city: str | None, district: str | None) -> frozenset[str]:
    """The names a message's own place is written as (full and short), to drop from its words."""
    out = set()
    for name in (province_name, city, district):
        if name:
            out.update((name, short_name(name)))
    return frozenset(out)


class Segmenter:
    """jieba with the project's dictionary: the words and named places of a text."""

    def __init__(self, places: Iterable[str] = (), units: Iterable[str] = (), stopwords: frozenset[str] | None = None):
        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        for name in places:
            self._jieba.add_word(name, freq=50_000, tag="ns")
        for name in units:
            if 2 <= len(name) <= 30:
                self._jieba.add_word(name, freq=20_000, tag="nt")
        self.stopwords = stopwords if stopwords is not None else load_stopwords()
        self._pieces: dict[str, tuple[str, ...]] = {}  # piece -> its topic words

    def words(self, text: str, drop: frozenset[str] = frozenset()) -> list[str]:
        """The topic words of `text`: no stopwords, no single characters, no numbers, none of `drop`. The same as
        segmenting the whole text (jieba cuts each piece on its own), each distinct piece cut once."""
        out: list[str] = []
        known = self._pieces
        for piece in _PIECES.split(text or ""):
            if not piece:
                continue
            found = known.get(piece)
            if found is None:
                found = self._cut(piece)
                if len(known) >= PIECES_KEPT:
                    known.clear()
                known[piece] = found
            out.extend(found)
        return [w for w in out if w not in drop] if drop else out

    def _cut(self, piece: str) -> tuple[str, ...]:
        out = []
        for word in self._jieba.cut(piece, HMM=False):
            word = word.strip()
            if len(word) < 2 or word in self.stopwords or _DIGITS.match(word) or not _WORDLIKE.search(word):
                continue
            out.append(sys.intern(word))  # one copy of each word however many messages hold it
        return tuple(out)

    def message(self, title: str | None, content: str | None) -> tuple[list[str], list[str]]:
        """Words and named places (each once, in order) of a message's title and the start of its body, the
        message's own place names kept (they are dropped when read: insight/corpus.py)."""
        text_value = message_text(title, content)
        return self.words(text_value), list(dict.fromkeys(mentioned_places(text_value)))


def message_text(title: str | None, content: str | None) -> str:
    """What is segmented of a message: the gist (what, where) comes first; the rest of the body repeats it."""
    return f"{title or ''}。{(content or '')[:BODY_CHARS]}"
