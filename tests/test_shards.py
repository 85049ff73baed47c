"""Pipelines through Shards keep their connections, and survive losing one."""

from __future__ import annotations

import asyncio

from fairhub.config import Settings
from fairhub.redis import Op, RedisClient, Shards


async def _connection_id(shards: Shards, key: str) -> int:
    (reply,), _ = await shards.run([Op(key, ("CLIENT", "ID"))])
    return int(reply)


async def test_a_pipeline_keeps_its_connection_for_the_next(
    redis: RedisClient, settings: Settings
) -> None:
    shards = Shards(redis, settings)
    try:
        first = await _connection_id(shards, "shards:kept")
        assert await _connection_id(shards, "shards:kept") == first
    finally:
        await shards.aclose()


async def test_a_kept_connection_the_server_closed_is_replaced_without_an_error(
    redis: RedisClient, settings: Settings
) -> None:
    shards = Shards(redis, settings)
    key = "shards:killed"
    try:
        kept = await _connection_id(shards, key)
        node = shards.node(shards.node_of(key))
        await node.execute_command("CLIENT", "KILL", "ID", kept)
        await asyncio.sleep(0.05)  # the close reaches the kept connection's socket
        (count,), _ = await shards.run([Op(key, ("INCR", key))])
        assert count == 1
        assert await _connection_id(shards, key) != kept
    finally:
        await redis.delete(key)
        await shards.aclose()


async def test_many_pipelines_at_once_all_answer_and_leave_the_pool_usable(
    redis: RedisClient, settings: Settings
) -> None:
    shards = Shards(redis, settings)
    key = "shards:many"
    try:
        answers = await asyncio.gather(*(shards.run([Op(key, ("INCR", key))]) for _ in range(80)))
        assert sorted(reply for (reply,), _ in answers) == list(range(1, 81))
        assert int(await redis.get(key) or 0) == 80  # the client's own commands still run
    finally:
        await redis.delete(key)
        await shards.aclose()
