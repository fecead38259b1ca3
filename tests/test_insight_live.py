"""Live writes update the insight results incrementally, and what they give equals a fresh (cold) computation at the
same data version: hot issues, hot words and alerts, on a hand-written month (Zhejiang, Jiangsu, Shandong) worded
unlike the demo's generator and the other fixtures.

The month holds two problems that gain messages in a write (a leaking garage in 杭州, a noisy factory in 南京), a
burst of complaints about shared bikes in 济南 on a series silent for the eight weeks before (a surge the write
adds to), and messages elsewhere; a second write re-imports a member with another text and another with more likes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from itertools import chain

import numpy as np
import pandas as pd
import pytest

from insight import corpus as corpus_mod
from insight import hotwords
from insight import issues as issues_mod
from insight import service as service_mod
from insight.service import Insight
from queries.periods import Filters
from queries.writes import upsert
from tests.conftest import frame, message

ZHEJIANG, JIANGSU, SHANDONG = 330000, 320000, 370000
SEPTEMBER = Filters(dt.date(2025, 9, 1), dt.date(2025, 9, 30))
NOW = dt.datetime(2025, 10, 1, 12, 0)

# (province, city, district, category, location)
GARAGE_AT = (ZHEJIANG, "杭州市", "西湖区", "城建", "梧桐苑")
NOISE_AT = (JIANGSU, "南京市", "鼓楼区", "环保", "金陵机械厂")
BIKES_AT = (SHANDONG, "济南市", "历下区", "交通", "")

# (day, title, body); held back: written live in the first write
GARAGE = [
    ("2025-09-03", "梧桐苑地下车库渗水", "梧桐苑地下车库顶板一直在渗水，停在下面的车落满了泥点子。", False),
    ("2025-09-04", "车库顶上滴水", "每天早上去车库开车，顶上的水滴个不停，地面也湿滑。", False),
    ("2025-09-05", "梧桐苑车库积水没人管", "车库里积水已经没过鞋面，物业说要等开发商来修。", True),
    ("2025-09-08", "地下车库渗漏严重", "梧桐苑地下车库渗漏越来越严重，墙面都长了霉。", False),
    ("2025-09-09", "请督促修复车库防水", "车库防水层坏了好几个月，业主多次报修没有结果。", True),
    ("2025-09-10", "梧桐苑车库漏水伤车", "车库漏水把车漆都泡坏了，谁来赔偿？", False),
    ("2025-09-11", "车库墙面渗水发霉", "地下车库墙面渗水发霉，味道很重，老人孩子都不敢下去。", True),
    ("2025-09-12", "梧桐苑车库渗水问题", "反映过的车库渗水问题至今没有处理，希望相关部门过问。", False),
]
NOISE = [
    ("2025-09-08", "金陵机械厂夜里轰鸣", "厂里的机器每天夜里轰鸣到凌晨两点，附近住户睡不着。", False),
    ("2025-09-09", "工厂噪声扰民", "金陵机械厂晚上开工，冲压声一下一下震得窗户响。", False),
    ("2025-09-10", "机械厂夜间生产噪声大", "夜间生产的噪声太大，孩子第二天上课没精神。", True),
    ("2025-09-12", "请查处机械厂噪声", "金陵机械厂的噪声已经持续半个月，请环保部门夜间来测一测。", False),
    ("2025-09-14", "半夜机器声吵得睡不着", "半夜机器声一直不停，投诉电话打了也没人来。", True),
    ("2025-09-15", "机械厂噪声何时解决", "金陵机械厂噪声扰民的问题什么时候能解决？", False),
]
BIKES = [
    ("2025-09-20", "共享单车堆满人行道", "泉城路一带共享单车堆满了人行道，推婴儿车都过不去。", False),
    ("2025-09-20", "单车乱停挡住盲道", "共享单车横七竖八停在盲道上，盲人根本没法走。", False),
    ("2025-09-20", "路口单车堆成山", "路口的共享单车堆成小山，行人只能走机动车道。", False),
    ("2025-09-20", "共享单车占道严重", "地铁口共享单车占道严重，早高峰挤得水泄不通。", False),
    ("2025-09-20", "请清理乱停的单车", "门口的共享单车乱停乱放好多天了，请尽快清理。", False),
    ("2025-09-20", "公园门口单车成堆", "公园门口的共享单车一堆一堆的，游客进出很不方便。", False),
    ("2025-09-20", "单车投放太多", "这条街投放的共享单车远远超过需要，到处都是。", False),
    ("2025-09-20", "共享单车倒了一地", "一阵风吹过，路边的共享单车倒了一地，也没人扶。", False),
    ("2025-09-20", "学校旁单车乱放", "学校旁边共享单车乱放，学生上下学只能绕行。", False),
    ("2025-09-20", "单车堵住消防通道", "小区外面的共享单车把消防通道都堵住了。", True),
    ("2025-09-21", "共享单车没人管", "周末共享单车更多了，人行道完全被占，运营公司不管。", True),
    ("2025-09-21", "单车挤占人行道", "共享单车挤占人行道，老人走路要绕到马路上。", True),
]
OTHERS = [  # (place, day, title, body)
    ((ZHEJIANG, "杭州市", "上城区", "教育", ""), "2025-09-04", "学校门口接送拥堵", "放学时家长的车把学校门口堵死了。"),
    ((ZHEJIANG, "杭州市", "西湖区", "交通", ""), "2025-09-06", "公交站牌字迹看不清", "站牌褪色，线路信息看不清楚。"),
    (
        (JIANGSU, "南京市", "鼓楼区", "医疗", ""),
        "2025-09-07",
        "社区医院挂号难",
        "社区医院每天只放二十个号，排队排不上。",
    ),
    ((JIANGSU, "南京市", "玄武区", "城建", ""), "2025-09-13", "护栏锈蚀断裂", "河边护栏锈蚀断裂，晚上散步很危险。"),
    ((SHANDONG, "济南市", "市中区", "政务", ""), "2025-09-16", "办证材料要求不一", "窗口两次告诉我的材料清单不一样。"),
    ((SHANDONG, "济南市", "历下区", "环保", ""), "2025-09-18", "餐馆油烟熏人", "楼下烧烤店的油烟直冲楼上窗户。"),
    ((ZHEJIANG, "宁波市", "鄞州区", "企业", ""), "2025-09-22", "公司拖欠加班费", "连续三个月的加班费一分没发。"),
]
# the weeks before: light traffic on two series (the surges' baselines), and the month before the weights learn from
BEFORE = [
    ("公交车晚点", "早上那趟公交车又晚了二十分钟。"),
    ("河道有异味", "小河里的水发黑发臭，夏天更明显。"),
    ("路口红绿灯太短", "行人绿灯只有十几秒，老人走不过去。"),
    ("垃圾站离楼太近", "垃圾站就在楼下，气味飘进屋里。"),
]
LIVE = {"garage", "noise", "bikes"}


def _text_row(mid, place, day, title, body, hour, likes=0):
    province, city, district, category, location = place
    created = pd.Timestamp(day) + pd.Timedelta(hours=hour)
    row = message(mid, created, province, category, city=city, district=district, title=title)
    return {**row, "content": body, "location": location or None, "likes": likes}


def _rows(held: bool) -> list[dict]:
    """The month's messages: those held back (held) or the others."""
    out = []
    for key, place, items in (("garage", GARAGE_AT, GARAGE), ("noise", NOISE_AT, NOISE), ("bikes", BIKES_AT, BIKES)):
        for n, (day, title, body, later) in enumerate(items):
            if later == held:
                # the location field on every other message only: the rest name the place in their text
                where = place if n % 2 == 0 else (*place[:4], "")
                out.append(_text_row(f"{key}-{n}", where, day, title, body, hour=8 + n, likes=n % 4))
    if not held:
        for n, (place, day, title, body) in enumerate(OTHERS):
            out.append(_text_row(f"other-{n}", place, day, title, body, hour=10))
        start = SEPTEMBER.start - dt.timedelta(weeks=8)
        for week in range(8):
            quiet = ((*GARAGE_AT[:3], "交通", ""), 1), ((*NOISE_AT[:3], "环保", ""), 3)
            for k, (place, weekday) in enumerate(quiet):
                title, body = BEFORE[(week + k) % len(BEFORE)]
                day = start + dt.timedelta(weeks=week, days=weekday)
                out.append(_text_row(f"before-{week}-{k}", place, day, title, body, hour=9))
    return out


