"""Issue 16: a bounded fuzz run of the write API's bodies (hypothesis): random JSON values and records, deep
nesting, odd Unicode, extreme numbers, raw bytes, every accepted content type. No answer may be a 5xx and the
server must stay up; the slowest request is printed (run with -s to see it)."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.ingest_api import BODY_TYPES
from queries.writes import KINDS

TOKEN = "fuzz-token"
FIELDS = [
    "message_id", "created_at", "province", "city", "district", "addressee", "category", "msg_type", "title",
    "content", "likes", "location", "is_urgent", "status", "reply_id", "replied_at", "unit", "rated_at", "satisfied",
    "score_resolution", "score_attitude", "score_speed", "comment", "unit_id", "leader_id", "name", "level",
    "joined_at", "_row", " Message_ID ",
]  # fmt: skip
ODD_TEXT = st.text(
    alphabet=st.characters(codec=None, categories=["L", "N", "P", "S", "Z", "C", "M"]),  # incl. surrogates, controls
    max_size=300,
)
TIMES = st.one_of(
    st.sampled_from(["2025-03-01 09:00:00", "2021-02-30", "0001-01-01", "9999-12-31T23:59:59Z", "", "  ", "2025"]),
    st.datetimes().map(lambda d: d.isoformat()),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    ODD_TEXT,
    st.sampled_from(["河南", "410000", "Henan", "满意", "是", "待回复", "省级", "<b>x</b>", "138 0013 8000"]),
    TIMES,
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ODD_TEXT, inner, max_size=4))
RECORDS = st.dictionaries(st.sampled_from(FIELDS) | ODD_TEXT, VALUES, max_size=12)


def _nested(depth: int, leaf: str) -> str:
    return '{"a":' * depth + leaf + "}" * depth


BODIES = st.one_of(
    st.lists(RECORDS, max_size=20).map(lambda rows: json.dumps(rows, ensure_ascii=False, allow_nan=True)),
    st.lists(RECORDS, max_size=20).map(lambda rows: "\n".join(json.dumps(r) for r in rows)),  # JSON Lines, \u escapes
    st.lists(VALUES, max_size=10).map(lambda values: "\n".join(json.dumps(v) for v in values)),
    VALUES.map(json.dumps),
    st.tuples(st.integers(1, 3_000), st.sampled_from(["1", "null", "[]", '"x"'])).map(lambda t: _nested(*t)),
    st.integers(1, 3_000).map(lambda depth: "[" * depth + "]" * depth),
    st.binary(max_size=2_000),
    st.lists(st.sampled_from(["{", "}", "[", "]", '"', "\\", ":", ",", "\n", "null", "1", '"a"']), max_size=200).map(
        "".join
    ),
)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    from dataclasses import replace

    from queries.db import Store
    from settings import Settings
    from tests.conftest import LiveServer

    store = Store(tmp_path_factory.mktemp("fuzz") / "fuzz.duckdb")
    server = LiveServer(store, replace(Settings(), db=store.path, simulate=False, ingest_token=TOKEN))
    slowest = {"seconds": 0.0, "body": b""}
    yield server, slowest
    server.close()
    store.close()
    print(f"\nfuzz: slowest write API request {slowest['seconds'] * 1000:.0f} ms: {slowest['body'][:120]!r}")


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    derandomize=True,  # the same examples on every run: CI stays reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(kind=st.sampled_from(KINDS), body=BODIES, content_type=st.sampled_from(sorted(BODY_TYPES)))
def test_write_api_never_fails_with_a_5xx(fuzz_server, kind, body, content_type):
    server, slowest = fuzz_server
    data = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    started = time.perf_counter()
    status, answer = server.post(f"/api/v1/ingest/{kind}", data, token=TOKEN, content_type=content_type)
    seconds = time.perf_counter() - started
    if seconds > slowest["seconds"]:
        slowest.update(seconds=seconds, body=data)
    assert status in (200, 400), (status, answer, data[:300])
    if status == 400:
        assert isinstance(answer, dict) and answer["error"]
    else:
        assert answer["received"] >= answer["accepted"] >= 0


def test_server_still_answers_after_the_fuzz(fuzz_server):
    server, _ = fuzz_server
    status, meta = server.get("/api/v1/meta")
    assert status == 200 and isinstance(meta, dict)
