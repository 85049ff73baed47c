"""The gate: signed badges, instant verdicts decided in Redis, denied scans counted apart."""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from support import Gateway, WorkerTask, event, eventually, fair_entries, make_settings, totals

from fairhub import badges, keys
from fairhub.embedded import EmbeddedPostgres
from fairhub.keyring import signing_key
from fairhub.migrate import migrate
from fairhub.redis import RedisClient


def scan_id() -> str:
    return f"scan-{uuid.uuid4().hex[:16]}"


async def checkin(gw: Gateway, fair: str, token: str, badge: str, **extra: Any) -> dict[str, Any]:
    body = {"id": extra.pop("id", None) or scan_id(), "badge": badge, **extra}
    status, answer = await gw.request("POST", f"/v1/fairs/{fair}/checkins", token, json=body)
    assert status == 200, answer
    return dict(answer)


def forge(badge: str) -> str:
    """The same claims with one bit of the signature flipped."""
    raw = bytearray(base64.b32decode(badge[3:] + "=" * (-len(badge[3:]) % 8)))
    raw[-1] ^= 1
    return "FH1" + base64.b32encode(bytes(raw)).decode().rstrip("=")


async def test_verdicts_retries_and_figures(gateway: Gateway, worker: WorkerTask) -> None:
    fair, token = await gateway.create_fair()
    other_fair, other_token = await gateway.create_fair("秋季招聘会")
    device = await gateway.create(fair, token, "devices", label="东门 1", gate="东门")
    kiosk = device["token"]
    ann = await gateway.create(fair, token, "seekers", name="王安", school="复旦大学", major="会计")
    bo = await gateway.create(fair, token, "seekers", name="李博", school="同济大学")
    cy = await gateway.create(fair, token, "seekers", name="陈玥", school="复旦大学")
    stranger = await gateway.create(other_fair, other_token, "seekers", name="赵四")

    first = await checkin(gateway, fair, kiosk, ann["badge"], id="kiosk-1-0001", gate="东门")
    assert first["verdict"] == "admitted"
    assert first["seeker"] == {"id": ann["id"], "name": "王安"}
    assert first["duplicate"] is False
    # The kiosk retried: the same id gets the first answer again, never "reentry".
    again = await checkin(gateway, fair, kiosk, ann["badge"], id="kiosk-1-0001")
    assert again["verdict"] == "admitted" and again["duplicate"] is True
    later = await checkin(gateway, fair, kiosk, ann["badge"])
    assert later["verdict"] == "reentry"
    assert later["seeker"]["name"] == "王安"
    assert later["first_seen_at"] == first["first_seen_at"]
    assert (await checkin(gateway, fair, kiosk, bo["badge"]))["verdict"] == "admitted"

    # Forged, truncated, damaged, foreign and other-fair badges are refused, and still recorded.
    denied = {
        "forged": forge(ann["badge"]),
        "truncated": ann["badge"][:-6],
        "not ours": "HELLO-WORLD-0001",
        "damaged": ann["badge"][:40] + "!!" + ann["badge"][42:],
    }
    for name, badge in denied.items():
        answer = await checkin(gateway, fair, kiosk, badge)
        assert answer["verdict"] == "invalid_badge", (name, answer)
        assert "seeker" not in answer
    wrong = await checkin(gateway, fair, kiosk, stranger["badge"])
    assert wrong["verdict"] == "wrong_fair"
    # A forgery that names the other fair is a forgery, not a lost visitor.
    assert (await checkin(gateway, fair, kiosk, forge(stranger["badge"])))["verdict"] == (
        "invalid_badge"
    )

    # A revoked seeker, and a badge replaced by a reissued one.
    status, _ = await gateway.request("DELETE", f"/v1/fairs/{fair}/seekers/{bo['id']}", token)
    assert status == 200
    assert (await checkin(gateway, fair, kiosk, bo["badge"]))["verdict"] == "revoked"
    status, reissued = await gateway.request(
        "POST", f"/v1/fairs/{fair}/seekers/{cy['id']}/badge", token
    )
    assert status == 201, reissued
    assert (await checkin(gateway, fair, kiosk, cy["badge"]))["verdict"] == "revoked"
    assert (await checkin(gateway, fair, kiosk, reissued["badge"]))["verdict"] == "admitted"

    # Tallies: admitted 3 (ann, bo, cy), reentry 1; denied 4 invalid + 1 forged foreign,
    # 1 wrong fair, 2 revoked.
    expected_verdicts = {
        "admitted": 3,
        "reentry": 1,
        "invalid_badge": 5,
        "wrong_fair": 1,
        "revoked": 2,
    }

    async def counted() -> bool:
        stats = await gateway.stats(fair, token)
        return bool(stats["checkins_by_verdict"] == expected_verdicts)

    await eventually(counted)
    stats = await gateway.stats(fair, token)
    assert totals(stats)["checkins"] == (4, 3)
    assert totals(stats)["checkins_denied"][0] == 8
    schools = {row["name"]: row["totals"]["checkins"] for row in stats["by_school"]}
    assert schools == {
        "复旦大学": {"total": 3, "unique": 2},
        "同济大学": {"total": 1, "unique": 1},
    }


