"""Stored reply features (supervision/features.py) and the reply checks read from them (supervision/quality.py).

- the stored rows equal the pure function on hand-written replies, and the keys are what the definitions say;
- a reply whose text is written again is computed again (through the real write path);
- the boilerplate flags equal an independent in-memory computation of the documented rule on a seeded store;
- composed answers that restate the message's problem in its own words are not boilerplate, stock answers
  are (a fixture worded unlike the demo's generator).
"""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from insight import index
from queries.periods import Filters
from queries.writes import upsert
from supervision import boilerplate, features, league, quality, rules
from tests.conftest import HENAN, SICHUAN, frame, message, reply

APRIL = Filters(dt.date(2023, 4, 1), dt.date(2023, 4, 30))
APRIL_START, APRIL_STOP = dt.datetime(2023, 4, 1), dt.datetime(2023, 5, 1)


def _write(store, messages: list[dict], replies: list[dict]) -> None:
    """Through the real write path: records with their text columns (content, location)."""
    upsert(store, "messages", frame(messages))
    upsert(store, "replies", frame(replies))


def _message(mid, created, title, body="", location="", province=HENAN):
    row = message(mid, created, province, "城建", city="开封市")
    row.update(title=title, content=body, location=location, likes=0)
    return row


def _reply(rid, mid, at, unit, text):
    row = reply(rid, mid, at, unit)
    row["content"] = text
    return row


# -- a town's story, worded unlike the demo ----------------------------------------------------------------------
# Three problems people write about in their own words, each from four places; 顺河区住建局 answers every one by
# naming the problem in the message's words inside its stock sentences (specific); 鼓楼区信访办 sends one of two
# stock notes whatever was asked (boilerplate).
TOPICS = [
    ("广场舞音响噪音扰民", "每天晚上广场舞音响开得很大，噪音扰民，孩子没法写作业。"),
    ("冬季供暖温度不达标", "入冬以来家里供暖温度只有十四度，老人受不了。"),
    ("公交车经常晚点", "早上七点的公交车经常晚点半小时，上班总迟到。"),
]
PLACES = ["清平里", "西司门", "书店街", "汴京路"]
SPECIFIC = "你好。关于你所说的{topic}，本局工作人员已到现场查看并登记。后续情况请留意本平台通知，谢谢理解。"
STOCK = [
    "来信收到，我们会尽快研究，请耐心等候通知，谢谢理解。",
    "你好。你的诉求我们已经记录，会转交有关科室跟进，谢谢理解。",
]


def _town():
    messages, replies, truth = [], [], {}
    for (t, (title, body)), (p, place) in itertools.product(enumerate(TOPICS), enumerate(PLACES)):
        mid = f"t{t}p{p}"
        messages.append(_message(mid, f"2023-04-{2 + 3 * t + p:02d} 08:00", f"{place}{title}", body, place))
        if p % 2 == 0:
            topic = title[-6:]  # the problem as the message words it (e.g. 噪音扰民 / 温度不达标 / 经常晚点)
            replies.append(
                _reply(
                    f"r{mid}", mid, f"2023-04-{3 + 3 * t + p:02d} 08:00", "顺河区住建局", SPECIFIC.format(topic=topic)
                )
            )
            truth[f"r{mid}"] = False
        else:
            replies.append(_reply(f"r{mid}", mid, f"2023-04-{3 + 3 * t + p:02d} 09:00", "鼓楼区信访办", STOCK[t % 2]))
            # boilerplate once the note has answered another problem before it (the loop runs in time order)
            truth[f"r{mid}"] = any(r["content"] == STOCK[t % 2] for r in replies[:-1])
    return messages, replies, truth


