"""Preliminary employment intents, and the helpers résumés share with them.

An intent is a row and an `intent_agreed` event whose id is the intent's id, so a retried
POST with the same id finds its row, appends the same event again and is counted once.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict

from fairhub import gate, keys, registry
from fairhub.auth import Principal
from fairhub.events import Badge, Event, EventId, IntentAgreed, Ref
from fairhub.gateway.access import fair_caller
from fairhub.gateway.bodies import read_model, reply
from fairhub.gateway.errors import Conflict, Forbidden, Unauthorized, Unprocessable
from fairhub.gateway.ingest import take_in

log = logging.getLogger(__name__)


async def seeker_of(
    app: web.Application, fair: str, badge: str | None, seeker_id: str | None
) -> str:
    """The seeker a badge proves (a forged one is 401), or a live seeker the caller named."""
    if badge:
        [identity] = await gate.identify(
            app[keys.KEYRING], app[keys.DIRECTORY], fair, [(badge, None)]
        )
        reason = identity.reason or "the badge is not valid"
        if identity.denied == "invalid_badge":
            raise Unauthorized(reason, fields=["badge"], code="invalid_badge")
        if identity.denied or identity.seeker_id is None:
            raise Forbidden(reason, fields=["badge"], code=identity.denied or "invalid_badge")
        return identity.seeker_id
    if seeker_id is None:
        raise Unprocessable("send badge or seeker_id", fields=["badge", "seeker_id"])
    card = (await app[keys.DIRECTORY].cards(fair, [seeker_id])).get(seeker_id)
    if card is None or card.revoked:
        raise Unprocessable("no such seeker in this fair", fields=["seeker_id"])
    return seeker_id


async def check_target(
    conn: asyncpg.Connection, fair: str, employer_id: str, position_id: str | None
) -> None:
    """The employer is live and the position, if named, is one of its live positions."""
    if not await registry.live_employers(conn, fair, {employer_id}):
        raise Unprocessable("no such employer in this fair", fields=["employer_id"])
    if position_id is not None and not await conn.fetchval(
        "SELECT 1 FROM positions WHERE fair_id = $1 AND id = $2 AND employer_id = $3"
        " AND revoked_at IS NULL",
        fair,
        position_id,
        employer_id,
    ):
        raise Unprocessable("no such position of this employer", fields=["position_id"])


async def emit(app: web.Application, fair: str, principal: Principal, event: Event) -> str:
    """Append one server-built event durably (503 if not); accepted or duplicate."""
    intake = await take_in(app, fair, principal, [event])
    result = intake.results[0]
    if result["status"] == "rejected":
        log.error("%s event %s refused: %s", event.type, event.id, result.get("reason"))
        raise Unprocessable(f"the event was refused: {result.get('reason')}", code="not_counted")
    return str(result["status"])


def _cursor(row: dict[str, Any]) -> str:
    value = json.dumps([row["created_at"].isoformat(), row["id"]])
    return base64.urlsafe_b64encode(value.encode()).decode()


async def page(
    request: web.Request, select: str, alias: str, fair: str, employer: str | None
) -> dict[str, Any]:
    """A page of the fair's rows in creation order (one employer's if named), as the registry."""
    query = request.query
    try:
        limit = int(query.get("limit", "100"))
    except ValueError:
        raise Unprocessable("limit must be a number", fields=["limit"]) from None
    if not 1 <= limit <= 1000:
        raise Unprocessable("limit must be between 1 and 1000", fields=["limit"])
    where: list[str] = [f"{alias}.fair_id = $1"]
    args: list[Any] = [fair]
    if employer is not None:
        args.append(employer)
        where.append(f"{alias}.employer_id = ${len(args)}")
    if "after" in query:
        try:
            after_at, after_id = json.loads(base64.urlsafe_b64decode(query["after"]))
            args += [datetime.fromisoformat(after_at), str(after_id)]
        except (ValueError, TypeError):
            raise Unprocessable("after is not a cursor from this API", fields=["after"]) from None
        where.append(f"({alias}.created_at, {alias}.id) > (${len(args) - 1}, ${len(args)})")
    rows = await request.app[keys.DB].fetch(
        f"{select} WHERE {' AND '.join(where)}"
        f" ORDER BY {alias}.created_at, {alias}.id LIMIT {limit + 1}",
        *args,
    )
    items = [dict(r) for r in rows[:limit]]
    return {"items": items, "next": _cursor(items[-1]) if len(rows) > limit else None}


class IntentIn(BaseModel):
    """An intent; `id` is the client's idempotency key and the event's id."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: EventId | None = None
    seeker_id: Ref | None = None
    badge: Badge | None = None
    employer_id: Ref | None = None
    position_id: Ref | None = None
    note: registry.LongText | None = None


