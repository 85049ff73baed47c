"""The alliance's report: JSON, CSV, Excel and an A4 page carry exactly /stats's figures, names
that look like formulas stay text, and only the alliance's own secretary (or the admin) reads it.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sys
import uuid
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import openpyxl
from playwright.async_api import Page, expect
from support import Gateway, WorkerTask, event, eventually
from test_alliances import alliance_stats, member, new_alliance

from fairhub.alliance_report import STATS_PARTS
from fairhub.config import Settings
from fairhub.events import ALLIANCE_METRICS, HIRE_CHANNELS

if TYPE_CHECKING:
    from browser import Console

pytest_plugins = ["browser"]  # Chromium fixtures: page, console

FORMULA = "=1+1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A4 landscape (297 mm) less the report's 10 mm side margins, in CSS pixels (96 per inch).
A4_LANDSCAPE_WIDTH = round((297 - 2 * 10) / 25.4 * 96)


async def a_quarter(gateway: Gateway) -> tuple[str, str]:
    """An alliance after a small quarter: demand, the menu, the chain, a hire at its fair."""
    alliance, secretary = await new_alliance(gateway)
    school = await member(gateway, alliance, secretary, kind="training_institution", name="培训A")
    yard = await member(gateway, alliance, secretary, kind="enterprise", name="船厂", staff=100)
    odd = await member(gateway, alliance, secretary, kind="enterprise", name=FORMULA, staff=60)

    async def post(path: str, body: dict[str, Any]) -> str:
        status, made = await gateway.request(
            "POST", f"/v1/alliances/{alliance}/{path}", secretary, json=body
        )
        assert status == 201, made
        return str(made["id"])

    await post("demands", {"member_id": yard, "occupation": "焊工", "category": "skilled",
                           "headcount": 20})  # fmt: skip
    await post("demands", {"member_id": odd, "occupation": "钳工", "category": "technical",
                           "headcount": 4})  # fmt: skip
    weld = await post("offers", {"member_id": school, "occupation": "焊工", "kind": "subsidised",
                                 "seats": 30, "subsidy_per_trainee": 1000})  # fmt: skip
    phones = [f"1390000000{n}" for n in range(6)]
    chain = [
        event("training_signup", 0, offer_id=weld, phone=phones[0]),
        event("training_signup", 1, offer_id=weld, phone=phones[1]),
        event("training_signup", 2, offer_id=weld, phone=phones[0]),  # signed up twice
        event("training_completed", 60, offer_id=weld, phone=phones[0]),
        event("training_completed", 61, offer_id=weld, phone=phones[1]),
        event("skill_certified", 90, offer_id=weld, occupation="焊工", level="四级",
              phone=phones[0]),
        # The shipyard (staff 100) takes 2 interns in 2026-1: 2 %, paid; `=1+1` 1 of 60, unpaid.
        event("internship_started", 5, member_id=yard, semester="2026-1", phone=phones[2]),
        event("internship_started", 6, member_id=yard, semester="2026-1", phone=phones[3]),
        event("internship_started", 7, member_id=odd, semester="2026-1", phone=phones[4]),
        event("hired", 120, member_id=yard, occupation="焊工", channel="training", phone=phones[0]),
        event("hired", 121, member_id=yard, channel="internship", phone=phones[2]),
        event("hired", 122, member_id=odd, occupation="钳工", channel="fair", phone=phones[5]),
        event("hired", 123, member_id=odd, channel="livestream", phone=phones[5]),
    ]  # fmt: skip
    path = f"/v1/alliances/{alliance}/events"
    for batch in (chain, chain[:5]):  # resent: nothing counts twice
        status, answer = await gateway.request("POST", path, secretary, json={"events": batch})
        assert status == 202, answer

    # A fair of the alliance: the shipyard's employer records a hire there.
    fair, organizer = await gateway.create_fair("镇江技工专场")
    status, _ = await gateway.request(
        "POST", f"/v1/alliances/{alliance}/fairs", secretary, json={"fair_id": fair}
    )
    assert status == 200
    employer = await gateway.create(fair, organizer, "employers", name="船厂")
    seeker = await gateway.create(fair, organizer, "seekers", name="周一")
    hire = event("hired", employer_id=employer["id"], seeker_id=seeker["id"])
    assert (await gateway.post(fair, organizer, [hire]))[0]["status"] == "accepted"

    async def counted() -> bool:
        stats = await alliance_stats(gateway, alliance, secretary)
        at_fair = {m["id"]: m["at_fairs"] for m in stats["by_member"]}[yard]
        return bool(
            stats["totals"]["hires"]["total"] == 4
            and stats["totals"]["training_signups"]["total"] == 3
            and at_fair.get("hires", {}).get("total") == 1
        )

    await eventually(counted)
    return alliance, secretary


def pairs(row: dict[str, Any], metrics: tuple[str, ...] = ALLIANCE_METRICS) -> list[int]:
    """A stats row's figures in the report's column order: each metric's total, then people."""
    return [row.get(m, {}).get(part, 0) for m in metrics for part in ("total", "unique")]


