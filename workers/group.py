"""The consumer group's Redis side: create, read, take over, acknowledge and trim.

Small functions over one client, so the loop in aggregator.py reads as the steps it takes.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from fairhub import keys
from workers.store import Entry

log = logging.getLogger(__name__)


async def ensure_group(redis: Redis, stream: str) -> None:
    """The group reads the stream from its first entry, whenever the stream appeared."""
    try:
        await redis.xgroup_create(stream, keys.GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def read(
    redis: Redis, consumer: str, streams: list[str], start: str, count: int, block: int | None
) -> list[Entry] | None:
    """New entries (start ">") or our own pending ones (start "0"); None if a group vanished."""
    try:
        reply: Any = await redis.xreadgroup(
            keys.GROUP, consumer, dict.fromkeys(streams, start), count=count, block=block
        )
    except ResponseError as exc:
        if "NOGROUP" not in str(exc):
            raise
        return None
    entries, gone = [], []
    for stream, items in reply or []:
        for entry_id, fields in items:
            if fields:
                entries.append(Entry(stream.decode(), entry_id.decode(), fields[b"e"].decode()))
            else:  # deleted from the stream while pending: nothing left to count
                gone.append(Entry(stream.decode(), entry_id.decode(), ""))
    await ack(redis, gone)
    return entries


async def claim_stale(
    redis: Redis, consumer: str, streams: list[str], min_idle_ms: int, count: int
) -> list[Entry]:
    """Take over entries that a dead or stuck consumer left pending too long."""
    entries: list[Entry] = []
    for stream in streams:
        reply: Any = await redis.xautoclaim(
            stream, keys.GROUP, consumer, min_idle_time=min_idle_ms, start_id="0-0", count=count
        )
        for entry_id, fields in reply[1]:
            if fields:
                entries.append(Entry(stream, entry_id.decode(), fields[b"e"].decode()))
    if entries:
        log.info("consumer %s took over %d stale entries", consumer, len(entries))
    return entries


async def ack(redis: Redis, entries: list[Entry]) -> None:
    """XACK, one command per stream, in one round trip."""
    by_stream: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        by_stream[entry.stream].append(entry.entry_id)
    if not by_stream:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for stream, ids in by_stream.items():
            pipe.xack(stream, keys.GROUP, *ids)
        await pipe.execute()


async def trim_acknowledged(redis: Redis, streams: list[str]) -> None:
    """Drop entries the group has acknowledged: Postgres has them, Redis need not."""
    for stream in streams:
        summary: Any = await redis.xpending(stream, keys.GROUP)
        if summary["pending"]:
            oldest_needed = summary["min"]
        else:
            groups: Any = await redis.xinfo_groups(stream)
            ours = [g for g in groups if g["name"] == keys.GROUP.encode()]
            if not ours:
                continue
            # Entries after last-delivered-id are not read yet and have larger ids.
            millis, seq = ours[0]["last-delivered-id"].decode().split("-")
            oldest_needed = f"{millis}-{int(seq) + 1}"
        await redis.xtrim(stream, minid=oldest_needed)
