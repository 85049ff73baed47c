"""First scans without the Ed25519 check: the seeker card carries the digest of the badge issued.

A scan whose badge is, byte for byte, the one on the card is admitted on the card's word; any
other badge of a live key is sent back by the check-in script and verified by the gateway, so
every verdict, reason and stored event is what it was when every badge was verified.
"""

from __future__ import annotations

import base64
import io
import json
import uuid
from typing import Any

import aiohttp
import asyncpg
from prometheus_client import REGISTRY
from support import Gateway, event, fair_entries

from fairhub import badges, keys
from fairhub.keyring import signing_key
from fairhub.redis import RedisClient

CHECKS = "fairhub_badge_signature_checks_total"


def checks() -> float:
    """Ed25519 verifications run so far in this process (the gateway runs in it)."""
    return REGISTRY.get_sample_value(CHECKS) or 0.0


def digest_of(badge: str) -> str:
    unpacked = badges.unpack(badge)
    return badges.digest(unpacked.signed, unpacked.signature)


def forge(badge: str) -> str:
    """The same kid, fair, seeker and serial, with one bit of the signature flipped."""
    raw = bytearray(badges.unpack(badge).signed + badges.unpack(badge).signature)
    raw[-1] ^= 1
    return badges.PREFIX + base64.b32encode(bytes(raw)).decode().rstrip("=")


async def card(redis: RedisClient, fair: str, seeker: str) -> dict[str, Any]:
    raw = await redis.hget(keys.seekers(fair), seeker)
    assert raw is not None
    return dict(json.loads(raw))


async def scan(gw: Gateway, fair: str, token: str, badge: str, scan_id: str) -> dict[str, Any]:
    status, answer = await gw.request(
        "POST", f"/v1/fairs/{fair}/checkins", token, json={"id": scan_id, "badge": badge}
    )
    assert status == 200, answer
    return dict(answer)


class Kiosk:
    """Scans with fresh ids; each answer is checked against the first again (a retry)."""

    def __init__(self, gw: Gateway, fair: str, token: str) -> None:
        self.gw, self.fair, self.token = gw, fair, token

    async def scan(self, badge: str, checked: int) -> dict[str, Any]:
        """A first scan, which must have run `checked` signature checks; then its retry."""
        scan_id = f"scan-{uuid.uuid4().hex[:16]}"
        before = checks()
        answer = await scan(self.gw, self.fair, self.token, badge, scan_id)
        assert checks() - before == checked, (answer, checks() - before)
        assert answer["duplicate"] is False
        before = checks()
        again = await scan(self.gw, self.fair, self.token, badge, scan_id)
        assert again == {**answer, "duplicate": True}
        assert checks() == before  # a retry is answered by the seen key, unchecked
        return answer


async def test_cards_carry_the_digest_of_the_badge_issued(
    gateway: Gateway, redis: RedisClient
) -> None:
    fair, token = await gateway.create_fair()
    ann = await gateway.create(fair, token, "seekers", name="王安")
    assert (await card(redis, fair, ann["id"]))["digest"] == digest_of(ann["badge"])

    csv = aiohttp.BytesIOPayload(
        io.BytesIO("姓名,学校\n李博,同济大学\n".encode()), content_type="text/csv"
    )
    status, imported = await gateway.request(
        "POST", f"/v1/fairs/{fair}/seekers:import", token, data=csv
    )
    assert status == 200, imported
    bo = imported["items"][0]["id"]
    status, got = await gateway.request("GET", f"/v1/fairs/{fair}/seekers/{bo}", token)
    assert status == 200, got
    assert (await card(redis, fair, bo))["digest"] == digest_of(got["badge"])

    status, reissued = await gateway.request(
        "POST", f"/v1/fairs/{fair}/seekers/{ann['id']}/badge", token
    )
    assert status == 201, reissued
    replaced = await card(redis, fair, ann["id"])
    assert replaced["serial"] == 2
    assert replaced["digest"] == digest_of(reissued["badge"]) != digest_of(ann["badge"])


async def _fair_kiosk_and_ann(gateway: Gateway) -> tuple[str, str, Kiosk, dict[str, Any]]:
    """A fair, its organizer's token, a kiosk of it, and a seeker: 王安."""
    fair, token = await gateway.create_fair()
    ann = await gateway.create(fair, token, "seekers", name="王安")
    return fair, token, Kiosk(gateway, fair, token), ann


