"""`fairhub report FAIR`: the report from the database, or from a gateway with --url."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from fairhub.config import Settings
from fairhub.report import build_report, report_csv, report_html, report_text


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


def _token(settings: Settings, args: argparse.Namespace) -> str:
    """--token, else the admin token that `fairhub dev` keeps in the data dir."""
    if args.token:
        return str(args.token)
    if settings.admin_token or (settings.data_dir / "admin_token").exists():
        return settings.resolved_admin_token()
    sys.exit("give --token (an organizer or the admin token)")


def print_report(settings: Settings, args: argparse.Namespace) -> None:
    """Fetch the report and write it in the asked format, to a file or standard output."""
    output = Path(args.output) if args.output else None
    kind = args.format or (output.suffix.lstrip(".") if output else "") or "text"
    if kind not in ("text", "txt", "json", "csv", "html"):
        sys.exit(f"unknown format {kind!r}: text, json, csv or html")
    url = args.url or (None if settings.database_url else f"http://{settings.host}:{settings.port}")
    try:
        if url is None:
            report = asyncio.run(_from_database(str(settings.database_url), args.fair))
        else:
            report = asyncio.run(_from_gateway(url, _token(settings, args), args.fair))
    except (OSError, aiohttp.ClientError, asyncpg.PostgresError) as exc:
        sys.exit(f"could not read the report from {url or 'the database'}: {exc}")
    if report is None:
        sys.exit(f"no fair {args.fair}")
    if kind == "csv":
        data = report_csv(report, args.lang)
    elif kind == "json":
        data = json.dumps(report, ensure_ascii=False, indent=2).encode() + b"\n"
    elif kind == "html":
        data = report_html(report, args.lang, settings.timezone).encode()
    else:
        data = report_text(report, args.lang, settings.timezone).encode()
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
        print(f"wrote {output} ({len(data):,} bytes)", file=sys.stderr)