def test_stored_features_equal_the_pure_function(store):
    messages, replies, _ = _town()
    _write(store, messages, replies)
    quality.flags(store, APRIL)  # fills the features
    stored = store.df("SELECT * FROM reply_features ORDER BY reply_id").set_index("reply_id")
    clauses = store.df("SELECT reply_id, clause_key, length FROM reply_clauses")
    assert set(stored.index) == {r["reply_id"] for r in replies}
    by_id = {m["message_id"]: m for m in messages}
    generic = frozenset(store.df("SELECT gram FROM reply_generic_bigrams")["gram"])
    for r in replies:
        m, row, text = by_id[r["message_id"]], stored.loc[r["reply_id"]], r["content"]
        # the definitions, by hand: keys of the reduced text, the named place, the distinct clauses
        assert int(row["text_key"]) == features.key(rules.han(text))
        assert int(row["problem_key"]) == features.key("@" + m["location"])
        own = clauses[clauses["reply_id"] == r["reply_id"]]
        expected = {features.key(c): len(c) for c in rules.clauses(text)}
        assert dict(zip(own["clause_key"].astype("uint64").tolist(), own["length"], strict=True)) == expected
        assert row["chars"] == sum(expected.values())
        assert bool(row["addresses"]) == features.addresses(text, m["title"], m["content"], m["location"], generic)
    # and the pure function over the same input gives the same rows
    batch = pd.DataFrame(
        [
            dict(
                reply_id=r["reply_id"],
                message_id=r["message_id"],
                replied_at=pd.Timestamp(r["replied_at"]),
                unit=r["unit"],
                reply=r["content"],
                title=by_id[r["message_id"]]["title"],
                body=by_id[r["message_id"]]["content"],
                location=by_id[r["message_id"]]["location"],
            )
            for r in replies
        ]
    )
    batch.attrs["generic"] = generic
    pure = features.compute_reply_features(batch).set_index("reply_id").sort_index()
    for column in ("text_key", "problem_key", "chars", "addresses", "action", "legal"):
        assert (
            stored[column].astype("float64" if column != "addresses" else bool).tolist()
            == pure[column].astype("float64" if column != "addresses" else bool).tolist()
        ), column


@pytest.mark.parametrize(
    ("reply_text", "location"),
    [
        (None, "书店街"),  # no text
        ("\u3000 \n\t", "书店街"),  # only (Unicode) whitespace: no text
        ("经核实，依据《城市道路管理条例》第１２条，已于５月３日完成书店街路灯维修。", "书店街"),  # full-width digits
        ("根据有关规定\u3000我局已协调施工单位整改\u00a0噪音扰民问题已处理", ""),  # Unicode spaces split clauses
        ("您反映的广场舞音响噪音扰民问题收悉，将转交有关科室研究，感谢您的来信。", "汴"),  # a one-character place
        ("收到。收到。来信收到我们会尽快研究。来信收到我们会尽快研究。AB路12号灯坏了修好了", "西司门"),  # repeats
        ("已于第٣条规定时限内办结，Thanks！", "清平里"),  # Arabic-Indic digit, Latin letters
    ],
)
def test_the_database_computes_the_same_features(store, reply_text, location):
    """ensure_reply_features works the texts out in the database (RE2, where \\s and \\d are ASCII unless spelled
    out): its rows equal the pure Python function's on texts where the two could differ."""
    msg = _message("e1", "2023-04-02 08:00", "广场舞音响噪音扰民", "每天晚上广场舞音响开得很大，噪音扰民。", location)
    _write(store, [msg], [_reply("re1", "e1", "2023-04-03 09:00", "顺河区住建局", reply_text)])
    batch = features.missing_replies(store, APRIL_START, APRIL_STOP, 10)
    assert batch["reply"].tolist() == [reply_text]
    pure = features.compute_reply_features(batch)
    expected = pa.Table.from_pandas(pure, schema=features.FEATURE_SCHEMA, preserve_index=False)
    assert features.sql_reply_features(store, APRIL_START, APRIL_STOP, 10).equals(expected)


def test_composed_specific_answers_are_not_boilerplate(store):
    messages, replies, truth = _town()
    _write(store, messages, replies)
    flags = quality.flags(store, APRIL).set_index("reply_id")
    assert flags["boilerplate"].to_dict() == truth
    # the specific answers repeat two or more of their message's words; the stock notes none
    specific = [r["reply_id"] for r in replies if r["unit"] == "顺河区住建局"]
    assert flags.loc[specific, "addresses"].all() and not flags.loc[specific, "boilerplate"].any()


def _league_flags_as_refilled(store) -> int:
    """The league's boilerplate counts (the first replies' flags kept in league_facts) equal those of facts filled
    afresh from the stored flags, and every flag row of a first reply is in its facts row; returns the count."""
    columns = ["with_text", "boilerplate"]
    got = league.counts(store, APRIL).set_index(["unit", "province"])[columns].sort_index()
    with store.write() as cur:
        cur.execute("DELETE FROM league_facts")
    assert league.counts(store, APRIL).set_index(["unit", "province"])[columns].sort_index().equals(got)
    return int(got["boilerplate"].sum())


