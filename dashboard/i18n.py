"""Labels of the screens in Chinese (default) and English (`?lang=en`).

Data values (domains, message types) are stored in Chinese; `category()` and
`msg_type()` translate the known ones and leave others as given.
"""

from __future__ import annotations

import datetime as dt

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

_LABELS: dict[str, dict[str, str]] = {
    "title": {"zh": "领导留言板 · 网上群众工作智慧大屏", "en": "Leaders' Message Board · Public Engagement Screen"},
    "subtitle": {"zh": "全国网上群众工作实时态势", "en": "National online public engagement, live"},
    "beijing_time": {"zh": "北京时间", "en": "Beijing time"},
    "period": {"zh": "统计周期", "en": "Period"},
    "updated_at": {"zh": "数据更新于", "en": "Data updated"},
    "status_live": {"zh": "实时", "en": "Live"},
    "status_slow": {"zh": "刷新缓慢", "en": "Slow"},
    "status_offline": {"zh": "连接中断，显示最近数据", "en": "Offline, showing last data"},
    "status_error": {"zh": "刷新失败，显示最近数据", "en": "Refresh failed, showing last data"},
    # KPI cards
    "today_messages": {"zh": "今日留言", "en": "Messages today"},
    "today_replies": {"zh": "今日回复", "en": "Replies today"},
    "yoy": {"zh": "同比", "en": "YoY"},
    "today_pending": {"zh": "其中待回复", "en": "Awaiting reply"},
    "today_median_reply_hours": {"zh": "回复用时中位数", "en": "Median reply time"},
    "unit_items": {"zh": "件", "en": ""},
    "unit_hours": {"zh": "小时", "en": "h"},
    "unit_units": {"zh": "家", "en": ""},
    "unit_people": {"zh": "位", "en": ""},
    # map and ranking
    "reply_ratio_map": {"zh": "回复/留言比", "en": "Replies / messages"},
    "map_title": {"zh": "全国各省份分布态势", "en": "Across China by province"},
    "census": {"zh": "{year}年人口普查", "en": "{year} census population"},
    "no_data": {"zh": "无数据", "en": "No data"},
    "scs": {"zh": "南海诸岛", "en": "South China Sea Islands"},
    "ranking_title": {"zh": "省份排行 TOP10", "en": "Top 10 provinces"},
    "story_issues": {"zh": "热点问题", "en": "Hot issues"},
    "story_alerts": {"zh": "异常增长预警", "en": "Surges now"},
    "story_units": {"zh": "单位红黑榜 · 近30日", "en": "Units, last 30 days"},
    "story_best": {"zh": "红榜", "en": "Best"},
    "story_worst": {"zh": "黑榜", "en": "Lagging"},
    "story_waiting": {"zh": "分析中…", "en": "Analysing…"},
    "story_no_issues": {"zh": "近7日未发现集中反映的问题", "en": "No shared problem in the last 7 days"},
    "story_no_alerts": {"zh": "各地各领域留言量平稳", "en": "No surge"},
    "story_no_units": {"zh": "暂无足够评价的单位", "en": "No unit with enough ratings"},
    "story_messages": {"zh": "条留言", "en": "messages"},
    "story_heat": {"zh": "热度", "en": "Heat"},
    "story_since": {"zh": "自{day}起", "en": "since {day}"},
    "city_map_title": {"zh": "{province}各地市分布态势", "en": "{province} by city"},
    "city_ranking_title": {"zh": "地市排行 TOP10", "en": "Top 10 cities"},
    "city_messages": {"zh": "留言数", "en": "Messages"},
    "nationwide": {"zh": "全国", "en": "China"},
    # charts
    "trend_day": {"zh": "近30日留言与回复", "en": "Last 30 days"},
    "series_messages": {"zh": "留言", "en": "Messages"},
    "series_replies": {"zh": "回复", "en": "Replies"},
    "series_messages_prev": {"zh": "去年同期留言", "en": "Messages a year earlier"},
    "series_replies_prev": {"zh": "去年同期回复", "en": "Replies a year earlier"},
    "categories": {"zh": "留言领域分布", "en": "Messages by domain"},
    "types": {"zh": "留言类型分布", "en": "Messages by type"},
    "share": {"zh": "占比", "en": "Share"},
    # feed
    "feed": {"zh": "实时动态", "en": "Live feed"},
    "feed_message": {"zh": "留言", "en": "Message"},
    "feed_reply": {"zh": "回复", "en": "Reply"},
    "feed_empty": {"zh": "暂无动态", "en": "Nothing yet"},
    # login, session bar (dashboard/auth)
    "login_title": {"zh": "登录", "en": "Sign in"},
    "login_user": {"zh": "用户名", "en": "User name"},
    "login_password": {"zh": "密码", "en": "Password"},
    "login_submit": {"zh": "登录", "en": "Sign in"},
    "login_sso": {"zh": "使用单位统一身份认证登录", "en": "Sign in with your organisation"},
    "login_failed": {"zh": "用户名或密码错误", "en": "Wrong user name or password"},
    "login_throttled": {"zh": "尝试次数过多，请 15 分钟后再试", "en": "Too many attempts, try again in 15 minutes"},
    "login_expired": {"zh": "页面已过期，请重新登录", "en": "The page expired, please sign in again"},
    "login_unknown_sso": {"zh": "该账号未获授权，请联系管理员", "en": "This account is not authorised"},
    "login_sso_failed": {"zh": "统一身份认证失败", "en": "Single sign-on failed"},
    "login_lang": {"zh": "English", "en": "中文"},
    "logout": {"zh": "退出", "en": "Sign out"},
    "demo_badge": {"zh": "演示模式 · 未启用登录", "en": "Demo mode · no login"},
    "no_access": {"zh": "无权访问此页面", "en": "No access to this page"},
    "role_national": {"zh": "全国", "en": "national"},
    "role_province": {"zh": "省级", "en": "province"},
    "role_wall": {"zh": "大屏", "en": "wall"},
}

