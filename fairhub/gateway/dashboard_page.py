"""The dashboard's HTML shells: labels in Chinese and English, containers the script fills.

The shells hold no figures and no token; labels reach the script as a JSON blob, and the only
value from the request that is echoed (the fair id) has been checked to be a UUID.
"""

# Chinese labels use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

from fairhub.events import HIRE_CHANNELS
from fairhub.gateway.pages import lang_link, settings_script, shell, token_form

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "brand": "FairHub 招聘会实时数据", "title": "数据大屏", "loading": "正在载入…",
        "checkins": "入场", "checkins.total": "人次", "checkins.unique": "人数",
        "booth_visits": "展位登记", "booth_visits.total": "次数", "booth_visits.unique": "人数",
        "qr_scans": "扫码访问", "qr_scans.total": "次数", "qr_scans.unique": "访客",
        "resumes_submitted": "投递简历", "resumes_submitted.total": "份数",
        "resumes_submitted.unique": "求职者",
        "resumes_downloaded": "简历下载", "resumes_downloaded.total": "份数",
        "resumes_downloaded.unique": "求职者",
        "intents": "签约意向", "intents.total": "份数", "intents.unique": "求职者",
        "consultations": "咨询", "consultations.total": "次数", "consultations.unique": "人数",
        "live_views": "直播观看", "live_views.total": "人次", "live_views.unique": "观众",
        "hires": "录用", "hires.total": "人次", "hires.unique": "人数", "hires_note": "按渠道",
        "hire.fair": "招聘会", "hire.livestream": "直播", "hire.training": "培训",
        "hire.internship": "实习", "hire.other": "其他", "hire_people": "{n} 人",
        "denied": "拒绝入场 {n}", "invalid_badge": "无效胸卡", "wrong_fair": "非本场胸卡",
        "revoked": "已注销", "onsite": "现场", "online": "线上", "live": "直播",
        "chart": "每分钟动态", "chart_note": "本地时间，每分钟人次", "no_data": "暂无数据",
        "minute_at": "{t} 这一分钟",
        "leaders": "企业排行", "leaders_note": "登记 {n} 家 · 活跃 {a} 家",
        "leaders_active": "活跃 {a} 家", "positions_note": "{p} 个岗位 · 招聘 {h} 人",
        "rank": "名次",
        "employer": "企业", "leads": "到访人数", "received": "收到简历",
        "downloaded": "下载简历", "intents_col": "签约意向",
        "schools": "学校排行", "schools_note": "按入场人数", "visitors": "人",
        "sessions": "直播场次", "session": "场次", "viewers": "观众", "views": "观看人次",
        "viewers_now": "在线", "peak": "峰值",
        "resumes_col": "投递简历", "consultations_col": "咨询",
        "live_state": "实时", "connecting": "连接中…", "reconnecting": "连接中断，正在重连…",
        "updated": "更新于 {t}", "waiting": "等待数据…",
        "token_title": "请输入组织方令牌", "token": "令牌",
        "token_hint": "令牌只保存在本浏览器中。", "enter": "进入",
        "bad_token": "令牌无效或已注销，请重新输入。", "forbidden": "该令牌无权查看本场数据。",
        "no_fair": "该场次不存在。", "network": "网络不通，请重试。", "failed": "出错了",
        "report": "数据报告", "sign_out": "退出", "other_lang": "English",
        "not_found": "页面不存在",
        "not_found_text": "场次编号有误。", "index_title": "打开数据大屏",
        "index_text": "输入场次编号和组织方令牌；管理员令牌可不填编号，列出全部场次。",
        "fair_id": "场次编号", "open": "打开", "fairs": "全部场次",
        "need_token": "请填写令牌。", "need_fair": "请填写场次编号。",
        "bad_fair": "场次编号应形如 0b7e…（36 位）。", "no_fairs": "还没有场次。",
    },
    "en": {
        "brand": "FairHub live figures", "title": "Dashboard", "loading": "Loading…",
        "checkins": "Check-ins", "checkins.total": "entries", "checkins.unique": "visitors",
        "booth_visits": "Booth scans", "booth_visits.total": "scans",
        "booth_visits.unique": "visitors",
        "qr_scans": "QR page views", "qr_scans.total": "views", "qr_scans.unique": "visitors",
        "resumes_submitted": "Résumés sent", "resumes_submitted.total": "résumés",
        "resumes_submitted.unique": "seekers",
        "resumes_downloaded": "Résumés downloaded", "resumes_downloaded.total": "résumés",
        "resumes_downloaded.unique": "seekers",
        "intents": "Hiring intents", "intents.total": "intents", "intents.unique": "seekers",
        "consultations": "Consultations", "consultations.total": "questions",
        "consultations.unique": "seekers",
        "live_views": "Livestream", "live_views.total": "views", "live_views.unique": "viewers",
        "hires": "Hires", "hires.total": "hires", "hires.unique": "people",
        "hires_note": "by channel", "hire.fair": "fair", "hire.livestream": "stream",
        "hire.training": "training", "hire.internship": "intern", "hire.other": "other",
        "hire_people": "{n} pers.",
        "denied": "{n} refused at the gate", "invalid_badge": "invalid badge",
        "wrong_fair": "other fair", "revoked": "revoked", "onsite": "on site",
        "online": "online", "live": "live",
        "chart": "Per minute", "chart_note": "local time, events per minute",
        "minute_at": "minute {t}",
        "no_data": "No data yet",
        "leaders": "Employers", "leaders_note": "{n} registered · {a} active",
        "leaders_active": "{a} active", "positions_note": "{p} positions · {h} openings",
        "rank": "Rank",
        "employer": "Employer", "leads": "Leads", "received": "Résumés",
        "downloaded": "Downloaded", "intents_col": "Intents",
        "schools": "Schools", "schools_note": "by visitors", "visitors": "visitors",
        "sessions": "Live sessions", "session": "Session", "viewers": "Viewers",
        "viewers_now": "Now", "peak": "Peak",
        "views": "Views", "resumes_col": "Résumés", "consultations_col": "Questions",
        "live_state": "Live", "connecting": "Connecting…",
        "reconnecting": "Connection lost, reconnecting…", "updated": "Updated {t}",
        "waiting": "Waiting for data…",
        "token_title": "Enter the organizer token", "token": "Token",
        "token_hint": "The token stays in this browser only.", "enter": "Open",
        "bad_token": "Unknown or revoked token; enter it again.",
        "forbidden": "This token may not see this fair's figures.",
        "no_fair": "There is no such fair.", "network": "Network error, retrying.",
        "failed": "Error", "report": "Report", "sign_out": "Sign out", "other_lang": "中文",
        "not_found": "Page not found", "not_found_text": "That is not a fair id.",
        "index_title": "Open a dashboard",
        "index_text": "Enter the fair id and the organizer token; with the admin token, leave"
        " the id empty to list every fair.",
        "fair_id": "Fair id", "open": "Open", "fairs": "All fairs",
        "need_token": "Enter a token.", "need_fair": "Enter the fair id.",
        "bad_fair": "A fair id looks like 0b7e… (36 characters).", "no_fairs": "No fairs yet.",
    },
}  # fmt: skip

