"""The organizers' dashboard in a real browser: live figures without a reload, in zh and en.

The browser is Debian's Chromium driven by Playwright (tests/browser.py). The page reads the
stats stream with the organizer's token; the test posts events through the public API and
waits for the exact figures to appear, then keeps screenshots under its temp dir.
"""

# Chinese names and labels use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playwright.async_api import Locator, Page, expect
from support import ADMIN_TOKEN, Gateway, WorkerTask, event

if TYPE_CHECKING:
    from browser import Console

pytest_plugins = ["browser"]  # Chromium fixtures: chromium, browser, page, console

SCHOOLS = ("武汉大学", "华中科技大学", "武汉理工大学")
EMPLOYERS = ("华为技术有限公司", "比亚迪股份有限公司", "腾讯科技（武汉）有限公司")
# The fetch() of a refused token is logged by Chromium itself: expected, not a page error.
REFUSED = "the server responded with a status of 40"


def ago(minutes: float) -> str:
    """A time `minutes` before now: the chart shows the last hour as it happened."""
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


async def figure(page: Page, metric: str, part: str, text: str) -> None:
    """Wait until a headline figure reads `text` (formatted, with thousands separators)."""
    locator = page.locator(f'[data-metric="{metric}"][data-part="{part}"]')
    await expect(locator).to_have_text(text, timeout=10_000)


def channel_figures(page: Page, channel: str) -> Locator:
    """A hire channel's card: its hires, then the persons hired through it."""
    return page.locator(f'#hires-channels [data-channel="{channel}"] [data-part]')


