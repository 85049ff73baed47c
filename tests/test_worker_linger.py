"""After a short batch the worker waits a moment, so events arriving one by one are counted
in a few transactions, not one each (settings.worker_linger_ms says why)."""

from __future__ import annotations

import asyncio

import asyncpg
from support import Gateway, WorkerTask, event, eventually, totals

from fairhub.config import Settings


async def _counted(gateway: Gateway, fair: str, token: str, want: int) -> None:
    async def check() -> bool:
        return totals(await gateway.stats(fair, token)).get("checkins", (0, 0))[0] == want

    await eventually(check)


async def _transactions(db: asyncpg.Connection, fair: str, ids: list[str]) -> int:
    """received_at is now(): the start of the transaction that inserted the event."""
    count: int = await db.fetchval(
        "SELECT count(DISTINCT received_at) FROM events WHERE fair_id = $1 AND id = ANY($2)",
        fair,
        ids,
    )
    return count


async def test_events_arriving_one_by_one_share_transactions(
    settings: Settings, db: asyncpg.Connection
) -> None:
    lingering = settings.model_copy(update={"worker_linger_ms": 1500})
    async with Gateway.running(lingering) as gateway, WorkerTask.running(lingering):
        fair, token = await gateway.create_fair()
        await gateway.post(fair, token, [event("checkin", seeker_id="first")])
        await _counted(gateway, fair, token, 1)  # the reader now waits before reading again

        # Twenty events, one request each, spread over ~0.4 s: without the wait each would
        # wake the blocked read and go to Postgres nearly alone.
        trickle = [event("checkin", seeker_id=f"S{n}") for n in range(20)]
        for item in trickle:
            await gateway.post(fair, token, [item])
            await asyncio.sleep(0.02)
        await _counted(gateway, fair, token, 21)
        assert await _transactions(db, fair, [item["id"] for item in trickle]) <= 2


async def test_without_lingering_each_trickled_event_goes_alone(
    settings: Settings, db: asyncpg.Connection
) -> None:
    """The control: the same trickle with no wait takes many transactions, so the test above
    would fail if the wait were gone."""
    eager = settings.model_copy(update={"worker_linger_ms": 0})
    async with Gateway.running(eager) as gateway, WorkerTask.running(eager):
        fair, token = await gateway.create_fair()
        trickle = [event("checkin", seeker_id=f"S{n}") for n in range(20)]
        for item in trickle:
            await gateway.post(fair, token, [item])
            await asyncio.sleep(0.02)
        await _counted(gateway, fair, token, 20)
        assert await _transactions(db, fair, [item["id"] for item in trickle]) >= 5


async def test_a_transaction_holds_at_most_a_batch_of_events_however_large_the_entries(
    settings: Settings, db: asyncpg.Connection
) -> None:
    """A stream entry holds a whole request's events (here 500): the worker still commits at
    most `worker_batch_size` events a transaction, so memory and lock time stay bounded."""
    small = settings.model_copy(update={"worker_batch_size": 200})
    async with Gateway.running(small) as gateway:
        fair, token = await gateway.create_fair()
        for start in range(0, 1500, 500):
            batch = [event("checkin", seeker_id=f"S{n}") for n in range(start, start + 500)]
            await gateway.post(fair, token, batch)
        async with WorkerTask.running(small):
            await _counted(gateway, fair, token, 1500)
    sizes = await db.fetch(
        "SELECT count(*) AS n FROM events WHERE fair_id = $1 GROUP BY received_at", fair
    )
    assert sum(r["n"] for r in sizes) == 1500
    assert max(r["n"] for r in sizes) <= 200
    assert len(sizes) >= 8  # 1,500 events in transactions of at most 200