def _same_corpus(service: Insight, cold: Insight) -> None:
    """The month's messages as the service keeps them (updated) equal a cold read: rows, order, marks and words."""
    kept, read = service.corpus(SEPTEMBER), cold.corpus(SEPTEMBER)
    columns = ["message_id", "created_at", "mark", "title", "likes", "place"]
    pd.testing.assert_frame_equal(kept.frame[columns], read.frame[columns])
    assert kept.words == read.words


def _same_pairs(service: Insight, cold: Insight) -> None:
    """The linked pairs the service's grouping keeps (updated) are the cold grouping's, as pairs of message ids."""

    def pairs(grouping):
        ids = grouping.keys.ids
        return {frozenset(p) for p in zip(ids[grouping.edges[0]], ids[grouping.edges[1]], strict=True)}

    kept, found = pairs(service.grouping(SEPTEMBER)), pairs(cold.grouping(SEPTEMBER))
    assert kept == found and len(found) >= 10


def _results(service: Insight) -> tuple:
    return (
        service.hot_issues(SEPTEMBER, limit=1000),
        service.hot_words(SEPTEMBER, limit=1000),
        service.alerts(SEPTEMBER),
    )


@pytest.mark.parametrize("indexed", [False, True])
def test_results_after_live_writes_equal_a_cold_computation(store, monkeypatch, indexed):
    """indexed: the month's words are stored before the service first reads it (else its read segments them and
    codes them with the stored ones); either way its corpus is coded and its cold grouping made from the codes,
    without features (an update makes those of the rows it looks at)."""
    monkeypatch.setattr(service_mod, "REFERENCE_MIN", 5)  # a small board: the month before still gives the weights
    upsert(store, "messages", frame(_rows(held=False)))
    if indexed:
        Insight(store, clock=lambda: NOW).corpus(SEPTEMBER)  # segments the month and stores its words
    service = Insight(store, clock=lambda: NOW)
    before = _results(service)
    cold_grouping = service.grouping(SEPTEMBER)
    assert cold_grouping.documents is None and cold_grouping.corpus.coded is not None
    assert service.weights(SEPTEMBER) is not None  # the weights come from August: updates do not regroup everything
    issues_before = {i["id"]: i for i in before[0]["issues"]}
    assert {i["id"].split("-")[1] for i in issues_before.values()} >= LIVE  # each planted problem is an issue

    calls: dict[str, list] = {"extend": [], "regroup": [], "read": [], "counted": [], "updated": []}
    real_extend, real_rows = issues_mod._extend, issues_mod._group_rows
    real_built, real_counts, real_updated = corpus_mod._built, corpus_mod.daily_counts, hotwords.Counts.updated
    monkeypatch.setattr(
        issues_mod,
        "_extend",
        lambda c, d, rows, stale, *a: (
            calls["extend"].extend(c.frame["message_id"].iloc[rows[stale[rows]]]) or real_extend(c, d, rows, stale, *a)
        ),
    )
    monkeypatch.setattr(
        issues_mod,
        "_group_rows",
        lambda c, d, rows, *a: calls["regroup"].extend(c.frame["message_id"].iloc[rows]) or real_rows(c, d, rows, *a),
    )
    monkeypatch.setattr(
        corpus_mod,
        "_built",
        lambda s, g, table, *a: (
            calls["read"].extend(table.column("message_id").to_pylist()) or real_built(s, g, table, *a)
        ),
    )
    monkeypatch.setattr(
        corpus_mod, "daily_counts", lambda s, f, a, b: calls["counted"].append((a, b)) or real_counts(s, f, a, b)
    )
    monkeypatch.setattr(
        hotwords.Counts, "updated", lambda self, *a: calls["updated"].append(1) or real_updated(self, *a)
    )

    # write 1: the held-back messages join their problems, the burst grows; and a message in 青岛 uses a word only
    # one message of the month held (锈蚀, of a railing in 南京): that message's vector changes, its pairs too
    live = _rows(held=True)
    rusty = _text_row(
        "qingdao-1", (SHANDONG, "青岛市", "市南区", "城建", ""), "2025-09-25", "栏杆锈蚀", "海边栏杆锈蚀得厉害。", 11
    )
    upsert(store, "messages", frame([*live, rusty]))
    after = _results(service)
    seen = {name: list(made) for name, made in calls.items()}  # before the cold service below adds its own
    cold = Insight(store, clock=lambda: NOW)
    assert after == _results(cold)
    _same_corpus(service, cold)
    _same_pairs(service, cold)
    # incremental: only the written messages were read again, only the touched days counted again, the word counts
    # updated, and only the pairs of the new messages and of those whose vector changed computed again
    written = {r["message_id"] for r in live} | {"qingdao-1"}
    assert set(seen["read"]) == written
    assert seen["counted"] and all(a >= dt.date(2025, 9, 5) and b <= dt.date(2025, 9, 25) for a, b in seen["counted"])
    assert seen["updated"]
    stale = set(seen["extend"])
    assert written <= stale and "other-3" in stale  # the railing in 南京 (锈蚀 entered the vocabulary)
    assert not seen["regroup"]
    # the problems gained their messages and the surge its burst
    grown = {i["id"].split("-")[1]: i["messages"] for i in after[0]["issues"]}
    was = {i["id"].split("-")[1]: i["messages"] for i in before[0]["issues"]}
    assert all(grown[k] > was[k] for k in LIVE)
    bikes = [[a for a in found[2]["alerts"] if a["province_code"] == SHANDONG] for found in (before, after)]
    assert bikes[0] and max(a["messages"] for a in bikes[0]) == 9  # the burst of the 20th
    assert max(a["messages"] for a in bikes[1]) == 12 and all(a["category"] == "交通" for a in bikes[1])
    assert after[1]["messages"] == before[1]["messages"] + len(written)

    # write 2: a member re-imported with another text, another with more likes, and in the factory's district a
    # message about something else: the factory's issue stands on its kept pairs alone
    for calls_of in calls.values():
        calls_of.clear()
    changed = _text_row("garage-0", GARAGE_AT, "2025-09-03", "车库问题", "车库的事情还是没人处理，顶板继续渗水。", 8)
    liked = _text_row("garage-3", (*GARAGE_AT[:4], ""), "2025-09-08", GARAGE[3][1], GARAGE[3][2], 11, likes=40)
    market = _text_row(
        "gulou-1", (*NOISE_AT[:3], "交通", ""), "2025-09-26", "农贸市场早上堵车", "买菜的三轮车把路口塞满了。", 7
    )
    # and two re-imported on other days: one later in the month, one out of it
    (place4, _, title4, body4), (place6, _, title6, body6) = OTHERS[4], OTHERS[6]
    later = _text_row("other-4", place4, "2025-09-27", title4, body4, 10)
    gone = _text_row("other-6", place6, "2025-10-03", title6, body6, 10)
    upsert(store, "messages", frame([changed, liked, market, later, gone]))
    again = _results(service)
    seen = {name: list(made) for name, made in calls.items()}
    cold = Insight(store, clock=lambda: NOW)
    assert again == _results(cold)
    _same_corpus(service, cold)
    _same_pairs(service, cold)
    assert set(seen["read"]) == {"garage-0", "garage-3", "gulou-1", "other-4"}  # other-6 is no longer of the month
    assert again[1]["messages"] == after[1]["messages"] + 1 - 1
    assert {"garage-0", "garage-3", "gulou-1"} <= set(seen["extend"]) and not seen["regroup"]
    assert "noise-0" not in seen["extend"]

    def noise(found):
        return next(i for i in found[0]["issues"] if i["id"].startswith("HI-noise"))

    assert noise(again) == noise(after)
    garage = next(i for i in again[0]["issues"] if "garage-3" in i["message_ids"])
    assert garage["likes"] == sum(n % 4 for n in range(len(GARAGE)) if f"garage-{n}" in garage["message_ids"]) - 3 + 40