async def test_the_dashboard_follows_the_fair_live(
    gateway: Gateway, worker: WorkerTask, page: Page, console: Console, tmp_path: Path
) -> None:
    fair, token = await gateway.create_fair("2026 秋季高校毕业生双选会")
    employers = [(await gateway.create(fair, token, "employers", name=n))["id"] for n in EMPLOYERS]
    huawei, byd, tencent = employers
    seekers = [
        (await gateway.create(fair, token, "seekers", name=f"学生{n}", school=school))["id"]
        for n, school in enumerate([SCHOOLS[0]] * 5 + [SCHOOLS[1]] * 3 + [SCHOOLS[2]] * 6)
    ]

    # The morning so far: 9 visitors in (2 came back), 1,000 page views from 40 phones,
    # booth scans, résumés, a download and an intent.
    morning: list[dict[str, Any]] = []
    for n, seeker in enumerate(seekers[:9]):
        morning.append(event("checkin", seeker_id=seeker, occurred_at=ago(40 - 3 * n)))
    for seeker in seekers[:2]:
        morning.append(event("checkin", seeker_id=seeker, occurred_at=ago(12)))
    for n in range(1000):
        morning.append(
            event(
                "qr_scan",
                target="employer",
                target_id=employers[n % 3],
                visitor_id=f"phone-{n % 40}",
                occurred_at=ago(38 - n % 36),
            )
        )
    for seeker in seekers[:4]:
        morning.append(
            event("booth_visit", employer_id=huawei, seeker_id=seeker, occurred_at=ago(20))
        )
    morning.append(event("booth_visit", employer_id=byd, seeker_id=seekers[5], occurred_at=ago(18)))
    for n, (seeker, employer) in enumerate(
        [(seekers[0], huawei), (seekers[1], huawei), (seekers[2], huawei), (seekers[3], byd)]
    ):
        morning.append(
            event(
                "resume_submitted",
                seeker_id=seeker,
                employer_id=employer,
                channel="onsite" if n < 3 else "online",
                occurred_at=ago(25 - 4 * n),
            )
        )
    morning.append(
        event("resume_downloaded", seeker_id=seekers[0], employer_id=huawei, occurred_at=ago(8))
    )
    morning.append(
        event("intent_agreed", seeker_id=seekers[0], employer_id=huawei, occurred_at=ago(6))
    )
    for viewer in ("w1", "w2", "w3"):  # a livestream talk, watched by three
        morning.append(
            event("live_join", session_id="hr-talk", viewer_id=viewer, occurred_at=ago(10))
        )
    for start in range(0, len(morning), 500):
        results = await gateway.post(fair, token, morning[start : start + 500])
        assert {r["status"] for r in results} == {"accepted"}, results[:3]

    # The organizer opens the dashboard with the token in the fragment, never sent to a server.
    await page.goto(f"{gateway.base}/dashboard/{fair}#token={token}")
    await figure(page, "checkins", "total", "11")
    await figure(page, "checkins", "unique", "9")
    await figure(page, "qr_scans", "total", "1,000")
    await figure(page, "qr_scans", "unique", "40")
    await figure(page, "resumes_submitted", "total", "4")
    await figure(page, "intents", "total", "1")
    assert "token" not in page.url
    assert await page.evaluate(f"localStorage.getItem('fairhub.dashboard.token.{fair}')") == token
    await expect(page.locator("#fair-name")).to_have_text("2026 秋季高校毕业生双选会")
    await expect(page.locator("#link")).to_have_attribute("data-state", "live")
    await expect(page.locator("#link")).to_have_text("实时")
    await expect(page.locator("#updated")).to_have_text(re.compile(r"^更新于 \d\d:\d\d:\d\d$"))
    await expect(page.locator("[data-note=resumes_submitted]")).to_have_text(
        "现场 3 · 线上 1 · 直播 0"
    )
    # The leaderboard: résumés received first, then leads.
    first = page.locator("#leaders-rows tr").first
    await expect(first.locator("td")).to_have_text(["1", EMPLOYERS[0], "4", "3", "1", "1"])
    await expect(page.locator("#leaders-rows tr").nth(1).locator("td")).to_have_text(
        ["2", EMPLOYERS[1], "1", "1", "0", "0"]
    )
    await expect(page.locator("#schools li .label").first).to_have_text(SCHOOLS[0])
    await expect(page.locator("#chart svg path.bars")).to_have_count(3)
    await figure(page, "live_views", "unique", "3")
    await expect(page.locator("#sessions-rows td")).to_have_text(
        ["hr-talk", "3", "3", "3", "3", "0", "0"]
    )
    await page.evaluate("window.stillTheSamePage = true")

    # Now more people arrive: the page must follow without a reload.
    later = [event("checkin", seeker_id=s, occurred_at=ago(1)) for s in seekers[9:14]]
    later.append(event("checkin", seeker_id=seekers[0], occurred_at=ago(1)))  # a re-entry
    later.append(event("checkin", badge="FH1NOTABADGE", occurred_at=ago(1)))  # refused
    later += [
        event(
            "resume_submitted", seeker_id=s, employer_id=tencent, channel="live", occurred_at=ago(1)
        )
        for s in seekers[9:12]
    ]
    later += [
        event(
            "qr_scan",
            target="employer",
            target_id=tencent,
            visitor_id=f"phone-{n}",
            occurred_at=ago(1),
        )
        for n in (1, 2, 99)
    ]
    await gateway.post(fair, token, later)
    await figure(page, "checkins", "total", "17")
    await figure(page, "checkins", "unique", "14")
    await figure(page, "resumes_submitted", "total", "7")
    await figure(page, "resumes_submitted", "unique", "7")
    await figure(page, "qr_scans", "total", "1,003")
    await figure(page, "qr_scans", "unique", "41")
    await expect(page.locator("[data-note=checkins]")).to_have_text("拒绝入场 1（无效胸卡 1）")
    await expect(page.locator("#leaders-rows tr").nth(1).locator("td")).to_have_text(
        ["2", EMPLOYERS[2], "0", "3", "0", "0"]
    )
    assert await page.evaluate("window.stillTheSamePage") is True

    # Hires: the panel starts at zero, then follows each channel (a resent hire counts once).
    await figure(page, "hires", "total", "0")
    await expect(channel_figures(page, "fair")).to_have_text(["0", "0 人"])
    hires = [
        event("hired", employer_id=huawei, seeker_id=seekers[0], occurred_at=ago(1)),
        event("hired", employer_id=byd, seeker_id=seekers[0], occurred_at=ago(1)),
        event(
            "hired", employer_id=huawei, seeker_id=seekers[1], channel="livestream",
            occurred_at=ago(1),
        ),
    ]  # fmt: skip
    await gateway.post(fair, token, hires)
    await gateway.post(fair, token, hires[:1])
    await figure(page, "hires", "total", "3")
    await figure(page, "hires", "unique", "2")
    await expect(channel_figures(page, "fair")).to_have_text(["2", "1 人"])
    await expect(channel_figures(page, "livestream")).to_have_text(["1", "1 人"])
    await expect(channel_figures(page, "training")).to_have_text(["0", "0 人"])
    assert await page.evaluate("window.stillTheSamePage") is True

    await page.screenshot(path=tmp_path / "dashboard.png", full_page=True, animations="disabled")
    await page.set_viewport_size({"width": 1920, "height": 1080})  # a projector
    await page.screenshot(path=tmp_path / "dashboard-projector.png", animations="disabled")
    await page.set_viewport_size({"width": 390, "height": 844})
    columns = await page.evaluate(
        "getComputedStyle(document.querySelector('.kpis')).gridTemplateColumns.split(' ').length"
    )
    assert columns == 1
    await page.screenshot(
        path=tmp_path / "dashboard-phone.png", full_page=True, animations="disabled"
    )
    assert console.problems() == []


