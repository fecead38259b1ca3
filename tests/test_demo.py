"""The demo dataset: calibration to the published 2021 H1 figures, consistency, realism, determinism.

Every figure is recomputed here with plain SQL over the generated file (the spec's
definitions: inclusive Beijing dates, replies = messages whose first reply falls in
the period), not with the generator's own helpers. The full history is generated once
per session by the `demo_db` fixture of conftest.py (seed of Settings, now 2026-11-26 12:00).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from ingest import demo
from queries.db import Store
from settings import DATA_DIR

H1_2021 = ("2021-01-01", "2021-06-30")
H1_2020 = ("2020-01-01", "2020-06-30")
TOP5 = ["河南", "四川", "陕西", "安徽", "北京"]


@pytest.fixture(scope="module")
def con(demo_db):
    connection = duckdb.connect(str(demo_db))
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def now(con):
    return dt.datetime.fromisoformat(con.execute("SELECT value FROM meta WHERE key = 'demo_until'").fetchone()[0])


def scalar(con, sql: str, params=None):
    return con.execute(sql, params or []).fetchone()[0]


def in_period(column: str, period: tuple[str, str]) -> str:
    start, end = period
    return f"{column} >= DATE '{start}' AND {column} < DATE '{end}' + INTERVAL 1 DAY"


def count(con, table: str, column: str, period) -> int:
    return scalar(con, f"SELECT count(*) FROM {table} WHERE {in_period(column, period)}")


def provinces_of(con, table: str, period) -> set[str]:
    rows = con.execute(
        f"SELECT DISTINCT p.name_short FROM {table} t JOIN provinces p ON p.adcode = t.province "
        f"WHERE {in_period('t.joined_at', period)}"
    ).fetchall()
    return {r[0] for r in rows}


# -- published 2021 H1 figures --------------------------------------------------
def test_messages_2021h1_and_yoy(con):
    now_, prev = count(con, "messages", "created_at", H1_2021), count(con, "messages", "created_at", H1_2020)
    assert 366_500 <= now_ <= 367_499  # 36.7万: inside the rounding
    assert now_ % 1000 != 0
    assert abs((now_ - prev) / prev - 0.102) <= 0.005


def test_replies_2021h1_and_yoy(con):
    now_, prev = count(con, "messages", "first_reply_at", H1_2021), count(con, "messages", "first_reply_at", H1_2020)
    assert 322_500 <= now_ <= 323_499  # 32.3万
    assert abs((now_ - prev) / prev - 0.21) <= 0.01


def test_units_2021h1(con):
    now_, prev = count(con, "units", "joined_at", H1_2021), count(con, "units", "joined_at", H1_2020)
    assert abs(now_ - 1_427) <= 0.02 * 1_427
    assert abs((now_ - prev) / prev - 0.16) <= 0.01
    provinces = provinces_of(con, "units", H1_2021)
    assert len(provinces) == 21
    assert {"内蒙古", "辽宁", "广东"} <= provinces


def test_leaders_2021h1(con):
    assert count(con, "leaders", "joined_at", H1_2021) == 254
    provinces = provinces_of(con, "leaders", H1_2021)
    assert len(provinces) == 24
    assert {"江苏", "广东", "河北"} <= provinces


@pytest.mark.parametrize("column", ["created_at", "first_reply_at"])
def test_top_five_per_10k(con, column):
    ranking = con.execute(f"""
        SELECT p.name_short, count(m.message_id) * 1e4 / p.census_2020 AS per_10k
        FROM provinces p LEFT JOIN messages m ON m.province = p.adcode AND {in_period("m." + column, H1_2021)}
        GROUP BY p.name_short, p.census_2020, p.adcode ORDER BY per_10k DESC, p.adcode""").df()
    assert ranking["name_short"].head(5).tolist() == TOP5
    # Clear margins: sampling noise cannot swap the ranks.
    values = ranking["per_10k"].to_numpy()
    assert np.all(values[:5] / values[1:6] > 1.05)


def test_other_published_figures(con):
    henan_2020 = scalar(con, "SELECT count(*) FROM messages WHERE province = 410000 AND year(created_at) = 2020")
    chongqing_2021 = scalar(con, "SELECT count(*) FROM messages WHERE province = 500000 AND year(created_at) = 2021")
    assert abs(henan_2020 - 83_000) / 83_000 < 0.04
    assert abs(chongqing_2021 - 9_255) / 9_255 < 0.05


def test_annual_volumes(con):
    years = dict(con.execute("SELECT year(created_at), count(*) FROM messages GROUP BY 1").fetchall())
    assert abs(years[2019] - 560_000) / 560_000 < 0.03
    assert abs(years[2020] - 680_000) / 680_000 < 0.03
    assert abs(years[2021] - 856_000) / 856_000 < 0.03  # 2021 H2: the 急难愁盼 campaign
    for year in (2022, 2023, 2024, 2025):
        assert abs(years[year] - 800_000) / 800_000 < 0.04
    assert 0.85 * 800_000 * 330 / 365 < years[2026] < 1.15 * 800_000 * 330 / 365


# -- consistency ----------------------------------------------------------------
def test_derived_columns_match_replies(con):
    mismatches = scalar(
        con,
        """
        WITH r AS (SELECT message_id, min(replied_at) AS first_at, arg_min(unit, replied_at) AS first_unit,
                          count(*) AS n FROM replies GROUP BY message_id)
        SELECT count(*) FROM messages m LEFT JOIN r USING (message_id)
        WHERE m.first_reply_at IS DISTINCT FROM r.first_at
           OR m.first_reply_unit IS DISTINCT FROM r.first_unit
           OR m.reply_count <> coalesce(r.n, 0)""",
    )
    assert mismatches == 0
    assert scalar(con, "SELECT count(*) FROM replies r ANTI JOIN messages m USING (message_id)") == 0
    # Ties on the first reply would make first_reply_unit ambiguous.
    assert (
        scalar(
            con, "SELECT count(*) FROM (SELECT message_id, replied_at FROM replies GROUP BY ALL HAVING count(*) > 1)"
        )
        == 0
    )


def test_times_are_ordered_and_not_after_now(con, now):
    assert (
        scalar(
            con, "SELECT count(*) FROM replies r JOIN messages m USING (message_id) WHERE r.replied_at < m.created_at"
        )
        == 0
    )
    assert scalar(con, "SELECT max(replied_at) FROM replies") <= now
    assert scalar(con, "SELECT max(created_at) FROM messages") <= now
    assert scalar(con, "SELECT min(created_at) FROM messages") >= dt.datetime(2019, 1, 1)
    assert (
        scalar(
            con,
            "SELECT count(*) FROM evaluations e JOIN messages m USING (message_id) "
            "WHERE m.first_reply_at IS NULL OR e.rated_at <= m.first_reply_at",
        )
        == 0
    )
    assert scalar(con, "SELECT max(rated_at) FROM evaluations") <= now
    assert scalar(con, "SELECT max(joined_at) FROM units") <= now
    assert scalar(con, "SELECT max(joined_at) FROM leaders") <= now


def test_ids_and_meta(con, now):
    assert scalar(con, "SELECT count(*) FROM messages WHERE NOT regexp_full_match(message_id, 'M[0-9]{8}')") == 0
    assert scalar(con, "SELECT count(*) FROM replies WHERE NOT regexp_full_match(reply_id, 'R[0-9]{8}')") == 0
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    assert meta["demo"] == "1"
    assert meta["demo_until"] == now.isoformat()
    assert now == dt.datetime(2026, 11, 26, 12, 0)


# -- replies and evaluations ---------------------------------------------------------
def cohort_rate(con, year: int) -> float:
    return scalar(con, "SELECT avg((first_reply_at IS NOT NULL)::INT) FROM messages WHERE year(created_at) = ?", [year])


def test_reply_rate_rises(con):
    assert abs(cohort_rate(con, 2021) - 0.93) <= 0.02
    assert abs(cohort_rate(con, 2025) - 0.95) <= 0.02
    assert 0.80 <= cohort_rate(con, 2019) <= 0.86
    assert 0.80 <= cohort_rate(con, 2020) <= 0.86
    rates = [cohort_rate(con, y) for y in range(2021, 2026)]
    assert rates == sorted(rates)


def test_reply_delays_and_follow_ups(con):
    median_hours = scalar(
        con,
        "SELECT median(epoch(first_reply_at - created_at) / 3600) FROM messages "
        "WHERE year(created_at) BETWEEN 2021 AND 2025",
    )
    assert 48 <= median_hours <= 100
    p99_days = scalar(con, "SELECT quantile_cont(epoch(first_reply_at - created_at) / 86400, 0.99) FROM messages")
    assert p99_days > 30
    multi = scalar(con, "SELECT avg((reply_count >= 2)::INT) FROM messages WHERE reply_count > 0")
    assert 0.10 <= multi <= 0.15


def test_recent_messages_pending(con, now):
    last_week = con.execute(
        "SELECT count(*), count(first_reply_at), count(*) FILTER (WHERE source_status = '办理中') "
        "FROM messages WHERE created_at >= ?",
        [now - dt.timedelta(days=7)],
    ).fetchone()
    total, replied, in_progress = last_week
    assert replied / total < 0.6  # many still unanswered near now
    assert in_progress > 0.1 * (total - replied)
    old = scalar(con, "SELECT avg((source_status IS NULL)::INT) FROM messages WHERE year(created_at) = 2021")
    assert old > 0.95


def test_satisfaction_and_scores(con):
    rate = scalar(
        con,
        "SELECT avg(verdict::INT) FROM evaluations "
        "WHERE rated_at >= DATE '2021-01-01' AND rated_at < DATE '2026-01-01'",
    )
    assert abs(rate - 0.83) <= 0.02
    assert scalar(con, "SELECT count(*) FROM evaluations WHERE verdict IS DISTINCT FROM satisfied") == 0
    assert (
        scalar(
            con,
            "SELECT count(*) FROM evaluations WHERE satisfied <> "
            "((score_resolution + score_attitude + score_speed) / 3.0 >= 4)",
        )
        == 0
    )
    stars = con.execute(
        "SELECT s, count(*) / sum(count(*)) OVER () FROM (SELECT unnest([score_resolution, "
        "score_attitude, score_speed]) AS s FROM evaluations) GROUP BY s"
    ).fetchall()
    stars = dict(stars)
    assert set(stars) == {1, 2, 3, 4, 5}
    assert 0.75 <= stars[5] <= 0.85 and 0.08 <= stars[1] <= 0.12
    share = scalar(con, "SELECT (SELECT count(*) FROM evaluations) / count(*) FROM messages WHERE reply_count > 0")
    assert 0.30 <= share <= 0.40


# -- shape of the records ------------------------------------------------------------
def test_domains_and_types(con):
    categories = dict(
        con.execute("SELECT category, count(*) / sum(count(*)) OVER () FROM messages GROUP BY 1").fetchall()
    )
    for name, share in {
        "城建": 0.29,
        "企业": 0.15,
        "就业": 0.135,
        "交通": 0.10,
        "教育": 0.07,
        "政务": 0.06,
        "环保": 0.05,
        "治安": 0.05,
        "医疗": 0.02,
    }.items():
        assert abs(categories[name] - share) < 0.01, name
    assert categories["征集"] < 0.005 and categories["体育"] < 0.005
    types = dict(con.execute("SELECT msg_type, count(*) / sum(count(*)) OVER () FROM messages GROUP BY 1").fetchall())
    assert abs(types["投诉/求助"] - 0.77) < 0.01 and abs(types["咨询"] - 0.14) < 0.01
    assert abs(types["建言"] - 0.08) < 0.01 and types["感谢"] < 0.01
    urgent = dict(
        con.execute("SELECT year(created_at) >= 2021, avg(is_urgent::INT) FROM messages GROUP BY 1").fetchall()
    )
    assert 0.02 < urgent[False] < urgent[True] < 0.08


def test_places_and_text(con):
    places = pd.read_csv(DATA_DIR / "places.csv")
    known = set(zip(places["province_adcode"], places["city"], places["district"], strict=True))
    used = con.execute("SELECT DISTINCT province, city, district FROM messages").fetchall()
    assert set(used) <= known
    capital_share = scalar(con, "SELECT avg((city = '郑州市')::INT) FROM messages WHERE province = 410000")
    assert capital_share > 1.5 / places.query("province_adcode == 410000")["city"].nunique()
    sample = con.execute(
        "SELECT title, addressee, first_reply_unit, city, district FROM messages USING SAMPLE 2000 ROWS (reservoir, 7)"
    ).df()
    assert sample["title"].str.len().between(6, 60).all()
    assert not sample["title"].str.contains(r"\d{5,}|\{").any()  # no phone numbers, no placeholders
    assert sample["addressee"].str.contains("书记|长|主席|专员").all()
    units = sample["first_reply_unit"].dropna()
    assert units.str.contains("局|厅|委员会|中心|办公室|政府|支队").all()
    assert con.execute("SELECT DISTINCT level FROM units ORDER BY 1").fetchall() == [("县级",), ("市级",), ("省级",)]
    assert scalar(con, "SELECT count(*) FROM leaders WHERE NOT regexp_matches(name, '(书记|长|主席|专员)$')") == 0
    assert scalar(con, "SELECT count(*) FROM messages WHERE addressee = '郑州市委书记'") > 0


def test_day_rhythm(con):
    hours = dict(con.execute("SELECT hour(created_at), count(*) FROM messages GROUP BY 1").fetchall())
    night = np.mean([hours[h] for h in range(1, 6)])
    for peak in (10, 15, 21):
        assert hours[peak] > 8 * night
    days = con.execute(
        "SELECT isodow(d) > 5, avg(n) FROM (SELECT created_at::DATE d, count(*) n FROM messages "
        "WHERE year(created_at) = 2023 GROUP BY 1) GROUP BY 1"
    ).fetchall()
    by_weekend = dict(days)
    assert 0.6 < by_weekend[True] / by_weekend[False] < 0.8
    festival = scalar(con, "SELECT count(*) FROM messages WHERE created_at::DATE = DATE '2023-01-22'")
    normal = scalar(
        con,
        "SELECT count(*) / 7 FROM messages WHERE created_at >= DATE '2023-03-05' AND created_at < DATE '2023-03-12'",
    )
    assert festival < 0.55 * normal


def test_units_and_leaders_every_year(con):
    units = dict(con.execute("SELECT year(joined_at), count(*) FROM units GROUP BY 1").fetchall())
    leaders = dict(con.execute("SELECT year(joined_at), count(*) FROM leaders GROUP BY 1").fetchall())
    assert set(units) == set(leaders) == set(range(2019, 2027))
    assert all(1_000 <= units[y] <= 7_000 for y in units)
    assert all(100 <= leaders[y] <= 600 for y in leaders)


# -- determinism and rhythm helpers -------------------------------------------------------
def small(tmp_path, name: str, seed: int) -> dict[str, pd.DataFrame]:
    store = Store(tmp_path / f"{name}.duckdb")
    counts = demo.generate(store, seed=seed, start=dt.date(2021, 6, 1), now=dt.datetime(2021, 7, 3, 10, 30))
    assert counts["messages"] > 10_000
    keys = {
        "messages": "message_id",
        "replies": "reply_id",
        "evaluations": "message_id",
        "units": "unit_id",
        "leaders": "leader_id",
        "message_texts": "message_id",
        "reply_texts": "reply_id",
        "evaluation_comments": "message_id",
        "demo_truth": "ALL",
    }
    frames = {t: store.df(f"SELECT * FROM {t} ORDER BY {k}") for t, k in keys.items()}
    store.close()
    return frames


def test_deterministic(tmp_path):
    first, second, other = small(tmp_path, "a", 7), small(tmp_path, "b", 7), small(tmp_path, "c", 8)
    for table in first:
        pd.testing.assert_frame_equal(first[table], second[table])
    assert not first["messages"].equals(other["messages"])


def test_repeat_truth_is_every_pair_of_the_definition(tmp_path, monkeypatch):
    """The truth's repeats are exactly the pairs of the definition (an earlier and a later message of the same place
    key and named spot, domain and topic, at most 30 days apart; members of planted hot issues left out), computed
    here with pandas from the generator's hidden attributes per message, caught as the stories are planted."""
    hidden = {}

    def spy(rng, m):
        hidden["m"], hidden["st"] = m, plant(rng, m)  # m: the drawn attributes, rewritten by the stories
        return hidden["st"]

    plant = demo.stories.plant
    monkeypatch.setattr(demo.stories, "plant", spy)
    store = Store(tmp_path / "truth.duckdb")
    demo.generate(store, seed=11, start=dt.date(2026, 3, 1), now=dt.datetime(2026, 5, 10, 12))
    m, st = hidden["m"], hidden["st"]
    n = len(m["created"])
    frame = pd.DataFrame(
        {
            "message_id": [f"M{i:08d}" for i in range(1, n + 1)],
            "created": m["created"],
            "place": m["place"],
            "category": m["category"],
            "topic": m["topic"],
            "hot": [s >= 0 and st.rows[s]["kind"] == "hot" for s in st.story],
        }
    )
    named = store.df("SELECT message_id, location FROM message_texts")  # the spot each text names
    truth = store.df("SELECT members, detail FROM demo_truth WHERE kind = 'repeat'")
    store.close()
    frame = frame.merge(named, on="message_id", validate="1:1")
    assert len(frame) == n and frame["location"].str.len().gt(0).all()
    keys = ["place", "category", "topic", "location"]
    pairs = frame[~frame["hot"]].merge(frame[~frame["hot"]], on=keys, suffixes=("_a", "_b"))
    gap = pairs["created_b"] - pairs["created_a"]
    pairs = pairs[(gap > 0) & (gap <= 30 * 86_400)]
    expected = set(zip(pairs["message_id_a"], pairs["message_id_b"], strict=True))
    recorded = [tuple(x) for x in truth["members"]]
    assert len(recorded) == len(set(recorded))
    assert set(recorded) == expected
    kinds = truth["detail"].value_counts()
    # both kinds present: the planted ones and the ones the history drew by chance
    assert kinds["planted"] > 500 and kinds["drawn"] > 20 and set(kinds.index) == {"planted", "drawn"}


