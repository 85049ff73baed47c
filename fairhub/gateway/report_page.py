"""The report in the browser: a page the dashboard links to, opened with the token it keeps.

A link cannot carry an Authorization header and a token in a query string ends up in proxies'
logs, so the page is a shell: its script reads the organizer token this browser kept for the
fair (or one handed over once in the fragment), fetches `report.html` with it and shows that
document in place, ready to print. The shell holds no figures and no token.
"""

# Chinese labels use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

from aiohttp import web

from fairhub.gateway.access import fair_id
from fairhub.gateway.pages import PAGE_HEADERS, page_lang, settings_script, shell

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "招聘会数据报告", "loading": "正在生成报告…",
        "no_token": "本浏览器还没有这场招聘会的组织方令牌：请先在数据大屏输入令牌。",
        "bad_token": "令牌无效或已注销：请在数据大屏重新输入。",
        "forbidden": "该令牌无权查看本场报告。", "no_fair": "该场次不存在。",
        "failed": "报告没有生成，请稍后重试。", "dashboard": "打开数据大屏",
    },
    "en": {
        "title": "Job fair report", "loading": "Preparing the report…",
        "no_token": "This browser keeps no organizer token for this fair: enter it on the"
        " dashboard first.",
        "bad_token": "Unknown or revoked token: enter it again on the dashboard.",
        "forbidden": "This token may not see this fair's report.",
        "no_fair": "There is no such fair.",
        "failed": "The report could not be made; try again later.",
        "dashboard": "Open the dashboard",
    },
}  # fmt: skip

# The report document brings its own <style> (it is also served alone as report.html), so this
# page, unlike the other shells, allows inline styles; it still runs no inline script.
REPORT_HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": PAGE_HEADERS["Content-Security-Policy"].replace(
        "style-src 'self'", "style-src 'self' 'unsafe-inline'"
    ),
}

# The tab's icon, inline so that browsers do not ask for /favicon.ico: a sheet with lines.
REPORT_ICON = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
    "%3Crect width='16' height='16' rx='3' fill='%23ffffff'/%3E"
    "%3Cpath d='M4 4h8v1H4zm0 3h8v1H4zm0 3h5v1H4z' fill='%23111111'/%3E%3C/svg%3E"
)


def report_shell(fair: str, lang: str) -> str:
    """The page before the report arrives; `fair` is a canonical UUID, safe in markup."""
    labels = LABELS[lang]
    query = "?lang=en" if lang == "en" else ""
    body = (
        f'<body data-page="report"><main class="index"><section class="card">'
        f'<p id="report-state" role="status">{labels["loading"]}</p>'
        f'<p><a id="to-dashboard" href="/dashboard/{fair}{query}" hidden>{labels["dashboard"]}'
        "</a></p></section></main>"
        f"{settings_script({'page': 'report', 'lang': lang, 'fair': fair, 'labels': labels})}"
        "</body>"
    )
    return shell(
        lang=lang,
        title=f"{labels['title']} · FairHub",
        body=body,
        icon=REPORT_ICON,
        css="dashboard.css",
        script="report.js",
    )


async def report_page(request: web.Request) -> web.Response:
    """`/dashboard/{fair}/report`: the day's report for an organizer's browser, print-ready."""
    lang = page_lang(request)
    fair = fair_id(request)  # not a fair id: 404 naming `fair`
    return web.Response(
        text=report_shell(fair, lang),
        content_type="text/html",
        charset="utf-8",
        headers=REPORT_HEADERS,
    )
