"""The host's queue of questions asked during a stream, answered by the host or the employer."""

from __future__ import annotations

from aiohttp import web

from fairhub import keys
from fairhub.auth import Principal
from fairhub.gateway.bodies import reply
from fairhub.gateway.errors import Forbidden, NotFound, Unprocessable
from fairhub.gateway.live import session_caller
from fairhub.sql import query

_STATUSES = {"open": False, "answered": True, "all": None}


def _answerer(principal: Principal) -> str:
    """Who marked a question answered, as the queue shows it."""
    if principal.role in ("employer", "host"):
        return f"{principal.role}:{principal.subject_id}"
    return principal.role


async def list_questions(request: web.Request) -> web.Response:
    """Oldest first; an employer sees only the questions put to it."""
    fair, principal, row = await session_caller(request, "employer")
    status = request.query.get("status", "open")
    if status not in _STATUSES:
        raise Unprocessable("status is open, answered or all", fields=["status"])
    employer = principal.subject_id if principal.role == "employer" else None
    rows = await request.app[keys.DB].fetch(
        query("live_questions"), fair, row["id"], _STATUSES[status], employer, None
    )
    return reply({"items": [dict(r) for r in rows]})


async def answer_question(request: web.Request) -> web.Response:
    """Mark a question answered; the first answer stays, so a second click changes nothing."""
    fair, principal, row = await session_caller(request, "employer")
    question_id = request.match_info["question"]
    db = request.app[keys.DB]
    asked = await db.fetchrow(
        "SELECT employer_id FROM live_questions WHERE fair_id = $1 AND session_id = $2 AND id = $3",
        fair,
        row["id"],
        question_id,
    )
    if asked is None:
        raise NotFound(f"no question {question_id} in this session", fields=["question"])
    if principal.role == "employer" and asked["employer_id"] != principal.subject_id:
        raise Forbidden("this question was put to another employer", fields=["Authorization"])
    await db.execute(
        "UPDATE live_questions SET answered_at = clock_timestamp(), answered_by = $4"
        " WHERE fair_id = $1 AND session_id = $2 AND id = $3 AND answered_at IS NULL",
        fair,
        row["id"],
        question_id,
        _answerer(principal),
    )
    [answered] = await db.fetch(query("live_questions"), fair, row["id"], None, None, question_id)
    return reply(dict(answered))


def add_routes(app: web.Application) -> None:
    """The queue of a session's questions."""
    base = "/v1/fairs/{fair}/live-sessions/{session}/consultations"
    app.router.add_get(base, list_questions)
    app.router.add_post(base + "/{question}/answer", answer_question)
