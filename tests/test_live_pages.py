"""The livestream's pages in a real browser: the viewer's phone page and the host's console.

The browser is Debian's Chromium driven by Playwright (tests/browser.py). Sessions are made
through the API as an organizer would; the tests then act as a viewer on a phone and as the
host at a desk, and check through the API that what the pages did reached the session, its
employer and the pinned position. Screenshots stay under each test's temp dir.
"""

# Chinese names and labels use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.async_api import FilePayload, Page, expect
from support import Gateway, WorkerTask, eventually, make_settings

from fairhub.config import Settings

if TYPE_CHECKING:
    from browser import Console

pytest_plugins = ["browser"]  # Chromium fixtures: browser, page, phone, console, phone_console

TITLE = "2026 春季直播带岗 · 智能制造专场"
EMPLOYERS = ("华为技术有限公司", "比亚迪股份有限公司")
POSITIONS = (  # (employer, title, job type, headcount)
    (0, "嵌入式软件工程师", "技术", 12),
    (0, "硬件测试工程师", "技术", 6),
    (1, "动力电池研发工程师", "研发", 20),
    (1, "储备干部（管培生）", "管理", 30),
)
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
# The fetch() of a refused token is logged by Chromium itself: expected, not a page error.
REFUSED = "the server responded with a status of 40"
# A phone that never signed up asks who it is (GET /p/{fair}/me.json) and hears 401: expected.
NOT_SIGNED_UP = "the server responded with a status of 401"


@pytest.fixture
def settings(database_url: str, servers: tuple[str, str], tmp_path: Path) -> Settings:
    """Viewer pages beat every second, so a new pin reaches a phone within the test's patience."""
    return make_settings(database_url, servers[1], tmp_path, live_beat_seconds=1)


@dataclass
class Stream:
    """A fair with two employers, four positions, one seeker and a livestream session."""

    gateway: Gateway
    fair: str
    token: str  # the organizer's
    employers: list[str]
    positions: list[str]
    badge: str
    id: str
    host: str  # the host's token
    viewers: dict[str, str] = field(default_factory=dict)  # test's name -> issued id

    async def call(
        self, method: str, path: str = "", body: Any = None, token: str | None = None
    ) -> Any:
        """A session API call with the host token (or another); its 2xx body."""
        url = f"/v1/fairs/{self.fair}/live-sessions/{self.id}{path}"
        status, answer = await self.gateway.request(method, url, token or self.host, json=body)
        assert 200 <= status < 300, (status, answer)
        return answer

    async def figures(self) -> dict[str, Any]:
        return dict((await self.call("GET"))["figures"])

    async def questions(self, status: str = "open") -> list[dict[str, Any]]:
        return list((await self.call("GET", f"/consultations?status={status}"))["items"])

    async def public(self, path: str, body: dict[str, Any]) -> Any:
        """What a viewer's phone posts (no token); the test's viewer names stand for ids the
        server issues (one per name)."""
        if "viewer_id" in body:
            body = {**body, "viewer_id": await self.viewer(body["viewer_id"])}
        status, answer = await self.gateway.request(
            "POST", f"/live/{self.id}{path}", None, json=body
        )
        assert status in (200, 202), (status, answer)
        return answer

    async def viewer(self, name: str) -> str:
        if name not in self.viewers:
            status, answer = await self.gateway.request(
                "POST", f"/live/{self.id}/viewer", None, json={}
            )
            assert status == 201, answer
            self.viewers[name] = answer["viewer_id"]
        return self.viewers[name]


async def stream(gateway: Gateway) -> Stream:
    fair, token = await gateway.create_fair("2026 春季高校毕业生双选会")
    employers = [(await gateway.create(fair, token, "employers", name=n))["id"] for n in EMPLOYERS]
    positions = [
        (
            await gateway.create(
                fair, token, "positions", employer_id=employers[e], title=t, job_type=j,
                headcount=n,
            )
        )["id"]
        for e, t, j, n in POSITIONS
    ]  # fmt: skip
    seeker = await gateway.create(fair, token, "seekers", name="王安", school="武汉大学")
    status, session = await gateway.request(
        "POST",
        f"/v1/fairs/{fair}/live-sessions",
        token,
        json={
            "title": TITLE,
            "employer_ids": employers,
            "platform": "抖音",
            "stream_url": "https://live.douyin.com/8842",
        },
    )
    assert status == 201, session
    return Stream(
        gateway, fair, token, employers, positions, seeker["badge"], session["id"],
        session["host_token"],
    )  # fmt: skip


