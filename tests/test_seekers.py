"""Seekers on their phones, through the API: sign-up, one phone one seeker, codes, one-tap
applications, what became of them, withdrawing, erasing one's data. Real Postgres, Redis and
worker; the codes are read where `fairhub dev` shows them, in the gateway's log.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from support import ADMIN_TOKEN, Gateway, WorkerTask, eventually, make_settings, totals

from fairhub import keys
from fairhub.config import Settings

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def settings(database_url: str, servers: tuple[str, str], tmp_path: Path) -> Settings:
    """No wait between two codes to one phone, so tests ask again at once."""
    return make_settings(
        database_url, servers[1], tmp_path, signup_code_interval_seconds=0, signup_code_seconds=60
    )


class Phone:
    """A phone's browser: its own cookies, so the seeker cookie works as in a browser."""

    def __init__(self, gateway: Gateway, fair: str, session: aiohttp.ClientSession) -> None:
        self.gateway = gateway
        self.fair = fair
        self.session = session

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        url = f"{self.gateway.base}/p/{self.fair}{path}"
        async with self.session.request(method, url, **kwargs) as r:
            body = await r.json() if r.content_type == "application/json" else await r.text()
            return r.status, body

    async def signup(self, **fields: Any) -> tuple[int, Any]:
        return await self.call("POST", "/signup", json={"consent": True, **fields})

    async def upload(self, data: bytes = PDF, name: str = "简历.pdf") -> tuple[int, Any]:
        form = aiohttp.FormData()
        form.add_field("file", data, filename=name, content_type="application/octet-stream")
        return await self.call("PUT", "/me/resume", data=form)

    async def apply(self, **fields: Any) -> tuple[int, Any]:
        return await self.call("POST", "/applications", json=fields)

    async def me(self) -> dict[str, Any]:
        status, body = await self.call("GET", "/me.json")
        assert status == 200, body
        return dict(body)


@pytest.fixture
async def phones(gateway: Gateway) -> Any:
    """Phones for a fair: `await phones(fair)` gives a new one (closed after the test)."""
    opened: list[aiohttp.ClientSession] = []

    async def make(fair: str) -> Phone:
        session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        opened.append(session)
        return Phone(gateway, fair, session)

    yield make
    for session in opened:
        await session.close()


def last_code(caplog: pytest.LogCaptureFixture, phone: str) -> str:
    """The code the log sender 'sent' to this phone last."""
    texts = [r.getMessage() for r in caplog.records if r.name == "fairhub.sms"]
    found = [re.search(r"验证码是 (\d{6})", t) for t in texts if phone in t]
    assert found and found[-1] is not None, texts
    return found[-1][1]