@pytest.mark.parametrize("by_ids", [True, False])
def test_a_coded_month_stays_coded_through_live_writes(store, monkeypatch, by_ids):
    """A month read cold from its stored words is coded; after each live write its corpus, updated, is coded still:
    the rows read again coded into the month's vocabulary (extended), no other row made into strings while the
    results are updated (a month's words as strings cost more than the rest of the update; repeat complaints, which
    need every row's, keep those made before the write), and its words are those of a cold read, the earlier
    corpus's left as they were. by_ids: the messages written are read again by
    their ids (else the days they touched are read and compared)."""
    monkeypatch.setattr(service_mod, "REFERENCE_MIN", 5)
    if not by_ids:
        monkeypatch.setattr(corpus_mod, "UPDATE_SHARE", 0.0)
    upsert(store, "messages", frame(_rows(held=False)))
    Insight(store, clock=lambda: NOW).corpus(SEPTEMBER)  # stores the month's words
    service = Insight(store, clock=lambda: NOW)
    _results(service)
    service.repeats(SEPTEMBER)  # needs every row's words (of the month and the 30 days before): made once, kept
    decoded: list[int] = []  # rows of each Coded made into strings whole
    real_strings = corpus_mod.Coded.strings
    monkeypatch.setattr(corpus_mod.Coded, "strings", lambda self: decoded.append(len(self.ends)) or real_strings(self))
    changed = _text_row("garage-0", GARAGE_AT, "2025-09-03", "车库问题", "车库的事情还是没人处理，顶板继续渗水。", 8)
    (place6, _, title6, body6) = OTHERS[6]
    gone = _text_row("other-6", place6, "2025-10-03", title6, body6, 10)  # moved out of the month
    rusty = _text_row(
        "qingdao-1", (SHANDONG, "青岛市", "市南区", "城建", ""), "2025-09-25", "栏杆锈蚀", "海边栏杆锈蚀得厉害。", 11
    )
    added: list[set] = []  # the words each write added to the vocabulary
    for written in (_rows(held=True) + [rusty], [changed, gone]):
        base = service.corpus(SEPTEMBER)
        vocab, words = list(base.coded.vocab), real_strings(base.coded)
        decoded.clear()
        upsert(store, "messages", frame(written))
        found = (*_results(service), service.repeats(SEPTEMBER))
        kept = service.corpus(SEPTEMBER)
        assert kept.edit is not None and kept.edit.base is base  # updated, not read whole
        assert kept.coded is not None and max(decoded, default=0) <= len(written)  # only the rows read again
        assert kept.coded.vocab[: len(vocab)] == vocab and base.coded.vocab == vocab
        assert real_strings(base.coded) == words
        cold = Insight(store, clock=lambda: NOW)
        assert found == (*_results(cold), cold.repeats(SEPTEMBER))
        read = cold.corpus(SEPTEMBER).words
        assert real_strings(kept.coded) == read
        _same_corpus(service, cold)
        added.append(set(kept.coded.vocab[len(vocab) :]))
        assert added[-1] == set(chain.from_iterable(read)) - set(vocab)  # the words of the rows read again it lacked
    assert "海边" in added[0]


