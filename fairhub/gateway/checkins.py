"""POST /v1/fairs/{fair}/checkins: the kiosk's call, a verdict at once for the person in front.

The scan becomes a check-in event like any other (denied ones too); the verdict comes from
public keys in memory and the seeker directory and entry register in Redis, so the gate keeps
working while Postgres is away. The same id again returns the first verdict (a kiosk's retry).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fairhub.events import OCCURRED_AT, Badge, Checkin, EventId, Label, Moment, describe
from fairhub.gateway.access import fair_caller
from fairhub.gateway.bodies import read_json, reply, validated
from fairhub.gateway.errors import Conflict, Unprocessable
from fairhub.gateway.ingest import take_in_checkin


class CheckinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: EventId
    badge: Badge
    gate: Label | None = None
    occurred_at: Moment | None = Field(default=None, description=OCCURRED_AT)


class CheckinAnswer(BaseModel):
    verdict: str
    seeker: dict[str, str] | None = None
    first_seen_at: str | None = None
    duplicate: bool = False
    reason: str | None = None


async def post_checkin(request: web.Request) -> web.Response:
    """Admit, re-admit or refuse a scanned badge, and record the scan."""
    fair, principal = await fair_caller(request, "organizer", "device")
    event = _event(await read_json(request))
    result = await take_in_checkin(request.app, fair, principal, event)
    if result["status"] == "rejected":
        raise Unprocessable(str(result["reason"]), fields=["badge"])
    verdict = result.get("verdict")
    if verdict is None:
        raise Conflict("this id was already used by an event that is not a check-in", fields=["id"])
    answer: dict[str, Any] = {"verdict": verdict, "duplicate": result["status"] == "duplicate"}
    if "seeker" in result and verdict in ("admitted", "reentry"):
        answer["seeker"] = result["seeker"]
    elif result.get("reason"):
        answer["reason"] = result["reason"]
    if result.get("first_seen_at"):
        answer["first_seen_at"] = result["first_seen_at"]
    return reply(answer)


_FIELDS = frozenset(CheckinIn.model_fields)


def _event(data: Any) -> Checkin:
    """The body as the check-in event, validated once: a good body (nearly every scan) goes
    straight into the event model; any other is read as CheckinIn, whose 422 names each wrong
    field as the schema has them (a check-in by seeker id is the events API's, not this)."""
    if isinstance(data, dict) and data.keys() <= _FIELDS:
        fields = {**data, "type": "checkin"}
        if fields.get("occurred_at") is None:
            fields["occurred_at"] = datetime.now(UTC)
        try:
            return Checkin.model_validate(fields)
        except ValidationError:
            pass  # said below, in the body's own terms
    body = validated(CheckinIn, data)
    try:
        return Checkin(
            type="checkin",
            id=body.id,
            badge=body.badge,
            gate=body.gate,
            occurred_at=body.occurred_at or datetime.now(UTC),
        )
    except ValidationError as exc:
        raise Unprocessable(describe(exc), fields=["occurred_at"]) from None