async def test_a_phone_signs_up_and_gets_in_with_its_badge(
    gateway: Gateway, phones: Any, db: asyncpg.Connection
) -> None:
    fair, token = await gateway.create_fair()
    phone = await phones(fair)
    status, body = await phone.signup(
        name="李雷", phone="138 0013 8000", school="南京大学", major="会计", graduation_year=2026
    )
    assert status == 201, body
    assert set(body) == {"seeker_id", "number", "badge", "token"}
    assert body["badge"].startswith("FH1") and body["token"].startswith("fhs_")
    [cookie] = [c for c in phone.session.cookie_jar if c.key == "fh_seeker"]
    assert cookie.value == body["token"] and cookie["httponly"] and cookie["path"] == f"/p/{fair}"
    assert cookie["samesite"] == "Lax"

    me = await phone.me()
    assert me["seeker"] == {
        "id": body["seeker_id"], "number": 1, "name": "李雷", "school": "南京大学",
        "major": "会计", "phone": "13800138000", "graduation_year": 2026,
    }  # fmt: skip
    assert me["badge"] == body["badge"] and me["resume"] is None and me["applications"] == []
    # The same record an import makes, marked as signed up with consent.
    row = await db.fetchrow(
        "SELECT signed_up_at, consented_at, phone_key FROM seekers WHERE id = $1", body["seeker_id"]
    )
    assert row["signed_up_at"] is not None and row["consented_at"] is not None
    assert row["phone_key"] == "13800138000"
    status, listed = await gateway.request("GET", f"/v1/fairs/{fair}/seekers", token)
    assert [s["name"] for s in listed["items"]] == ["李雷"]
    # Only the hash of the token is kept.
    assert (
        await db.fetchval("SELECT count(*) FROM tokens WHERE token_hash = $1", body["token"]) == 0
    )

    device = await gateway.create(fair, token, "devices", label="东门 1 号", gate="东门")
    status, verdict = await gateway.request(
        "POST", f"/v1/fairs/{fair}/checkins", device["token"],
        json={"id": "gate-east-000001", "badge": me["badge"]},
    )  # fmt: skip
    assert status == 200 and verdict["verdict"] == "admitted", verdict
    assert verdict["seeker"] == {"id": body["seeker_id"], "name": "李雷"}

    # Bad input names the field; consent is required.
    for fields, wrong in (
        ({"name": "韩梅梅", "phone": "13900000000", "consent": False}, "consent"),
        ({"name": "韩梅梅", "phone": "13900000000"}, "consent"),
        ({"name": "韩梅梅", "phone": "电话", "consent": True}, "phone"),
        ({"name": "", "phone": "13900000000", "consent": True}, "name"),
        ({"phone": "13900000000", "consent": True}, "name"),
        ({"name": "韩梅梅", "phone": "13900000000", "consent": True, "graduation_year": 1800},
         "graduation_year"),
    ):  # fmt: skip
        status, answer = await phone.call("POST", "/signup", json=fields)
        assert status == 422 and answer["fields"] == [wrong], answer
    json_type = {"Content-Type": "application/json"}
    status, answer = await phone.call("POST", "/signup", data=b"{", headers=json_type)
    assert status == 400 and answer["error"] == "invalid_json"
    status, answer = await phone.call("POST", "/signup", data=b"{}", headers={"Content-Type": "x"})
    assert status == 415 and answer["fields"] == ["Content-Type"]
    status, answer = await (await phones("00000000-0000-0000-0000-000000000000")).signup(
        name="韩梅梅", phone="13900000000"
    )
    assert status == 404


async def test_an_html_form_signs_up_too(gateway: Gateway, phones: Any) -> None:
    fair, _ = await gateway.create_fair()
    phone = await phones(fair)
    form = {"name": "王芳", "phone": "13700000001", "school": "", "consent": "on"}
    status, body = await phone.call("POST", "/signup", data=form)
    assert status == 201, body
    assert (await phone.me())["seeker"]["school"] is None


async def test_one_phone_is_one_seeker(
    gateway: Gateway, phones: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="fairhub.sms")
    fair, token = await gateway.create_fair()
    first = await phones(fair)
    status, mine = await first.signup(name="李雷", phone="13800138000")
    assert status == 201

    second = await phones(fair)  # a new browser, the same phone in another spelling
    status, body = await second.signup(name="李 雷", phone="+86 138-0013-8000", major="金融")
    assert status == 409 and body["error"] == "phone_registered", body
    assert set(body) == {"error", "detail", "fields"} and body["fields"] == ["phone"]
    assert mine["seeker_id"] not in str(body) and "李雷" not in str(body)
    assert not [c for c in second.session.cookie_jar if c.key == "fh_seeker"]
    status, _ = await second.call("GET", "/me.json")
    assert status == 401

    status, sent = await second.call("POST", "/signup/code", json={"phone": "+8613800138000"})
    assert status == 202 and sent == {"sent": True, "expires_in": 60}
    code = last_code(caplog, "+8613800138000")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    status, body = await second.signup(name="李雷", phone="13800138000", code=wrong)
    assert status == 422 and body["error"] == "code_wrong" and body["fields"] == ["code"]
    status, body = await second.signup(name="李雷", phone="13800138000", code=code)
    assert status == 200, body
    assert body["seeker_id"] == mine["seeker_id"] and body["token"] != mine["token"]
    assert (await second.me())["seeker"]["name"] == "李雷"  # the sign-in did not change the record
    status, body = await second.signup(name="李雷", phone="13800138000", code=code)
    assert status == 422 and body["error"] == "code_expired"  # a code works once

    # A phone is one seeker whichever way it came: sign-up, the registry API, an import.
    status, body = await gateway.request(
        "POST", f"/v1/fairs/{fair}/seekers", token, json={"name": "李雷", "phone": "138 0013 8000"}
    )
    assert status == 409 and body["error"] == "phone_registered"
    assert body["seeker_id"] == mine["seeker_id"]  # the organizer may know whose it is
    csv = "姓名,手机\n韩梅梅,13900000000\n李雷,8613800138000\n韩梅梅,139-0000-0000\n"
    status, body = await gateway.request(
        "POST", f"/v1/fairs/{fair}/seekers:import", token, data=csv.encode()
    )
    assert status == 200 and body["created"] == 1, body
    assert [e["line"] for e in body["errors"]] == [3, 4]
    assert "已在本场登记" in body["errors"][0]["error"]
    assert "与本文件第 2 行重复" in body["errors"][1]["error"]
    # An imported phone signs in with a code, never as a second seeker.
    imported = await phones(fair)
    status, body = await imported.signup(name="韩梅梅", phone="13900000000")
    assert status == 409 and body["error"] == "phone_registered"
    status, listed = await gateway.request("GET", f"/v1/fairs/{fair}/seekers", token)
    assert sorted(s["name"] for s in listed["items"]) == ["李雷", "韩梅梅"]