def test_refuses_non_empty_store(tmp_path):
    store = Store(tmp_path / "x.duckdb")
    demo.generate(store, seed=1, start=dt.date(2021, 6, 1), now=dt.datetime(2021, 6, 2, 12))
    with pytest.raises(ValueError):
        demo.generate(store, seed=1, start=dt.date(2021, 6, 1), now=dt.datetime(2021, 6, 2, 12))
    store.close()


def constraints(con) -> list[tuple]:
    return con.execute(
        "SELECT table_name, constraint_type, constraint_text, constraint_column_names "
        "FROM duckdb_constraints() ORDER BY ALL"
    ).fetchall()


def test_keys_as_in_a_fresh_store(tmp_path):
    # The bulk load adds the primary keys after the rows: the tables must end up with the same constraints.
    fresh = Store(tmp_path / "fresh.duckdb")
    expected = constraints(fresh.cursor())
    fresh.close()
    store = Store(tmp_path / "demo.duckdb")
    demo.generate(store, seed=3, start=dt.date(2021, 6, 1), now=dt.datetime(2021, 6, 20, 12))
    cur = store.cursor()
    assert constraints(cur) == expected
    for table in ("messages", "replies", "evaluations"):
        assert cur.execute(f"SELECT count(*) FROM duckdb_indexes() WHERE table_name = '{table}'").fetchone()[0] == 0
    with pytest.raises(duckdb.ConstraintException):
        cur.execute("INSERT INTO replies SELECT * FROM replies LIMIT 1")
    cur.execute(
        "INSERT INTO messages SELECT * REPLACE ('changed' AS title) FROM messages LIMIT 1 "
        "ON CONFLICT (message_id) DO UPDATE SET title = excluded.title"
    )
    assert scalar(cur, "SELECT count(*) FROM messages WHERE title = 'changed'") == 1
    store.close()