def tables_of_csv(raw: bytes) -> dict[str, list[list[str]]]:
    """The CSV's tables by title: each title row, then the table's heading and rows."""
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    tables: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for previous, row in zip([[], *rows], rows, strict=False):
        if not previous and len(row) == 1:
            current = tables.setdefault(row[0], [])
        elif row and current is not None:
            current.append(row)
        elif not row:
            current = None
    return tables


def numbers(cells: list[Any]) -> list[int | float]:
    return [float(c) if "." in str(c) else int(c) for c in cells]


async def download(gateway: Gateway, path: str, token: str) -> tuple[str, bytes]:
    async with gateway.session.get(
        gateway.base + path, headers={"Authorization": f"Bearer {token}"}
    ) as r:
        assert r.status == 200, await r.text()
        return r.content_type, await r.read()


async def test_every_format_carries_the_stats_figures(gateway: Gateway, worker: WorkerTask) -> None:
    alliance, secretary = await a_quarter(gateway)
    stats = await alliance_stats(gateway, alliance, secretary)
    members = {m["name"]: m for m in stats["by_member"]}

    status, report = await gateway.request(
        "GET", f"/v1/alliances/{alliance}/report.json", secretary
    )
    assert status == 200
    assert {part: report[part] for part in STATS_PARTS} == {p: stats[p] for p in STATS_PARTS}
    assert report["alliance"]["name"] == "镇江技工教育集团"
    assert (report["internship_subsidies"], report["training_subsidy"]) == (600, 2000)
    assert report["subsidies_total"] == 2600
    assert (await gateway.request("GET", f"/v1/alliances/{alliance}/report", secretary))[1][
        "totals"
    ] == stats["totals"]

    # The CSV: the same figures, table by table, and the formula-like name neutralized.
    content_type, raw = await download(gateway, f"/v1/alliances/{alliance}/report.csv", secretary)
    assert content_type == "text/csv" and raw.startswith("\ufeff".encode())
    tables = tables_of_csv(raw)
    titles = ["总体数据", "成员明细", "工种明细", "培训项目明细", "录用渠道", "实习补贴"]
    assert list(tables) == titles
    summary = {row[0]: row[1] for row in tables["总体数据"][1:]}
    assert int(summary["培训报名人次"]) == stats["totals"]["training_signups"]["total"] == 3
    assert int(summary["培训报名人数"]) == stats["totals"]["training_signups"]["unique"] == 2
    assert int(summary["录用人数"]) == stats["totals"]["hires"]["unique"]
    assert int(summary["招聘会录用人次"]) == 1
    assert (int(summary["应付实习补贴"]), int(summary["补贴合计"])) == (600, 2600)
    heading, *rows = tables["成员明细"]
    assert heading[:6] == ["成员", "类型", "加入日期", "退出日期", "岗位需求", "培训名额"]
    assert heading[6:8] == ["培训报名人次", "培训报名人数"]
    by_name = {row[0]: row for row in rows}
    assert FORMULA not in by_name and "'" + FORMULA in by_name
    for name, row in (("船厂", by_name["船厂"]), (FORMULA, by_name["'" + FORMULA])):
        m = members[name]
        expected = [m["demand"], m["seats"], *pairs(m), *pairs(m["at_fairs"], ("hires",))]
        assert numbers(row[4:]) == expected, name
    assert numbers(by_name["合计"][6:16]) == pairs(stats["totals"])
    occupations = {row[0]: row for row in tables["工种明细"][1:]}
    for o in stats["by_occupation"]:
        expected = [o["technical"], o["skilled"], o["seats"], *pairs(o)]
        assert numbers(occupations[o["occupation"]][1:]) == expected
    [offer_row, offer_total] = tables["培训项目明细"][1:]
    [offer] = stats["by_offer"]
    assert offer_row[:3] == ["焊工", "培训A", "补贴性培训"]
    expected = [offer["seats"], *pairs(offer), 1000, offer["training_subsidy"]]
    assert numbers(offer_row[3:]) == expected
    assert int(offer_total[-1]) == stats["training_subsidy"]
    channels = {row[0]: numbers(row[1:]) for row in tables["录用渠道"][1:]}
    for channel, label in zip(HIRE_CHANNELS, ("招聘会", "直播带岗", "培训", "实习", "其他"),
                              strict=True):  # fmt: skip
        counted = stats["hires_by_channel"].get(channel, {"total": 0, "unique": 0})
        assert channels[label] == [counted["total"], counted["unique"]], channel
    assert channels["合计"] == pairs(stats["totals"], ("hires",))
    subsidies = {(r[0], r[1]): numbers(r[2:]) for r in tables["实习补贴"][1:-1]}
    assert subsidies == {
        (s["name"] if s["name"] != FORMULA else "'" + FORMULA, s["semester"]):
            [s["staff"], s["internship_posts"], s["amount"]]
        for s in stats["subsidies"]
    }  # fmt: skip
    assert subsidies[("船厂", "2026-1")] == [100, 2, 600]

    # The workbook: one sheet per table, numbers as numbers, no formula anywhere.
    content_type, raw = await download(gateway, f"/v1/alliances/{alliance}/report.xlsx", secretary)
    assert content_type == XLSX
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        xml = b"".join(archive.read(n) for n in archive.namelist() if n.endswith(".xml"))
    assert b"<f>" not in xml and b"<f " not in xml
    book = openpyxl.load_workbook(io.BytesIO(raw))
    assert book.sheetnames == list(tables)
    sheet_members = {r[0]: r for r in book["成员明细"].iter_rows(values_only=True)}
    yard = members["船厂"]
    assert list(sheet_members["船厂"][4:]) == [
        yard["demand"], yard["seats"], *pairs(yard), *pairs(yard["at_fairs"], ("hires",))
    ]  # fmt: skip
    cell = next(c for c in book["成员明细"]["A"] if c.value == "'" + FORMULA)
    assert cell.data_type == "s"
    sheet_summary = {r[0]: r[1] for r in book["总体数据"].iter_rows(values_only=True) if r}
    assert sheet_summary["实习人次"] == stats["totals"]["internships"]["total"] == 3
    assert isinstance(sheet_summary["应付培训补贴"], int)
    # The English CSV names its columns in English, with the same figures.
    _, raw = await download(gateway, f"/v1/alliances/{alliance}/report.csv?lang=en", secretary)
    english = tables_of_csv(raw)
    assert english["By member"][0][6:8] == ["Sign-ups, total", "Sign-ups, people"]
    assert [numbers(r[4:]) for r in english["By member"][1:]] == [numbers(r[4:]) for r in rows]