async def test_codes_expire_and_wrong_ones_are_limited(
    gateway: Gateway, phones: Any, caplog: pytest.LogCaptureFixture, redis: Any
) -> None:
    caplog.set_level(logging.WARNING, logger="fairhub.sms")
    fair, _ = await gateway.create_fair()
    phone = await phones(fair)
    assert (await phone.signup(name="李雷", phone="13800138000"))[0] == 201
    other = await phones(fair)

    await other.call("POST", "/signup/code", json={"phone": "13800138000"})
    code = last_code(caplog, "13800138000")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    answers = [
        (await other.signup(name="李雷", phone="13800138000", code=wrong))[1]["error"]
        for _ in range(5)
    ]
    assert answers == ["code_wrong"] * 4 + ["code_spent"]
    status, body = await other.signup(name="李雷", phone="13800138000", code=code)
    assert status == 422 and body["error"] == "code_expired"  # the right code came too late

    # A code is valid for signup_code_seconds: let this one run out.
    await other.call("POST", "/signup/code", json={"phone": "13800138000"})
    code = last_code(caplog, "13800138000")
    key = keys.signup_code(fair, "13800138000")
    assert 0 < await redis.ttl(key) <= 60
    await redis.pexpire(key, 1)
    await asyncio.sleep(0.05)
    status, body = await other.signup(name="李雷", phone="13800138000", code=code)
    assert status == 422 and body["error"] == "code_expired"
    assert not [c for c in other.session.cookie_jar if c.key == "fh_seeker"]

    # Codes are limited per phone (5 an hour by default): the sixth is 429 with Retry-After.
    async with gateway.session.post(
        f"{gateway.base}/p/{fair}/signup/code", json={"phone": "13800138000"}
    ) as r:
        assert r.status == 202  # the third in this hour
    for _ in range(2):
        async with gateway.session.post(
            f"{gateway.base}/p/{fair}/signup/code", json={"phone": "13800138000"}
        ) as r:
            assert r.status == 202
    async with gateway.session.post(
        f"{gateway.base}/p/{fair}/signup/code", json={"phone": "13800138000"}
    ) as r:
        assert r.status == 429 and 0 < int(r.headers["Retry-After"]) <= 3600
        assert (await r.json())["error"] == "rate_limited"
    # Codes for an unregistered phone are sent alike: the answer says nothing either way.
    async with gateway.session.post(
        f"{gateway.base}/p/{fair}/signup/code", json={"phone": "13612345678"}
    ) as r:
        assert r.status == 202 and await r.json() == {"sent": True, "expires_in": 60}


