"""A seeker with only a phone, in a real browser: sign up, the e-badge at the gate, one-tap
applications, a livestream, "my applications", withdrawing, deleting one's data.

The browser is Debian's Chromium driven by Playwright (tests/browser.py), on a phone's screen;
the gateway, worker, Postgres and Redis are real. Screenshots stay under each test's temp dir.
"""

# Chinese names and labels use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

import io
import logging
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest
from playwright.async_api import FilePayload, Page, expect
from support import Gateway, WorkerTask, eventually, make_settings, totals

from fairhub.config import Settings

if TYPE_CHECKING:
    from browser import Console

pytest_plugins = ["browser"]  # Chromium fixtures: browser, page, phone, console, phone_console

EMPLOYERS = ("星辰科技有限公司", "江南商业银行")
POSITIONS = (  # (employer, title, job type, headcount)
    (0, "Java 开发工程师", "技术", 8),
    (0, "测试工程师", "技术", 3),
    (0, "产品经理", "产品", 2),
    (1, "柜员", "金融", 20),
)
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
# A phone that has not signed up asks who it is and hears 401: Chromium logs it, as expected.
NOT_SIGNED_UP = "the server responded with a status of 401"


@pytest.fixture
def settings(database_url: str, servers: tuple[str, str], tmp_path: Path) -> Settings:
    """Viewer pages beat only every ten minutes: a pin can reach them by the stream alone."""
    return make_settings(
        database_url, servers[1], tmp_path, live_beat_seconds=600, signup_code_interval_seconds=0
    )