def by(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in rows}


async def test_a_viewer_follows_the_pin_asks_and_applies(
    gateway: Gateway, worker: WorkerTask, phone: Page, phone_console: Console, tmp_path: Path
) -> None:
    s = await stream(gateway)
    await s.call("POST", "/start")
    await s.call("PUT", "/pin", {"position_id": s.positions[0]})

    await phone.goto(f"{gateway.base}/live/{s.id}")
    pinned = phone.locator("#pinned")
    await expect(pinned.locator(".p-title")).to_have_text(POSITIONS[0][1] + "讲解中")
    await expect(pinned.locator(".p-employer")).to_have_text(EMPLOYERS[0])
    await expect(pinned.locator(".p-meta")).to_have_text("技术 · 招 12 人")
    await expect(phone.locator("#title")).to_have_text(TITLE)
    await expect(phone.locator("#state")).to_have_text("直播中")
    await expect(phone.locator("#watch")).to_have_attribute("href", "https://live.douyin.com/8842")
    await expect(phone.locator(".group h3")).to_have_text(list(EMPLOYERS))
    await expect(phone.locator(".job")).to_have_count(4)
    await expect(phone.locator(".job.is-pinned .job-title")).to_have_text(
        POSITIONS[0][1] + "讲解中"
    )
    top = await pinned.bounding_box()
    below = await phone.locator(".group").first.bounding_box()
    assert top is not None and below is not None and top["y"] < below["y"]

    async def kept() -> bool:  # the server's signed id, once the page has asked for it
        return bool(await phone.evaluate("localStorage.getItem('fairhub.live.viewer')"))

    await eventually(kept, timeout=10)
    viewer = await phone.evaluate("localStorage.getItem('fairhub.live.viewer')")
    assert re.fullmatch(r"v[\w-]{16}\.[\w-]{22}", viewer), viewer

    async def watching(n: int) -> bool:
        return bool((await s.figures())["viewers_now"] == n)

    await eventually(lambda: watching(1), timeout=10)  # the page joined
    await phone.evaluate("window.stillTheSamePage = true")

    # The host pins a BYD position: the phone shows it on top after its next beat.
    await s.call("PUT", "/pin", {"position_id": s.positions[2]})
    await expect(pinned.locator(".p-title")).to_have_text(POSITIONS[2][1] + "讲解中")
    await expect(pinned).to_have_class(re.compile(r"\barrive\b"))
    await expect(pinned.locator(".p-employer")).to_have_text(EMPLOYERS[1])
    assert await phone.evaluate("window.stillTheSamePage") is True

    # Ask BYD from the pinned card: the question joins the host's queue.
    await pinned.locator("[data-ask]").tap()
    await expect(phone.locator("#sheet-title")).to_have_text("向企业提问")
    await expect(phone.locator("#ask-employer")).to_have_value(s.employers[1])
    await phone.fill("#question", "应届生入职后有系统的培训吗？")
    await expect(phone.locator("#question-count")).to_have_text("14/500")
    await phone.locator("#ask-form button[type=submit]").tap()
    await expect(phone.locator("#ask-answer")).to_have_text("问题已送达，请留意直播间的回答。")

    async def asked() -> bool:
        return any(q["question"] == "应届生入职后有系统的培训吗？" for q in await s.questions())

    await eventually(asked, timeout=10)
    [question] = await s.questions()
    assert question["viewer_id"] == viewer and question["employer_id"] == s.employers[1]
    assert question["position_id"] == s.positions[2]
    await phone.locator("#sheet-close").tap()

    # Apply to the pinned position with a PDF and the badge (a phone that did not sign up).
    await pinned.locator("[data-apply]").tap()
    await expect(phone.locator("#sheet-sub")).to_have_text(f"{POSITIONS[2][1]} · {EMPLOYERS[1]}")
    await expect(phone.locator("#signup-link")).to_be_visible()
    await phone.locator("#badge-way summary").tap()
    await expect(phone.locator("#badge")).to_have_value("")
    await phone.fill("#badge", s.badge)
    pdf: FilePayload = {"name": "王安-简历.pdf", "mimeType": "application/pdf", "buffer": PDF}
    await phone.set_input_files("#file", files=[pdf])
    await phone.screenshot(path=tmp_path / "viewer-apply.png", animations="disabled")
    async with phone.expect_response(
        lambda r: r.url.endswith("/resumes") and r.request.method == "POST"
    ) as sent:
        await phone.locator("#apply-form button[type=submit]").tap()
    assert (await sent.value).status == 201
    await expect(phone.locator("#apply-answer")).to_have_text(
        f"简历已投递给 {EMPLOYERS[1]}，祝你成功！"
    )
    await expect(pinned.locator(".tag.done")).to_have_text("已投递")
    status, listed = await gateway.request("GET", f"/v1/fairs/{s.fair}/resumes", s.token)
    assert status == 200, listed
    [resume] = listed["items"]
    assert (resume["channel"], resume["session_id"]) == ("live", s.id)
    assert (resume["employer_id"], resume["position_id"]) == (s.employers[1], s.positions[2])

    # Counted, once the worker has it: for the session, the employer and the pinned position.
    async def counted() -> bool:
        f = await s.figures()
        employer = by(f["by_employer"], "employer_id").get(s.employers[1], {})
        pin = by(f["by_pin"], "position_id").get(s.positions[2], {})
        return bool(
            (f["resumes"], f["consultations"]) == (1, 1)
            and (employer.get("resumes"), employer.get("consultations")) == (1, 1)
            and (pin.get("resumes"), pin.get("consultations")) == (1, 1)
        )

    await eventually(counted, timeout=15)
    row = by((await gateway.stats(s.fair, s.token))["by_session"], "session_id")[s.id]
    assert row["totals"]["resumes_submitted"]["total"] == 1
    await phone.locator("#sheet-close").tap()
    await phone.screenshot(path=tmp_path / "viewer.png", full_page=True, animations="disabled")

    # The phone remembers the badge (under the booth pages' key) and what it applied to.
    await phone.reload()
    await expect(pinned.locator(".tag.done")).to_have_text("已投递")
    await pinned.locator("[data-apply]").tap()
    await expect(phone.locator("#badge")).to_have_value(s.badge)
    key = f"fairhub.badge.{s.fair}"
    assert await phone.evaluate(f"localStorage.getItem('{key}')") == s.badge
    assert await phone.evaluate("localStorage.getItem('fairhub.live.viewer')") == viewer

    # Leaving the page says so (a beacon on pagehide): nobody is watching any more.
    await phone.goto("about:blank")
    await eventually(lambda: watching(0), timeout=10)
    assert phone_console.problems(NOT_SIGNED_UP) == []