async def test_codes_wait_between_two_to_one_phone(
    database_url: str, servers: tuple[str, str], tmp_path: Path
) -> None:
    settings = make_settings(database_url, servers[1], tmp_path)  # the default 60 s
    async with Gateway.running(settings) as gateway:
        fair, _ = await gateway.create_fair()
        url = f"{gateway.base}/p/{fair}/signup/code"
        async with gateway.session.post(url, json={"phone": "13800138000"}) as r:
            assert r.status == 202
        async with gateway.session.post(url, json={"phone": "138 0013 8000"}) as r:
            assert r.status == 429 and 0 < int(r.headers["Retry-After"]) <= 60
        async with gateway.session.post(url, json={"phone": "13800138001"}) as r:
            assert r.status == 202  # another phone is not held up
        async with gateway.session.post(url, json={"phone": "12"}) as r:
            assert r.status == 422 and (await r.json())["fields"] == ["phone"]


async def test_organizers_close_or_cap_sign_up(
    gateway: Gateway, phones: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="fairhub.sms")
    fair, token = await gateway.create_fair()
    early = await phones(fair)
    assert (await early.signup(name="李雷", phone="13800138000"))[0] == 201

    status, body = await gateway.request(
        "PATCH", f"/v1/fairs/{fair}", token, json={"signup_open": False}
    )
    assert status == 200 and body["signup_open"] is False and body["signups"] == 1
    late = await phones(fair)
    status, body = await late.signup(name="韩梅梅", phone="13900000000")
    assert status == 409 and body["error"] == "signup_closed", body
    assert "closed" in body["detail"]
    # A seeker who signed up before still signs in on a new phone.
    await late.call("POST", "/signup/code", json={"phone": "13800138000"})
    status, body = await late.signup(
        name="李雷", phone="13800138000", code=last_code(caplog, "13800138000")
    )
    assert status == 200, body

    status, body = await gateway.request(
        "PATCH", f"/v1/fairs/{fair}", token, json={"signup_open": True, "signup_cap": 2}
    )
    assert status == 200 and body["signup_cap"] == 2
    assert (await (await phones(fair)).signup(name="韩梅梅", phone="13900000000"))[0] == 201
    status, body = await (await phones(fair)).signup(name="王芳", phone="13700000000")
    assert status == 409 and body["error"] == "signup_closed" and body["full"] is True
    status, body = await gateway.request(
        "PATCH", f"/v1/fairs/{fair}", token, json={"signup_cap": None}
    )
    assert status == 200 and body["signup_cap"] is None
    assert (await (await phones(fair)).signup(name="王芳", phone="13700000000"))[0] == 201

    for patch, wrong in (
        ({"signup_open": None}, "signup_open"),
        ({"signup_cap": -1}, "signup_cap"),
    ):
        status, body = await gateway.request("PATCH", f"/v1/fairs/{fair}", token, json=patch)
        assert status == 422 and wrong in str(body["fields"]), body
    employer = await gateway.create(fair, token, "employers", name="星辰科技")
    status, _ = await gateway.request(
        "PATCH", f"/v1/fairs/{fair}", employer["token"], json={"signup_open": False}
    )
    assert status == 403


async def _fair_with_positions(
    gateway: Gateway,
) -> tuple[str, str, list[dict[str, Any]], list[str]]:
    fair, token = await gateway.create_fair()
    employers = [
        await gateway.create(fair, token, "employers", name=name)
        for name in ("星辰科技", "江南银行")
    ]
    positions = [
        (await gateway.create(
            fair, token, "positions", employer_id=employers[e]["id"], title=title,
            job_type="技术", headcount=3,
        ))["id"]
        for e, title in ((0, "软件工程师"), (0, "测试工程师"), (1, "柜员"))
    ]  # fmt: skip
    return fair, token, employers, positions