async def create_intent(request: web.Request) -> web.Response:
    """Record an intent between a seeker and an employer; a retry with the same id is one."""
    fair, principal = await fair_caller(request, "organizer", "employer")
    body = await read_model(request, IntentIn)
    employer_id = body.employer_id
    if principal.role == "employer":
        if employer_id not in (None, principal.subject_id):
            raise Forbidden("an employer token speaks for its own employer", fields=["employer_id"])
        employer_id = principal.subject_id
    if employer_id is None:
        raise Unprocessable("employer_id is required", fields=["employer_id"])
    app = request.app
    seeker = await seeker_of(app, fair, body.badge, body.seeker_id)
    intent_id = body.id or str(uuid.uuid4())
    async with app[keys.DB].acquire() as conn, conn.transaction():
        await check_target(conn, fair, employer_id, body.position_id)
        row = await conn.fetchrow(
            "INSERT INTO intents (fair_id, id, seeker_id, employer_id, position_id, note)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (fair_id, id) DO NOTHING RETURNING *",
            fair,
            intent_id,
            seeker,
            employer_id,
            body.position_id,
            body.note,
        )
        created = row is not None
        if row is None:
            row = await conn.fetchrow(
                "SELECT * FROM intents WHERE fair_id = $1 AND id = $2", fair, intent_id
            )
            if (row["seeker_id"], row["employer_id"]) != (seeker, employer_id):
                raise Conflict("this id was used for another intent", fields=["id"])
    event = IntentAgreed(
        type="intent_agreed",
        id=intent_id,
        occurred_at=row["created_at"],
        seeker_id=row["seeker_id"],
        employer_id=row["employer_id"],
        position_id=row["position_id"],
    )
    await emit(app, fair, principal, event)
    return reply({"id": intent_id}, status=201 if created else 200)


_LIST_SQL = """
SELECT i.id, i.seeker_id, s.name AS seeker_name, sc.name AS school,
       i.employer_id, e.name AS employer_name, i.position_id, p.title AS position_title,
       i.note, i.created_at
FROM intents i
JOIN seekers s ON s.fair_id = i.fair_id AND s.id = i.seeker_id
LEFT JOIN schools sc ON sc.fair_id = s.fair_id AND sc.id = s.school_id
JOIN employers e ON e.fair_id = i.fair_id AND e.id = i.employer_id
LEFT JOIN positions p ON p.fair_id = i.fair_id AND p.id = i.position_id
"""


async def list_intents(request: web.Request) -> web.Response:
    """The organizer sees every intent (or one employer's); an employer sees its own."""
    fair, principal = await fair_caller(request, "organizer", "employer")
    employer = request.query.get("employer_id")
    if principal.role == "employer":
        employer = principal.subject_id or ""
    return reply(await page(request, _LIST_SQL, "i", fair, employer))


def add_routes(app: web.Application) -> None:
    """Register the intent routes."""
    app.router.add_post("/v1/fairs/{fair}/intents", create_intent)
    app.router.add_get("/v1/fairs/{fair}/intents", list_intents)
