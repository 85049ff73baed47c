"""Run one worker process: open the clients, consume until SIGTERM, close everything."""

from __future__ import annotations

import asyncio
import logging
import signal

from prometheus_client import start_http_server
from redis.exceptions import RedisError

from fairhub import retention
from fairhub.config import Settings
from fairhub.db import open_pool
from fairhub.layout import ensure_layout
from fairhub.loops import collect_rarely
from fairhub.redis import RedisClient, open_redis
from workers.aggregator import Aggregator

log = logging.getLogger(__name__)


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Consume until SIGTERM/SIGINT (or `stop`); the batch in hand is finished first."""
    stop = stop or asyncio.Event()
    collect_rarely()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # No connection at start: a worker started while Postgres is away waits for it instead of dying.
    settings = settings.model_copy(update={"db_pool_min": 0})
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port, addr=settings.host)
    # A blocking read per partition held, and room for the rest.
    connections = settings.partitions + 32
    try:
        async with (
            open_pool(settings) as db,
            open_redis(settings, connections=connections) as redis,
            retention.purging(settings, db, stop),  # résumé files past their fair's retention
        ):
            await _layout(redis, settings, stop)
            await Aggregator(settings, db, redis).run(stop)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("worker stopped")


async def _layout(redis: RedisClient, settings: Settings, stop: asyncio.Event) -> None:
    """Adopt the Redis layout, waiting for Redis if it is not up yet."""
    delay = 0.2
    while not stop.is_set():
        try:
            await ensure_layout(redis, settings)
            return
        except (RedisError, OSError) as exc:
            log.warning("redis unavailable, retrying in %.1fs: %s", delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
