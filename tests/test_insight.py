"""Insight methods on hand-written planted fixtures (tests/insight_fixtures.py): recall and precision.

The expected groups come from the fixture's own labels, never from the code under test.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from insight import hotwords, surges
from insight import issues as issues_mod
from insight import service as service_mod
from insight.segment import Segmenter, own_places, place_names
from insight.service import Insight
from queries.periods import Filters
from queries.texts import write as _real_text_write
from queries.writes import upsert
from tests import insight_fixtures as fx
from tests.conftest import frame, message

MARCH = Filters(dt.date(2024, 3, 1), dt.date(2024, 3, 31))
NOW = dt.datetime(2024, 4, 1, 12, 0)


def _row(mid, province, city, district, category, day, title, hour=9):
    created = pd.Timestamp(day) + pd.Timedelta(hours=hour)
    return message(mid, created, province, category, city=city, district=district, title=title)


def load_fixtures(store, prefix: str = "", shift_days: int = 0, keep=None) -> dict[str, list[str]]:
    """Write every fixture message (and its text); returns the planted label of each message id. `prefix` and
    `shift_days`: copies under other ids, moved in time; `keep(id)`: only the messages it accepts."""
    rows, texts, replies, labels = [], [], [], {}
    for key, province, city, district, category, location, items in fx.PROBLEMS:
        for n, (day, title, body, likes) in enumerate(items):
            mid = f"{prefix}{key}-{n}"
            rows.append(_row(mid, province, city, district, category, day, title, hour=8 + n % 10))
            # the location field is filled on every other message only: the rest name it in their text
            texts.append((mid, body, location if n % 2 == 0 else None, likes))
            labels[mid] = key
    for n, (province, city, district, category, location, day, title, body) in enumerate(
        fx.DISTRACTORS + fx.NOT_REPEATS
    ):
        mid = f"{prefix}other-{n}"
        rows.append(_row(mid, province, city, district, category, day, title, hour=10 + n % 8))
        texts.append((mid, body, location or None, 0))
        labels[mid] = None
    for key, province, city, district, category, location, first, replied, again in fx.REPEATS:
        for suffix, (day, title, body) in (("a", first), ("b", again)):
            mid = f"{prefix}repeat-{key}-{suffix}"
            rows.append(_row(mid, province, city, district, category, day, title, hour=15))
            texts.append((mid, body, location or None, 0))
            labels[mid] = f"repeat-{key}"
        if replied:
            replies.append(
                dict(
                    reply_id=f"{prefix}r-{key}",
                    message_id=f"{prefix}repeat-{key}-a",
                    replied_at=pd.Timestamp(first[0]) + pd.Timedelta(days=2),
                    unit="某区住建局",
                )
            )
    shift = pd.Timedelta(days=shift_days)
    keep = keep or (lambda mid: True)
    # the text goes with its message in one write, as the write API takes it
    rows = [
        {**r, "created_at": r["created_at"] + shift, "content": body, "location": location, "likes": likes}
        for r, (_, body, location, likes) in zip(rows, texts, strict=True)
        if keep(r["message_id"])
    ]
    replies = [{**r, "replied_at": r["replied_at"] + shift} for r in replies if keep(r["message_id"])]
    upsert(store, "messages", frame(rows))
    if replies:
        upsert(store, "replies", frame(replies))
    return {mid: label for mid, label in labels.items() if keep(mid)}


@pytest.fixture
def planted(store):
    labels = load_fixtures(store)
    return Insight(store, clock=lambda: NOW), labels


# -- segmentation ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def segmenter():
    return Segmenter(place_names(), ["武侯区住房和城乡建设局"])


def test_segmenter_keeps_places_drops_stopwords_and_own_place(segmenter):
    text = "尊敬的领导您好，郑州市金水区翠竹园小区停水问题希望尽快解决，武侯区住房和城乡建设局也来过"
    words = segmenter.words(text)
    assert "金水区" in words and "郑州市" in words  # place names whole (user dictionary)
    assert "武侯区住房和城乡建设局" in words  # unit names whole
    assert "停水" in words
    for stop in ("问题", "希望", "领导", "您好", "尊敬", "解决"):
        assert stop not in words
    own = segmenter.words(text, own_places("河南省", "郑州市", "金水区"))
    assert not {"郑州市", "郑州", "金水区", "金水"} & set(own)
    assert "停水" in own


def test_segmenter_cuts_each_piece_once_with_the_words_of_the_whole_text(segmenter):
    # Segmenter.words cuts a text's pieces one at a time (remembering them): the words must be those of jieba cutting
    # the whole text, filtered as documented (two characters or more, no stopword, no number, a Chinese character or
    # two Latin letters)
    def whole(text):
        cut = (w.strip() for w in segmenter._jieba.cut(text, HMM=False))
        return [
            w
            for w in cut
            if len(w) >= 2
            and w not in segmenter.stopwords
            and not re.fullmatch(r"[\d.,%％:：\-/]+", w)
            and re.search(r"[\u4e00-\u9fff]|[A-Za-z]{2,}", w)
        ]

    texts = [
        "郑州市金水区翠竹园小区停水三天，翠竹园小区停水!物业不管",
        "ABC-12号楼 路灯坏了\r\n\u3000路灯 坏了2024-03-04。武侯区住房和城乡建设局",
        "",
        "，。！ \t",
        "停水停电，停水停电。停水停电",
    ]
    for text in texts + texts:  # the second time from the remembered pieces
        assert segmenter.words(text) == whole(text), text
        assert "停水" not in segmenter.words(text, frozenset(["停水"]))
    assert segmenter.words(texts[0]).count("停水") == 2


# -- hot issues ------------------------------------------------------------------------------------------------------
def test_hot_issues_find_each_planted_problem(planted):
    service, labels = planted
    issues = service.hot_issues(MARCH, limit=100)["issues"]
    planted_sizes = {key: len(items) for key, *_, items in fx.PROBLEMS}
    found = {}
    for issue in issues:
        members = [labels.get(m) for m in issue["message_ids"]]
        top, count = (
            pd.Series(members, dtype=object).value_counts(dropna=False).index[0],
            max(pd.Series(members, dtype=object).value_counts(dropna=False)),
        )
        if top in planted_sizes and count / len(members) >= 0.8:
            found[top] = max(found.get(top, 0), count)
    # recall: every planted problem is one issue holding >= 80% of its messages, >= 80% pure
    for key, size in planted_sizes.items():
        assert found.get(key, 0) >= 0.8 * size, (key, found, [(i["title"], i["messages"]) for i in issues])
    # precision: every issue of >= 5 messages is a planted problem (distractors and repeats are not issues)
    big = [i for i in issues if i["messages"] >= 5]
    pure = [i for i in big if pd.Series([labels.get(m) for m in i["message_ids"]]).isin(planted_sizes).mean() >= 0.8]
    assert len(pure) == len(big) >= 5
    water = next(i for i in issues if "water-0" in i["message_ids"])
    assert water["place"] == "翠竹园小区" and water["city"] == "郑州市" and water["province"] == "河南"
    assert water["first"] == "2024-03-04" and water["last"] == "2024-03-10"
    water_items = fx.PROBLEMS[0][6]
    assert water["likes"] == sum(item[3] for n, item in enumerate(water_items) if f"water-{n}" in water["message_ids"])
    assert any(k in water["keywords"] for k in ("停水", "供水", "翠竹园"))
    assert [i["heat"] for i in issues] == sorted((i["heat"] for i in issues), reverse=True)


def _held_back(remainder: int):
    """Whether a fixture message is held back to be written later: every third message of each problem."""
    problems = {key for key, *_ in fx.PROBLEMS}

    def held(mid: str) -> bool:
        key, _, n = mid.rpartition("-")
        return key in problems and int(n) % 3 == remainder

    return held


def test_hot_issues_updated_after_a_write_equal_a_cold_grouping(store, monkeypatch):
    """Term weights come from the month before (here the fixtures a month earlier, under other ids); a live write
    inside the month updates the grouping (only the blocks it touches are grouped again) and the hot words' counts,
    and the results are the ones a fresh service computes from the same data."""
    monkeypatch.setattr(service_mod, "REFERENCE_MIN", 50)
    held = _held_back(2)

    load_fixtures(store, prefix="feb-", shift_days=-31)
    load_fixtures(store, keep=lambda mid: not held(mid))
    service = Insight(store, clock=lambda: NOW)
    assert service.weights(MARCH) is not None  # the month before has enough messages: its weights are used
    before = service.hot_issues(MARCH, limit=1000)["issues"]
    words_before = service.hot_words(MARCH, limit=1000)
    updates = []
    real_update = issues_mod.update
    monkeypatch.setattr(issues_mod, "update", lambda *args: updates.append(1) or real_update(*args))
    load_fixtures(store, keep=held)
    after = service.hot_issues(MARCH, limit=1000)["issues"]
    assert updates == [1]
    assert sum(i["messages"] for i in after) > sum(i["messages"] for i in before)
    fresh = Insight(store, clock=lambda: NOW)
    assert after == fresh.hot_issues(MARCH, limit=1000)["issues"]
    words_after = service.hot_words(MARCH, limit=1000)
    assert words_after["messages"] > words_before["messages"]
    assert words_after == fresh.hot_words(MARCH, limit=1000)

    # a word only one message held enters the vocabulary when a message elsewhere uses it too: the block of the
    # message that held it is grouped again (its vector changed), not only the block written to
    grouping = service.grouping(MARCH)
    member = {m for i in after for m in i["message_ids"]}
    holder, word = next(
        (mid, t)
        for mid, doc in zip(grouping.keys.ids, grouping.docs, strict=True)
        if mid in member
        for t in doc
        if grouping.df[t] == 1 and not t.startswith("@") and len(t) >= 3
    )
    regrouped, extended = [], []
    real_rows, real_extend = issues_mod._group_rows, issues_mod._extend
    monkeypatch.setattr(
        issues_mod,
        "_group_rows",
        lambda c, d, rows, *a: regrouped.extend(c.frame["message_id"].iloc[rows]) or real_rows(c, d, rows, *a),
    )
    monkeypatch.setattr(
        issues_mod,
        "_extend",
        lambda c, d, rows, stale, *a: (
            extended.extend(c.frame["message_id"].iloc[rows[stale[rows]]]) or real_extend(c, d, rows, stale, *a)
        ),
    )
    lone = message(
        "lone-1",
        pd.Timestamp("2024-03-20 10:00"),
        fx.GUANGDONG,
        "城建",
        city="广州市",
        district="天河区",
        title=f"{word}{word}",
    )
    upsert(store, "messages", frame([lone]))
    updated = service.hot_issues(MARCH, limit=1000)["issues"]
    # the holder's pairs are computed again (its vector changed), as the new message's; no block is grouped whole
    assert holder in extended and "lone-1" in extended and not regrouped
    assert updated == Insight(store, clock=lambda: NOW).hot_issues(MARCH, limit=1000)["issues"]


def test_after_writes_only_touched_days_are_read_and_results_equal_a_fresh_service(store, monkeypatch):
    """After live writes (a rolled-back one first), the service reads again only the messages of the days the
    writes touched, keeps the month before (the weights' reference) as it was, and its hot issues, hot words and
    alerts equal a fresh service's."""
    from insight import corpus as corpus_mod
    from queries import texts

    monkeypatch.setattr(service_mod, "REFERENCE_MIN", 50)
    held = _held_back(1)

    load_fixtures(store, prefix="jan-", shift_days=-62)
    load_fixtures(store, prefix="feb-", shift_days=-31)
    labels = load_fixtures(store, keep=lambda mid: not held(mid))
    service = Insight(store, clock=lambda: NOW)

    def results(s):
        return s.hot_issues(MARCH, limit=1000), s.hot_words(MARCH, limit=1000), s.alerts(MARCH)

    before = results(service)
    reference = service.corpus(Filters(dt.date(2024, 1, 30), dt.date(2024, 2, 29)))
    version = store.data_version
    monkeypatch.setattr(texts, "write", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("disk full")))
    with pytest.raises(RuntimeError):
        load_fixtures(store, keep=held)
    monkeypatch.setattr(texts, "write", _real_text_write)
    assert store.data_version == version and results(service) == before
    read, windows, counted = [], [], []
    real_built, real_ids, real_counts = corpus_mod._built, corpus_mod.words_store.window_ids, corpus_mod.daily_counts

    def built(s, g, table, *a):  # the messages made into corpus rows again (decoded, segmented when new)
        read.extend(table.column("message_id").to_pylist())
        return real_built(s, g, table, *a)

    monkeypatch.setattr(corpus_mod, "_built", built)
    monkeypatch.setattr(
        corpus_mod.words_store, "window_ids", lambda s, a, b: windows.append((a.date(), b.date())) or real_ids(s, a, b)
    )
    monkeypatch.setattr(
        corpus_mod, "daily_counts", lambda s, f, a, b: counted.append((a, b)) or real_counts(s, f, a, b)
    )
    written = load_fixtures(store, keep=held)
    moved = next(mid for mid in labels if mid.startswith("other-"))  # re-imported on another day, with likes
    row = store.df("SELECT * FROM messages WHERE message_id = $m", {"m": moved}).iloc[0]
    again = message(moved, row["created_at"] + pd.Timedelta(days=3), int(row["province"]), row["category"])
    upsert(
        store,
        "messages",
        frame(
            [
                {
                    **again,
                    "city": row["city"],
                    "district": row["district"],
                    "title": row["title"],
                    "content": "换了一天",
                    "location": None,
                    "likes": 7,
                }
            ]
        ),
    )
    after = results(service)
    touched = {
        store.df("SELECT created_at FROM messages WHERE message_id = $m", {"m": m}).iloc[0, 0].date() for m in written
    }
    touched |= {row["created_at"].date(), again["created_at"].date()}
    first, last = min(touched), max(touched)
    # only the touched days were read again, the month before not at all, and only the changed messages remade
    assert windows and all(a >= first and b <= last + dt.timedelta(days=1) for a, b in windows)
    assert counted and all(a >= first and b <= last for a, b in counted)
    assert set(read) == set(written) | {moved}
    assert service.corpus(Filters(dt.date(2024, 1, 30), dt.date(2024, 2, 29))) is reference
    assert after != before
    assert after == results(Insight(store, clock=lambda: NOW))
    assert after[2]["alerts"]  # the alerts' path is exercised


