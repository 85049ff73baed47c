"""Booth visits as leads: a booth scans a badge; one lead per employer and seeker.

The scan is a `booth_visit` event (counted like any other, each scan once); the lead is the
employer's memory of the person: the first scan creates it (201), later scans add to it and
may set notes and a rating (200).
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from fairhub import gate, keys
from fairhub.auth import Principal
from fairhub.events import OCCURRED_AT, Badge, BoothVisit, EventId, Moment, Ref
from fairhub.gateway import privacy
from fairhub.gateway.access import fair_caller
from fairhub.gateway.bodies import page_limit, read_model, reply
from fairhub.gateway.dealings import listed_employer
from fairhub.gateway.errors import Forbidden, Unprocessable
from fairhub.gateway.ingest import take_in

Notes = Annotated[str, StringConstraints(max_length=2000, pattern=r"^[^\x00]*$")]


class LeadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: EventId | None = Field(default=None, description="The scan's id; a retry sends it again.")
    badge: Badge | None = None
    seeker_id: Ref | None = None
    employer_id: Ref | None = Field(default=None, description="Implied by employer tokens.")
    notes: Notes | None = None
    rating: int | None = Field(default=None, ge=1, le=5)
    occurred_at: Moment | None = Field(default=None, description=OCCURRED_AT)

    @model_validator(mode="after")
    def _who(self) -> LeadIn:
        if self.badge is None and self.seeker_id is None:
            raise ValueError("one of badge, seeker_id is required")
        return self


_LEAD_COLUMNS = """
    l.employer_id, l.seeker_id, s.name AS seeker_name, sc.name AS school, s.major,
    l.notes, l.rating, l.scans, l.created_at, l.updated_at
"""
_UPSERT = f"""
WITH lead AS (
    INSERT INTO leads AS l (fair_id, employer_id, seeker_id, first_event_id, notes, rating,
                            created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
    ON CONFLICT (fair_id, employer_id, seeker_id) DO UPDATE
        SET notes = coalesce(excluded.notes, l.notes),
            rating = coalesce(excluded.rating, l.rating),
            -- The worker may have made this lead from this very scan already.
            scans = l.scans + CASE WHEN l.first_event_id = $4 THEN 0 ELSE $8 END,
            updated_at = clock_timestamp()
    RETURNING l.*, (xmax = 0 OR l.first_event_id = $4) AS created
)
SELECT {_LEAD_COLUMNS}, l.created AS created
FROM lead AS l
JOIN seekers AS s ON s.fair_id = l.fair_id AND s.id = l.seeker_id
LEFT JOIN schools AS sc ON sc.fair_id = s.fair_id AND sc.id = s.school_id
"""


async def _employer_of(
    request: web.Request, fair: str, principal: Principal, given: str | None
) -> str:
    """Whose booth this is: the employer token's own, a booth device's, or the one named."""
    if principal.role == "employer":
        if given not in (None, principal.subject_id):
            raise Forbidden(
                "an employer token records leads for itself only", fields=["employer_id"]
            )
        return str(principal.subject_id)
    if principal.role == "device":
        booth = await request.app[keys.DB].fetchval(
            "SELECT employer_id FROM devices WHERE fair_id = $1 AND id = $2",
            fair,
            principal.subject_id,
        )
        if booth is not None:
            if given not in (None, booth):
                raise Forbidden("this scanner belongs to another booth", fields=["employer_id"])
            return str(booth)
    if given is None:
        raise Unprocessable("employer_id is required", fields=["employer_id"])
    exists = await request.app[keys.DB].fetchval(
        "SELECT 1 FROM employers WHERE fair_id = $1 AND id = $2 AND revoked_at IS NULL",
        fair,
        given,
    )
    if exists is None:
        raise Unprocessable("no such employer in this fair", fields=["employer_id"])
    return given


async def post_lead(request: web.Request) -> web.Response:
    """Record a booth scan: 201 with a new lead, 200 when the lead existed."""
    fair, principal = await fair_caller(request, "organizer", "device", "employer")
    body = await read_model(request, LeadIn)
    employer = await _employer_of(request, fair, principal, body.employer_id)
    app = request.app
    [identity] = await gate.identify(
        app[keys.KEYRING], app[keys.DIRECTORY], fair, [(body.badge, body.seeker_id)]
    )
    if identity.denied or identity.card is None:
        reason = identity.reason or "no such seeker in this fair"
        raise Unprocessable(
            reason, fields=["badge" if body.badge else "seeker_id"], code="invalid_badge"
        )
    occurred_at = body.occurred_at or datetime.now(UTC)
    event = BoothVisit(
        type="booth_visit",
        id=body.id or f"lead-{uuid.uuid4()}",
        occurred_at=occurred_at,
        employer_id=employer,
        seeker_id=identity.card.id,
    )
    # The event first: once it is durable the scan counts, whatever happens next; a retry of
    # the same id is a duplicate and does not count the scan on the lead twice.
    intake = await take_in(app, fair, principal, [event])
    result = intake.results[0]
    if result["status"] == "rejected":
        raise Forbidden(str(result["reason"]), fields=["employer_id"])
    new_scan = 1 if result["status"] == "accepted" else 0
    row = await app[keys.DB].fetchrow(
        _UPSERT,
        fair,
        employer,
        identity.card.id,
        event.id,
        body.notes,
        body.rating,
        occurred_at,
        new_scan,
    )
    lead = dict(row)
    created = lead.pop("created")
    return reply(lead, status=201 if created else 200)


async def list_leads(request: web.Request) -> web.Response:
    """An employer's leads, newest first (organizers may ask for any employer's)."""
    fair, principal = await fair_caller(request, "organizer", "employer")
    employer = listed_employer(request, principal)
    await privacy.record(request, principal, fair, "leads_listed", employer)
    limit = page_limit(request.query)
    try:
        after = request.query.get("after")
        cursor = json.loads(base64.urlsafe_b64decode(after)) if after else None
        if cursor is not None:
            cursor = (datetime.fromisoformat(cursor[0]), str(cursor[1]), str(cursor[2]))
    except (ValueError, TypeError, IndexError):
        raise Unprocessable("after is not a cursor from this API", fields=["after"]) from None
    rows = await request.app[keys.DB].fetch(
        f"SELECT {_LEAD_COLUMNS} FROM leads AS l"
        " JOIN seekers AS s ON s.fair_id = l.fair_id AND s.id = l.seeker_id"
        " LEFT JOIN schools AS sc ON sc.fair_id = s.fair_id AND sc.id = s.school_id"
        " WHERE l.fair_id = $1 AND ($2::text IS NULL OR l.employer_id = $2)"
        " AND ($3::timestamptz IS NULL"
        "      OR (l.created_at, l.employer_id, l.seeker_id) < ($3, $4, $5))"
        " ORDER BY l.created_at DESC, l.employer_id DESC, l.seeker_id DESC LIMIT $6",
        fair,
        employer,
        *(cursor or (None, None, None)),
        limit + 1,
    )
    items = [dict(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        raw = json.dumps([last["created_at"].isoformat(), last["employer_id"], last["seeker_id"]])
        next_cursor = base64.urlsafe_b64encode(raw.encode()).decode()
    return reply({"items": items, "next": next_cursor})


def add_routes(app: web.Application) -> None:
    """Register the leads routes."""
    app.router.add_post("/v1/fairs/{fair}/leads", post_lead)
    app.router.add_get("/v1/fairs/{fair}/leads", list_leads)
