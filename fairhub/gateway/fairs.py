"""Fairs: creation by the admin, and the existence check that ingest uses without Postgres."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Annotated, Literal

from aiohttp import web
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from fairhub import keys
from fairhub.auth import issue, mirror
from fairhub.db import TRANSIENT_ERRORS
from fairhub.events import Moment
from fairhub.gateway.access import caller, fair_caller
from fairhub.gateway.bodies import read_model
from fairhub.gateway.errors import Forbidden, NotFound
from fairhub.keyring import create_key, live_public_keys
from fairhub.layout import ensure_group

# No NUL: Postgres text cannot hold it.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00]*$"),
]
# signup_cap is a Postgres integer: a larger number is refused here, not by the database.
MOST_SIGNUPS = 2**31 - 1


class FairIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    kind: Literal["onsite", "live", "hybrid"]
    starts_at: Moment
    ends_at: Moment = Field(description="After starts_at.")
    venue: Name | None = None
    signup_open: bool = Field(default=True, description="Seekers may sign up on their phones.")
    signup_cap: int | None = Field(
        default=None, ge=0, le=MOST_SIGNUPS, description="At most this many sign-ups."
    )
    resume_retention_days: int = Field(
        default=180,
        ge=0,
        le=36500,
        description="Résumé files are deleted this many days after the fair ends (figures stay).",
    )

    @model_validator(mode="after")
    def _order(self) -> FairIn:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class FairPatch(BaseModel):
    """What an organizer may change; the fields sent change, `signup_cap: null` lifts the cap."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    venue: Name | None = None
    signup_open: bool | None = None
    signup_cap: int | None = Field(default=None, ge=0, le=MOST_SIGNUPS)
    resume_retention_days: int | None = Field(default=None, ge=0, le=36500)

    @field_validator("name", "signup_open", "resume_retention_days")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:  # runs only when sent: defaults are not validated
            raise ValueError("cannot be null")
        return value


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
    signup_open: bool
    signup_cap: int | None
    resume_retention_days: int
    signups: int = Field(description="Seekers who signed up on their phones.")


_FAIR_COLUMNS = (
    "id::text, name, kind, starts_at, ends_at, venue, signup_open, signup_cap,"
    " resume_retention_days,"
    " (SELECT count(*) FROM seekers s WHERE s.fair_id = fairs.id"
    " AND s.signed_up_at IS NOT NULL) AS signups"
)


async def create_fair(request: web.Request) -> web.Response:
    """Register the fair and its stream, then hand out the organizer token once."""
    principal = await caller(request)
    if principal.role != "admin":
        raise Forbidden("only the admin token creates fairs", fields=["Authorization"])
    body = await read_model(request, FairIn)
    fair = str(uuid.uuid4())
    redis = request.app[keys.REDIS]
    # Stream and group first: if Redis is down we fail before writing anything to Postgres.
    await ensure_group(redis, keys.stream(fair))
    await redis.sadd(keys.fairs(fair), fair)
    async with request.app[keys.DB].acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO fairs (id, name, kind, starts_at, ends_at, venue, signup_open,"
            " signup_cap, resume_retention_days) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            fair,
            body.name,
            body.kind,
            body.starts_at,
            body.ends_at,
            body.venue,
            body.signup_open,
            body.signup_cap,
            body.resume_retention_days,
        )
        issued = await issue(conn, "organizer", fair)
        await create_key(conn, fair)
    await mirror(redis, issued.digest, issued.principal)
    await request.app[keys.KEYRING].refresh(fair)
    created = FairCreated(id=fair, organizer_token=issued.token)
    return web.json_response(created.model_dump(), status=201)


async def list_fairs(request: web.Request) -> web.Response:
    """Every fair, newest first: the admin's way back to a fair's dashboard or report."""
    principal = await caller(request)
    if principal.role != "admin":
        raise Forbidden("only the admin token lists fairs", fields=["Authorization"])
    rows = await request.app[keys.DB].fetch(
        f"SELECT {_FAIR_COLUMNS} FROM fairs ORDER BY starts_at DESC, id LIMIT 1000"
    )
    fairs = [FairOut(**dict(row)).model_dump(mode="json") for row in rows]
    return web.json_response({"fairs": fairs})