def test_hot_issues_follow_filters(planted):
    service, labels = planted
    sichuan = Filters(MARCH.start, MARCH.end, provinces=(fx.SICHUAN,))
    issues = service.hot_issues(sichuan)["issues"]
    assert issues and all(i["province"] == "四川" for i in issues)
    keys = {labels[i["message_ids"][0]] for i in issues if i["messages"] >= 5}
    assert keys == {"wages", "road"}


# -- hot words -------------------------------------------------------------------------------------------------------
def test_hot_words_of_a_problems_week(planted):
    service, _ = planted
    week = Filters(dt.date(2024, 3, 4), dt.date(2024, 3, 10))
    result = service.hot_words(week, limit=10)
    top = [w["word"] for w in result["words"]]
    assert {"停水", "翠竹园"} & set(top), top
    counted = {w["word"]: w for w in result["words"]}
    if "停水" in counted:  # counts are messages containing the word (planted: water messages of that week saying 停水)
        assert counted["停水"]["previous"] == 0


# Another week, written unlike the demo and the fixtures above (Yunnan, Hunan, Gansu). Counted by hand: 电梯 is in
# all 7 of this week's lift messages and in none of the week before; 公交 is in 10 messages each week (frequent,
# flat); 风筝 is in one message only; 金鼎花苑 in 昆明 is named by 6 lift messages, and a namesake in 兰州 by 6
# messages of the week before (nationally flat, a new place in 昆明). Every other word is in fewer messages.
YUNNAN, HUNAN, GANSU = 530000, 430000, 620000
LIFT_WEEK = Filters(dt.date(2025, 5, 12), dt.date(2025, 5, 18))
LIFTS = [
    ("金鼎花苑3栋电梯困人", "昨晚金鼎花苑3栋的电梯卡在六楼，两位老人被关了四十分钟。"),
    ("电梯天天坏", "我们这栋楼的电梯一周坏了三回，物业只会贴个维修中的纸条。"),
    ("高层住户下楼难", "十八楼的住户没法下楼，电梯停运两天了，孕妇只能爬楼梯。"),
    ("金鼎花苑电梯维保不到位", "维保单位来了也只是重启，电梯照样异响，什么时候彻底检修？"),
    ("请质监部门查一查电梯", "小区电梯年检标签过期了，住户每天提心吊胆。"),
    ("电梯夹伤孩子", "前天电梯的门突然关上夹到小孩的手臂，家长很气愤。"),
    ("老旧电梯何时更换", "这部电梯用了二十年，零件都买不到，申请更换一直没有下文。"),
]
BUS_LINES = [
    ("线路调整后坐公交等车太久", "调整以后早高峰要等二十多分钟，上班经常迟到。"),
    ("希望增加公交班次", "晚上九点以后公交就没有了，下夜班的人回不了家。"),
    ("公交站台没有遮雨棚", "下雨天在站台淋雨等车，请加装雨棚。"),
    ("公交卡充值不方便", "附近的充值点关门了，老年卡只能跑很远去充。"),
    ("公交司机开车太猛", "急刹车好几次，车上的老人差点摔倒。"),
    ("小区附近没有公交", "最近的站点要走一公里，能否在路口新设一站？"),
    ("公交空调不开", "天气热了车厢里闷得很，乘客都在抱怨。"),
    ("公交到站时间不准", "电子站牌显示三分钟，实际等了半小时。"),
    ("这趟公交绕路", "这条线绕进工业园再出来，多花二十分钟。"),
    ("公交末班车提前", "末班车经常提前发车，赶不上。"),
]
NAMESAKE = [  # 金鼎花苑 in 兰州, the week before
    ("小区门口积水", "一下雨就淹到脚踝，排水口堵了。"),
    ("小区路灯不亮", "晚上回家黑漆漆的，容易摔跤。"),
    ("垃圾桶满了没人清", "垃圾堆了三天，味道很大。"),
    ("外来车辆乱停", "消防通道被占，救护车进不来。"),
    ("广场舞音响太吵", "每晚放到十点半，孩子没法写作业。"),
    ("快递柜收费", "超时就收费，能否延长免费时间？"),
]
OTHERS = [
    ("菜市场门口占道摆摊", "早上菜市场门口全是流动摊贩，车辆过不去。"),
    ("学校周边网吧接纳未成年人", "放学后常有学生进出网吧，请文化执法查处。"),
    ("农村饮水有异味", "村里自来水最近有一股铁锈味，烧开也去不掉。"),
]