async def test_the_host_starts_pins_sees_viewers_and_answers(
    gateway: Gateway, worker: WorkerTask, page: Page, console: Console, tmp_path: Path
) -> None:
    s = await stream(gateway)
    await page.goto(f"{gateway.base}/live/{s.id}/console#token={s.host}")
    await expect(page.locator("#title")).to_have_text(TITLE)
    await expect(page.locator("#state")).to_have_text("即将开播")
    await expect(page.locator("#link")).to_have_attribute("data-state", "live")
    assert "token" not in page.url
    stored = await page.evaluate(f"localStorage.getItem('fairhub.live.host.{s.id}')")
    assert stored == s.host
    await expect(page.locator(".employer h3")).to_have_text([f"{n} · 2" for n in EMPLOYERS])
    await expect(page.locator("#on-show-empty")).to_be_visible()
    await page.evaluate("window.stillTheSamePage = true")

    await page.click("#start")
    await expect(page.locator("#state")).to_have_text("直播中")
    await expect(page.locator("#start")).to_be_hidden()
    assert (await s.call("GET"))["status"] == "live"

    tile = page.locator(f'.tile[data-position="{s.positions[1]}"]')
    await tile.click()
    await expect(tile).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#on-show-title")).to_have_text(POSITIONS[1][1])
    await expect(page.locator("#on-show-meta")).to_contain_text(EMPLOYERS[0])
    assert (await s.call("GET"))["pinned"]["position_id"] == s.positions[1]
    await expect(page.locator(".tile.on")).to_have_count(1)

    # Viewers join from their phones: "watching now" follows without a reload.
    now = page.locator('[data-figure="viewers_now"]')
    await expect(now).to_have_text("0")
    for viewer in ("phone-1", "phone-2", "phone-3"):
        await s.public("/presence", {"viewer_id": viewer, "kind": "join"})
    await expect(now).to_have_text("3")
    await expect(page.locator('[data-figure="peak"]')).to_have_text("3")
    await s.public("/presence", {"viewer_id": "phone-3", "kind": "leave"})
    await expect(now).to_have_text("2")
    await expect(page.locator('[data-figure="views"]')).to_have_text("3")

    # The venue's Wi-Fi drops: the console says so calmly and keeps the last figures.
    await page.route("**/live-sessions/**", lambda route: route.abort())
    await expect(page.locator("#link")).to_have_attribute("data-state", "reconnecting")
    await expect(page.locator("#link")).to_have_text("连接中断，正在重连…")
    await expect(now).to_have_text("2")
    await page.unroute("**/live-sessions/**")
    await expect(page.locator("#link")).to_have_attribute("data-state", "live")

    # Their questions queue up, oldest first; one click marks one answered.
    # Each is labelled with what the viewer chose, and what was on show when it is not that.
    asked = [
        ("phone-1", 0, "嵌入式岗位需要会 Linux 驱动开发吗？", 0),
        ("phone-2", 1, "管培生轮岗多久？可以选城市吗？", 3),
        ("phone-1", 0, "实习表现好可以直接转正吗？", None),
    ]
    ids = []
    for viewer, employer, text, about in asked:
        ids.append(f"q-{uuid.uuid4().hex}")
        body = {"id": ids[-1], "viewer_id": viewer, "employer_id": s.employers[employer],
                "question": text}  # fmt: skip
        if about is not None:
            body["position_id"] = s.positions[about]
        await s.public("/questions", body)
    queue = page.locator("#queue-list .q")
    await expect(queue.locator(".q-text")).to_have_text([text for _, _, text, _ in asked])
    await expect(queue.first.locator(".q-who")).to_have_text(EMPLOYERS[0])
    await expect(queue.first.locator(".q-pos")).to_have_text(POSITIONS[0][1])
    await expect(queue.first.locator(".q-pin")).to_have_text(f"讲解「{POSITIONS[1][1]}」时")
    await expect(queue.nth(1).locator(".q-pos")).to_have_text(POSITIONS[3][1])
    await expect(queue.nth(2).locator(".q-pos")).to_have_count(0)
    await expect(page.locator("#queue-count")).to_have_text("3")
    await expect(page.locator('[data-figure="consultations"]')).to_have_text("3")
    await page.screenshot(path=tmp_path / "console.png", full_page=True, animations="disabled")

    await queue.first.locator(".answer").click()
    await expect(queue.locator(".q-text")).to_have_text([text for _, _, text, _ in asked[1:]])
    await expect(page.locator("#queue-count")).to_have_text("2")
    [done] = await s.questions("answered")
    assert done["id"] == ids[0] and done["answered_at"] and done["answered_by"]

    # Ending the stream takes a second press.
    await page.click("#stop")
    await expect(page.locator("#stop")).to_have_text("再按一次结束直播")
    assert (await s.call("GET"))["status"] == "live"
    await page.click("#stop")
    await expect(page.locator("#state")).to_have_text("已结束")
    assert (await s.call("GET"))["status"] == "ended"
    assert await page.evaluate("window.stillTheSamePage") is True
    assert console.problems("net::ERR_FAILED") == []


