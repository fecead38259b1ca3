"""Issue 16, items 2 and 5: masking catches the common written forms of personal data and stays linear on long
text (the figure is in bench/masking_speed.py; nothing here is timed)."""

from __future__ import annotations

import pytest

from queries.masking import mask, mask_text, mask_texts

ZWSP, WJ, NBSP = "\u200b", "\u2060", "\u00a0"


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("请回电13800138000谢谢", "13800138000"),
        ("电话138-0013-8000", "0013"),
        ("电话138 0013 8000", "0013"),
        (f"电话1{ZWSP}3{ZWSP}8{ZWSP}0{ZWSP}0{ZWSP}1{ZWSP}3{ZWSP}8{ZWSP}0{ZWSP}0{ZWSP}0", "8"),
        (f"电话138{WJ}0013{NBSP}8000", "0013"),
        ("电话１３８００１３８０００", "１３８"),  # full-width digits
        ("身份证4101 0519 9003 0712 3X", "0519"),
        ("身份证41010519900307123X", "0519"),
        ("身份证 410105-19900307-1234", "19900307"),
        ("座机0371-66668888", "66668888"),
        ("座机 (0371) 6666 8888", "6666"),
        ("邮箱 zhang.san+cc@example.com.cn", "zhang"),
        ("车牌豫A12345", "12345"),
        ("车牌京A·D1234", "D1234"),
        ("新能源车京AD12345", "D12345"),
    ],
)
def test_personal_numbers_and_addresses_are_masked(text, hidden):
    masked = mask(text)
    assert hidden not in masked and "*" in masked
    assert masked.startswith(text[:2])  # the words around stay


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("张先生反映", "*先生反映"),
        ("王建国女士反映", "***女士反映"),
        ("请联系李女士", "请联系*女士"),
        ("欧阳娜娜女士来电", "****女士来电"),
        ("该女士表示", "该女士表示"),  # no name
        ("这位先生", "这位先生"),
    ],
)
def test_names_before_honorifics_are_masked_and_the_honorific_kept(text, expected):
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    ["2021-06-30停水", "3号楼2单元", "共12345元", "价格 12.5 元", "2021年6月30日", "第2021-3-5号", "ABC123X", "G4高速"],
)
def test_ordinary_text_is_left_alone(text):
    assert mask(text) == text


def test_a_date_before_a_phone_keeps_the_date_only():
    assert mask("2021-06-30 13800138000") == "2021-06-30 ******"


def test_long_text_is_masked_whole():
    # 100,000 characters: long runs that made the old pattern backtrack, with personal data between them
    text = "河" * 30_000 + "13800138000" + "a" * 30_000 + "王建国女士" + "1-" * 10_000 + "x@y.cn" + "8" * 19_978
    assert len(text) == 100_000
    masked = mask(text)
    assert "13800138000" not in masked and "王建国" not in masked and "x@y.cn" not in masked
    assert masked.startswith("河" * 30_000 + "******" + "a" * 30_000 + "***女士")
    assert masked.count("8") == 0


def test_mask_text_truncates_after_masking():
    assert mask_text("电话 138 0013 8000 请尽快处理", limit=12) == "电话 ****** 请…"
    assert mask_text(None) == "" and mask_text(float("nan")) == ""


def test_many_texts_are_masked_as_each_alone():
    """mask_texts tests many texts at once for what personal data needs (a digit, "@", an honorific, a province
    letter before a Latin one) and masks only those: the result equals mask_text of each."""
    texts = [
        "请回电13800138000谢谢",
        "电话１３８００１３８０００",
        "车牌豫A12345",
        "邮箱 zhang.san+cc@example.com.cn",
        "张先生反映",
        "王建国女士反映",
        "郑州市金水区住房和城乡建设局",
        "  空格   很多 的单位 ",
        "京Ab",
        "第3号楼物业",
        "单" * 80,
        "",
    ]
    for limit in (12, 60):
        assert mask_texts(texts, limit) == [mask_text(t, limit) for t in texts]
    assert mask_texts(["王建国女士反映", "住建局"], 60) == ["***女士反映", "住建局"]
