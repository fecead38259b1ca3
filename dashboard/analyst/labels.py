"""Labels, metric definitions and number formats of the analyst page, Chinese first (`?lang=en` English).

The definitions are the spec's (shared/spec/data-and-metrics.md) in plain words;
they are shown as tooltips on KPI cards and table headers. Labels shared with
the wall come from dashboard.i18n; the analyst's own are here.
"""

from __future__ import annotations

import math

from dashboard import i18n
from queries import catalog

_LABELS: dict[str, tuple[str, str]] = {
    "page_title": ("网上群众工作分析工作台", "Public Engagement Analyst Workspace"),
    "brand": ("领导留言板", "Leaders' Message Board"),
    "to_wall": ("智慧大屏", "Wall display"),
    "lang_switch": ("English", "中文"),
    # filters
    "f_period": ("统计周期", "Period"),
    "f_custom": ("自定义", "Custom"),
    "f_range": ("日期范围", "Dates"),
    "f_provinces": ("省份 / 地区", "Provinces / regions"),
    "f_provinces_ph": ("全国（可多选省份或东部/中部/西部/东北）", "All China (pick provinces or regions)"),
    "f_categories": ("领域", "Domains"),
    "f_categories_ph": ("全部领域", "All domains"),
    "f_types": ("类型", "Types"),
    "f_types_ph": ("全部类型", "All types"),
    "f_urgent": ("仅急难愁盼", "Urgent only"),
    "f_reset": ("重置筛选", "Reset filters"),
    "copy_link": ("复制链接", "Copy link"),
    "brief_pdf": ("简报 PDF", "Briefing PDF"),
    "brief_docx": ("简报 Word", "Briefing Word"),
    "copied": ("已复制", "Copied"),
    "region_group": ("{name}地区（{n}省）", "{name} region ({n} provinces)"),
    # tabs and views
    "tab_overview": ("总览", "Overview"),
    "tab_compare": ("对比", "Compare"),
    "tab_supervision": ("督办", "Supervision"),
    # supervision (督办) tab: dashboard/analyst/supervision.py
    "sv_league": ("单位红黑榜", "Unit league"),
    "sv_league_note": (
        "评价不足 {min_rated} 条的单位列出但不排名；按时 = 首次回复在 {days} 天内；满意度按本省水平收缩（k = 20）",
        "Units with fewer than {min_rated} ratings are listed, not ranked; on time = first reply within {days} days; "
        "satisfaction shrunk toward the province (k = 20)",
    ),
    "sv_unit": ("单位详情", "Unit page"),
    "sv_unit_hint": ("点击红黑榜中的单位查看其详情", "Click a unit in the league for its page"),
    "sv_unit_note": ("{unit}（{province}）：回复 {answered} 件", "{unit} ({province}): {answered} answered"),
    "sv_unit_slowest": ("回复最慢的留言", "Slowest answers"),
    "sv_unit_low": ("评价最低的留言", "Lowest-rated answers"),
    "sv_best": ("红榜（各省前 15）", "Best 15 per province"),
    "sv_worst": ("黑榜（各省后 15）", "Worst 15 per province"),
    "sv_aging": ("未回复留言账龄", "Unanswered messages by age"),
    "sv_aging_note": (
        "截至 {now}：待回复 {waiting}，办理中 {in_progress}",
        "At {now}: waiting {waiting}, in progress {in_progress}",
    ),
    "sv_aging_provinces": ("各省账龄", "Age by province"),
    "sv_oldest": ("最久未回复", "Oldest unanswered"),
    "sv_reasons": ("不满意原因", "Why citizens were unhappy"),
    "sv_low_units": ("低评价单位", "Units with low ratings"),
    "sv_pool": ("近 30 天低分池", "Low ratings, last 30 days"),
    "sv_boiler_texts": ("重复最多的回复（套话）", "Most repeated reply texts"),
    "sv_quality_units": ("各单位回复质量", "Reply quality per unit"),
    "sv_quality_note": (
        "{replies} 条回复：套话 {boilerplate}，未回应诉求 {unaddressed}",
        "{replies} replies: boilerplate {boilerplate}, not addressing the message {unaddressed}",
    ),
    "sv_ideas": ("金点子（建言）", "Good ideas (suggestions)"),
    "sv_ideas_note": ("{n} 条建言，{adopted} 条被采纳", "{n} suggestions, {adopted} adopted"),
    # hot (热点) tab: dashboard/analyst/hot.py
    "tab_hot": ("热点", "Hot issues"),
    "hot_loading": ("热点分析计算中…", "Computing the insight…"),
    "hot_issues": ("热点问题（按热度）", "Hot issues (by heat)"),
    "hot_issues_note": (
        "同一地点同一问题的留言归为一组；热度综合留言数、点赞、持续天数和近期增长。点击一行查看其留言",
        "Messages about one problem at one place form an issue; heat weighs messages, likes, span and recent "
        "growth. Click a row for its messages",
    ),
    "hot_issue": ("热点详情", "Issue detail"),
    "hot_issue_pick": (
        "点击热点问题查看其留言、时间线与回复",
        "Click a hot issue for its messages, timeline and replies",
    ),
    "hot_issue_note": (
        "{title} · {place} · {messages} 条留言，已回复 {replied} 条 · {first} 至 {last}",
        "{title} · {place} · {messages} messages, {replied} answered · {first} to {last}",
    ),
    "hot_issue_shown": ("（列出前 {shown} 条）", " (first {shown} listed)"),
    "hot_alerts": ("预警（留言激增）", "Surges"),
    "hot_alerts_note": (
        "{n} 个预警：实际留言明显高于同星期前 8 周的预期水平。点击一行查看逐日对比与相关热点",
        "{n} surges: counts far above the level expected from the same weekday of the previous 8 weeks. "
        "Click a row for its days and the hot issues inside",
    ),
    "hot_alert": ("预警逐日：实际与预期", "Surge by day: actual and expected"),
    "hot_alert_note": (
        "{series}：{start} 至 {end}，实际 {messages} 条，预期 {expected} 条",
        "{series}: {start} to {end}, {messages} messages against {expected} expected",
    ),
    "hot_alert_issues": ("预警相关热点", "Hot issues inside the surge"),
    "hot_words": ("上升热词", "Rising words"),
    "hot_words_note": (
        "与上一同长周期 {start} 至 {end} 相比占比上升最多的词（按包含该词的留言计）",
        "Words whose share rose most against {start} to {end} (messages containing the word)",
    ),
    "hot_frequent": ("高频词", "Most frequent words"),
    "hot_repeats": ("重复诉求", "Repeat complaints"),
    "hot_repeats_note": (
        "30 天内同一地点同一问题再次留言；本期重复率 {rate}（{repeats} / {messages}）",
        "The same problem at the same place raised again within 30 days; repeat rate {rate} ({repeats} / {messages})",
    ),
    "hot_ongoing": ("持续中", "ongoing"),
    "hot_whole_province": ("（全省）", "(whole province)"),
    "hot_period": ("分析周期：{range}", "Period analysed: {range}"),
    "national": ("全国", "All China"),
    "selected": ("所选地区", "Selection"),
    "back": ("← 返回全国", "← Back to all provinces"),
    "drill_hint": ("点击地图或表格中的省份查看详情", "Click a province on the map or in the table for its details"),
    "drill_title": ("{name} · 省份详情", "{name} · province detail"),
    "drill_switch": ("切换省份", "Switch province"),
    # panels
    "kpis": ("核心指标", "Key figures"),
    "map": ("各省分布", "Provinces"),
    "map_metric": ("地图指标", "Map metric"),
    "ranking_table": ("省份排行", "Province ranking"),
    "trend": ("留言与回复趋势（虚线：去年同期）", "Messages and replies (dotted: a year earlier)"),
    "granularity": ("粒度", "Granularity"),
    "g_day": ("日", "Day"),
    "g_week": ("周", "Week"),
    "g_month": ("月", "Month"),
    "breakdown": ("领域 × 类型", "Domain × type"),
    "by_category": ("领域分布", "By domain"),
    "by_type": ("类型分布", "By type"),
    "cross_table": ("领域 × 类型 留言量", "Messages by domain and type"),
    "cities": ("各地市", "Cities"),
    "top_units": ("回复最多的单位", "Units answering most"),
    "slow_units": ("回复最慢的单位", "Slowest units"),
    "slow_units_note": (
        "回复件数 ≥ {n} 的单位，按回复用时中位数降序",
        "units with ≥ {n} answered, by median reply time",
    ),
    "overdue": ("超期未回复留言", "Overdue unanswered messages"),
    "overdue_note": (
        "本期提交、超过 {days} 天仍无回复，共 {count} 件；最早的 {shown} 件",
        "created in the period, unanswered after {days} days: {count}; the oldest {shown}",
    ),
    "messages": ("留言", "Messages"),
    "msg_search_ph": ("搜索标题和正文（空格分隔多个词）", "Search titles and bodies (words separated by spaces)"),
    "msg_note": ("共 {total} 件，显示最新 {shown} 件", "{total} messages, the newest {shown} shown"),
    "msg_none": ("没有符合条件的留言", "No message matches"),
    "msg_pick": ("点击左侧留言查看全文与回复", "Click a message to read it and its replies"),
    "msg_likes": ("点赞 {n}", "{n} likes"),
    "msg_replies": ("回复", "Replies"),
    "msg_no_reply": ("尚无回复", "No reply yet"),
    "msg_evaluation": ("评价", "Evaluation"),
    "msg_satisfied": ("满意", "Satisfied"),
    "msg_unsatisfied": ("不满意", "Not satisfied"),
    "compare_mode": ("对比方式", "Compare"),
    "compare_period": ("两个时期", "Two periods"),
    "compare_province": ("两个地区", "Two areas"),
    "side_a": ("甲", "A"),
    "side_b": ("乙", "B"),
    "b_period": ("对比时期（乙）", "Second period (B)"),
    "b_provinces": ("对比地区（乙）", "Second area (B)"),
    "b_same_last_year": ("去年同期", "Same dates last year"),
    "compare_metrics": ("指标对比", "Metrics side by side"),
    "compare_categories": ("领域对比", "Domains side by side"),
    "compare_note_a": ("甲：{label}", "A: {label}"),
    "compare_note_b": ("乙：{label}", "B: {label}"),
    # table columns
    "c_rank": ("排名", "Rank"),
    "c_province": ("省份", "Province"),
    "c_region": ("地区", "Region"),
    "c_city": ("地市", "City"),
    "c_category": ("领域", "Domain"),
    "c_type": ("类型", "Type"),
    "c_total": ("合计", "Total"),
    "c_unit": ("办理单位", "Unit"),
    "c_answered": ("回复件数", "Answered"),
    "c_unit_share": ("占回复比重", "Share of replies"),
    "c_median": ("回复用时中位数（小时）", "Median reply time (h)"),
    "c_mean": ("平均回复用时（小时）", "Mean reply time (h)"),
    "c_p90": ("90%分位用时（小时）", "90th percentile (h)"),
    "c_late": ("超{days}天回复", "Answered after {days} days"),
    "c_late_share": ("超期回复占比", "Late share"),
    "c_created": ("留言时间", "Posted"),
    "c_waiting": ("已等待（天）", "Waiting (days)"),
    "c_title": ("标题", "Title"),
    "c_status": ("状态", "Status"),
    "c_place": ("地点", "Place"),
    "c_urgent": ("急难愁盼", "Urgent"),
    "c_metric": ("指标", "Metric"),
    "c_diff": ("差值（甲−乙）", "Difference (A−B)"),
    "c_change": ("变化率（甲÷乙−1）", "Change (A÷B−1)"),
    "c_share": ("占比", "Share"),
    "c_messages_prev": ("去年同期留言", "Messages a year earlier"),
    "c_replies_prev": ("去年同期回复", "Replies a year earlier"),
    "c_population": ("常住人口", "Population"),
    "no_unit": ("（未注明单位）", "(unit not given)"),
    "no_city": ("（未填）", "(not given)"),
    # downloads
    "csv": ("CSV", "CSV"),
    "xlsx": ("Excel", "Excel"),
    "download_hint": ("下载表格（与屏幕数值一致，未四舍五入）", "Download the table (unrounded values)"),
    "png_hint": ("图表右上角可下载 PNG", "Charts download as PNG from their top-right menu"),
    # messages
    "bad_param": ("链接参数有误，已忽略：", "Invalid link parameters were ignored: "),
    "error": ("数据暂时无法加载，请稍后重试。", "The data could not be loaded; please try again shortly."),
    "empty": ("所选条件下暂无数据", "No data for this selection"),
    "footer": (
        "口径：统计周期为北京时间自然日（含首尾日）；同比为去年相同日历日期；"
        "每万人指标采用{census}。数据版本 {version}。",
        "Periods are inclusive Beijing calendar days; YoY compares the same dates a year earlier; "
        "per-10k figures use the {census}. Data version {version}.",
    ),
    "census_name": ("{year}年第{nth}次全国人口普查常住人口", "{year} national census resident population"),
    "yoy_short": ("同比", "YoY"),
    "pop_short": ("环比", "PoP"),
    "vs_before": ("上期 {value}", "period before {value}"),
    "pp": ("个百分点", " pp"),
    "hours": ("小时", "h"),
    "vs_last_year": ("去年同期 {value}", "a year earlier {value}"),
    "period_label": ("{name}：{range}", "{name}: {range}"),
}

