"""What a livestream's viewer page calls, without a login: the session, presence, questions.

A viewer is an id the server issued and signed (fairhub.viewer_ids) and their browser keeps;
presence and questions refuse any other, and issuing is limited per client address, so one
machine cannot mint an audience. Joins and questions have their own limits (fairhub.limits):
past one, a 429 and nothing counted. Presence goes through the same intake as every
event (joins and leaves into the stream, beats into Redis only); a question becomes a
`consultation` event for the session, which the workers put into the host's queue.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from fairhub import gate, keys, viewer_ids
from fairhub.events import Badge, Consultation, EventId, LiveJoin, LiveLeave, Ref
from fairhub.gateway.bodies import read_model, reply
from fairhub.gateway.errors import Forbidden, NotFound, Unprocessable
from fairhub.gateway.ingest import admit
from fairhub.gateway.live import load_session, session_parts, status_of
from fairhub.limits import Limit, client_address, enforce
from fairhub.live import Mark

# The viewer page of a popular stream is asked for thousands of times a second: each gateway
# reads a session from Postgres at most once per this many seconds.
CACHE_SECONDS = 1.0


class ViewerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    viewer_id: Annotated[str, StringConstraints(max_length=64)] | None = None  # kept, to check


class ViewerOut(BaseModel):
    viewer_id: Ref = Field(description="Signed by the server; send it with presence and questions.")
    issued: bool = Field(description="True when new (the one sent was missing or not genuine).")


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


async def post_viewer(request: web.Request) -> web.Response:
    """The viewer id a page keeps: the one it sent if genuine (200), else a new one (201),
    at most `live_new_viewers_per_address` per period from one address (429 past that)."""
    view = await viewer_view(request.app, request.match_info["session"])
    body = await read_model(request, ViewerIn)
    fair, key = view["fair_id"], viewer_ids.key_of(request.app[keys.SETTINGS])
    if body.viewer_id is not None and viewer_ids.genuine(key, fair, body.viewer_id):
        return reply(ViewerOut(viewer_id=body.viewer_id, issued=False).model_dump())
    settings = request.app[keys.SETTINGS]
    per_address = Limit(
        "new-viewer",
        client_address(request),
        settings.live_new_viewers_per_address,
        settings.live_new_viewers_seconds,
    )
    await enforce(request, fair, "new_viewer", [per_address])
    answer = ViewerOut(viewer_id=viewer_ids.issue(key, fair), issued=True)
    return reply(answer.model_dump(), status=201)


def _genuine(request: web.Request, fair: str, viewer_id: str) -> None:
    """403 naming viewer_id unless the server issued it for this fair."""
    if not viewer_ids.genuine(viewer_ids.key_of(request.app[keys.SETTINGS]), fair, viewer_id):
        raise Forbidden(
            "viewer_id was not issued by this server for this fair:"
            " ask POST /live/{session}/viewer for one",
            fields=["viewer_id"],
            code="viewer_id_not_issued",
        )


async def post_presence(request: web.Request) -> web.Response:
    """join (a view), beat (still watching), leave; answers what is pinned now."""
    session = request.match_info["session"]
    view = await viewer_view(request.app, session)
    body = await read_model(request, PresenceIn)
    _genuine(request, view["fair_id"], body.viewer_id)
    if body.kind == "join" and view["status"] != "ended":
        # A join is a view: one viewer reloading in a loop must not make a crowd of views.
        # Beats and leaves need no limit: they cannot add a viewer the server did not issue.
        settings = request.app[keys.SETTINGS]
        joins = Limit(
            "join-viewer",
            body.viewer_id,
            settings.live_joins_per_viewer,
            settings.live_joins_seconds,
        )
        await enforce(request, view["fair_id"], "live_join", [joins])
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
    _genuine(request, fair, body.viewer_id)
    settings = request.app[keys.SETTINGS]
    per = settings.live_questions_seconds
    await enforce(
        request,
        fair,
        "question",
        [
            Limit("question-viewer", body.viewer_id, settings.live_questions_per_viewer, per),
            Limit(
                "question-address",
                client_address(request),
                settings.live_questions_per_address,
                per,
            ),
        ],
    )
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
    app.router.add_post("/live/{session}/viewer", post_viewer)
    app.router.add_post("/live/{session}/presence", post_presence)
    app.router.add_post("/live/{session}/questions", post_question)
