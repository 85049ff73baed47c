"""Fixed-window limits in Redis: how often one phone or one client address may do something.

Every try counts, refused ones too, so a client that keeps hammering stays refused until its
window ends. All the limits of one request are counted in one round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

from fairhub import keys
from fairhub.redis import RedisClient


@dataclass(frozen=True, slots=True)
class Limit:
    name: str  # what is limited, e.g. "code-phone"
    subject: str  # who: a phone, an address
    most: int  # tries allowed per window
    window: int  # seconds


async def wait_needed(redis: RedisClient, fair: str, limits: list[Limit]) -> int | None:
    """Count one more try against each limit; the seconds to wait if any is passed, else None."""
    async with redis.pipeline(transaction=False) as pipe:
        for limit in limits:
            key = keys.limit(fair, limit.name, limit.subject)
            pipe.incr(key)
            pipe.expire(key, limit.window, nx=True)
            pipe.ttl(key)
        answers = await pipe.execute()
    wait: int | None = None
    for n, limit in enumerate(limits):
        count, _, ttl = answers[3 * n : 3 * n + 3]
        if int(count) > limit.most:
            wait = max(wait or 0, int(ttl) if int(ttl) > 0 else limit.window)
    return wait
