"""Masking of personal data in text that leaves the server (screens, API, downloads).

Masked: phone, landline and ID numbers (also written in groups, with hyphens,
spaces or invisible characters between the digits, full-width digits, an ID's
final X), e-mail addresses, Chinese licence plates (the serial after the
province and city letter) and a name before 先生/女士 (the honorific stays).
A run of digits in groups is personal from 7 digits on; a lone run from 6 on;
a leading date (2021-06-30) is not.

The pattern runs on RE2 (google-re2), which matches in time linear in the
text: Python's backtracking `re` took seconds on one long title and held the
GIL, freezing every screen.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc
import re2

_DIGIT = r"[0-9\x{FF10}-\x{FF19}]"
# Between the digits of one number: spaces of any kind, hyphens and dashes, invisible format characters.
_SEP = r"[\s\p{Z}\p{Cf}\p{M}\-\x{2010}-\x{2015}\x{2212}\x{FF0D}]"
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# The most common surnames (compound ones first: the leftmost alternative that matches wins).
_COMPOUND_SURNAMES = "|".join(
    "欧阳 司马 诸葛 上官 东方 皇甫 慕容 令狐 夏侯 尉迟 公孙 长孙 宇文 司徒 西门 独孤 南宫".split()
)
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施"
    "文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷"
    "盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷"
    "晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
# A single character before 先生/女士 that is a word, not a name ("该女士", "这位先生").
_NOT_NAMES = "某该位老这那此各诸男女其"
_HONORIFIC = "先生|女士"

# Groups: plate, e-mail, digits, name, honorific.
_PERSONAL = re2.compile(
    "|".join(
        [
            rf"([{_PROVINCES}][A-Za-z][\s·•.\-]?[A-Za-z0-9]{{5,6}})",
            r"([\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+)",
            rf"({_DIGIT}(?:{_SEP}*{_DIGIT})*(?:{_SEP}*[Xx])?)",
            rf"((?:{_COMPOUND_SURNAMES}|[{_SURNAMES}])\p{{Han}}{{0,2}}|[^\P{{Han}}{_NOT_NAMES}])"
            rf"({_HONORIFIC})",
        ]
    )
)
# What every match of _PERSONAL contains (a digit, "@", an honorific, a province letter before a Latin one): a text
# without it is left as it is, so that many short texts (unit names) are tested at once instead of one by one.
_MAYBE_PERSONAL = rf"{_DIGIT}|@|{_HONORIFIC}|[{_PROVINCES}][A-Za-z]"
# Splitting one matched run into its groups: a pattern without backtracking, Python's re is linear on it.
_GROUPS = re.compile(r"[0-9\uff10-\uff19]+|[Xx]")
_LONE_RUN, _GROUPED_RUN, _ID_DIGITS = 6, 7, 14


def _stars(count: int) -> str:
    return "*" * min(count, 6)


def _is_date(text: str, spans: list[tuple[int, int]], i: int) -> bool:
    """Groups i..i+2 read as a date: a 4-digit year 19xx/20xx, then month and day of 1-2 digits."""
    if len(spans) - i < 3 or text[spans[i + 2][0]] in "Xx":
        return False
    (a, b), (c, d), (e, f) = spans[i : i + 3]
    return b - a == 4 and text[a : a + 2] in ("19", "20") and d - c <= 2 and f - e <= 2


def _digits(text: str) -> str:
    """A run of digit groups: masked when it can be a phone or ID number; leading dates stay."""
    spans = [(m.start(), m.end()) for m in _GROUPS.finditer(text)]
    first = 0
    while _is_date(text, spans, first):
        first += 3
    if first == len(spans):
        return text
    kept, spans = text[: spans[first][0]], spans[first:]
    x = text[spans[-1][0]] in "Xx"
    numbers = spans[:-1] if x else spans
    count = sum(end - start for start, end in numbers)
    if count < (_LONE_RUN if len(numbers) == 1 else _GROUPED_RUN):
        return text
    if x and count < _ID_DIGITS:  # an X after a short number is a letter, not an ID's check digit
        return kept + _stars(count) + text[numbers[-1][1] :]
    return kept + _stars(count + x)


def _replace(match) -> str:
    plate, email, digits, name, title = match.groups()  # one call: each group() lookup is slow in re2
    if plate is not None:
        return plate[:2] + "*" * (len(plate) - 2)
    if email is not None:
        return _stars(len(email))
    if digits is not None:
        return _digits(digits)
    return "*" * len(name) + title


def mask(value: str) -> str:
    """`value` with its personal data masked (whole text, no truncation)."""
    return _PERSONAL.sub(_replace, value)


def mask_text(value, limit: int = 40) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return _shown(mask(str(value)), limit)


def _shown(masked: str, limit: int) -> str:
    cleaned = " ".join(masked.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def mask_texts(values: list[str], limit: int = 40) -> list[str]:
    """mask_text of each of many texts (strings): only those that may hold personal data go through the pattern."""
    maybe = pc.match_substring_regex(pa.array(values, pa.string()), _MAYBE_PERSONAL).to_pylist()
    return [_shown(mask(v) if m else v, limit) for v, m in zip(values, maybe, strict=True)]
