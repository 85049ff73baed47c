"""GET /v1/fairs/{fair}/report[.json|.csv|.xlsx|.html]: the day's figures as organizers publish
them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from fairhub import keys, xlsx
from fairhub.gateway.errors import NotFound
from fairhub.gateway.qr import browser_caller
from fairhub.gateway.report_page import report_page
from fairhub.report import build_report, report_csv, report_html
from fairhub.report_xlsx import report_xlsx


async def get_report(request: web.Request) -> web.Response:
    fair, _ = await browser_caller(request, "organizer")  # report.html opens in a browser
    lang = "en" if request.query.get("lang") == "en" else "zh"
    report = await build_report(request.app[keys.DB_READ], fair)
    if report is None:
        raise NotFound(f"no fair {fair}", fields=["fair"])
    kind = request.match_info.get("format", "json")
    if kind == "json":
        return web.json_response(report)
    return await report_download(
        report,
        report["fair"]["name"],
        kind,
        csv=lambda: report_csv(report, lang),
        workbook=lambda: report_xlsx(report, lang),
        page=lambda: report_html(report, lang, request.app[keys.SETTINGS].timezone),
    )


async def report_download(
    report: dict[str, Any],
    title: str,
    kind: str,
    *,
    csv: Callable[[], bytes | str],
    workbook: Callable[[], bytes],
    page: Callable[[], str],
) -> web.Response:
    """A report as a CSV, an Excel workbook (built off the loop) or an A4 page, named after
    its fair or alliance; the page runs no script and loads nothing."""
    name = quote(f"{title}-report.{kind}")
    disposition = f"attachment; filename=report.{kind}; filename*=UTF-8''{name}"
    if kind == "csv":
        return web.Response(
            body=csv(),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": disposition},
        )
    if kind == "xlsx":
        return web.Response(
            body=await asyncio.to_thread(workbook),
            content_type=xlsx.CONTENT_TYPE,
            headers={"Content-Disposition": disposition},
        )
    return web.Response(
        text=page(),
        content_type="text/html",
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/fairs/{fair}/report", get_report)
    app.router.add_get("/v1/fairs/{fair}/report.{format:json|csv|xlsx|html}", get_report)
    app.router.add_get("/dashboard/{fair}/report", report_page)