async def test_first_scans_of_issued_badges_skip_the_signature_check(
    gateway: Gateway, redis: RedisClient
) -> None:
    fair, token, kiosk, ann = await _fair_kiosk_and_ann(gateway)
    first = await kiosk.scan(ann["badge"], checked=0)
    assert (first["verdict"], first["seeker"]) == ("admitted", {"id": ann["id"], "name": "王安"})
    assert (await kiosk.scan(ann["badge"], checked=0))["verdict"] == "reentry"
    # The badge in lower case (a scanner's spelling) is the same bytes: the same digest.
    assert (await kiosk.scan(ann["badge"].lower(), checked=0))["verdict"] == "reentry"

    # Redis lost the card: read from Postgres with its digest, and still no check.
    bo = await gateway.create(fair, token, "seekers", name="李博")
    await redis.hdel(keys.seekers(fair), bo["id"])
    assert (await kiosk.scan(bo["badge"], checked=0))["verdict"] == "admitted"
    assert (await card(redis, fair, bo["id"]))["digest"] == digest_of(bo["badge"])


async def test_a_forgery_of_a_real_badge_is_checked_and_stored_as_before(
    gateway: Gateway, redis: RedisClient
) -> None:
    fair, _, kiosk, ann = await _fair_kiosk_and_ann(gateway)
    forged = forge(ann["badge"])
    assert badges.read(forged) == badges.read(ann["badge"])  # a live kid, a real seeker

    answer = await kiosk.scan(forged, checked=1)  # the fallback ran
    assert answer == {
        "verdict": "invalid_badge",
        "reason": "the badge's signature is not valid",
        "duplicate": False,
    }
    # Still a forgery when Redis lacks the card (card first, then the signature).
    await redis.hdel(keys.seekers(fair), ann["id"])
    assert await kiosk.scan(forged, checked=1) == answer
    assert (await kiosk.scan(ann["badge"], checked=0))["verdict"] == "admitted"

    # Stored as a forged badge always was: its text kept (the subject of its denials), no
    # seeker, the verdict and reason in the payload; alike in shape to a badge refused at once.
    unknown_kid = badges.sign(badges.new_key(), fair, ann["id"], 1)
    refused = await kiosk.scan(unknown_kid, checked=0)
    assert refused["reason"] == "the badge was signed by an unknown or retired key"
    events = {e["badge"]: e for e in await fair_entries(redis, fair) if "badge" in e}
    stored, at_once = events[forged], events[unknown_kid]
    assert (stored["verdict"], stored["reason"]) == ("invalid_badge", answer["reason"])
    assert "seeker_id" not in stored
    assert stored.keys() == at_once.keys()
    assert sum(1 for e in await fair_entries(redis, fair) if e.get("badge") == forged) == 2


async def test_badges_the_card_does_not_name_go_through_the_check(
    gateway: Gateway, redis: RedisClient, database_url: str
) -> None:
    fair, token, kiosk, ann = await _fair_kiosk_and_ann(gateway)
    bo = await gateway.create(fair, token, "seekers", name="李博")
    status, rotated = await gateway.request("POST", f"/v1/fairs/{fair}/keys", token)
    assert status == 201, rotated
    conn = await asyncpg.connect(database_url)
    try:
        newer = await signing_key(conn, fair)
    finally:
        await conn.close()
    assert newer.kid == rotated["kid"] != badges.read(ann["badge"]).kid

    # A badge of the newer key: the card names the older one's; checked, then admitted.
    by_newer = badges.sign(newer, fair, ann["id"], 1)
    assert (await kiosk.scan(by_newer, checked=1))["verdict"] == "admitted"
    assert (await kiosk.scan(ann["badge"], checked=0))["verdict"] == "reentry"

    # A card without a digest (written before digests, or without the key): checked, admitted.
    old = await card(redis, fair, bo["id"])
    del old["digest"]
    await redis.hset(keys.seekers(fair), bo["id"], json.dumps(old, ensure_ascii=False))
    answer = await kiosk.scan(bo["badge"], checked=1)
    assert (answer["verdict"], answer["seeker"]["name"]) == ("admitted", "李博")

    # A well-signed badge of a seeker the fair does not have: checked, then refused as such.
    ghost = badges.sign(newer, fair, str(uuid.uuid4()), 1)
    assert await kiosk.scan(ghost, checked=1) == {
        "verdict": "invalid_badge",
        "reason": "no such seeker in this fair",
        "duplicate": False,
    }
    # ... and its forgery still as a forgery, as when every badge was checked.
    assert (await kiosk.scan(forge(ghost), checked=1))["reason"] == (
        "the badge's signature is not valid"
    )


