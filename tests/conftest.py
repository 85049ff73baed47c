"""Real Postgres and real Redis for every test: embedded servers started once per session.

Each test makes its own fair, so its counters and events are its own (a partition's stream
holds several fairs' events: tests look at their fair's entries only).

Redis is one server, or a Valkey Cluster of 3 primaries and 3 replicas (embedded as well):
- the modules in CLUSTER_TOO run on both, as `test_x[single]` and `test_x[cluster]`;
- FAIRHUB_TEST_REDIS=cluster runs the whole suite on a cluster only;
- FAIRHUB_TEST_DATABASE_URL and FAIRHUB_TEST_REDIS_URL test against external servers.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from support import Gateway, WorkerTask, make_settings

from fairhub.config import Settings
from fairhub.embedded import EmbeddedPostgres, EmbeddedRedis
from fairhub.embedded_cluster import EmbeddedRedisCluster
from fairhub.migrate import migrate
from fairhub.redis import RedisClient, open_redis

# The core of counting, on a cluster too, in every run (CI's included).
CLUSTER_TOO = frozenset(
    {
        "test_ingest",
        "test_exactly_once",
        "test_checkins",
        "test_live",
        "test_stats_stream",
        "test_limits",
    }
)


# What only a cluster has: shards, slot migrations, failovers.
CLUSTER_ONLY = frozenset({"test_cluster"})


def _kinds(module: str) -> list[str]:
    if module in CLUSTER_ONLY:
        return ["cluster"]
    wanted = os.environ.get("FAIRHUB_TEST_REDIS", "")
    if wanted in ("single", "cluster"):
        return [wanted]
    return ["single", "cluster"] if module in CLUSTER_TOO else ["single"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each test on the Redis kinds its module runs on (one Redis of each kind per session)."""
    if "servers" in metafunc.fixturenames:
        kinds = _kinds(metafunc.module.__name__.rpartition(".")[2])
        metafunc.parametrize("servers", kinds, indirect=True, scope="session")


@pytest.fixture(scope="session")
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    database_url = os.environ.get("FAIRHUB_TEST_DATABASE_URL")
    redis_url = os.environ.get("FAIRHUB_TEST_REDIS_URL")
    if database_url and redis_url:
        yield database_url, redis_url
        return
    kind = getattr(request, "param", "single")
    root = tmp_path_factory.mktemp(f"servers-{kind}")
    postgres = EmbeddedPostgres(root / "postgres")
    redis: EmbeddedRedis | EmbeddedRedisCluster = EmbeddedRedis(root / "redis")
    if kind == "cluster":
        redis = EmbeddedRedisCluster(root / "cluster")
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
async def redis(settings: Settings) -> AsyncIterator[RedisClient]:
    """A client of the session's Redis, one server or a cluster, as the code has it."""
    async with open_redis(settings) as client:
        yield client