def test_codes_spliced_by_hand():
    # rows: (车库, 渗水), (噪声,), (), (渗水, 车库)
    base = corpus_mod.Coded(["车库", "渗水", "噪声"], np.array([0, 1, 2, 1, 0], np.int32), np.array([2, 3, 3, 5]))
    # rows 1..2 replaced by: a new row (单车, 车库), row 2, row 0
    made = base.spliced(1, 3, np.array([4, 2, 0]), [("单车", "车库")])
    assert made.vocab == ["车库", "渗水", "噪声", "单车"] and base.vocab == ["车库", "渗水", "噪声"]
    assert made.codes.tolist() == [0, 1, 3, 0, 0, 1, 1, 0] and made.ends.tolist() == [2, 4, 4, 6, 8]
    assert made.strings() == [("车库", "渗水"), ("单车", "车库"), (), ("车库", "渗水"), ("渗水", "车库")]
    assert made.strings_at(np.array([3, 1, 2])) == [("车库", "渗水"), ("单车", "车库"), ()]
    assert base.strings() == [("车库", "渗水"), ("噪声",), (), ("渗水", "车库")]
    # the last row replaced by one of known words only: the vocabulary is the base's
    last = base.spliced(3, 4, np.array([4]), [("噪声", "噪声")])
    assert last.vocab is base.vocab and last.codes.tolist() == [0, 1, 2, 2, 2] and last.ends.tolist() == [2, 3, 3, 5]


