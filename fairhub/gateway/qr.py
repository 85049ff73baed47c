"""Printable QR codes: seekers' badges, employers' and positions' public pages, badge sheets.

Nothing here is stored: a badge is re-signed from the fair's key and the seeker's serial (Ed25519
is deterministic), and a page code is just the page's address.
"""

from __future__ import annotations

import asyncio
import io
from html import escape
from typing import Any

import segno
from aiohttp import web

from fairhub import badges, keys
from fairhub.auth import Principal
from fairhub.gateway import privacy
from fairhub.gateway.access import fair_caller, fair_id
from fairhub.gateway.errors import Forbidden, NotFound, Unauthorized, Unprocessable
from fairhub.gateway.public import page_url, public_base
from fairhub.keyring import signing_key

SHEET_LIMIT = 500
PER_PAGE = 8  # 2 columns x 4 rows of 95 x 69 mm on an A4 page
QUIET_ZONE = 4  # modules of white around a code, as ISO/IEC 18004 asks
_CONTENT_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
_PRIVATE = {
    "Cache-Control": "private, no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    # Nothing here runs script: should a name ever slip past escaping, it still cannot.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}


async def browser_caller(request: web.Request, *roles: str) -> tuple[str, Principal]:
    """fair_caller, but a page opened in a browser may carry ?access_token= (RFC 6750 §2.3)."""
    token = request.query.get("access_token", "").strip()
    if "Authorization" in request.headers or not token:
        return await fair_caller(request, *roles)
    fair = fair_id(request)
    principal = await request.app[keys.AUTH].authenticate(token)
    if principal is None:
        raise Unauthorized("unknown or revoked token", fields=["access_token"])
    if not principal.may_act_on(fair):
        raise Forbidden("this token belongs to another fair", fields=["access_token"])
    if principal.role != "admin" and principal.role not in roles:
        raise Forbidden(f"a {principal.role} token may not do this", fields=["access_token"])
    return fair, principal


def make_code(text: str) -> segno.QRCode:
    """Always a full QR code: segno.make picks Micro QR for short text, which phones cannot read."""
    return segno.make_qr(text, error="m")


def _bounded_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Unprocessable(f"{name} must be a whole number", fields=[name]) from None
    if not low <= value <= high:
        raise Unprocessable(f"{name} must be between {low} and {high}", fields=[name])
    return value


async def _badge_of(request: web.Request, fair: str, seeker_id: str) -> str:
    async with request.app[keys.DB].acquire() as conn, conn.transaction():
        serial = await conn.fetchval(
            "SELECT badge_serial FROM seekers"
            " WHERE fair_id = $1 AND id = $2 AND revoked_at IS NULL",
            fair,
            seeker_id,
        )
        if serial is None:
            raise NotFound(f"no live seeker {seeker_id!r} in this fair", fields=["id"])
        key = await signing_key(conn, fair)
    return badges.sign(key, fair, seeker_id, serial)


async def _page_of(request: web.Request, fair: str, kind: str, item_id: str) -> str:
    table = "employers" if kind == "employer" else "positions"
    employer = "id" if kind == "employer" else "employer_id"
    # A position's page is gone with its employer's, so its code is too.
    found = await request.app[keys.DB].fetchval(
        f"SELECT true FROM {table} t WHERE t.fair_id = $1 AND t.id = $2 AND t.revoked_at IS NULL"
        " AND EXISTS (SELECT 1 FROM employers e WHERE e.fair_id = t.fair_id"
        f" AND e.id = t.{employer} AND e.revoked_at IS NULL)",
        fair,
        item_id,
    )
    if found is None:
        raise NotFound(f"no live {kind} {item_id!r} in this fair", fields=["id"])
    return page_url(request, fair, table, item_id)


async def qr_code(request: web.Request) -> web.Response:
    """A code to print: a seeker's holds the badge, others the page a phone camera opens."""
    fair, _ = await browser_caller(request, "organizer")
    kind, item_id, fmt = (request.match_info[k] for k in ("kind", "id", "fmt"))
    if kind == "seeker":
        text = await _badge_of(request, fair, item_id)
    else:
        text = await _page_of(request, fair, kind, item_id)
    return _code_response(request, text, fmt, f"{kind}-{item_id}")


async def fair_qr_code(request: web.Request) -> web.Response:
    """The fair's own code, for posters and screens: it opens the fair's page with sign-up."""
    fair, _ = await browser_caller(request, "organizer")
    if not await request.app[keys.DB].fetchval("SELECT true FROM fairs WHERE id = $1", fair):
        raise NotFound(f"no fair {fair}", fields=["fair"])
    text = f"{public_base(request)}/p/{fair}"
    return _code_response(request, text, request.match_info["fmt"], f"fair-{fair}")


def _code_response(request: web.Request, text: str, fmt: str, name: str) -> web.Response:
    scale = _bounded_int(request, "scale", 8, 1, 40)
    buffer = io.BytesIO()
    make_code(text).save(buffer, kind=fmt, scale=scale, border=QUIET_ZONE)
    headers = {**_PRIVATE, "Content-Disposition": f'inline; filename="{name}.{fmt}"'}
    return web.Response(body=buffer.getvalue(), content_type=_CONTENT_TYPES[fmt], headers=headers)


_SHEET_CSS = """
@page { size: A4; margin: 10mm; }
* { box-sizing: border-box; }
body { margin: 0; color: #111; font-family: system-ui, -apple-system, "PingFang SC",
  "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC",
  "WenQuanYi Micro Hei", sans-serif; }
.page { display: grid; grid-template-columns: repeat(2, 95mm); grid-auto-rows: 69mm;
  width: 190mm; break-after: page; }
.page:last-child { break-after: auto; }
.badge { display: flex; gap: 3mm; align-items: center; padding: 4mm; overflow: hidden;
  border: 0.2mm dashed #999; break-inside: avoid; }
.qr { flex: 0 0 46mm; }
.qr svg { display: block; width: 46mm; height: 46mm; }
.text { min-width: 0; overflow-wrap: anywhere; }
.fair { font-size: 8pt; color: #555; margin: 0 0 2mm; }
.name { font-size: 17pt; font-weight: 700; margin: 0 0 2mm; line-height: 1.2; }
.line { font-size: 9pt; margin: 0 0 1mm; }
.number { font-size: 12pt; font-weight: 700; margin: 3mm 0 0; font-variant-numeric: tabular-nums; }
.empty { font-size: 12pt; padding: 10mm; }
@media screen { body { background: #eee; } .page { background: #fff; margin: 5mm auto; } }
"""


def _badge_html(fair_name: str, seeker: dict[str, Any], badge: str) -> str:
    svg = make_code(badge).svg_inline(border=QUIET_ZONE, omitsize=True)
    lines = "".join(
        f'<p class="line">{escape(seeker[k])}</p>' for k in ("school", "major") if seeker[k]
    )
    return (
        f'<div class="badge"><div class="qr">{svg}</div><div class="text">'
        f'<p class="fair">{escape(fair_name)}</p><p class="name">{escape(seeker["name"])}</p>'
        f'{lines}<p class="number">No. {seeker["number"]:04d}</p></div></div>'
    )


def render_sheet(fair_name: str, seekers: list[dict[str, Any]], key: badges.KeyPair) -> str:
    """The A4 sheet; CPU-bound (a QR code takes milliseconds), so it runs off the event loop."""
    cells = [
        _badge_html(fair_name, s, badges.sign(key, s["fair_id"], s["id"], s["badge_serial"]))
        for s in seekers
    ]
    pages = [
        '<section class="page">' + "".join(cells[n : n + PER_PAGE]) + "</section>"
        for n in range(0, len(cells), PER_PAGE)
    ] or ['<p class="empty">没有可打印的胸卡 · No badges in this range</p>']
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(fair_name)} · 胸卡</title><style>{_SHEET_CSS}</style></head>"
        f"<body>{''.join(pages)}</body></html>"
    )