class Link:
    """A TCP relay between the browser and the gateway that the test can cut, like venue Wi-Fi."""

    def __init__(self, target: str) -> None:
        self.host, port = target.removeprefix("http://").split(":")
        self.port = int(port)
        self.up = True
        self.pipes: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None
        self.base = ""

    async def __aenter__(self) -> Link:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.base = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cut()
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    def cut(self) -> None:
        self.up = False
        for pipe in self.pipes:
            pipe.transport.abort()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.transport.abort()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection(self.host, self.port)
        self.pipes |= {writer, upstream_writer}

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while chunk := await source.read(65536):
                    sink.write(chunk)
                    await sink.drain()
            except ConnectionError:
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pump(reader, upstream_writer), pump(upstream_reader, writer))
        self.pipes -= {writer, upstream_writer}


async def test_reconnects_after_the_link_drops_and_keeps_the_figures(
    gateway: Gateway, worker: WorkerTask, page: Page, console: Console
) -> None:
    fair, token = await gateway.create_fair()
    seeker = (await gateway.create(fair, token, "seekers", name="王安", school="复旦大学"))["id"]
    await gateway.post(fair, token, [event("checkin", seeker_id=seeker, occurred_at=ago(2))])
    sent: list[str] = []
    page.on(
        "request",
        lambda r: sent.append(r.headers.get("last-event-id", "")) if "stream" in r.url else None,
    )
    async with Link(gateway.base) as link:
        await page.goto(f"{link.base}/dashboard/{fair}#token={token}")
        await figure(page, "checkins", "unique", "1")
        await expect(page.locator("#link")).to_have_attribute("data-state", "live")
        link.cut()
        await expect(page.locator("#link")).to_have_attribute("data-state", "reconnecting")
        await expect(page.locator("#link")).to_have_text("连接中断，正在重连…")
        await figure(page, "checkins", "unique", "1")  # the last figures stay on screen
        link.up = True
        await gateway.post(fair, token, [event("checkin", seeker_id=seeker, occurred_at=ago(1))])
        await figure(page, "checkins", "total", "2")
        await expect(page.locator("#link")).to_have_attribute("data-state", "live")
    assert sent[0] == "" and sent[-1].isdigit(), sent  # the reconnection said what it had seen
    assert console.problems("net::ERR_") == []


async def test_english_labels_a_wrong_token_and_the_token_form(
    gateway: Gateway, worker: WorkerTask, page: Page, console: Console, tmp_path: Path
) -> None:
    fair, token = await gateway.create_fair("Spring fair")
    _, other_token = await gateway.create_fair("秋季招聘会")

    await page.goto(f"{gateway.base}/dashboard/{fair}?lang=en#token=not-a-real-token")
    await expect(page.locator("#login")).to_be_visible()
    await expect(page.locator("#login-error")).to_have_text(
        "Unknown or revoked token; enter it again."
    )
    assert await page.evaluate(f"localStorage.getItem('fairhub.dashboard.token.{fair}')") is None
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator('[data-kpi="checkins"] h2')).to_have_text("Check-ins")
    await expect(page.locator('[data-kpi="checkins"] .unit')).to_have_text(["entries", "visitors"])
    await page.screenshot(path=tmp_path / "dashboard-token.png")

    # Another fair's token is refused too, with its own reason.
    await page.fill("#login-token", other_token)
    await page.click("#login-form button")
    await expect(page.locator("#login-error")).to_have_text(
        "This token may not see this fair's figures."
    )
    # The right one opens the board, and the page remembers it.
    await page.fill("#login-token", token)
    await page.click("#login-form button")
    await expect(page.locator("#login")).to_be_hidden()
    await figure(page, "checkins", "total", "0")
    await expect(page.locator("#fair-name")).to_have_text("Spring fair")
    await expect(page.locator("#link")).to_have_text("Live")
    await expect(page.locator("#leaders-empty")).to_have_text("No data yet")
    await page.reload()
    await figure(page, "checkins", "total", "0")
    await expect(page.locator("#login")).to_be_hidden()
    # Signing out forgets it.
    await page.click("#sign-out")
    await expect(page.locator("#login")).to_be_visible()
    assert await page.evaluate(f"localStorage.getItem('fairhub.dashboard.token.{fair}')") is None
    assert console.problems(REFUSED) == []


