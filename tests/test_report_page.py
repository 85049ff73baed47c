"""The day's report in an organizer's browser: opened from the dashboard with the token the
browser keeps, and laid out for A4 so that no table header breaks inside a word.

The browser is Debian's Chromium driven by Playwright (tests/browser.py).
"""

# Chinese names use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from playwright.async_api import Page, expect
from support import Gateway

if TYPE_CHECKING:
    from browser import Console

pytest_plugins = ["browser"]  # Chromium fixtures: chromium, browser, page, console

FAIR_NAME = "2026 秋季高校毕业生双选会"
# Long names with no spaces: the employer column wants all the width it can get, which is
# what squeezed the short headers (展位, 咨询) into one character per line.
EMPLOYERS = (
    ("中国建筑第三工程局有限公司武汉分公司华中区域总部人力资源中心", "A01"),
    ("腾讯科技（武汉）有限公司湖北省武汉市东湖新技术开发区光谷软件园分公司", "A02"),
    ("Zoomlion Heavy Industry Science and Technology Development Company", "B17"),
)
# A4 (210 mm) less the report's 12 mm side margins, in CSS pixels (96 per inch).
A4_CONTENT_WIDTH = round((210 - 2 * 12) / 25.4 * 96)
# The fetch() of a refused token is logged by Chromium itself: expected, not a page error.
REFUSED = "the server responded with a status of 40"

# For each header cell: its text, how many lines it takes, and how many lines each of its
# words takes (a word on two lines was broken inside).
HEADER_LINES = """
() => [...document.querySelectorAll("th")].map((th) => {
  const lines = (node, start, end) => {
    const range = document.createRange();
    range.setStart(node, start);
    range.setEnd(node, end);
    return new Set([...range.getClientRects()].filter((r) => r.width > 0)
      .map((r) => Math.round(r.top))).size;
  };
  const text = th.firstChild;
  const words = [];
  for (const m of text.data.matchAll(/\\S+/g)) {
    words.push(lines(text, m.index, m.index + m[0].length));
  }
  return {text: text.data, lines: lines(text, 0, text.data.length), words};
})
"""


async def make_fair(gateway: Gateway) -> tuple[str, str]:
    fair, token = await gateway.create_fair(FAIR_NAME)
    for name, booth in EMPLOYERS:
        employer = await gateway.create(fair, token, "employers", name=name, booth=booth)
        await gateway.create(
            fair, token, "positions", employer_id=employer["id"], title="会计", job_type="财务",
            headcount=12,
        )  # fmt: skip
    return fair, token


async def headers_fit(page: Page) -> None:
    """Every header on one line in Chinese; in English, no word broken across lines."""
    cells = await page.evaluate(HEADER_LINES)
    assert len(cells) >= 14, cells
    for cell in cells:
        if any("\u4e00" <= ch <= "\u9fff" for ch in cell["text"]):
            assert cell["lines"] == 1, cell
        assert all(n == 1 for n in cell["words"]), cell
    widths = await page.evaluate(
        "[...document.querySelectorAll('.wide th, table, body')].map("
        "(e) => [e.textContent.slice(0, 20), e.getBoundingClientRect().width])"
    )
    assert await page.evaluate("document.documentElement.scrollWidth") <= A4_CONTENT_WIDTH, widths


async def test_report_opens_from_the_dashboard_and_prints_on_a4(
    gateway: Gateway, page: Page, console: Console, tmp_path: Path
) -> None:
    fair, token = await make_fair(gateway)

    # The organizer signed in on the dashboard; its link opens the report in a new tab.
    await page.goto(f"{gateway.base}/dashboard/{fair}#token={token}")
    await expect(page.locator("#fair-name")).to_have_text(FAIR_NAME)
    link = page.locator("#report-link")
    await expect(link).to_have_text("数据报告")
    async with page.context.expect_page() as opened:
        await link.click()
    report = await opened.value
    await expect(report.locator("html[data-ready=report]")).to_have_count(1)
    assert report.url == f"{gateway.base}/dashboard/{fair}/report"  # no token in the address
    await expect(report.locator("h1")).to_have_text(FAIR_NAME)
    assert await report.title() == f"{FAIR_NAME} · 招聘会数据报告"
    employer_rows = report.locator("section.wide tbody tr")
    await expect(employer_rows).to_have_count(3)
    await expect(report.locator("section.wide tbody")).to_contain_text("B17")

    # Printed on A4: the layout of the print media at the page's content width.
    await report.emulate_media(media="print")
    await report.set_viewport_size({"width": A4_CONTENT_WIDTH, "height": 1000})
    await headers_fit(report)
    pdf = await report.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    (tmp_path / "report.pdf").write_bytes(pdf)

    # The same in English.
    await report.goto(f"{gateway.base}/dashboard/{fair}/report?lang=en")
    await expect(report.locator("html[data-ready=report]")).to_have_count(1)
    await expect(report.locator("h2").first).to_have_text("Summary")
    await headers_fit(report)
    assert console.problems() == []


async def test_report_page_without_a_kept_token_points_to_the_dashboard(
    gateway: Gateway, page: Page, console: Console
) -> None:
    fair, token = await make_fair(gateway)
    await page.goto(f"{gateway.base}/dashboard/{fair}/report")
    await expect(page.locator("#report-state")).to_contain_text("请先在数据大屏输入令牌")
    await expect(page.locator("#to-dashboard")).to_have_attribute("href", f"/dashboard/{fair}")

    # A token handed over once in the fragment is kept, and leaves the address.
    await page.goto("about:blank")  # else only the fragment changes: no new page
    await page.goto(f"{gateway.base}/dashboard/{fair}/report#token={token}")
    await expect(page.locator("html[data-ready=report]")).to_have_count(1)
    assert "token" not in page.url

    # A token revoked or mistyped since: the page says so and leads back to the dashboard.
    await page.evaluate(f"localStorage.setItem('fairhub.dashboard.token.{fair}', 'nope')")
    await page.goto(f"{gateway.base}/dashboard/{fair}/report?lang=en")
    await expect(page.locator("#report-state")).to_contain_text("Unknown or revoked token")
    await expect(page.locator("#to-dashboard")).to_be_visible()
    assert console.problems(REFUSED) == []


async def test_report_html_takes_an_access_token_like_the_badge_sheet(gateway: Gateway) -> None:
    fair, token = await make_fair(gateway)
    path = f"/v1/fairs/{fair}/report.html"
    status, page = await gateway.request("GET", f"{path}?access_token={token}", token=None)
    assert status == 200 and FAIR_NAME in page
    status, body = await gateway.request("GET", f"{path}?access_token=nope", token=None)
    assert status == 401 and body["error"] and "access_token" in str(body)
    status, body = await gateway.request("GET", path, token=None)
    assert status == 401
    _, other_token = await gateway.create_fair("另一场")
    status, body = await gateway.request("GET", f"{path}?access_token={other_token}", token=None)
    assert status == 403
    status, body = await gateway.request("GET", "/dashboard/not-a-fair/report", token=None)
    assert status == 404
