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


async def test_several_flushers_keep_flushes_in_flight_within_the_limit() -> None:
    in_flight = peak = 0
    flushes: list[list[list[int]]] = []

    async def slow(items: list[list[int]]) -> list[int]:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        flushes.append(items)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return [sum(item) for item in items]

    batcher: Batcher[list[int], int] = Batcher(slow, flushers=3, limit=10, weight=len)
    items = [[n] * 4 for n in range(30)]  # 120 "events" in items of 4
    answers = await asyncio.gather(*(batcher.submit(item) for item in items))
    assert answers == [4 * n for n in range(30)]
    assert peak == 3  # three flushes at once, never more
    # Each flush carries whole items up to about the limit (10 events: 3 items of 4).
    assert all(sum(len(i) for i in flush) <= 12 for flush in flushes)
    assert len(flushes) < 30


async def test_closing_fails_who_still_waits() -> None:
    release = asyncio.Event()

    async def stuck(items: list[int]) -> list[int]:
        await release.wait()
        return items

    batcher: Batcher[int, int] = Batcher(stuck)
    first = asyncio.create_task(batcher.submit(1))
    await asyncio.sleep(0)
    second = asyncio.create_task(batcher.submit(2))
    await asyncio.sleep(0)
    await batcher.aclose(ConnectionError("shutting down"))
    for waiting in (first, second):  # one in a flush cut short, one queued
        with pytest.raises(ConnectionError):
            await waiting


async def test_an_item_arriving_as_the_last_flush_ends_is_flushed_too() -> None:
    """A flusher whose loop has just ended, its done-callbacks not yet run, is not running."""

    async def echo(items: list[int]) -> list[int]:
        return items

    batcher: Batcher[int, int] = Batcher(echo)
    first = asyncio.create_task(batcher.submit(1))
    await first  # the flusher's loop ended; its task is done
    # Run the next item before anything else gets a turn (as another callback would).
    assert await asyncio.wait_for(batcher.submit(2), timeout=2) == 2


async def test_a_burst_starts_one_flusher_and_a_busy_flush_does_not_hold_the_next() -> None:
    release = asyncio.Event()
    flushes: list[list[int]] = []

    async def flush(items: list[int]) -> list[int]:
        flushes.append(items)
        if len(flushes) == 1:
            await release.wait()  # a slow round trip
        return items

    batcher: Batcher[int, int] = Batcher(flush, flushers=4)
    before = len(asyncio.all_tasks())
    burst = [asyncio.ensure_future(batcher.submit(n)) for n in range(10)]
    await asyncio.sleep(0)  # the ten submits ran, in one go
    assert len(asyncio.all_tasks()) - before == 10 + 1  # one flusher for all ten, not four
    await asyncio.sleep(0)
    assert flushes == [list(range(10))]
    # The first flush still waits: a new item starts a flusher of its own.
    assert await asyncio.wait_for(batcher.submit(99), timeout=2) == 99
    release.set()
    assert await asyncio.gather(*burst) == list(range(10))
