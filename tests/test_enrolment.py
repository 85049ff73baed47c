"""Kiosk enrolment by QR: a one-time code becomes a device token once, and never again.

Against the real gateway, Postgres and Redis: the organizer creates an enrolment, the kiosk's
call trades the code for a token, a second try or an expired code is refused, and the kiosk
program enrolled by code or by URL keeps working after a restart without --token or --url.
The organizer's devices page is opened in Chromium (tests/browser.py).
"""

# Chinese labels use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest
from kiosk_support import FAST, KioskProcess
from playwright.async_api import Page, expect
from support import Gateway, eventually

from fairhub.config import Settings
from fairhub.gateway.enrolment import normalize

if TYPE_CHECKING:
    from browser import Console

pytest_plugins = ["browser"]  # Chromium fixtures: page, console

Check = Callable[[], Awaitable[bool]]
# The fetch() of a refused token is logged by Chromium itself: expected, not a page error.
REFUSED = "the server responded with a status of 40"


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[Gateway]:
    """The gateway behind a trusted proxy: each test's enrol calls come from its own address,
    so the per-address limit of one test never refuses another's."""
    async with Gateway.running(settings.model_copy(update={"trusted_proxies": "127.0.0.1"})) as gw:
        yield gw


def _address() -> str:
    return f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"


async def _device(gateway: Gateway, fair: str, token: str, **fields: Any) -> dict[str, Any]:
    return await gateway.create(fair, token, "devices", label="东门 1 号机", **fields)


async def _enrolment(gateway: Gateway, fair: str, token: str, device: str) -> dict[str, Any]:
    status, body = await gateway.request(
        "POST", f"/v1/fairs/{fair}/devices/{device}/enrolment", token
    )
    assert status == 201, body
    return dict(body)


async def _enrol(gateway: Gateway, code: str, address: str | None = None) -> tuple[int, Any]:
    forwarded = {"X-Forwarded-For": address or _address()}
    return await gateway.request("POST", "/v1/enrol", None, json={"code": code}, headers=forwarded)


async def test_a_fresh_code_gives_the_device_token_once(
    gateway: Gateway, db: asyncpg.Connection
) -> None:
    fair, token = await gateway.create_fair()
    device = await _device(gateway, fair, token, gate="东门")
    old_token = device["token"]
    enrolment = await _enrolment(gateway, fair, token, device["id"])
    assert enrolment["url"] == f"{gateway.base}/enrol/{enrolment['code']}"
    assert enrolment["qr_svg_url"] == f"/v1/fairs/{fair}/enrolments/{enrolment['code']}.svg"
    # Only the code's hash is stored.
    stored = await db.fetchval(
        "SELECT code_hash FROM enrolments WHERE fair_id = $1 AND device_id = $2",
        fair,
        device["id"],
    )
    code = normalize(enrolment["code"])
    assert code is not None and stored == hashlib.sha256(code.encode()).hexdigest()
    assert enrolment["code"] not in await db.fetchval(
        "SELECT string_agg(code_hash, ' ') FROM enrolments"
    )

    # A phone that scans the QR opens a page that says what it is for, and spends nothing.
    status, text = await gateway.request("GET", enrolment["url"].removeprefix(gateway.base), None)
    assert status == 200 and "fairhub kiosk --enrol" in text, text
    status, svg = await gateway.request("GET", enrolment["qr_svg_url"], token)
    assert status == 200 and svg.startswith("<?xml") and "<svg" in svg, svg
    status, png = await gateway.request("GET", enrolment["qr_png_url"], token)
    assert status == 200 and png[:8] == b"\x89PNG\r\n\x1a\n"

    # Typed by hand: lower case and without dashes is the same code.
    status, body = await _enrol(gateway, enrolment["code"].replace("-", "").lower())
    assert status == 200, body
    assert body["fair"] == fair and body["device"] == device["id"] and body["gate"] == "东门"
    assert body["employer"] is None and body["url"] == gateway.base
    new_token = body["token"]
    assert new_token.startswith("fhd_") and new_token != old_token

    status, me = await gateway.request("GET", "/v1/me", new_token)
    assert status == 200 and me["subject_id"] == device["id"], me
    # Enrolling replaced the device's earlier token.
    status, _ = await gateway.request("GET", "/v1/me", old_token)
    assert status == 401

    # The same code again, by the same or another kiosk: refused, never a second token.
    status, again = await _enrol(gateway, enrolment["code"])
    assert status == 410 and again["error"] == "enrolment_used" and again["fields"] == ["code"]
    assert "token" not in again
    status, qr = await gateway.request("GET", enrolment["qr_svg_url"], token)
    assert status == 410 and qr["error"] == "enrolment_used"
    status, me = await gateway.request("GET", "/v1/me", new_token)
    assert status == 200


