"""The consumer group's Redis side, one partition's stream at a time: read, take over,
acknowledge, trim, and say how far behind the stream is.

Small functions over one client, so the reader's loop (reader.py) reads as the steps it takes.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError

from fairhub import keys
from fairhub.redis import RedisClient
from workers.store import Entry

log = logging.getLogger(__name__)


def _entries(stream: str, items: Any) -> tuple[list[Entry], list[Entry]]:
    """Events to count (a stream entry holds one, or several joined by newlines), and entries
    deleted from the stream while pending (nothing to count)."""
    found, gone = [], []
    for entry_id, fields in items or []:
        eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
        if not fields:
            gone.append(Entry(stream, eid, "", ""))
            continue
        fair = fields.get(b"f", b"").decode()
        several = fields.get(b"b")
        if several is None:  # one event; an entry without one is undecodable, not a crash
            found.append(Entry(stream, eid, fair, fields.get(b"e", b"").decode()))
            continue
        for part, payload in enumerate(several.decode().split("\n")):
            found.append(Entry(stream, eid, fair, payload, part))
    return found, gone


async def read(
    redis: RedisClient, consumer: str, stream: str, start: str, count: int, block: int | None
) -> list[Entry] | None:
    """New entries (start ">") or our own pending ones (start "0"); None if the group vanished."""
    try:
        reply: Any = await redis.xreadgroup(
            keys.GROUP, consumer, {stream: start}, count=count, block=block
        )
    except ResponseError as exc:
        if "NOGROUP" not in str(exc):
            raise
        return None
    entries: list[Entry] = []
    for _, items in reply or []:
        found, gone = _entries(stream, items)
        entries += found
        await ack(redis, gone)
    return entries


async def claim(
    redis: RedisClient, consumer: str, stream: str, min_idle_ms: int, count: int, start: str
) -> tuple[list[Entry], str]:
    """Take over up to `count` entries pending longer than `min_idle_ms` (0: all of them, on a
    takeover); the cursor to go on from ("0-0" when the pending list has been walked)."""
    reply: Any = await redis.xautoclaim(
        stream, keys.GROUP, consumer, min_idle_time=min_idle_ms, start_id=start, count=count
    )
    found, gone = _entries(stream, reply[1])
    await ack(redis, gone)
    cursor = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
    return found, cursor


async def ack(redis: RedisClient, entries: list[Entry]) -> None:
    """XACK, one command per stream, in one round trip."""
    by_stream: dict[str, dict[str, None]] = defaultdict(dict)  # the events of one entry: once
    for entry in entries:
        by_stream[entry.stream][entry.entry_id] = None
    if not by_stream:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for stream, ids in by_stream.items():
            pipe.xack(stream, keys.GROUP, *ids)
        await pipe.execute()


@dataclass(frozen=True)
class Backlog:
    """How far behind a partition's stream is."""

    length: int  # entries kept in the stream
    pending: int  # delivered to a worker, not acknowledged yet
    waiting: int  # not delivered yet
    lag_seconds: float  # age of the oldest entry not yet counted (0 when none)
    oldest_ms: int = 0  # when that entry was added (its id's time), 0 when none


def _millis(entry_id: str) -> int:
    return int(entry_id.split("-")[0])


async def trim_and_measure(redis: RedisClient, stream: str) -> Backlog:
    """Drop entries the group has acknowledged (Postgres has them) and measure what is left."""
    summary: Any = await redis.xpending(stream, keys.GROUP)
    groups: Any = await redis.xinfo_groups(stream)
    ours = [g for g in groups if g["name"] in (keys.GROUP, keys.GROUP.encode())]
    if not ours:
        return Backlog(0, 0, 0, 0.0)
    delivered = _text(ours[0]["last-delivered-id"])
    millis, seq = delivered.split("-")
    next_unread = f"{millis}-{int(seq) + 1}"
    oldest_needed = _text(summary["min"]) if summary["pending"] else next_unread
    await redis.xtrim(stream, minid=oldest_needed)
    waiting = int(ours[0].get("lag") or 0)
    added = [_millis(oldest_needed)] if summary["pending"] else []
    if waiting:
        first: Any = await redis.xrange(stream, min=next_unread, count=1)
        if first:
            added.append(_millis(_text(first[0][0])))
    oldest = min(added, default=0)
    now_ms = int(time.time() * 1000)
    return Backlog(
        length=int(await redis.xlen(stream)),
        pending=int(summary["pending"]),
        waiting=waiting,
        lag_seconds=max(0.0, (now_ms - oldest) / 1000) if oldest else 0.0,
        oldest_ms=oldest,
    )


async def consumers(redis: RedisClient, stream: str) -> dict[str, int]:
    """The group's consumers on this stream and how many entries each holds."""
    found: Any = await redis.xinfo_consumers(stream, keys.GROUP)
    return {_text(c["name"]): int(c["pending"]) for c in found}


async def claim_from(
    redis: RedisClient, consumer: str, stream: str, dead: str, count: int
) -> list[Entry]:
    """Take over up to `count` of a dead consumer's entries, however briefly they were idle."""
    held: Any = await redis.xpending_range(stream, keys.GROUP, "-", "+", count, consumername=dead)
    ids: list[Any] = [_text(item["message_id"]) for item in held]
    if not ids:
        return []
    reply: Any = await redis.xclaim(stream, keys.GROUP, consumer, 0, ids)
    found, _ = _entries(stream, reply)
    # An entry deleted from the stream while pending is not handed out: nothing to count, and
    # acknowledged so that the dead consumer's list empties.
    claimed = {e.entry_id for e in found}
    await ack(redis, [Entry(stream, i, "", "") for i in ids if i not in claimed])
    return found


# KEYS: a stream. ARGV: the group, a consumer. Remove the consumer only if it holds nothing,
# in one step: a consumer that reads between a check and a removal would lose its entries.
_FORGET = """
local held = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #held == 0 then
  redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
"""


async def forget(redis: RedisClient, stream: str, consumer: str) -> bool:
    """Remove a dead worker's consumer once its pending list is empty; False if it holds some."""
    removed: Any = await redis.eval(_FORGET, 1, stream, keys.GROUP, consumer)
    return bool(removed)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
