"""A period's messages with their words: the input every insight method shares."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd

from insight.segment import Segmenter, own_places
from queries import provinces as province_ref
from queries.db import Store
from queries.periods import Filters
from queries.sql import text

# A named place in free text: a proper name (2-8 characters) before a kind of place (community, company, school,
# road...). General Chinese address morphology, not any data set's wording: the name is read backwards from the
# kind until a character that does not belong in a name (a function word, a verb of asking, punctuation).
_PLACE_KIND = re.compile(
    r"(?:小区|社区|花园|家园|公寓|新村|新城|苑|大厦|广场|商场|市场|村|镇|乡|街道|有限公司|公司|集团|厂|中学|小学|"
    r"幼儿园|学校|学院|大学|医院|卫生院|大道|路(?![灯口面上边况费线段])|街(?![道头])|巷|桥|工地|车站)"
)
_NOT_IN_NAME = set("的了在是我你他她们把对向从和与及请注映过到于住家都个这那就也还又被给让说称叫位于为将已")
_NAME_CHARS = (2, 8)


def mentioned_places(text_value: str | None) -> list[str]:
    """Named places in a text, e.g. '我家住在翠竹园小区' -> ['翠竹园小区']."""
    text_value = text_value or ""
    out = []
    for match in _PLACE_KIND.finditer(text_value):
        start = match.start()
        while (
            start > 0
            and match.start() - start < _NAME_CHARS[1]
            and "\u4e00" <= text_value[start - 1] <= "\u9fff"
            and text_value[start - 1] not in _NOT_IN_NAME
        ):
            start -= 1
        if match.start() - start >= _NAME_CHARS[0]:
            out.append(text_value[start : match.end()])
    return out


def strip_admin(name: str, own: frozenset[str]) -> str:
    """A place name without a leading name of the message's own province, city or district."""
    changed = True
    while changed:
        changed = False
        for prefix in sorted(own, key=len, reverse=True):
            if name.startswith(prefix) and len(name) - len(prefix) >= 3:
                name, changed = name[len(prefix) :], True
                break
    return name


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


def load(store: Store, segmenter: Segmenter, f: Filters, start: dt.date | None = None, end: dt.date | None = None):
    """The messages of `start`..`end` (default: the filters' period) matching the filters, with their words."""
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
    for row in frame[["message_id", "title", "content", "location", "province_full", "city", "district"]].itertuples(
        index=False
    ):
        drop = own_places(row.province_full, row.city, row.district)
        words.append(segmenter.message_words(row.message_id, row.title, row.content, drop))
        named = tuple(
            dict.fromkeys(strip_admin(p, drop) for p in mentioned_places(f"{row.title}。{row.content[:200]}"))
        )
        mentions.append(named)
        places.append(row.location.strip() or (named[0] if named else ""))
    frame["place"] = places
    frame["mentions"] = mentions
    return Corpus(frame=frame.reset_index(drop=True), words=words)


def daily_counts(store: Store, f: Filters, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Messages per day x province x city x domain for `start`..`end` under the filters' other conditions."""
    return store.df(text("insight", "daily_counts"), _window(f, start, end))


def unit_names(store: Store) -> list[str]:
    return [row[0] for row in store.rows(text("insight", "unit_names"))]