@pytest.mark.parametrize("limit", [1, 3, 50])
def test_rising_and_frequent_words_from_counts_by_hand(limit):
    # of 20 messages now and 20 before: 渗水 in 8 now, 1 before: G2 = 2 (8 ln(8/4.5) + ln(1/4.5)) = 6.20; 噪声 in 5
    # now, none before: G2 = 2 (5 ln(5/2.5)) = 6.93, first; 车库 in 6 and 6 (flat), 单车 in 2 (under 5 messages)
    now = hotwords.Counts.of({"渗水": 8, "车库": 6, "噪声": 5, "单车": 2}, 20)
    before = hotwords.Counts.of({"车库": 6, "渗水": 1, "河道": 9}, 20)
    expected = [("噪声", 5, 0, 2 * 5 * math.log(2)), ("渗水", 8, 1, 2 * (8 * math.log(8 / 4.5) + math.log(1 / 4.5)))]
    rising = hotwords.rising(now, before, limit)
    assert [(w["word"], w["count"], w["previous"]) for w in rising] == [e[:3] for e in expected][:limit]
    assert [w["score"] for w in rising] == pytest.approx([e[3] for e in expected][:limit])
    frequent = hotwords.frequent(now, before, limit)
    assert [(w["word"], w["count"], w["previous"]) for w in frequent] == [
        ("渗水", 8, 1),
        ("车库", 6, 6),
        ("噪声", 5, 0),
        ("单车", 2, 0),
    ][:limit]
    # a write: two messages holding 噪声 and 单车 come, one holding 渗水 goes; 轰鸣 is new
    moved = now.updated(Counter({"渗水": 1}), Counter({"噪声": 2, "单车": 2, "轰鸣": 1}), 21)
    counted = {w["word"]: (w["count"], w["previous"]) for w in hotwords.frequent(moved, before, 50)}
    assert counted == {"渗水": (7, 1), "车库": (6, 6), "噪声": (7, 0), "单车": (4, 0), "轰鸣": (1, 0)}
    assert now.n.tolist() == [8, 6, 5, 2]  # the counts updated from are left as they were


