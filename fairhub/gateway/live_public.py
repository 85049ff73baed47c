"""What a livestream's viewer page calls, without a login: the session, presence, questions.

A viewer is a random id their browser keeps. Presence goes through the same intake as every
event (joins and leaves into the stream, beats into Redis only); a question becomes a
`consultation` event for the session, which the workers put into the host's queue.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints

from fairhub import gate, keys
from fairhub.events import Badge, Consultation, EventId, LiveJoin, LiveLeave, Ref
from fairhub.gateway.bodies import read_model, reply
from fairhub.gateway.errors import NotFound, Unprocessable
from fairhub.gateway.ingest import admit
from fairhub.gateway.live import load_session, session_parts, status_of
from fairhub.live import Mark

# The viewer page of a popular stream is asked for thousands of times a second: each gateway
# reads a session from Postgres at most once per this many seconds.
CACHE_SECONDS = 1.0


class PresenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    viewer_id: Ref
    kind: Literal["join", "beat", "leave"]
    id: EventId | None = None  # a join's id makes a retried join one view


class QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: EventId
    viewer_id: Ref
    employer_id: Ref
    position_id: Ref | None = None  # asked from a position's row: the question is about it
    question: Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=r"^[^\x00]*$")]
    badge: Badge | None = None


async def fair_of(app: web.Application, session: str) -> str:
    """The fair a session belongs to (the page's address names the session only).

    Kept in the process once known: a session never changes fairs, and a crowd of viewers
    arriving at once then asks Redis nothing.
    """
    known = app[keys.SESSION_FAIRS]
    found = known.get(session)
    if found is not None:
        return found
    fair = await _fair_of(app, session)
    if len(known) > 100_000:
        known.clear()
    known[session] = fair
    return fair


async def _fair_of(app: web.Application, session: str) -> str:
    fair = await app[keys.REDIS].hget(keys.live_sessions(session), session)
    if fair is None:
        fair = await app[keys.DB].fetchval(
            "SELECT fair_id::text FROM live_sessions WHERE id = $1", session
        )
        if fair is None:
            raise NotFound(f"no live session {session}", fields=["session"])
        await app[keys.REDIS].hset(keys.live_sessions(session), session, fair)
    return fair if isinstance(fair, str) else fair.decode()


async def viewer_view(app: web.Application, session: str, fresh: bool = False) -> dict[str, Any]:
    """The session as its viewers see it: title, status, the pinned position, the positions.

    Read from Postgres at most once a second per gateway, or now when `fresh`.
    """
    cache = app[keys.VIEWER_VIEWS]
    cached = cache.get(session)
    if not fresh and cached is not None and cached[0] > time.monotonic():
        return cached[1]
    fair = await fair_of(app, session)
    db = app[keys.DB]
    row = await load_session(db, fair, session)
    positions, employers, pins = await session_parts(db, fair, row)
    pinned_id = next((p["position_id"] for p in pins if p["unpinned_at"] is None), None)
    view = {
        "id": session,
        "fair_id": fair,
        "title": row["title"],
        "platform": row["platform"],
        "stream_url": row["stream_url"],
        "status": status_of(row),
        "pinned": next((p for p in positions if p["id"] == pinned_id), None),
        "employers": employers,
        "positions": positions,
        "beat_seconds": app[keys.SETTINGS].live_beat_seconds,
    }
    if len(cache) > 10_000:
        cache.clear()
    cache[session] = (time.monotonic() + CACHE_SECONDS, view)
    return view


async def get_view(request: web.Request) -> web.Response:
    return reply(await viewer_view(request.app, request.match_info["session"]))


async def post_presence(request: web.Request) -> web.Response:
    """join (a view), beat (still watching), leave; answers what is pinned now."""
    session = request.match_info["session"]
    view = await viewer_view(request.app, session)
    body = await read_model(request, PresenceIn)
    # After the end, joins and beats no longer count; a leave still clears the viewer.
    if body.kind == "beat" and view["status"] != "ended":
        # The hot path (every viewer, every 30 s): presence only, no event, no model.
        await request.app[keys.PRESENCE].record(
            view["fair_id"], [Mark(session, body.viewer_id, present=True)]
        )
    elif view["status"] != "ended" or body.kind == "leave":
        fields: dict[str, Any] = {
            "id": body.id or f"{body.kind}-{uuid.uuid4().hex}",
            "occurred_at": datetime.now(UTC),
            "session_id": session,
            "viewer_id": body.viewer_id,
        }
        event: LiveJoin | LiveLeave = (
            LiveJoin(type="live_join", **fields)
            if body.kind == "join"
            else LiveLeave(type="live_leave", **fields)
        )
        await admit(request.app, view["fair_id"], [event])
    pinned = view["pinned"]
    return reply(
        {
            "status": view["status"],
            "pinned_position_id": pinned["id"] if pinned else None,
            "beat_seconds": view["beat_seconds"],
        }
    )


async def post_question(request: web.Request) -> web.Response:
    """A viewer asks one of the session's employers; it joins the host's queue."""
    session = request.match_info["session"]
    view = await viewer_view(request.app, session)
    body = await read_model(request, QuestionIn)
    if body.employer_id not in {e["id"] for e in view["employers"]}:
        raise Unprocessable("that employer is not in this session", fields=["employer_id"])
    if body.position_id is not None and not any(
        p["id"] == body.position_id and p["employer_id"] == body.employer_id
        for p in view["positions"]
    ):
        raise Unprocessable(
            "that position is not one of this employer's in the session", fields=["position_id"]
        )
    fair = view["fair_id"]
    seeker_id = None
    if body.badge:
        [identity] = await gate.identify(
            request.app[keys.KEYRING], request.app[keys.DIRECTORY], fair, [(body.badge, None)]
        )
        if identity.denied:
            raise Unprocessable(f"badge: {identity.reason}", fields=["badge"])
        seeker_id = identity.seeker_id
    event = Consultation(
        id=body.id,
        type="consultation",
        occurred_at=datetime.now(UTC),
        employer_id=body.employer_id,
        position_id=body.position_id,
        session_id=session,
        viewer_id=body.viewer_id,
        seeker_id=seeker_id,
        topic=body.question,
    )
    intake = await admit(request.app, fair, [event])
    result = intake.results[0]
    return reply({"id": body.id, "status": result["status"]}, status=202)


def add_routes(app: web.Application) -> None:
    """The public calls of a session's viewer page (the page itself is in live_pages)."""
    app.router.add_get("/live/{session}.json", get_view)
    app.router.add_post("/live/{session}/presence", post_presence)
    app.router.add_post("/live/{session}/questions", post_question)