async def test_one_resume_applications_in_one_tap_and_their_status(
    gateway: Gateway, worker: WorkerTask, phones: Any
) -> None:
    fair, token, employers, positions = await _fair_with_positions(gateway)
    phone = await phones(fair)
    await phone.signup(name="李雷", phone="13800138000")
    status, body = await phone.apply(position_id=positions[0])
    assert status == 409 and body["error"] == "no_resume" and body["fields"] == ["resume"]
    status, body = await phone.upload(b"not a resume")
    assert status == 422 and body["error"] == "unsupported_type" and body["fields"] == ["file"]
    status, resume = await phone.upload()
    assert status == 200 and resume["content_type"] == "application/pdf", resume
    assert resume["size"] == len(PDF) and resume["filename"] == "简历.pdf"

    taps = [
        await phone.apply(position_id=positions[0], channel="onsite"),
        await phone.apply(position_id=positions[0]),  # the second tap: the same application
        await phone.apply(position_id=positions[2]),
        await phone.apply(employer_id=employers[0]["id"]),  # the employer, no position named
    ]
    assert [status for status, _ in taps] == [201, 200, 201, 201]
    assert taps[0][1]["id"] == taps[1][1]["id"]
    for fields, wrong in (
        ({"position_id": positions[2], "employer_id": employers[0]["id"]}, "position_id"),
        ({"position_id": "nope"}, "position_id"),
        ({"employer_id": "nope"}, "employer_id"),
        ({}, "body"),
        ({"position_id": positions[0], "channel": "live"}, "channel"),
        ({"position_id": positions[0], "session_id": "nope"}, "session_id"),
    ):
        status, body = await phone.apply(**fields)
        assert status == 422 and body["fields"] == [wrong], (fields, body)

    async def counted() -> bool:
        stats = await gateway.stats(fair, token)
        return totals(stats)["resumes_submitted"] == (3, 1)

    await eventually(counted)
    stats = await gateway.stats(fair, token)
    assert stats["resumes_by_channel"] == {"onsite": 1, "online": 2, "live": 0}
    by_position = {r["position_id"]: r["totals"] for r in stats["by_position"]}
    assert by_position[positions[0]]["resumes_submitted"] == {"total": 1, "unique": 1}

    me = await phone.me()
    assert me["resume"]["sha256"] == resume["sha256"]
    assert [(a["employer_name"], a["position_title"], a["status"]) for a in me["applications"]] == [
        ("星辰科技", None, "sent"),
        ("江南银行", "柜员", "sent"),
        ("星辰科技", "软件工程师", "sent"),
    ]
    # The employer acts: a download makes it "viewed", an intent "intent".
    employer = employers[0]["token"]
    status, listed = await gateway.request("GET", f"/v1/fairs/{fair}/resumes", employer)
    assert len(listed["items"]) == 2
    [first] = [r for r in listed["items"] if r["position_id"] == positions[0]]
    status, data = await gateway.request("GET", f"/v1/resumes/{first['id']}/file", employer)
    assert status == 200 and data == PDF.decode()  # the test client decodes text
    statuses = {a["id"]: a["status"] for a in (await phone.me())["applications"]}
    assert statuses[first["id"]] == "viewed"
    status, _ = await gateway.request(
        "POST", f"/v1/fairs/{fair}/intents", employer,
        json={"seeker_id": me["seeker"]["id"], "position_id": positions[0]},
    )  # fmt: skip
    assert status == 201
    statuses = {a["id"]: a["status"] for a in (await phone.me())["applications"]}
    assert sorted(statuses.values()) == ["intent", "intent", "sent"]  # no position: any intent

    # Withdrawing: gone for the employer, kept in the figures.
    status, _ = await phone.call("DELETE", f"/applications/{first['id']}")
    assert status == 204
    status, listed = await gateway.request("GET", f"/v1/fairs/{fair}/resumes", employer)
    assert [r["id"] for r in listed["items"]] == [taps[3][1]["id"]]
    status, _ = await gateway.request("GET", f"/v1/resumes/{first['id']}/file", employer)
    assert status == 404
    status, listed = await gateway.request("GET", f"/v1/fairs/{fair}/resumes", token)
    assert len(listed["items"]) == 3  # the organizer still sees that it was sent
    statuses = {a["id"]: a["status"] for a in (await phone.me())["applications"]}
    assert statuses[first["id"]] == "withdrawn"
    # Sent again after withdrawing: the same application, counted once.
    assert (await phone.apply(position_id=positions[0]))[0] == 200
    statuses = {a["id"]: a["status"] for a in (await phone.me())["applications"]}
    assert statuses[first["id"]] == "intent"
    await asyncio.sleep(0.5)
    assert totals(await gateway.stats(fair, token))["resumes_submitted"] == (3, 1)

    # A new résumé is kept for the next applications; what was sent stays as it was.
    status, png = await phone.upload(PNG, "证件照.png")
    assert status == 200 and png["content_type"] == "image/png"
    assert (await phone.apply(position_id=positions[1]))[0] == 201
    status, listed = await gateway.request("GET", f"/v1/fairs/{fair}/resumes", token)
    kinds = {r["position_id"]: r["content_type"] for r in listed["items"]}
    assert kinds[positions[0]] == "application/pdf" and kinds[positions[1]] == "image/png"


