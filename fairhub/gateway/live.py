"""Livestream sessions: the organizer creates them, the host runs them (start, pin, stop).

A session is one stream for several employers. Its host token acts on that session only.
Pinning puts one position on show; a new pin ends the previous one at the same instant, so
every moment of the stream belongs to at most one position and the workers can attribute each
event to the pin in force at its occurred_at.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints
from redis.exceptions import RedisError

from fairhub import keys
from fairhub.auth import Principal, issue, mirror
from fairhub.events import Moment, Ref
from fairhub.gateway.access import fair_caller
from fairhub.gateway.bodies import read_model, reply
from fairhub.gateway.errors import Conflict, Forbidden, NotFound, Unprocessable
from fairhub.gateway.public import public_base
from fairhub.live import Audience
from fairhub.sql import query

log = logging.getLogger(__name__)
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text
    employer_ids: list[Ref] = Field(min_length=1, max_length=200)
    position_ids: list[Ref] | None = Field(default=None, max_length=5000)
    platform: Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)] | None = None
    stream_url: HttpUrl | None = None
    starts_at: Moment | None = None


class PinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    position_id: Ref


def status_of(row: asyncpg.Record) -> str:
    if row["ended_at"] is not None:
        return "ended"
    return "live" if row["started_at"] is not None else "scheduled"


async def load_session(db: Any, fair: str, session: str) -> asyncpg.Record:
    row = await db.fetchrow(query("live_session"), fair, session)
    if row is None:
        raise NotFound(f"no live session {session}", fields=["session"])
    return row


async def session_caller(
    request: web.Request, *roles: str
) -> tuple[str, Principal, asyncpg.Record]:
    """The fair, the caller and the session in the path; a host only for its own session."""
    fair, principal = await fair_caller(request, "organizer", "host", *roles)
    session = request.match_info["session"]
    if principal.role == "host" and principal.subject_id != session:
        raise Forbidden("this host token belongs to another session", fields=["Authorization"])
    row = await load_session(request.app[keys.DB], fair, session)
    if principal.role == "employer" and principal.subject_id not in row["employer_ids"]:
        raise Forbidden("this employer is not in the session", fields=["Authorization"])
    return fair, principal, row


Rows = list[dict[str, Any]]


async def session_parts(db: Any, fair: str, row: asyncpg.Record) -> tuple[Rows, Rows, Rows]:
    """A session's positions (with employer names), employers, and pins first to last."""
    positions = await db.fetch(query("live_positions"), fair, row["position_ids"])
    employers = await db.fetch(query("live_employers"), fair, row["employer_ids"])
    pins = await db.fetch(query("live_pins"), fair, row["id"])
    return [dict(p) for p in positions], [dict(e) for e in employers], [dict(p) for p in pins]


async def announce(request: web.Request, fair: str, session: str) -> None:
    """The host changed the session: every gateway's viewer pages hear of it now."""
    app = request.app
    app[keys.VIEWER_VIEWS].pop(session, None)
    app[keys.SESSION_FEEDS].changed((fair, session))
    try:
        await app[keys.REDIS].spublish(keys.live_changes(fair, session), "changed")
    except RedisError as exc:  # the change is in Postgres; viewers re-read it soon anyway
        log.warning("change of session %s not announced: %s", session, exc)


async def session_document(
    request: web.Request, fair: str, row: asyncpg.Record, figures: bool = True
) -> dict[str, Any]:
    """What a console shows: the session, its positions, the pin, and the live figures."""
    db = request.app[keys.DB]
    session = row["id"]
    positions = [
        dict(p) for p in await db.fetch(query("live_positions"), fair, row["position_ids"])
    ]
    pins = [dict(p) for p in await db.fetch(query("live_pins"), fair, session)]
    open_pin = next((p for p in pins if p["unpinned_at"] is None), None)
    document: dict[str, Any] = {
        "id": session,
        "fair_id": fair,
        "title": row["title"],
        "platform": row["platform"],
        "stream_url": row["stream_url"],
        "starts_at": row["starts_at"],
        "started_at": row["started_at"],
        "ended_at": row["ended_at"],
        "status": status_of(row),
        "employers": [
            dict(e) for e in await db.fetch(query("live_employers"), fair, row["employer_ids"])
        ],
        "positions": positions,
        "pinned": open_pin
        and {k: open_pin[k] for k in ("position_id", "employer_id", "title", "pinned_at")},
        "pins": pins,
        "viewer_url": f"{public_base(request)}/live/{session}",
    }
    if figures:
        [audience] = await request.app[keys.PRESENCE].audiences([(fair, session)])
        document["figures"] = await session_figures(db, fair, session, audience)
    return document