async def whoami(request: web.Request) -> web.Response:
    """What a token is: a kiosk learns its fair, gate or booth from its token alone."""
    principal = await caller(request)
    answer: dict[str, object] = {
        "role": principal.role,
        "fair_id": principal.fair_id,
        "subject_id": principal.subject_id,
    }
    if principal.role == "device":
        try:
            row = await request.app[keys.DB].fetchrow(
                "SELECT id, label, gate, employer_id FROM devices WHERE fair_id = $1 AND id = $2",
                principal.fair_id,
                principal.subject_id,
            )
        except TRANSIENT_ERRORS:  # Postgres away: the token alone still names the fair
            row = None
        answer["device"] = dict(row) if row else None
    return web.json_response(answer)


async def get_fair(request: web.Request) -> web.Response:
    fair, _ = await fair_caller(request, "organizer", "device", "employer", "host")
    row = await request.app[keys.DB].fetchrow(
        f"SELECT {_FAIR_COLUMNS} FROM fairs WHERE id = $1", fair
    )
    if row is None:
        raise NotFound(f"no fair {fair}", fields=["fair"])
    return web.json_response(FairOut(**dict(row)).model_dump(mode="json"))


async def update_fair(request: web.Request) -> web.Response:
    """Change the fields sent: the name, the venue, whether and how many may sign up."""
    fair, _ = await fair_caller(request, "organizer")
    changes = (await read_model(request, FairPatch)).model_dump(exclude_unset=True)
    db = request.app[keys.DB]
    if changes:
        names = list(changes)
        sets = ", ".join(f"{name} = ${n + 2}" for n, name in enumerate(names))
        await db.execute(f"UPDATE fairs SET {sets} WHERE id = $1", fair, *changes.values())
    row = await db.fetchrow(f"SELECT {_FAIR_COLUMNS} FROM fairs WHERE id = $1", fair)
    if row is None:
        raise NotFound(f"no fair {fair}", fields=["fair"])
    return web.json_response(FairOut(**dict(row)).model_dump(mode="json"))


async def require_fair(app: web.Application, fair: str) -> None:
    """404 unless the fair exists; asks Redis so that ingest needs no Postgres."""
    if not await app[keys.REDIS].sismember(keys.fairs(fair), fair):
        raise NotFound(f"no fair {fair}", fields=["fair"])


async def get_keys(request: web.Request) -> web.Response:
    """The public keys that verify the fair's badges, for kiosks that must work offline."""
    fair, _ = await fair_caller(request, "organizer", "device", "employer", "host")
    try:
        rows = [
            (r["kid"], bytes(r["public_key"]), r["created_at"].isoformat())
            for r in await live_public_keys(request.app[keys.DB], fair)
        ]
    except TRANSIENT_ERRORS:  # Postgres away: the gateways' copy in Redis, so kiosks can start
        found = await request.app[keys.KEYRING].public_keys(fair)
        rows = [(kid, key, None) for kid, key in found.items()]
    return web.json_response(
        {
            "fair": fair,
            "badge_prefix": "FH1",
            "keys": [
                {
                    "kid": kid,
                    "alg": "Ed25519",
                    "public_key": base64.urlsafe_b64encode(key).decode(),
                    "created_at": created_at,
                }
                for kid, key, created_at in rows
            ],
        }
    )


async def rotate_key(request: web.Request) -> web.Response:
    """A new signing key; badges signed by the older keys stay valid until those are retired."""
    fair, _ = await fair_caller(request, "organizer")
    async with request.app[keys.DB].acquire() as conn, conn.transaction():
        # Only the admin token reaches a fair that may not exist: 404, not a foreign-key 500.
        if not await conn.fetchval("SELECT true FROM fairs WHERE id = $1 FOR SHARE", fair):
            raise NotFound(f"no fair {fair}", fields=["fair"])
        key = await create_key(conn, fair)
    await request.app[keys.KEYRING].refresh(fair)
    return web.json_response({"kid": key.kid}, status=201)


async def retire_key(request: web.Request) -> web.Response:
    """Retire a key: every badge it signed is refused from now on (a leaked key)."""
    fair, _ = await fair_caller(request, "organizer")
    kid = request.match_info["kid"]
    done = await request.app[keys.DB].fetchval(
        "UPDATE fair_keys SET retired_at = now()"
        " WHERE fair_id = $1 AND kid = $2 AND retired_at IS NULL RETURNING kid",
        fair,
        kid,
    )
    if done is None:
        raise NotFound(f"no live key {kid!r} in this fair", fields=["kid"])
    await request.app[keys.KEYRING].refresh(fair)
    return web.json_response({"kid": kid, "retired": True})
