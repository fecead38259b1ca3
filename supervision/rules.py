"""Word rules over Chinese text: normalisation, reply checks, reasons of low ratings, adoption of ideas.

The rules use general administrative vocabulary (what any government reply or citizen comment may say),
not the wording of any generator: each pattern lists the common ways of saying one thing.
"""

from __future__ import annotations

import functools
import operator
import re
import sys

_HAN = re.compile(r"[\u3400-\u9fff]+")
_NOT_HAN = re.compile(r"[^\u3400-\u9fff]+")
# Clause boundaries: Chinese and Western punctuation, whitespace.
_BOUNDARY = "，。！？；、：,.!?;:\\s（）()“”\"'【】\\[\\]…—-"
_CLAUSE = re.compile(f"[{_BOUNDARY}]+")
# what is neither Chinese nor a boundary: dropped from a text before it is split (as each clause drops it)
_NEITHER = re.compile(f"[^\u3400-\u9fff{_BOUNDARY}]+")
MIN_CLAUSE = 4  # clauses shorter than this (您好, 谢谢) say nothing about the reply and are left out

# Says what was done: a completed or scheduled action verb after a marker of having done / going to do it, in one
# clause ("已收悉，将认真研究，及时处理" acknowledges receipt and promises; it reports nothing done).
# Forwarding (已转交…办理) and promising to study it are not actions, so 办理/转办/研究 are not in the list.
ACTION = re.compile(
    r"(已|已经|现已|目前已|并已|均已|已于|将于|计划于|拟于|正在)[^，,；;。！？!?]{0,20}?"
    r"(完成|修复|修缮|维修|整改|处理|处置|解决|安排|协调|督促|责令|约谈|清理|清运|拆除|恢复|发放|补发|退还|退款|"
    r"查处|立案|处罚|更换|开通|疏通|落实|办结|核查|调查|核实|排查|施工|铺设|安装|增设|调整|纳入|回访|"
    r"送达|兑现|支付|结清|追回)"
)
# Names a legal or policy basis: "according to ... law/regulation/rule", a cited document, or an article.
LEGAL = re.compile(
    r"(根据|依据|按照|依照|参照|对照|遵照)[^。；！？]{0,30}?(法|条例|规定|办法|政策|标准|规范|文件|通知|意见|细则|规划|条款)"
    r"|《[^》]{2,40}》"
    r"|第[一二三四五六七八九十百零〇\d]+条"
)

# Reasons of a low rating, from the citizen's follow-up words (追评). One comment may give several.
REASONS = {
    "not_solved": re.compile(
        r"(没|未|没有|并未|尚未|仍未|还没|还未|根本没|始终没)[^。；！？]{0,4}(解决|处理|落实|办|改|修|整改|兑现|到位|结果)"
        r"|依然|依旧|仍然|还是老样子|老样子|照旧|没变化|没有变化|没有任何变化|没改善|没有改善|毫无进展|没有进展|"
        r"无济于事|不了了之|问题还在|问题依然|问题仍|继续存在|又开始|反复出现|再次出现|空头支票|只说不做|光说不做"
    ),
    "slow": re.compile(
        r"太慢|很慢|慢了|拖了|拖延|拖拉|一拖再拖|迟迟|久拖|这么久|那么久|等了|等到|好久|太久|很久|半个月|一个多月|"
        r"几个月|至今|到现在|才回复|才答复|才处理|超时|超期|逾期|时间太长|效率(太)?低|效率低下|不及时"
    ),
    "attitude": re.compile(
        r"态度|不耐烦|冷漠|敷衍|推诿|推脱|推卸|踢皮球|互相推|爱答不理|不理睬|不理不睬|挂(了)?电话|不接电话|没人接|"
        r"打官腔|官僚|傲慢|恶劣|不尊重|训斥|威胁|刁难"
    ),
    "not_addressed": re.compile(
        r"答非所问|文不对题|所答非所问|不是我(问|说|反映)的|没(有)?(回答|回应|看|说到)[^。；！？]{0,6}(问题|诉求|重点)|"
        r"避重就轻|回避|套话|官话|空话|模板|复制粘贴|千篇一律|一模一样|没看清|张冠李戴|驴唇不对马嘴|牛头不对马嘴|"
        r"没针对|不沾边|不相干|毫不相关|无关"
    ),
}
REASON_ORDER = ("not_solved", "slow", "attitude", "not_addressed")
# When the comment gives no reason, the lowest of the three scores names one (ties: this order).
SCORE_REASON = (("score_resolution", "not_solved"), ("score_speed", "slow"), ("score_attitude", "attitude"))