REASONS: dict[str, tuple[str, str]] = {
    "date": (
        "不是有效日期（应为 YYYY-MM-DD，2000-01-01 至 2100-12-31）",
        "not a valid date (YYYY-MM-DD between 2000-01-01 and 2100-12-31)",
    ),
    "order": ("开始日期晚于结束日期", "start is after end"),
    "period": ("未知的统计周期", "unknown period"),
    "province": ("未知的省份或地区", "unknown province or region"),
    "category": ("数据中没有这个领域", "no such domain in the data"),
    "msg_type": ("数据中没有这个类型", "no such type in the data"),
    "bool": ("应为 1 或 0", "expected 1 or 0"),
    "choice": ("未知的取值", "unknown value"),
    "text": ("取值过长或为空", "empty or too long"),
    "too_many": ("取值过多", "too many values"),
    "unknown": ("未知参数", "unknown parameter"),
}

# Definitions (tooltips) of what the catalog (queries/catalog.py) does not declare; {days} is the overdue threshold.
DEFINITIONS: dict[str, tuple[str, str]] = {
    "yoy": (
        "同比 =（本期 − 去年同期）÷ 去年同期；去年同期为一年前的相同日历日期（2月29日对应2月28日），为 0 时不计算。"
        "比率类指标显示与去年同期相差的百分点。",
        "YoY = (this period − a year earlier) ÷ a year earlier, over the same calendar dates (29 Feb → 28 Feb); "
        "none when the earlier value is 0. Ratios show the difference in percentage points.",
    ),
    "pop": (
        "环比 =（本期 − 上期）÷ 上期；上期为紧接本期之前、天数相同的时段（整月、整季、整年则为上一个自然月、季、年），"
        "为 0 时不计算。比率类指标显示与上期相差的百分点。",
        "PoP = (this period − the period before) ÷ the period before: the same number of days just before "
        "(for a whole calendar month, quarter or year the previous one); none when it is 0. "
        "Ratios show the difference in percentage points.",
    ),
    "rank": (
        "排名：按当前地图指标降序，数值相同按行政区划代码。",
        "Rank: by the map metric, descending; ties by administrative code.",
    ),
    "answered": (
        "回复件数：首次回复在本期且首次回复单位为该单位的留言件数。",
        "Answered: messages whose first reply fell in the period and came from this unit.",
    ),
    "unit_median": (
        "回复用时中位数：该单位本期首次回复的留言，从提交到首次回复用时（小时）的中位数。",
        "Median reply time of the messages this unit answered first in the period (hours).",
    ),
    "late": (
        "超期回复：提交后超过 {days} 天才首次回复的留言件数。",
        "Late: messages first answered more than {days} days after posting.",
    ),
    "overdue": (
        "超期未回复：本期提交、提交已超过 {days} 天且至今没有任何回复的留言（含办理中）。",
        "Overdue: messages posted in the period more than {days} days ago that have no reply yet "
        "(including those in progress).",
    ),
    "share": ("占比：占所选范围留言量的比例。", "Share of the selection's messages."),
}

