"""GET /v1/alliances/{alliance}/report[.json|.csv|.xlsx|.html] and the secretary's page
/a/{alliance}/report: the alliance's figures as its secretary publishes them.

The downloads take the secretary's (or the admin's) token as a bearer, or as ?access_token=
like the fair's report (a link opened in a browser); the page never puts it in an address:
its script sends the token this browser keeps (or one typed in, or handed over once in the
fragment) and shows the report.html it gets back, ready to print.
"""

# Chinese labels use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

from aiohttp import web

from fairhub import keys
from fairhub.alliance_report import alliance_report_csv, alliance_report_xlsx, build_alliance_report
from fairhub.alliance_report_html import alliance_report_html
from fairhub.gateway.alliances import alliance_caller, alliance_id
from fairhub.gateway.bodies import reply
from fairhub.gateway.errors import Forbidden, NotFound, Unauthorized
from fairhub.gateway.pages import page_lang, settings_script, shell, token_form
from fairhub.gateway.report import report_download
from fairhub.gateway.report_page import REPORT_HEADERS, REPORT_ICON


async def _secretary(request: web.Request) -> str:
    """alliance_caller, but a link opened in a browser may carry ?access_token= (RFC 6750)."""
    token = request.query.get("access_token", "").strip()
    if "Authorization" in request.headers or not token:
        alliance, _ = await alliance_caller(request)
        return alliance
    alliance = alliance_id(request)
    principal = await request.app[keys.AUTH].authenticate(token)
    if principal is None:
        raise Unauthorized("unknown or revoked token", fields=["access_token"])
    if principal.role not in ("admin", "secretary"):
        raise Forbidden(f"a {principal.role} token may not do this", fields=["access_token"])
    if not principal.may_act_on(alliance):
        raise Forbidden("this token belongs to another alliance", fields=["access_token"])
    return alliance


async def get_report(request: web.Request) -> web.Response:
    """The report as JSON, CSV, an Excel workbook or an A4 page."""
    alliance = await _secretary(request)
    lang = page_lang(request)
    report = await build_alliance_report(request.app[keys.DB_READ], alliance)
    if report is None:
        raise NotFound(f"no alliance {alliance}", fields=["alliance"])
    kind = request.match_info.get("format", "json")
    if kind == "json":
        return reply(report)
    return await report_download(
        report,
        report["alliance"]["name"],
        kind,
        csv=lambda: alliance_report_csv(report, lang),
        workbook=lambda: alliance_report_xlsx(report, lang),
        page=lambda: alliance_report_html(report, lang, request.app[keys.SETTINGS].timezone),
    )


LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "联盟数据报告", "loading": "正在生成报告…",
        "no_token": "请输入联盟秘书处令牌。", "bad_token": "令牌无效或已注销，请重新输入。",
        "forbidden": "该令牌无权查看本联盟的报告。", "no_alliance": "该联盟不存在。",
        "failed": "报告没有生成，请稍后重试。",
        "token_title": "请输入联盟秘书处令牌", "token": "令牌",
        "token_hint": "令牌只保存在本浏览器中。", "enter": "打开报告",
    },
    "en": {
        "title": "Alliance report", "loading": "Preparing the report…",
        "no_token": "Enter the alliance's secretary token.",
        "bad_token": "Unknown or revoked token; enter it again.",
        "forbidden": "This token may not see this alliance's report.",
        "no_alliance": "There is no such alliance.",
        "failed": "The report could not be made; try again later.",
        "token_title": "Enter the secretary token", "token": "Token",
        "token_hint": "The token stays in this browser only.", "enter": "Open the report",
    },
}  # fmt: skip


def report_shell(alliance: str, lang: str) -> str:
    """The page before the report arrives; `alliance` is a canonical UUID, safe in markup."""
    labels = LABELS[lang]
    config = {"page": "alliance_report", "lang": lang, "alliance": alliance, "labels": labels}
    body = (
        '<body data-page="alliance-report"><main class="index"><section class="card">'
        f'<p id="report-state" role="status">{labels["loading"]}</p></section></main>'
        f"{token_form(labels)}{settings_script(config)}</body>"
    )
    return shell(
        lang=lang,
        title=f"{labels['title']} · FairHub",
        body=body,
        icon=REPORT_ICON,
        css="dashboard.css",
        script="alliance_report.js",
    )


async def report_page(request: web.Request) -> web.Response:
    """`/a/{alliance}/report`: the alliance's report for the secretary's browser, print-ready."""
    alliance = alliance_id(request)  # not an alliance id: 404 naming `alliance`
    return web.Response(
        text=report_shell(alliance, page_lang(request)),
        content_type="text/html",
        charset="utf-8",
        headers=REPORT_HEADERS,
    )


def add_routes(app: web.Application) -> None:
    path = "/v1/alliances/{alliance}/report"
    app.router.add_get(path, get_report)
    app.router.add_get(path + ".{format:json|csv|xlsx|html}", get_report)
    app.router.add_get("/a/{alliance}/report", report_page)
