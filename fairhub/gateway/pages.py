"""What every FairHub browser page shares: strict headers, the settings blob, the shell, and
the static files (scripts, styles) served by FairHub itself, never by a CDN.

Pages hold no data and no token: scripts read the settings blob, then the API. Each page loads
`common.js` (the helpers every page script uses) and then its own script.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from html import escape
from importlib import resources
from pathlib import PurePosixPath
from typing import Any

from aiohttp import web

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
PAGE_HEADERS = {
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


def page_lang(request: web.Request) -> str:
    """Chinese unless the page is asked for in English (?lang=en)."""
    return "en" if request.query.get("lang") == "en" else "zh"


def html_response(text: str, status: int = 200) -> web.Response:
    """A page with the strict headers: scripts and styles from here only, no referrer."""
    return web.Response(
        text=text, status=status, content_type="text/html", charset="utf-8", headers=PAGE_HEADERS
    )


def settings_script(data: dict[str, Any]) -> str:
    """The script's settings as JSON that cannot end its <script> element early."""
    text = json.dumps(data, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="cfg">{text}</script>'


def shell(
    *, lang: str, title: str, body: str, icon: str, css: str, script: str, head: str = ""
) -> str:
    """A whole page: its stylesheet, common.js and its own script (deferred, in that order)."""
    scripts = "".join(
        f'<script src="{escape(asset_url(name))}" defer></script>' for name in ("common.js", script)
    )
    return (
        f'<!doctype html><html lang="{"en" if lang == "en" else "zh-CN"}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="referrer" content="no-referrer">{head}'
        f'<title>{escape(title)}</title><link rel="icon" href="{icon}">'
        f'<link rel="stylesheet" href="{escape(asset_url(css))}">{scripts}</head>{body}</html>'
    )


def token_form(labels: dict[str, str], button_class: str = "") -> str:
    """The form a page shows until it has a token (kept in the browser, never in the URL)."""
    return (
        '<section id="login" class="login" hidden><form id="login-form" class="card" novalidate>'
        f"<h2>{labels['token_title']}</h2>"
        f'<label for="login-token">{labels["token"]}</label>'
        '<input id="login-token" name="token" type="password" autocomplete="off"'
        ' spellcheck="false" required>'
        f'<p class="muted">{labels["token_hint"]}</p>'
        '<p id="login-error" class="error" role="alert"></p>'
        f'<button type="submit" class="{button_class}">{labels["enter"]}</button></form></section>'
    )


def lang_link(lang: str, labels: dict[str, str]) -> str:
    """The link to the page in the other language (Chinese is the default)."""
    href = "?" if lang == "en" else "?lang=en"
    return f'<a class="lang" href="{href}">{labels["other_lang"]}</a>'


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
