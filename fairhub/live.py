"""Who is watching a livestream now: presence in Redis, never one Postgres row per heartbeat.

Each session has a sorted set of viewer ids scored by their last sign of life (Redis' own
clock, so every gateway agrees) and a small hash with the peak. A join or beat adds the
viewer, a leave removes it, viewers silent for `live_presence_seconds` drop out; after every
change the script counts who is left and raises the peak if it was passed. Viewers now can
only grow at a change, so a peak kept at changes is the true peak.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fairhub import keys
from fairhub.batching import Batcher
from fairhub.redis import Shards, script

# KEYS: the session's viewers (zset), its state (hash). ARGV: window ms, then op/viewer pairs
# ("+" a join or beat, "-" a leave). Returns {viewers now, peak}. After the end (the state's
# `ended`), nobody is added: a beat from a gateway that has not heard of the end yet is void.
_RECORD = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local cutoff = now - tonumber(ARGV[1])
local ended = redis.call('HEXISTS', KEYS[2], 'ended') == 1
for i = 2, #ARGV, 2 do
  if ARGV[i] == '-' then
    redis.call('ZREM', KEYS[1], ARGV[i + 1])
  elseif not ended then
    redis.call('ZADD', KEYS[1], now, ARGV[i + 1])
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. cutoff)
local viewers = redis.call('ZCARD', KEYS[1])
local peak = tonumber(redis.call('HGET', KEYS[2], 'peak') or '0')
if viewers > peak then
  peak = viewers
  redis.call('HSET', KEYS[2], 'peak', peak, 'peak_at', now)
end
redis.call('PEXPIRE', KEYS[1], ARGV[1] * 2)
redis.call('EXPIRE', KEYS[2], 7 * 24 * 3600)
return {viewers, peak}
"""

# KEYS: viewers, state. The stream ended: nobody watches from now on; the peak stays.
_END = """
redis.call('HSET', KEYS[2], 'ended', 1)
redis.call('EXPIRE', KEYS[2], 7 * 24 * 3600)
redis.call('DEL', KEYS[1])
return {0, tonumber(redis.call('HGET', KEYS[2], 'peak') or '0')}
"""

# KEYS: viewers, state. ARGV: window ms. Returns {viewers now, peak}; changes nothing.
_READ = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local viewers = redis.call('ZCOUNT', KEYS[1], now - tonumber(ARGV[1]), '+inf')
return {viewers, tonumber(redis.call('HGET', KEYS[2], 'peak') or '0')}
"""


@dataclass(frozen=True, slots=True)
class Audience:
    viewers_now: int
    peak: int


@dataclass(frozen=True, slots=True)
class Mark:
    """One sign of a viewer: present (a join or beat) or gone (a leave)."""

    session_id: str
    viewer_id: str
    present: bool


class Presence:
    """Viewers of the fairs' sessions, counted in Redis.

    Presence is group-committed like the event stream: marks from concurrent requests wait for
    the flush in flight and then go out together, one script call per session, so 3,000 beats
    a second cost a few round trips instead of 3,000.
    """

    def __init__(self, shards: Shards, window_seconds: float) -> None:
        self.shards = shards
        self.window_ms = int(window_seconds * 1000)
        self._writes: Batcher[tuple[str, list[Mark]], dict[str, Audience]] = Batcher(self._apply)

    async def record(self, fair: str, marks: list[Mark]) -> dict[str, Audience]:
        """Apply a request's marks; the audience of its sessions after them."""
        return await self._writes.submit((fair, marks))

    async def _apply(self, writes: list[tuple[str, list[Mark]]]) -> list[dict[str, Audience]]:
        """Many requests' marks in one pipeline: one script call per session, in arrival order."""
        ops: dict[tuple[str, str], list[str]] = {}
        for fair, marks in writes:
            for mark in marks:
                ops.setdefault((fair, mark.session_id), []).extend(
                    ("+" if mark.present else "-", mark.viewer_id)
                )
        calls = [(fair, session, [self.window_ms, *args]) for (fair, session), args in ops.items()]
        answers = await self._scripts(_RECORD, calls)
        after = {k: Audience(int(a[0]), int(a[1])) for k, a in zip(ops, answers, strict=True)}
        return [
            {m.session_id: after[(fair, m.session_id)] for m in marks} for fair, marks in writes
        ]

    async def end(self, fair: str, session: str) -> None:
        """The stream ended: nobody watches it from now on (the peak stays)."""
        await self._scripts(_END, [(fair, session, [])])

    async def audiences(self, sessions: list[tuple[str, str]]) -> list[Audience]:
        """Viewers now and peak of (fair, session) pairs, in one round trip."""
        if not sessions:
            return []
        answers = await self._scripts(_READ, [(f, s, [self.window_ms]) for f, s in sessions])
        return [Audience(int(a[0]), int(a[1])) for a in answers]

    async def _scripts(self, source: str, calls: list[tuple[str, str, list[Any]]]) -> list[Any]:
        """One script call per (fair, session, args), each on the node of the session's keys:
        one round trip per node, and no cross-slot pipeline anywhere."""
        ops = [
            script(source, [keys.live_viewers(f, s), keys.live_state(f, s)], args)
            for f, s, args in calls
        ]
        answers, _ = await self.shards.run(ops)
        for answer in answers:
            if isinstance(answer, Exception):
                raise answer
        return answers
