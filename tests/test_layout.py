"""The Redis layout: recorded once, adopted by every process, and old data moved into partitions.

Redis data written before partitions (one stream per fair, global token and session maps) is
moved on the first start: what the workers had not counted goes into the partition's stream,
the entry register, remembered ids and live audiences keep their content and their TTLs, and
caches that Postgres refills are dropped. Each test has a Redis of its own.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from fairhub import keys
from fairhub.config import Settings
from fairhub.embedded import EmbeddedRedis
from fairhub.layout import LayoutError, ensure_layout

FAIR = "7b0c3a52-3f7e-4d5e-9f41-2c9d6f1a8e10"
OTHER = "0d3c1f9a-8c4b-4b7e-a1f2-6e5d4c3b2a10"


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[Redis]:
    server = EmbeddedRedis(tmp_path / "redis", appendonly=False)
    server.start()
    client = Redis.from_url(server.url)
    try:
        yield client
    finally:
        await client.aclose()
        server.stop()


def settings(**values: object) -> Settings:
    return Settings.model_validate({"partitions": keys.partitions(), **values})


def payload(event_id: str) -> str:
    return json.dumps({"id": event_id, "type": "checkin", "seeker_id": "S1",
                       "occurred_at": "2026-11-21T09:00:00+00:00"})  # fmt: skip


async def test_old_data_moves_into_partitions_once(redis: Redis) -> None:
    # What FairHub wrote before partitions, as it wrote it.
    old = f"fh:{{{FAIR}}}"
    await redis.sadd("fh:fairs", FAIR, OTHER)
    await redis.xgroup_create(f"{old}:events", "aggregator", id="0", mkstream=True)
    ids = [await redis.xadd(f"{old}:events", {"e": payload(f"ev-{n}")}) for n in range(4)]
    read = await redis.xreadgroup("aggregator", "w1", {f"{old}:events": ">"}, count=2)
    assert [i for i, _ in read[0][1]] == ids[:2]
    await redis.xack(f"{old}:events", "aggregator", ids[0])  # counted; ids[1] pending
    await redis.hset(f"{old}:entered", "S1", "2026-11-21T09:00:00+00:00")
    await redis.set(f"{old}:seen:ev-0", "admitted|2026-11-21T09:00:00+00:00", ex=3600)
    await redis.zadd(f"{old}:live:sess-1:viewers", {"viewer-1": 1})
    await redis.hset(f"{old}:live:sess-1", "peak", 5)
    await redis.hset(f"{old}:seekers", "S1", "{}")
    await redis.hset(f"{old}:keys", "k1", "00")
    await redis.hset("fh:tokens", "digest", "{}")
    await redis.hset("fh:live:sessions", "sess-1", FAIR)

    assert await ensure_layout(redis, settings()) == keys.partitions()

    moved = await redis.xrange(keys.stream(FAIR))
    fairs = {fields[b"f"].decode() for _, fields in moved}
    events = [json.loads(fields[b"e"])["id"] for _, fields in moved]
    assert fairs == {FAIR} and events == ["ev-1", "ev-2", "ev-3"]  # pending and unread only
    assert not await redis.exists(f"{old}:events")
    assert await redis.hget(keys.entered(FAIR), "S1") == b"2026-11-21T09:00:00+00:00"
    seen = keys.seen_prefix(FAIR) + "ev-0"
    assert await redis.get(seen) == b"admitted|2026-11-21T09:00:00+00:00"
    assert 0 < await redis.ttl(seen) <= 3600
    assert await redis.zscore(keys.live_viewers(FAIR, "sess-1"), "viewer-1") == 1
    assert await redis.hget(keys.live_state(FAIR, "sess-1"), "peak") == b"5"
    assert await redis.sismember(keys.fairs(FAIR), FAIR)
    assert await redis.sismember(keys.fairs(OTHER), OTHER)
    for gone in ("fh:fairs", "fh:tokens", "fh:live:sessions", f"{old}:seekers", f"{old}:keys"):
        assert not await redis.exists(gone), gone
    layout = await redis.hgetall(keys.LAYOUT)
    assert layout == {b"partitions": str(keys.partitions()).encode(), b"version": b"2"}
    # Every partition's stream has its group, ready for workers.
    for part in range(keys.partitions()):
        groups = await redis.xinfo_groups(keys.partition_stream(part))
        assert [g["name"] for g in groups] == [b"aggregator"]

    # Later starts adopt the layout and move nothing again.
    assert await ensure_layout(redis, settings()) == keys.partitions()
    assert len(await redis.xrange(keys.stream(FAIR))) == 3


async def test_the_number_of_partitions_is_fixed_at_creation(redis: Redis) -> None:
    await ensure_layout(redis, settings())
    with pytest.raises(LayoutError, match="partitions"):
        await ensure_layout(redis, settings(partitions=keys.partitions() * 2))
    # Not told a number: the recorded one is adopted.
    assert await ensure_layout(redis, Settings()) == keys.partitions()
