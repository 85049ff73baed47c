"""Outages (DESIGN): acknowledged means durable, and Postgres may go away.

Every test here runs against servers of its own (embedded, under tmp_path) for the dependency
it stops or kills, so the session's shared servers keep running for the other tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import asyncpg
import pytest
from oracle import METRIC_OF, as_answered, expected_totals
from redis.asyncio import Redis
from support import (
    ADMIN_TOKEN,
    Gateway,
    WorkerTask,
    event,
    eventually,
    fair_entries,
    make_settings,
    totals,
)

from fairhub import keys
from fairhub.config import Settings
from fairhub.embedded import EmbeddedPostgres, EmbeddedRedis
from fairhub.migrate import migrate

Server: TypeAlias = EmbeddedPostgres | EmbeddedRedis

# Types kept in the events table (presence beats are not stored).
STORED_TYPES = frozenset(METRIC_OF) | {"live_leave"}


# ---------------------------------------------------------------------------------- helpers


@pytest.fixture
def stop_later() -> Iterator[list[Server]]:
    """Servers to stop at the end even when a test fails: no test leaves a process behind."""
    servers: list[Server] = []
    yield servers
    for server in reversed(servers):
        server.stop()


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


class Ledger:
    """What the gateway acknowledged: posts through here check every per-event status."""

    def __init__(self, gateway: Gateway, fair: str, token: str) -> None:
        self.gateway = gateway
        self.fair = fair
        self.token = token
        self.accepted: dict[str, dict[str, Any]] = {}

    async def post(self, events: list[dict[str, Any]], statuses: list[str]) -> None:
        results = await self.gateway.post(self.fair, self.token, events)
        assert [(r["id"], r["status"]) for r in results] == [
            (ev["id"], as_answered(ev, s)) for ev, s in zip(events, statuses, strict=True)
        ], results
        for ev, status in zip(events, statuses, strict=True):
            if ev["type"] == "live_heartbeat":
                continue  # presence only: never stored, so never "duplicate" either
            if status == "accepted":
                assert ev["id"] not in self.accepted
                self.accepted[ev["id"]] = ev
            elif status == "duplicate":
                assert self.accepted[ev["id"]] == ev

    def expected(self) -> dict[str, tuple[int, int]]:
        return expected_totals(self.accepted.values())


async def post_raw(
    gateway: Gateway, fair: str, token: str, body: Any
) -> tuple[int, dict[str, str], Any]:
    """POST events; the status, the headers and the parsed body, whatever the status."""
    async with gateway.session.post(
        f"{gateway.base}/v1/fairs/{fair}/events",
        headers={"Authorization": f"Bearer {token}"},
        json=body,
    ) as response:
        payload = await response.json() if response.content_type == "application/json" else None
        return response.status, dict(response.headers), payload


def assert_unavailable(status: int, headers: dict[str, str], body: Any, settings: Settings) -> None:
    """A 503 that tells the client to retry: Retry-After and the {error, detail, fields} body."""
    assert status == 503, (status, body)
    assert headers.get("Retry-After") == str(settings.retry_after_seconds), headers
    assert isinstance(body, dict), body
    assert {"error", "detail", "fields"} <= body.keys(), body
    assert isinstance(body["error"], str) and body["error"], body
    assert isinstance(body["detail"], str) and body["detail"], body
    assert isinstance(body["fields"], list), body
    assert "results" not in body, body  # nothing was acknowledged


async def stream_event_ids(redis_url: str, fair: str) -> list[str]:
    """The ids of the events in the fair's stream, sorted (a check-in whose seeker card Redis
    lacked is appended after the other events of its request)."""
    client = Redis.from_url(redis_url)
    try:
        entries = await fair_entries(client, fair)
    finally:
        await client.aclose()
    return sorted(str(e["id"]) for e in entries)


async def fetch_stats(gateway: Gateway, fair: str, token: str) -> tuple[int, Any]:
    return await gateway.request("GET", f"/v1/fairs/{fair}/stats", token)


async def wait_for_totals(
    gateway: Gateway, fair: str, token: str, expected: dict[str, tuple[int, int]], timeout: float
) -> None:
    """Poll /stats until its totals are `expected`; on timeout show the last answer."""
    last: list[Any] = [None]

    async def reached() -> bool:
        status, body = await fetch_stats(gateway, fair, token)
        last[0] = (status, body)
        return status == 200 and totals(body) == expected

    try:
        await eventually(reached, timeout=timeout)
    except AssertionError:
        status, body = last[0]
        got = totals(body) if status == 200 else body
        raise AssertionError(
            f"/stats never reached {expected}; last answer {status}: {got}"
        ) from None


@pytest.fixture
async def own_redis(tmp_path: Path, stop_later: list[Server]) -> EmbeddedRedis:
    server = EmbeddedRedis(tmp_path / "redis")
    stop_later.append(server)
    await asyncio.to_thread(server.start)
    return server


# ------------------------------------------------------------------------------------ tests


async def test_redis_crash_answers_503_and_keeps_acknowledged_events(
    database_url: str, tmp_path: Path, own_redis: EmbeddedRedis, stop_later: list[Server]
) -> None:
    settings = make_settings(database_url, own_redis.url, tmp_path)
    async with Gateway.running(settings) as gw:
        fair, token = await gw.create_fair()
        ledger = Ledger(gw, fair, token)
        before = [
            event("checkin", seeker_id="S1"),
            event("checkin", 1, seeker_id="S2"),
            event("booth_visit", 2, employer_id="E1", seeker_id="S1"),
            event("qr_scan", 3, target="fair", visitor_id="V1"),
        ]
        await ledger.post(before, ["accepted"] * 4)
        await ledger.post(
            [before[0], event("consultation", 4, seeker_id="S3")], ["duplicate", "accepted"]
        )
        acknowledged = list(ledger.accepted)

        own_redis.kill()  # SIGKILL: no shutdown, no final flush

        refused = [event("checkin", 5, seeker_id="S4")]
        for caller in (token, ADMIN_TOKEN):  # organizer (auth cached) and admin (fair lookup)
            status, headers, body = await post_raw(gw, fair, caller, {"events": refused})
            assert_unavailable(status, headers, body, settings)
            assert body["error"] in ("not_durable", "redis_unavailable"), body
        # A single event, and a resend of acknowledged events: never 202 while Redis is away.
        status, headers, body = await post_raw(gw, fair, token, refused[0])
        assert_unavailable(status, headers, body, settings)
        status, headers, body = await post_raw(gw, fair, token, {"events": before})
        assert_unavailable(status, headers, body, settings)

        restarted = EmbeddedRedis(own_redis.data_dir, port=port_of(own_redis.url))
        stop_later.append(restarted)
        await asyncio.to_thread(restarted.start)
        assert restarted.url == own_redis.url

        # Acknowledged means durable: every 202'd event survived the SIGKILL, nothing else is there.
        assert await stream_event_ids(restarted.url, fair) == sorted(acknowledged)

        # The gateway recovers by itself; the ids it remembered survived too.
        await ledger.post(before, ["duplicate"] * 4)
        after = [*refused, event("checkin", 6, seeker_id="S1")]
        await ledger.post(after, ["accepted", "accepted"])
        assert await stream_event_ids(restarted.url, fair) == sorted(ledger.accepted)


async def test_redis_without_aof_cannot_acknowledge(
    database_url: str, tmp_path: Path, stop_later: list[Server]
) -> None:
    server = EmbeddedRedis(tmp_path / "redis", appendonly=False)
    stop_later.append(server)
    await asyncio.to_thread(server.start)
    settings = make_settings(database_url, server.url, tmp_path)
    async with Gateway.running(settings) as gw:
        fair, token = await gw.create_fair()
        batch = [
            event("checkin", seeker_id="S1"),
            event("booth_visit", employer_id="E1", seeker_id="S1"),
        ]
        for body in (
            {"events": batch},
            {"events": batch},
            batch[0],
            {"events": [event("checkin", seeker_id="S2")]},
        ):
            status, headers, answer = await post_raw(gw, fair, token, body)
            assert_unavailable(status, headers, answer, settings)
            assert answer["error"] == "not_durable", answer
        # The batch with a bad event too: the good neighbour cannot be acknowledged either.
        bad = {"id": "bad-event-0001", "type": "checkin", "occurred_at": "yesterday"}
        status, headers, answer = await post_raw(gw, fair, ADMIN_TOKEN, {"events": [bad, batch[0]]})
        assert_unavailable(status, headers, answer, settings)


async def test_postgres_outage_keeps_ingest_and_counts_exactly_once_back(
    tmp_path: Path, own_redis: EmbeddedRedis, stop_later: list[Server]
) -> None:
    postgres = EmbeddedPostgres(tmp_path / "postgres")
    stop_later.append(postgres)
    await asyncio.to_thread(postgres.start)
    await migrate(postgres.url)
    settings = make_settings(postgres.url, own_redis.url, tmp_path)
    redis = Redis.from_url(own_redis.url)
    try:
        async with Gateway.running(settings) as gw, WorkerTask.running(settings) as worker:
            fair, token = await gw.create_fair()
            ledger = Ledger(gw, fair, token)
            first = [
                event("checkin", seeker_id="S1"),
                event("checkin", seeker_id="S2"),
                event("checkin", 1, seeker_id="S1"),
                event("booth_visit", 1, employer_id="E1", seeker_id="S1"),
                event("qr_scan", 2, target="position", target_id="P1", visitor_id="V1"),
                event("live_join", 2, session_id="L1", viewer_id="W1"),
                event("live_heartbeat", 3, session_id="L1", viewer_id="W1"),
                event("consultation", 3, seeker_id="S3", employer_id="E1"),
            ]
            await ledger.post(first, ["accepted"] * len(first))
            await wait_for_totals(gw, fair, token, ledger.expected(), timeout=30)

            await asyncio.to_thread(postgres.stop)

            # Ingest needs no Postgres: resent ids are duplicates, new ids are accepted,
            # returning seekers add to totals but not to uniques.
            await ledger.post(first, ["duplicate"] * len(first))
            second = [
                event("checkin", 10, seeker_id="S1"),
                event("checkin", 10, seeker_id="S4"),
                event("booth_visit", 11, employer_id="E1", seeker_id="S2"),
                event("booth_visit", 11, employer_id="E2", seeker_id="S1"),
                event("resume_submitted", 12, seeker_id="S2", employer_id="E1", channel="onsite"),
                event("intent_agreed", 12, seeker_id="S1", employer_id="E2"),
                event("live_join", 13, session_id="L1", viewer_id="W1"),
                event("live_leave", 14, session_id="L1", viewer_id="W1"),
            ]
            await ledger.post(second, ["accepted"] * len(second))
            third = [
                second[0],
                event("checkin", 15, seeker_id="S2"),
                second[3],
                event("qr_scan", 15, target="fair", visitor_id="V2"),
                first[4],
                event("qr_scan", 16, target="employer", target_id="E1", visitor_id="V1"),
            ]
            await ledger.post(
                third, ["duplicate", "accepted", "duplicate", "accepted", "duplicate", "accepted"]
            )
            single = event("consultation", 17, seeker_id="S3")
            status, _, body = await post_raw(gw, fair, token, single)
            assert status == 202, body
            assert body["results"] == [{"id": single["id"], "status": "accepted"}]
            ledger.accepted[single["id"]] = single
            status, _, body = await post_raw(gw, fair, token, single)
            assert status == 202, body
            assert body["results"] == [{"id": single["id"], "status": "duplicate"}]

            # Reads need Postgres: a clean 503, not a hang and not a traceback.
            async with gw.session.get(
                f"{gw.base}/v1/fairs/{fair}/stats", headers={"Authorization": f"Bearer {token}"}
            ) as response:
                assert response.content_type == "application/json"
                stats_body = await response.json()
                assert_unavailable(response.status, dict(response.headers), stats_body, settings)
            status, ready = await gw.request("GET", "/readyz", token=None)
            assert status == 503, ready
            assert ready["checks"]["redis"] == "ok", ready
            assert ready["checks"]["postgres"] != "ok", ready

            # The worker holds what it read, unacknowledged, while Postgres is away.
            async def holding() -> bool:
                return int((await redis.xpending(keys.stream(fair), keys.GROUP))["pending"]) > 0

            await eventually(holding, timeout=30)
            assert worker.task.done() is False

            restarted = EmbeddedPostgres(postgres.data_dir, port=port_of(postgres.url))
            stop_later.append(restarted)
            await asyncio.to_thread(restarted.start)
            assert restarted.url == postgres.url

            expected = ledger.expected()
            assert expected == {
                "checkins": (6, 3),
                "checkins_denied": (0, 0),
                "qr_scans": (3, 2),
                "booth_visits": (3, 2),
                "resumes_submitted": (1, 1),
                "resumes_downloaded": (0, 0),
                "intents": (1, 1),
                "consultations": (2, 1),
                "live_views": (2, 1),
                "hires": (0, 0),
            }
            await wait_for_totals(gw, fair, token, expected, timeout=60)

            # Everything read and acknowledged: the figures are final, not on their way.
            async def drained() -> bool:
                groups = await redis.xinfo_groups(keys.stream(fair))
                group = next(g for g in groups if g["name"] in (keys.GROUP, keys.GROUP.encode()))
                return bool(group["pending"] == 0 and group["lag"] == 0)

            await eventually(drained, timeout=30)
            status, body = await fetch_stats(gw, fair, token)
            assert status == 200, body
            assert totals(body) == expected
            status, ready = await gw.request("GET", "/readyz", token=None)
            assert status == 200, ready

        conn = await asyncpg.connect(restarted.url)
        try:
            dead = await conn.fetchval("SELECT count(*) FROM dead_letters WHERE fair_id = $1", fair)
            stored = await conn.fetch("SELECT id FROM events WHERE fair_id = $1", fair)
        finally:
            await conn.close()
        assert dead == 0
        assert sorted(r["id"] for r in stored) == sorted(
            i for i, ev in ledger.accepted.items() if ev["type"] in STORED_TYPES
        )
    finally:
        await redis.aclose()


async def test_readyz_names_the_failing_dependency(
    database_url: str, tmp_path: Path, own_redis: EmbeddedRedis, stop_later: list[Server]
) -> None:
    settings = make_settings(database_url, own_redis.url, tmp_path)
    async with Gateway.running(settings) as gw:
        status, body = await gw.request("GET", "/readyz", token=None)
        assert (status, body["status"], body["checks"]) == (
            200,
            "ready",
            {"redis": "ok", "postgres": "ok"},
        ), body

        own_redis.kill()
        status, body = await gw.request("GET", "/readyz", token=None)
        assert status == 503, body
        assert body["status"] == "not_ready", body
        assert body["checks"]["postgres"] == "ok", body
        assert body["checks"]["redis"].startswith("unavailable"), body
        # Liveness does not depend on the dependencies: the process itself is fine.
        assert await gw.request("GET", "/healthz", token=None) == (200, {"status": "ok"})

        restarted = EmbeddedRedis(own_redis.data_dir, port=port_of(own_redis.url))
        stop_later.append(restarted)
        await asyncio.to_thread(restarted.start)
        status, body = await gw.request("GET", "/readyz", token=None)
        assert (status, body["status"], body["checks"]) == (
            200,
            "ready",
            {"redis": "ok", "postgres": "ok"},
        ), body