def test_hot_words_rank_a_rising_word_first_on_other_text(store):
    rows = []
    weeks = ((LIFT_WEEK.start - dt.timedelta(days=7), False), (LIFT_WEEK.start, True))
    for monday, current in weeks:
        texts = [("bus", HUNAN, "长沙市", "岳麓区", "交通", t) for t in BUS_LINES]
        texts += [("other", GANSU, "兰州市", "城关区", "城建", t) for t in OTHERS]
        if current:
            texts += [("lift", YUNNAN, "昆明市", "五华区", "城建", t) for t in LIFTS]
            kite = ("公园放风筝的线挂在电线上", "风筝线缠住电线很危险。")
            texts += [("kite", GANSU, "兰州市", "城关区", "城建", kite)]
        else:
            texts += [("namesake", GANSU, "兰州市", "城关区", "城建", t) for t in NAMESAKE]
        for n, (key, province, city, district, category, (title, body)) in enumerate(texts):
            created = pd.Timestamp(monday) + pd.Timedelta(days=n % 7, hours=9 + n % 8)
            row = message(f"{monday}-{key}-{n}", created, province, category, city=city, district=district, title=title)
            named = key == "namesake" or (key == "lift" and n - len(BUS_LINES) - len(OTHERS) < 6)
            rows.append({**row, "content": body, "location": "金鼎花苑" if named else None, "likes": 0})
    upsert(store, "messages", frame(rows))
    result = Insight(store, clock=lambda: NOW).hot_words(LIFT_WEEK, limit=10)
    rising = {w["word"]: w for w in result["words"]}
    assert result["words"][0]["word"] == "电梯", result["words"]
    assert (rising["电梯"]["count"], rising["电梯"]["previous"]) == (7, 0)
    assert "公交" not in rising and "风筝" not in rising, rising
    # a place is counted in its city: the namesake of the week before does not hide the new one
    assert (rising["金鼎花苑（昆明市）"]["count"], rising["金鼎花苑（昆明市）"]["previous"]) == (6, 0)
    assert not [w for w in rising if w.startswith("金鼎花苑") and w != "金鼎花苑（昆明市）"]
    frequent = {w["word"]: (w["count"], w["previous"]) for w in result["frequent"]}
    assert frequent["公交"] == (10, 10)
    assert result["frequent"][0]["word"] == "公交"