async def test_the_cli_writes_the_same_workbook(
    gateway: Gateway, worker: WorkerTask, settings: Settings, tmp_path: Path
) -> None:
    alliance, secretary = await a_quarter(gateway)
    stats = await alliance_stats(gateway, alliance, secretary)
    env = {**os.environ, "FAIRHUB_DATABASE_URL": str(settings.database_url)}
    book = tmp_path / "alliance.xlsx"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fairhub", "report", "--alliance", alliance, "-o", str(book),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await process.communicate()
    assert process.returncode == 0, err
    sheets = openpyxl.load_workbook(book)
    summary = {r[0]: r[1] for r in sheets["总体数据"].iter_rows(values_only=True) if r}
    assert summary["录用人次"] == stats["totals"]["hires"]["total"] == 4
    assert summary["应付培训补贴"] == stats["training_subsidy"]
    cells = [c for sheet in sheets for row in sheet.iter_rows() for c in row if c.value]
    assert not [c for c in cells if c.data_type == "f"]
    assert "'" + FORMULA in {c.value for c in cells}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fairhub", "report", "--alliance", str(uuid.uuid4()),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await process.communicate()
    assert process.returncode == 1 and b"no alliance" in err


async def test_only_its_secretary_reads_it(gateway: Gateway) -> None:
    alliance, secretary = await new_alliance(gateway)
    other, other_secretary = await new_alliance(gateway)
    _, organizer = await gateway.create_fair()
    base = f"/v1/alliances/{alliance}/report"
    for kind in ("", ".json", ".csv", ".xlsx", ".html"):
        status, body = await gateway.request("GET", base + kind, other_secretary)
        assert (status, body["fields"]) == (403, ["Authorization"]), kind
    assert (await gateway.request("GET", base + ".json", organizer))[0] == 403
    assert (await gateway.request("GET", base + ".json", None))[0] == 401
    assert (await gateway.request("GET", base + ".json"))[0] == 200  # the admin
    # A link opened in a browser may carry the token, like the fair's report.
    status, page = await gateway.request("GET", f"{base}.html?access_token={secretary}", None)
    assert status == 200 and "镇江技工教育集团" in page
    status, body = await gateway.request("GET", f"{base}.csv?access_token={other_secretary}", None)
    assert (status, body["fields"]) == (403, ["access_token"])
    status, body = await gateway.request("GET", f"{base}.csv?access_token=nope", None)
    assert (status, body["fields"]) == (401, ["access_token"])
    missing = "/v1/alliances/00000000-0000-4000-8000-000000000000/report.json"
    assert (await gateway.request("GET", missing))[0] == 404
    assert (await gateway.request("GET", "/v1/alliances/nope/report.csv"))[0] == 404
    assert (await gateway.request("GET", f"/a/{other}/report.pdf", None))[0] == 404
    assert (await gateway.request("GET", "/a/nope/report", None))[0] == 404


