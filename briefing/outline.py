"""What the briefing says, in order, as plain blocks (heading, paragraph, table, chart, quote): written once,
rendered to HTML/PDF (briefing.html) and Word (briefing.word). Text reads as a person's; message text masked."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from briefing import wording as w
from briefing.content import Brief
from queries.masking import mask_text

HOT_EXAMPLES = 3
TOP_ROWS = 8


@dataclass(frozen=True)
class Block:
    kind: str  # title, subtitle, heading, paragraph, quote, table, chart, small
    text: str = ""
    rows: tuple = ()  # table: (header, *rows), each a tuple of strings
    chart: str = ""  # chart name (briefing.charts)


def title(brief: Brief) -> str:
    return f"{brief.place}网民留言办理情况{w.KIND_NAMES[brief.period.kind]}"


def outline(brief: Brief) -> list[Block]:
    blocks = [
        Block("title", title(brief)),
        Block("subtitle", f"{w.span(brief.period.start, brief.period.end)}　·　{brief.place}"),
    ]
    for section in (_overview, _places, _trend, _hot_issues, _alerts, _units, _ideas, _definitions):
        blocks += section(brief)
    blocks.append(
        Block(
            "small",
            f"生成于 {brief.generated_at:%Y-%m-%d %H:%M}（北京时间）· 数据来源：领导留言板智慧大屏 · 内部资料",
        )
    )
    return blocks


def _overview(brief: Brief) -> list[Block]:
    s, b = brief.summary, brief.before
    text = [
        f"{w.span(brief.period.start, brief.period.end)}，{brief.place}共收到网民留言 {w.count(s['messages'])} 件，"
        f"{w.change(s.get('messages_yoy'))}，{w.change(brief.pop('messages'), '环比')}；"
        f"办理回复 {w.count(s['replies'])} 件，{w.change(s.get('replies_yoy'))}，"
        f"{w.change(brief.pop('replies'), '环比')}。",
        f"本期留言中已获回复的占 {w.percent(s.get('reply_rate'))}，首次回复用时中位数 "
        f"{w.hours(s.get('median_reply_hours'))}；网民评价满意率 {w.percent(s.get('satisfaction_rate'))}，"
        f"{w.points(s.get('satisfaction_rate'), b.get('satisfaction_rate'))}。",
    ]
    if s.get("urgent_messages"):
        text.append(f"其中标注为急难愁盼的留言 {w.count(s['urgent_messages'])} 件。")
    rows = (
        ("指标", "本期", w.before_name(brief.period), "同比", "环比"),
        ("留言（件）", w.count(s["messages"]), w.count(b.get("messages")), *_changes(brief, "messages")),
        ("回复（件）", w.count(s["replies"]), w.count(b.get("replies")), *_changes(brief, "replies")),
        ("回复率", w.percent(s.get("reply_rate")), w.percent(b.get("reply_rate")), "—", "—"),
        ("满意率", w.percent(s.get("satisfaction_rate")), w.percent(b.get("satisfaction_rate")), "—", "—"),
        ("回复用时中位数", w.hours(s.get("median_reply_hours")), w.hours(b.get("median_reply_hours")), "—", "—"),
    )
    return [Block("heading", "一、总体情况"), *(Block("paragraph", t) for t in text), Block("table", rows=rows)]


def _changes(brief: Brief, key: str) -> tuple[str, str]:
    return w.percent(brief.summary.get(f"{key}_yoy")), w.percent(brief.pop(key))


def _places(brief: Brief) -> list[Block]:
    frame = brief.provinces
    heading = Block("heading", "二、地区分布")
    if frame.empty or int(frame["messages"].sum()) == 0:
        return [heading, Block("paragraph", "本期无留言。")]
    if brief.province is None:
        top = frame.sort_values(["messages", "adcode"], ascending=[False, True]).head(TOP_ROWS)
        dense = frame.sort_values(["messages_per_10k", "adcode"], ascending=[False, True]).head(3)
        leaders = "、".join(f"{r.name}（{int(r.messages):,} 件）" for r in top.head(3).itertuples())
        per = "、".join(f"{r.name}（{r.messages_per_10k:.2f}）" for r in dense.itertuples())
        text = f"留言数居前的是{leaders}；按常住人口计，每万人留言最多的是{per}。"
        rows = [
            (r.name, w.count(r.messages), f"{r.messages_per_10k:.2f}", w.count(r.replies), w.percent(r.reply_rate))
            for r in top.itertuples()
        ]
        header = ("省份", "留言", "每万人", "回复", "回复率")
    else:
        top = frame.head(TOP_ROWS)
        leaders = "、".join(f"{mask_text(r.city, 20)}（{int(r.messages):,} 件）" for r in top.head(3).itertuples())
        text = f"留言数居前的地市是{leaders}。"
        rows = [
            (mask_text(r.city, 20), w.count(r.messages), w.count(r.replies), w.percent(r.reply_rate))
            for r in top.itertuples()
        ]
        header = ("地市", "留言", "回复", "回复率")
    return [
        heading,
        Block("paragraph", text),
        Block("table", rows=(header, *rows)),
        Block("chart", "图1 每万人留言数（按最近一次人口普查常住人口）", chart="map"),
    ]


def _trend(brief: Brief) -> list[Block]:
    out = [Block("heading", "三、走势与领域")]
    points = brief.trend
    if len(points) and int(points["messages"].max()) > 0:
        peak = points.loc[points["messages"].idxmax()]
        out.append(Block("paragraph", f"留言最多的是{_bucket(peak, brief)}，共 {int(peak.messages):,} 件。"))
    out.append(Block("chart", "图2 留言与回复走势（虚线为上年同期）", chart="trend"))
    cats = brief.categories
    if len(cats) and int(cats["messages"].sum()) > 0:
        lead = "、".join(f"{mask_text(r.category, 20)}（{r.share * 100:.1f}%）" for r in cats.head(3).itertuples())
        out.append(Block("paragraph", f"按领域看，留言集中在{lead}。"))
        out.append(Block("chart", "图3 各领域留言", chart="categories"))
    return out


def _bucket(row: pd.Series, brief: Brief) -> str:
    day = pd.Timestamp(row["bucket"]).date()
    return w.day(day) if brief.period.days <= 92 else f"{w.day(day)}起的一周"


def _hot_issues(brief: Brief) -> list[Block]:
    if "hot_issues" not in brief.sections:
        return []
    issues = brief.sections["hot_issues"]
    out = [Block("heading", "四、热点问题")]
    if not issues:
        return out + [Block("paragraph", "本期未发现多人反映的集中问题。")]
    for i, issue in enumerate(issues, 1):
        place = "".join(str(issue.get(k) or "") for k in ("city", "place"))
        out.append(Block("subheading", f"{i}. {mask_text(issue.get('title'), 60)}（{mask_text(place, 40)}）"))
        out.append(
            Block(
                "paragraph",
                f"{w.count(issue.get('messages'))} 条留言，{w.count(issue.get('likes'))} 人点赞，"
                f"已回复 {w.count(issue.get('replied'))} 条，热度 {float(issue.get('heat') or 0):.1f}。",
            )
        )
        out += [Block("quote", f"“{mask_text(t, 90)}”") for t in (issue.get("examples") or [])[:HOT_EXAMPLES]]
    return out


def _alerts(brief: Brief) -> list[Block]:
    if "alerts" not in brief.sections:
        return []
    alerts = brief.sections["alerts"]
    out = [Block("heading", "五、异常增长预警")]
    if not alerts:
        return out + [Block("paragraph", "本期各地各领域留言量未见显著异常增长。")]
    for a in alerts:
        where = mask_text(f"{a.get('province') or ''}{a.get('city') or ''}", 30)
        words = "、".join(mask_text(x, 10) for x in (a.get("top_words") or [])[:5])
        out.append(
            Block(
                "paragraph",
                f"{where}{mask_text(a.get('category'), 20)}类留言自{a.get('start')}起明显增多，"
                f"达到常态的 {float(a.get('ratio') or 0):.1f} 倍（{w.count(a.get('messages'))} 件，"
                f"预期约 {_expected(a.get('expected'))} 件）" + (f"，主要涉及{words}" if words else "") + "。",
            )
        )
    return out


def _expected(value) -> str:
    value = float(value or 0)
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def _units(brief: Brief) -> list[Block]:
    best, worst = brief.sections.get("units_best"), brief.sections.get("units_worst")
    if best is None and worst is None:
        return []
    out = [Block("heading", "六、单位办理情况")]
    if brief.period.days < 90:
        out.append(
            Block(
                "paragraph",
                "为保证评价数量足以比较，本节按截至本期末的近 90 日统计，评价数达到排名门槛的单位参与排名。",
            )
        )
    header = ("单位", "回复", "按时回复率", "满意率", "用时中位数")
    for name, units in (("表扬：办理及时、群众满意的单位", best or []), ("督办：需加强办理的单位", worst or [])):
        out.append(Block("paragraph", f"{name}："))
        if not units:
            out.append(Block("paragraph", "本期无符合条件的单位。"))
            continue
        rows = [
            (
                mask_text(u.get("unit"), 30),
                w.count(u.get("answered")),
                w.percent(u.get("on_time_rate")),
                w.percent(u.get("satisfaction_rate")),
                w.hours(u.get("median_reply_hours")),
            )
            for u in units[:10]
        ]
        out.append(Block("table", rows=(header, *rows)))
    return out


def _ideas(brief: Brief) -> list[Block]:
    ideas = brief.sections.get("good_ideas")
    if not ideas:
        return []
    return [Block("heading", "七、金点子")] + [
        Block(
            "paragraph",
            f"{i}. {mask_text(x.get('title'), 60)}（{w.count(x.get('likes'))} 人点赞"
            + ("，已被采纳" if x.get("adopted") else "")
            + "）",
        )
        for i, x in enumerate(ideas[:8], 1)
    ]


def _definitions(brief: Brief) -> list[Block]:
    census = ""
    if brief.province is None and "census_year" in brief.provinces and len(brief.provinces):
        census = f"（{int(brief.provinces['census_year'].iloc[0])} 年人口普查）"
    return [Block("heading", "附：口径说明")] + [
        Block("small", text)
        for text in (
            "留言：本期内发布的留言；回复：首次回复发生在本期内的留言（件），一条留言多次回复只计一次。",
            "回复率：本期留言中截至目前已获回复的比例；回复用时：首次回复距留言发布的时长，取中位数。",
            "满意率：本期内作出的评价中表示满意的比例（未勾选满意与否时，以三项评分均值不低于 4 分为满意）。",
            "同比：与上年同期相同日期相比；环比：与上一周期（上周、上月、上季度，或等长的前一时段）相比。",
            f"每万人留言：留言数除以常住人口{census}乘以一万。文中留言内容已隐去电话、证件号、车牌与姓名等个人信息。",
        )
    ]