async def test_a_seeker_sees_only_their_own(gateway: Gateway, phones: Any) -> None:
    fair, token, employers, positions = await _fair_with_positions(gateway)
    alice, bob = await phones(fair), await phones(fair)
    await alice.signup(name="李雷", phone="13800138000")
    status, bob_answer = await bob.signup(name="韩梅梅", phone="13900000000")
    await alice.upload()
    status, applied = await alice.apply(position_id=positions[0])
    assert status == 201
    # Bob cannot read, withdraw or erase Alice's things.
    assert [a["id"] for a in (await bob.me())["applications"]] == []
    status, body = await bob.call("DELETE", f"/applications/{applied['id']}")
    assert status == 404
    assert (await alice.me())["applications"][0]["status"] == "sent"
    # Bob's token on another fair is refused; other kinds of token are not a seeker.
    other_fair, _ = await gateway.create_fair("秋季招聘会")
    status, body = await gateway.request("GET", f"/p/{other_fair}/me.json", bob_answer["token"])
    assert status == 403
    for other in (token, ADMIN_TOKEN, employers[0]["token"]):
        status, body = await gateway.request("GET", f"/p/{fair}/me.json", other)
        assert status == 403, body
    status, body = await gateway.request("GET", f"/p/{fair}/me.json", "fhs_forged")
    assert status == 401 and body["error"] == "not_signed_in"
    # A seeker token is nothing anywhere else.
    for method, path in (
        ("GET", f"/v1/fairs/{fair}"),
        ("GET", f"/v1/fairs/{fair}/seekers"),
        ("GET", f"/v1/fairs/{fair}/resumes"),
        ("GET", f"/v1/fairs/{fair}/stats"),
        ("POST", f"/v1/fairs/{fair}/events"),
    ):
        status, body = await gateway.request(method, path, bob_answer["token"], json={})
        assert status == 403, (path, body)
    # The cookie works only from FairHub's own pages: a cross-site post is refused.
    status, body = await alice.call(
        "POST", "/applications", json={"position_id": positions[2]},
        headers={"Origin": "https://evil.example"},
    )  # fmt: skip
    assert status == 403 and body["fields"] == ["Origin"]
    status, body = await alice.call(
        "POST", "/applications", json={"position_id": positions[2]},
        headers={"Origin": gateway.base},
    )  # fmt: skip
    assert status == 201


