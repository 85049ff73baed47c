"""Run one worker process: open the clients, consume until SIGTERM, close everything."""

from __future__ import annotations

import asyncio
import logging
import signal

from fairhub.config import Settings
from fairhub.db import open_pool
from fairhub.redis import open_redis
from workers.aggregator import Aggregator

log = logging.getLogger(__name__)


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Consume until SIGTERM/SIGINT (or `stop`); the batch in hand is finished first."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # No connection at start: a worker started while Postgres is away waits for it instead of dying.
    settings = settings.model_copy(update={"db_pool_min": 0})
    try:
        async with open_pool(settings) as db, open_redis(settings) as redis:
            await Aggregator(settings, db, redis).run(stop)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("worker stopped")
