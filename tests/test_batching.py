"""The group commit under the gate and presence: answers go back to the right callers."""

from __future__ import annotations

import asyncio

import pytest

from fairhub.batching import Batcher


async def test_concurrent_items_share_flushes_and_get_their_own_answers() -> None:
    flushes: list[list[int]] = []

    async def double(items: list[int]) -> list[int]:
        flushes.append(items)
        await asyncio.sleep(0.01)  # a round trip: the others queue meanwhile
        return [2 * item for item in items]

    batcher: Batcher[int, int] = Batcher(double)
    answers = await asyncio.gather(*(batcher.submit(n) for n in range(100)))
    assert answers == [2 * n for n in range(100)]
    assert sorted(n for flush in flushes for n in flush) == list(range(100))
    assert len(flushes) <= 2  # together, not 100 round trips


async def test_a_failed_flush_fails_its_callers_and_the_next_flush_goes_on() -> None:
    calls = 0

    async def flaky(items: list[str]) -> list[str]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        if calls == 1:
            raise ConnectionError("redis went away")
        return [item.upper() for item in items]

    batcher: Batcher[str, str] = Batcher(flaky)
    first = asyncio.create_task(batcher.submit("a"))
    await asyncio.sleep(0)
    later = asyncio.create_task(batcher.submit("b"))
    with pytest.raises(ConnectionError):
        await first
    assert await later == "B"