PERIODS: dict[str, dict[str, str]] = {
    "today": {"zh": "今日", "en": "Today"},
    "week": {"zh": "本周", "en": "This week"},
    "month": {"zh": "本月", "en": "This month"},
    "quarter": {"zh": "本季度", "en": "This quarter"},
    "h1": {"zh": "上半年", "en": "First half"},
    "ytd": {"zh": "本年累计", "en": "Year to date"},
    "year": {"zh": "近一年", "en": "Last 12 months"},
    "last30": {"zh": "近30日", "en": "Last 30 days"},
    "last12m": {"zh": "近12个月", "en": "Last 12 months"},
}

CATEGORIES: dict[str, str] = {
    "城建": "Urban development",
    "交通": "Transport",
    "教育": "Education",
    "医疗": "Health care",
    "就业": "Employment",
    "企业": "Business",
    "政务": "Government services",
    "治安": "Public security",
    "环保": "Environment",
    "三农": "Rural affairs",
    "金融": "Finance",
    "旅游": "Tourism",
    "文娱": "Culture",
    "其他": "Other",
    "征集": "Consultation",
    "体育": "Sports",
    "社保": "Social security",
}
MSG_TYPES: dict[str, str] = {
    "投诉/求助": "Complaint / help",
    "投诉": "Complaint",
    "求助": "Help",
    "咨询": "Enquiry",
    "建言": "Suggestion",
    "感谢": "Thanks",
    "群众路线": "Mass line",
    "两会": "Two Sessions",
}
STATUSES: dict[str, str] = {"待回复": "Awaiting reply", "办理中": "In progress", "已办理": "Handled"}

_WEEKDAYS = {"zh": "一二三四五六日", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


def lang_or_default(value: str | None) -> str:
    return value if value in LANGS else DEFAULT_LANG


def t(key: str, lang: str = DEFAULT_LANG, **fmt) -> str:
    text = _LABELS[key][lang_or_default(lang)]
    return text.format(**fmt) if fmt else text


def period_name(name: str, lang: str = DEFAULT_LANG) -> str:
    return PERIODS.get(name, {}).get(lang_or_default(lang), name)


def category(value: str, lang: str = DEFAULT_LANG) -> str:
    return CATEGORIES.get(value, value) if lang == "en" else value


def msg_type(value: str, lang: str = DEFAULT_LANG) -> str:
    return MSG_TYPES.get(value, value) if lang == "en" else value


def status(value: str, lang: str = DEFAULT_LANG) -> str:
    return STATUSES.get(value, value) if lang == "en" else value


def date_text(day: dt.date, lang: str = DEFAULT_LANG) -> str:
    if lang == "en":
        return f"{day:%d %b %Y}"
    return f"{day.year}年{day.month}月{day.day}日"


def range_text(start: dt.date, end: dt.date, lang: str = DEFAULT_LANG) -> str:
    """'2021年1月1日—6月30日' / '1 Jan – 30 Jun 2021'; a single day is shown once."""
    if start == end:
        return date_text(start, lang)
    if lang == "en":
        left = f"{start:%d %b}" if start.year == end.year else f"{start:%d %b %Y}"
        return f"{left} – {end:%d %b %Y}"
    right = f"{end.month}月{end.day}日" if start.year == end.year else date_text(end, lang)
    return f"{date_text(start, lang)}—{right}"


def weekday(day: dt.date, lang: str = DEFAULT_LANG) -> str:
    names = _WEEKDAYS[lang_or_default(lang)]
    return names[day.weekday()] if lang == "en" else f"星期{names[day.weekday()]}"


def client_labels(lang: str) -> dict[str, str]:
    """The labels assets/wall.js needs (status, units, feed badges)."""
    keys = (
        "updated_at",
        "status_live",
        "status_slow",
        "status_offline",
        "status_error",
        "unit_hours",
        "feed_message",
        "feed_reply",
        "feed_empty",
        "yoy",
        "beijing_time",
    )
    return {key: t(key, lang) for key in keys}