async def session_figures(db: Any, fair: str, session: str, audience: Audience) -> dict[str, Any]:
    """Views, viewers, résumés and consultations of one session, per employer and per pin."""
    rows = await db.fetch(query("live_counters"), fair, session)
    names = {(r["dim"], r["dim_id"]): r["name"] for r in rows}
    owners = {r["dim_id"]: r["position_employer"] for r in rows if r["dim"] == "session_pin"}
    whole: dict[str, tuple[int, int]] = {}
    parts: dict[tuple[str, str], dict[str, int]] = {}
    for r in rows:
        if r["dim"] == "session":
            whole[r["metric"]] = (r["total"], r["uniq"])
        else:
            part = parts.setdefault((r["dim"], r["dim_id"].split("|", 1)[1]), {})
            part[r["metric"]] = r["total"]
    sampled_peak = await db.fetchval(
        "SELECT max(peak) FROM live_samples WHERE fair_id = $1 AND session_id = $2", fair, session
    )
    views, viewers = whole.get("live_views", (0, 0))
    by_employer, by_pin = [], []
    for (dim, item), totals in sorted(parts.items()):
        figures = {
            "resumes": totals.get("resumes_submitted", 0),
            "consultations": totals.get("consultations", 0),
        }
        name = names.get((dim, f"{session}|{item}"))
        if dim == "session_employer":
            by_employer.append({"employer_id": item, "name": name, **figures})
        elif dim == "session_pin":
            # During the pin: everything that happened while it was on show; of that, what
            # named the pinned position itself (a viewer may apply to another meanwhile).
            chosen = parts.get(("session_pin_chosen", item), {})
            by_pin.append(
                {
                    "position_id": item,
                    "title": name,
                    "employer_id": owners.get(f"{session}|{item}"),
                    "views": totals.get("live_views", 0),
                    **figures,
                    "resumes_for_pinned": chosen.get("resumes_submitted", 0),
                    "consultations_for_pinned": chosen.get("consultations", 0),
                }
            )
    return {
        "viewers_now": audience.viewers_now,
        "peak": max(audience.peak, sampled_peak or 0),
        "views": views,
        "unique_viewers": viewers,
        "resumes": whole.get("resumes_submitted", (0, 0))[0],
        "consultations": whole.get("consultations", (0, 0))[0],
        "by_employer": by_employer,
        "by_pin": by_pin,
    }


async def create_session(request: web.Request) -> web.Response:
    """A new session and its host token (shown once)."""
    fair, _ = await fair_caller(request, "organizer")
    body = await read_model(request, SessionIn)
    employer_ids = list(dict.fromkeys(body.employer_ids))
    db = request.app[keys.DB]
    async with db.acquire() as conn, conn.transaction():
        found = await conn.fetch(query("live_check_refs"), fair, employer_ids, body.position_ids)
        employers = {r["id"] for r in found if r["kind"] == "employer"}
        missing = [e for e in employer_ids if e not in employers]
        if missing:
            raise Unprocessable(f"no such employers: {', '.join(missing)}", fields=["employer_ids"])
        positions = [r["id"] for r in found if r["kind"] == "position"]
        if body.position_ids is not None:
            strays = sorted(set(body.position_ids) - set(positions))
            if strays:
                raise Unprocessable(
                    f"not live positions of these employers: {', '.join(strays)}",
                    fields=["position_ids"],
                )
            positions = list(dict.fromkeys(body.position_ids))
        session = str(uuid.uuid4())
        await conn.execute(
            "INSERT INTO live_sessions (fair_id, id, title, employer_ids, position_ids, platform,"
            " stream_url, starts_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            fair, session, body.title, employer_ids, positions, body.platform,
            str(body.stream_url) if body.stream_url else None, body.starts_at,
        )  # fmt: skip
        issued = await issue(conn, "host", fair, session)
    await mirror(request.app[keys.REDIS], issued.digest, issued.principal)
    await request.app[keys.REDIS].hset(keys.live_sessions(session), session, fair)
    row = await load_session(db, fair, session)
    document = await session_document(request, fair, row, figures=False)
    # The host opens the console with its token in the fragment, which never reaches a server.
    console = f"{public_base(request)}/live/{session}/console#token={issued.token}"
    return reply({**document, "host_token": issued.token, "console_url": console}, status=201)


