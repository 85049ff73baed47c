"""The Redis client, configured once: short timeouts so an outage becomes a quick 503."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from fairhub.config import Settings


def make_redis(settings: Settings, url: str | None = None) -> Redis:
    """A client that fails fast instead of hanging when Redis is away."""
    return Redis.from_url(
        url or settings.redis_url or "",
        decode_responses=False,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=min(1.0, settings.redis_timeout_seconds),
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
        max_connections=64,
    )


@asynccontextmanager
async def open_redis(settings: Settings, url: str | None = None) -> AsyncIterator[Redis]:
    """A client closed on the way out."""
    client = make_redis(settings, url)
    try:
        yield client
    finally:
        await client.aclose()
