"""Named places in a message's text (the community, company, school or road it is about)."""

from __future__ import annotations

import re

# A named place in free text: a proper name (2-8 characters) before a kind of place (community, company, school,
# road...). General Chinese address morphology, not any data set's wording: the name is read backwards from the
# kind until a character that does not belong in a name (a function word, a verb of asking, punctuation).
_PLACE_KIND = re.compile(
    r"(?:小区|社区|花园|家园|公寓|新村|新城|苑|大厦|广场|商场|市场|村|镇|乡|街道|有限公司|公司|集团|厂|中学|小学|"
    r"幼儿园|学校|学院|大学|医院|卫生院|大道|路(?![灯口面上边况费线段])|街(?![道头])|巷|桥|工地|车站)"
)
_NOT_IN_NAME = set("的了在是我你他她们把对向从和与及请注映过到于住家都个这那就也还又被给让说称叫位于为将已")
_NAME_CHARS = (2, 8)


def mentioned_places(text_value: str | None) -> list[str]:
    """Named places in a text, e.g. '我家住在翠竹园小区' -> ['翠竹园小区']."""
    text_value = text_value or ""
    out = []
    for match in _PLACE_KIND.finditer(text_value):
        start = match.start()
        while (
            start > 0
            and match.start() - start < _NAME_CHARS[1]
            and "\u4e00" <= text_value[start - 1] <= "\u9fff"
            and text_value[start - 1] not in _NOT_IN_NAME
        ):
            start -= 1
        if match.start() - start >= _NAME_CHARS[0]:
            out.append(text_value[start : match.end()])
    return out


def admin_prefixes(own: frozenset[str]) -> tuple[str, ...]:
    """The names of a message's own place, longest first (what strip_admin takes off)."""
    return tuple(sorted(own, key=len, reverse=True))


def strip_admin(name: str, own: frozenset[str] | tuple[str, ...]) -> str:
    """A place name without a leading name of the message's own province, city or district (`own`: the names, or
    admin_prefixes of them when many names are stripped of the same)."""
    prefixes = own if isinstance(own, tuple) else admin_prefixes(own)
    while name.startswith(prefixes):
        for prefix in prefixes:
            if name.startswith(prefix) and len(name) - len(prefix) >= 3:
                name = name[len(prefix) :]
                break
        else:
            break
    return name
