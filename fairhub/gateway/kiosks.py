"""How the fair's kiosks are doing: each one's beat (its queue length), read by the organizer.

A kiosk that is offline queues scans and uploads them later; the organizer walking the venue
wants to know which kiosk has a queue and which has not been heard from. Each kiosk posts a
small beat with its queue length; the organizer's list joins that with what its scans say
(last contact, scans that arrived late) and with a pending enrolment, if any.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from fairhub import keys
from fairhub.events import Count
from fairhub.gateway.access import fair_caller
from fairhub.gateway.bodies import read_model, reply
from fairhub.gateway.errors import Forbidden, NotFound
from fairhub.gateway.registry import LATE_SECONDS
from fairhub.sql import query as sql_query


class BeatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    queued: Count = Field(ge=0, le=10_000_000, description="Scans waiting in the kiosk's queue.")


async def beat(request: web.Request) -> web.Response:
    """A kiosk says it is alive and how many scans it still has to upload (device token)."""
    fair, principal = await fair_caller(request, "device")
    if principal.role != "device":
        raise Forbidden("only a kiosk's device token sends a beat", fields=["Authorization"])
    body = await read_model(request, BeatIn)
    at = await request.app[keys.DB].fetchval(
        "UPDATE devices SET queued = $3, beat_at = clock_timestamp()"
        " WHERE fair_id = $1 AND id = $2 RETURNING beat_at",
        fair,
        principal.subject_id,
        body.queued,
    )
    if at is None:
        raise NotFound("this token's device is gone", fields=["Authorization"])
    return reply({"device": principal.subject_id, "queued": body.queued, "beat_at": at})


async def list_kiosks(request: web.Request) -> web.Response:
    """Every live device with its last contact, queue, late scans and pending enrolment."""
    fair, _ = await fair_caller(request, "organizer")
    db = request.app[keys.DB]
    rows = await db.fetch(
        "SELECT d.id, d.label, d.gate, d.employer_id, e.name AS employer_name, d.queued,"
        " d.beat_at, d.enrolled_at, d.created_at,"
        " (SELECT max(n.expires_at) FROM enrolments n WHERE n.fair_id = d.fair_id"
        "  AND n.device_id = d.id AND n.used_at IS NULL AND n.expires_at > clock_timestamp())"
        "  AS enrolment_expires_at"
        " FROM devices d LEFT JOIN employers e ON e.fair_id = d.fair_id AND e.id = d.employer_id"
        " WHERE d.fair_id = $1 AND d.revoked_at IS NULL ORDER BY d.created_at, d.id LIMIT 1000",
        fair,
    )
    items = [dict(r) for r in rows]
    contact = await db.fetch(
        sql_query("device_contact"), fair, [d["id"] for d in items], LATE_SECONDS
    )
    found = {r["device_id"]: r for r in contact}
    for item in items:
        _add_contact(item, found.get(item["id"]))
    return reply({"items": items})


def _add_contact(item: dict[str, Any], scans: Any) -> None:
    """The last time the kiosk was heard from: its last beat or its last scan, the later."""
    seen = [t for t in (item["beat_at"], scans["last_contact_at"] if scans else None) if t]
    item["last_contact_at"] = max(seen) if seen else None
    item["scans"] = scans["scans"] if scans else 0
    item["late_scans"] = scans["late_scans"] if scans else 0


def add_routes(app: web.Application) -> None:
    """Register the kiosks' beat and the organizer's list."""
    app.router.add_post("/v1/fairs/{fair}/beat", beat)
    app.router.add_get("/v1/fairs/{fair}/kiosks", list_kiosks)
