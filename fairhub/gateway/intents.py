"""Preliminary employment intents.

An intent is a row and an `intent_agreed` event whose id is the intent's id, so a retried
POST with the same id finds its row, appends the same event again and is counted once.
"""

from __future__ import annotations

import uuid

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from fairhub import keys, registry
from fairhub.events import Badge, EventId, IntentAgreed, Ref
from fairhub.gateway import privacy
from fairhub.gateway.access import fair_caller
from fairhub.gateway.bodies import read_model, reply
from fairhub.gateway.dealings import check_target, emit, listed_employer, page, seeker_of
from fairhub.gateway.errors import Conflict, Forbidden, Unprocessable


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
    employer = listed_employer(request, principal)
    await privacy.record(request, principal, fair, "intents_listed", employer)
    return reply(await page(request, _LIST_SQL, "i", fair, employer))


def add_routes(app: web.Application) -> None:
    """Register the intent routes."""
    app.router.add_post("/v1/fairs/{fair}/intents", create_intent)
    app.router.add_get("/v1/fairs/{fair}/intents", list_intents)