_NTH = {2010: "六", 2020: "七"}


def lang_index(lang: str) -> int:
    return 1 if lang == "en" else 0


def t(key: str, lang: str = "zh", **fmt) -> str:
    text = _LABELS[key][lang_index(lang)]
    return text.format(**fmt) if fmt else text


def reason(key: str, lang: str) -> str:
    return REASONS[key][lang_index(lang)]


def census_name(year: int, lang: str) -> str:
    return t("census_name", lang, year=year, nth=_NTH.get(year, "?"))


def definition(key: str, lang: str, census_year: int | None = None, days: int | None = None) -> str:
    """A metric's definition from the catalog (queries/catalog.py), else the workspace's own."""
    text = catalog.tooltip(key, lang) or DEFINITIONS[key][lang_index(lang)]
    census = census_name(census_year, lang) if census_year else ""
    return text.format(census=census, days=days if days is not None else "")


def metric_name(key: str, lang: str) -> str:
    """The catalog's name of a metric (queries/catalog.py, as on the wall), else the workspace's own."""
    own = {"overdue": ("超期未回复", "Overdue")}
    return catalog.label(key, lang) or own[key][lang_index(lang)]


def period_name(name: str, lang: str) -> str:
    if name == "custom":
        return t("f_custom", lang)
    if name == "ytd":
        return "本年" if lang != "en" else "This year"
    if name == "last30":
        return "近30天" if lang != "en" else "Last 30 days"
    return i18n.period_name(name, lang)