@dataclass
class Fair:
    gateway: Gateway
    id: str
    token: str  # the organizer's
    employers: list[dict[str, Any]]  # {id, token}
    positions: list[str]
    gate: str  # a gate kiosk's device token
    session: str
    host: str

    async def api(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        status, body = await self.gateway.request(method, path, token or self.token, **kw)
        assert 200 <= status < 300, (method, path, status, body)
        return body

    async def live(self, method: str, path: str, body: Any = None) -> Any:
        url = f"/v1/fairs/{self.id}/live-sessions/{self.session}{path}"
        return await self.api(method, url, self.host, json=body)


async def fair(gateway: Gateway) -> Fair:
    fair_id, token = await gateway.create_fair("2026 春季高校毕业生双选会")
    employers = [await gateway.create(fair_id, token, "employers", name=n) for n in EMPLOYERS]
    positions = [
        (
            await gateway.create(
                fair_id, token, "positions", employer_id=employers[e]["id"], title=t,
                job_type=j, headcount=n,
            )
        )["id"]
        for e, t, j, n in POSITIONS
    ]  # fmt: skip
    gate = await gateway.create(fair_id, token, "devices", label="东门 1 号", gate="东门")
    status, session = await gateway.request(
        "POST",
        f"/v1/fairs/{fair_id}/live-sessions",
        token,
        json={"title": "名企直播带岗", "employer_ids": [e["id"] for e in employers]},
    )
    assert status == 201, session
    assert session["console_url"].endswith(f"/live/{session['id']}/console#token=" +
                                           session["host_token"])  # fmt: skip
    assert session["viewer_url"].endswith(f"/live/{session['id']}")
    return Fair(
        gateway, fair_id, token, employers, positions, gate["token"], session["id"],
        session["host_token"],
    )  # fmt: skip


def decode_qr(png: bytes) -> list[str]:
    """What a scanner reads in a screenshot (zxing-cpp, as a gate's camera would)."""
    zxingcpp = pytest.importorskip("zxingcpp", exc_type=ImportError)
    image = pytest.importorskip("PIL.Image", exc_type=ImportError)
    found = zxingcpp.read_barcodes(image.open(io.BytesIO(png)).convert("L"))
    return [b.text for b in found if b.format == zxingcpp.BarcodeFormat.QRCode]


async def sign_up(tab: Page, **fields: str) -> None:
    """Fill the fair page's sign-up form as a person would, and send it."""
    values = {"name": "林晓", "phone": "13912345678", "school": "华中科技大学", "major": "软件工程",
              "graduation_year": "2026", **fields}  # fmt: skip
    for name, value in values.items():
        await tab.fill(f"#{name}", value)
    await tab.locator("#signup-form input[name=consent]").check()
    await tab.locator("#signup-form button[type=submit]").tap()


async def test_a_seeker_with_only_a_phone(
    gateway: Gateway,
    worker: WorkerTask,
    phone: Page,
    phone_console: Console,
    tmp_path: Path,
    db: asyncpg.Connection,
) -> None:
    f = await fair(gateway)
    base = gateway.base
    await f.live("POST", "/start")
    await f.live("PUT", "/pin", {"position_id": f.positions[3]})

    # Sign up on the fair's page; the phone lands on its e-badge.
    await phone.goto(f"{base}/p/{f.id}")
    await expect(phone.locator("h1")).to_have_text("2026 春季高校毕业生双选会")
    await expect(phone.locator(".links-list .title")).to_have_text(
        ["名企直播带岗", *EMPLOYERS]
    )  # the livestream first, then the employers
    await phone.screenshot(path=tmp_path / "fair-page.png", full_page=True)
    await sign_up(phone)
    await expect(phone).to_have_url(f"{base}/p/{f.id}/me")
    await expect(phone.locator("h1")).to_have_text("林晓")
    await expect(phone.locator(".qr svg")).to_be_visible()

    # The gate's scanner reads the code from the phone's screen: the seeker is let in.
    shot = await phone.screenshot(path=tmp_path / "e-badge.png")
    [badge] = decode_qr(shot)
    answer = await f.api("POST", f"/v1/fairs/{f.id}/checkins", f.gate,
                         json={"id": "gate-east-000001", "badge": badge})  # fmt: skip
    assert answer["verdict"] == "admitted" and answer["seeker"]["name"] == "林晓", answer
    box = await phone.locator(".qr svg").bounding_box()
    assert box is not None and box["width"] >= 300  # large on a 390 px screen

    # The page is kept on the phone: offline, it opens all the same.
    await phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    await phone.reload()  # now under the service worker, which keeps a copy
    await phone.context.set_offline(True)
    await phone.reload()
    await expect(phone.locator("h1")).to_have_text("林晓")
    assert decode_qr(await phone.screenshot()) == [badge]
    await phone.context.set_offline(False)

    # The résumé, once (its own bytes: files are kept once per content, across fairs).
    mine = PDF + f"% {uuid.uuid4()}\n".encode()
    pdf: FilePayload = {"name": "林晓-简历.pdf", "mimeType": "application/pdf", "buffer": mine}
    await phone.set_input_files("#resume-file", files=[pdf])
    await phone.locator("#resume-form button[type=submit]").tap()
    await expect(phone.locator("#resume .title")).to_have_text("林晓-简历.pdf")

    # Three positions in three taps, from a booth's position page.
    await phone.goto(f"{base}/p/{f.id}/positions/{f.positions[0]}")
    await expect(phone.locator("#me-link")).to_contain_text("林晓，你好")
    search = await phone.locator("form.search button").bounding_box()
    field = await phone.locator("form.search input").bounding_box()
    assert search is not None and field is not None
    assert search["height"] <= field["height"] + 1  # "搜索" stays on one line at 390 px
    for n in range(3):
        button = phone.locator(f'li button[data-apply="{f.positions[n]}"]')
        async with phone.expect_response(lambda r: r.url.endswith("/applications")) as sent:
            await button.tap()
        assert (await sent.value).status == 201
        await expect(button).to_have_text("已投递")
    await phone.screenshot(path=tmp_path / "position-page.png", full_page=True)

    # The livestream: apply to the pinned position in one tap.
    await phone.goto(f"{base}/live/{f.session}")
    pinned = phone.locator("#pinned")
    await expect(pinned.locator(".p-title")).to_contain_text("柜员")
    await pinned.locator("[data-apply]").tap()
    await expect(phone.locator("#v-toast")).to_have_text(f"简历已投递给 {EMPLOYERS[1]}，祝你成功！")
    await expect(pinned.locator(".tag.done")).to_have_text("已投递")
    await expect(phone.locator("#fair-link")).to_have_text("我的投递")  # the way back

    # The employers act; "my applications" shows what became of each.
    listed = await f.api("GET", f"/v1/fairs/{f.id}/resumes", f.employers[0]["token"])
    downloaded = next(r for r in listed["items"] if r["position_id"] == f.positions[0])
    await f.api("GET", f"/v1/resumes/{downloaded['id']}/file", f.employers[0]["token"])
    seeker = downloaded["seeker_id"]
    await f.api("POST", f"/v1/fairs/{f.id}/intents", f.employers[1]["token"],
                json={"seeker_id": seeker, "position_id": f.positions[3]})  # fmt: skip
    await phone.goto(f"{base}/p/{f.id}/me")
    apps = phone.locator(".apps li")
    await expect(apps).to_have_count(4)
    statuses = {
        await li.get_attribute("data-id"): await li.get_attribute("data-status")
        for li in await apps.all()
    }
    assert statuses[downloaded["id"]] == "viewed"
    assert sorted(statuses.values()) == ["intent", "sent", "sent", "viewed"]
    await phone.screenshot(path=tmp_path / "my-page.png", full_page=True)

    # Withdraw one (asked twice): the employer no longer sees it.
    withdraw = phone.locator(f'li[data-id="{downloaded["id"]}"] .withdraw')
    await withdraw.tap()
    await expect(withdraw).to_have_text("再按一次撤回")
    await withdraw.tap()
    await expect(phone.locator(f'li[data-id="{downloaded["id"]}"] .status')).to_have_text("已撤回")
    listed = await f.api("GET", f"/v1/fairs/{f.id}/resumes", f.employers[0]["token"])
    assert downloaded["id"] not in [r["id"] for r in listed["items"]]

    async def settled() -> bool:
        t = totals(await gateway.stats(f.id, f.token))
        return t["resumes_submitted"] == (4, 1) and t["checkins"] == (1, 1)

    await eventually(settled)
    before = (await gateway.stats(f.id, f.token))["totals"]

    # Delete my data: the file is gone, the phone forgets, the figures keep their totals.
    erase = phone.locator("#erase")
    await erase.tap()
    await expect(erase).to_have_text("再按一次确认删除")
    await erase.tap()
    await expect(phone).to_have_url(f"{base}/p/{f.id}?from=me")
    await expect(phone.locator("#signup-form")).to_be_visible()
    assert await db.fetchval("SELECT count(*) FROM resumes WHERE seeker_id = $1", seeker) == 0
    contents = [bytes(r["content"]) for r in await db.fetch("SELECT content FROM resume_files")]
    assert mine not in contents
    status, _ = await gateway.request("GET", f"/v1/resumes/{downloaded['id']}/file", f.token)
    assert status == 404
    assert (await gateway.stats(f.id, f.token))["totals"] == before
    assert phone_console.problems(NOT_SIGNED_UP) == []


async def test_a_pin_reaches_an_open_viewer_page_without_a_beat(
    gateway: Gateway, phone: Page, phone_console: Console
) -> None:
    f = await fair(gateway)
    await f.live("POST", "/start")
    beats: list[str] = []
    phone.on("request", lambda r: beats.append(r.url) if r.url.endswith("/presence") else None)
    # The join goes once the page has its signed viewer id, maybe after the first render.
    async with phone.expect_request(lambda r: r.url.endswith("/presence")):
        await phone.goto(f"{gateway.base}/live/{f.session}")
    await expect(phone.locator("#state")).to_have_text("直播中")
    await expect(phone.locator("#no-pin")).to_be_visible()
    joined = len(beats)
    for position, title in ((f.positions[1], "测试工程师"), (f.positions[3], "柜员")):
        await f.live("PUT", "/pin", {"position_id": position})
        await expect(phone.locator("#pinned .p-title")).to_contain_text(title, timeout=2000)
    await f.live("POST", "/stop")
    await expect(phone.locator("#state")).to_have_text("已结束", timeout=2000)
    assert len(beats) == joined  # no beat brought any of it: the stream did
    # A question from another employer's row during the pin names what the viewer chose.
    assert phone_console.problems(NOT_SIGNED_UP) == []


async def test_apply_leads_a_new_phone_through_sign_up_and_back(
    gateway: Gateway, phone: Page, phone_console: Console, tmp_path: Path
) -> None:
    f = await fair(gateway)
    page = f"{gateway.base}/p/{f.id}/employers/{f.employers[0]['id']}"
    await phone.goto(page)
    await expect(phone.locator("#me-link")).to_have_text("报名后一键投递 ›")
    await phone.locator(f'li button[data-apply="{f.positions[2]}"]').tap()
    await expect(phone).to_have_url(re.compile(rf"/p/{f.id}\?next="))
    await sign_up(phone, phone="13600000000")
    await expect(phone).to_have_url(page)  # back where the tap was
    await phone.locator(f'li button[data-apply="{f.positions[2]}"]').tap()
    await expect(phone.locator("#resume-panel")).to_be_visible()  # the résumé, once
    pdf: FilePayload = {"name": "cv.pdf", "mimeType": "application/pdf", "buffer": PDF}
    await phone.set_input_files("#resume-file", files=[pdf])
    await phone.locator("#upload-apply").tap()
    await expect(phone.locator(f'li button[data-apply="{f.positions[2]}"]')).to_have_text("已投递")
    await expect(phone.locator("#toast")).to_have_text(f"已投递给 {EMPLOYERS[0]}，祝你成功！")
    await phone.locator("button[data-apply-employer]").tap()  # the employer, no position
    await expect(phone.locator("button[data-apply-employer]")).to_have_class(re.compile("done"))
    await phone.screenshot(path=tmp_path / "employer-page.png", full_page=True)
    listed = await f.api("GET", f"/v1/fairs/{f.id}/resumes", f.employers[0]["token"])
    assert sorted((r["position_id"] or "", r["channel"]) for r in listed["items"]) == sorted(
        [(f.positions[2], "onsite"), ("", "onsite")]
    )
    assert phone_console.problems(NOT_SIGNED_UP) == []


async def test_a_registered_phone_signs_in_with_a_code_and_sign_up_can_close(
    gateway: Gateway, phone: Page, phone_console: Console, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="fairhub.sms")
    f = await fair(gateway)
    await gateway.create(f.id, f.token, "seekers", name="周敏", phone="13700001111")  # imported
    await phone.goto(f"{gateway.base}/p/{f.id}")
    await sign_up(phone, name="周敏", phone="137 0000 1111")
    await expect(phone.locator("#signup-answer")).to_have_text(
        "该手机号已报名。获取验证码后即可在本机登录。"
    )
    await expect(phone.locator("#signin-phone")).to_have_value("137 0000 1111")
    await phone.locator("#send-code").tap()
    await expect(phone.locator("#signin-answer")).to_contain_text("验证码已发送")
    await expect(phone.locator("#send-code")).to_be_disabled()  # a countdown before another
    texts = [r.getMessage() for r in caplog.records if r.name == "fairhub.sms"]
    match = re.search(r"验证码是 (\d{6})", texts[-1])
    assert match is not None, texts
    await phone.fill("#signin-code", "000000" if match[1] != "000000" else "111111")
    await phone.locator("#signin-form button[type=submit]").tap()
    await expect(phone.locator("#signin-answer")).to_contain_text("code is wrong")
    await phone.fill("#signin-code", match[1])
    await phone.locator("#signin-form button[type=submit]").tap()
    await expect(phone).to_have_url(f"{gateway.base}/p/{f.id}/me")
    await expect(phone.locator("h1")).to_have_text("周敏")  # the imported record, not a new one

    await f.api("PATCH", f"/v1/fairs/{f.id}", json={"signup_open": False})
    other = await phone.context.browser.new_context(viewport={"width": 390, "height": 844})  # type: ignore[union-attr]
    try:
        fresh = await other.new_page()
        await fresh.goto(f"{gateway.base}/p/{f.id}")
        await expect(fresh.locator(".closed")).to_have_text(
            "报名已截止。已报名的同学可用手机号登录。"
        )
        await expect(fresh.locator("#signup-form")).to_be_hidden()
        await expect(fresh.locator("#signin-form")).to_be_visible()
    finally:
        await other.close()
    assert phone_console.problems(NOT_SIGNED_UP, "status of 422", "status of 409") == []
