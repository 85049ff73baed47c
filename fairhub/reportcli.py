"""`fairhub report FAIR` (or `--alliance ID`): the report from a gateway (--url, or the running
`fairhub dev`) or straight from the database at FAIRHUB_DATABASE_URL."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from fairhub import devinfo
from fairhub.alliance_report import (
    alliance_report_csv,
    alliance_report_xlsx,
    build_alliance_report,
)
from fairhub.alliance_report_html import alliance_report_html
from fairhub.config import Settings
from fairhub.report import build_report, report_csv, report_html, report_text
from fairhub.report_xlsx import report_xlsx


async def _from_database(url: str, fair: str, alliance: bool) -> dict[str, Any] | None:
    conn = await asyncpg.connect(url)
    try:
        if alliance:
            return await build_alliance_report(conn, fair)
        return await build_report(conn, fair)
    finally:
        await conn.close()


async def _from_gateway(url: str, token: str, fair: str, alliance: bool) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/v1/alliances/{fair}/report.json" if alliance else f"/v1/fairs/{fair}/report.json"
    async with (
        aiohttp.ClientSession() as session,
        session.get(url.rstrip("/") + path, headers=headers) as r,
    ):
        body = await r.json(content_type=None)
        if r.status != 200:
            sys.exit(f"{url} answered {r.status}: {body.get('detail', body)}")
        return dict(body)


def source(settings: Settings, args: argparse.Namespace) -> tuple[str, str] | None:
    """The gateway and token to ask, or None for the database.

    --url first; then the `fairhub dev` of an explicit --data-dir; then FAIRHUB_DATABASE_URL
    (a server deployment); then the `fairhub dev` of the default data dir.
    """
    if args.url or args.data_dir is not None or not settings.database_url:
        return devinfo.target(settings, args.url, args.token)
    return None


def print_report(settings: Settings, args: argparse.Namespace) -> None:
    """Fetch the report and write it in the asked format, to a file or standard output."""
    alliance = bool(args.alliance)
    subject = args.alliance or args.fair
    if not subject or (args.alliance and args.fair):
        sys.exit("name a fair, or an alliance with --alliance, not both")
    output = Path(args.output) if args.output else None
    default = "json" if alliance else "text"  # an alliance's tables are too wide for a terminal
    kind = args.format or (output.suffix.lstrip(".") if output else "") or default
    if kind not in ("text", "txt", "json", "csv", "html", "xlsx"):
        sys.exit(f"unknown format {kind!r}: text, json, csv, html or xlsx")
    if alliance and kind in ("text", "txt"):
        sys.exit("an alliance's report is json, csv, html or xlsx")
    if kind == "xlsx" and output is None and sys.stdout.isatty():
        sys.exit("an .xlsx report is a file: give -o report.xlsx")
    settings = devinfo.with_data_dir(settings, args)
    gateway = source(settings, args)
    try:
        if gateway is None:
            report = asyncio.run(_from_database(str(settings.database_url), subject, alliance))
        else:
            report = asyncio.run(_from_gateway(*gateway, subject, alliance))
    except (OSError, ValueError, aiohttp.ClientError, asyncpg.PostgresError) as exc:
        where = gateway[0] if gateway else "the database (FAIRHUB_DATABASE_URL)"
        sys.exit(f"could not read the report from {where}: {exc}")
    if report is None:
        sys.exit(f"no {'alliance' if alliance else 'fair'} {subject}")
    data = _render(report, kind, alliance, args.lang, settings.timezone)
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
        print(f"wrote {output} ({len(data):,} bytes)", file=sys.stderr)


def _render(report: dict[str, Any], kind: str, alliance: bool, lang: str, timezone: str) -> bytes:
    if kind == "json":
        return json.dumps(report, ensure_ascii=False, indent=2, default=str).encode() + b"\n"
    if alliance:
        if kind == "csv":
            return alliance_report_csv(report, lang)
        if kind == "xlsx":
            return alliance_report_xlsx(report, lang)
        return alliance_report_html(report, lang, timezone).encode()
    if kind == "csv":
        return report_csv(report, lang)
    if kind == "xlsx":
        return report_xlsx(report, lang)
    if kind == "html":
        return report_html(report, lang, timezone).encode()
    return report_text(report, lang, timezone).encode()