async def test_the_dashboard_shows_each_live_session(
    gateway: Gateway, worker: WorkerTask, page: Page, console: Console, tmp_path: Path
) -> None:
    s = await stream(gateway)
    await s.call("POST", "/start")
    await s.call("PUT", "/pin", {"position_id": s.positions[0]})
    for viewer in ("phone-1", "phone-2", "phone-3"):
        await s.public("/presence", {"viewer_id": viewer, "kind": "join"})
    await s.public("/presence", {"viewer_id": "phone-3", "kind": "leave"})
    await s.public("/presence", {"viewer_id": "phone-1", "kind": "join"})  # back again
    await s.public(
        "/questions",
        {"id": f"q-{uuid.uuid4().hex}", "viewer_id": "phone-1", "employer_id": s.employers[0],
         "question": "有夜班吗？"},
    )  # fmt: skip

    await page.goto(f"{gateway.base}/dashboard/{s.fair}#token={s.token}")
    await expect(page.locator(".rank.sessions th")).to_have_text(
        ["场次", "在线", "峰值", "观看人次", "观众", "投递简历", "咨询"]
    )
    await expect(page.locator("#sessions-rows td")).to_have_text(
        [TITLE, "2", "3", "4", "3", "0", "1"]
    )
    await page.screenshot(path=tmp_path / "dashboard-live.png", full_page=True)
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.locator("#sessions-panel").screenshot(path=tmp_path / "dashboard-live-phone.png")
    assert console.problems() == []


