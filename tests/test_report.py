"""The day's report: the figures of /stats as JSON, an Excel-ready CSV, A4 HTML and the CLI."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from support import Gateway, WorkerTask, event, eventually, make_settings

from fairhub.config import Settings
from fairhub.migrate import migrate

# A name with a comma and quotes: the CSV must quote it, Excel must show it whole.
ODD_NAME = '武汉"光谷"科技, 有限公司'


async def _a_small_day(gateway: Gateway) -> tuple[str, str, dict[str, Any]]:
    """A fair with three employers, four positions, three seekers, and a morning's events."""
    fair, organizer = await gateway.create_fair("秋季双选会")
    names = ["华为技术有限公司", ODD_NAME, "已撤展企业"]
    employers = [await gateway.create(fair, organizer, "employers", name=n) for n in names]
    hw, odd, gone = (e["id"] for e in employers)
    for employer, title, job_type, headcount in (
        (hw, "嵌入式工程师", "研发", 5),
        (hw, "测试工程师", "研发", 2),
        (odd, "会计", "财务", 0),  # 0 = headcount "not fixed"
        (gone, "销售", "销售", 3),
    ):
        await gateway.create(
            fair, organizer, "positions", employer_id=employer, title=title,
            job_type=job_type, headcount=headcount,
        )  # fmt: skip
    seekers = [
        await gateway.create(fair, organizer, "seekers", name=n, school=s)
        for n, s in (("王安", "武汉大学"), ("李博", "武汉大学"), ("张三", "华中科技大学"))
    ]
    wang, li, zhang = (s["id"] for s in seekers)
    status, _ = await gateway.request("DELETE", f"/v1/fairs/{fair}/employers/{gone}", organizer)
    assert status in (200, 204)
    checkin = [("checkin", {"seeker_id": s}) for s in (wang, li, zhang, wang)]  # one re-entry
    resumes = [
        ("resume_submitted", {"seeker_id": wang, "employer_id": hw, "channel": "onsite"}),
        ("resume_submitted", {"seeker_id": li, "employer_id": hw, "channel": "online"}),
        ("resume_submitted", {"seeker_id": zhang, "employer_id": hw, "channel": "live"}),
        ("resume_submitted", {"seeker_id": wang, "employer_id": odd, "channel": "online"}),
    ]
    others = [
        ("booth_visit", {"seeker_id": wang, "employer_id": hw}),
        ("booth_visit", {"seeker_id": wang, "employer_id": hw}),
        ("booth_visit", {"seeker_id": li, "employer_id": odd}),
        ("qr_scan", {"target": "employer", "target_id": hw, "visitor_id": "phone-1"}),
        ("qr_scan", {"target": "employer", "target_id": hw, "visitor_id": "phone-2"}),
        ("qr_scan", {"target": "fair", "visitor_id": "phone-1"}),
        ("resume_downloaded", {"seeker_id": wang, "employer_id": hw}),
        ("intent_agreed", {"seeker_id": wang, "employer_id": hw}),
        ("consultation", {"employer_id": odd, "topic": "实习?"}),
        ("live_join", {"session_id": "live-1", "viewer_id": "viewer-1"}),
        ("live_join", {"session_id": "live-1", "viewer_id": "viewer-1"}),
    ]
    events = [event(kind, minute, **fields) for minute, (kind, fields) in
              enumerate(checkin + resumes + others)]  # fmt: skip
    await gateway.post(fair, organizer, events)

    async def counted() -> bool:
        stats = await gateway.stats(fair, organizer)
        return bool(stats["totals"]["live_views"]["total"] == 2)

    await eventually(counted)
    return fair, organizer, {"hw": hw, "odd": odd, "gone": gone}


async def test_the_report_says_what_stats_says(gateway: Gateway, worker: WorkerTask) -> None:
    fair, organizer, ids = await _a_small_day(gateway)
    stats = await gateway.stats(fair, organizer)
    status, report = await gateway.request("GET", f"/v1/fairs/{fair}/report.json", organizer)
    assert status == 200, report
    assert report["totals"] == stats["totals"]
    assert report["resumes_by_channel"] == stats["resumes_by_channel"]
    assert report["checkins_by_verdict"] == stats["checkins_by_verdict"]
    assert report["summary"] == {
        "employers": 2,  # the revoked one is not "taking part"
        "positions": 3,
        "openings": 7,
        "job_types": 2,
        "colleges": 2,
        "colleges_registered": 2,
        "seekers_registered": 3,
        "visitors": 3,
        "checkins": 4,
        "checkins_denied": 0,
        "resumes_submitted": 4,
        "resumes_online": 2,
        "resumes_onsite": 1,
        "resumes_live": 1,
        "resume_senders": 3,
        "resumes_downloaded": 1,
        "qr_visits": 3,
        "qr_visitors": 2,
        "booth_visits": 3,
        "intents": 1,
        "consultations": 1,
        "live_views": 2,
        "live_viewers": 1,
    }
    assert report["job_types"] == [
        {"job_type": "研发", "positions": 2, "openings": 7},
        {"job_type": "财务", "positions": 1, "openings": 0},
    ]
    assert [(s["name"], s["visitors"]) for s in report["schools"]] == [
        ("武汉大学", 2),
        ("华中科技大学", 1),
    ]
    by_employer = {row["employer_id"]: row["totals"] for row in stats["by_employer"]}
    table = {row["employer_id"]: row for row in report["employers"]}
    assert set(table) == {ids["hw"], ids["odd"]}
    for employer_id, row in table.items():
        counts = by_employer[employer_id]
        assert row["resumes_received"] == counts["resumes_submitted"]["total"]
        assert row["resumes_downloaded"] == counts["resumes_downloaded"]["total"]
        assert row["leads"] == counts["booth_visits"]["unique"]
        assert row["intents"] == counts["intents"]["total"]
        assert row["page_visits"] == counts["qr_scans"]["total"]
    assert [row["name"] for row in report["employers"]] == ["华为技术有限公司", ODD_NAME]
    hw = table[ids["hw"]]
    assert (hw["positions"], hw["openings"], hw["leads"], hw["resumes_received"]) == (2, 7, 1, 3)


