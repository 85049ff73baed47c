"""Applies sql/migrations/NNNN_name.sql in order, once, under an advisory lock."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from fairhub.sql import sql_dir

log = logging.getLogger(__name__)

# Any constant works; it only has to be the same for every FairHub process.
LOCK_ID = 0x46414952  # "FAIR"
_NAME = re.compile(r"^(\d{4})_([\w-]+)\.sql$")


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer FairHub; running older code on it is unsafe."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def available() -> list[Migration]:
    """The migrations shipped with this code, in order."""
    found = []
    for path in sorted((sql_dir() / "migrations").glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise RuntimeError(f"migration file {path.name} is not named NNNN_name.sql")
        found.append(Migration(int(match[1]), match[2], path))
    return found


async def migrate(url: str) -> list[int]:
    """Bring the database up to this code's schema; returns the versions applied now."""
    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_ID)
        try:
            return await _apply(conn)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_ID)
    finally:
        await conn.close()


async def _apply(conn: asyncpg.Connection) -> list[int]:
    await conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               version integer PRIMARY KEY,
               name text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    current = await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
    known = available()
    newest = known[-1].version if known else 0
    if current > newest:
        raise SchemaTooNewError(
            f"the database is at schema version {current}, newer than this FairHub "
            f"(it knows up to {newest}); upgrade FairHub instead"
        )
    applied = []
    for migration in known:
        if migration.version <= current:
            continue
        async with conn.transaction():
            await conn.execute(migration.path.read_text(encoding="utf-8"))
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
        log.info("applied migration %04d_%s", migration.version, migration.name)
        applied.append(migration.version)
    return applied


async def check_current(conn: asyncpg.Connection) -> None:
    """Refuse to serve a database that is behind or ahead of this code."""
    known = available()
    newest = known[-1].version if known else 0
    current = 0
    if await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
        current = await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
    if current > newest:
        raise SchemaTooNewError(
            f"the database is at schema version {current}, newer than this FairHub ({newest})"
        )
    if current < newest:
        raise RuntimeError(f"the database is at schema {current}; run `fairhub migrate` first")
