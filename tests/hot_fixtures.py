"""A small hand-written store for the analyst's 热点 tab (tests/test_hot_tab.py): one hot issue at a place that
also makes a surge, a repeat pair, and unrelated messages before and during the period.

Period of the tests: March 2024, clock 2024-04-01 12:00 (Beijing). The gas outage at 牡丹花园小区 (洛阳市涧西区)
has 12 messages, 8 of them on Tuesday 12 March, when 洛阳 × 城建 had no message on the eight Tuesdays before:
a surge of that series. One message carries a phone number, which must never be shown or exported.
"""

from __future__ import annotations

import pandas as pd

from queries.writes import upsert
from tests.conftest import frame, message

HENAN, SICHUAN, GUANGDONG, BEIJING = 410000, 510000, 440000, 110000
PHONE = "13912345678"

# (day, hour, title, body, likes, replied after hours or None)
GAS = [
    (
        "2024-03-10",
        9,
        "牡丹花园小区突然停气",
        "涧西区牡丹花园小区昨晚开始停止供应天然气，没有任何通知，做不了饭。",
        4,
        30,
    ),
    (
        "2024-03-11",
        10,
        "牡丹花园天然气停供",
        "牡丹花园小区燃气停了两天，燃气公司热线一直占线，请尽快恢复供气。",
        7,
        None,
    ),
    ("2024-03-12", 8, "牡丹花园小区停气三天", "小区天然气已经停了三天，家里老人只能吃泡面，燃气何时恢复？", 12, 26),
    (
        "2024-03-12",
        9,
        "关于牡丹花园小区燃气中断",
        f"我是牡丹花园小区住户，燃气中断至今无人解释，联系电话{PHONE}，请相关部门回复。",
        3,
        None,
    ),
    (
        "2024-03-12",
        10,
        "牡丹花园没有天然气用",
        "牡丹花园小区整个小区没有天然气，燃气管道检修也该提前通知居民。",
        0,
        None,
    ),
    ("2024-03-12", 11, "牡丹花园停气影响生活", "停气导致牡丹花园小区居民无法做饭洗澡，天然气供应请尽快恢复。", 9, 20),
    (
        "2024-03-12",
        13,
        "牡丹花园小区燃气什么时候来",
        "牡丹花园小区燃气停了好几天了，燃气公司说在抢修，没有准确时间。",
        2,
        None,
    ),
    (
        "2024-03-12",
        14,
        "请督促恢复牡丹花园供气",
        "涧西区牡丹花园小区停气多日，请督促燃气公司尽快恢复天然气供应。",
        15,
        None,
    ),
    (
        "2024-03-12",
        15,
        "牡丹花园天然气停了",
        "牡丹花园小区天然气停供快一周，孩子老人吃饭成问题，希望燃气早日恢复。",
        1,
        None,
    ),
    (
        "2024-03-12",
        16,
        "牡丹花园小区停气无人管",
        "牡丹花园小区停气，物业和燃气公司互相推诿，居民做饭只能用电磁炉。",
        6,
        None,
    ),
    ("2024-03-13", 9, "牡丹花园仍未恢复供气", "今天牡丹花园小区还是没有天然气，燃气抢修到底什么时候结束？", 20, None),
    ("2024-03-14", 9, "牡丹花园小区燃气恢复了吗", "牡丹花园小区停气第五天，燃气公司仍未给出恢复供气时间。", 5, None),
]

# A repeat: the same missing manhole cover raised again after a reply, reworded.
REPEAT = [
    (
        "2024-03-05",
        15,
        "龙口西路井盖丢失",
        "天河区龙口西路28号门口的雨水井盖丢了，只围了一个塑料桶，晚上骑车很危险。",
        0,
        48,
    ),
    (
        "2024-03-22",
        15,
        "再次反映龙口西路28号井盖",
        "上次反映龙口西路28号门口井盖丢失，回复说会处理，现在还是只有一个塑料桶挡着，又有人差点摔倒。",
        0,
        None,
    ),
]