# A reply that says a suggestion was taken up.
ADOPTED = re.compile(
    r"(予以|已|已经|决定|拟|将)[^。；！？]{0,6}?(采纳|采用|吸纳|吸收)"
    r"|采纳了?您|您的(建议|意见)[^。；！？]{0,10}?(采纳|采用|吸纳|纳入|列入|落实)"
    r"|(已|将|拟)[^。；！？]{0,6}?(纳入|列入|写入)[^。；！？]{0,20}?(规划|计划|方案|议程|清单|预算|项目)"
)


def re2_patterns() -> dict[str, str]:
    """The patterns the reply checks use, spelled for the database's regular expressions (RE2), where \\s and \\d
    mean ASCII only: they are written out as the characters Python's own match (its Unicode whitespace and digits),
    so that both find the same."""
    space, digit = _class_of(r"\s"), _class_of(r"\d")

    def spell(pattern: str) -> str:
        return pattern.replace(r"\s", space).replace(r"\d", digit)

    return {
        "space": space,
        "not_han": r"[^\x{3400}-\x{9fff}]+",  # _NOT_HAN
        "neither": spell(_NEITHER.pattern),
        "boundary": spell(_CLAUSE.pattern),
        "action": spell(ACTION.pattern),
        "legal": spell(LEGAL.pattern),
    }


@functools.cache
def _class_of(escape: str) -> str:
    """The characters Python's `escape` matches, as RE2 class ranges (\\x{...}-\\x{...}; no brackets)."""
    every = "".join(map(chr, range(sys.maxunicode + 1)))  # one scan in C (a match per character took a second)
    codes = [m.start() for m in re.finditer(escape, every)]
    ranges, first = [], codes[0]
    for prev, code in zip(codes, codes[1:] + [None], strict=True):
        if code != prev + 1:
            ranges.append(f"\\x{{{first:x}}}" + (f"-\\x{{{prev:x}}}" if prev != first else ""))
            first = code
    return "".join(ranges)


def han(text) -> str:
    """Only the Chinese characters of a text: digits, Latin letters, punctuation and spaces dropped."""
    return _NOT_HAN.sub("", str(text or ""))


def clauses(text) -> list[str]:
    """The text's clauses (between punctuation), each reduced to its Chinese characters, short ones dropped."""
    # one pass drops what is neither Chinese nor a boundary (a reply is split for every reply checked)
    return [part for part in _CLAUSE.split(_NEITHER.sub("", str(text or ""))) if len(part) >= MIN_CLAUSE]


def bigrams(text: str) -> set[str]:
    """Character bigrams inside each run of Chinese characters."""
    out: set[str] = set()
    for run in _HAN.findall(str(text or "")):
        out.update(map(operator.add, run, run[1:]))  # each character with the next, in C
    return out


def says_action(text) -> bool:
    return bool(ACTION.search(str(text or "")))


def cites_basis(text) -> bool:
    return bool(LEGAL.search(str(text or "")))


def is_adopted(text) -> bool:
    return bool(ADOPTED.search(str(text or "")))


def reasons(comment, scores: dict | None = None) -> list[str]:
    """Reasons of a low rating: from the comment's words; else from its lowest score (<= 2); else 'other'."""
    found = [name for name in REASON_ORDER if REASONS[name].search(str(comment or ""))]
    if found:
        return found
    scores = scores or {}
    given = [(scores.get(column), reason) for column, reason in SCORE_REASON if _score(scores.get(column)) is not None]
    low = [(int(score), reason) for score, reason in given if int(score) <= 2]
    if low:
        return [min(low, key=lambda pair: pair[0])[1]]
    return ["other"]


def _score(value):
    if value is None:
        return None
    try:
        if value != value:  # NaN / NA
            return None
    except TypeError:
        return None
    return value
