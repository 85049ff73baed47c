"""Job demand of member enterprises and the training menu of member institutions (the API)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg
from aiohttp import web

from fairhub import alliances, keys
from fairhub.gateway.alliances import alliance_caller
from fairhub.gateway.bodies import read_model, reply
from fairhub.gateway.errors import Forbidden, Unprocessable


async def _member_of_kind(
    conn: asyncpg.Connection, alliance: str, member_id: str, kind: str, field: str = "member_id"
) -> None:
    found = await alliances.members(conn, alliance, {member_id})
    problem = alliances.member_problem(found.get(member_id), date.today(), kind)
    if problem is not None:
        raise Unprocessable(problem, fields=[field])


async def add_demand(request: web.Request) -> web.Response:
    """A member enterprise's demand for one occupation: registry data the figures compare.

    The secretary posts it for any member; an employer of the alliance's fairs for its own.
    """
    alliance, principal = await alliance_caller(request, members=True)
    body = await read_model(request, alliances.DemandIn)
    if principal.role == "employer" and body.member_id != principal.subject_id:
        raise Forbidden("an employer posts demand for its own member only", fields=["member_id"])
    async with request.app[keys.DB].acquire() as conn:
        await _member_of_kind(conn, alliance, body.member_id, "enterprise")
        demand = await alliances.insert_demand(conn, alliance, body)
    return reply({"id": demand}, status=201)


async def list_demands(request: web.Request) -> web.Response:
    """The alliance's job demand, in the order it was posted."""
    alliance, _ = await alliance_caller(request)
    rows = await request.app[keys.DB].fetch(
        "SELECT id, member_id, occupation, category, headcount, region, period FROM demands"
        " WHERE alliance_id = $1 ORDER BY created_at, id",
        alliance,
    )
    return reply({"items": [dict(r) for r in rows]})


async def add_offer(request: web.Request) -> web.Response:
    """An offer of the menu; a project class names the demand rows (and so the enterprises)."""
    alliance, _ = await alliance_caller(request)
    body = await read_model(request, alliances.OfferIn)
    if body.kind == "project_class" and not body.demand_ids:
        raise Unprocessable(
            "a project class names the demand it is built on", fields=["demand_ids"]
        )
    offer = str(uuid.uuid4())
    async with request.app[keys.DB].acquire() as conn:
        await _member_of_kind(conn, alliance, body.member_id, "training_institution")
        rows = await conn.fetch(
            "SELECT id, member_id FROM demands WHERE alliance_id = $1 AND id = any($2::text[])",
            alliance,
            body.demand_ids,
        )
        missing = set(body.demand_ids) - {r["id"] for r in rows}
        if missing:
            raise Unprocessable(
                f"no demand {sorted(missing)[0]!r} in this alliance", fields=["demand_ids"]
            )
        enterprises = sorted({r["member_id"] for r in rows})
        await alliances.store_offer(conn, alliance, offer, body, enterprises)
    return reply({"id": offer, "enterprise_ids": enterprises}, status=201)


MENU_COLUMNS = (
    "o.id, o.member_id, m.name AS institution, o.occupation, o.kind, o.seats, o.region,"
    " o.credit_stars, o.subsidy_per_trainee, o.period, o.demand_ids, o.enterprise_ids"
)


async def menu_rows(
    conn: asyncpg.Connection | asyncpg.Pool, alliance: str, occupation: str, region: str
) -> list[dict[str, Any]]:
    """The menu, filtered by substrings of occupation and region (Chinese as typed)."""
    rows = await conn.fetch(
        f"SELECT {MENU_COLUMNS} FROM offers o JOIN alliance_members m"
        " ON m.alliance_id = o.alliance_id AND m.id = o.member_id"
        " WHERE o.alliance_id = $1 AND strpos(lower(o.occupation), lower($2)) > 0"
        " AND strpos(lower(coalesce(o.region, '')), lower($3)) > 0"
        " ORDER BY o.region NULLS LAST, o.occupation, m.name, o.id",
        alliance,
        occupation,
        region,
    )
    return [
        {
            **dict(r),
            "subsidy_per_trainee": alliances.number(r["subsidy_per_trainee"]),
            "demand_ids": list(r["demand_ids"]),
            "enterprise_ids": list(r["enterprise_ids"]),
        }
        for r in rows
    ]


def search_terms(request: web.Request) -> tuple[str, str]:
    """The menu's search (occupation, region) as typed; 422 for what no text can hold."""
    terms = []
    for name in ("occupation", "region"):
        value = request.query.get(name, "").strip()[:100]
        if "\x00" in value:
            raise Unprocessable(f"{name} cannot hold a NUL character", fields=[name])
        terms.append(value)
    return terms[0], terms[1]


async def list_offers(request: web.Request) -> web.Response:
    """The training menu as JSON, filtered like the phone page."""
    alliance, _ = await alliance_caller(request)
    rows = await menu_rows(request.app[keys.DB], alliance, *search_terms(request))
    return reply({"items": rows})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/alliances/{alliance}/demands", add_demand)
    app.router.add_get("/v1/alliances/{alliance}/demands", list_demands)
    app.router.add_post("/v1/alliances/{alliance}/offers", add_offer)
    app.router.add_get("/v1/alliances/{alliance}/offers", list_offers)