async def test_expired_unknown_and_replaced_codes_are_refused(
    gateway: Gateway, db: asyncpg.Connection
) -> None:
    fair, token = await gateway.create_fair()
    device = await _device(gateway, fair, token)
    enrolment = await _enrolment(gateway, fair, token, device["id"])
    await db.execute(
        "UPDATE enrolments SET expires_at = now() - interval '1 second' WHERE device_id = $1",
        device["id"],
    )
    status, body = await _enrol(gateway, enrolment["code"])
    assert status == 410 and body["error"] == "enrolment_expired", body
    assert "token" not in body

    for wrong in ("ABCD-EFGH-JKLM", "not a code", "x" * 100):
        status, body = await _enrol(gateway, wrong)
        assert status == 404 and body["error"] == "enrolment_unknown", body
        assert body["fields"] == ["code"]
    status, body = await gateway.request("POST", "/v1/enrol", None, json={"kode": "x"})
    assert status == 422 and "code" in str(body["fields"]), body
    status, body = await gateway.request("POST", "/v1/enrol", None, json={"code": 7})
    assert status == 422, body

    # A new enrolment of a device makes its earlier unused code worthless.
    first = await _enrolment(gateway, fair, token, device["id"])
    second = await _enrolment(gateway, fair, token, device["id"])
    status, body = await _enrol(gateway, first["code"])
    assert status == 404 and body["error"] == "enrolment_unknown", body
    status, body = await _enrol(gateway, second["code"])
    assert status == 200, body

    # Only the organizer creates one; unknown and revoked devices get none.
    status, body = await gateway.request(
        "POST", f"/v1/fairs/{fair}/devices/{device['id']}/enrolment", body["token"]
    )
    assert status == 403, body
    status, body = await gateway.request("POST", f"/v1/fairs/{fair}/devices/nope/enrolment", token)
    assert status == 404 and body["fields"] == ["id"], body
    last = await _enrolment(gateway, fair, token, device["id"])
    status, _ = await gateway.request("DELETE", f"/v1/fairs/{fair}/devices/{device['id']}", token)
    assert status == 200
    status, body = await _enrol(gateway, last["code"])
    assert status == 409 and body["error"] == "device_revoked", body
    status, body = await gateway.request(
        "POST", f"/v1/fairs/{fair}/devices/{device['id']}/enrolment", token
    )
    assert status == 409 and body["error"] == "device_revoked", body


