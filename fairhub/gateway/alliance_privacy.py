"""Personal data of the training menu's sign-ups: read by who may call them back, erased on
request, and every read and erasure in the alliance's audit log.

A sign-up keeps a name and a phone (or the seeker of one of the alliance's fairs) so that the
institution can call the person back. The secretary and the offering institution (an employer
token of one of the alliance's fairs linked to the institution's member) read an offer's list;
each read is logged first. The secretary erases a person by phone or seeker id: name, phone and
seeker leave the sign-ups, while the figures, which are counters of events keyed by a digest,
stay. A seeker erasing themselves at a fair clears their sign-ups too (erase_seeker.sql).
"""

from __future__ import annotations

import re
import uuid

from aiohttp import web

from fairhub import keys
from fairhub.gateway.alliances import MEMBER_ID, alliance_caller
from fairhub.gateway.bodies import page_limit, reply
from fairhub.gateway.errors import Forbidden, NotFound, Unprocessable
from fairhub.gateway.privacy import audit_page, record_in_alliance
from fairhub.registry import phone_key
from fairhub.sql import query

# A phone as the menu's form takes it (fairhub.events.Phone): digits, spaces, hyphens, a +.
_PHONE = re.compile(r"\+?[0-9 -]{5,20}")
# Each sign-up with the person to call: a seeker's own name and phone when signed in as one.
_SIGNUPS = """
SELECT t.event_id, t.seeker_id, coalesce(t.name, p.name) AS name,
       coalesce(t.phone, p.phone) AS phone, t.created_at AS signed_up_at, t.erased_at
FROM training_signups AS t
LEFT JOIN LATERAL (
    SELECT nullif(s.name, '') AS name, s.phone
    FROM fairs AS f JOIN seekers AS s ON s.fair_id = f.id
    WHERE f.alliance_id = t.alliance_id AND s.id = t.seeker_id
    LIMIT 1
) AS p ON true
WHERE t.alliance_id = $1 AND t.offer_id = $2
  AND ($3::text IS NULL OR (t.created_at, t.event_id) > (
      SELECT created_at, event_id FROM training_signups WHERE alliance_id = $1 AND event_id = $3))
ORDER BY t.created_at, t.event_id
LIMIT $4
"""


async def list_signups(request: web.Request) -> web.Response:
    """An offer's sign-ups with name and phone, for the secretary or the offering institution."""
    alliance, principal = await alliance_caller(request, members=True)
    offer = request.match_info["offer"]
    institution = (
        await request.app[keys.DB].fetchval(
            "SELECT member_id FROM offers WHERE alliance_id = $1 AND id = $2", alliance, offer
        )
        if MEMBER_ID.fullmatch(offer)
        else None
    )
    if institution is None:
        raise NotFound(f"no offer {offer!r} in this alliance", fields=["offer"])
    if principal.role == "employer" and principal.subject_id != institution:
        raise Forbidden(
            "an employer reads the sign-ups of its own member's offers", fields=["Authorization"]
        )
    limit = page_limit(request.query)
    after = request.query.get("after")
    if after is not None and not MEMBER_ID.fullmatch(after):
        raise Unprocessable("after is the `next` of the previous page", fields=["after"])
    await record_in_alliance(request, principal, alliance, "signups_listed", offer)
    rows = await request.app[keys.DB].fetch(_SIGNUPS, alliance, offer, after, limit + 1)
    items = [dict(r) for r in rows[:limit]]
    more = len(rows) > limit
    return reply({"items": items, "next": items[-1]["event_id"] if more else None})


def _person(raw: str) -> tuple[str | None, list[str]]:
    """(phone key, seeker ids) of the {person} path parameter: a seeker id or a phone."""
    try:
        return None, [str(uuid.UUID(raw))]
    except ValueError:
        pass
    key = phone_key(raw) if _PHONE.fullmatch(raw) else ""
    if len(key) < 5:
        raise Unprocessable("person is a phone number or a seeker id", fields=["person"])
    return key, []


async def erase_person(request: web.Request) -> web.Response:
    """The secretary erases a person's sign-ups in the alliance; the figures stay."""
    alliance, principal = await alliance_caller(request)
    key, seekers = _person(request.match_info["person"])
    erased = await request.app[keys.DB].fetch(query("erase_signups"), alliance, key, seekers)
    # The log names the erasure, not the person: the phone is what was erased.
    subject = f"{len(erased)} sign-up(s)"
    await record_in_alliance(request, principal, alliance, "signups_erased", subject)
    return reply({"erased": len(erased)})


async def list_audit(request: web.Request) -> web.Response:
    """The alliance's audit log (sign-ups read and erased), newest first, for its secretary."""
    alliance, _ = await alliance_caller(request)
    return reply(await audit_page(request, "alliance_id", alliance))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/alliances/{alliance}/offers/{offer}/signups", list_signups)
    app.router.add_delete("/v1/alliances/{alliance}/people/{person}", erase_person)
    app.router.add_get("/v1/alliances/{alliance}/audit", list_audit)