def test_a_rewritten_reply_is_computed_again(store):
    messages, replies, truth = _town()
    _write(store, messages, replies)
    rid = "rt2p0"  # a specific answer given after the stock note STOCK[0] first answered another problem
    before = quality.flags(store, APRIL).set_index("reply_id")["boilerplate"]
    assert not before[rid] and not before["rt0p1"]  # rt0p1: the first use of STOCK[0]
    league_before = _league_flags_as_refilled(store)
    row = next(r for r in replies if r["reply_id"] == rid)
    upsert(store, "replies", frame([dict(row, content=STOCK[0])]))  # the unit now sends the stock note
    # the league's stored first-reply flags follow each write (checked before the flags are read otherwise)
    assert _league_flags_as_refilled(store) == league_before + 1
    flags = quality.flags(store, APRIL).set_index("reply_id")
    assert flags.loc[rid, "boilerplate"] and not flags.loc["rt0p1", "boilerplate"]
    # an earlier reply re-sent as the same note: rt0p1 now repeats it, so its stored flag is computed again
    first = next(r for r in replies if r["reply_id"] == "rt0p0")
    upsert(store, "replies", frame([dict(first, content=STOCK[0])]))
    assert _league_flags_as_refilled(store) == league_before + 2
    flags = quality.flags(store, APRIL).set_index("reply_id")
    assert flags.loc["rt0p1", "boilerplate"] and not flags.loc["rt0p0", "boilerplate"]
    # and back: the earlier reply specific again, rt0p1 is the first use again (a set flag dropped and recomputed)
    upsert(store, "replies", frame([first]))
    assert _league_flags_as_refilled(store) == league_before + 1
    assert not quality.flags(store, APRIL).set_index("reply_id").loc["rt0p1", "boilerplate"]
    stored = store.scalar("SELECT text_key FROM reply_features WHERE reply_id = ?", [rid])
    assert int(stored) == features.key(rules.han(STOCK[0]))
    assert store.scalar("SELECT count(*) FROM reply_features WHERE reply_id = ?", [rid]) == 1
    # its message is sent again naming another place: the reply's problem follows
    mid = row["message_id"]
    upsert(store, "messages", frame([dict(next(m for m in messages if m["message_id"] == mid), location="鼓楼广场")]))
    _league_flags_as_refilled(store)
    quality.flags(store, APRIL)
    stored = store.scalar("SELECT problem_key FROM reply_features WHERE reply_id = ?", [rid])
    assert int(stored) == features.key("@鼓楼广场")


def test_flags_are_not_stored_from_features_saved_meanwhile(store, monkeypatch):
    # While the flags of April are computed, the earlier reply rt0p0 is re-sent as the stock note and its features
    # saved: rt0p1 (the same note on 4 April) now repeats it, so a flag computed from the features read before is
    # stale and must not be stored.
    messages, replies, _ = _town()
    _write(store, messages, replies)
    features.ensure_reply_features(store, APRIL_START - dt.timedelta(days=91), APRIL_STOP)
    first = next(r for r in replies if r["reply_id"] == "rt0p0")
    real, fired = boilerplate.span_flags, []

    def meanwhile(store_, start, stop, windows):
        flags = real(store_, start, stop, windows)
        if not fired:
            fired.append(True)
            upsert(store, "replies", frame([dict(first, content=STOCK[0])]))
            features.ensure_reply_features(store, APRIL_START, APRIL_STOP)
        return flags

    monkeypatch.setattr(boilerplate, "span_flags", meanwhile)
    flags = quality.flags(store, APRIL).set_index("reply_id")["boilerplate"]
    assert fired
    assert flags["rt0p1"] and not flags["rt0p0"]


def test_compute_runs_in_a_spawned_worker(store):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    messages, replies, _ = _town()
    _write(store, messages, replies)
    batch = features.missing_replies(store, APRIL_START, APRIL_STOP, 100)
    assert len(batch) == len(replies) and batch.attrs["generic"]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        remote = pool.submit(features.compute_reply_features, batch).result(timeout=120)
    pd.testing.assert_frame_equal(remote, features.compute_reply_features(batch))


def test_only_missing_replies_are_computed(store):
    messages, replies, _ = _town()
    _write(store, messages, replies)
    assert features.ensure_reply_features(store, APRIL_START, APRIL_STOP) == len(replies)
    assert features.ensure_reply_features(store, APRIL_START, APRIL_STOP) == 0
    assert features.missing_replies(store, APRIL_START, APRIL_STOP, 10).empty