async def test_two_kiosks_racing_for_one_code_get_one_token(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    device = await _device(gateway, fair, token)
    enrolment = await _enrolment(gateway, fair, token, device["id"])
    answers = await asyncio.gather(*(_enrol(gateway, enrolment["code"]) for _ in range(5)))
    assert sorted(status for status, _ in answers) == [200, 410, 410, 410, 410], answers


async def test_enrolment_tries_are_limited_per_address(settings: Settings) -> None:
    limited = settings.model_copy(
        update={"enrol_tries_per_address": 3, "trusted_proxies": "127.0.0.1"}
    )
    address, other = _address(), _address()
    async with Gateway.running(limited) as gateway:
        answers = [(await _enrol(gateway, "ABCD-EFGH-JKLM", address))[0] for _ in range(4)]
        elsewhere = (await _enrol(gateway, "ABCD-EFGH-JKLM", other))[0]
    assert answers == [404, 404, 404, 429] and elsewhere == 404, answers


async def test_a_kiosk_reports_its_queue_and_the_organizer_sees_it(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    employer = await gateway.create(fair, token, "employers", name="华为技术有限公司")
    gate = await _device(gateway, fair, token, gate="东门")
    booth = await gateway.create(
        fair, token, "devices", label="华为展位", employer_id=employer["id"]
    )
    status, body = await gateway.request(
        "POST", f"/v1/fairs/{fair}/beat", gate["token"], json={"queued": 7}
    )
    assert status == 200 and body["queued"] == 7, body
    for wrong in ({"queued": -1}, {"queued": "many"}, {}):
        status, body = await gateway.request(
            "POST", f"/v1/fairs/{fair}/beat", gate["token"], json=wrong
        )
        assert status == 422 and body["fields"] == ["queued"], body
    status, body = await gateway.request(
        "POST", f"/v1/fairs/{fair}/beat", token, json={"queued": 1}
    )
    assert status == 403, body

    status, body = await gateway.request("GET", f"/v1/fairs/{fair}/kiosks", token)
    assert status == 200, body
    found = {d["id"]: d for d in body["items"]}
    assert found[gate["id"]]["queued"] == 7 and found[gate["id"]]["last_contact_at"]
    assert found[booth["id"]]["queued"] is None and found[booth["id"]]["last_contact_at"] is None
    assert found[booth["id"]]["employer_name"] == "华为技术有限公司"
    status, _ = await gateway.request("GET", f"/v1/fairs/{fair}/kiosks", gate["token"])
    assert status == 403


async def _kiosk(home: Path, *args: str) -> KioskProcess:
    """`fairhub kiosk ARGS` with its own home (where ~/.fairhub/kiosk.json is kept)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "fairhub",
        "kiosk",
        "--plain",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={
            **os.environ,
            "HOME": str(home),
            "FAIRHUB_LOG_LEVEL": "WARNING",
            "FAIRHUB_KIOSK_BEAT_SECONDS": "0.5",
            **FAST,
        },
    )
    return KioskProcess(process)


async def _admits(
    kiosk: KioskProcess, seeker: dict[str, Any], name: str, *, then: Check | None = None
) -> None:
    """The kiosk starts, admits the seeker by name, and stops cleanly (after `then` holds)."""
    try:
        await kiosk.until(lambda line: line.startswith("STATUS"))
        await kiosk.scan(seeker["badge"])
        assert await kiosk.verdict() == f"ADMITTED {name}"
        await kiosk.idle()
        if then is not None:
            await eventually(then)
    finally:
        assert await kiosk.stop() == 0, kiosk.lines


@pytest.mark.parametrize("by", ["url", "code"])
async def test_an_enrolled_kiosk_starts_again_without_token_or_url(
    gateway: Gateway, tmp_path: Path, by: str
) -> None:
    fair, token = await gateway.create_fair()
    device = await _device(gateway, fair, token, gate="东门")
    ann = await gateway.create(fair, token, "seekers", name="王安")
    bo = await gateway.create(fair, token, "seekers", name="李博")
    enrolment = await _enrolment(gateway, fair, token, device["id"])
    home = tmp_path / "home"
    if by == "url":
        first = await _kiosk(home, "--enrol", enrolment["url"])
    else:
        code = enrolment["code"].lower()
        first = await _kiosk(home, "--enrol", code, "--url", gateway.base)
    await _admits(first, ann, "王安")
    assert any(line.startswith("enrolled: device 东门 1 号机") for line in first.lines)
    # The device's token from creation was replaced by the enrolled one.
    status, _ = await gateway.request("GET", "/v1/me", device["token"])
    assert status == 401

    # The organizer sees the kiosk: its last contact, and an empty queue as its beat says.
    async def reported() -> bool:
        _, body = await gateway.request("GET", f"/v1/fairs/{fair}/kiosks", token)
        [item] = body["items"]
        return bool(item["queued"] == 0 and item["last_contact_at"] and item["enrolled_at"])

    # Started again with no option at all: the file named in ~/.fairhub/kiosk.json knows all.
    again = await _kiosk(home)
    await _admits(again, bo, "李博", then=reported)
    assert not any(line.startswith("enrolled:") for line in again.lines), again.lines
    kept = home / ".fairhub" / f"kiosk-{device['id']}.sqlite3"
    assert kept.exists() and (kept.stat().st_mode & 0o777) == 0o600

    # The code was spent: a third start with it is refused and says why.
    spent = await _kiosk(home, "--enrol", enrolment["url"])
    out = (await spent.process.communicate())[0].decode()
    assert spent.process.returncode != 0 and "enrolment refused (410)" in out, out


async def test_the_first_scan_of_a_new_kiosk_may_be_its_enrolment_qr(
    gateway: Gateway, tmp_path: Path
) -> None:
    fair, token = await gateway.create_fair()
    device = await _device(gateway, fair, token, gate="南门")
    ann = await gateway.create(fair, token, "seekers", name="王安")
    enrolment = await _enrolment(gateway, fair, token, device["id"])
    path = tmp_path / "south.sqlite3"
    kiosk = await _kiosk(tmp_path / "home", "--db", str(path))
    await kiosk.until(lambda line: line.startswith("scan the enrolment QR"))
    await kiosk.scan(enrolment["url"])
    await kiosk.until(lambda line: line.startswith("enrolled: device"))
    await _admits(kiosk, ann, "王安")
    again = await _kiosk(tmp_path / "elsewhere", "--db", str(path))  # --db alone is enough
    bo = await gateway.create(fair, token, "seekers", name="李博")
    await _admits(again, bo, "李博")


async def test_the_devices_page_lists_kiosks_and_shows_an_enrolment_qr(
    gateway: Gateway, page: Page, console: Console, tmp_path: Path
) -> None:
    fair, token = await gateway.create_fair()
    employer = await gateway.create(fair, token, "employers", name="比亚迪股份有限公司")
    gate = await _device(gateway, fair, token, gate="东门")
    booth = await gateway.create(
        fair, token, "devices", label="比亚迪展位扫码", employer_id=employer["id"]
    )
    status, _ = await gateway.request(
        "POST", f"/v1/fairs/{fair}/beat", gate["token"], json={"queued": 3}
    )
    assert status == 200

    await page.goto(f"{gateway.base}/devices/{fair}#token={token}")
    gate_row = page.locator(f'tr[data-device="{gate["id"]}"]')
    booth_row = page.locator(f'tr[data-device="{booth["id"]}"]')
    await expect(gate_row.locator('[data-col="label"]')).to_have_text("东门 1 号机")
    await expect(gate_row.locator('[data-col="post"]')).to_have_text("入口 东门")
    await expect(gate_row.locator('[data-col="queued"]')).to_have_text("3")
    await expect(gate_row.locator('[data-col="contact"]')).not_to_have_text("从未")
    await expect(booth_row.locator('[data-col="post"]')).to_have_text("展位 比亚迪股份有限公司")
    await expect(booth_row.locator('[data-col="queued"]')).to_have_text("—")
    await expect(booth_row.locator('[data-col="contact"]')).to_have_text("从未")
    assert "#token" not in page.url  # handed over once, then kept in the browser only

    # A new queue length shows without a reload.
    await gateway.request("POST", f"/v1/fairs/{fair}/beat", gate["token"], json={"queued": 0})
    await expect(gate_row.locator('[data-col="queued"]')).to_have_text("0", timeout=15_000)

    await booth_row.locator("button.enrol-button").click()
    await expect(page.locator("#enrol")).to_be_visible()
    await expect(page.locator("#enrol-title")).to_have_text("比亚迪展位扫码")
    code = (await page.locator("#enrol-code").text_content()) or ""
    assert normalize(code) is not None, code
    await expect(page.locator("#enrol-url")).to_have_text(f"{gateway.base}/enrol/{code}")
    source = await page.locator("#enrol-qr").get_attribute("src")
    assert source and source.startswith("data:image/svg+xml;base64,")
    width = await page.locator("#enrol-qr").evaluate("img => img.naturalWidth")
    assert width > 0  # the QR code really drew
    await page.screenshot(path=tmp_path / "devices-enrolment.png")
    # The code on screen is the one a kiosk trades for the booth's token.
    status, body = await _enrol(gateway, code)
    assert status == 200 and body["device"] == booth["id"] and body["employer"] == employer["id"]
    await page.locator("#enrol-close").click()
    await expect(page.locator("#enrol")).to_be_hidden()
    await expect(booth_row.locator(".enrolment .muted")).to_contain_text("已注册", timeout=15_000)

    # Signed out, the page asks for the token again; a wrong one is refused with a message.
    await page.locator("#sign-out").click()
    await expect(page.locator("#login")).to_be_visible()
    await page.locator("#login-token").fill("fho_not-a-real-token")
    await page.locator("#login-form button").click()
    await expect(page.locator("#login-error")).to_have_text("令牌无效或已注销，请重新输入。")
    await page.goto(f"{gateway.base}/devices/{fair}?lang=en#token={token}")
    await expect(page.locator("#devices thead")).to_contain_text("Queued")
    await expect(gate_row.locator('[data-col="post"]')).to_have_text("gate 东门")
    assert console.problems(REFUSED) == []

    status, text = await gateway.request("GET", "/devices/not-a-fair", None)
    assert status == 404 and "场次编号有误" in text
