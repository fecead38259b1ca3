"""Validation and reading, without a database: every rule with hand-computed expectations."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.readers import LINE_FIELD, ReadError, file_format, parse_body, read_chunks
from ingest.timeparse import parse_times
from ingest.validate import MISSING_COLUMN, MISSING_VALUE, validate

HENAN, BEIJING, SICHUAN, XIZANG = 410000, 110000, 510000, 540000


def raw(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["_row"] = range(2, len(frame) + 2)
    return frame


def problems(rejections) -> list[tuple[int, str]]:
    return [(r.row, r.field) for r in rejections]


# -- times --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2021-06-30 23:59:59", "2021-06-30 23:59:59"),
        ("2021-06-30T23:59:59", "2021-06-30 23:59:59"),
        ("2021-06-30 23:59:59.250", "2021-06-30 23:59:59.250"),
        ("2021-06-30", "2021-06-30 00:00:00"),  # bare date: midnight
        ("  2021-06-30 08:00  ", "2021-06-30 08:00:00"),  # trimmed
        ("2021/6/3 7:05", "2021-06-03 07:05:00"),
        ("2021-06-30T16:30:00Z", "2021-07-01 00:30:00"),  # UTC + 8 h
        ("2021-06-30t16:30:00z", "2021-07-01 00:30:00"),
        ("2021-06-30T23:59:59+08:00", "2021-06-30 23:59:59"),  # already Beijing
        ("2021-06-30 12:00:00-05:00", "2021-07-01 01:00:00"),  # 17:00 UTC + 8 h
        ("2021-06-30T09:00:00+0900", "2021-06-30 08:00:00"),  # Tokyo is one hour ahead
        ("2021-01-01T00:00:00.5+00:00", "2021-01-01 08:00:00.500"),
    ],
)
def test_time_text_forms(text, expected):
    times, missing, bad = parse_times(pd.Series([text], dtype="str"))
    assert not missing[0] and not bad[0]
    assert times[0] == pd.Timestamp(expected)
    assert times.dtype == "datetime64[us]"


@pytest.mark.parametrize(
    "text",
    [
        "2021-02-30",
        "2021-06-31 10:00",
        "2021-06-30 24:00:00",
        "2021-13-01",
        "yesterday",
        "2021",
        "2021-06",
        "30/06/2021",
        "2021-06-30 10:00 Beijing",
    ],
)
def test_time_rejects_impossible_or_unreadable(text):
    times, missing, bad = parse_times(pd.Series([text], dtype="str"))
    assert bad[0] and not missing[0] and pd.isna(times[0])


def test_time_missing_values():
    times, missing, bad = parse_times(pd.Series(["", "   ", None], dtype="str"))
    assert missing.tolist() == [True, True, True] and not bad.any() and times.isna().all()


def test_time_real_timestamps_and_epochs():
    aware = pd.Series(pd.to_datetime(["2021-06-30T16:30:00Z"], utc=True))
    assert parse_times(aware)[0][0] == pd.Timestamp("2021-07-01 00:30:00")
    naive = pd.Series(pd.to_datetime(["2021-06-30 16:30:00"]))
    assert parse_times(naive)[0][0] == pd.Timestamp("2021-06-30 16:30:00")  # naive = Beijing already
    # 1625070600 s = 2021-06-30 16:30:00 UTC (1625011200 is 2021-06-30 00:00 UTC, + 16.5 h = 59400 s)
    epochs = pd.Series([1625070600, 1625070600000, np.nan])
    times, missing, bad = parse_times(epochs)
    assert times[0] == times[1] == pd.Timestamp("2021-07-01 00:30:00")
    assert missing.tolist() == [False, False, True] and not bad.any()


def test_time_mixed_json_values():
    values = pd.Series(
        [
            "2021-06-30 08:00",
            1625070600,
            None,
            True,
            {"a": 1},
            dt.datetime(2021, 6, 30, 16, 30, tzinfo=dt.UTC),
            dt.date(2021, 6, 30),
        ],
        dtype=object,
    )
    times, missing, bad = parse_times(values)
    assert times[0] == pd.Timestamp("2021-06-30 08:00")
    assert times[1] == pd.Timestamp("2021-07-01 00:30")
    assert times[5] == pd.Timestamp("2021-07-01 00:30")
    assert times[6] == pd.Timestamp("2021-06-30 00:00")
    assert missing.tolist() == [False, False, True, False, False, False, False]
    assert bad.tolist() == [False, False, False, True, True, False, False]


# -- messages -----------------------------------------------------------------


def test_messages_conversions_and_defaults():
    accepted, rejections = validate(
        "messages",
        raw(
            [
                {
                    "Message_ID ": " m1 ",
                    "created_at": "2021-06-30T16:30:00Z",
                    "province": "河南",
                    "category": "",
                    "msg_type": None,
                    "is_urgent": "是",
                    "status": "待回复",
                    "unrelated": "x",
                },
                {
                    "Message_ID ": "m2",
                    "created_at": "2021-06-30",
                    "province": "henan",
                    "category": "新领域",
                    "msg_type": "建言",
                    "is_urgent": None,
                    "status": "",
                },
                {
                    "Message_ID ": "m3",
                    "created_at": "2021-06-30 10:00",
                    "province": "410000",
                    "category": "交通",
                    "msg_type": "咨询",
                    "is_urgent": "no",
                    "status": "已办理",
                },
                {
                    "Message_ID ": "m4",
                    "created_at": "2021-06-30 10:00",
                    "province": "四川省",
                    "category": "城建",
                    "msg_type": "咨询",
                    "is_urgent": "TRUE",
                    "status": "办理中",
                },
                {
                    "Message_ID ": "m5",
                    "created_at": "2021-06-30 10:00",
                    "province": " Xizang (Tibet) ",
                    "category": "城建",
                    "msg_type": "咨询",
                    "is_urgent": "0",
                    "status": None,
                },
            ]
        ),
    )
    assert rejections == []
    assert list(accepted.columns) == [
        "message_id",
        "created_at",
        "province",
        "city",
        "district",
        "addressee",
        "category",
        "msg_type",
        "title",
        "is_urgent",
        "source_status",
        "content",
        "likes",
        "location",
        "_row",
    ]
    assert accepted["message_id"].tolist() == ["m1", "m2", "m3", "m4", "m5"]
    assert accepted["created_at"].tolist() == [
        pd.Timestamp("2021-07-01 00:30"),
        pd.Timestamp("2021-06-30"),
        pd.Timestamp("2021-06-30 10:00"),
        pd.Timestamp("2021-06-30 10:00"),
        pd.Timestamp("2021-06-30 10:00"),
    ]
    assert accepted["province"].tolist() == [HENAN, HENAN, HENAN, SICHUAN, XIZANG]
    assert accepted["category"].tolist() == ["其他", "新领域", "交通", "城建", "城建"]
    assert accepted["msg_type"].tolist() == ["其他", "建言", "咨询", "咨询", "咨询"]
    assert accepted["is_urgent"].tolist() == [True, False, False, True, False]
    assert accepted["source_status"].tolist() == ["待回复", pd.NA, "已办理", "办理中", pd.NA]
    assert accepted["city"].isna().all()  # optional column absent: all missing
    assert accepted["_row"].tolist() == [2, 3, 4, 5, 6]


def test_messages_every_failing_field_is_named():
    accepted, rejections = validate(
        "messages",
        raw(
            [
                {
                    "message_id": "ok",
                    "created_at": "2021-06-30 10:00",
                    "province": "北京",
                    "is_urgent": "1",
                    "status": None,
                },
                {
                    "message_id": "",
                    "created_at": "2021-02-30",
                    "province": "Atlantis",
                    "is_urgent": "maybe",
                    "status": "完成",
                },
                {"message_id": "m3", "created_at": None, "province": None, "is_urgent": None, "status": None},
            ]
        ),
    )
    assert accepted["message_id"].tolist() == ["ok"] and accepted["province"].tolist() == [BEIJING]
    assert [(r.row, r.field, r.reason) for r in rejections] == [
        (3, "message_id", MISSING_VALUE),
        (3, "created_at", "not a valid time: '2021-02-30'"),
        (3, "province", "unknown province 'Atlantis'"),
        (3, "is_urgent", "expected true/false (yes/no, 1/0, 是/否), got 'maybe'"),
        (3, "status", "expected one of 待回复, 办理中, 已办理, got '完成'"),
        (4, "created_at", MISSING_VALUE),
        (4, "province", MISSING_VALUE),
    ]


def test_missing_required_column_rejects_every_row():
    accepted, rejections = validate(
        "messages",
        raw(
            [
                {"message_id": "a", "created_at": "2021-06-30"},
                {"message_id": "b", "created_at": "2021-06-31"},
            ]
        ),
    )
    assert accepted.empty
    assert [(r.row, r.field, r.reason) for r in rejections] == [
        (2, "province", MISSING_COLUMN),
        (3, "created_at", "not a valid time: '2021-06-31'"),
        (3, "province", MISSING_COLUMN),
    ]


def test_duplicate_ids_last_accepted_row_wins():
    accepted, rejections = validate(
        "messages",
        raw(
            [
                {"message_id": "d", "created_at": "2021-01-01", "province": "河南", "category": "first"},
                {"message_id": "e", "created_at": "2021-01-01", "province": "河南", "category": "only"},
                {"message_id": "d", "created_at": "2021-01-02", "province": "河南", "category": "second"},
                {"message_id": "d", "created_at": "2021-01-03", "province": "nowhere", "category": "rejected"},
            ]
        ),
    )
    assert problems(rejections) == [(5, "province")]
    assert sorted(zip(accepted["message_id"], accepted["category"], accepted["_row"], strict=True)) == [
        ("d", "second", 4),
        ("e", "only", 3),
    ]


def test_numeric_ids_and_adcodes_from_typed_sources():
    accepted, rejections = validate(
        "messages",
        pd.DataFrame(
            {
                "message_id": [101, 102],
                "created_at": pd.to_datetime(["2021-06-30 16:30", "2021-06-30 17:00"]),
                "province": [410000, 110000],
                "is_urgent": [True, False],
                "_row": [1, 2],
            }
        ),
    )
    assert rejections == []
    assert accepted["message_id"].tolist() == ["101", "102"]
    assert accepted["province"].tolist() == [HENAN, BEIJING]
    assert accepted["is_urgent"].tolist() == [True, False]
    float_ids = validate(
        "replies",
        pd.DataFrame({"reply_id": [7.0, 8.0], "message_id": ["a", "b"], "replied_at": ["2021-01-01", "2021-01-01"]}),
    )[0]
    assert float_ids["reply_id"].tolist() == ["7", "8"]


# -- evaluations, units, leaders, replies -------------------------------------


def test_evaluations_flags_and_scores():
    accepted, rejections = validate(
        "evaluations",
        raw(
            [
                {
                    "message_id": "e1",
                    "rated_at": "2021-07-01",
                    "satisfied": "满意",
                    "score_resolution": "5",
                    "score_attitude": 4,
                    "score_speed": "3.0",
                },
                {
                    "message_id": "e2",
                    "rated_at": "2021-07-01",
                    "satisfied": "不满意",
                    "score_resolution": None,
                    "score_attitude": "",
                    "score_speed": "1",
                },
                {
                    "message_id": "e3",
                    "rated_at": "2021-07-01",
                    "satisfied": None,
                    "score_resolution": "2",
                    "score_attitude": None,
                    "score_speed": None,
                },
                {
                    "message_id": "e4",
                    "rated_at": "2021-07-01",
                    "satisfied": "yes",
                    "score_resolution": "6",
                    "score_attitude": "4.5",
                    "score_speed": "0",
                },
                {
                    "message_id": "e5",
                    "rated_at": "2021-07-01",
                    "satisfied": "perhaps",
                    "score_resolution": "five",
                    "score_attitude": None,
                    "score_speed": None,
                },
            ]
        ),
    )
    assert accepted["message_id"].tolist() == ["e1", "e2", "e3"]
    assert accepted["satisfied"].tolist() == [True, False, pd.NA]
    assert accepted["score_resolution"].tolist() == [5, pd.NA, 2]
    assert accepted["score_attitude"].tolist() == [4, pd.NA, pd.NA]
    assert accepted["score_speed"].tolist() == [3, 1, pd.NA]
    assert str(accepted["satisfied"].dtype) == "boolean" and str(accepted["score_speed"].dtype) == "Int8"
    assert [(r.row, r.field, r.reason) for r in rejections] == [
        (5, "score_resolution", "must be a whole number from 1 to 5, got '6'"),
        (5, "score_attitude", "must be a whole number from 1 to 5, got '4.5'"),
        (5, "score_speed", "must be a whole number from 1 to 5, got '0'"),
        (6, "satisfied", "expected true/false or 满意/不满意, got 'perhaps'"),
        (6, "score_resolution", "must be a whole number from 1 to 5, got 'five'"),
    ]


def test_units_and_leaders():
    accepted, rejections = validate(
        "units",
        raw(
            [
                {
                    "unit_id": "u1",
                    "name": "郑州市住建局",
                    "province": "Henan",
                    "level": "市级",
                    "joined_at": "2021-02-01",
                },
                {"unit_id": "u2", "name": "", "province": "河南", "level": "市级", "joined_at": "2021-02-01"},
                {"unit_id": "u3", "name": "某局", "province": "河南", "level": "部级", "joined_at": "2021-02-01"},
                {"unit_id": "u4", "name": "某局", "province": "河南", "level": None, "joined_at": None},
            ]
        ),
    )
    assert accepted["unit_id"].tolist() == ["u1"] and accepted["province"].tolist() == [HENAN]
    assert accepted["joined_at"].tolist() == [pd.Timestamp("2021-02-01")]
    assert [(r.row, r.field) for r in rejections] == [(3, "name"), (4, "level"), (5, "joined_at")]
    leaders, rejections = validate(
        "leaders",
        raw(
            [{"leader_id": "l1", "name": "成都市市长", "province": "510000", "joined_at": "2021-03-01T08:00:00+08:00"}]
        ),
    )
    assert rejections == [] and leaders["province"].tolist() == [SICHUAN]
    assert leaders["level"].isna().all() and leaders["joined_at"][0] == pd.Timestamp("2021-03-01 08:00")


def test_replies_required_fields():
    accepted, rejections = validate(
        "replies",
        raw(
            [
                {"reply_id": "r1", "message_id": "m1", "replied_at": "2021-07-01 08:00", "unit": " 郑州市住建局 "},
                {"reply_id": "r2", "message_id": " ", "replied_at": "2021-07-01 08:00", "unit": None},
            ]
        ),
    )
    assert accepted["unit"].tolist() == ["郑州市住建局"]
    assert [(r.row, r.field, r.reason) for r in rejections] == [(3, "message_id", MISSING_VALUE)]


def test_unknown_kind():
    with pytest.raises(ValueError, match="unknown kind"):
        validate("comments", pd.DataFrame())


def test_empty_input_keeps_columns_and_types():
    accepted, rejections = validate("evaluations", pd.DataFrame({"_row": pd.Series([], dtype="int64")}))
    assert accepted.empty and list(accepted.columns)[-1] == "_row"
    assert rejections == []


# -- readers ------------------------------------------------------------------


def test_csv_line_numbers_with_bom_quoted_newlines_blank_and_malformed_lines(tmp_path):
    path = tmp_path / "m.csv"
    path.write_bytes(
        "\ufeffMessage_ID,title,province\n"  # 1
        "a,one,河南\n"  # 2
        "\n"  # 3 blank
        'b,"two\nlines",河南\n'  # 4-5
        "c,too,many,values\n"  # 6 malformed
        "d,,\n"  # 7 empty values are missing
        ",,\n"  # 8 no values at all: skipped like a blank line
        'e,"three\n\nlines",北京\n'  # 9-11
        "f,short\n"  # 12 malformed
        "g,last,四川".encode("utf-8")  # 13, no final newline
    )
    chunks = list(read_chunks(path, chunk_rows=2))
    frame = pd.concat([c.frame for c in chunks], ignore_index=True)
    rejections = [r for c in chunks for r in c.rejections]
    assert list(frame.columns) == ["message_id", "title", "province", "_row"]
    assert frame["message_id"].tolist() == ["a", "b", "d", "e", "g"]
    assert frame["_row"].tolist() == [2, 4, 7, 9, 13]
    assert frame["title"].tolist()[1] == "two\nlines" and pd.isna(frame["title"][2])
    assert [(r.row, r.field) for r in rejections] == [(6, LINE_FIELD), (12, LINE_FIELD)]
    assert rejections[0].reason == "expected 3 values, found 4"
    assert sum(c.rows for c in chunks) == 7


def test_csv_every_value_is_text(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("message_id,province,score\n007,410000,4\n", encoding="utf-8")
    frame = next(read_chunks(path)).frame
    assert frame["message_id"].tolist() == ["007"] and frame["province"].tolist() == ["410000"]


def test_csv_not_utf8_and_empty(tmp_path):
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("message_id,province\nm1,河南\n".encode("gbk"))
    with pytest.raises(ReadError, match="UTF-8"):
        list(read_chunks(gbk))
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ReadError, match="empty"):
        list(read_chunks(empty))


def test_jsonl_blank_and_bad_lines(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(
        '{"reply_id": "r1", "message_id": 5}\n'  # 1
        "\n"  # 2 blank
        "{broken\n"  # 3
        "[1, 2]\n"  # 4 not an object
        '  {"Reply_ID": "r2"}  \n',  # 5
        encoding="utf-8",
    )
    chunks = list(read_chunks(path, chunk_rows=1))
    frame = pd.concat([c.frame for c in chunks], ignore_index=True)
    rejections = [r for c in chunks for r in c.rejections]
    assert frame["reply_id"].tolist() == ["r1", "r2"] and frame["_row"].tolist() == [1, 5]
    assert [(r.row, r.field) for r in rejections] == [(3, LINE_FIELD), (4, LINE_FIELD)]
    assert rejections[0].reason.startswith("not valid JSON") and "array" in rejections[1].reason


def test_json_array_file_and_bodies(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps([{"message_id": "a"}, 3, {"message_id": "b"}]), encoding="utf-8")
    chunk = next(read_chunks(path))
    assert chunk.frame["_row"].tolist() == [1, 3] and [(r.row, r.field) for r in chunk.rejections] == [(2, "(line)")]
    body = parse_body(b'\xef\xbb\xbf[{"message_id": "x"}, {"message_id": "y"}]')
    assert body.frame["message_id"].tolist() == ["x", "y"] and body.frame["_row"].tolist() == [1, 2]
    lines = parse_body(b'{"message_id": "x"}\n\nnope\n{"message_id": "z"}\n')
    assert lines.frame["_row"].tolist() == [1, 4] and [r.row for r in lines.rejections] == [3]
    assert lines.rows == 3
    with pytest.raises(ReadError):
        parse_body(b'[{"message_id": ')
    assert parse_body(b"").frame.empty


def test_parquet_keeps_types_and_numbers_rows(tmp_path):
    path = tmp_path / "e.parquet"
    pq.write_table(
        pa.table(
            {
                "Message_ID": ["a", "b", "c"],
                "rated_at": pa.array([dt.datetime(2021, 6, 30, 16, 30)] * 3, pa.timestamp("us", tz="UTC")),
                "score_speed": pa.array([5, None, 3], pa.int8()),
            }
        ),
        path,
    )
    chunks = list(read_chunks(path, chunk_rows=2))
    assert [len(c.frame) for c in chunks] == [2, 1]
    frame = pd.concat([c.frame for c in chunks], ignore_index=True)
    assert frame["_row"].tolist() == [1, 2, 3] and "message_id" in frame.columns
    accepted, rejections = validate("evaluations", frame)
    assert rejections == [] and accepted["rated_at"].tolist() == [pd.Timestamp("2021-07-01 00:30")] * 3


def test_file_format_by_extension():
    assert [file_format(f"x{s}") for s in (".csv", ".CSV", ".jsonl", ".ndjson", ".json", ".parquet")] == [
        "csv",
        "csv",
        "jsonl",
        "jsonl",
        "jsonl",
        "parquet",
    ]
    with pytest.raises(ReadError, match="unsupported file type '.xlsx'"):
        file_format("data.xlsx")


def test_csv_line_numbers_across_many_arrow_blocks(tmp_path, monkeypatch):
    import ingest.readers as readers

    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 64)  # a handful of records per Arrow block
    text = "id,note\n"  # line 1
    expected, malformed = [], []
    line = 2
    for i in range(40):
        if i % 7 == 3:
            text += f'{i},"a\nb"\n'  # two lines
            expected.append((str(i), line))
            line += 2
        elif i % 11 == 5:
            text += f"{i},x,extra\n"  # malformed
            malformed.append(line)
            line += 1
        elif i % 13 == 6:
            text += "\n"  # blank
            line += 1
        else:
            text += f"{i},plain\n"
            expected.append((str(i), line))
            line += 1
    path = tmp_path / "many.csv"
    path.write_text(text, encoding="utf-8")
    chunks = list(read_chunks(path, chunk_rows=5))
    frame = pd.concat([c.frame for c in chunks], ignore_index=True)
    assert list(zip(frame["id"], frame["_row"], strict=True)) == expected
    assert len(chunks) > 1 and len(malformed) == 3  # i = 5, 16, 27 (38 % 7 == 3 is a two-line row)
    assert sorted(r.row for c in chunks for r in c.rejections) == malformed


def test_jsonl_fast_path_keeps_time_strings_as_given(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text(
        '{"message_id": "a", "created_at": "2021-06-30T16:30:00Z", "province": "河南"}\r\n'
        '{"message_id": "b", "created_at": "2021-06-30 16:30:00", "province": "Henan"}\r\n',
        encoding="utf-8",
    )
    frame = next(read_chunks(path)).frame
    assert frame["created_at"].tolist() == ["2021-06-30T16:30:00Z", "2021-06-30 16:30:00"]
    accepted, rejections = validate("messages", frame)
    assert rejections == [] and accepted["_row"].tolist() == [1, 2]
    assert accepted["created_at"].tolist() == [pd.Timestamp("2021-07-01 00:30"), pd.Timestamp("2021-06-30 16:30")]


def test_jsonl_line_numbers_across_blocks(tmp_path):
    lines = [json.dumps({"message_id": f"m{i}", "title": "x" * 100}) for i in range(1, 1201)]  # > 64 KiB
    lines[899] = ""  # line 900 blank
    lines[1099] = "{oops"  # line 1100 broken
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    chunks = list(read_chunks(path, chunk_rows=100))
    assert len(chunks) > 1
    frame = pd.concat([c.frame for c in chunks], ignore_index=True)
    assert [(r.row, r.field) for c in chunks for r in c.rejections] == [(1100, "(line)")]
    numbers = dict(zip(frame["message_id"], frame["_row"], strict=True))
    assert len(numbers) == 1198 and all(numbers[f"m{n}"] == n for n in (1, 899, 901, 1099, 1101, 1200))
