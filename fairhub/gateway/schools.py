"""The schools of a fair and the alliance members they are: listed, and linked by hand.

Schools are created by name as seekers name them (fairhub/registry.py), and a school of an
alliance's fair is linked to the school member of the same name on its own. Names differ in
practice (常州大学 / 常州大学武进校区), so the fair's organizer or the alliance's secretary
links the others here; the member's figures then add up across the alliance's fairs.
"""

from __future__ import annotations

from datetime import date

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from fairhub import alliances, keys
from fairhub.auth import Principal
from fairhub.events import Ref
from fairhub.gateway.access import caller, fair_id
from fairhub.gateway.alliances import MEMBER_ID
from fairhub.gateway.bodies import read_model, reply
from fairhub.gateway.errors import Forbidden, NotFound, Unprocessable
from fairhub.registry import SCHOOL_KINDS


class SchoolLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: Ref | None = Field(
        description="A school, technical or vocational school member of the fair's alliance,"
        " current on the fair's first day; null unlinks."
    )


_COLUMNS = (
    "s.id, s.name, s.member_id, m.name AS member_name, m.kind AS member_kind"
    " FROM schools s LEFT JOIN fairs f ON f.id = s.fair_id"
    " LEFT JOIN alliance_members m ON m.alliance_id = f.alliance_id AND m.id = s.member_id"
)


async def _fair_caller(request: web.Request) -> tuple[str, asyncpg.Record]:
    """The fair, and its alliance and first day; its organizer, its alliance's secretary or the
    admin calling."""
    fair = fair_id(request)
    principal: Principal = await caller(request)
    row = await request.app[keys.DB].fetchrow(
        "SELECT alliance_id::text AS alliance_id, starts_at::date AS day FROM fairs WHERE id = $1",
        fair,
    )
    if principal.role == "secretary":
        allowed = row is not None and principal.fair_id == row["alliance_id"]
    else:
        allowed = principal.role in ("admin", "organizer") and principal.may_act_on(fair)
    if not allowed:
        raise Forbidden(
            "the fair's organizer or its alliance's secretary links schools",
            fields=["Authorization"],
        )
    if row is None:
        raise NotFound(f"no fair {fair}", fields=["fair"])
    return fair, row


async def list_schools(request: web.Request) -> web.Response:
    """The fair's schools with the alliance member each is (null where none)."""
    fair, _ = await _fair_caller(request)
    rows = await request.app[keys.DB].fetch(
        f"SELECT {_COLUMNS} WHERE s.fair_id = $1 ORDER BY s.name", fair
    )
    return reply({"items": [dict(r) for r in rows]})


def _member_problem(found: asyncpg.Record | None, day: date) -> str | None:
    problem = alliances.member_problem(found, day)
    if problem is None and found is not None and found["kind"] not in SCHOOL_KINDS:
        return f"{found['name']} is a {found['kind']}, not a school"
    return problem


async def link_school(request: web.Request) -> web.Response:
    """Link a school to a school member of the fair's alliance (or unlink it with null)."""
    fair, row = await _fair_caller(request)
    school = request.match_info["school"]
    if not MEMBER_ID.fullmatch(school):
        raise NotFound(f"no school {school!r} in this fair", fields=["school"])
    body = await read_model(request, SchoolLinkIn)
    async with request.app[keys.DB].acquire() as conn:
        if body.member_id is not None:
            if row["alliance_id"] is None:
                raise Unprocessable("this fair belongs to no alliance", fields=["member_id"])
            found = await alliances.members(conn, row["alliance_id"], {body.member_id})
            problem = _member_problem(found.get(body.member_id), row["day"])
            if problem is not None:
                raise Unprocessable(problem, fields=["member_id"])
        done = await conn.fetchval(
            "UPDATE schools SET member_id = $3 WHERE fair_id = $1 AND id = $2 RETURNING id",
            fair,
            school,
            body.member_id,
        )
        if done is None:
            raise NotFound(f"no school {school!r} in this fair", fields=["school"])
        linked = await conn.fetchrow(
            f"SELECT {_COLUMNS} WHERE s.fair_id = $1 AND s.id = $2", fair, school
        )
    return reply(dict(linked))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/fairs/{fair}/schools", list_schools)
    app.router.add_put("/v1/fairs/{fair}/schools/{school}", link_school)
