"""The Redis layout: how many partitions, the streams' consumer groups, and the one-time move of
data written by FairHub before partitions (one stream per fair, global maps).

Every process calls `ensure_layout` when it starts. The first one on a new Redis records the
number of partitions; later ones adopt it (and refuse to start if told another number). On a
Redis that still holds the old layout, the first one moves it, under a lock, while the others
wait: events not yet counted go into their partition's stream (counting stays exact: the
workers count an event id once however often they see it), the entry register, remembered
event ids and live audiences are renamed, and caches that Postgres refills are dropped.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from fairhub import keys
from fairhub.config import Settings
from fairhub.redis import RedisClient

log = logging.getLogger(__name__)

LOCK = "fh:layout:lock"
LOCK_SECONDS = 600
# Before partitions: a set of every fair and one stream per fair (keys named by the fair).
LEGACY_FAIRS = "fh:fairs"
LEGACY_GLOBALS = ("fh:tokens", "fh:live:sessions")  # caches, refilled from Postgres


class LayoutError(RuntimeError):
    """This process was told another number of partitions than the Redis data was made with."""


async def ensure_group(redis: RedisClient, stream: str) -> None:
    """The group reads the stream from its first entry, whenever the stream appeared."""
    try:
        await redis.xgroup_create(stream, keys.GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def ensure_layout(redis: RedisClient, settings: Settings) -> int:
    """Adopt (or record) this Redis's number of partitions, moving old data first if any."""
    while True:
        recorded: Any = await redis.hget(keys.LAYOUT, "partitions")
        if recorded is not None:
            count = int(recorded)
            if "partitions" in settings.model_fields_set and settings.partitions != count:
                raise LayoutError(
                    f"this Redis was set up with {count} partitions, not {settings.partitions}:"
                    " the number is fixed when the data is created (unset FAIRHUB_PARTITIONS)"
                )
            keys.use_partitions(count)
            return count
        me = secrets.token_hex(8)
        if await redis.set(LOCK, me, nx=True, ex=LOCK_SECONDS):
            try:
                keys.use_partitions(settings.partitions)
                if isinstance(redis, Redis) and await redis.exists(LEGACY_FAIRS):
                    await upgrade_legacy(redis)
                for part in range(settings.partitions):
                    await ensure_group(redis, keys.partition_stream(part))
                await redis.hset(
                    keys.LAYOUT,
                    mapping={"partitions": settings.partitions, "version": keys.LAYOUT_VERSION},
                )
            finally:
                await redis.delete(LOCK)
            log.info("redis layout: %d partitions", settings.partitions)
            return settings.partitions
        await asyncio.sleep(0.2)  # another process is setting it up


async def upgrade_legacy(redis: Redis) -> None:
    """Move one-stream-per-fair data into partitions (a single server: the old layout never ran
    on a cluster)."""
    members: Any = await redis.smembers(LEGACY_FAIRS)
    fairs = sorted(m.decode() if isinstance(m, bytes) else m for m in members)
    log.warning("moving %d fairs' Redis data into %d partitions", len(fairs), keys.partitions())
    moved = 0
    for fair in fairs:
        moved += await _move_stream(redis, fair)
        await _rename_matching(redis, f"fh:{{{fair}}}:seen:*", lambda k: _after(k, "seen:"), fair)
        await _rename_matching(redis, f"fh:{{{fair}}}:live:*", lambda k: _after(k, "live:"), fair)
        if await redis.exists(f"fh:{{{fair}}}:entered"):
            await redis.rename(f"fh:{{{fair}}}:entered", keys.entered(fair))
        await redis.delete(f"fh:{{{fair}}}:keys", f"fh:{{{fair}}}:seekers")
        await redis.sadd(keys.fairs(fair), fair)
    await redis.delete(*LEGACY_GLOBALS, LEGACY_FAIRS)
    log.warning("moved %d uncounted events into the partitions' streams", moved)


def _after(key: str, marker: str) -> str:
    return key[key.index(marker) + len(marker) :]


async def _rename_matching(redis: Redis, pattern: str, rest: Any, fair: str) -> None:
    """Rename the fair's keys of one kind (remembered ids, live audiences); TTLs stay."""
    kind = pattern.rsplit(":", 2)[-2]
    async for raw in redis.scan_iter(match=pattern, count=1000):
        key = raw.decode() if isinstance(raw, bytes) else raw
        tail = rest(key)
        if kind == "seen":
            await redis.rename(key, keys.seen_prefix(fair) + tail)
        else:  # live:<session>[:viewers]
            session, _, suffix = tail.partition(":")
            target = keys.live_viewers(fair, session) if suffix else keys.live_state(fair, session)
            await redis.rename(key, target)


async def _move_stream(redis: Redis, fair: str) -> int:
    """Copy the entries the workers have not acknowledged into the partition's stream."""
    old = f"fh:{{{fair}}}:events"
    if not await redis.exists(old):
        return 0
    delivered, pending = "0-0", set[str]()
    try:
        groups: Any = await redis.xinfo_groups(old)
        ours = [g for g in groups if g["name"] in (keys.GROUP, keys.GROUP.encode())]
        if ours:
            delivered = _text(ours[0]["last-delivered-id"])
            waiting: Any = await redis.xpending_range(old, keys.GROUP, "-", "+", 1_000_000)
            pending = {_text(item["message_id"]) for item in waiting}
    except ResponseError:
        pass  # no group: nothing was read, everything moves
    new, moved, start = keys.stream(fair), 0, "-"
    while True:
        batch: Any = await redis.xrange(old, min=start, count=1000)
        if not batch:
            break
        async with redis.pipeline(transaction=False) as pipe:
            for entry_id, fields in batch:
                eid = _text(entry_id)
                if fields and (eid in pending or _newer(eid, delivered)):
                    pipe.xadd(new, {"f": fair, **{k: v for k, v in fields.items() if k != b"f"}})
                    moved += 1
            await pipe.execute()
        start = "(" + _text(batch[-1][0])
    await redis.delete(old)
    return moved


def _newer(entry_id: str, than: str) -> bool:
    a, b = (tuple(int(x) for x in i.split("-")) for i in (entry_id, than))
    return a > b


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
