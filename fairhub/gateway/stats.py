"""GET /v1/fairs/{fair}/stats and its live stream: the fair's figures (fairhub.stats)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from fairhub import keys
from fairhub.gateway import fanout
from fairhub.gateway.access import fair_caller
from fairhub.gateway.fairs import require_fair
from fairhub.stats import read_stats


class Count(BaseModel):
    total: int
    unique: int


class StatsOut(BaseModel):
    """The shape of /stats (for the OpenAPI document)."""

    fair: str
    as_of: datetime
    totals: dict[str, Count]
    by_employer: list[dict[str, Any]]
    by_position: list[dict[str, Any]]
    by_school: list[dict[str, Any]]
    by_session: list[dict[str, Any]]
    per_minute: list[dict[str, Any]]
    checkins_by_verdict: dict[str, int]
    resumes_by_channel: dict[str, int]
    hires_by_channel: dict[str, Count]


async def _organizer_of(request: web.Request) -> str:
    fair, principal = await fair_caller(request, "organizer")
    if principal.role == "admin":  # an organizer token already proves the fair exists
        await require_fair(request.app, fair)
    return fair


async def get_stats(request: web.Request) -> web.Response:
    fair = await _organizer_of(request)
    return web.json_response(
        await read_stats(request.app[keys.DB], fair, request.app[keys.PRESENCE])
    )


async def stream_stats(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: the fair's stats now, then again after every change.

    A client that reconnects with the Last-Event-ID it saw gets nothing until the figures
    move past it; one that missed changes gets the current snapshot at once.
    """
    fair = await _organizer_of(request)
    return await fanout.serve(request, request.app[keys.FEEDS], fair)