# The headline cards: (metric, note the script fills under the figures).
KPIS = (
    "checkins",
    "qr_scans",
    "resumes_submitted",
    "resumes_downloaded",
    "intents",
    "booth_visits",
    "consultations",
    "live_views",
)


# The tab's icon, inline so that browsers do not ask for /favicon.ico: three rising bars.
_ICON = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
    "%3Crect width='16' height='16' rx='3' fill='%230b1120'/%3E"
    "%3Cpath d='M3 13V9h2v4zm4 0V6h2v7zm4 0V3h2v10z' fill='%234cc9f0'/%3E%3C/svg%3E"
)


def _config(page: str, lang: str, labels: dict[str, str], fair: str = "") -> str:
    return settings_script({"page": page, "lang": lang, "fair": fair, "labels": labels})


def _shell(lang: str, title: str, body: str, page: str) -> str:
    return shell(
        lang=lang,
        title=title,
        body=f'<body data-page="{page}">{body}</body>',
        icon=_ICON,
        css="dashboard.css",
        script="dashboard.js",
        head='<meta name="color-scheme" content="dark">',
    )


def _pair(metric: str, labels: dict[str, str]) -> str:
    parts = "".join(
        f'<div class="fig"><span class="num" data-metric="{metric}" data-part="{part}">—</span>'
        f'<span class="unit">{labels[f"{metric}.{part}"]}</span></div>'
        for part in ("total", "unique")
    )
    return f'<div class="pair">{parts}</div>'


def _kpi(metric: str, labels: dict[str, str]) -> str:
    return (
        f'<article class="kpi" data-kpi="{metric}"><h2>{labels[metric]}</h2>'
        f'{_pair(metric, labels)}<p class="note" data-note="{metric}"></p></article>'
    )


def _hires(labels: dict[str, str]) -> str:
    """Hires (total and persons), then each channel's hires over its persons."""
    channels = "".join(
        f'<li data-channel="{c}"><span class="label">{labels[f"hire.{c}"]}</span>'
        f'<span class="value" data-part="total">—</span>'
        f'<span class="unit" data-part="unique"></span></li>'
        for c in HIRE_CHANNELS
    )
    return (
        '<section id="hires-panel" class="panel hires-panel"><div class="panel-head">'
        f'<h2>{labels["hires"]}</h2><span class="muted">{labels["hires_note"]}</span></div>'
        f'{_pair("hires", labels)}<ul id="hires-channels" class="channels">{channels}</ul>'
        "</section>"
    )


def _table(panel: str, heads: list[tuple[str, str]], labels: dict[str, str]) -> str:
    cells = "".join(f'<th class="{cls}" scope="col">{labels[key]}</th>' for key, cls in heads)
    return (
        f'<table class="rank {panel}"><thead><tr>{cells}</tr></thead>'
        f'<tbody id="{panel}-rows"></tbody></table>'
    )