async def test_the_csv_opens_in_excel_and_round_trips(gateway: Gateway, worker: WorkerTask) -> None:
    fair, organizer, _ = await _a_small_day(gateway)
    async with gateway.session.get(
        f"{gateway.base}/v1/fairs/{fair}/report.csv",
        headers={"Authorization": f"Bearer {organizer}"},
    ) as response:
        assert response.status == 200
        assert response.content_type == "text/csv"
        assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
        raw = await response.read()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["招聘会数据报告", "秋季双选会"]
    summary = {row[0]: row[1] for row in rows[3:] if len(row) == 2}
    assert summary["入场人数"] == "3" and summary["其中直播投递"] == "1"
    header = rows.index(["企业", "展位", "职位数", "招聘人数", "扫码访问", "到展位求职者",
                         "收到简历", "下载简历", "签约意向", "咨询"])  # fmt: skip
    employers = rows[header + 1 :]
    assert employers[0][:4] == ["华为技术有限公司", "", "2", "7"]
    assert employers[1][0] == ODD_NAME  # comma and quotes intact
    assert len(employers) == 2

    status, english = await gateway.request(
        "GET", f"/v1/fairs/{fair}/report.csv?lang=en", organizer
    )
    assert status == 200 and "Seekers at the gate,3" in english


async def test_the_html_report_prints_on_a4(gateway: Gateway, worker: WorkerTask) -> None:
    fair, organizer, _ = await _a_small_day(gateway)
    status, page = await gateway.request("GET", f"/v1/fairs/{fair}/report.html", organizer)
    assert status == 200
    assert "size: A4" in page and "秋季双选会" in page
    assert "武汉&quot;光谷&quot;科技, 有限公司" in page  # escaped, whole
    assert "<td>华为技术有限公司</td>" in page
    status, page = await gateway.request("GET", f"/v1/fairs/{fair}/report.html?lang=en", organizer)
    assert status == 200 and "Job fair report" in page and "(Asia/Shanghai)" in page


async def test_the_report_command(gateway: Gateway, worker: WorkerTask, settings: Settings) -> None:
    fair, organizer, _ = await _a_small_day(gateway)
    status, served = await gateway.request("GET", f"/v1/fairs/{fair}/report.json", organizer)
    assert status == 200
    env = {**os.environ, "FAIRHUB_DATABASE_URL": str(settings.database_url)}
    env.pop("FAIRHUB_ADMIN_TOKEN", None)
    command = [sys.executable, "-m", "fairhub", "report", fair]

    # From the database: the same report as the gateway serves (but for the time of reading).
    code, out, _ = await _run([*command, "--format", "json"], env)
    assert code == 0
    assert {**json.loads(out), "as_of": None} == {**served, "as_of": None}

    # From a gateway (this test's, so the command must not block the loop), for the terminal.
    without_db = {k: v for k, v in env.items() if k != "FAIRHUB_DATABASE_URL"}
    code, out, _ = await _run([*command, "--url", gateway.base, "--token", organizer], without_db)
    text = out.decode()
    assert code == 0 and "秋季双选会" in text and ODD_NAME in text
    assert any(line.split()[:2] == ["入场人数", "3"] for line in text.splitlines())

    # A wrong fair is a clear message and a non-zero exit, not a traceback.
    code, _, err = await _run([*command[:-1], "00000000-0000-0000-0000-000000000000"], env)
    assert code != 0 and b"no fair" in err and b"Traceback" not in err


async def _run(command: list[str], env: dict[str, str]) -> tuple[int, bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, out, err


async def test_reports_read_the_replica_when_one_is_named(
    database_url: str, servers: tuple[str, str], tmp_path: Path
) -> None:
    # A "replica" that lags without end: another database, migrated, that never saw the fair.
    name = f"replica_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    replica = database_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        await migrate(replica)
        settings = make_settings(database_url, servers[1], tmp_path, database_read_url=replica)
        async with Gateway.running(settings) as gateway:
            fair, token = await gateway.create_fair()
            status, body = await gateway.request("GET", f"/v1/fairs/{fair}/report", token)
            assert status == 404, body  # read where FAIRHUB_DATABASE_READ_URL points
            status, body = await gateway.request("GET", f"/v1/fairs/{fair}/stats", token)
            assert status == 200 and body["fair"] == fair  # /stats reads the primary
            status, body = await gateway.request("GET", f"/v1/fairs/{fair}", token)
            assert status == 200 and body["id"] == fair  # the registry reads its own writes
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
