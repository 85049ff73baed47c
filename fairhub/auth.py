"""Scoped bearer tokens: random, shown once, stored as SHA-256, checked without Postgres.

Postgres holds the tokens; Redis holds a copy (hash -> principal) so that ingest keeps
authorizing while Postgres is away, and each gateway keeps a few seconds' local cache so that
the hot path does not pay a round trip per request.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Literal

import asyncpg
from redis.exceptions import RedisError

from fairhub import keys
from fairhub.redis import RedisClient

Role = Literal["admin", "organizer", "device", "employer", "host", "seeker", "secretary"]
TOKEN_PREFIX: dict[str, str] = {
    "organizer": "fho_",
    "device": "fhd_",
    "employer": "fhe_",
    "host": "fhh_",
    "seeker": "fhs_",  # kept in the seeker's browser: their own badge and applications only
    "secretary": "fha_",  # an alliance's secretary: its members, demand, menu and chain events
}

# Which event types each role may send (API.md); admin and organizers may send all.
ROLE_EVENT_TYPES: dict[str, frozenset[str]] = {
    "device": frozenset({"checkin", "booth_visit", "qr_scan", "consultation"}),
    "employer": frozenset(
        {"booth_visit", "resume_downloaded", "intent_agreed", "consultation", "hired"}
    ),
    "host": frozenset({"live_join", "live_heartbeat", "live_leave", "consultation"}),
}


@dataclass(frozen=True)
class Principal:
    role: Role
    fair_id: str | None = None  # None only for admin; a secretary's is the alliance id
    subject_id: str | None = None  # the employer, device or live session behind the token

    def may_act_on(self, fair_id: str) -> bool:
        """A token of fair A is useless on fair B."""
        return self.role == "admin" or self.fair_id == fair_id


ADMIN = Principal(role="admin")


def token_hash(token: str) -> str:
    """Tokens are 256-bit random, so a plain SHA-256 is enough to make a stolen table useless."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(role: str) -> str:
    return TOKEN_PREFIX[role] + secrets.token_urlsafe(32)


class Authenticator:
    """Turns a bearer token into a Principal, or None."""

    def __init__(
        self, admin_token: str, db: asyncpg.Pool, redis: RedisClient, cache_seconds: float
    ):
        self._admin_token = admin_token
        self._db = db
        self._redis = redis
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        # One lookup per token at a time: when a cached entry expires under load, the
        # requests in flight share one Redis round trip instead of each making its own.
        self._lookups: dict[str, asyncio.Future[Principal | None]] = {}

    async def authenticate(self, token: str) -> Principal | None:
        if hmac.compare_digest(token.encode(), self._admin_token.encode()):
            return ADMIN
        digest = token_hash(token)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        pending = self._lookups.get(digest)
        if pending is None:
            pending = asyncio.ensure_future(self._lookup(digest))
            self._lookups[digest] = pending
            pending.add_done_callback(functools.partial(self._remember, digest))
        return await asyncio.shield(pending)

    async def forget(self, digests: list[str]) -> None:
        """Drop revoked tokens from Redis and this process; other gateways' caches expire."""
        for digest in digests:
            self._cache.pop(digest, None)
        if digests:
            async with self._redis.pipeline(transaction=False) as pipe:
                for digest in digests:
                    pipe.hdel(keys.tokens(digest), digest)
                await pipe.execute()

    def _remember(self, digest: str, lookup: asyncio.Future[Principal | None]) -> None:
        del self._lookups[digest]
        if lookup.cancelled() or lookup.exception() is not None:
            return  # not cached: the next request asks again
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[digest] = (time.monotonic() + self._cache_seconds, lookup.result())

    async def _lookup(self, digest: str) -> Principal | None:
        raw = await self._redis.hget(keys.tokens(digest), digest)
        if raw is not None:
            return Principal(**json.loads(raw))
        # Postgres away and the token not mirrored: the error becomes a 503, not a 401.
        row = await self._db.fetchrow(
            "SELECT role, coalesce(fair_id, alliance_id)::text AS fair_id, subject_id FROM tokens"
            " WHERE token_hash = $1 AND revoked_at IS NULL",
            digest,
        )
        if row is None:
            return None
        principal = Principal(
            role=row["role"], fair_id=row["fair_id"], subject_id=row["subject_id"]
        )
        await mirror(self._redis, digest, principal)
        return principal


async def mirror(redis: RedisClient, digest: str, principal: Principal) -> None:
    """Copy a token into Redis; best effort, Postgres stays the truth."""
    try:
        await redis.hset(keys.tokens(digest), digest, json.dumps(asdict(principal)))
    except RedisError:
        pass


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once, never stored
    digest: str
    principal: Principal


async def issue(
    conn: asyncpg.Connection, role: Role, fair_id: str, subject_id: str | None = None
) -> IssuedToken:
    """Create a token and store its hash; mirror() it once the transaction has committed."""
    token = new_token(role)
    digest = token_hash(token)
    await conn.execute(
        "INSERT INTO tokens (token_hash, role, fair_id, subject_id) VALUES ($1, $2, $3, $4)",
        digest,
        role,
        fair_id,
        subject_id,
    )
    return IssuedToken(token, digest, Principal(role=role, fair_id=fair_id, subject_id=subject_id))


async def issue_secretary(conn: asyncpg.Connection, alliance_id: str) -> IssuedToken:
    """A token scoped to one alliance; its principal's fair_id holds the alliance id."""
    token = new_token("secretary")
    digest = token_hash(token)
    await conn.execute(
        "INSERT INTO tokens (token_hash, role, alliance_id) VALUES ($1, 'secretary', $2)",
        digest,
        alliance_id,
    )
    return IssuedToken(token, digest, Principal(role="secretary", fair_id=alliance_id))


def event_forbidden(
    principal: Principal, event_type: str, employer_id: str | None, session_id: str | None = None
) -> str | None:
    """Why this principal may not send this event, or None if it may."""
    if principal.role in ("admin", "organizer"):
        return None
    allowed = ROLE_EVENT_TYPES.get(principal.role, frozenset())
    if event_type not in allowed:
        return f"a {principal.role} token may not send {event_type} events"
    if principal.role == "employer" and employer_id not in (None, principal.subject_id):
        return "an employer token may only send events about its own employer"
    if principal.role == "host" and session_id != principal.subject_id:
        return "a host token may only send events of its own live session"
    return None


async def revoke(conn: asyncpg.Connection, fair_id: str, subject_id: str) -> list[str]:
    """Revoke every live token of a subject (employer, device, session, seeker); their hashes."""
    rows = await conn.fetch(
        "UPDATE tokens SET revoked_at = now()"
        " WHERE fair_id = $1 AND subject_id = $2 AND revoked_at IS NULL RETURNING token_hash",
        fair_id,
        subject_id,
    )
    return [r["token_hash"] for r in rows]