# -- the documented rule, computed in memory, on a seeded store ----------------------------------------------------
SENTENCES = [
    "你好，来信已经收悉",
    "我们高度重视这个情况",
    "已经转给相关科室办理",
    "请耐心等待后续答复",
    "感谢你对本单位工作的支持",
    "执法队员已经到现场核实",
    "相关责任单位已经限期整改",
]


@pytest.fixture
def seeded(store):
    rng = np.random.default_rng(11)
    places = [f"{a}{b}" for a in ("东风", "建设", "人民", "解放", "和平") for b in ("小区", "路口", "市场")]
    messages, replies = [], []
    start = pd.Timestamp("2023-02-01")
    for i in range(160):
        created = start + pd.Timedelta(hours=int(rng.integers(0, 24 * 85)))
        place = places[int(rng.integers(0, len(places)))] if rng.random() < 0.6 else ""
        title = f"{place or '本地'}第{i}号诉求"
        messages.append(_message(f"m{i}", str(created), title, f"事情经过{i}", place, HENAN if i % 2 else SICHUAN))
        at = created + pd.Timedelta(hours=int(rng.integers(1, 200)))
        kind = rng.random()
        if kind < 0.3:  # a stock note, the same words
            text = "。".join(SENTENCES[:4]) + "。"
        elif kind < 0.6:  # stock sentences in another order, one dropped or reworded
            parts = list(rng.permutation(SENTENCES)[: int(rng.integers(3, 6))])
            if rng.random() < 0.5:
                parts[0] = parts[0].replace("已经", "已")
            text = "，".join(parts) + "。"
        elif kind < 0.75:  # two stock sentences and a third reworded inside (partly shared: credit by pieces)
            word = "".join(rng.choice(list("长期一贯大力热心真诚无私耐心细致周到全面"), 2))
            text = f"{SENTENCES[0]}，{SENTENCES[1]}，感谢你对本单位{word}工作的支持。"
        else:  # its own words
            text = f"{place or '该处'}的第{i}号事项，处理人员{i % 7}号核查后答复如下：情况属实，正在处理。"
        replies.append(_reply(f"r{i}", f"m{i}", str(at.floor("s")), f"单位{i % 9}", text))
        if i % 5 == 0:  # a later second reply (never the league's), the stock note from another unit
            later = str((at + pd.Timedelta(days=2)).floor("s"))
            replies.append(_reply(f"r{i}b", f"m{i}", later, f"单位{(i + 1) % 9}", "。".join(SENTENCES[:4]) + "。"))
    _write(store, messages, replies)
    return store, pd.DataFrame(messages), pd.DataFrame(replies)


WINDOW = 90  # days before the reply's own day that it is compared with (the documented rule)
NEAR, SHARE, PARTIAL, PIECE = 3, 0.7, 0.4, 4


def _expected_boilerplate(store, messages, replies, f: Filters) -> pd.Series:
    """The documented rule (supervision/boilerplate.py), computed here in memory from the raw texts: each reply
    against the replies of its own day and the WINDOW days before it."""
    generic = frozenset(store.df("SELECT gram FROM reply_generic_bigrams")["gram"])
    start, stop = pd.Timestamp(f.start), pd.Timestamp(f.end) + pd.Timedelta(days=1)
    data = replies.merge(messages[["message_id", "title", "content", "location"]], on="message_id", suffixes=("", "_m"))
    data["replied_at"] = pd.to_datetime(data["replied_at"])
    data = data.reset_index(drop=True)
    place = data["location"].map(rules.han)
    data["problem"] = np.where(
        place.str.len() >= 2, "@" + place, data["title"].map(rules.han) + "|" + data["content_m"].map(rules.han)
    )
    data["reduced"] = data["content"].map(rules.han)
    data["clauses"] = [list(dict.fromkeys(rules.clauses(t))) for t in data["content"]]
    addresses = pd.Series(
        [
            features.addresses(r, t, b, loc, generic)
            for r, t, b, loc in zip(data["content"], data["title"], data["content_m"], data["location"], strict=True)
        ]
    )

    def pieces_of(c):
        return [c[i : i + PIECE] for i in range(max(1, len(c) - PIECE + 1))]

    def flag(i) -> bool:
        day = data.at[i, "replied_at"].normalize()
        seen = data[
            (data["replied_at"] >= day - pd.Timedelta(days=WINDOW)) & (data["replied_at"] < day + pd.Timedelta(days=1))
        ]
        if seen.loc[seen["reduced"] == data.at[i, "reduced"], "problem"].nunique() >= 2:
            return True
        uses = {}  # clause -> problems using it in the window
        for own, prob in zip(seen["clauses"], seen["problem"], strict=True):
            for clause in own:
                uses.setdefault(clause, set()).add(prob)
        shared = {c for c, probs in uses.items() if len(probs) >= NEAR}
        own = data.at[i, "clauses"]
        total = sum(len(c) for c in own)
        if not total:
            return False
        full = sum(len(c) for c in own if c in shared) / total
        if full < PARTIAL or full >= SHARE:
            return full >= SHARE
        pieces = {p for c in shared for p in pieces_of(c)}
        credit = sum(
            len(c) if c in shared else len(c) * sum(p in pieces for p in pieces_of(c)) / len(pieces_of(c)) for c in own
        )
        return credit / total >= SHARE

    data["boilerplate"] = [not addresses[i] and flag(i) for i in data.index]
    in_period = data[(data["replied_at"] >= start) & (data["replied_at"] < stop)]
    return in_period.set_index("reply_id")["boilerplate"].sort_index()