def test_log_likelihood_by_hand():
    # 10 of 100 now, 1 of 100 before: E = 5.5 each; G2 = 2 (10 ln(10/5.5) + 1 ln(1/5.5))
    expected = 2 * (10 * np.log(10 / 5.5) + 1 * np.log(1 / 5.5))
    assert hotwords.log_likelihood(10, 100, 1, 100) == pytest.approx(expected)
    assert hotwords.log_likelihood(5, 100, 5, 100) == pytest.approx(0.0)


# -- repeats ---------------------------------------------------------------------------------------------------------
def test_repeats_precision_recall(planted):
    service, _ = planted
    result = service.repeats(MARCH)
    planted_pairs = {(f"repeat-{k}-a", f"repeat-{k}-b") for k, *_ in fx.REPEATS}
    found_pairs = set()
    for g in result["groups"]:
        ids = g["message_ids"]
        found_pairs.update((a, b) for n, a in enumerate(ids) for b in ids[n + 1 :])
    true_positive = len(found_pairs & planted_pairs)
    precision = true_positive / len(found_pairs) if found_pairs else 0.0
    recall = true_positive / len(planted_pairs)
    assert precision >= 0.9 and recall >= 0.8, (precision, recall, result["groups"])
    flags = {g["message_ids"][0]: g["replied_before_repeat"] for g in result["groups"]}
    for key, *_, replied, _again in fx.REPEATS:
        if f"repeat-{key}-a" in flags:
            assert flags[f"repeat-{key}-a"] is replied
    messages_in_march = result["messages"]
    assert result["repeat_rate"] == pytest.approx(result["repeats"] / messages_in_march)