def test_count_le_is_searchsorted():
    rng = np.random.default_rng(5)
    for k, top in ((3, 1.0), (25, 1.0), (31, 31.0), (2848, 31.0), (40, 1e-3), (12, 7e5)):
        edges = np.sort(rng.random(k)) * top
        edges[-1] = top
        values = np.concatenate([rng.random(200_000) * top * 1.01, edges, np.nextafter(edges, 0), [0.0]])
        assert np.array_equal(demo._count_le(edges, values), np.searchsorted(edges, values, side="right"))


def test_rhythm_helpers():
    hours = demo.hourly_weights()
    assert len(hours) == 24 and abs(hours.sum() - 1) < 1e-9
    assert max(hours[0:6]) < min(hours[9], hours[10], hours[15], hours[21]) / 5
    week = demo.weekday_factor(np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-01-08")))
    assert 0.6 < week[5:].mean() / week[:5].mean() < 0.8
    festivals = demo.spring_festival_factor(np.array(["2021-02-12", "2024-02-10", "2026-02-17"], "datetime64[D]"))
    assert np.allclose(festivals, 0.4)
    assert demo.spring_festival_factor(dt.date(2021, 5, 12)) > 0.99
    assert 1_500 < demo.daily_rate(dt.date(2021, 3, 10)) < 3_000
    delays = demo.sample_reply_delay_hours(np.random.default_rng(0), np.full(10_000, 2023))
    assert 40 < np.median(delays) < 110 and delays.min() > 0


# -- text ------------------------------------------------------------------------------------------
def test_text_reads_like_messages(con):
    lengths = con.execute(
        "SELECT m.msg_type, avg(length(t.content)), avg((length(t.content) < 100)::INT), max(length(t.content)) "
        "FROM messages m JOIN message_texts t USING (message_id) GROUP BY 1"
    ).fetchall()
    by_type = {r[0]: r[1:] for r in lengths}
    complaints = by_type["投诉/求助"]
    assert 120 <= complaints[0] <= 300 and complaints[1] < 0.01 and complaints[2] <= 500
    assert scalar(con, "SELECT count(*) FROM message_texts") == scalar(con, "SELECT count(*) FROM messages")
    assert scalar(con, "SELECT count(*) FROM reply_texts") == scalar(con, "SELECT count(*) FROM replies")
    title = scalar(con, "SELECT avg(length(title)) FROM messages")
    assert 12 <= title <= 24
    sample = con.execute(
        "SELECT m.title, m.city, m.district, t.content, t.location FROM messages m JOIN message_texts t "
        "USING (message_id) USING SAMPLE 2000 ROWS (reservoir, 7)"
    ).df()
    assert not sample["content"].str.contains(r"\d{6,}|\{|\}").any()  # no phone or ID numbers, no placeholders
    # the body names the place (the location) and, mostly, its city or district
    assert sample.apply(lambda r: r["location"] in r["content"], axis=1).mean() > 0.9
    assert sample.apply(lambda r: r["city"] in r["content"] or r["district"] in r["content"], axis=1).mean() > 0.5
    # different messages are worded differently
    assert sample["content"].nunique() > 0.99 * len(sample)
    replies = con.execute("SELECT content FROM reply_texts USING SAMPLE 2000 ROWS (reservoir, 7)").df()["content"]
    assert replies.str.contains("您好").mean() > 0.9 and not replies.str.contains(r"\d{6,}|\{").any()


# -- planted stories (demo_truth): present and visible in the data -------------------------------------
def test_hot_issues(con):
    hot = con.execute(
        "SELECT story, name, len(members) AS n, members, span_start, span_end, date_trunc('month', span_start) AS mo "
        "FROM demo_truth WHERE kind = 'hot'"
    ).df()
    per_month = hot.groupby("mo").size()
    assert per_month.iloc[1:-1].between(10, 99).all()  # tens every (complete) month
    assert hot["n"].between(5, 300).all() and hot["n"].max() > 100
    days = (hot["span_end"] - hot["span_start"]).dt.days
    assert days.median() >= 3 and days.max() <= 40
    # the members name the same place, with different words
    story = hot.sort_values("n").iloc[len(hot) // 2]
    texts = con.execute(
        "SELECT t.content, t.location, m.province, m.city FROM message_texts t JOIN messages m USING (message_id) "
        "WHERE list_contains(?, message_id)",
        [list(story["members"])],
    ).df()
    assert (texts["location"] == story["name"]).all() and texts["content"].nunique() == len(texts)
    assert texts["province"].nunique() == 1 and texts["city"].nunique() == 1
    liked = scalar(
        con,
        "SELECT avg(t.likes) FROM message_texts t WHERE message_id IN "
        "(SELECT unnest(members) FROM demo_truth WHERE kind = 'hot')",
    )
    assert liked > 2 * scalar(con, "SELECT avg(likes) FROM message_texts")


def test_surges_repeats_units_ideas(con):
    surges = con.execute(
        "SELECT province, category, span_start, span_end, len(members) AS n FROM demo_truth WHERE kind = 'surge'"
    ).df()
    per_year = surges.groupby(surges["span_start"].dt.year).size()
    assert (per_year.loc[2020:2025] >= 8).all()
    # a surge: the province x domain count in its days is 2-6x its usual daily level (the 8 weeks before)
    big = surges.sort_values("n").iloc[-1]
    daily = con.execute(
        "SELECT created_at::DATE AS d, count(*) AS n FROM messages WHERE province = ? AND category = ? "
        "AND created_at >= ?::TIMESTAMP - INTERVAL 56 DAY AND created_at <= ? GROUP BY 1",
        [int(big["province"]), big["category"], big["span_start"], big["span_end"]],
    ).df()
    first_day = pd.Timestamp(big["span_start"]).normalize()
    inside = daily[daily["d"] >= first_day]["n"].mean()
    before = daily[daily["d"] < first_day]["n"].sum() / 56
    assert 1.8 <= inside / before <= 8
    repeats = con.execute(
        "SELECT m1.created_at AS a, m2.created_at AS b, t1.location AS l1, t2.location AS l2, t2.content AS c2, "
        "m1.first_reply_at AS r FROM demo_truth d "
        "JOIN messages m1 ON m1.message_id = d.members[1] JOIN messages m2 ON m2.message_id = d.members[2] "
        "JOIN message_texts t1 ON t1.message_id = m1.message_id JOIN message_texts t2 ON t2.message_id = m2.message_id "
        "WHERE d.kind = 'repeat' AND d.detail = 'planted'"
    ).df()
    assert len(repeats) > 10_000
    gap = (repeats["b"] - repeats["a"]).dt.days
    assert gap.between(4, 30).all() and (repeats["l1"] == repeats["l2"]).all()
    assert repeats["c2"].str.contains("之前在这里留言过").all()
    assert (repeats["r"] < repeats["b"]).mean() > 0.5  # mostly after the first answer
    units = (
        con.execute("SELECT kind, list(name) AS names FROM demo_truth WHERE kind LIKE '%unit' GROUP BY 1")
        .df()
        .set_index("kind")["names"]
    )
    slow, boiler = list(units["slow_unit"]), list(units["boilerplate_unit"])
    sql_delays = (
        "SELECT list_contains(?, first_reply_unit) AS slow, median(epoch(first_reply_at - created_at) / 3600) "
        "FROM messages WHERE first_reply_at IS NOT NULL GROUP BY 1"
    )
    delays = con.execute(sql_delays, [slow]).fetchall()
    delays = dict(delays)
    assert delays[True] > 3 * delays[False]
    texts = con.execute(
        "SELECT x.content, count(DISTINCT r.message_id) AS n FROM replies r JOIN reply_texts x "
        "USING (reply_id) WHERE list_contains(?, r.unit) GROUP BY 1 ORDER BY 2 DESC",
        [boiler[:50]],
    ).df()
    # one text for many problems (the rest: adoption notices of suggestions)
    assert texts["n"].head(2).sum() > 0.95 * texts["n"].sum() and texts["n"].sum() > 50
    sql_satisfaction = (
        "SELECT list_contains(?, m.first_reply_unit), avg(e.verdict::INT) FROM evaluations e "
        "JOIN messages m USING (message_id) GROUP BY 1"
    )
    satisfaction = dict(con.execute(sql_satisfaction, [slow + boiler]).fetchall())
    assert satisfaction[True] < satisfaction[False] - 0.1
    # good units: never also slow or boilerplate, faster, more satisfying than the rest
    good = list(units["good_unit"])
    assert len(good) > 100 and not set(good) & (set(slow) | set(boiler))
    good_delays = dict(con.execute(sql_delays, [good]).fetchall())
    assert good_delays[True] < 0.5 * good_delays[False]
    good_satisfaction = dict(con.execute(sql_satisfaction, [good]).fetchall())
    assert good_satisfaction[True] > good_satisfaction[False] + 0.1
    ideas = con.execute(
        "SELECT m.msg_type, x.content FROM demo_truth d JOIN messages m ON m.message_id = d.members[1] "
        "JOIN replies r ON r.message_id = m.message_id AND r.replied_at = d.span_end "
        "JOIN reply_texts x USING (reply_id) WHERE d.kind = 'idea_adopted'"
    ).df()
    assert len(ideas) > 1_000 and (ideas["msg_type"] == "建言").all() and ideas["content"].str.contains("采纳").all()


# -- the published figures through the API -----------------------------------------------------------
@pytest.fixture(scope="module")
def api(demo_db):
    from dataclasses import replace

    from settings import Settings
    from tests.conftest import LiveServer

    store = Store(demo_db)
    server = LiveServer(store, replace(Settings(), db=str(demo_db), simulate=False))
    yield server
    server.close()
    store.close()


def summary(api, start: str, end: str) -> dict:
    status, body = api.get("/api/v1/summary", {"start": start, "end": end})
    assert status == 200
    return body


def test_published_figures_through_the_api(api):
    h1 = summary(api, *H1_2021)
    assert 366_500 <= h1["messages"] <= 367_499 and 322_500 <= h1["replies"] <= 323_499
    year = summary(api, "2021-01-01", "2021-12-31")
    assert year["replies"] > 800_000
    five = summary(api, "2021-01-01", "2025-12-31")
    answered = round(five["reply_rate"] * five["messages"])
    assert answered > 3_800_000
    assert 0.9425 <= five["reply_rate"] < 0.9435
    assert 0.8325 <= five["satisfaction_rate"] < 0.8335
    before = summary(api, "2019-01-01", "2020-12-31")
    assert abs(before["reply_rate"] - 0.831) <= 0.003


def test_no_total_on_a_round_thousand(api):
    periods = [(f"{y}-01-01", f"{y}-06-30") for y in range(2019, 2027)]
    periods += [(f"{y}-07-01", f"{y}-12-31") for y in range(2019, 2026)]
    periods += [(f"{y}-01-01", f"{y}-12-31") for y in range(2019, 2026)]
    for start, end in periods:
        s = summary(api, start, end)
        for key in ("messages", "replies", "new_units", "new_leaders"):
            assert s[key] % 1000 != 0 or s[key] == 0, (start, end, key, s[key])
        assert s["new_units"] % 100 != 0 and s["new_leaders"] % 10 != 0, (start, end)
