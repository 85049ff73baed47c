"""GET /v1/fairs/{fair}/stats/stream: what the organizers' dashboards are fed.

Real gateway, real worker, real Redis pub/sub and Postgres: an event posted to the gateway
must come out of every open stream, each stream starting with the figures as they are.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from support import Gateway, StatsStream, WorkerTask, event, make_settings, totals

from fairhub.config import Settings


@pytest.fixture
def settings(database_url: str, servers: tuple[str, str], tmp_path: Path) -> Settings:
    # Quick beats so that a quiet stream shows them within the test.
    return make_settings(database_url, servers[1], tmp_path, stats_stream_heartbeat_seconds=0.3)


def _visits(n: int, minute: int = 0) -> list[dict[str, object]]:
    return [
        event("qr_scan", minute, target="fair", visitor_id=f"visitor-{i % 3}") for i in range(n)
    ]


async def test_two_dashboards_get_the_totals_then_every_change(
    gateway: Gateway, worker: WorkerTask
) -> None:
    fair, organizer = await gateway.create_fair()
    async with (
        StatsStream.open(gateway, fair, organizer) as first,
        StatsStream.open(gateway, fair, organizer) as second,
    ):
        for stream in (first, second):
            version, data = await stream.next_event()
            assert data["fair"] == fair and data["version"] == version == 0
            assert totals(data)["qr_scans"] == (0, 0)
            assert "by_position" not in data  # the dashboard does not show it

        await gateway.post(fair, organizer, _visits(5))
        seen = [
            await stream.until(lambda d: d["totals"]["qr_scans"]["total"] == 5)
            for stream in (first, second)
        ]
        assert seen[0] == seen[1]  # one snapshot, fanned out
        version, data = seen[0]
        assert totals(data)["qr_scans"] == (5, 3)
        assert data["per_minute"] == [
            {"minute": "2026-11-21T09:00:00Z", "totals": {"qr_scans": {"total": 5, "unique": 3}}}
        ]
        assert version > 0 and data == {**data, "version": version}
        # The stream says the same as /stats.
        stats = await gateway.stats(fair, organizer)
        assert totals(stats) == totals(data)
        assert data["checkins_by_verdict"] == stats["checkins_by_verdict"]


async def test_reconnecting_with_last_event_id(gateway: Gateway, worker: WorkerTask) -> None:
    fair, organizer = await gateway.create_fair()
    await gateway.post(fair, organizer, _visits(2))
    async with StatsStream.open(gateway, fair, organizer) as stream:
        version, _ = await stream.until(lambda d: d["totals"]["qr_scans"]["total"] == 2)

    # Up to date: nothing is resent, only beats, until the figures move.
    async with StatsStream.open(gateway, fair, organizer, last_event_id=version) as stream:
        waiting = asyncio.create_task(stream.next_event(timeout=20))
        await asyncio.sleep(1.0)
        assert not waiting.done(), "an up-to-date client got the same snapshot again"
        assert stream.comments >= 2  # keep-alive beats meanwhile
        await gateway.post(fair, organizer, _visits(1, minute=3))
        newer, data = await waiting
        assert newer > version and data["totals"]["qr_scans"]["total"] == 3

    # Behind: the current figures at once, whatever was missed.
    await gateway.post(fair, organizer, _visits(4, minute=4))
    async with StatsStream.open(gateway, fair, organizer, last_event_id=version) as stream:
        _, data = await stream.until(lambda d: d["totals"]["qr_scans"]["total"] == 7)
        assert [row["minute"][11:16] for row in data["per_minute"]] == ["09:00", "09:03", "09:04"]


async def test_many_dashboards_cost_one_read_per_change(
    gateway: Gateway, worker: WorkerTask
) -> None:
    fair, organizer = await gateway.create_fair()
    async with StatsStream.open(gateway, fair, organizer) as first:
        await first.next_event()
        reads = REGISTRY.get_sample_value("fairhub_stats_stream_reads_total") or 0.0
        async with (
            StatsStream.open(gateway, fair, organizer) as s2,
            StatsStream.open(gateway, fair, organizer) as s3,
            StatsStream.open(gateway, fair, organizer) as s4,
            StatsStream.open(gateway, fair, organizer) as s5,
            StatsStream.open(gateway, fair, organizer) as s6,
        ):
            others = [s2, s3, s4, s5, s6]
            for stream in others:  # the feed's snapshot, no read of their own
                await stream.next_event()
            await gateway.post(fair, organizer, _visits(3))
            for stream in [first, *others]:
                await stream.until(lambda d: d["totals"]["qr_scans"]["total"] == 3)
            made = (REGISTRY.get_sample_value("fairhub_stats_stream_reads_total") or 0.0) - reads
        # One read per announcement (the worker may commit the 3 events in 1 or 2 batches),
        # not one per dashboard.
        assert 1 <= made <= 3, made


async def test_only_the_fairs_organizer_may_watch(gateway: Gateway) -> None:
    fair, organizer = await gateway.create_fair()
    _, other_organizer = await gateway.create_fair()
    employer = await gateway.create(fair, organizer, "employers", name="Acme")
    path = f"/v1/fairs/{fair}/stats/stream"
    for token, status in ((None, 401), (other_organizer, 403), (employer["token"], 403)):
        answer, body = await gateway.request("GET", path, token)
        assert answer == status and body["fields"] == ["Authorization"], body
    answer, body = await gateway.request("GET", "/v1/fairs/no-such-fair/stats/stream")
    assert answer in (400, 404), body