async def test_a_wrong_token_shows_the_token_form(
    gateway: Gateway, worker: WorkerTask, page: Page, console: Console, tmp_path: Path
) -> None:
    s = await stream(gateway)
    _, other_token = await gateway.create_fair("秋季招聘会")

    await page.goto(f"{gateway.base}/live/{s.id}/console?lang=en#token=not-a-real-token")
    await expect(page.locator("#login")).to_be_visible()
    await expect(page.locator("#login-error")).to_have_text(
        "Unknown or revoked token; enter it again."
    )
    assert await page.evaluate(f"localStorage.getItem('fairhub.live.host.{s.id}')") is None
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await page.screenshot(path=tmp_path / "console-token.png")

    await page.fill("#login-token", other_token)
    await page.click("#login-form button")
    await expect(page.locator("#login-error")).to_have_text(
        "This token may not host this livestream."
    )
    await page.fill("#login-token", s.host)
    await page.click("#login-form button")
    await expect(page.locator("#login")).to_be_hidden()
    await expect(page.locator("#title")).to_have_text(TITLE)
    await expect(page.locator("#state")).to_have_text("Starting soon")
    await expect(page.locator('[data-fig="viewers_now"] h2')).to_have_text("Watching now")
    await page.click("#sign-out")
    await expect(page.locator("#login")).to_be_visible()
    assert await page.evaluate(f"localStorage.getItem('fairhub.live.host.{s.id}')") is None

    # An unknown session says so, on either page.
    missing = str(uuid.uuid4())
    await page.goto(f"{gateway.base}/live/{missing}/console#token={s.host}")
    await expect(page.locator("#missing")).to_be_visible()
    await page.goto(f"{gateway.base}/live/{missing}")
    await expect(page.locator("#missing h1")).to_have_text("直播不存在")
    assert console.problems(REFUSED, "404") == []


async def test_the_pages_are_served_safely(gateway: Gateway) -> None:
    session = str(uuid.uuid4())
    for path, lang, label in (
        (f"/live/{session}", "zh-CN", "本场岗位"),
        (f"/live/{session}?lang=en", "en", "Positions"),
        (f"/live/{session}/console", "zh-CN", "主播控制台"),
        (f"/live/{session}/console?lang=en", "en", "Host console"),
    ):
        async with gateway.session.get(gateway.base + path) as response:
            assert response.status == 200, path
            html = await response.text()
            policy = response.headers["Content-Security-Policy"]
        assert f'<html lang="{lang}">' in html and label in html
        assert "script-src 'self'" in policy and "default-src 'none'" in policy
        assert "unsafe-inline" not in policy
        assert not re.search(r"\son[a-z]+=", html), "no inline event handlers"
        assert not re.search(r"(src|href)=\"(https?:)?//", html), "every file is ours"
        assert f'"session": "{session}"' in html
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
            async with gateway.session.get(gateway.base + asset) as response:
                assert response.status == 200, asset
                assert "immutable" in response.headers["Cache-Control"]
                assert not re.search(r"https?://(?!www\.w3\.org)", await response.text()), asset
    for path in ("/live/not-a-session", "/live/not-a-session/console", "/live/%3Cb%3E"):
        async with gateway.session.get(gateway.base + path) as response:
            assert response.status == 404, path
            assert "<b>" not in await response.text()
