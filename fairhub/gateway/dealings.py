"""What a seeker's dealings with an employer (intents, résumés) share: who the seeker is, that
the employer and position are live, the event that counts the dealing, and the listing of them.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web

from fairhub import gate, keys, registry
from fairhub.auth import Principal
from fairhub.events import Event
from fairhub.gateway.bodies import page_limit
from fairhub.gateway.errors import Forbidden, Unauthorized, Unprocessable
from fairhub.gateway.ingest import take_in

log = logging.getLogger(__name__)


def listed_employer(request: web.Request, principal: Principal) -> str | None:
    """Whose rows a listing shows: an employer token only its own, an organizer any it names."""
    if principal.role == "employer":
        return principal.subject_id or ""
    employer = request.query.get("employer_id")
    if employer is not None and "\x00" in employer:  # Postgres text cannot hold NUL
        raise Unprocessable("employer_id must not contain NUL", fields=["employer_id"])
    return employer


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
    request: web.Request,
    select: str,
    alias: str,
    fair: str,
    employer: str | None,
    conditions: list[str] | None = None,
) -> dict[str, Any]:
    """A page of the fair's rows in creation order (one employer's if named), as the registry.

    `conditions` are fixed SQL (no values from the request) that rows must also meet.
    """
    query = request.query
    limit = page_limit(query)
    where: list[str] = [f"{alias}.fair_id = $1", *(conditions or [])]
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