# -- number formats (the same as the tables' value formatters in dashboard/analyst/tables.py) -------------------------
OPTION_CHARS = 40  # a dropdown option's label (the value itself stays whole)


def short(text: str, limit: int = OPTION_CHARS) -> str:
    """A label cut to `limit` characters with "…" (a long label makes the dropdown's search slow)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_int(value) -> str:
    return "—" if _missing(value) else f"{int(value):,}"


def fmt_pct(value) -> str:
    return "—" if _missing(value) else f"{value * 100:.1f}%"


def fmt_hours(value) -> str:
    return "—" if _missing(value) else f"{value:,.1f}"


def fmt_per10k(value) -> str:
    if _missing(value):
        return "—"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3f}"


def fmt_yoy(value) -> str:
    """▲ 12.3% / ▼ 4.0% / — (the wall's convention)."""
    if _missing(value):
        return "—"
    arrow = "▲" if value > 0.0005 else "▼" if value < -0.0005 else "—"
    return f"{arrow} {abs(value) * 100:.1f}%"


def fmt_pp(value, lang: str) -> str:
    """Difference of two shares in percentage points."""
    if _missing(value):
        return "—"
    arrow = "▲" if value > 0.00005 else "▼" if value < -0.00005 else "—"
    return f"{arrow} {abs(value) * 100:.1f}{t('pp', lang)}"


def fmt_hours_diff(value, lang: str) -> str:
    if _missing(value):
        return "—"
    arrow = "▲" if value > 0.05 else "▼" if value < -0.05 else "—"
    return f"{arrow} {abs(value):,.1f}{'' if lang == 'en' else ' '}{t('hours', lang)}"


FORMATTERS = {"int": fmt_int, "pct": fmt_pct, "hours": fmt_hours, "per10k": fmt_per10k, "yoy": fmt_yoy}


def fmt(kind: str, value) -> str:
    return FORMATTERS[kind](value)