# Repeats on other text: problem words that end like a place name (老旧小区, 公交线路) must still tell a restatement
# from another problem at the same place. (message key, day, location field, title, body); "a" and "b" of a key are
# one person's complaint and its restatement, the others are different problems at the same places.
QINGYANG = (620000, "庆阳市", "西峰区")
PLACE_WORD_TEXTS = [
    (
        "renovate-a",
        "2024-03-02",
        "桂花苑",
        "桂花苑老旧小区改造迟迟不开工",
        "桂花苑列入老旧小区改造名单一年了，外墙和管网一直没动工，雨天楼道漏水。",
    ),
    (
        "market",
        "2024-03-06",
        "桂花苑",
        "桂花苑小区门口夜市噪音扰民",
        "桂花苑门口的夜市每天开到凌晨两点，音响太吵，住户没法休息。",
    ),
    (
        "renovate-b",
        "2024-03-19",
        None,
        "再问桂花苑老旧小区改造开工时间",
        "上月反映桂花苑老旧小区改造的事，说近期开工，到现在脚手架都没搭，楼道照样漏水。",
    ),
    (
        "bus-a",
        "2024-03-04",
        "朝阳路",
        "公交线路改了以后坐车难",
        "朝阳路站的公交线路改了，早上班次少了一大半，上班总迟到。",
    ),
    ("parking", "2024-03-09", "朝阳路", "朝阳路人行道违停严重", "朝阳路人行道上停满了私家车，行人只能走机动车道。"),
    (
        "bus-b",
        "2024-03-22",
        "朝阳路",
        "朝阳路公交线路的事还没解决",
        "月初说过公交线路改动后班次太少，现在早上还是等不到车，上班照样迟到。",
    ),
]


