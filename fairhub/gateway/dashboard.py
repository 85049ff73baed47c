"""The organizers' live dashboard: HTML shells and the static files they load, all served here.

The pages hold no figures and need no token: the script sends the organizer's token to the
stats stream, and every file comes from FairHub itself, so a venue without internet works.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import PurePosixPath

from aiohttp import web

from fairhub.gateway.access import fair_id
from fairhub.gateway.dashboard_page import LABELS, dashboard_page, index_page, not_found_page
from fairhub.gateway.errors import NotFound

# Suffix -> content type; a file of the static folder is served only if its suffix is here.
_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
_TEXT = {".js", ".css", ".svg"}
_PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    charset: str | None
    version: str  # a digest of the body: the page links ?v=<version>, cached for good


@cache
def assets() -> dict[str, Asset]:
    """The static folder, read once on first use: the only files /static/ will ever serve."""
    found: dict[str, Asset] = {}
    for entry in resources.files("fairhub").joinpath("gateway", "static").iterdir():
        suffix = PurePosixPath(entry.name).suffix
        if entry.is_file() and suffix in _TYPES:
            body = entry.read_bytes()
            found[entry.name] = Asset(
                body=body,
                content_type=_TYPES[suffix],
                charset="utf-8" if suffix in _TEXT else None,
                version=hashlib.sha256(body).hexdigest()[:16],
            )
    return found


def asset_url(name: str) -> str:
    """A static file's address, versioned by its content so a new release is never stale."""
    return f"/static/{name}?v={assets()[name].version}"


def _page_assets() -> dict[str, str]:
    return {"css": asset_url("dashboard.css"), "js": asset_url("dashboard.js")}


def _lang(request: web.Request) -> str:
    return "en" if request.query.get("lang") == "en" else "zh"


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(
        text=text,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers=_PAGE_HEADERS,
    )


async def index(request: web.Request) -> web.Response:
    """The dashboard's way in: a fair id and token, or the admin token to pick a fair."""
    lang = _lang(request)
    return _html(index_page(LABELS[lang], lang, _page_assets()))


async def board(request: web.Request) -> web.Response:
    """A fair's live dashboard page (Chinese, or English with ?lang=en); data come from the API."""
    lang = _lang(request)
    try:
        fair = fair_id(request)
    except NotFound:
        return _html(not_found_page(LABELS[lang], lang, _page_assets()), status=404)
    return _html(dashboard_page(fair, LABELS[lang], lang, _page_assets()))


async def static_file(request: web.Request) -> web.Response:
    """A file the pages load (scripts, styles): served by FairHub, never by a CDN."""
    name = request.match_info["name"]
    asset = assets().get(name)
    if asset is None:
        raise NotFound(f"no static file {name!r}", fields=["name"])
    etag = f'"{asset.version}"'
    fresh = request.query.get("v") == asset.version
    headers = {
        "Cache-Control": "public, max-age=31536000, immutable" if fresh else "no-cache",
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
    }
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(
        body=asset.body, content_type=asset.content_type, charset=asset.charset, headers=headers
    )


def add_routes(app: web.Application) -> None:
    """Register the dashboard pages and the static files."""
    app.router.add_get("/dashboard", index)
    app.router.add_get("/dashboard/{fair}", board)
    app.router.add_get("/static/{name}", static_file)