async def test_retired_replaced_and_revoked_badges_are_refused_as_before(
    gateway: Gateway, redis: RedisClient
) -> None:
    fair, token, kiosk, ann = await _fair_kiosk_and_ann(gateway)
    bo = await gateway.create(fair, token, "seekers", name="李博")
    cy = await gateway.create(fair, token, "seekers", name="陈玥")

    # Replaced: the old serial is not the card's badge (checked), then refused as replaced;
    # the reissued one is the card's now and needs no check.
    status, reissued = await gateway.request(
        "POST", f"/v1/fairs/{fair}/seekers/{ann['id']}/badge", token
    )
    assert status == 201, reissued
    assert await kiosk.scan(ann["badge"], checked=1) == {
        "verdict": "revoked",
        "reason": "this badge was replaced",
        "duplicate": False,
    }
    assert (await kiosk.scan(reissued["badge"], checked=0))["verdict"] == "admitted"

    # Revoked: the card's own badge, refused by the card.
    status, _ = await gateway.request("DELETE", f"/v1/fairs/{fair}/seekers/{bo['id']}", token)
    assert status == 200
    assert await kiosk.scan(bo["badge"], checked=0) == {
        "verdict": "revoked",
        "reason": "this seeker's badge was revoked",
        "duplicate": False,
    }

    # Retired key: refused at the gateway though the card's digest is this very badge's.
    old_kid = badges.read(cy["badge"]).kid
    status, _ = await gateway.request("POST", f"/v1/fairs/{fair}/keys", token)
    assert status == 201
    status, _ = await gateway.request("DELETE", f"/v1/fairs/{fair}/keys/{old_kid}", token)
    assert status == 200
    assert (await card(redis, fair, cy["id"]))["digest"] == digest_of(cy["badge"])
    assert await kiosk.scan(cy["badge"], checked=0) == {
        "verdict": "invalid_badge",
        "reason": "the badge was signed by an unknown or retired key",
        "duplicate": False,
    }


async def test_one_upload_sends_back_and_resends_only_what_it_must(
    gateway: Gateway, redis: RedisClient, database_url: str
) -> None:
    fair, token = await gateway.create_fair()
    kiosk = (await gateway.create(fair, token, "devices", label="北门"))["token"]
    ann, bo, cy = [
        await gateway.create(fair, token, "seekers", name=name) for name in ("王安", "李博", "陈玥")
    ]
    status, _ = await gateway.request("POST", f"/v1/fairs/{fair}/keys", token)
    assert status == 201
    conn = await asyncpg.connect(database_url)
    try:
        newer = await signing_key(conn, fair)
    finally:
        await conn.close()
    await redis.hdel(keys.seekers(fair), cy["id"])  # its card: from Postgres, then checked
    queue = [
        {"id": "not-an-event", "type": "nonsense"},  # rejected: no entry in the stream
        event("booth_visit", 1, employer_id="E-none", seeker_id=ann["id"]),  # a plain entry
        event("checkin", 2, badge=forge(ann["badge"])),
        event("checkin", 3, badge=badges.sign(newer, fair, bo["id"], 1)),
        event("checkin", 4, badge=badges.sign(newer, fair, cy["id"], 1)),
        event("checkin", 5, badge=ann["badge"]),
    ]
    before = checks()
    results = await gateway.post(fair, kiosk, queue)
    # The forgery and 李博's badge of the newer key are checked; 陈玥's card, read again from
    # Postgres, now names the newer key's badge, so hers is not.
    assert checks() - before == 2
    assert (await card(redis, fair, cy["id"]))["digest"] == digest_of(queue[4]["badge"])
    assert [r["status"] for r in results] == ["rejected"] + ["accepted"] * 5
    assert [(r.get("verdict"), r.get("reason")) for r in results[1:]] == [
        (None, None),
        ("invalid_badge", "the badge's signature is not valid"),
        ("admitted", None),
        ("admitted", None),
        ("admitted", None),
    ]
    assert [r.get("seeker", {}).get("name") for r in results[1:]] == [
        None,
        None,
        "李博",
        "陈玥",
        "王安",
    ]
    again = await gateway.post(fair, kiosk, queue)
    assert [(r["status"], r.get("verdict")) for r in again[1:]] == [
        ("duplicate", None),
        *(("duplicate", r["verdict"]) for r in results[2:]),
    ]
    # Each once in the stream; the forgery resent as decided keeps what the kiosk adds.
    stored = {e["id"]: e for e in await fair_entries(redis, fair)}
    assert len([e for e in await fair_entries(redis, fair) if e["id"] in stored]) == len(stored)
    assert {e["id"] for e in queue[1:]} <= stored.keys()
    forged = stored[queue[2]["id"]]
    assert forged["badge"] == queue[2]["badge"] and "device_id" in forged
    assert "badge" not in stored[queue[4]["id"]] and "device_id" in stored[queue[4]["id"]]
