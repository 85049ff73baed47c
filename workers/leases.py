"""Which partitions a worker reads: a lease per partition in Redis, shared out evenly.

Every worker beats into one sorted set (name -> last beat), so each knows how many share the
work; each holds at most its share of the partitions, renews its leases well before they
lapse, takes free ones up to its share and lets go of the ones beyond it. A worker silent for
`worker_dead_seconds` is dead: the others take its leases at once (and what it left pending
with them), without waiting for them to lapse, so a SIGKILLed worker's replacement starts
within seconds. Two owners for a moment is harmless: counting is idempotent by event id.
"""

from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass, field

from fairhub import keys
from fairhub.redis import Shards, script

log = logging.getLogger(__name__)

# KEYS: a lease. ARGV: our name, ms. Renew only a lease that is still ours.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# KEYS: a lease. ARGV: our name, ms, the dead workers' names. Take it if nobody holds it, we
# do, or a dead worker does.
_TAKE = """
local holder = redis.call('GET', KEYS[1])
local free = holder == false or holder == ARGV[1]
for i = 3, #ARGV do
  if holder == ARGV[i] then free = true end
end
if free then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
# KEYS: a lease. ARGV: our name. Let it go, if it is still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass
class Change:
    """What a round of rebalancing decided."""

    gained: set[int] = field(default_factory=set)
    lost: set[int] = field(default_factory=set)  # lapsed or taken: already someone else's
    surplus: set[int] = field(default_factory=set)  # ours beyond our share: to hand back


class Leases:
    """This worker's leases, and the round that keeps them fair."""

    def __init__(
        self, shards: Shards, name: str, lease_seconds: float, dead_seconds: float
    ) -> None:
        self.shards = shards
        self.name = name
        self.lease_ms = int(lease_seconds * 1000)
        self.dead_ms = int(dead_seconds * 1000)
        self.owned: set[int] = set()
        self.workers = 1
        self.alive: set[str] = {name}  # as of the last beat: the consumers not to take from
        self.dead: set[str] = set()  # beat once, silent since: their leases are ours to take

    async def round(self) -> Change:
        """Beat, renew ours, then take or hand back partitions to hold our share."""
        change = Change()
        await self.beat()
        mine = sorted(self.owned)
        if mine:
            renewed = await self._each(_RENEW, mine, [self.name, self.lease_ms])
            change.lost = {p for p, ok in zip(mine, renewed, strict=True) if not ok}
            self.owned -= change.lost
        share = math.ceil(keys.partitions() / self.workers)
        if len(self.owned) > share:
            change.surplus = set(sorted(self.owned)[share:])
        elif len(self.owned) < share:
            free = [p for p in range(keys.partitions()) if p not in self.owned]
            random.shuffle(free)  # workers starting together do not all ask for the same ones
            while free and len(self.owned) < share:
                asked, free = free[: share - len(self.owned)], free[share - len(self.owned) :]
                taken = await self._each(_TAKE, asked, [self.name, self.lease_ms, *self.dead])
                gained = {p for p, ok in zip(asked, taken, strict=True) if ok}
                self.owned |= gained
                change.gained |= gained
        return change

    async def beat(self) -> None:
        """Say we are alive, and learn who else is (and who went silent)."""
        redis = self.shards.client
        now = int(time.time() * 1000)
        async with redis.pipeline(transaction=False) as pipe:
            pipe.zadd(keys.WORKERS, {self.name: now})
            # Forgotten once their leases lapsed too: nothing of theirs is left to take.
            pipe.zremrangebyscore(keys.WORKERS, "-inf", now - max(self.lease_ms, self.dead_ms))
            pipe.zrange(keys.WORKERS, 0, -1, withscores=True)
            pipe.set(keys.WORKERS_LAST_BEAT, now)
            _, _, beats, _ = await pipe.execute()
        alive, dead = {self.name}, set[str]()
        for raw, at in beats:
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            (alive if at > now - self.dead_ms else dead).add(name)
        dead.discard(self.name)
        for name in sorted(dead - self.dead):
            log.warning("worker %s fell silent: its partitions are taken over", name)
        self.alive, self.dead = alive, dead
        self.workers = len(alive)

    async def release(self, parts: set[int]) -> None:
        """Hand partitions back at once (a worker leaving, or beyond its share)."""
        self.owned -= parts
        if parts:
            await self._each(_RELEASE, sorted(parts), [self.name])

    async def leave(self) -> None:
        """Stop: every lease back, and out of the beat, so the others share at once."""
        await self.release(set(self.owned))
        await self.shards.client.zrem(keys.WORKERS, self.name)

    async def _each(self, source: str, parts: list[int], args: list[object]) -> list[bool]:
        """One script per partition's lease, on its node: one round trip per node."""
        ops = [script(source, [keys.lease(p)], args) for p in parts]
        answers, _ = await self.shards.run(ops)
        for answer in answers:
            if isinstance(answer, Exception):
                raise answer
        return [bool(int(a)) for a in answers]