async def test_the_index_lists_fairs_for_the_admin(
    gateway: Gateway, worker: WorkerTask, page: Page, console: Console, tmp_path: Path
) -> None:
    fair, _ = await gateway.create_fair("冬季专场招聘会")
    await page.goto(f"{gateway.base}/dashboard")
    await page.fill("#open-token", ADMIN_TOKEN)
    await page.click("#open-form button")
    await expect(page.locator(f'#fair-list a[href^="/dashboard/{fair}"]')).to_contain_text(
        "冬季专场招聘会"
    )
    await page.screenshot(path=tmp_path / "dashboard-index.png")
    await page.click(f'#fair-list a[href^="/dashboard/{fair}"]')
    await expect(page.locator("#fair-name")).to_have_text("冬季专场招聘会")
    await figure(page, "checkins", "total", "0")
    assert page.url == f"{gateway.base}/dashboard/{fair}"
    assert console.problems() == []


async def test_pages_and_static_files_are_served_safely(gateway: Gateway) -> None:
    fair, _ = await gateway.create_fair()
    for path, lang, label in (
        (f"/dashboard/{fair}", "zh-CN", "入场"),
        (f"/dashboard/{fair}?lang=en", "en", "Check-ins"),
        (f"/dashboard/{fair}?lang=fr", "zh-CN", "入场"),
        ("/dashboard", "zh-CN", "打开数据大屏"),
    ):
        async with gateway.session.get(gateway.base + path) as response:
            assert response.status == 200, path
            html = await response.text()
            policy = response.headers["Content-Security-Policy"]
        assert f'<html lang="{lang}">' in html
        assert label in html and ("Check-ins" in html) == (lang == "en")
        assert "script-src 'self'" in policy and "connect-src 'self'" in policy
        assert "unsafe-inline" not in policy and "default-src 'none'" in policy
        assert not re.search(r"\son[a-z]+=", html), "no inline event handlers"
        assert not re.search(r"(src|href)=\"(https?:)?//", html), "every file is ours"
    async with gateway.session.get(f"{gateway.base}/dashboard/not-a-fair") as response:
        assert response.status == 404
        assert "页面不存在" in await response.text()

    # The static files: known names only, the right types, cached by version.
    html = (await gateway.request("GET", f"/dashboard/{fair}", None))[1]
    script = re.search(r'src="(/static/dashboard\.js\?v=\w+)"', html)
    assert script is not None
    async with gateway.session.get(gateway.base + script.group(1)) as response:
        assert response.status == 200
        assert response.content_type == "text/javascript"
        assert "immutable" in response.headers["Cache-Control"]
        etag = response.headers["ETag"]
        body = await response.text()
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", body), "no CDN"
    async with gateway.session.get(
        f"{gateway.base}/static/dashboard.js", headers={"If-None-Match": etag}
    ) as response:
        assert response.status == 304
        assert response.headers["Cache-Control"] == "no-cache"
    async with gateway.session.get(f"{gateway.base}/static/dashboard.css") as response:
        assert response.status == 200 and response.content_type == "text/css"
        assert "http" not in await response.text()
    for bad in ("nope.js", "..%2Fdashboard.py", "%2E%2E%2Fapp.py", "dashboard.py", ".."):
        async with gateway.session.get(f"{gateway.base}/static/{bad}") as response:
            assert response.status == 404, bad