def test_reference_weights_kept_through_a_like_and_learnt_again_after_a_new_text(store, monkeypatch):
    """The weights learnt from the month before are kept (no read of it) after a write that changes none of what its
    words are made of (likes of one of its messages), and learnt again, as a fresh service learns them, after one of
    its messages is re-imported with another text."""
    monkeypatch.setattr(service_mod, "REFERENCE_MIN", 5)
    rows = _rows(held=False)
    upsert(store, "messages", frame(rows))
    service = Insight(store, clock=lambda: NOW)
    first = service.weights(SEPTEMBER)
    reads: list = []
    real_load = corpus_mod.load
    monkeypatch.setattr(corpus_mod, "load", lambda *a, **k: reads.append(a[2]) or real_load(*a, **k))
    marks: list = []
    real_mark = corpus_mod.words_mark
    monkeypatch.setattr(corpus_mod, "words_mark", lambda *a: marks.append(a[1]) or real_mark(*a))
    august = [r for r in rows if pd.Timestamp(r["created_at"]) >= pd.Timestamp("2025-08-01")]
    august = [r for r in august if r["message_id"].startswith("before-")]
    assert len(august) >= 2
    upsert(store, "messages", frame([{**august[0], "likes": 99}]))
    assert service.weights(SEPTEMBER) is first and reads == []
    assert len(marks) == 1  # the write touched a day of August: what its words are made of was compared
    renamed = {**august[1], "title": "路灯坏了没人修", "content": "小区门口的路灯坏了一个月，晚上走路看不见。"}
    upsert(store, "messages", frame([renamed]))
    again = service.weights(SEPTEMBER)
    # the month before read again once, a part at a time (a reference no hot words compare with is not kept)
    days = [day for part in reads for day in pd.date_range(part.start, part.end)]
    assert again is not first and days == list(pd.date_range("2025-08-01", "2025-08-31"))
    assert again.idf != first.idf
    cold = Insight(store, clock=lambda: NOW).weights(SEPTEMBER)
    assert (again.messages, again.idf) == (cold.messages, cold.idf)


def test_a_weeks_reference_is_counted_in_parts_and_let_go(store, monkeypatch):
    """A week's weights come from the month before it read a part at a time and not kept (no hot words compare the
    week with that month), and equal the weights counted over the same month read whole."""
    monkeypatch.setattr(service_mod, "REFERENCE_MIN", 5)
    upsert(store, "messages", frame(_rows(held=False)))
    week, august = Filters(dt.date(2025, 9, 1), dt.date(2025, 9, 7)), Filters(dt.date(2025, 8, 1), dt.date(2025, 8, 31))
    service = Insight(store, clock=lambda: NOW)
    reads: list = []
    real_load = corpus_mod.load
    monkeypatch.setattr(corpus_mod, "load", lambda *a, **k: reads.append(a[2]) or real_load(*a, **k))
    parted = service.weights(week)
    days = [day for part in reads for day in pd.date_range(part.start, part.end)]
    assert len(reads) > 1 and days == list(pd.date_range("2025-08-01", "2025-08-31"))
    parts = len(reads)
    whole = service.corpus(august)
    assert len(reads) == parts + 1 and reads[-1] == august  # the month was not kept: read again
    df = Counter(t for doc in issues_mod.features(whole) for t in set(doc))
    assert len(whole) >= 5 and (parted.messages, parted.idf) == (
        len(whole),
        issues_mod.Weights.counted(len(whole), df).idf,
    )