def test_boilerplate_equals_an_in_memory_computation(seeded):
    store, messages, replies = seeded
    for f in (APRIL, Filters(dt.date(2023, 3, 1), dt.date(2023, 3, 31))):
        got = quality.flags(store, f).set_index("reply_id")["boilerplate"].sort_index()
        expected = _expected_boilerplate(store, messages, replies, f)
        assert got.index.tolist() == expected.index.tolist()
        assert got.tolist() == expected.tolist()
        assert 0 < got.sum() < len(got)  # both kinds present: the comparison means something


def test_league_boilerplate_counts_equal_the_in_memory_rule(seeded):
    store, messages, replies = seeded
    expected = _expected_boilerplate(store, messages, replies, APRIL).rename("boilerplate").reset_index()
    expected = expected.merge(replies[["reply_id", "message_id", "unit", "replied_at"]], on="reply_id")
    expected = expected.merge(messages[["message_id", "province"]], on="message_id")
    first = replies.assign(replied_at=pd.to_datetime(replies["replied_at"])).groupby("message_id")["replied_at"].min()
    expected = expected[
        pd.to_datetime(expected["replied_at"]).to_numpy() == expected["message_id"].map(first).to_numpy()
    ]
    expected = expected.groupby(["unit", "province"]).agg(
        with_text=("reply_id", "size"), boilerplate=("boilerplate", "sum")
    )
    got = league.counts(store, APRIL).set_index(["unit", "province"])[["with_text", "boilerplate"]]
    got = got[got["with_text"] > 0].sort_index()
    assert got.index.tolist() == expected.sort_index().index.tolist()
    assert got["with_text"].tolist() == expected.sort_index()["with_text"].tolist()
    assert got["boilerplate"].tolist() == expected.sort_index()["boilerplate"].astype(int).tolist()
    assert 0 < got["boilerplate"].sum() < got["with_text"].sum()


def test_the_background_indexer_stores_reply_features_without_a_new_data_version(store):
    import time
    from dataclasses import replace

    from settings import Settings

    messages, replies, _ = _town()
    _write(store, messages, replies)
    version = store.data_version
    settings = replace(Settings(), clock="2023-05-01T12:00:00", text_index_days=60)
    indexer = index.Indexer(store, [features.REPLY_FEATURES], settings).start()
    try:
        assert indexer.idle(120), "the indexer did not finish a pass"
    finally:
        began = time.monotonic()
        indexer.close()
    assert time.monotonic() - began < 10
    assert store.scalar("SELECT count(*) FROM reply_features") == len(replies)
    assert features.missing_replies(store, APRIL_START, APRIL_STOP, 10).empty
    # the features' batches leave the data version alone, and so does the first set of reference bigrams
    assert store.data_version == version


