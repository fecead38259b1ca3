"""Issue 16, items 2, 4 and 6: text longer than the contract allows, labels with markup, and times outside
2000-01-01 .. now + LIUYAN_MAX_FUTURE_MINUTES are row-level rejections naming the field (real HTTP, frozen clock)."""

from __future__ import annotations

import datetime as dt
import json
from functools import partial

import pytest

from ingest import simulate as sim
from queries.writes import upsert

TOKEN = "limits-token"
NOW = dt.datetime(2026, 6, 1, 12, 0, 0)  # the server's frozen Beijing clock


@pytest.fixture
def server(store, serve):
    return serve(store, ingest_token=TOKEN, clock=NOW.isoformat())


def post(server, kind: str, rows: list[dict]) -> dict:
    status, answer = server.post(f"/api/v1/ingest/{kind}", json.dumps(rows, ensure_ascii=False), token=TOKEN)
    assert status == 200, answer
    return answer


def rejected(answer: dict) -> list[tuple[int, str]]:
    return [(r["index"], r["field"]) for r in answer["rejected"]]


def msg(i: int, **fields) -> dict:
    return {"message_id": f"m{i}", "created_at": "2025-03-01 09:00", "province": "河南"} | fields


def test_text_lengths_at_the_contract(server):
    rows = [
        msg(1, title="河" * 200, content="字" * 10_000, location="路" * 100, category="城" * 20, msg_type="咨询"),
        msg(2, title="河" * 201),
        msg(3, content="字" * 10_001),
        msg(4, location="路" * 101),
        msg(5, category="L" * 21),
        msg(6, msg_type="T" * 10_000),
        msg(7, city="市" * 51, district="区" * 51, addressee="书" * 101),
        {"message_id": "x" * 101, "created_at": "2025-03-01 09:00", "province": "河南"},
    ]
    answer = post(server, "messages", rows)
    assert answer["written"] == 1
    assert rejected(answer) == [
        (2, "title"),
        (3, "content"),
        (4, "location"),
        (5, "category"),
        (6, "msg_type"),
        (7, "city"),
        (7, "district"),
        (7, "addressee"),
        (8, "message_id"),
    ]
    assert answer["rejected"][0]["reason"] == "longer than 200 characters (201)"


def test_other_kinds_bounded_too(server):
    post(server, "messages", [msg(1)])
    answer = post(
        server,
        "replies",
        [
            {"reply_id": "r1", "message_id": "m1", "replied_at": "2025-03-02", "unit": "局" * 101},
            {"reply_id": "r2", "message_id": "m1", "replied_at": "2025-03-02", "content": "答" * 10_001},
        ],
    )
    assert rejected(answer) == [(1, "unit"), (2, "content")]
    answer = post(server, "evaluations", [{"message_id": "m1", "rated_at": "2025-03-03", "comment": "评" * 2_001}])
    assert rejected(answer) == [(1, "comment")]
    unit = {"unit_id": "u1", "name": "名" * 101, "province": 410000, "joined_at": "2025-01-01"}
    answer = post(server, "units", [unit])
    assert rejected(answer) == [(1, "name")]


@pytest.mark.parametrize(
    "label",
    ["<b>城建</b>", "<a href=//x.cn>点</a>", "城建<br>", "城\u202e建", "城\n建", "城\u200b建"],
)
def test_labels_without_markup_or_invisible_characters(server, label):
    answer = post(server, "messages", [msg(1, category=label), msg(2, msg_type=label), msg(3, category="城建 & 交通")])
    assert rejected(answer) == [(1, "category"), (2, "msg_type")]
    assert "markup" in answer["rejected"][0]["reason"]
    assert answer["written"] == 1


def test_times_from_2000_to_ten_minutes_ahead(server):
    rows = [
        msg(1, created_at="1999-12-31 23:59:59"),
        msg(2, created_at="2000-01-01 00:00:00"),
        msg(3, created_at="2026-06-01 12:10:00"),  # now + 10 min: still accepted
        msg(4, created_at="2026-06-01 12:10:01"),
        msg(5, created_at="0001-01-01"),
        msg(6, created_at="9999-12-31 23:59:59"),
        msg(7, created_at="2026-06-01T04:09:00Z"),  # 12:09 Beijing
        msg(8, created_at="2026-06-01T04:11:00Z"),  # 12:11 Beijing
        msg(9, created_at=946_684_799),  # 1999-12-31 23:59:59 UTC = 2000-01-01 07:59:59 Beijing: accepted
    ]
    answer = post(server, "messages", rows)
    assert rejected(answer) == [(i, "created_at") for i in (1, 4, 5, 6, 8)]
    assert "before 2000-01-01" in answer["rejected"][0]["reason"]
    assert "future" in answer["rejected"][1]["reason"] and "2026-06-01 12:10:00" in answer["rejected"][1]["reason"]
    assert answer["written"] == 4
    answer = post(server, "replies", [{"reply_id": "r1", "message_id": "m2", "replied_at": "2030-01-01"}])
    assert rejected(answer) == [(1, "replied_at")]


def test_future_minutes_is_a_setting(store, serve):
    server = serve(store, ingest_token=TOKEN, clock=NOW.isoformat(), max_future_minutes=60)
    answer = post(server, "messages", [msg(1, created_at="2026-06-01 12:59:00"), msg(2, created_at="2026-06-01 13:01")])
    assert rejected(answer) == [(2, "created_at")]


def test_simulator_writes_at_its_own_clock_even_far_from_the_real_one(store):
    """The simulator validates against its clock (tests and demos freeze it anywhere), writing 'now' itself."""

    class Clock:
        now = dt.datetime(2031, 5, 6, 10, 0)  # years after the real clock

        def __call__(self):
            return self.now

    clock = Clock()
    simulator = sim.Simulator(partial(upsert, store), seed=3, speed=20, clock=clock)
    simulator.start_at(clock.now)
    for _ in range(10):
        clock.now += dt.timedelta(seconds=60)
        simulator.advance()  # raises when a simulated row is rejected
    assert simulator.totals.counts["messages"] > 0 and simulator.totals.rejected == 0
    latest = store.scalar("SELECT max(created_at) FROM messages")
    assert dt.datetime(2031, 5, 6, 10, 0) <= latest <= clock.now