# A day as a municipal fair has it: employers with their full names, positions, schools, a
# livestream beside the hall, thousands of page views.
BIG_EMPLOYERS = (
    "华为技术有限公司",
    "比亚迪股份有限公司",
    "腾讯科技（武汉）有限公司",
    "中国建筑第三工程局有限公司",
    "东风汽车集团有限公司",
    "长江存储科技有限责任公司",
    "武汉华星光电技术有限公司",
    "中国工商银行股份有限公司湖北省分行",
    "小米科技（武汉）有限公司",
    "顺丰速运有限公司",
    "武汉高德红外股份有限公司",
    "湖北省交通投资集团有限公司",
)
BIG_SCHOOLS = (
    "武汉大学",
    "华中科技大学",
    "武汉理工大学",
    "华中师范大学",
    "中南财经政法大学",
    "湖北大学",
    "武汉科技大学",
    "湖北工业大学",
    "武汉纺织大学",
    "江汉大学",
    "武汉职业技术学院",
)


async def _a_busy_fair(gateway: Gateway, token: str, fair: str) -> dict[str, int]:
    """Registry and a morning's events; what the leaderboard's note should count."""
    status, _ = await gateway.request(
        "PATCH", f"/v1/fairs/{fair}", token, json={"venue": "武汉国际博览中心 A 馆"}
    )
    assert status == 200
    employers = [
        (await gateway.create(fair, token, "employers", name=n, booth=f"A{k:02}"))["id"]
        for k, n in enumerate(BIG_EMPLOYERS, 1)
    ]
    for k, employer in enumerate(employers):
        for title in ("软件开发工程师", "销售代表", "财务专员"):
            await gateway.create(
                fair,
                token,
                "positions",
                employer_id=employer,
                title=title,
                job_type=title[:2],
                headcount=k + 2,
            )
    seekers = [
        (await gateway.create(fair, token, "seekers", name=f"学生{n}", school=school))["id"]
        for n, school in enumerate(BIG_SCHOOLS * 6)
    ]
    active = employers[:9]  # three employers have not scanned or received anything yet
    events: list[dict[str, Any]] = []
    for n, seeker in enumerate(seekers):
        events.append(event("checkin", seeker_id=seeker, occurred_at=ago(50 - n % 45)))
    for n in range(3000):
        events.append(
            event(
                "qr_scan",
                target="employer",
                target_id=active[n % 9],
                visitor_id=f"phone-{n % 700}",
                occurred_at=ago(48 - n % 45),
            )
        )
    for n, seeker in enumerate(seekers):
        employer = active[n % 9]
        at = ago(30 - n % 25)
        events.append(event("booth_visit", employer_id=employer, seeker_id=seeker, occurred_at=at))
        channel = ("onsite", "online", "live")[n % 3]
        events.append(
            event(
                "resume_submitted",
                seeker_id=seeker,
                employer_id=employer,
                channel=channel,
                occurred_at=at,
            )
        )
        who = {"seeker_id": seeker, "employer_id": employer, "occurred_at": ago(n % 20)}
        if n % 4 == 0:
            events.append(event("resume_downloaded", **who))
        if n % 9 == 0:
            events.append(event("intent_agreed", **who))
        if n % 5 == 0:
            events.append(event("consultation", **who))
    channels = ("fair", "livestream", "training", "internship", "other")
    for n, seeker in enumerate(seekers[:30]):
        hire = {"seeker_id": seeker, "employer_id": active[n % 9], "occurred_at": ago(n % 20)}
        events.append(event("hired", channel=channels[n % 5], **hire))
    for viewer in range(40):
        joined = {"viewer_id": f"v{viewer}", "occurred_at": ago(9)}
        events.append(event("live_join", session_id="直播带岗专场", **joined))
    for start in range(0, len(events), 500):
        results = await gateway.post(fair, token, events[start : start + 500])
        assert {r["status"] for r in results} == {"accepted"}, results[:3]
    return {"registered": len(employers), "active": len(active), "seekers": len(seekers)}


