"""The ingest contract of API.md: per-event results, clear 4xx for bad input, scoped tokens."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from redis.asyncio import Redis
from support import Gateway, event, fair_entries

from fairhub.auth import issue, mirror
from fairhub.config import Settings


async def test_a_bad_event_never_rejects_its_neighbours(gateway: Gateway, redis: Redis) -> None:
    fair, token = await gateway.create_fair()
    good = event("checkin", seeker_id="S1")
    no_channel = event("resume_submitted", seeker_id="S1", employer_id="E1")
    naive_time = event("checkin", seeker_id="S2", occurred_at="2026-11-21T09:00:00")
    future = event(
        "checkin", seeker_id="S3", occurred_at=(datetime.now(UTC) + timedelta(days=2)).isoformat()
    )
    nul_topic = event("consultation", topic="a\u0000b")
    short_id = event("checkin", seeker_id="S4", id="short")
    unknown_type = event("teleport", seeker_id="S5")
    also_good = event("qr_scan", target="fair", visitor_id="V1")
    batch = [good, no_channel, naive_time, future, nul_topic, short_id, unknown_type, also_good]

    results = await gateway.post(fair, token, batch)

    assert [r["status"] for r in results] == ["accepted"] + ["rejected"] * 6 + ["accepted"]
    assert [r["id"] for r in results] == [e["id"] for e in batch]
    reasons = [r.get("reason", "") for r in results]
    assert reasons[1].startswith("channel:")
    assert reasons[2].startswith("occurred_at:")
    assert "future" in reasons[3]
    assert reasons[4].startswith("topic:")
    assert reasons[5].startswith("id:")
    assert "teleport" in reasons[6]
    assert reasons[3] == "occurred_at: occurred_at is in the future; check the device clock"
    assert len(await fair_entries(redis, fair)) == 2


async def test_a_single_bad_event_gets_422_naming_the_field(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    status, body = await gateway.request(
        "POST", f"/v1/fairs/{fair}/events", token, json=event("booth_visit", seeker_id="S1")
    )
    assert status == 422
    assert body["error"] == "invalid_event"
    assert body["results"][0]["status"] == "rejected"
    assert "employer_id" in body["fields"]


async def test_a_single_good_event_is_accepted_then_duplicate(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    one = event("live_join", session_id="L1", viewer_id="V1")
    for expected in ("accepted", "duplicate"):
        status, body = await gateway.request("POST", f"/v1/fairs/{fair}/events", token, json=one)
        assert status == 202
        assert body == {"results": [{"id": one["id"], "status": expected}]}


async def test_bodies_of_the_wrong_kind_get_clear_4xx(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    path = f"/v1/fairs/{fair}/events"
    cases = [
        ({"data": b"{not json"}, 400, "invalid_json"),
        ({"json": [event("checkin", seeker_id="S1")]}, 422, "wrong_shape"),
        ({"json": {"events": "many"}}, 422, "invalid"),
        ({"json": {"events": []}}, 422, "batch_size"),
        ({"json": {"events": [event("checkin", seeker_id="S1")] * 501}}, 422, "batch_size"),
        ({"data": io.BytesIO(b'{"events": ["' + b"x" * 3_000_000 + b'"]}')}, 413, "too_large"),
    ]
    for kwargs, status, code in cases:
        got_status, body = await gateway.request("POST", path, token, **kwargs)  # type: ignore[arg-type]
        assert (got_status, body["error"]) == (status, code), body
        assert body["detail"]


async def test_tokens_are_scoped_to_their_fair(gateway: Gateway) -> None:
    _, token_a = await gateway.create_fair("A")
    fair_b, token_b = await gateway.create_fair("B")
    path = f"/v1/fairs/{fair_b}/events"
    one: dict[str, Any] = {"json": event("checkin", seeker_id="S1")}
    assert (await gateway.request("POST", path, None, **one))[0] == 401
    assert (await gateway.request("POST", path, "fho_made_up", **one))[0] == 401
    status, body = await gateway.request("POST", path, token_a, **one)
    assert (status, body["error"]) == (403, "forbidden")
    assert (await gateway.request("GET", f"/v1/fairs/{fair_b}/stats", token_a))[0] == 403
    assert (await gateway.request("GET", f"/v1/fairs/{fair_b}/stats", token_b))[0] == 200
    missing = "00000000-0000-4000-8000-000000000000"
    assert (await gateway.request("POST", f"/v1/fairs/{missing}/events", **one))[0] == 404
    assert (await gateway.request("POST", "/v1/fairs/not-a-uuid/events", **one))[0] == 404
    status, _ = await gateway.request("POST", "/v1/fairs", token_a, json={})
    assert status == 403  # only the admin creates fairs


async def test_roles_may_send_only_their_event_types(
    gateway: Gateway, database_url: str, redis: Redis
) -> None:
    fair, _ = await gateway.create_fair()
    conn = await asyncpg.connect(database_url)
    try:
        device = await issue(conn, "device", fair, "kiosk-1")
        employer = await issue(conn, "employer", fair, "E1")
    finally:
        await conn.close()
    for issued in (device, employer):
        await mirror(redis, issued.digest, issued.principal)
    events = [
        event("booth_visit", employer_id="E1", seeker_id="S1"),
        event("booth_visit", employer_id="E2", seeker_id="S1"),
        event("resume_submitted", seeker_id="S1", employer_id="E1", channel="onsite"),
    ]
    by_device = await gateway.post(fair, device.token, events)
    assert [r["status"] for r in by_device] == ["accepted", "accepted", "rejected"]
    by_employer = await gateway.post(
        fair, employer.token, [{**e, "id": e["id"] + "-x"} for e in events]
    )
    assert [r["status"] for r in by_employer] == ["accepted", "rejected", "rejected"]
    assert "its own employer" in by_employer[1]["reason"]


async def test_creating_a_fair_validates_and_stores_only_the_token_hash(
    gateway: Gateway, db: asyncpg.Connection
) -> None:
    status, body = await gateway.request(
        "POST", "/v1/fairs", json={"name": "", "kind": "party", "starts_at": "tomorrow"}
    )
    assert status == 422
    assert {"name", "kind", "starts_at", "ends_at"} <= set(body["fields"])
    status, body = await gateway.request(
        "POST",
        "/v1/fairs",
        json={
            "name": "x",
            "kind": "live",
            "starts_at": "2026-11-21T10:00:00+08:00",
            "ends_at": "2026-11-21T09:00:00+08:00",
        },
    )
    assert status == 422 and "ends_at must be after starts_at" in body["detail"]

    fair, token = await gateway.create_fair("秋季双选会")
    stored = await db.fetch("SELECT token_hash, role FROM tokens WHERE fair_id = $1", fair)
    assert [(r["token_hash"], r["role"]) for r in stored] == [
        (hashlib.sha256(token.encode()).hexdigest(), "organizer")
    ]
    status, body = await gateway.request("GET", f"/v1/fairs/{fair}", token)
    assert status == 200 and body["name"] == "秋季双选会"


async def test_health_openapi_and_metrics(gateway: Gateway) -> None:
    assert await gateway.request("GET", "/healthz", None) == (200, {"status": "ok"})
    status, body = await gateway.request("GET", "/readyz", None)
    assert status == 200 and body["checks"] == {"redis": "ok", "postgres": "ok"}
    status, spec = await gateway.request("GET", "/openapi.json", None)
    assert status == 200 and spec["openapi"].startswith("3.1")
    assert "/v1/fairs/{fair}/events" in spec["paths"]
    tags = spec["components"]["schemas"]["Event"]["discriminator"]["mapping"]
    assert set(tags) >= {"checkin", "qr_scan", "resume_submitted", "live_heartbeat"}
    fair, token = await gateway.create_fair()
    await gateway.post(fair, token, [event("checkin", seeker_id="S1")])
    status, text = await gateway.request("GET", "/metrics", None)
    assert status == 200 and "fairhub_ingest_events_total" in text
    flushes = re.search(r"^fairhub_writer_flushes_total ([0-9.e+]+)$", text, re.M)
    assert flushes is not None and float(flushes[1]) >= 1  # one per node a flush touched
    assert "fairhub_writer_not_durable_total" in text and "fairhub_redis_retries_total" in text
    status, body = await gateway.request("GET", "/no/such/page", None)
    assert (status, body["error"]) == (404, "not_found")


async def test_a_burst_of_requests_beyond_the_redis_pool_is_queued_not_refused(
    settings: Settings,
) -> None:
    # Every request looks its token up (no cache) and 200 run at once: more than the
    # Redis pool's connections. Busy is not down: all must be accepted.
    settings = settings.model_copy(update={"auth_cache_seconds": 0.0})
    async with Gateway.running(settings) as gateway:
        fair, token = await gateway.create_fair()
        answers = await asyncio.gather(
            *(
                gateway.request(
                    "POST",
                    f"/v1/fairs/{fair}/events",
                    token,
                    json=event("checkin", seeker_id=f"S{i}"),
                )
                for i in range(200)
            )
        )
    assert [status for status, _ in answers] == [202] * 200


async def test_concurrent_batches_split_across_small_flushes_answer_each_event(
    settings: Settings, redis: Redis
) -> None:
    settings = settings.model_copy(update={"writer_flush_events": 50, "writer_flushes": 2})
    async with Gateway.running(settings) as gateway:
        fair, token = await gateway.create_fair()
        batches = [[event("checkin", seeker_id=f"S{b}-{i}") for i in range(100)] for b in range(10)]
        batches.append([*batches[3][:40], event("checkin", seeker_id="late")])  # resent in part
        answers = await asyncio.gather(*(gateway.post(fair, token, b) for b in batches))
    for batch, results in zip(batches[:10], answers[:10], strict=True):
        assert [r["id"] for r in results] == [e["id"] for e in batch]
    statuses = [r["status"] for results in answers for r in results]
    assert statuses.count("accepted") == 1001
    assert statuses.count("duplicate") == 40
    assert len(await fair_entries(redis, fair)) == 1001
