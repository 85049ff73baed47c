"""The Redis client, configured once: short timeouts so an outage becomes a quick 503."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from fairhub.config import Settings

MAX_CONNECTIONS = 64


def make_redis(settings: Settings, url: str | None = None) -> Redis:
    """A client that fails fast when Redis is away, and queues (not fails) when merely busy.

    The blocking pool makes a burst of requests wait for a free connection instead of
    answering 503 "too many connections" while Redis is perfectly healthy.
    """
    pool = BlockingConnectionPool.from_url(
        url or settings.redis_url or "",
        max_connections=MAX_CONNECTIONS,
        timeout=settings.redis_timeout_seconds,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=min(1.0, settings.redis_timeout_seconds),
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
    )
    return Redis.from_pool(pool)


@asynccontextmanager
async def open_redis(settings: Settings, url: str | None = None) -> AsyncIterator[Redis]:
    """A client closed on the way out (with its pool)."""
    client = make_redis(settings, url)
    try:
        yield client
    finally:
        await client.aclose()
