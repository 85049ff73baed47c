"""The organizers' live dashboard: HTML shells and the static files they load, all served here.

The pages hold no figures and need no token: the script sends the organizer's token to the
stats stream, and every file comes from FairHub itself, so a venue without internet works.
The stream counts what happened; what was registered (employers who have not shown any
activity yet among them) comes from the registry's counts, read here.
"""

from __future__ import annotations

from aiohttp import web

from fairhub import keys
from fairhub.gateway.access import fair_caller, fair_id
from fairhub.gateway.dashboard_page import LABELS, dashboard_page, index_page, not_found_page
from fairhub.gateway.errors import NotFound
from fairhub.gateway.fairs import require_fair
from fairhub.gateway.pages import html_response, page_lang, static_file
from fairhub.sql import query


async def index(request: web.Request) -> web.Response:
    """The dashboard's way in: a fair id and token, or the admin token to pick a fair."""
    lang = page_lang(request)
    return html_response(index_page(LABELS[lang], lang))


async def board(request: web.Request) -> web.Response:
    """A fair's live dashboard page (Chinese, or English with ?lang=en); data come from the API."""
    lang = page_lang(request)
    try:
        fair = fair_id(request)
    except NotFound:
        return html_response(not_found_page(LABELS[lang], lang), status=404)
    return html_response(dashboard_page(fair, LABELS[lang], lang))


async def registry_counts(request: web.Request) -> web.Response:
    """What the fair registered, so the board says "12 registered, 9 active" (organizer)."""
    fair, principal = await fair_caller(request, "organizer")
    if principal.role == "admin":  # an organizer token already proves the fair exists
        await require_fair(request.app, fair)
    row = await request.app[keys.DB].fetchrow(query("registry_counts"), fair)
    return web.json_response({k: int(v) for k, v in dict(row).items()})


def add_routes(app: web.Application) -> None:
    """Register the dashboard pages, the registry's counts and the static files."""
    app.router.add_get("/v1/fairs/{fair}/registry/counts", registry_counts)
    app.router.add_get("/dashboard", index)
    app.router.add_get("/dashboard/{fair}", board)
    app.router.add_get("/static/{name}", static_file)
