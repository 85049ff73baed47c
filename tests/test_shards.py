"""Pipelines through Shards keep their connections, and survive losing one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.exceptions import TimeoutError as RedisTimeoutError

from fairhub.config import Settings
from fairhub.redis import MAX_CONNECTIONS, Op, RedisClient, Shards, open_redis


@pytest.fixture
async def shards(redis: RedisClient, settings: Settings) -> AsyncIterator[Shards]:
    shards = Shards(redis, settings)
    yield shards
    await shards.aclose()


@pytest.fixture
async def key(redis: RedisClient) -> AsyncIterator[str]:
    name = f"shards:{uuid.uuid4().hex}"
    yield name
    await redis.delete(name)


async def _connection_id(shards: Shards, key: str) -> int:
    (reply,), _ = await shards.run([Op(key, ("CLIENT", "ID"))])
    return int(reply)


async def test_a_pipeline_keeps_its_connection_for_the_next(shards: Shards, key: str) -> None:
    first = await _connection_id(shards, key)
    assert await _connection_id(shards, key) == first


async def test_a_kept_connection_the_server_closed_is_replaced_without_an_error(
    shards: Shards, key: str
) -> None:
    kept = await _connection_id(shards, key)
    await shards.node(shards.node_of(key)).execute_command("CLIENT", "KILL", "ID", kept)
    await asyncio.sleep(0.05)  # the close reaches the kept connection's socket
    (count,), _ = await shards.run([Op(key, ("INCR", key))])
    assert count == 1
    assert await _connection_id(shards, key) != kept


async def test_many_pipelines_at_once_all_answer_and_leave_the_pool_usable(
    shards: Shards, key: str, redis: RedisClient
) -> None:
    answers = await asyncio.gather(*(shards.run([Op(key, ("INCR", key))]) for _ in range(80)))
    assert sorted(reply for (reply,), _ in answers) == list(range(1, 81))
    assert int(await redis.get(key) or 0) == 80  # the client's own commands still run


async def test_round_trips_past_the_timeout_fail_as_redis_timeouts_and_keep_no_connection(
    settings: Settings, key: str
) -> None:
    hasty = settings.model_copy(update={"redis_timeout_seconds": 0.05})
    async with open_redis(hasty) as client:
        shards = Shards(client, hasty)
        try:
            # WAIT for ten replicas that never come: the server answers after 0.3 s, too late.
            for _ in range(MAX_CONNECTIONS + 6):
                with pytest.raises(RedisTimeoutError):
                    await shards.run([Op(key, ("WAIT", 10, 300))])
            # Each broken connection went back to the pool: there are still some to take.
            (count,), _ = await shards.run([Op(key, ("INCR", key))])
            assert count == 1
            assert await client.get(key) == b"1"
        finally:
            await shards.aclose()
