"""Alliances and their members: created by the admin, run by the alliance's secretary."""

from __future__ import annotations

import re
import uuid
from datetime import date

import asyncpg
from aiohttp import web

from fairhub import alliances, keys, registry
from fairhub.auth import Principal, issue_secretary, mirror
from fairhub.gateway.access import caller
from fairhub.gateway.bodies import read_model, reply
from fairhub.gateway.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unprocessable,
)
from fairhub.layout import ensure_group

MEMBER_ID = re.compile(r"[\w.:@-]{1,64}")


def alliance_id(request: web.Request) -> str:
    """The {alliance} path parameter as a canonical UUID; 404 when it cannot be one."""
    raw = request.match_info["alliance"]
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise NotFound(f"no alliance {raw!r}", fields=["alliance"]) from None


async def alliance_caller(request: web.Request, *, members: bool = False) -> tuple[str, Principal]:
    """The alliance in the path, its secretary or the admin calling, and the alliance exists.

    With `members`, an employer token of one of the alliance's fairs may call too, when its
    employer is linked to a member: it speaks for that member (principal.subject_id).
    """
    alliance = alliance_id(request)
    principal = await caller(request)
    if members and principal.role == "employer":
        return alliance, await _member_employer(request, alliance, principal)
    if principal.role not in ("admin", "secretary"):
        raise Forbidden(f"a {principal.role} token may not do this", fields=["Authorization"])
    if not principal.may_act_on(alliance):
        raise Forbidden("this token belongs to another alliance", fields=["Authorization"])
    found = await request.app[keys.DB].fetchval(
        "SELECT true FROM alliances WHERE id = $1", alliance
    )
    if not found:
        raise NotFound(f"no alliance {alliance}", fields=["alliance"])
    return alliance, principal


async def _member_employer(request: web.Request, alliance: str, principal: Principal) -> Principal:
    member = await request.app[keys.DB].fetchval(
        "SELECT e.member_id FROM employers e JOIN fairs f ON f.id = e.fair_id"
        " WHERE e.fair_id = $1 AND e.id = $2 AND f.alliance_id = $3 AND e.revoked_at IS NULL",
        principal.fair_id,
        principal.subject_id,
        alliance,
    )
    if member is None:
        raise Forbidden(
            "this employer is no member of the alliance's fairs", fields=["Authorization"]
        )
    return Principal(role="employer", fair_id=principal.fair_id, subject_id=member)


async def create_alliance(request: web.Request) -> web.Response:
    """Register the alliance and its stream, then hand out the secretary token once."""
    principal = await caller(request)
    if principal.role != "admin":
        raise Forbidden("only the admin token creates alliances", fields=["Authorization"])
    body = await read_model(request, alliances.AllianceIn)
    alliance = str(uuid.uuid4())
    redis = request.app[keys.REDIS]
    # Its events go to the partition of its id, like a fair's: the group must exist first.
    await ensure_group(redis, keys.stream(alliance))
    async with request.app[keys.DB].acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO alliances (id, name, region, internship_share, internship_subsidy)"
            " VALUES ($1, $2, $3, $4, $5)",
            alliance,
            body.name,
            body.region,
            body.internship_share,
            body.internship_subsidy,
        )
        issued = await issue_secretary(conn, alliance)
    await mirror(redis, issued.digest, issued.principal)
    return reply({"id": alliance, "secretary_token": issued.token}, status=201)


async def get_alliance(request: web.Request) -> web.Response:
    """The alliance, its rules and its fairs, for the secretary's screen."""
    alliance, _ = await alliance_caller(request)
    row = await request.app[keys.DB].fetchrow(
        "SELECT id::text, name, region, internship_share, internship_subsidy,"
        " (SELECT coalesce(array_agg(f.id::text ORDER BY f.starts_at), '{}') FROM fairs f"
        "  WHERE f.alliance_id = a.id) AS fair_ids FROM alliances a WHERE id = $1",
        alliance,
    )
    return reply(
        {
            **dict(row),
            "internship_share": alliances.number(row["internship_share"]),
            "internship_subsidy": alliances.number(row["internship_subsidy"]),
            "fair_ids": list(row["fair_ids"]),
        }
    )


async def add_member(request: web.Request) -> web.Response:
    """A member joins (on joined_at, today by default); a current name is one member."""
    alliance, _ = await alliance_caller(request)
    body = await read_model(request, alliances.MemberIn)
    async with request.app[keys.DB].acquire() as conn:
        try:
            member = await alliances.insert_member(conn, alliance, body)
        except asyncpg.UniqueViolationError:
            raise Conflict(f"a member named {body.name!r} exists", fields=["name"]) from None
    return reply({"id": member}, status=201)


async def list_members(request: web.Request) -> web.Response:
    """Members, those that left included; ?on=YYYY-MM-DD keeps the members of that day."""
    alliance, _ = await alliance_caller(request)
    on = _day(request.query.get("on"), "on")
    rows = await request.app[keys.DB].fetch(
        "SELECT id, kind, name, staff, joined_at, left_at FROM alliance_members"
        " WHERE alliance_id = $1 AND ($2::date IS NULL OR (joined_at <= $2"
        " AND (left_at IS NULL OR left_at > $2))) ORDER BY joined_at, name",
        alliance,
        on,
    )
    return reply({"items": [dict(r) for r in rows]})


async def leave(request: web.Request) -> web.Response:
    """A member leaves on left_at (today by default); its past figures stay."""
    alliance, _ = await alliance_caller(request)
    left_at = _day(request.query.get("left_at"), "left_at") or date.today()
    member = request.match_info["member"]
    if not MEMBER_ID.fullmatch(member):
        raise NotFound(f"no member {member!r}", fields=["member"])
    row = await request.app[keys.DB].fetchrow(
        "UPDATE alliance_members SET left_at = $3 WHERE alliance_id = $1 AND id = $2"
        " AND left_at IS NULL AND joined_at <= $3 RETURNING id",
        alliance,
        member,
        left_at,
    )
    if row is None:
        raise NotFound("no current member with this id joined by that day", fields=["member"])
    return web.Response(status=204)


def _day(raw: str | None, name: str) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Unprocessable(f"{name} must be a date (YYYY-MM-DD)", fields=[name]) from None


async def link_fair(request: web.Request) -> web.Response:
    """A fair joins the alliance (admin or secretary), members-only or open to all; its schools
    are linked to the school members of their names."""
    alliance, _ = await alliance_caller(request)
    body = await read_model(request, alliances.FairLinkIn)
    async with request.app[keys.DB].acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "UPDATE fairs SET alliance_id = $1, members_only = $3 WHERE id = $2"
            " AND (alliance_id IS NULL OR alliance_id = $1) RETURNING id",
            alliance,
            body.fair_id,
            body.members_only,
        )
        if row is not None:  # its seekers' schools now count for the school members
            await registry.link_schools(conn, str(body.fair_id))
    if row is None:
        raise Unprocessable("no such fair, or it belongs to another alliance", fields=["fair_id"])
    return reply({"fair_id": str(body.fair_id), "members_only": body.members_only})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/alliances", create_alliance)
    app.router.add_get("/v1/alliances/{alliance}", get_alliance)
    app.router.add_post("/v1/alliances/{alliance}/members", add_member)
    app.router.add_get("/v1/alliances/{alliance}/members", list_members)
    app.router.add_delete("/v1/alliances/{alliance}/members/{member}", leave)
    app.router.add_post("/v1/alliances/{alliance}/fairs", link_fair)
