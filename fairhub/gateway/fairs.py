"""Fairs: creation by the admin, and the existence check that ingest uses without Postgres."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints, model_validator

from fairhub import keys
from fairhub.auth import issue, mirror
from fairhub.gateway.access import caller, fair_caller
from fairhub.gateway.bodies import read_model
from fairhub.gateway.errors import Forbidden, NotFound

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class FairIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    kind: Literal["onsite", "live", "hybrid"]
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    venue: Name | None = None

    @model_validator(mode="after")
    def _order(self) -> FairIn:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class FairCreated(BaseModel):
    id: str
    organizer_token: str


class FairOut(BaseModel):
    id: str
    name: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    venue: str | None


async def create_fair(request: web.Request) -> web.Response:
    """Register the fair and its stream, then hand out the organizer token once."""
    principal = await caller(request)
    if principal.role != "admin":
        raise Forbidden("only the admin token creates fairs", fields=["Authorization"])
    body = await read_model(request, FairIn)
    fair = str(uuid.uuid4())
    redis = request.app[keys.REDIS]
    # Stream and group first: if Redis is down we fail before writing anything to Postgres.
    await redis.xgroup_create(keys.stream(fair), keys.GROUP, id="0", mkstream=True)
    await redis.sadd(keys.FAIRS, fair)
    async with request.app[keys.DB].acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO fairs (id, name, kind, starts_at, ends_at, venue)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            fair,
            body.name,
            body.kind,
            body.starts_at,
            body.ends_at,
            body.venue,
        )
        issued = await issue(conn, "organizer", fair)
    await mirror(redis, issued.digest, issued.principal)
    created = FairCreated(id=fair, organizer_token=issued.token)
    return web.json_response(created.model_dump(), status=201)


async def get_fair(request: web.Request) -> web.Response:
    fair, _ = await fair_caller(request, "organizer", "device", "employer", "host")
    row = await request.app[keys.DB].fetchrow(
        "SELECT id::text, name, kind, starts_at, ends_at, venue FROM fairs WHERE id = $1", fair
    )
    if row is None:
        raise NotFound(f"no fair {fair}", fields=["fair"])
    return web.json_response(FairOut(**dict(row)).model_dump(mode="json"))


async def require_fair(app: web.Application, fair: str) -> None:
    """404 unless the fair exists; asks Redis so that ingest needs no Postgres."""
    if not await app[keys.REDIS].sismember(keys.FAIRS, fair):
        raise NotFound(f"no fair {fair}", fields=["fair"])