async def test_delete_my_data(
    gateway: Gateway, worker: WorkerTask, phones: Any, db: asyncpg.Connection
) -> None:
    fair, token, employers, positions = await _fair_with_positions(gateway)
    phone, other = await phones(fair), await phones(fair)
    status, me = await phone.signup(name="李雷", phone="13800138000", school="南京大学")
    await other.signup(name="韩梅梅", phone="13900000000")
    own = PDF + f"% only mine {uuid.uuid4()}\n".encode()
    await phone.upload(own)
    await other.upload(PDF)
    for position in positions[:2]:
        assert (await phone.apply(position_id=position))[0] == 201
    assert (await other.apply(position_id=positions[0]))[0] == 201
    device = await gateway.create(fair, token, "devices", label="东门 1 号")
    status, verdict = await gateway.request(
        "POST", f"/v1/fairs/{fair}/checkins", device["token"],
        json={"id": "gate-east-000001", "badge": me["badge"]},
    )  # fmt: skip
    assert verdict["verdict"] == "admitted"
    status, listed = await gateway.request(
        "GET", f"/v1/fairs/{fair}/resumes", employers[0]["token"]
    )
    mine = [r["id"] for r in listed["items"] if r["seeker_id"] == me["seeker_id"]]
    assert len(mine) == 2

    async def settled() -> bool:
        t = totals(await gateway.stats(fair, token))
        return t["resumes_submitted"] == (3, 2) and t["checkins"] == (1, 1)

    await eventually(settled)
    before = await gateway.stats(fair, token)

    status, _ = await phone.call("DELETE", "/me")
    assert status == 204
    assert not [c for c in phone.session.cookie_jar if c.key == "fh_seeker"]
    status, _ = await gateway.request("GET", f"/p/{fair}/me.json", me["token"])
    assert status == 401
    row = await db.fetchrow(
        "SELECT name, phone, school_id, major, resume_sha256, erased_at, revoked_at FROM seekers"
        " WHERE id = $1",
        me["seeker_id"],
    )
    assert row["name"] == "" and row["phone"] is None and row["school_id"] is None
    assert row["resume_sha256"] is None and row["erased_at"] is not None
    assert (
        await db.fetchval("SELECT count(*) FROM resumes WHERE seeker_id = $1", me["seeker_id"]) == 0
    )
    # The file only this seeker had is gone; the one another seeker sent too stays.
    files = {bytes(r["content"]) for r in await db.fetch("SELECT content FROM resume_files")}
    assert own not in files and PDF in files
    for resume in mine:
        status, _ = await gateway.request("GET", f"/v1/resumes/{resume}/file", token)
        assert status == 404
    status, verdict = await gateway.request(
        "POST", f"/v1/fairs/{fair}/checkins", device["token"],
        json={"id": "gate-east-000002", "badge": me["badge"]},
    )  # fmt: skip
    assert verdict["verdict"] == "revoked"  # the badge is gone too

    # The figures keep their anonymous totals (the refused scan is a denied check-in).
    async def denied() -> bool:
        return totals(await gateway.stats(fair, token))["checkins_denied"] == (1, 1)

    await eventually(denied)
    after = await gateway.stats(fair, token)
    kept = {m: c for m, c in after["totals"].items() if m != "checkins_denied"}
    assert kept == {m: c for m, c in before["totals"].items() if m != "checkins_denied"}
    assert after["by_school"] == before["by_school"]
    # The same phone may sign up afresh: a new seeker, nothing of the old one.
    status, again = await (await phones(fair)).signup(name="李雷", phone="13800138000")
    assert status == 201 and again["seeker_id"] != me["seeker_id"]


async def test_resume_uploads_and_applications_are_limited_per_seeker(
    database_url: str, servers: tuple[str, str], tmp_path: Path
) -> None:
    """Each upload or application sends a résumé: past the seeker's limit, 429 before the
    file is read, and nothing is kept; another seeker is unaffected."""
    settings = make_settings(database_url, servers[1], tmp_path, resumes_per_seeker=3)
    jar = aiohttp.CookieJar
    async with (
        Gateway.running(settings) as gateway,
        aiohttp.ClientSession(cookie_jar=jar(unsafe=True)) as first,
        aiohttp.ClientSession(cookie_jar=jar(unsafe=True)) as second,
    ):
        fair, _ = await gateway.create_fair()
        phone, other = Phone(gateway, fair, first), Phone(gateway, fair, second)
        person = {"school": "南京大学", "major": "会计", "graduation_year": 2026}
        assert (await phone.signup(name="韩梅梅", phone="13900139001", **person))[0] == 201
        answers = [(await phone.upload(PDF + bytes([48 + n])))[0] for n in range(3)]
        assert answers == [200, 200, 200]
        status, body = await phone.upload(PNG, "照片.png")
        assert status == 429 and body["limit"] == "resume", body
        assert (await phone.me())["resume"]["content_type"] == "application/pdf"
        status, body = await phone.apply(employer_id=str(uuid.uuid4()))
        assert status == 429 and body["limit"] == "resume", body
        assert (await other.signup(name="李雷", phone="13900139002", **person))[0] == 201
        assert (await other.upload())[0] == 200
