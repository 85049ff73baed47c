"""The whole path once: ingest -> stream -> worker -> Postgres -> /stats."""

from __future__ import annotations

from support import Gateway, WorkerTask, event, eventually, totals


async def test_events_reach_stats(gateway: Gateway, worker: WorkerTask) -> None:
    fair, token = await gateway.create_fair()
    events = [
        event("checkin", seeker_id="S1"),
        event("checkin", seeker_id="S2"),
        event("checkin", 1, seeker_id="S1"),
        event("booth_visit", employer_id="E1", seeker_id="S1"),
        event("qr_scan", target="position", target_id="P1", visitor_id="V1"),
    ]
    results = await gateway.post(fair, token, events)
    assert [r["status"] for r in results] == ["accepted"] * 5

    async def counted() -> bool:
        return totals(await gateway.stats(fair, token))["checkins"] == (3, 2)

    await eventually(counted)
    stats = await gateway.stats(fair, token)
    assert totals(stats)["booth_visits"] == (1, 1)
    assert totals(stats)["qr_scans"] == (1, 1)
    assert stats["by_employer"][0]["employer_id"] == "E1"
    assert [m["minute"] for m in stats["per_minute"]] == [
        "2026-11-21T09:00:00Z",
        "2026-11-21T09:01:00Z",
    ]
