"""Who is calling, and may they touch this fair: every handler starts here."""

from __future__ import annotations

import uuid

from aiohttp import web

from fairhub import keys
from fairhub.auth import Principal
from fairhub.gateway.errors import Forbidden, NotFound, Unauthorized


async def caller(request: web.Request) -> Principal:
    """The principal behind the bearer token, or 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>", fields=["Authorization"])
    principal = await request.app[keys.AUTH].authenticate(token.strip())
    if principal is None:
        raise Unauthorized("unknown or revoked token", fields=["Authorization"])
    return principal


# Path spellings of fair ids already made canonical (3 µs each; a kiosk sends the same one all
# day). Bounded: random ids sent by a stranger empty it rather than grow it.
_CANONICAL: dict[str, str] = {}
_CANONICAL_MOST = 10_000


def fair_id(request: web.Request) -> str:
    """The {fair} path parameter, as a canonical UUID string; 404 when it cannot be one."""
    raw = request.match_info["fair"]
    canonical = _CANONICAL.get(raw)
    if canonical is not None:
        return canonical
    try:
        canonical = str(uuid.UUID(raw))
    except ValueError:
        raise NotFound(f"no fair {raw!r}", fields=["fair"]) from None
    if len(_CANONICAL) >= _CANONICAL_MOST:
        _CANONICAL.clear()
    _CANONICAL[raw] = canonical
    return canonical


async def fair_caller(request: web.Request, *roles: str) -> tuple[str, Principal]:
    """The fair in the path and a caller allowed on it with one of `roles` (admin always)."""
    fair = fair_id(request)
    principal = await caller(request)
    if not principal.may_act_on(fair):
        raise Forbidden("this token belongs to another fair", fields=["Authorization"])
    if principal.role != "admin" and principal.role not in roles:
        raise Forbidden(f"a {principal.role} token may not do this", fields=["Authorization"])
    return fair, principal