async def badge_sheet(request: web.Request) -> web.Response:
    """Badges of seekers numbered from..to, to print on A4 and cut along the dashed lines."""
    fair, principal = await browser_caller(request, "organizer")
    first = _bounded_int(request, "from", 1, 1, 2**31 - 1)
    last = _bounded_int(request, "to", 2**31 - 1, 1, 2**31 - 1)
    if first > last:
        raise Unprocessable("from must not be greater than to", fields=["from", "to"])
    await privacy.record(request, principal, fair, "badges_printed", f"{first}-{last}")
    async with request.app[keys.DB].acquire() as conn, conn.transaction():
        fair_name = await conn.fetchval("SELECT name FROM fairs WHERE id = $1", fair)
        if fair_name is None:
            raise NotFound(f"no fair {fair}", fields=["fair"])
        rows = await conn.fetch(
            "SELECT s.fair_id::text AS fair_id, s.id, s.number, s.name, c.name AS school,"
            " s.major, s.badge_serial FROM seekers s"
            " LEFT JOIN schools c ON c.fair_id = s.fair_id AND c.id = s.school_id"
            " WHERE s.fair_id = $1 AND s.revoked_at IS NULL AND s.number BETWEEN $2 AND $3"
            " ORDER BY s.number LIMIT $4",
            fair,
            first,
            last,
            SHEET_LIMIT + 1,
        )
        if len(rows) > SHEET_LIMIT:
            raise Unprocessable(
                f"at most {SHEET_LIMIT} badges fit one sheet; ask for a range with from= and to="
                f" (from={first} to={rows[SHEET_LIMIT - 1]['number']} is the first full sheet)",
                fields=["from", "to"],
                code="too_many",
            )
        key = await signing_key(conn, fair)
    seekers = [dict(r) for r in rows]
    page = await asyncio.to_thread(render_sheet, fair_name, seekers, key)
    return web.Response(text=page, content_type="text/html", charset="utf-8", headers=_PRIVATE)


def add_routes(app: web.Application) -> None:
    """Register the QR code and badge sheet routes."""
    app.router.add_get(
        "/v1/fairs/{fair}/qr/{kind:seeker|employer|position}/{id:[^/.]+}.{fmt:svg|png}", qr_code
    )
    app.router.add_get("/v1/fairs/{fair}/qr/fair.{fmt:svg|png}", fair_qr_code)
    app.router.add_get("/v1/fairs/{fair}/badges.html", badge_sheet)