# (id suffix, province, city, district, category, day, title, body)
OTHERS = [
    (
        "b1",
        BEIJING,
        "北京市",
        "朝阳区",
        "交通",
        "2024-02-06",
        "公交站台太远",
        "望京西园附近的公交站台离小区太远，建议增设站点。",
    ),
    (
        "b2",
        SICHUAN,
        "成都市",
        "武侯区",
        "教育",
        "2024-02-14",
        "学位划片咨询",
        "请问武侯区今年小学学位划片有没有调整，哪里可以查询？",
    ),
    (
        "b3",
        GUANGDONG,
        "广州市",
        "海珠区",
        "环保",
        "2024-02-20",
        "夜间施工噪音",
        "海珠区工业大道有工地凌晨还在施工，噪音影响休息。",
    ),
    (
        "b4",
        HENAN,
        "郑州市",
        "二七区",
        "就业",
        "2024-02-22",
        "灵活就业社保补贴",
        "想咨询灵活就业人员的社保补贴怎么申请，需要哪些材料。",
    ),
    ("b5", HENAN, "洛阳市", "西工区", "城建", "2024-02-08", "路灯不亮", "西工区唐宫路一段路灯坏了，晚上走路看不清。"),
    (
        "b6",
        HENAN,
        "洛阳市",
        "老城区",
        "城建",
        "2024-01-25",
        "人行道破损",
        "老城区中州东路人行道地砖破损，下雨天容易滑倒。",
    ),
    (
        "c1",
        BEIJING,
        "北京市",
        "海淀区",
        "医疗",
        "2024-03-07",
        "社区医院挂号难",
        "海淀区学院路社区医院上午号源很快就没了，能否增加号源。",
    ),
    (
        "c2",
        SICHUAN,
        "成都市",
        "锦江区",
        "交通",
        "2024-03-15",
        "共享单车乱停",
        "锦江区春熙路地铁口共享单车乱停，行人通行困难。",
    ),
    (
        "c3",
        GUANGDONG,
        "广州市",
        "白云区",
        "企业",
        "2024-03-19",
        "商铺押金不退",
        "白云区一家装修公司收了定金后关门，老板联系不上。",
    ),
    (
        "c4",
        HENAN,
        "郑州市",
        "金水区",
        "教育",
        "2024-03-20",
        "校车安全",
        "金水区某小学的校车经常超载，希望教育部门检查。",
    ),
]


def load(store) -> dict:
    """Write the fixture; returns the planted groups' message ids (the expected answers of the tests)."""
    rows, texts, replies = [], [], []

    def add(mid, province, city, district, category, day, hour, title, body, likes, reply_after):
        created = pd.Timestamp(day) + pd.Timedelta(hours=hour)
        rows.append(message(mid, created, province, category, city=city, district=district, title=title))
        texts.append((mid, body, None, likes))
        if reply_after is not None:
            replied_at = pd.Timestamp(day) + pd.Timedelta(hours=hour + reply_after)
            replies.append(dict(reply_id=f"r-{mid}", message_id=mid, replied_at=replied_at, unit="涧西区住建局"))

    for n, (day, hour, title, body, likes, reply_after) in enumerate(GAS):
        add(f"gas-{n:02d}", HENAN, "洛阳市", "涧西区", "城建", day, hour, title, body, likes, reply_after)
    for n, (day, hour, title, body, likes, reply_after) in enumerate(REPEAT):
        add(f"cover-{n}", GUANGDONG, "广州市", "天河区", "城建", day, hour, title, body, likes, reply_after)
    for suffix, province, city, district, category, day, title, body in OTHERS:
        add(f"other-{suffix}", province, city, district, category, day, 11, title, body, 0, None)
    upsert(store, "messages", frame(rows))
    upsert(store, "replies", frame(replies))
    with store.write() as cur:
        cur.executemany("INSERT INTO message_texts VALUES (?, ?, ?, ?)", texts)
    return {
        "gas": [f"gas-{n:02d}" for n in range(len(GAS))],
        "gas_replied": sum(1 for g in GAS if g[5] is not None),
        "phone_message": "gas-03",
        "repeat": [f"cover-{n}" for n in range(len(REPEAT))],
    }
