"""Every few seconds, each live session's audience (viewers now, peak) into Postgres.

Presence lives in Redis and changes with every heartbeat; Postgres keeps one row per session
and minute, the highest sample of that minute, so the evening's figures survive Redis. Every
worker samples; the rows keep the greatest value, so two workers sampling agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
from redis.exceptions import RedisError

from fairhub.config import Settings
from fairhub.db import TRANSIENT_ERRORS
from fairhub.live import Presence
from fairhub.sql import query

log = logging.getLogger(__name__)
OUTAGES: tuple[type[BaseException], ...] = (RedisError, *TRANSIENT_ERRORS)


async def sample_once(db: asyncpg.Pool, presence: Presence) -> int:
    """One sample of every session not ended (or ended a moment ago); how many were taken."""
    sessions = [
        (str(r["fair_id"]), r["id"])
        for r in await db.fetch(
            "SELECT fair_id, id FROM live_sessions"
            " WHERE ended_at IS NULL OR ended_at > now() - interval '2 minutes'"
        )
    ]
    if not sessions:
        return 0
    audiences = await presence.audiences(sessions)
    await db.execute(
        query("live_sample"),
        [fair for fair, _ in sessions],
        [session for _, session in sessions],
        [a.viewers_now for a in audiences],
        [a.peak for a in audiences],
    )
    return len(sessions)


async def sample_until(
    stop: asyncio.Event, settings: Settings, db: asyncpg.Pool, presence: Presence
) -> None:
    """Sample until `stop` is set; an outage of either store only skips samples.

    Stopped by an event, not by cancelling: a cancellation that lands inside a client call
    can be swallowed there, and the task would never end.
    """
    while not stop.is_set():
        try:
            await sample_once(db, presence)
        except OUTAGES as exc:
            log.warning("audience sample skipped: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.live_sample_seconds)