def test_repeats_keep_problem_words_that_end_like_places(store):
    province, city, district = QINGYANG
    rows = []
    for n, (key, day, location, title, body) in enumerate(PLACE_WORD_TEXTS):
        row = message(
            key,
            pd.Timestamp(day) + pd.Timedelta(hours=9 + n),
            province,
            "城建",
            city=city,
            district=district,
            title=title,
        )
        rows.append({**row, "content": body, "location": location, "likes": 0})
    upsert(store, "messages", frame(rows))
    groups = Insight(store, clock=lambda: NOW).repeats(MARCH)["groups"]
    assert sorted(g["message_ids"] for g in groups) == [["bus-a", "bus-b"], ["renovate-a", "renovate-b"]], groups


# -- surges ----------------------------------------------------------------------------------------------------------
def _synthetic_counts(seed: int, surges_at: dict) -> pd.DataFrame:
    """Poisson daily counts with a weekly rhythm for 40 city x domain series over 200 days, with planted surges."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2024-01-01", periods=200, freq="D")
    rows = []
    for s in range(40):
        level = rng.uniform(2, 40)
        weekly = np.where(days.day_of_week >= 5, 0.6, 1.0)
        trend = np.linspace(1.0, 1.3, len(days))
        lam = level * weekly * trend
        counts = rng.poisson(lam)
        if s in surges_at:
            onset, length, factor = surges_at[s]
            counts[onset : onset + length] = rng.poisson(lam[onset : onset + length] * factor)
        for d, c in zip(days, counts, strict=True):
            rows.append((d.date(), 100000 + s * 10000, f"城市{s}", "城建", int(c)))
    return pd.DataFrame(rows, columns=["day", "province", "city", "category", "messages"])


def test_surges_found_at_onset_without_false_alarms():
    planted = {3: (120, 5, 3.0), 11: (150, 3, 4.0), 25: (100, 8, 2.5), 30: (170, 4, 6.0)}
    counts = _synthetic_counts(7, planted)
    start, end = dt.date(2024, 3, 1), dt.date(2024, 7, 18)
    alerts = surges.detect(counts, start, end, today=dt.date(2024, 12, 31))
    days0 = dt.date(2024, 1, 1)
    hits = 0
    for s, (onset, _length, _factor) in planted.items():
        onset_day = days0 + dt.timedelta(days=onset)
        mine = [a for a in alerts if a["city"] == f"城市{s}"]
        if any(abs((dt.date.fromisoformat(a["start"]) - onset_day).days) <= 1 for a in mine):
            hits += 1
    assert hits == len(planted), alerts
    surge_series = {f"城市{s}" for s in planted} | {None}  # the province series carries the city's surge too
    false = [a for a in alerts if a["city"] not in surge_series]
    assert false == []
    # on 2024-06-21 the surge of series 30 (2024-06-19 .. 06-22) is still going, the one of series 3 is over
    ongoing = surges.detect(counts, start, dt.date(2024, 7, 18), today=dt.date(2024, 6, 21))
    live = next(a for a in ongoing if a["city"] == "城市30")
    assert live["start"] == "2024-06-19" and live["end"] is None
    past = next(a for a in ongoing if a["city"] == "城市3")
    assert past["end"] is not None


def test_surges_tested_a_province_at_a_time_equal_the_whole_country_at_once(monkeypatch):
    # four provinces of ten city series each (a province's series share its reference volume)
    planted = {3: (120, 5, 3.0), 11: (150, 3, 4.0), 25: (100, 8, 2.5), 30: (170, 4, 6.0)}
    counts = _synthetic_counts(7, planted)
    counts["province"] = 100000 + (counts["province"] // 10000 % 4) * 10000
    start, end, today = dt.date(2024, 3, 1), dt.date(2024, 7, 18), dt.date(2024, 12, 31)
    whole_detect = surges.detect
    whole = whole_detect(counts, start, end, today)
    assert len({a["province_code"] for a in whole}) >= 3
    monkeypatch.setattr(service_mod, "DETECT_ROWS", 100)
    detected = []
    monkeypatch.setattr(surges, "detect", lambda c, *a: detected.append(len(c)) or whole_detect(c, *a))
    assert service_mod._detect(counts, start, end, today) == whole
    assert len(detected) == 4 and sum(detected) == len(counts)


def _daily(levels: dict[str, list[int]], first: dt.date, province: int = 650000) -> pd.DataFrame:
    """Counts frame of one province (no city) from per-domain day lists starting at `first`."""
    rows = [
        (first + dt.timedelta(days=d), province, "", category, n)
        for category, counts in levels.items()
        for d, n in enumerate(counts)
        if n
    ]
    return pd.DataFrame(rows, columns=["day", "province", "city", "category", "messages"])


def test_surge_during_a_holiday_is_measured_against_the_holiday_level():
    # Weekdays: 城建 600, 交通 380, 医疗 20 messages; weekends half. From 2024-04-08 (a Monday) a week of holiday at
    # 0.4 of every domain; on Thursday and Friday of it 医疗 has 30 (its ordinary weekday count is 20).
    first = dt.date(2024, 1, 1)
    days = [first + dt.timedelta(days=d) for d in range(121)]  # to 2024-04-30
    holiday = {dt.date(2024, 4, 8) + dt.timedelta(days=d) for d in range(7)}
    surge = {dt.date(2024, 4, 11), dt.date(2024, 4, 12)}

    def level(usual: int, day: dt.date) -> int:
        n = usual if day.weekday() < 5 else usual // 2
        return n * 2 // 5 if day in holiday else n

    levels = {c: [level(u, d) for d in days] for c, u in (("城建", 600), ("交通", 380), ("医疗", 20))}
    levels["医疗"] = [30 if d in surge else n for d, n in zip(days, levels["医疗"], strict=True)]
    start, end = dt.date(2024, 3, 1), dt.date(2024, 4, 30)
    alerts = surges.detect(_daily(levels, first), start, end, today=dt.date(2024, 12, 31))
    assert [(a["category"], a["start"], a["last_day"]) for a in alerts] == [("医疗", "2024-04-11", "2024-04-12")]
    # expected: the day's other domains (240 + 152) times 医疗's weekday share of them (20 / 980), both volumes
    # with the reference prior added (about 8.6; the plain weekday mean is 20)
    prior = surges.REFERENCE_PRIOR
    assert [d["expected"] for d in alerts[0]["daily"]] == pytest.approx([(392 + prior) * 20 / (980 + prior)] * 2)
    assert alerts[0]["messages"] == 60
    # without the other domains the level is 医疗's own weekday mean (20): 30 a day for two days is no surge
    alone = surges.detect(_daily({"医疗": levels["医疗"]}, first), start, end, today=dt.date(2024, 12, 31))
    assert alone == []


def test_surge_episode_starts_at_the_rise_and_spans_a_dip():
    # 环保 10 a day against 城建 990 and 交通 500. Two days before the rise one chance day of 19 and an ordinary 9;
    # then 40, 40, 40, a dip of two days still above the level (12, 12), 40, 40.
    first = dt.date(2024, 1, 1)
    n_days = 100
    rise = 80  # 2024-03-21
    green = [10] * n_days
    green[rise - 2], green[rise - 1] = 19, 9
    for d, n in enumerate([40, 40, 40, 12, 12, 40, 40]):
        green[rise + d] = n
    levels = {"城建": [990] * n_days, "交通": [500] * n_days, "环保": green}
    start, end = dt.date(2024, 3, 1), first + dt.timedelta(days=n_days - 1)
    alerts = surges.detect(_daily(levels, first), start, end, today=dt.date(2024, 12, 31))
    onset = first + dt.timedelta(days=rise)
    assert [(a["category"], a["start"], a["last_day"]) for a in alerts] == [
        ("环保", onset.isoformat(), (onset + dt.timedelta(days=6)).isoformat())
    ]
    # its days: 5 x 40 + 2 x 12 messages; expected 10 a day (10 / 1490 of the other domains' 1490), but the last
    # day's baseline weeks hold the ordinary 9 a week before (the chance 19 of the day before, highest, is left out)
    expected = [10.0] * 6 + [(6 * 10 + 9) / 7]
    assert alerts[0]["messages"] == 224
    assert [d["expected"] for d in alerts[0]["daily"]] == pytest.approx(expected)


def test_surges_of_one_domain_are_the_same_with_or_without_the_domain_filter(store):
    # 城建 100 and 环保 5 messages a day in one province; from 2024-04-08 a week at 0.3 of both, with 环保 at 14 a day
    # on three days of it: a surge against the holiday level (5 x 80 / 150 = 2.7 a day with the reference prior of
    # 50), not against 环保's own usual 5 (42 messages in three days where 15 are usual: P = 8e-9 > 1e-9 / 3).
    first = dt.date(2024, 2, 1)
    holiday = {dt.date(2024, 4, 8) + dt.timedelta(days=d) for d in range(7)}
    surge = {dt.date(2024, 4, 9), dt.date(2024, 4, 10), dt.date(2024, 4, 11)}
    rows = []
    for d in range(80):
        day = first + dt.timedelta(days=d)
        for category, usual in (("城建", 100), ("环保", 5)):
            n = 14 if category == "环保" and day in surge else (usual * 3 // 10 if day in holiday else usual)
            for k in range(n):
                created = pd.Timestamp(day) + pd.Timedelta(minutes=10 * k + 1)
                rows.append(message(f"{day}-{category}-{k}", created, 650000, category, city="乌鲁木齐市"))
    upsert(store, "messages", frame(rows))
    service = Insight(store, clock=lambda: NOW)
    period = Filters(dt.date(2024, 4, 1), dt.date(2024, 4, 30))
    today = dt.date(2024, 12, 31)
    every = service.surges(period, today)
    green = service.surges(Filters(period.start, period.end, categories=("环保",)), today)
    assert [(a["category"], a["start"]) for a in green if a["city"] is None] == [("环保", "2024-04-09")]
    assert green == [a for a in every if a["category"] == "环保"]


def test_upper_tail_by_hand():
    # Poisson(2): P(X >= 3) = 1 - e^-2 (1 + 2 + 2) = 1 - 5 e^-2
    assert surges.upper_tail(3, 2.0, 2.0) == pytest.approx(1 - 5 * np.exp(-2))
    # negative binomial mean 2, variance 4: r = 2, p = 1/2; P(X >= 1) = 1 - p^r = 0.75
    assert surges.upper_tail(1, 2.0, 4.0) == pytest.approx(0.75)


# -- JSON API --------------------------------------------------------------------------------------------------------
def test_insight_api(store, serve):
    labels = load_fixtures(store)
    phone = "13812345678"
    extra = _row("water-extra", fx.HENAN, "郑州市", "金水区", "城建", "2024-03-08", f"翠竹园小区停水 电话{phone}")
    upsert(store, "messages", frame([extra]))
    with store.write() as cur:
        cur.execute(
            "INSERT INTO message_texts VALUES (?, ?, ?, ?)",
            ["water-extra", f"翠竹园小区停水第五天，供水抢修还没结束，联系{phone}", "翠竹园小区", 0],
        )
    server = serve(store, clock="2024-04-01T12:00:00")
    window = {"start": "2024-03-01", "end": "2024-03-31"}
    status, body = server.get("/api/v1/hot-issues", {**window, "limit": 3})
    assert status == 200 and len(body["issues"]) == 3
    first = body["issues"][0]
    assert {
        "id",
        "title",
        "keywords",
        "province",
        "city",
        "place",
        "first",
        "last",
        "messages",
        "likes",
        "replied",
    } <= set(first) and {"heat", "message_ids"} <= set(first)
    assert labels.get(first["message_ids"][0], "water") == "water" and "water-extra" in first["message_ids"]
    status, words = server.get("/api/v1/hot-words", {"start": "2024-03-04", "end": "2024-03-10", "limit": 10})
    assert status == 200 and all({"word", "count", "previous", "score"} <= set(w) for w in words["words"])
    status, alerts = server.get("/api/v1/alerts", {**window, "province": "河南"})
    assert status == 200 and isinstance(alerts["alerts"], list)
    status, rep = server.get("/api/v1/repeats", window)
    assert status == 200 and len(rep["groups"]) == len(fx.REPEATS)
    everything = str([body, words, alerts, rep])
    assert phone not in everything and "1381234" not in everything
    status, sichuan = server.get("/api/v1/hot-issues", {**window, "province": "Sichuan"})
    assert status == 200 and {i["province"] for i in sichuan["issues"]} == {"四川"}
    assert server.get("/api/v1/hot-issues", {**window, "limit": "0"})[0] == 400
    assert server.get("/api/v1/alerts", {**window, "bogus": "1"})[1]["parameter"] == "bogus"
    assert server.get("/api/v1/repeats", {"start": "2022-01-01", "end": "2024-03-31"})[0] == 400
