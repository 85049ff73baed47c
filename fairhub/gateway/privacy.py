"""Personal data: the audit log of who read it, and the answer for a résumé past retention.

Every résumé download and every read of seekers' personal data (lists of résumés, leads and
intents, seeker records, badge sheets) leaves a row: which role and which employer or device,
which token (a prefix of its hash, never the token), from which address, what, when. The fair's
organizer reads the log through GET /v1/fairs/{fair}/audit, newest first. An alliance's rows
(reads and erasures of training menu sign-ups) carry the alliance's id instead of a fair's, and
its secretary reads them through GET /v1/alliances/{alliance}/audit (alliance_privacy.py).
"""

from __future__ import annotations

import hashlib
from typing import Literal, get_args

from aiohttp import web

from fairhub import keys
from fairhub.auth import Principal
from fairhub.gateway.access import fair_caller
from fairhub.gateway.bodies import page_limit, reply
from fairhub.gateway.errors import ApiError, Unprocessable

Action = Literal[
    "resume_downloaded",
    "resumes_listed",
    "seekers_listed",
    "seeker_read",
    "leads_listed",
    "intents_listed",
    "badges_printed",
    # An alliance's (fair_id null, alliance_id set): the menu's sign-ups read and erased.
    "signups_listed",
    "signups_erased",
]
ACTIONS: frozenset[str] = frozenset(get_args(Action))


class Gone(ApiError):
    status, code = 410, "purged"


def token_ref(request: web.Request) -> str | None:
    """The first 16 hex digits of the bearer token's SHA-256: names the token, reveals nothing."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        # Printable pages opened in a browser carry the token in the query (gateway/qr.py).
        token = request.query.get("access_token", "")
    if not token.strip():
        return None
    return hashlib.sha256(token.strip().encode()).hexdigest()[:16]


async def record(
    request: web.Request,
    principal: Principal,
    fair: str,
    action: Action,
    subject: str | None = None,
) -> None:
    """Write down who read personal data; before the data leaves, so no read goes unlogged."""
    await _insert(request, principal, "fair_id", fair, action, subject)


async def record_in_alliance(
    request: web.Request,
    principal: Principal,
    alliance: str,
    action: Action,
    subject: str | None = None,
) -> None:
    """The same for an alliance's personal data (menu sign-ups), kept under its id."""
    await _insert(request, principal, "alliance_id", alliance, action, subject)


async def _insert(
    request: web.Request,
    principal: Principal,
    scope: Literal["fair_id", "alliance_id"],
    scope_id: str,
    action: Action,
    subject: str | None,
) -> None:
    await request.app[keys.DB].execute(
        f"INSERT INTO audit_log ({scope}, actor_role, actor_id, token_ref, address, action,"
        " subject) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        scope_id,
        principal.role,
        principal.subject_id,
        token_ref(request),
        request.remote,
        action,
        subject,
    )


async def raise_if_purged(request: web.Request, principal: Principal, resume_id: str) -> None:
    """410 for a résumé its reader may see whose file retention removed; else nothing."""
    row = await request.app[keys.DB].fetchrow(
        "SELECT r.fair_id::text AS fair_id, r.employer_id, r.purged_at, f.resume_retention_days"
        " FROM resumes r JOIN fairs f ON f.id = r.fair_id WHERE r.id = $1",
        resume_id,
    )
    if row is None or row["purged_at"] is None:
        return
    readers = principal.role == "admin" or (
        principal.may_act_on(row["fair_id"])
        and (
            principal.role == "organizer"
            or (principal.role == "employer" and principal.subject_id == row["employer_id"])
        )
    )
    if readers:
        raise Gone(
            f"résumé {resume_id!r} was deleted on {row['purged_at']:%Y-%m-%d}: the fair keeps"
            f" résumé files {row['resume_retention_days']} days after it ends",
            fields=["id"],
        )


_AUDIT_COLUMNS = "id, at, actor_role, actor_id, token_ref, address, action, subject"


async def list_audit(request: web.Request) -> web.Response:
    """The fair's audit log, newest first; `before` (an entry id) continues a page."""
    fair, _ = await fair_caller(request, "organizer")
    return reply(await audit_page(request, "fair_id", fair))


async def audit_page(
    request: web.Request, scope: Literal["fair_id", "alliance_id"], scope_id: str
) -> dict[str, object]:
    """A page of a fair's or an alliance's log, newest first, as `limit`, `before`, `action` ask."""
    query = request.query
    limit = page_limit(query)
    before: int | None = None
    if "before" in query:
        try:
            before = int(query["before"])
            if not 0 < before < 2**63:
                raise ValueError
        except ValueError:
            raise Unprocessable("before is an entry id from this log", fields=["before"]) from None
    action = query.get("action")
    if action is not None and action not in ACTIONS:
        raise Unprocessable(f"action is one of {', '.join(sorted(ACTIONS))}", fields=["action"])
    rows = await request.app[keys.DB].fetch(
        f"SELECT {_AUDIT_COLUMNS} FROM audit_log WHERE {scope} = $1"
        " AND ($2::bigint IS NULL OR id < $2) AND ($3::text IS NULL OR action = $3)"
        " ORDER BY id DESC LIMIT $4",
        scope_id,
        before,
        action,
        limit + 1,
    )
    items = [dict(r) for r in rows[:limit]]
    more = len(rows) > limit
    return {"items": items, "next": str(items[-1]["id"]) if more else None}


def add_routes(app: web.Application) -> None:
    """Register the audit log route."""
    app.router.add_get("/v1/fairs/{fair}/audit", list_audit)
