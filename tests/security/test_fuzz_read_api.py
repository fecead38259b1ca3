"""Issue 16: a short fuzz run of the read API's documented parameters, valid and hostile values mixed.

Every answer is JSON, 200 or 400 (never 5xx); a 400 names the parameter. Bounded in time: a fixed number of
examples with a deadline each, no shrinking database, one server. Prints the slowest request."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queries.db import Store
from queries.writes import upsert
from settings import Settings
from tests.conftest import BEIJING, HENAN, SICHUAN, LiveServer, frame, message

ENDPOINTS = ["summary", "provinces", "trend", "categories", "types", "feed", "meta"]
PARAMS = ["start", "end", "period", "province", "category", "msg_type", "urgent", "granularity", "limit", "lang"]
HOSTILE = [
    "",
    " ",
    "0",
    "-1",
    "1e308",
    "9" * 400,
    "NaN",
    "null",
    "[]",
    "{}",
    "<script>alert(1)</script>",
    "' OR '1'='1",
    "%00",
    "\u0000",
    "\u202e",
    "河" * 300,
    "0001-01-01",
    "9999-12-31",
    "2021-02-30",
    "2000-01-01",
    "2100-12-31",
    "../../etc/passwd",
    "true",
    "yes",
    "是",
]
VALID = {
    "start": ["2021-01-01", "2020-06-30", "2019-12-31"],
    "end": ["2021-06-30", "2021-12-31", "2022-01-01"],
    "period": ["today", "week", "month", "quarter", "ytd", "h1", "year", "last30", "last12m"],
    "province": ["河南", "四川", "Henan", "410000", "东部", "west", "北京市"],
    "category": ["城建", "交通", "其他"],
    "msg_type": ["投诉/求助", "咨询"],
    "urgent": ["true", "false", "1", "0"],
    "granularity": ["day", "week", "month"],
    "limit": ["1", "30", "500"],
    "lang": ["zh", "en"],
}
SLOWEST: list[tuple[float, str]] = []


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("fuzz") / "fuzz.duckdb")
    rows = [
        message(f"m{i}", f"2021-0{1 + i % 6}-1{i % 9} 10:00:00", province=(HENAN, SICHUAN, BEIJING)[i % 3])
        for i in range(60)
    ]
    upsert(store, "messages", frame(rows))
    live = LiveServer(store, replace(Settings(), db=store.path, simulate=False, clock="2021-06-30T12:00:00"))
    yield live
    live.close()
    store.close()
    if SLOWEST:
        took, url = max(SLOWEST)
        print(f"\nslowest fuzz request: {took * 1000:.0f} ms of {len(SLOWEST)}: {url[:160]}")


def values_for(name: str):
    return st.one_of(st.sampled_from(VALID[name]), st.sampled_from(HOSTILE), st.text(max_size=60))


queries = st.lists(
    st.sampled_from(PARAMS).flatmap(lambda name: values_for(name).map(lambda v: (name, v))),
    max_size=12,
).flatmap(
    lambda pairs: st.one_of(
        st.just(pairs),
        # a list parameter repeated many times (the province=East x 10,000)
        st.tuples(st.sampled_from(["province", "category", "msg_type"]), st.integers(40, 3000)).map(
            lambda spec: pairs + [(spec[0], "East" if spec[0] == "province" else "x")] * spec[1]
        ),
    )
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=st.sampled_from(ENDPOINTS), pairs=queries)
def test_read_api_never_fails_on_any_parameters(server, endpoint, pairs):
    url = f"{server.url}/api/v1/{endpoint}?{urllib.parse.urlencode(pairs)}"
    began = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            status, raw, kind = response.status, response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        status, raw, kind = exc.code, exc.read(), exc.headers.get_content_type()
    SLOWEST.append((time.perf_counter() - began, url))
    assert status in (200, 400), (status, url[:300], raw[:300])
    assert kind == "application/json", (kind, url[:300])
    body = json.loads(raw)
    if status == 400:
        assert set(body) >= {"error", "parameter"} and isinstance(body["parameter"], str)
