"""The keys that sign a fair's badges: private halves sealed in Postgres, public halves everywhere.

Gateways verify badges with public keys cached in memory, copied from Redis, so a check-in
costs no database read and keeps working while Postgres is away. Kiosks fetch the same public
keys (GET /v1/fairs/{fair}/keys) to verify badges while offline. Private halves are stored
sealed under the master key (fairhub.masterkey); the gateway installs that key at start-up,
one per process, since a process serves one deployment.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from aiohttp import web

from fairhub import keys, masterkey
from fairhub.badges import KeyPair, new_key
from fairhub.masterkey import MasterKey, SecretKeyError
from fairhub.redis import RedisClient

log = logging.getLogger(__name__)

# A key retired on one gateway stops verifying on the others within this many seconds.
PUBLIC_KEYS_TTL = 30.0

_installed: list[MasterKey] = []


def install(master: MasterKey) -> None:
    """Make `master` the key this process seals and opens badge keys with."""
    _installed[:] = [master]


def _master(master: MasterKey | None) -> MasterKey:
    if master is not None:
        return master
    if not _installed:
        raise SecretKeyError("no master key: the gateway installs FAIRHUB_SECRET_KEY at start")
    return _installed[0]


async def create_key(
    conn: asyncpg.Connection, fair: str, master: MasterKey | None = None
) -> KeyPair:
    """A new signing key for the fair; the newest live key signs from now on."""
    key = new_key()
    sealer = _master(master)
    sealed, nonce = sealer.seal(key.private_key, fair, key.kid)
    await conn.execute(
        "INSERT INTO fair_keys (fair_id, kid, private_key, public_key, key_nonce, sealed_by)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        fair,
        key.kid,
        sealed,
        key.public_key,
        nonce,
        sealer.fingerprint,
    )
    return key


_NEWEST_KEY = (
    "SELECT kid, private_key, public_key, key_nonce, sealed_by FROM fair_keys"
    " WHERE fair_id = $1 AND retired_at IS NULL ORDER BY created_at DESC LIMIT 1"
)


async def signing_key(
    conn: asyncpg.Connection, fair: str, master: MasterKey | None = None
) -> KeyPair:
    """The fair's newest live key (created on first use for fairs made before badges)."""
    key = await newest_key(conn, fair, master)
    if key is None:
        # Two first uses at once must not make two keys: take the lock, look again.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"fair-keys:{fair}")
        key = await newest_key(conn, fair, master)
        if key is None:
            return await create_key(conn, fair, master)
    return key


async def newest_key(
    db: asyncpg.Connection | asyncpg.Pool, fair: str, master: MasterKey | None = None
) -> KeyPair | None:
    """The key signing_key() signs with, or None before the fair's first badge (none made)."""
    row = await db.fetchrow(_NEWEST_KEY, fair)
    if row is None:
        return None
    private = bytes(row["private_key"])
    if row["key_nonce"] is not None:
        opener = _master(master)
        private = opener.unseal(
            private, bytes(row["key_nonce"]), fair, row["kid"], row["sealed_by"]
        )
    return KeyPair(row["kid"], private, bytes(row["public_key"]))


async def seal_keys(conn: asyncpg.Connection, new: MasterKey, old: MasterKey | None = None) -> int:
    """Seal plaintext keys under `new`; with `old`, re-seal its keys under `new` too (rotation).

    Runs in the caller's transaction, rows locked: a key is never half rotated.
    """
    rows = await conn.fetch(
        "SELECT fair_id::text AS fair_id, kid, private_key, key_nonce, sealed_by FROM fair_keys"
        " WHERE key_nonce IS NULL OR ($1::text IS NOT NULL AND sealed_by = $1)"
        " ORDER BY fair_id, kid FOR UPDATE",
        old.fingerprint if old else None,
    )
    for row in rows:
        private = bytes(row["private_key"])
        if row["key_nonce"] is not None and old is not None:
            private = old.unseal(
                private, bytes(row["key_nonce"]), row["fair_id"], row["kid"], row["sealed_by"]
            )
        sealed, nonce = new.seal(private, row["fair_id"], row["kid"])
        await conn.execute(
            "UPDATE fair_keys SET private_key = $3, key_nonce = $4, sealed_by = $5"
            " WHERE fair_id = $1 AND kid = $2",
            row["fair_id"],
            row["kid"],
            sealed,
            nonce,
            new.fingerprint,
        )
    return len(rows)


async def foreign_seals(conn: asyncpg.Connection | asyncpg.Pool, master: MasterKey) -> int:
    """Keys sealed under another master key: they cannot sign until that key is set."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM fair_keys WHERE key_nonce IS NOT NULL AND sealed_by <> $1",
        master.fingerprint,
    )
    return count


async def sealed_keys(app: web.Application) -> AsyncIterator[None]:
    """Gateway start-up: install the master key and seal keys still stored in plaintext."""
    master = masterkey.load(app[keys.SETTINGS], create=True)
    install(master)
    async with app[keys.DB].acquire() as conn, conn.transaction():
        sealed = await seal_keys(conn, master)
        others = await foreign_seals(conn, master)
    if sealed:
        log.info("sealed %d plaintext badge key(s) under master key %s", sealed, master.fingerprint)
    if others:
        log.error(
            "%d badge key(s) are sealed under another master key than FAIRHUB_SECRET_KEY (%s):"
            " their fairs cannot print badges until that key is set",
            others,
            master.fingerprint,
        )
    yield


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