async def test_the_page_prints_on_a4_with_the_figures(
    gateway: Gateway, worker: WorkerTask, page: Page, console: Console, tmp_path: Path
) -> None:
    alliance, secretary = await a_quarter(gateway)
    stats = await alliance_stats(gateway, alliance, secretary)

    # No token kept yet: the page asks for it, and keeps it in this browser, not the address.
    await page.goto(f"{gateway.base}/a/{alliance}/report")
    await expect(page.locator("#login")).to_be_visible()
    await page.fill("#login-token", secretary)
    await page.click("#login-form button")
    await expect(page.locator("html[data-ready=report]")).to_have_count(1)
    assert page.url == f"{gateway.base}/a/{alliance}/report"
    await expect(page.locator("h1")).to_have_text("镇江技工教育集团")
    assert await page.title() == "镇江技工教育集团 · 联盟数据报告"
    members = page.locator('[data-table="members"] tbody tr')
    await expect(members).to_have_count(len(stats["by_member"]) + 1)
    yard = page.locator('[data-table="members"] tbody tr', has_text="船厂")
    m = next(m for m in stats["by_member"] if m["name"] == "船厂")
    expected = [m["demand"], m["seats"], *pairs(m), *pairs(m["at_fairs"], ("hires",))]
    await expect(yard.locator("td.n")).to_have_text([f"{n:,}" for n in expected])
    await expect(page.locator('[data-table="members"] tbody')).to_contain_text(FORMULA)
    channels = page.locator('[data-table="channels"] tbody tr', has_text="直播带岗")
    await expect(channels.locator("td.n")).to_have_text(["1", "1"])
    await expect(page.locator('[data-table="subsidies"] tbody tr').last).to_contain_text("600")

    # Printed on A4 landscape: nothing wider than the page.
    await page.emulate_media(media="print")
    await page.set_viewport_size({"width": A4_LANDSCAPE_WIDTH, "height": 800})
    assert await page.evaluate("document.documentElement.scrollWidth") <= A4_LANDSCAPE_WIDTH
    pdf = await page.pdf(format="A4", landscape=True, print_background=True)
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    (tmp_path / "alliance-report.pdf").write_bytes(pdf)
    await page.screenshot(path=tmp_path / "alliance-report.png", full_page=True)

    # Reopened in English with the kept token; a token handed over in the fragment leaves it.
    await page.goto(f"{gateway.base}/a/{alliance}/report?lang=en")
    await expect(page.locator("html[data-ready=report]")).to_have_count(1)
    await expect(page.locator("h2").first).to_have_text("Summary")
    await page.evaluate(f"localStorage.removeItem('fairhub.alliance.token.{alliance}')")
    await page.goto("about:blank")
    await page.goto(f"{gateway.base}/a/{alliance}/report#token={secretary}")
    await expect(page.locator("html[data-ready=report]")).to_have_count(1)
    assert "token" not in page.url
    # A token of another alliance: the page says so and asks again.
    _, other_secretary = await new_alliance(gateway)
    await page.evaluate(f"localStorage.setItem('fairhub.alliance.token.{alliance}', "
                        f"'{other_secretary}')")  # fmt: skip
    await page.goto(f"{gateway.base}/a/{alliance}/report")
    await expect(page.locator("#login-error")).to_have_text("该令牌无权查看本联盟的报告。")
    assert console.problems("the server responded with a status of 40") == []