async def test_a_scan_happens_now_or_when_the_kiosk_says(
    gateway: Gateway, redis: RedisClient
) -> None:
    """A scan without occurred_at is timed by the server; a kiosk's time is checked. A valid
    badge is stored as its seeker's id, not as its text; a forged one's text is kept."""
    fair, token = await gateway.create_fair()
    kiosk = (await gateway.create(fair, token, "devices", label="南门"))["token"]
    ann, bo, cy = [
        await gateway.create(fair, token, "seekers", name=name) for name in ("王安", "李博", "陈玥")
    ]
    before = datetime.now(UTC)
    now = await checkin(gateway, fair, kiosk, ann["badge"], gate="南门")
    assert now["verdict"] == "admitted"
    assert before <= datetime.fromisoformat(now["first_seen_at"]) <= datetime.now(UTC)
    told = (before - timedelta(minutes=5)).replace(microsecond=0)
    said = await checkin(gateway, fair, kiosk, bo["badge"], occurred_at=told.isoformat())
    assert datetime.fromisoformat(said["first_seen_at"]) == told
    for wrong in (
        (before + timedelta(hours=2)).isoformat(),  # a kiosk clock far ahead
        "1999-12-31T23:00:00+00:00",
        "2026-11-27T10:00:00",  # no offset
        0,
    ):
        body = {"id": scan_id(), "badge": cy["badge"], "occurred_at": wrong}
        path = f"/v1/fairs/{fair}/checkins"
        status, answer = await gateway.request("POST", path, kiosk, json=body)
        assert status == 422 and answer["fields"] == ["occurred_at"], (wrong, answer)
    # None of them was recorded: the seeker's first scan is still to come.
    assert (await checkin(gateway, fair, kiosk, cy["badge"]))["verdict"] == "admitted"
    forged = forge(cy["badge"])
    assert (await checkin(gateway, fair, kiosk, forged))["verdict"] == "invalid_badge"

    stored = await fair_entries(redis, fair)
    assert [(e["seeker_id"], e["verdict"]) for e in stored[:2]] == [
        (ann["id"], "admitted"),
        (bo["id"], "admitted"),
    ]
    assert stored[0]["gate"] == "南门" and stored[1]["occurred_at"].startswith(
        told.isoformat()[:19]
    )
    assert [e.get("seeker_id") for e in stored] == [ann["id"], bo["id"], cy["id"], None]
    assert not any(e.get("badge") for e in stored[:3])
    assert stored[3]["badge"] == forged and stored[3]["verdict"] == "invalid_badge"