async def list_sessions(request: web.Request) -> web.Response:
    fair, _ = await fair_caller(request, "organizer")
    rows = await request.app[keys.DB].fetch(
        "SELECT * FROM live_sessions WHERE fair_id = $1 ORDER BY created_at, id", fair
    )
    items = [
        {k: row[k] for k in ("id", "title", "platform", "stream_url", "starts_at", "started_at",
                             "ended_at", "employer_ids", "position_ids")}
        | {"status": status_of(row)}
        for row in rows
    ]  # fmt: skip
    return reply({"items": items})


async def get_session(request: web.Request) -> web.Response:
    fair, _, row = await session_caller(request)
    return reply(await session_document(request, fair, row))


async def start_session(request: web.Request) -> web.Response:
    fair, _, row = await session_caller(request)
    if row["ended_at"] is not None:
        raise Conflict("the session has ended", fields=["session"])
    row = await request.app[keys.DB].fetchrow(
        "UPDATE live_sessions SET started_at = coalesce(started_at, clock_timestamp())"
        " WHERE fair_id = $1 AND id = $2 RETURNING *",
        fair,
        row["id"],
    )
    await announce(request, fair, row["id"])
    return reply(await session_document(request, fair, row))


async def stop_session(request: web.Request) -> web.Response:
    """End the stream: the pin ends with it; ending twice is harmless."""
    fair, _, row = await session_caller(request)
    async with request.app[keys.DB].acquire() as conn, conn.transaction():
        await conn.execute(query("live_unpin"), fair, row["id"], None)
        row = await conn.fetchrow(query("live_stop"), fair, row["id"])
    await request.app[keys.PRESENCE].end(fair, row["id"])  # viewers now: 0 at once
    await announce(request, fair, row["id"])
    return reply(await session_document(request, fair, row))


async def pin(request: web.Request) -> web.Response:
    """Put one of the session's positions on show; the pin before it ends at this instant."""
    fair, _, row = await session_caller(request)
    body = await read_model(request, PinIn)
    if row["ended_at"] is not None:
        raise Conflict("the session has ended", fields=["session"])
    if body.position_id not in row["position_ids"]:
        raise Unprocessable("that position is not in this session", fields=["position_id"])
    async with request.app[keys.DB].acquire() as conn, conn.transaction():
        await conn.execute(
            "SELECT 1 FROM live_sessions WHERE fair_id = $1 AND id = $2 FOR UPDATE", fair, row["id"]
        )  # pins of one session happen one after the other
        at = await conn.fetchval("SELECT clock_timestamp()")  # one instant: ends one, starts one
        await conn.execute(query("live_unpin"), fair, row["id"], at)
        await conn.execute(query("live_pin"), fair, row["id"], body.position_id, at)
    await announce(request, fair, row["id"])
    return reply(await session_document(request, fair, row))


async def unpin(request: web.Request) -> web.Response:
    fair, _, row = await session_caller(request)
    await request.app[keys.DB].execute(query("live_unpin"), fair, row["id"], None)
    await announce(request, fair, row["id"])
    return reply(await session_document(request, fair, row))


def add_routes(app: web.Application) -> None:
    """The organizer's and the host's calls on live sessions."""
    base = "/v1/fairs/{fair}/live-sessions"
    app.router.add_post(base, create_session)
    app.router.add_get(base, list_sessions)
    app.router.add_get(base + "/{session}", get_session)
    app.router.add_post(base + "/{session}/start", start_session)
    app.router.add_post(base + "/{session}/stop", stop_session)
    app.router.add_put(base + "/{session}/pin", pin)
    app.router.add_delete(base + "/{session}/pin", unpin)