async def test_the_dashboard_fits_a_projector_without_scrolling(
    gateway: Gateway, worker: WorkerTask, page: Page, console: Console, tmp_path: Path
) -> None:
    fair, token = await gateway.create_fair("2026 武汉市秋季高校毕业生就业双选会（综合专场）")
    counts = await _a_busy_fair(gateway, token, fair)
    await page.set_viewport_size({"width": 1920, "height": 1080})
    for lang, note in (
        ("zh", f"登记 {counts['registered']} 家 · 活跃 {counts['active']} 家"),
        ("en", f"{counts['registered']} registered · {counts['active']} active"),
    ):
        query = "?lang=en" if lang == "en" else ""
        await page.goto(f"{gateway.base}/dashboard/{fair}{query}#token={token}")
        await figure(page, "checkins", "unique", str(counts["seekers"]))
        await figure(page, "qr_scans", "total", "3,000")
        await figure(page, "live_views", "unique", "40")
        await expect(page.locator("#leaders-note")).to_have_text(note)
        await expect(page.locator("#leaders-rows tr")).to_have_count(9)
        await expect(page.locator("#schools li")).to_have_count(10)
        await expect(page.locator("#sessions-panel")).to_be_visible()
        await figure(page, "hires", "total", "30")
        await expect(channel_figures(page, "other")).to_have_text(
            ["6", "6 人" if lang == "zh" else "6 pers."]
        )
        await page.screenshot(
            path=tmp_path / f"projector-{lang}.png", full_page=True, animations="disabled"
        )
        await expect(page.locator("#leaders-rows tr:visible")).to_have_count(9)
        assert await page.locator("#schools li:visible").count() >= 5
        size = await page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
        assert size[0] <= 1920 and size[1] <= 1080, f"{lang}: the page is {size[0]}×{size[1]}"
        # Every panel is whole on the screen, and every row shown is whole in its panel.
        bottoms = await page.evaluate(
            "[...document.querySelectorAll('.board > *:not([hidden])')]"
            ".map((e) => e.getBoundingClientRect().bottom)"
        )
        assert max(bottoms) <= 1080, f"{lang}: a panel ends at {max(bottoms)} px"
        cut = await page.evaluate(
            "[...document.querySelectorAll('#leaders-rows tr, #schools li, #sessions-rows tr')]"
            ".filter((e) => e.checkVisibility() && e.getBoundingClientRect().bottom"
            " > e.closest('.panel').getBoundingClientRect().bottom).map((e) => e.textContent)"
        )
        assert cut == [], f"{lang}: rows cut off at the bottom of their panel"
    # Smaller projectors (720p, WXGA, 4:3) get the same one-screen board.
    for width, height in ((1280, 720), (1280, 800), (1600, 1200), (2560, 1440)):
        await page.set_viewport_size({"width": width, "height": height})
        await page.wait_for_timeout(300)  # the resize reaches the lists' fitting
        await page.screenshot(
            path=tmp_path / f"projector-{width}x{height}.png", full_page=True, animations="disabled"
        )
        size = await page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
        assert size == [width, height], f"{width}×{height}: the page is {size[0]}×{size[1]}"
        await expect(page.locator("#leaders-rows tr:visible").first).to_be_visible()
        hires = await page.locator("#hires-panel").bounding_box()
        assert hires is not None and hires["y"] + hires["height"] <= height, (width, height)
        await expect(channel_figures(page, "internship").first).to_be_visible()
    assert console.problems() == []


async def test_the_registry_counts_are_the_organizers(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    _, other_token = await gateway.create_fair()
    employers = [(await gateway.create(fair, token, "employers", name=n))["id"] for n in EMPLOYERS]
    for employer, headcount in zip(employers, (3, 5, 0), strict=True):
        await gateway.create(
            fair,
            token,
            "positions",
            employer_id=employer,
            title="会计",
            job_type="财务" if headcount else "行政",
            headcount=headcount,
        )
    device = await gateway.create(fair, token, "devices", label="东门")
    spare = await gateway.create(fair, token, "employers", name="已退出的企业")
    status, _ = await gateway.request("DELETE", f"/v1/fairs/{fair}/employers/{spare['id']}", token)
    assert status in (200, 204)

    path = f"/v1/fairs/{fair}/registry/counts"
    expected = {"employers": 3, "positions": 3, "headcount": 8, "job_types": 2}
    assert await gateway.request("GET", path, token) == (200, expected)
    assert await gateway.request("GET", path, ADMIN_TOKEN) == (200, expected)
    assert (await gateway.request("GET", path, other_token))[0] == 403
    assert (await gateway.request("GET", path, device["token"]))[0] == 403
    assert (await gateway.request("GET", path, None))[0] == 401
    missing = "/v1/fairs/00000000-0000-4000-8000-000000000000/registry/counts"
    assert (await gateway.request("GET", missing, ADMIN_TOKEN))[0] == 404
    assert (await gateway.request("GET", "/v1/fairs/nope/registry/counts", token))[0] == 404
