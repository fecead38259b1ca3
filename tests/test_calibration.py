"""The default demo dataset's 2021 H1 calibration, checked through the JSON API over real HTTP."""

from __future__ import annotations

import pytest

from queries.db import Store

H1 = {"start": "2021-01-01", "end": "2021-06-30"}
TOP5 = ["河南", "四川", "陕西", "安徽", "北京"]


@pytest.fixture(scope="module")
def demo_server(demo_db):
    from dataclasses import replace

    from settings import Settings
    from tests.conftest import LiveServer

    store = Store(demo_db)
    server = LiveServer(store, replace(Settings(), db=str(demo_db), simulate=False))
    yield server
    server.close()
    store.close()


def test_published_2021_h1_figures(demo_server):
    status, s = demo_server.get("/api/v1/summary", H1)
    assert status == 200
    assert s["messages"] == pytest.approx(367_000, rel=0.01)
    assert s["messages_yoy"] == pytest.approx(0.102, abs=0.005)
    assert s["replies"] == pytest.approx(323_000, rel=0.01)
    assert s["replies_yoy"] == pytest.approx(0.21, abs=0.01)
    assert s["new_units"] == pytest.approx(1_427, rel=0.02)
    assert s["new_units_yoy"] == pytest.approx(0.16, abs=0.01)
    assert s["new_leaders"] == 254 and s["new_leaders_provinces"] == 24
    assert s["census_year"] == 2020


def test_top_five_per_10k(demo_server):
    _, body = demo_server.get("/api/v1/provinces", H1)
    rows = body["provinces"]
    for metric in ("messages_per_10k", "replies_per_10k"):
        ranked = sorted(rows, key=lambda p: (-p[metric], p["adcode"]))
        assert [p["name"] for p in ranked[:5]] == TOP5, metric
