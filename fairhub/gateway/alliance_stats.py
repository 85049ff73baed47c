"""GET /v1/alliances/{alliance}/stats: how demand turned into trained and hired people
(computed by fairhub.alliance_figures, which the alliance's report reads too)."""

from __future__ import annotations

from aiohttp import web

from fairhub import keys
from fairhub.alliance_figures import internship_subsidy, read_alliance_stats
from fairhub.gateway.alliances import alliance_caller
from fairhub.gateway.bodies import reply
from fairhub.gateway.errors import NotFound

__all__ = ["add_routes", "get_stats", "internship_subsidy"]


async def get_stats(request: web.Request) -> web.Response:
    """Per member, occupation, offer and channel, with the subsidies owed."""
    alliance, _ = await alliance_caller(request)
    stats = await read_alliance_stats(request.app[keys.DB_READ], alliance)
    if stats is None:  # deleted between the check and the read
        raise NotFound(f"no alliance {alliance}", fields=["alliance"])
    return reply(stats)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/alliances/{alliance}/stats", get_stats)