async def test_offline_uploads_through_events_get_verdicts(
    gateway: Gateway, worker: WorkerTask
) -> None:
    fair, token = await gateway.create_fair()
    kiosk = (await gateway.create(fair, token, "devices", label="北门"))["token"]
    ann = await gateway.create(fair, token, "seekers", name="王安", school="复旦大学")
    # A kiosk that was offline uploads its queue: the earlier scan at the other gate already
    # admitted the badge, so the uploaded scan is a re-entry, and the figures stay exact.
    online = await checkin(gateway, fair, kiosk, ann["badge"])
    assert online["verdict"] == "admitted"
    queue = [
        event("checkin", 5, badge=ann["badge"], gate="北门"),
        event("checkin", 6, badge="FH1NOTABADGE"),
        event("booth_visit", 7, employer_id="E-none", badge=ann["badge"]),
        event("booth_visit", 8, employer_id="E-none", badge=forge(ann["badge"])),
    ]
    results = await gateway.post(fair, kiosk, queue)
    assert [r["status"] for r in results] == ["accepted", "accepted", "accepted", "rejected"]
    assert [r.get("verdict") for r in results] == ["reentry", "invalid_badge", None, None]
    assert results[0]["seeker"] == {"id": ann["id"], "name": "王安"}  # the kiosk's log says who
    assert results[3]["reason"].startswith("badge:")
    again = await gateway.post(fair, kiosk, queue[:2])
    assert [(r["status"], r["verdict"]) for r in again] == [
        ("duplicate", "reentry"),
        ("duplicate", "invalid_badge"),
    ]

    # One request's events may reach Postgres in two batches (a blocking read can wake
    # between its check-ins and its booth visit): wait for every figure, not the first.
    async def counted() -> bool:
        got = totals(await gateway.stats(fair, token))
        checkins = got["checkins"] == (2, 1) and got["checkins_denied"] == (1, 1)
        return checkins and got["booth_visits"] != (0, 0)

    await eventually(counted)
    stats = await gateway.stats(fair, token)
    assert totals(stats)["booth_visits"] == (1, 1)
    # The organizer sees which kiosk was offline: its queued scans arrived late.
    status, listing = await gateway.request("GET", f"/v1/fairs/{fair}/devices", token)
    assert status == 200, listing
    [device] = listing["items"]
    assert (device["scans"], device["late_scans"]) == (4, 3)
    assert device["last_contact_at"] is not None


async def test_the_gate_keeps_admitting_while_postgres_is_away(
    tmp_path: Path, servers: tuple[str, str]
) -> None:
    postgres = EmbeddedPostgres(tmp_path / "postgres")
    await asyncio.to_thread(postgres.start)
    try:
        await migrate(postgres.url)
        settings = make_settings(postgres.url, servers[1], tmp_path)
        async with Gateway.running(settings) as gw:
            fair, token = await gw.create_fair()
            ann = await gw.create(fair, token, "seekers", name="王安")
            bo = await gw.create(fair, token, "seekers", name="李博")
            kiosk = await gw.create(fair, token, "devices", label="南门", gate="南门")
            await asyncio.to_thread(postgres.stop)

            # A kiosk can still start: its token names the fair, the public keys come from Redis.
            status, me = await gw.request("GET", "/v1/me", kiosk["token"])
            assert status == 200 and (me["fair_id"], me["device"]) == (fair, None), me
            status, published = await gw.request("GET", f"/v1/fairs/{fair}/keys", kiosk["token"])
            assert status == 200 and len(published["keys"]) == 1, published

            # Keys in memory, seeker cards and the entry register in Redis: no database.
            assert (await checkin(gw, fair, token, ann["badge"]))["verdict"] == "admitted"
            assert (await checkin(gw, fair, token, ann["badge"]))["verdict"] == "reentry"
            answer = await checkin(gw, fair, token, bo["badge"])
            assert answer == {
                "verdict": "admitted",
                "seeker": {"id": bo["id"], "name": "李博"},
                "duplicate": False,
                "first_seen_at": answer["first_seen_at"],
            }
            assert (await checkin(gw, fair, token, forge(bo["badge"])))["verdict"] == (
                "invalid_badge"
            )

            # The same data and port, as a real restart would be.
            postgres = EmbeddedPostgres(postgres.data_dir, port=urlsplit(postgres.url).port)
            await asyncio.to_thread(postgres.start)
            async with WorkerTask.running(settings):

                async def counted() -> bool:
                    status, body = await gw.request("GET", f"/v1/fairs/{fair}/stats", token)
                    return status == 200 and totals(body)["checkins"] == (3, 2)

                await eventually(counted, timeout=60)
    finally:
        await asyncio.to_thread(postgres.stop)


