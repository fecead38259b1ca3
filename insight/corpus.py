"""A period's messages with their words: the input every insight method shares."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from insight.segment import Segmenter, own_places
from queries import provinces as province_ref
from queries.db import Store
from queries.periods import Filters
from queries.sql import text

PROGRESS_STEP = 5000


@dataclass
class Corpus:
    frame: pd.DataFrame  # one row per message (columns of queries/insight.sql period_messages, plus day, place)
    words: list[tuple[str, ...]]  # topic words per row

    def __len__(self) -> int:
        return len(self.frame)


def _window(f: Filters, start: dt.date, end: dt.date) -> dict:
    p = f.params()
    return {
        "start": dt.datetime.combine(start, dt.time()),
        "stop": dt.datetime.combine(end + dt.timedelta(days=1), dt.time()),
        "provinces": p["provinces"],
        "categories": p["categories"],
        "types": p["types"],
        "urgent_only": p["urgent_only"],
    }


def load(
    store: Store,
    segmenter: Segmenter,
    f: Filters,
    start: dt.date | None = None,
    end: dt.date | None = None,
    progress=None,
):
    """The messages of `start`..`end` (default: the filters' period) matching the filters, with their words.

    `progress`, when given, is called with the number of messages done every PROGRESS_STEP messages."""
    start, end = start or f.start, end or f.end
    frame = store.df(text("insight", "period_messages"), _window(f, start, end))
    names = province_ref.names()
    frame["province_name"] = frame["province"].map(names).fillna("")
    full = dict(zip(province_ref.table()["adcode"], province_ref.table()["name_full"], strict=True))
    frame["province_full"] = frame["province"].map(full).fillna("")
    frame["day"] = pd.to_datetime(frame["created_at"]).dt.normalize()
    frame["likes"] = frame["likes"].fillna(0).astype("int64")
    for column in ("title", "content", "location", "city", "district"):
        frame[column] = frame[column].fillna("").astype(str)
    words, places, mentions = [], [], []
    for n, row in enumerate(
        frame[["message_id", "title", "content", "location", "province_full", "city", "district"]].itertuples(
            index=False
        )
    ):
        if progress is not None and n % PROGRESS_STEP == 0:
            progress(n)
        drop = own_places(row.province_full, row.city, row.district)
        words.append(segmenter.message_words(row.message_id, row.title, row.content, drop))
        named = segmenter.message_places(row.message_id, row.title, row.content, drop)
        mentions.append(named)
        places.append(row.location.strip() or (named[0] if named else ""))
    if progress is not None:
        progress(len(frame))
    frame["place"] = places
    frame["mentions"] = mentions
    return Corpus(frame=frame.reset_index(drop=True), words=words)


def daily_counts(store: Store, f: Filters, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Messages per day x province x city x domain for `start`..`end` under the filters' other conditions."""
    return store.df(text("insight", "daily_counts"), _window(f, start, end))


def unit_names(store: Store) -> list[str]:
    return [row[0] for row in store.rows(text("insight", "unit_names"))]
