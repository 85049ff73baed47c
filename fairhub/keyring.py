"""The keys that sign a fair's badges: private halves in Postgres, public halves everywhere.

Gateways verify badges with public keys cached in memory, copied from Redis, so a check-in
costs no database read and keeps working while Postgres is away. Kiosks fetch the same public
keys (GET /v1/fairs/{fair}/keys) to verify badges while offline.
"""

from __future__ import annotations

import time
from typing import Any

import asyncpg

from fairhub import keys
from fairhub.badges import KeyPair, new_key
from fairhub.redis import RedisClient

# A key retired on one gateway stops verifying on the others within this many seconds.
PUBLIC_KEYS_TTL = 30.0


async def create_key(conn: asyncpg.Connection, fair: str) -> KeyPair:
    """A new signing key for the fair; the newest live key signs from now on."""
    key = new_key()
    await conn.execute(
        "INSERT INTO fair_keys (fair_id, kid, private_key, public_key) VALUES ($1, $2, $3, $4)",
        fair,
        key.kid,
        key.private_key,
        key.public_key,
    )
    return key


_NEWEST_KEY = (
    "SELECT kid, private_key, public_key FROM fair_keys"
    " WHERE fair_id = $1 AND retired_at IS NULL ORDER BY created_at DESC LIMIT 1"
)


async def signing_key(conn: asyncpg.Connection, fair: str) -> KeyPair:
    """The fair's newest live key (created on first use for fairs made before badges)."""
    row = await conn.fetchrow(_NEWEST_KEY, fair)
    if row is None:
        # Two first uses at once must not make two keys: take the lock, look again.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"fair-keys:{fair}")
        row = await conn.fetchrow(_NEWEST_KEY, fair)
        if row is None:
            return await create_key(conn, fair)
    return KeyPair(row["kid"], bytes(row["private_key"]), bytes(row["public_key"]))


async def live_public_keys(db: asyncpg.Connection | asyncpg.Pool, fair: str) -> list[Any]:
    """kid, public_key, created_at of the fair's live keys, newest first."""
    rows: list[Any] = await db.fetch(
        "SELECT kid, public_key, created_at FROM fair_keys"
        " WHERE fair_id = $1 AND retired_at IS NULL ORDER BY created_at DESC",
        fair,
    )
    return rows


# KEYS: a hash. ARGV: field, value, ... Its whole content, replaced at once.
_REPLACE = """
redis.call('DEL', KEYS[1])
if #ARGV > 0 then redis.call('HSET', KEYS[1], unpack(ARGV)) end
return 1
"""


class KeyRing:
    """Public keys per fair: memory, then Redis, then Postgres (which refills Redis)."""

    def __init__(self, db: asyncpg.Pool, redis: RedisClient) -> None:
        self._db = db
        self._redis = redis
        self._cache: dict[str, tuple[float, dict[str, bytes]]] = {}
        self._replace = redis.register_script(_REPLACE)

    async def public_keys(self, fair: str) -> dict[str, bytes]:
        """kid -> raw public key of the fair's live keys; empty for an unknown fair."""
        cached = self._cache.get(fair)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        raw = await self._redis.hgetall(keys.public_keys(fair))
        found = {_text(kid): bytes.fromhex(_text(value)) for kid, value in raw.items()}
        if not found:
            found = await self.refresh(fair)
        self._cache[fair] = (time.monotonic() + PUBLIC_KEYS_TTL, found)
        return found

    async def refresh(self, fair: str) -> dict[str, bytes]:
        """Copy the fair's live public keys from Postgres into Redis and forget the cache."""
        rows = await live_public_keys(self._db, fair)
        found = {r["kid"]: bytes(r["public_key"]) for r in rows}
        mapping = [part for kid, key in found.items() for part in (kid, key.hex())]
        await self._replace(keys=[keys.public_keys(fair)], args=mapping)
        self._cache.pop(fair, None)
        return found


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