async def test_cards_redis_lacks_come_from_postgres_and_retired_keys_stop_at_once(
    gateway: Gateway, worker: WorkerTask, redis: RedisClient, database_url: str
) -> None:
    fair, token = await gateway.create_fair()
    ann = await gateway.create(fair, token, "seekers", name="王安")
    bo = await gateway.create(fair, token, "seekers", name="李博")
    assert (await checkin(gateway, fair, token, ann["badge"]))["verdict"] == "admitted"

    # Redis lost the seeker cards (a restore, an eviction): the script says so, the gateway
    # reads Postgres and sends the scan again with the card, and Redis has it from then on.
    await redis.delete(keys.seekers(fair))
    answer = await checkin(gateway, fair, token, bo["badge"])
    assert (answer["verdict"], answer["seeker"]["name"]) == ("admitted", "李博")
    assert (await checkin(gateway, fair, token, ann["badge"]))["verdict"] == "reentry"
    assert await redis.hexists(keys.seekers(fair), bo["id"])

    # A well-signed badge of a seeker the fair does not have: refused, and remembered so.
    conn = await asyncpg.connect(database_url)
    try:
        key = await signing_key(conn, fair)
    finally:
        await conn.close()
    ghost = badges.sign(key, fair, str(uuid.uuid4()), 1)
    for _ in range(2):
        answer = await checkin(gateway, fair, token, ghost)
        assert answer == {
            "verdict": "invalid_badge",
            "reason": "no such seeker in this fair",
            "duplicate": False,
        }
    # A retry of a refused scan gets the first answer, reason and all.
    refused = await checkin(gateway, fair, token, forge(ann["badge"]), id="kiosk-9-0001")
    retried = await checkin(gateway, fair, token, forge(ann["badge"]), id="kiosk-9-0001")
    assert retried == {**refused, "duplicate": True} and "signature" in retried["reason"]

    # ann's badge was verified (and remembered) above; its key is retired, and the next scan
    # is refused on this gateway at once, although the signature was checked before.
    status, rotated = await gateway.request("POST", f"/v1/fairs/{fair}/keys", token)
    assert status == 201, rotated
    status, gone = await gateway.request("DELETE", f"/v1/fairs/{fair}/keys/{key.kid}", token)
    assert status == 200, gone
    answer = await checkin(gateway, fair, token, ann["badge"])
    assert answer["verdict"] == "invalid_badge" and "retired" in answer["reason"]

    async def counted() -> bool:
        got = totals(await gateway.stats(fair, token))
        # Denied: the ghost twice, the forgery once (its retry is the same scan), the badge of
        # the retired key; three different badges.
        return got["checkins"] == (3, 2) and got["checkins_denied"] == (4, 3)

    await eventually(counted)


def test_badges_are_compact_and_verify_only_with_the_right_key() -> None:
    key, other = badges.new_key(), badges.new_key()
    fair, seeker = str(uuid.uuid4()), str(uuid.uuid4())
    badge = badges.sign(key, fair, seeker, 3)
    # Alphanumeric QR mode: upper case, digits and a few symbols only; short enough for a
    # version 8 code at error correction M.
    assert badge.isalnum() and badge.upper() == badge
    assert len(badge) <= 180
    claims = badges.verify(badge, {key.kid: key.public_key})
    assert (claims.fair_id, claims.seeker_id, claims.serial) == (fair, seeker, 3)
    assert badges.verify(badge.lower(), {key.kid: key.public_key}) == claims
    for keyring in ({other.kid: other.public_key}, {key.kid: other.public_key}, {}):
        try:
            badges.verify(badge, keyring)
        except badges.BadBadge:
            continue
        raise AssertionError(f"verified with the wrong key {keyring}")
    # One badge has one spelling: the unused low bits of the last character must be zero.
    spare = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".index(badge[-1]) | 1
    respelled = badge[:-1] + "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[spare]
    for damaged in (respelled, badge[:-1] + "1", badge + "A", badge[:-1]):
        try:
            badges.verify(damaged, {key.kid: key.public_key})
        except badges.BadBadge:
            continue
        raise AssertionError(f"verified a damaged badge {damaged}")
