"""File import end to end: hand-written CSV (with BOM), JSON Lines and Parquet files into real DuckDB files.

Every expected value below is worked out by hand from the fixture text.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.importer import format_report, import_files, main
from queries.db import Store
from settings import Settings

ROOT = Path(__file__).resolve().parent.parent
HENAN, BEIJING, SICHUAN = 410000, 110000, 510000

# Lines: 1 header, 2 m1, 3-4 m2 (quoted title over two lines), 5..11 one row each.
MESSAGES_CSV = (
    "\ufeffmessage_id,created_at,province,city,category,msg_type,title,is_urgent,status,note\n"
    "m1,2021-06-30T16:30:00Z,河南,郑州市,城建,咨询,路灯不亮,是,,x\n"
    'm2,2021-06-30 08:00:00,Henan,,,,"供暖\n问题",no,待回复,\n'
    "m3,2021-02-30 10:00:00,河南,,城建,咨询,t,,,\n"
    "m4,2021-06-30 10:00:00,Atlantis,,城建,咨询,t,,,\n"
    ",2021-06-30 10:00:00,河南,,城建,咨询,t,,,\n"
    "m6,2021-06-30 10:00:00,410000,,城建,咨询,t,maybe,,\n"
    "m7,2021-06-30 10:00:00,北京市,,城建,咨询,t,,完成,\n"
    "m8,2021-06-30 12:00:00-05:00,beijing,,交通,建言,t,1,已办理,\n"
    "m9,2021-06-30,四川省,成都市,,,t,,,\n"
)
MESSAGES_REJECTED = [
    (5, "created_at", "not a valid time: '2021-02-30 10:00:00'"),
    (6, "province", "unknown province 'Atlantis'"),
    (7, "message_id", "required value is missing"),
    (8, "is_urgent", "expected true/false (yes/no, 1/0, 是/否), got 'maybe'"),
    (9, "status", "expected one of 待回复, 办理中, 已办理, got '完成'"),
]
# m1: 16:30 UTC = 00:30 next day in Beijing; m8: 12:00 at UTC-5 = 17:00 UTC = 01:00 next day in Beijing.
MESSAGES_STORED = {
    "m1": ("2021-07-01 00:30:00", HENAN, "郑州市", "城建", "咨询", "路灯不亮", True, None),
    "m2": ("2021-06-30 08:00:00", HENAN, None, "其他", "其他", "供暖\n问题", False, "待回复"),
    "m8": ("2021-07-01 01:00:00", BEIJING, None, "交通", "建言", "t", True, "已办理"),
    "m9": ("2021-06-30 00:00:00", SICHUAN, "成都市", "其他", "其他", "t", False, None),
}

# Replies that arrive before their messages. Lines: 3 is blank, 5 has a bad time, 6 is broken JSON.
REPLIES_JSONL = (
    '{"reply_id": "r1", "message_id": "m1", "replied_at": "2021-07-02 09:00:00", "unit": "郑州市住建局"}\n'
    '{"reply_id": "r2", "message_id": "m1", "replied_at": "2021-07-01T02:00:00+08:00", "unit": "郑州市政府"}\n'
    "\n"
    '{"reply_id": "r3", "message_id": "m2", "replied_at": "2021-07-01 10:00"}\n'
    '{"reply_id": "r4", "message_id": "m2", "replied_at": "not a time"}\n'
    '{"reply_id": "r5", "message_id": "m2"\n'
)


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def stored_messages(store: Store) -> dict:
    frame = store.df(
        "SELECT message_id, strftime(created_at, '%Y-%m-%d %H:%M:%S') AS created_at, province, city, "
        "category, msg_type, title, is_urgent, source_status FROM messages ORDER BY message_id"
    )
    frame = frame.astype(object).where(frame.notna(), None)
    return {row[0]: tuple(row[1:]) for row in frame.itertuples(index=False)}


def triples(report) -> list[tuple[int, str, str]]:
    return [(r.line, r.field, r.reason) for r in report.rejections]


@pytest.fixture
def messages_csv(tmp_path) -> Path:
    return write(tmp_path / "messages.csv", MESSAGES_CSV)


def test_csv_good_rows_kept_bad_rows_named(store, messages_csv):
    assert MESSAGES_CSV.encode("utf-8").startswith(b"\xef\xbb\xbf")
    report = import_files(store, "messages", [messages_csv])
    assert (report.rows_read, report.rejected_rows, report.accepted, report.written) == (9, 5, 4, 4)
    assert triples(report) == MESSAGES_REJECTED
    assert {r.file for r in report.rejections} == {str(messages_csv)}
    assert not report.ok
    assert stored_messages(store) == MESSAGES_STORED


def test_same_result_across_small_chunks(store, messages_csv):
    report = import_files(store, "messages", [messages_csv], chunk_rows=2)
    assert (report.rows_read, report.rejected_rows, report.written) == (9, 5, 4)
    assert triples(report) == MESSAGES_REJECTED
    assert stored_messages(store) == MESSAGES_STORED


def test_reimport_is_idempotent_and_updates_changed_rows(store, messages_csv, tmp_path):
    import_files(store, "messages", [messages_csv])
    before = stored_messages(store)
    again = import_files(store, "messages", [messages_csv])
    assert (again.rows_read, again.rejected_rows, again.written) == (9, 5, 4)
    assert store.scalar("SELECT count(*) FROM messages") == 4
    assert stored_messages(store) == before
    changed = write(
        tmp_path / "changed.csv",
        MESSAGES_CSV.replace("m1,2021-06-30T16:30:00Z,河南,郑州市,城建", "m1,2021-06-30T16:30:00Z,河南,郑州市,教育"),
    )
    import_files(store, "messages", [changed])
    assert store.scalar("SELECT count(*) FROM messages") == 4
    assert store.scalar("SELECT category FROM messages WHERE message_id = 'm1'") == "教育"
    assert stored_messages(store)["m2"] == before["m2"]


def test_duplicate_ids_in_one_file_last_wins(store, tmp_path):
    path = write(
        tmp_path / "dup.csv",
        "message_id,created_at,province,category\nd1,2021-01-01,河南,first\nd1,2021-01-02,河南,second\n",
    )
    report = import_files(store, "messages", [path])
    assert (report.rows_read, report.accepted, report.written, report.duplicates) == (2, 2, 1, 1) and report.ok
    assert store.rows("SELECT category, created_at::VARCHAR FROM messages") == [("second", "2021-01-02 00:00:00")]


def test_missing_required_column_rejects_every_row(store, tmp_path):
    path = write(tmp_path / "noprov.csv", "message_id,created_at,city\na,2021-01-01,郑州市\nb,2021-01-02,开封市\n")
    report = import_files(store, "messages", [path])
    assert triples(report) == [
        (2, "province", "required column is missing from the input"),
        (3, "province", "required column is missing from the input"),
    ]
    assert report.rejected_rows == 2 and store.scalar("SELECT count(*) FROM messages") == 0


def test_replies_held_before_their_messages_then_linked(store, messages_csv, tmp_path):
    replies = write(tmp_path / "replies.jsonl", REPLIES_JSONL)
    report = import_files(store, "replies", [replies])
    assert (report.rows_read, report.rejected_rows, report.held, report.written) == (5, 2, 3, 0)
    assert [(r.line, r.field) for r in report.rejections] == [(5, "replied_at"), (6, "(line)")]
    assert report.rejections[0].reason == "not a valid time: 'not a time'"
    assert store.scalar("SELECT count(*) FROM held_replies") == 3
    assert store.scalar("SELECT count(*) FROM replies") == 0

    linked = import_files(store, "messages", [messages_csv])
    assert linked.linked == 3
    assert store.scalar("SELECT count(*) FROM held_replies") == 0
    rows = store.rows(
        "SELECT message_id, first_reply_at::VARCHAR, first_reply_unit, reply_count FROM messages "
        "WHERE message_id IN ('m1', 'm2') ORDER BY message_id"
    )
    # m1: r2 at 02:00 (+08:00 is Beijing) precedes r1 on 2 July; m2: r3 only.
    assert rows == [("m1", "2021-07-01 02:00:00", "郑州市政府", 2), ("m2", "2021-07-01 10:00:00", None, 1)]


def test_reply_before_its_message_is_rejected(store, messages_csv, tmp_path):
    import_files(store, "messages", [messages_csv])
    # m8 was created 2021-07-01 01:00:00 Beijing.
    replies = write(
        tmp_path / "early.jsonl",
        '{"reply_id": "r7", "message_id": "m8", "replied_at": "2021-07-01 00:59:59"}\n'
        '{"reply_id": "r8", "message_id": "m8", "replied_at": "2021-06-30T17:00:00Z"}\n',
    )
    report = import_files(store, "replies", [replies])
    assert [(r.line, r.field) for r in report.rejections] == [(1, "replied_at")]
    assert "precedes" in report.rejections[0].reason
    assert (report.rows_read, report.rejected_rows, report.written) == (2, 1, 1)
    assert store.rows("SELECT reply_id, replied_at::VARCHAR FROM replies") == [("r8", "2021-07-01 01:00:00")]


def test_parquet_evaluations(store, tmp_path):
    path = tmp_path / "evaluations.parquet"
    utc = pa.timestamp("us", tz="UTC")
    pq.write_table(
        pa.table(
            {
                "message_id": ["m1", "m2", "m8", "m9", "m1x"],
                # 2021-07-03 00:00 UTC is 08:00 Beijing
                "rated_at": pa.array([pd.Timestamp("2021-07-03 00:00", tz="UTC")] * 5, utc),
                "satisfied": ["满意", "不满意", None, "maybe", "是"],
                "score_resolution": pa.array([5, None, 6, 4, 3], pa.int64()),
                "score_attitude": pa.array([None, 2, 4, 4, None], pa.int64()),
            }
        ),
        path,
    )
    report = import_files(store, "evaluations", [path])
    assert triples(report) == [
        (3, "score_resolution", "must be a whole number from 1 to 5, got '6'"),
        (4, "satisfied", "expected true/false or 满意/不满意, got 'maybe'"),
    ]
    assert (report.rows_read, report.written) == (5, 3)
    rows = store.rows(
        "SELECT message_id, rated_at::VARCHAR, satisfied, score_resolution, score_attitude "
        "FROM evaluations ORDER BY message_id"
    )
    assert rows == [
        ("m1", "2021-07-03 08:00:00", True, 5, None),
        ("m1x", "2021-07-03 08:00:00", True, 3, None),
        ("m2", "2021-07-03 08:00:00", False, None, 2),
    ]


def test_units_csv_and_leaders_jsonl(store, tmp_path):
    units = write(
        tmp_path / "units.csv",
        "\ufeffunit_id,name,province,level,joined_at\n"
        "u1,郑州市住建局,Henan,市级,2021-02-01\n"
        "u2,北京市交通委,北京,部级,2021-02-01\n",
    )
    leaders = write(
        tmp_path / "leaders.jsonl",
        '{"leader_id": 1, "name": "成都市市长", "province": 510000, "joined_at": "2021-03-01T00:00:00+08:00"}\n',
    )
    assert triples(import_files(store, "units", [units])) == [
        (3, "level", "expected one of 省级, 市级, 县级, got '部级'")
    ]
    assert import_files(store, "leaders", [leaders]).ok
    assert store.rows("SELECT unit_id, province, level, joined_at::VARCHAR FROM units") == [
        ("u1", HENAN, "市级", "2021-02-01 00:00:00")
    ]
    assert store.rows("SELECT leader_id, name, province, level FROM leaders") == [("1", "成都市市长", SICHUAN, None)]


def test_unreadable_file_is_reported_and_others_imported(store, messages_csv, tmp_path):
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("message_id,created_at,province\ng1,2021-01-01,河南\n".encode("gbk"))
    report = import_files(store, "messages", [gbk, messages_csv])
    assert report.failed_files == 1 and not report.ok
    assert (report.rejections[0].file, report.rejections[0].line, report.rejections[0].field) == (str(gbk), 0, "(file)")
    assert "UTF-8" in report.rejections[0].reason
    assert store.scalar("SELECT count(*) FROM messages") == 4


def test_report_text_and_progress(store, messages_csv, capsys):
    report = import_files(store, "messages", [messages_csv], progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and "rows" in captured.err
    text = format_report(report)
    assert "9 rows read" in text and "rejected 5 rows" in text
    assert f"{messages_csv}:5: created_at: not a valid time: '2021-02-30 10:00:00'" in text
    quiet = import_files(store, "messages", [messages_csv])
    assert capsys.readouterr().err == ""
    assert quiet.rows_read == 9


# -- the CLI ------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path) -> Settings:
    return replace(Settings(), db=str(tmp_path / "cli.duckdb"))


def test_main_exit_codes(settings, messages_csv, tmp_path, capsys):
    good = write(tmp_path / "good.jsonl", '{"message_id": "g1", "created_at": "2021-06-30", "province": "河南"}\n')
    assert main(["messages", str(good)], settings) == 0
    assert "every row accepted" in capsys.readouterr().out
    assert main(["import", "messages", str(messages_csv)], settings) == 1
    assert "rejected 5 rows" in capsys.readouterr().out
    store = Store(settings.db)
    assert store.scalar("SELECT count(*) FROM messages") == 5  # g1 + the 4 good rows: kept either way
    store.close()
    assert main(["comments", str(good)], settings) == 2
    assert main(["messages", str(tmp_path / "absent.csv")], settings) == 2
    assert "no such file" in capsys.readouterr().err
    sheet = write(tmp_path / "sheet.xlsx", "not really")
    assert main(["messages", str(sheet)], settings) == 2
    assert "unsupported file type" in capsys.readouterr().err
    assert main(["messages"], settings) == 2
    assert main([], settings) == 2


def test_main_when_the_server_holds_the_database(settings, messages_csv, capsys):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom queries.db import Store\nheld = Store(sys.argv[1])\n"
            "print('ready', flush=True)\ntime.sleep(120)",
            settings.db,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        assert main(["messages", str(messages_csv)], settings) == 3
        assert "held by another process" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("bulk_rows", [1, 10**9], ids=["bulk", "small"])
def test_bulk_import_rebuilds_the_rollups_of_its_days_at_the_end(store, messages_csv, tmp_path, monkeypatch, bulk_rows):
    """An import whose chunks are bulk (writes.BULK_ROWS) keeps no rollups per chunk and rebuilds the days it
    changed when it ends; a small one keeps the increments. Either way the rollups equal the rows afterwards (held
    replies linked by the messages included) and no day stays marked."""
    from queries import deltas, writes
    from tests.test_rollups import _check_tables

    monkeypatch.setattr(writes, "BULK_ROWS", bulk_rows)
    deferred = []
    mark = deltas._mark_stale
    monkeypatch.setattr(deltas, "_mark_stale", lambda *args: deferred.append(args[1]) or mark(*args))
    assert import_files(store, "replies", [write(tmp_path / "replies.jsonl", REPLIES_JSONL)]).held == 3
    assert import_files(store, "messages", [messages_csv]).linked == 3
    assert not store.appends.deferred
    assert set(deferred) == ({"messages"} if bulk_rows == 1 else set())
    _check_tables(store)
    assert store.scalar("SELECT count(*) FROM stale_rollup_days") == 0


@pytest.mark.parametrize("in_time_order", [False, True], ids=["shuffled", "in-time-order"])
def test_bulk_replies_import_links_holds_rejects_and_is_idempotent(store, tmp_path, monkeypatch, in_time_order):
    """A replies file imported in bulk chunks (prepared in the reader thread, rollups rebuilt at the end) into a
    store whose messages partly have replies already: each message's first reply, its unit and its reply count equal
    pandas over the raw reply rows; replies of unknown messages are held (and linked when their messages come), a
    reply earlier than its message is rejected naming the row, and importing the same file again changes nothing.
    In time order with a short lookback, a chunk finds its messages over several spans (writes.REPLY_LOOKBACK_DAYS)."""
    import numpy as np

    from queries import deltas, writes
    from queries.catalog import TABLES
    from tests.test_rollups import _check_tables, _messages, _replies, _write

    monkeypatch.setattr(writes, "BULK_ROWS", 40)
    if in_time_order:
        monkeypatch.setattr(writes, "REPLY_LOOKBACK_DAYS", (2, 10))
    marked = []
    mark = deltas._mark_stale
    monkeypatch.setattr(deltas, "_mark_stale", lambda *args: marked.append(args[1]) or mark(*args))
    rng = np.random.default_rng(21)
    messages = _messages(rng, [f"m{i}" for i in range(300)])
    _write(store, "messages", messages)
    before = _replies(rng, messages, [f"p{i}" for i in range(80)], 80)  # stored before the file (live path)
    _write(store, "replies", before)
    fresh = _replies(rng, messages, [f"r{i}" for i in range(400)], 400)
    unknown = pd.DataFrame(
        {
            "reply_id": [f"u{i}" for i in range(12)],
            "message_id": [f"later{i % 4}" for i in range(12)],
            "replied_at": pd.Timestamp("2023-03-01") + pd.to_timedelta(np.arange(12), unit="h"),
            "unit": "单位丁",
        }
    )
    early_targets = messages.iloc[:3]
    early = pd.DataFrame(
        {
            "reply_id": ["e0", "e1", "e2"],
            "message_id": early_targets["message_id"].to_numpy(),
            "replied_at": early_targets["created_at"].to_numpy() - np.timedelta64(1, "h"),
            "unit": "单位甲",
        }
    )
    rows = pd.concat([fresh.iloc[:150], unknown, fresh.iloc[150:300], early, fresh.iloc[300:]], ignore_index=True)
    if in_time_order:
        rows = rows.sort_values("replied_at", kind="stable", ignore_index=True)
    path = tmp_path / "replies.parquet"
    rows.to_parquet(path, index=False)
    early_lines = [int(i) + 1 for i in np.flatnonzero(rows["reply_id"].str.startswith("e"))]

    def state():
        return store.df(
            "SELECT message_id, first_reply_at, first_reply_unit, reply_count FROM messages ORDER BY message_id"
        )

    def expected(replies: pd.DataFrame) -> pd.DataFrame:
        replies = replies.sort_values(["message_id", "replied_at"], kind="stable")
        first = replies.drop_duplicates("message_id")[["message_id", "replied_at", "unit"]].rename(
            columns={"replied_at": "first_reply_at", "unit": "first_reply_unit"}
        )  # the earliest reply's unit, even when it names none
        first = first.merge(replies.groupby("message_id").size().rename("reply_count").reset_index())
        ids = store.df("SELECT message_id FROM messages ORDER BY message_id")
        out = ids.merge(first, on="message_id", how="left")
        out["reply_count"] = out["reply_count"].fillna(0).astype("int64")
        return out

    def same(got: pd.DataFrame, want: pd.DataFrame) -> None:
        assert got["message_id"].tolist() == want["message_id"].tolist()
        assert got["first_reply_at"].tolist() == want["first_reply_at"].tolist()
        assert got["reply_count"].astype("int64").tolist() == want["reply_count"].tolist()
        units = [None if pd.isna(u) else u for u in got["first_reply_unit"]]
        assert units == [None if pd.isna(u) else u for u in want["first_reply_unit"]]

    report = import_files(store, "replies", [path], chunk_rows=120)
    assert [(r.line, r.field) for r in report.rejections] == [(line, "replied_at") for line in early_lines]
    assert (report.written, report.held) == (400, 12)
    assert "replies" in marked  # bulk chunks: the rollups were deferred
    linked = pd.concat([before, fresh], ignore_index=True)
    same(state(), expected(linked))
    _check_tables(store)
    tables = {t: store.df(f"SELECT * FROM roll_{t} ORDER BY ALL") for t in ("created", "answered", "city")}

    again = import_files(store, "replies", [path], chunk_rows=120)
    assert [(r.line, r.field) for r in again.rejections] == [(line, "replied_at") for line in early_lines]
    assert store.scalar("SELECT count(*) FROM replies") == 480
    assert store.scalar("SELECT count(*) FROM held_replies") == 12
    same(state(), expected(linked))
    _check_tables(store)
    for table, frame in tables.items():  # summed per key: a re-import may add rows that sum to zero
        keys = list(TABLES[table][0])
        now = store.df(f"SELECT * FROM roll_{table}")
        sums = [f.groupby(keys, dropna=False).sum().sort_index() for f in (frame, now)]
        sums = [s[(s != 0).any(axis=1)] for s in sums]
        pd.testing.assert_frame_equal(sums[0], sums[1])

    later = _messages(rng, [f"later{i}" for i in range(4)]).assign(created_at=pd.Timestamp("2023-02-01"))
    assert import_files(store, "messages", [_parquet(tmp_path / "later.parquet", later)]).linked == 12
    same(state(), expected(pd.concat([linked, unknown], ignore_index=True)))
    _check_tables(store)


def _parquet(path: Path, frame: pd.DataFrame) -> Path:
    frame.rename(columns={"source_status": "status"}).to_parquet(path, index=False)
    return path
