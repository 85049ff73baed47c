"""Migrations: applied once, in order, under a lock; a database newer than the code is refused."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from fairhub.migrate import SchemaTooNewError, available, check_current, migrate


@pytest.fixture
async def fresh_database(database_url: str) -> AsyncIterator[str]:
    name = f"mig_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_concurrent_migrations_apply_each_file_exactly_once(fresh_database: str) -> None:
    shipped = [m.version for m in available()]  # numbers may skip: branches reserve theirs
    runs = await asyncio.gather(*(migrate(fresh_database) for _ in range(3)))
    assert sorted(runs, key=len) == [[], [], shipped]
    assert await migrate(fresh_database) == []
    conn = await asyncpg.connect(fresh_database)
    try:
        versions = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in versions] == shipped
        await check_current(conn)
    finally:
        await conn.close()


async def test_a_database_newer_than_the_code_is_refused(fresh_database: str) -> None:
    await migrate(fresh_database)
    conn = await asyncpg.connect(fresh_database)
    try:
        await conn.execute("INSERT INTO schema_migrations (version, name) VALUES (9999, 'future')")
        with pytest.raises(SchemaTooNewError, match="9999"):
            await check_current(conn)
    finally:
        await conn.close()
    with pytest.raises(SchemaTooNewError, match="newer than this FairHub"):
        await migrate(fresh_database)


async def test_an_unmigrated_database_is_refused_at_start(fresh_database: str) -> None:
    conn = await asyncpg.connect(fresh_database)
    try:
        with pytest.raises(RuntimeError, match="fairhub migrate"):
            await check_current(conn)
    finally:
        await conn.close()
