"""The briefing (专题简报): periods worked out by hand, numbers equal to the JSON API for the same filters,
text that reads as a person's, masked and escaped, and the CLI and HTTP paths end to end (real Chromium)."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import sys
import urllib.request

import pandas as pd
import pytest
from docx import Document

from briefing import charts, html, outline, period
from briefing.content import Brief
from tests.conftest import HENAN, ROOT

TODAY = dt.date(2021, 7, 14)  # a Wednesday


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("week", ("2021-07-05", "2021-07-11", "2021-06-28", "2021-07-04")),
        ("month", ("2021-06-01", "2021-06-30", "2021-05-01", "2021-05-31")),
        ("quarter", ("2021-04-01", "2021-06-30", "2021-01-01", "2021-03-31")),
        ("2021-03-01:2021-03-10", ("2021-03-01", "2021-03-10", "2021-02-19", "2021-02-28")),
    ],
)
def test_periods_and_the_period_before(spec, expected):
    p = period.resolve(spec, TODAY)
    assert tuple(d.isoformat() for d in (p.start, p.end, *p.before)) == expected


def test_periods_across_the_new_year():
    p = period.resolve("month", dt.date(2021, 1, 3))
    assert (p.start, p.end, *p.before) == (
        dt.date(2020, 12, 1),
        dt.date(2020, 12, 31),
        dt.date(2020, 11, 1),
        dt.date(2020, 11, 30),
    )
    q = period.resolve("quarter", dt.date(2021, 2, 1))
    assert (q.start, q.end, q.before[0]) == (dt.date(2020, 10, 1), dt.date(2020, 12, 31), dt.date(2020, 7, 1))


@pytest.mark.parametrize(
    "spec", ["fortnight", "2021-03-10:2021-03-01", "2021-02-30:2021-03-01", "2019-01-01:2021-01-01"]
)
def test_bad_periods_are_refused(spec):
    with pytest.raises(ValueError):
        period.resolve(spec, TODAY)


def _brief(sections: dict, category: str = "城建") -> Brief:
    p = period.resolve("2021-03-01:2021-03-07", TODAY)
    # 环比 as the API gives it: 10 messages against 0 before (no base), 8 replies against 4 (+100 %)
    summary = {
        "messages": 10,
        "replies": 8,
        "messages_yoy": None,
        "replies_yoy": 0.25,
        "reply_rate": 0.8,
        "messages_pop": None,
        "replies_pop": (8 - 4) / 4,
    }
    frame = pd.DataFrame({"category": [category], "messages": [10], "share": [1.0]})
    return Brief(
        p,
        None,
        dt.datetime(2021, 7, 14, 9),
        summary,
        {"messages": 0, "replies": 4},
        pd.DataFrame(
            {
                "adcode": [HENAN],
                "name": ["河南"],
                "messages": [0],
                "messages_per_10k": [0.0],
                "replies": [0],
                "reply_rate": [None],
                "census_year": [2020],
            }
        ),
        pd.DataFrame({"bucket": [], "messages": []}),
        frame,
        sections,
    )


def test_text_is_masked_and_escaped_and_reads_as_a_person_wrote_it():
    issue = {
        "title": "<b>小区停水</b> 联系 138-0013-8000",
        "city": "郑州市",
        "place": "金水区某小区",
        "messages": 12,
        "likes": 3,
        "replied": 5,
        "heat": 7.25,
        "examples": ["我是张先生，电话 13800138000，身份证 410105199001011234，家里停水三天了"],
    }
    doc = html.document(outline.outline(_brief({"hot_issues": [issue]}, "<script>x</script>")), {}, "svg")
    for secret in ("13800138000", "138-0013-8000", "410105199001011234", "张先生"):
        assert secret not in doc
    assert "<b>小区停水" not in doc and "&lt;b&gt;" in doc
    assert "<script>x" not in doc
    # no raw values a person would not write
    for raw in ("None", "nan", "messages_yoy", "reply_rate"):
        assert raw not in doc
    # 10 messages against 0 the period before: no base for 环比; replies 8 against 4: +100.0%
    assert "环比无可比数据" in doc and "环比增长 100.0%" in doc and "同比增长 25.0%" in doc


@pytest.fixture
def brief_server(fixture_store, serve):
    return serve(fixture_store, clock="2021-07-14T09:00:00")


def _table(doc: Document, first: str) -> list[list[str]]:
    for table in doc.tables:
        rows = [[c.text for c in row.cells] for row in table.rows]
        if rows[0][0] == first:
            return rows
    raise AssertionError(f"no table starting with {first}")


def _percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def test_word_briefing_numbers_equal_the_api(brief_server):
    status, api = brief_server.get("/api/v1/summary", {"start": "2021-04-01", "end": "2021-06-30"})
    _, before = brief_server.get("/api/v1/summary", {"start": "2021-01-01", "end": "2021-03-31"})
    with urllib.request.urlopen(f"{brief_server.url}/api/v1/brief?period=quarter&format=docx", timeout=120) as r:
        assert r.headers["Content-Type"].startswith("application/vnd.openxmlformats")
        doc = Document(io.BytesIO(r.read()))
    rows = {row[0]: row[1:] for row in _table(doc, "指标")[1:]}
    pop = (api["messages"] - before["messages"]) / before["messages"] if before["messages"] else None
    assert rows["留言（件）"] == [
        f"{api['messages']:,}",
        f"{before['messages']:,}",
        _percent(api["messages_yoy"]),
        _percent(pop),
    ]
    assert rows["回复（件）"][:3] == [f"{api['replies']:,}", f"{before['replies']:,}", _percent(api["replies_yoy"])]
    assert rows["满意率"][0] == _percent(api["satisfaction_rate"])
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "2021年4月1日至6月30日" in text and "None" not in text


def test_pdf_briefing_over_http_and_bad_parameters(brief_server):
    with urllib.request.urlopen(f"{brief_server.url}/api/v1/brief?period=2021-01-01:2021-06-30", timeout=120) as r:
        data = r.read()
    assert data.startswith(b"%PDF")
    boxes = {tuple(round(float(v)) for v in box.split()) for box in re.findall(rb"/MediaBox ?\[([^\]]*)\]", data)}
    assert boxes == {(0, 0, 595, 842)}  # every page A4
    for query, parameter in (("period=someday", "period"), ("format=exe", "format"), ("province=Atlantis", "province")):
        status, body = brief_server.get("/api/v1/brief?" + query)
        assert status == 400 and body["parameter"] == parameter


def test_command_line_writes_a_province_briefing(fixture_store, tmp_path):
    fixture_store.close()
    out = tmp_path / "henan.docx"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "app.py"),
            "brief",
            "--db",
            fixture_store.path,
            "--period",
            "2021-01-01:2021-06-30",
            "--province",
            "河南",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    doc = Document(str(out))
    assert doc.paragraphs[0].text == "河南网民留言办理情况专题简报"
    # Henan's messages in 2021 H1 (tests/conftest.py fixture_store): a1 and a2
    assert _table(doc, "指标")[1][1] == "2"
    bad = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "brief", "--db", fixture_store.path, "--period", "x"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2 and "period" in bad.stderr


def test_analyst_briefing_links_follow_the_view():
    from dashboard.analyst import state as S
    from dashboard.analyst.header import brief_hrefs

    today = dt.date(2021, 7, 14)
    national = S.State(period="h1")
    pdf, docx = brief_hrefs(national, today, "/api/v1/brief")
    assert pdf == "/api/v1/brief?period=2021-01-01%3A2021-06-30&format=pdf" and docx.endswith("format=docx")
    henan = S.State(period="h1", provinces=("河南",))
    assert "province=410000" in brief_hrefs(henan, today, "/api/v1/brief")[0]
    region = S.State(period="h1", provinces=("东部",))  # a region is not one province: national briefing
    assert "province" not in brief_hrefs(region, today, "/api/v1/brief")[0]


def test_charts_start_a_new_session_when_kaleido_missed_its_page(monkeypatch):
    sessions = []

    async def flaky(figs, fmt):
        sessions.append(fmt)
        if len(sessions) == 1:
            raise RuntimeError("ReferenceError: kaleido_scopes is not defined")
        return {"trend": b"<svg/>"}

    monkeypatch.setattr(charts, "_render", flaky)
    assert charts.render({"trend": {}}, "svg") == {"trend": b"<svg/>"} and len(sessions) == 2

    async def broken(figs, fmt):
        raise RuntimeError("TypeError: something else")

    monkeypatch.setattr(charts, "_render", broken)
    with pytest.raises(RuntimeError, match="something else"):
        charts.render({"trend": {}}, "svg")
