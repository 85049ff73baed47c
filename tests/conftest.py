"""Real Postgres and real Redis for every test: embedded servers started once per session.

Each test makes its own fair, so its stream, counters and events are its own.
Set FAIRHUB_TEST_DATABASE_URL and FAIRHUB_TEST_REDIS_URL to test against external servers.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from redis.asyncio import Redis
from support import Gateway, WorkerTask, make_settings

from fairhub.config import Settings
from fairhub.embedded import EmbeddedPostgres, EmbeddedRedis
from fairhub.migrate import migrate


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    database_url = os.environ.get("FAIRHUB_TEST_DATABASE_URL")
    redis_url = os.environ.get("FAIRHUB_TEST_REDIS_URL")
    if database_url and redis_url:
        yield database_url, redis_url
        return
    root = tmp_path_factory.mktemp("servers")
    postgres = EmbeddedPostgres(root / "postgres")
    redis = EmbeddedRedis(root / "redis")
    postgres.start()
    try:
        redis.start()
        try:
            yield postgres.url, redis.url
        finally:
            redis.stop()
    finally:
        postgres.stop()


@pytest.fixture(scope="session")
async def database_url(servers: tuple[str, str]) -> str:
    await migrate(servers[0])
    return servers[0]


@pytest.fixture
def settings(database_url: str, servers: tuple[str, str], tmp_path: Path) -> Settings:
    return make_settings(database_url, servers[1], tmp_path)


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[Gateway]:
    async with Gateway.running(settings) as gw:
        yield gw


@pytest.fixture
async def worker(settings: Settings) -> AsyncIterator[WorkerTask]:
    async with WorkerTask.running(settings) as task:
        yield task


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


@pytest.fixture
async def redis(servers: tuple[str, str]) -> AsyncIterator[Redis]:
    client = Redis.from_url(servers[1])
    yield client
    await client.aclose()
