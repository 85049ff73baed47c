"""Commands packed by hiredis (fairhub.redis.PackedConnection) mean what redis-py meant."""

from __future__ import annotations

import pytest
from redis.asyncio import Connection
from redis.exceptions import DataError

from fairhub.redis import PackedConnection, RedisClient


def test_the_bytes_are_redis_pys_for_every_kind_of_argument() -> None:
    ours, theirs = PackedConnection(), Connection()
    commands = [
        ("SET", "k", "名字 é", "EX", 60),
        ("EVALSHA", "a" * 40, 2, "s", "seen", 0.1 + 0.2, -1, 2**70, b"\x00\xff"),
        ("SCRIPT LOAD", "return 1"),  # a multi-word command name is split, as redis-py does
        (b"XINFO GROUPS", b"stream"),
    ]
    for command in commands:
        assert b"".join(ours.pack_command(*command)) == b"".join(theirs.pack_command(*command))


def test_what_hiredis_refuses_is_refused_as_redis_py_refuses_it() -> None:
    for bad in (True, None):
        with pytest.raises(DataError):
            PackedConnection().pack_command("SET", "k", bad)


async def test_the_client_speaks_through_it(redis: RedisClient) -> None:
    assert redis.connection_pool.connection_class is PackedConnection  # type: ignore[union-attr]
    await redis.set("packing:k", "名字", ex=60)
    assert await redis.get("packing:k") == b"\xe5\x90\x8d\xe5\xad\x97"
    sha = await redis.script_load("return ARGV[1] .. KEYS[1]")
    assert await redis.evalsha(sha, 1, "packing:k", "x") == b"xpacking:k"