def test_the_background_indexer_stores_the_boilerplate_flags_a_read_would(store):
    from dataclasses import replace

    from insight import index
    from settings import Settings
    from supervision import boilerplate

    messages, replies, truth = _town()
    _write(store, messages, replies)
    settings = replace(Settings(), clock="2023-05-01T12:00:00", text_index_days=60)
    indexer = index.Indexer(store, [features.REPLY_FEATURES, boilerplate.BOILERPLATE], settings).start()
    try:
        assert indexer.idle(120), "the indexer did not finish a pass"
    finally:
        indexer.close()
    stored = store.df("SELECT reply_id, boilerplate FROM reply_boilerplate")
    assert dict(zip(stored["reply_id"], stored["boilerplate"].astype(bool), strict=True)) == truth
    assert boilerplate.ensure(store, APRIL_START, APRIL_STOP) == 0  # a read finds nothing left to compute


def _stored_rows(store) -> tuple[list, list]:
    rows = store.rows("SELECT * FROM reply_features ORDER BY reply_id")
    clauses = store.rows("SELECT * FROM reply_clauses ORDER BY reply_id, clause_key")
    return rows, clauses


def test_many_missing_replies_are_computed_in_worker_processes_as_in_this_one(store, monkeypatch):
    messages, replies, _ = _town()
    _write(store, messages, replies)
    assert features.ensure_reply_features(store, APRIL_START, APRIL_STOP) == len(replies)
    in_process = _stored_rows(store)
    with store.write() as cur:
        cur.execute("DELETE FROM reply_features")
        cur.execute("DELETE FROM reply_clauses")
    monkeypatch.setattr(index, "PARALLEL_FROM", 1)
    monkeypatch.setattr(features, "WORKER_BATCH", 2)  # several batches per read, finishing in any order
    monkeypatch.setattr(features, "READ_DAYS", 5)  # several reads
    version = store.data_version
    assert features.ensure_reply_features(store, APRIL_START, APRIL_STOP) == len(replies)
    assert _stored_rows(store) == in_process
    assert store.data_version == version  # derived data: cached answers stay


def test_the_first_reference_set_keeps_the_data_version_a_new_one_bumps_it(store):
    messages, replies, _ = _town()
    _write(store, messages, replies)
    version = store.data_version
    features.ensure_reply_features(store, APRIL_START, APRIL_STOP)
    assert store.data_version == version  # no answer was made with another set
    with store.write() as cur:
        store.set_meta(cur, "reply_features_code", "made by other code")
    version = store.data_version
    features.ensure_reply_features(store, APRIL_START, APRIL_STOP)
    assert store.data_version != version  # stored checks were replaced: cached answers are stale


def test_reference_sample_is_the_replies_with_text_of_the_smallest_id_hashes(store):
    messages, replies, _ = _town()
    _write(store, messages, replies)
    ordered = [r for (r,) in store.rows("SELECT reply_id FROM reply_texts ORDER BY hash(reply_id), reply_id")]
    # five of the six smallest hashes without text: a sample of three is not found among them (2n) alone
    blank = set(ordered[:6][1:])
    upsert(store, "replies", frame([dict(r, content="   ") for r in replies if r["reply_id"] in blank]))
    texts = {r["reply_id"]: r["content"] for r in replies}
    for n in (1, 3, len(replies)):
        expected = [texts[r] for r in ordered if r not in blank][:n]
        assert sorted(features.reference_sample(store, n)["reply"]) == sorted(expected), n


def test_checks_of_other_code_are_replaced_when_the_service_is_made_not_under_its_first_answer(store, monkeypatch):
    """Replacing them moves the data version: done under a league, the league was cached under the version before
    and its next asker (a briefing's second unit list) computed it all again."""
    from queries.service import Metrics
    from settings import Settings
    from supervision.service import Supervision

    messages, replies, _ = _town()
    _write(store, messages, replies)
    features.ensure_reply_features(store, APRIL_START, APRIL_STOP)
    with store.write() as cur:
        store.set_meta(cur, "reply_features_code", "made by other code")
    version = store.data_version
    service = Supervision(Metrics(store), Settings())
    assert store.meta("reply_features_code") == features.CODE_VERSION
    assert store.data_version != version
    computed = []
    real = league.league
    monkeypatch.setattr(league, "league", lambda *a: computed.append(1) or real(*a))
    version = store.data_version
    table = service.league(APRIL)
    assert store.data_version == version
    pd.testing.assert_frame_equal(service.league(APRIL), table)
    assert len(computed) == 1  # the second asker found it cached
    assert store.scalar("SELECT count(*) FROM reply_features") == len(replies)
