"""`fairhub report FAIR`: the report from a gateway (--url, or the running `fairhub dev`) or
straight from the database at FAIRHUB_DATABASE_URL."""

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
from fairhub.config import Settings
from fairhub.report import build_report, report_csv, report_html, report_text
from fairhub.report_xlsx import report_xlsx


async def _from_database(url: str, fair: str) -> dict[str, Any] | None:
    conn = await asyncpg.connect(url)
    try:
        return await build_report(conn, fair)
    finally:
        await conn.close()


async def _from_gateway(url: str, token: str, fair: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{url.rstrip('/')}/v1/fairs/{fair}/report.json", headers=headers) as r,
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
    output = Path(args.output) if args.output else None
    kind = args.format or (output.suffix.lstrip(".") if output else "") or "text"
    if kind not in ("text", "txt", "json", "csv", "html", "xlsx"):
        sys.exit(f"unknown format {kind!r}: text, json, csv, html or xlsx")
    if kind == "xlsx" and output is None and sys.stdout.isatty():
        sys.exit("an .xlsx report is a file: give -o report.xlsx")
    settings = devinfo.with_data_dir(settings, args)
    gateway = source(settings, args)
    try:
        if gateway is None:
            report = asyncio.run(_from_database(str(settings.database_url), args.fair))
        else:
            report = asyncio.run(_from_gateway(*gateway, args.fair))
    except (OSError, ValueError, aiohttp.ClientError, asyncpg.PostgresError) as exc:
        where = gateway[0] if gateway else "the database (FAIRHUB_DATABASE_URL)"
        sys.exit(f"could not read the report from {where}: {exc}")
    if report is None:
        sys.exit(f"no fair {args.fair}")
    if kind == "csv":
        data = report_csv(report, args.lang)
    elif kind == "json":
        data = json.dumps(report, ensure_ascii=False, indent=2).encode() + b"\n"
    elif kind == "xlsx":
        data = report_xlsx(report, args.lang)
    elif kind == "html":
        data = report_html(report, args.lang, settings.timezone).encode()
    else:
        data = report_text(report, args.lang, settings.timezone).encode()
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
        print(f"wrote {output} ({len(data):,} bytes)", file=sys.stderr)