def report_link(fair: str, lang: str, labels: dict[str, str]) -> str:
    """The day's report in a new tab: that page reads the token this browser keeps for the fair."""
    query = "?lang=en" if lang == "en" else ""
    return (
        f'<a id="report-link" class="lang" href="/dashboard/{fair}/report{query}" target="_blank"'
        f' rel="noopener">{labels["report"]}</a>'
    )


def dashboard_page(fair: str, labels: dict[str, str], lang: str) -> str:
    """The live page of one fair; `fair` is a canonical UUID, so it is safe in markup."""
    L = labels
    header = (
        '<header class="top"><div class="brand">'
        f'<p class="eyebrow">{L["brand"]}</p><h1 id="fair-name">{L["loading"]}</h1>'
        '<p id="fair-meta" class="muted"></p></div><div class="status">'
        f'<span id="link" class="pill" data-state="connecting" role="status">{L["connecting"]}'
        '</span><time id="updated" class="muted"></time>'
        f"<nav>{report_link(fair, lang, L)}{lang_link(lang, L)}"
        '<button id="sign-out" type="button" class="ghost">'
        f"{L['sign_out']}</button></nav></div></header>"
    )
    kpis = '<section class="kpis">' + "".join(_kpi(m, L) for m in KPIS) + "</section>"
    chart = (
        '<section class="panel chart-panel"><div class="panel-head">'
        f'<h2>{L["chart"]}</h2><span class="muted">{L["chart_note"]}'
        '<span id="legend" class="legend"></span></span></div><div id="chart" class="chart"></div>'
        "</section>"
    )
    schools = (
        '<section class="panel schools-panel"><div class="panel-head">'
        f'<h2>{L["schools"]}</h2><span class="muted">{L["schools_note"]}</span></div>'
        f'<ol id="schools" class="bars"></ol><p id="schools-empty" class="muted empty">'
        f"{L['no_data']}</p></section>"
    )
    leader_heads = [
        ("rank", "n"),
        ("employer", "name"),
        ("leads", "n"),
        ("received", "n"),
        ("downloaded", "n"),
        ("intents_col", "n"),
    ]
    leaders = (
        '<section class="panel leaders-panel"><div class="panel-head">'
        f'<h2>{L["leaders"]}</h2><span id="leaders-note" class="muted"></span></div>'
        f"{_table('leaders', leader_heads, L)}"
        f'<p id="leaders-empty" class="muted empty">{L["no_data"]}</p></section>'
    )
    session_heads = [
        ("session", "name"),
        ("viewers_now", "n"),
        ("peak", "n"),
        ("views", "n"),
        ("viewers", "n"),
        ("resumes_col", "n"),
        ("consultations_col", "n"),
    ]
    sessions = (
        '<section id="sessions-panel" class="panel sessions-panel" hidden>'
        f'<div class="panel-head"><h2>{L["sessions"]}</h2></div>'
        f"{_table('sessions', session_heads, L)}</section>"
    )
    body = (
        f'{header}<main id="board" class="board">{kpis}{chart}{schools}{_hires(L)}{leaders}'
        f"{sessions}</main>"
        f"{token_form(L)}{_config('dashboard', lang, L, fair)}"
    )
    return _shell(lang, f"{L['title']} · FairHub", body, "dashboard")


def index_page(labels: dict[str, str], lang: str) -> str:
    """The way in: a fair id and a token, or the admin token to list every fair."""
    L = labels
    body = (
        f'<main class="index"><nav class="index-nav">{lang_link(lang, L)}</nav>'
        f'<form id="open-form" class="card" novalidate><p class="eyebrow">{L["brand"]}</p>'
        f'<h1>{L["index_title"]}</h1><p class="muted">{L["index_text"]}</p>'
        f'<label for="open-fair">{L["fair_id"]}</label>'
        '<input id="open-fair" name="fair" autocomplete="off" spellcheck="false"'
        ' placeholder="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx">'
        f'<label for="open-token">{L["token"]}</label>'
        '<input id="open-token" name="token" type="password" autocomplete="off" spellcheck="false">'
        '<p id="open-error" class="error" role="alert"></p>'
        f'<button type="submit">{L["open"]}</button></form>'
        f'<section id="fairs" class="card" hidden><h2>{L["fairs"]}</h2><ul id="fair-list"></ul>'
        "</section></main>"
        f"{_config('index', lang, L)}"
    )
    return _shell(lang, f"{L['index_title']} · FairHub", body, "index")


def not_found_page(labels: dict[str, str], lang: str) -> str:
    """What a mistyped dashboard address shows."""
    body = (
        f'<main class="index"><section class="card"><h1>{labels["not_found"]}</h1>'
        f'<p>{labels["not_found_text"]}</p><p><a href="/dashboard">{labels["index_title"]}</a>'
        "</p></section></main>"
    )
    return _shell(lang, labels["not_found"], body, "none")
