"""The kiosk as staff use it: a real `fairhub kiosk` process, a Wi-Fi that drops, power cuts.

Each kiosk is a subprocess fed through its stdin (the USB scanner types a code and Enter) and
read line by line; the gateway and the worker run in this event loop, so nothing here blocks.
"""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import asyncpg
from kiosk_support import KioskProcess, Proxy, ScreenKiosk, by_verdict, forge, logged
from rich.cells import cell_len
from rich.color import Color
from rich.console import Console
from support import Gateway, WorkerTask, eventually, totals

from fairhub.kiosk.fullscreen import RichScreen
from fairhub.kiosk.queue import Store
from fairhub.kiosk.words import WORDS


async def _settled(
    gateway: Gateway, fair: str, token: str, checkins: tuple[int, int], **verdicts: int
) -> None:
    """Until /stats shows exactly these check-ins, by verdict too."""

    async def counted() -> bool:
        stats = await gateway.stats(fair, token)
        return bool(
            totals(stats)["checkins"] == checkins
            and stats["checkins_by_verdict"] == by_verdict(**verdicts)
        )

    await eventually(counted, timeout=15)


async def _stored(db: asyncpg.Connection, fair: str) -> dict[str, str]:
    """The fair's stored event ids and times, as the kiosk wrote them."""
    rows = await db.fetch("SELECT id, occurred_at FROM events WHERE fair_id = $1", fair)
    return {r["id"]: r["occurred_at"].isoformat() for r in rows}


async def test_the_link_drops_mid_run_and_every_scan_counts_once(
    gateway: Gateway, worker: WorkerTask, db: asyncpg.Connection, tmp_path: Path
) -> None:
    fair, token = await gateway.create_fair()
    device = await gateway.create(fair, token, "devices", label="东门 1", gate="东门")
    ann = await gateway.create(fair, token, "seekers", name="王安")
    bo = await gateway.create(fair, token, "seekers", name="李博")
    path = tmp_path / "gate.sqlite3"
    async with Proxy.running(gateway.base) as proxy:
        async with KioskProcess.running(proxy.url, device["token"], path) as kiosk:
            await kiosk.scan(ann["badge"])
            assert await kiosk.verdict() == "ADMITTED 王安"
            tapped = time.monotonic()
            await kiosk.scan(ann["badge"])  # a slow answer, staff tapped again: one scan
            assert await kiosk.verdict() == "ADMITTED 王安"

            proxy.cut()
            await kiosk.scan(bo["badge"])  # waits out the timeout once, then decides itself
            assert await kiosk.verdict() == f"ADMITTED #{bo['id'][:8]} (provisional)"
            await kiosk.until(lambda line: line.startswith("STATUS offline queued=1"))
            await asyncio.sleep(max(0.0, tapped + 2.2 - time.monotonic()))
            await kiosk.scan(ann["badge"])  # known to this kiosk: a re-entry, by name
            assert await kiosk.verdict() == "REENTRY 王安 (provisional)"
            await kiosk.until(lambda line: line.startswith("STATUS offline queued=2"))

            proxy.restore()
            await kiosk.idle()
        assert kiosk.process.returncode == 0  # SIGTERM: a clean stop

    await _settled(gateway, fair, token, (3, 2), admitted=2, reentry=1)
    log = logged(path)
    assert [(r["verdict"], r["provisional"]) for r in log] == [
        ("admitted", 0),
        ("admitted", 0),
        ("reentry", 0),
    ]
    assert all(r["sent_at"] for r in log)
    assert [r["gate"] for r in log] == ["东门"] * 3
    # Uploaded with the ids and times of the scans, not of the upload.
    assert await _stored(db, fair) == {r["id"]: r["occurred_at"] for r in log}


async def test_an_answer_lost_on_the_way_back_is_not_counted_twice(
    gateway: Gateway, worker: WorkerTask, db: asyncpg.Connection, tmp_path: Path
) -> None:
    fair, token = await gateway.create_fair()
    device = await gateway.create(fair, token, "devices", label="东门 2", gate="东门")
    ann = await gateway.create(fair, token, "seekers", name="王安")
    path = tmp_path / "gate.sqlite3"
    async with (
        Proxy.running(gateway.base) as proxy,
        KioskProcess.running(proxy.url, device["token"], path) as kiosk,
    ):
        proxy.muted = True  # the gateway admits the scan; the kiosk never hears it
        await kiosk.scan(ann["badge"])
        assert await kiosk.verdict() == f"ADMITTED #{ann['id'][:8]} (provisional)"

        async def stored() -> bool:
            return len(await _stored(db, fair)) == 1

        await eventually(stored)  # the server has it: the upload will be its duplicate
        proxy.muted = False
        await kiosk.idle()  # the upload resends the same id: a duplicate, the first verdict
    await _settled(gateway, fair, token, (1, 1), admitted=1)
    [scan] = logged(path)
    assert (scan["verdict"], scan["provisional"]) == ("admitted", 0)


async def test_a_kiosk_killed_between_queueing_and_sending_loses_nothing(
    gateway: Gateway, worker: WorkerTask, db: asyncpg.Connection, tmp_path: Path
) -> None:
    fair, token = await gateway.create_fair()
    device = await gateway.create(fair, token, "devices", label="南门", gate="南门")
    ann = await gateway.create(fair, token, "seekers", name="王安")
    path = tmp_path / "gate.sqlite3"
    slow = {"FAIRHUB_KIOSK_SEND_DELAY_SECONDS": "60"}
    async with KioskProcess.running(gateway.base, device["token"], path, **slow) as kiosk:
        await kiosk.scan(ann["badge"])

        async def queued() -> bool:
            return len(logged(path)) == 1

        await eventually(queued, timeout=5)
        await kiosk.kill()  # the power cut: the scan is on disk, never sent
    [scan] = logged(path)
    assert scan["verdict"] is None and scan["sent_at"] is None
    assert await _stored(db, fair) == {}

    async with KioskProcess.running(gateway.base, device["token"], path) as kiosk:
        await kiosk.until(lambda line: line.startswith("NOTE 1 scan(s) queued by the last run"))
        await kiosk.idle()
        await _settled(gateway, fair, token, (1, 1), admitted=1)
        assert await _stored(db, fair) == {scan["id"]: scan["occurred_at"]}
        await kiosk.scan(ann["badge"])  # online now: the server remembers the first entry
        assert await kiosk.verdict() == "REENTRY 王安"
    await _settled(gateway, fair, token, (2, 1), admitted=1, reentry=1)
    assert logged(path)[0]["id"] == scan["id"]


async def test_two_kiosks_offline_admit_one_visitor_once(
    gateway: Gateway, worker: WorkerTask, tmp_path: Path
) -> None:
    fair, token = await gateway.create_fair()
    east = await gateway.create(fair, token, "devices", label="东门", gate="东门")
    west = await gateway.create(fair, token, "devices", label="西门", gate="西门")
    ann = await gateway.create(fair, token, "seekers", name="王安")
    paths = [tmp_path / "east.sqlite3", tmp_path / "west.sqlite3"]
    async with (
        Proxy.running(gateway.base) as proxy,
        KioskProcess.running(proxy.url, east["token"], paths[0]) as one,
        KioskProcess.running(proxy.url, west["token"], paths[1]) as two,
    ):
        proxy.cut()
        await asyncio.gather(one.scan(ann["badge"]), two.scan(ann["badge"]))
        provisional = f"ADMITTED #{ann['id'][:8]} (provisional)"
        assert list(await asyncio.gather(one.verdict(), two.verdict())) == [provisional] * 2
        proxy.restore()
        await asyncio.gather(one.idle(), two.idle())
        # The server's answers: one kiosk's admission stands, the other's is a re-entry, and
        # both now name the seeker they had shown by id.
        changed = [line for line in one.lines + two.lines if line.startswith("CHANGED")]
        assert sorted(line.split(" ", 2)[2] for line in changed) == [
            "ADMITTED -> ADMITTED 王安",
            "ADMITTED -> REENTRY 王安",
        ]

    await _settled(gateway, fair, token, (2, 1), admitted=1, reentry=1)
    final = sorted(r["verdict"] for path in paths for r in logged(path))
    assert final == ["admitted", "reentry"]


async def test_a_forged_badge_is_refused_offline_by_the_kiosk_itself(
    gateway: Gateway, worker: WorkerTask, tmp_path: Path
) -> None:
    fair, token = await gateway.create_fair()
    device = await gateway.create(fair, token, "devices", label="北门", gate="北门")
    ann = await gateway.create(fair, token, "seekers", name="王安")
    home = {"HOME": str(tmp_path)}  # the kiosk's default file: ~/.fairhub/kiosk-<device>.sqlite3
    path = tmp_path / ".fairhub" / f"kiosk-{device['id']}.sqlite3"
    async with Proxy.running(gateway.base) as proxy:
        # A first run online leaves the fair's keys in the file, then ends with its input.
        first = await KioskProcess.start(proxy.url, device["token"], None, **home)
        await first.idle()
        assert await first.finish() == 0
        assert path.exists()

        # The next morning the Wi-Fi is down from the start: --fair and the cached keys.
        proxy.cut()
        async with KioskProcess.running(
            proxy.url, device["token"], None, "--fair", fair, **home
        ) as kiosk:
            await kiosk.scan(forge(ann["badge"]))
            assert await kiosk.verdict() == "INVALID_BADGE (provisional)"
            await kiosk.scan(ann["badge"][:-8])
            assert await kiosk.verdict() == "INVALID_BADGE (provisional)"
            await kiosk.scan(ann["badge"])
            assert await kiosk.verdict() == f"ADMITTED #{ann['id'][:8]} (provisional)"
            proxy.restore()
            await kiosk.idle()

    await _settled(gateway, fair, token, (1, 1), admitted=1, invalid_badge=2)
    assert [(r["verdict"], r["provisional"]) for r in logged(path)] == [
        ("invalid_badge", 0),
        ("invalid_badge", 0),
        ("admitted", 0),
    ]

    # The device gets a new token: the same file, found through the device, not the token.
    status, issued = await gateway.request(
        "POST", f"/v1/fairs/{fair}/devices/{device['id']}/token", token
    )
    assert status == 201, issued
    async with KioskProcess.running(gateway.base, issued["token"], None, **home) as kiosk:
        assert any(line.endswith(f"db {path}") for line in kiosk.lines)
        await kiosk.scan(ann["badge"])
        assert await kiosk.verdict() == "REENTRY 王安"
    assert len(logged(path)) == 4


async def test_a_booth_kiosk_records_leads_online_and_offline(
    gateway: Gateway, worker: WorkerTask, tmp_path: Path
) -> None:
    fair, token = await gateway.create_fair()
    employer = await gateway.create(fair, token, "employers", name="华为", booth="A01")
    device = await gateway.create(
        fair, token, "devices", label="华为展位", employer_id=employer["id"]
    )
    ann = await gateway.create(fair, token, "seekers", name="王安")
    bo = await gateway.create(fair, token, "seekers", name="李博")
    path = tmp_path / "booth.sqlite3"
    async with Proxy.running(gateway.base) as proxy:
        # The device's employer makes it a booth: no --booth needed.
        async with KioskProcess.running(proxy.url, device["token"], path) as kiosk:
            assert any(line.endswith(f"booth A01 华为, db {path}") for line in kiosk.lines)
            await kiosk.scan(ann["badge"])
            assert await kiosk.verdict() == "NEW_LEAD 王安"
            proxy.cut()
            await kiosk.scan(bo["badge"])
            assert await kiosk.verdict() == f"NEW_LEAD #{bo['id'][:8]} (provisional)"
            await kiosk.scan(forge(bo["badge"]))
            assert await kiosk.verdict() == "INVALID_BADGE (provisional)"
            await asyncio.sleep(2.1)
            await kiosk.scan(ann["badge"])
            assert await kiosk.verdict() == "KNOWN_LEAD 王安 (provisional)"
            proxy.restore()
            # The upload's answer does not name booth visitors: the kiosk asks, once.
            changed = await kiosk.until(lambda line: line.startswith("CHANGED"))
            assert changed.endswith("NEW_LEAD -> NEW_LEAD 李博"), changed
            await kiosk.idle()
    assert [r["name"] for r in logged(path)] == ["王安", "李博", None, "王安"]

    async def counted() -> bool:
        return totals(await gateway.stats(fair, token))["booth_visits"] == (3, 2)

    await eventually(counted, timeout=15)
    status, leads = await gateway.request("GET", f"/v1/fairs/{fair}/leads", token)
    assert status == 200, leads
    assert sorted(lead["seeker_name"] for lead in leads["items"]) == ["李博", "王安"]

    # Asking for 李博's name sent the scan's id again: a duplicate, not a second scan.
    scans = {lead["seeker_name"]: lead["scans"] for lead in leads["items"]}
    assert scans["李博"] == 1


async def test_an_offline_admission_shows_the_name_once_the_server_answers(
    gateway: Gateway, worker: WorkerTask, tmp_path: Path
) -> None:
    fair, token = await gateway.create_fair()
    device = await gateway.create(fair, token, "devices", label="东门 3", gate="东门")
    ann = await gateway.create(fair, token, "seekers", name="王安")
    path = tmp_path / "gate.sqlite3"
    async with (
        Proxy.running(gateway.base) as proxy,
        KioskProcess.running(proxy.url, device["token"], path) as kiosk,
    ):
        proxy.cut()  # this kiosk has never seen 王安: offline, only the badge's id is known
        await kiosk.scan(ann["badge"])
        assert await kiosk.verdict() == f"ADMITTED #{ann['id'][:8]} (provisional)"
        proxy.restore()
        changed = await kiosk.until(lambda line: line.startswith("CHANGED"))
        assert changed.endswith("ADMITTED -> ADMITTED 王安"), changed
        await kiosk.idle()
        # Known by name from now on, offline too.
        proxy.cut()
        await asyncio.sleep(2.1)  # past the double-tap window
        await kiosk.scan(ann["badge"])
        assert await kiosk.verdict() == "REENTRY 王安 (provisional)"
        proxy.restore()
        await kiosk.idle()
    [first, again] = logged(path)
    assert (first["verdict"], first["name"], first["provisional"]) == ("admitted", "王安", 0)
    assert (again["verdict"], again["name"], again["provisional"]) == ("reentry", "王安", 0)


async def test_the_full_screen_speaks_chinese_and_keeps_its_log_in_a_file(
    gateway: Gateway, worker: WorkerTask, tmp_path: Path
) -> None:
    fair, token = await gateway.create_fair()
    device = await gateway.create(fair, token, "devices", label="东门 4", gate="东门")
    ann = await gateway.create(fair, token, "seekers", name="王安")
    path = tmp_path / "gate.sqlite3"
    info = {"FAIRHUB_LOG_LEVEL": "INFO"}
    async with ScreenKiosk.running(gateway.base, device["token"], path, **info) as kiosk:
        await kiosk.until("请扫描胸卡二维码".replace("", " ").strip())
        await kiosk.scan(ann["badge"])
        await kiosk.until("请 进")
        await kiosk.until("王安")
        await kiosk.scan(forge(ann["badge"]))
        await kiosk.until("无 效 胸 卡")
        await kiosk.until("胸卡签名无效")  # the gateway's reason, in Chinese
    assert kiosk.process.returncode == 0
    assert "ADMITTED" not in kiosk.text and "signature" not in kiosk.text
    # Log lines went to a file next to the kiosk's data, none over the layout.
    log = path.with_suffix(".log").read_text()
    assert f"INFO fairhub.kiosk: ready: fair {fair}, gate 东门" in log
    assert "INFO fairhub" not in kiosk.text
    assert path.with_suffix(".log").stat().st_mode & 0o077 == 0


async def test_the_full_screen_speaks_english_when_asked(
    gateway: Gateway, worker: WorkerTask, tmp_path: Path
) -> None:
    fair, token = await gateway.create_fair()
    device = await gateway.create(fair, token, "devices", label="West", gate="West")
    ann = await gateway.create(fair, token, "seekers", name="Ann Lee")
    path = tmp_path / "gate.sqlite3"
    async with ScreenKiosk.running(gateway.base, device["token"], path, "--lang", "en") as kiosk:
        await kiosk.scan(ann["badge"])
        await kiosk.until("A D M I T T E D")
        await kiosk.until("Ann Lee")
        await kiosk.scan(forge(ann["badge"]))
        await kiosk.until("I N V A L I D   B A D G E")
        await kiosk.until("the badge's signature is not valid")
    assert "请" not in kiosk.text and "胸卡" not in kiosk.text


def test_the_verdict_is_a_block_as_wide_as_the_screen(tmp_path: Path) -> None:
    console = Console(file=io.StringIO(), width=60, height=30, force_terminal=True)
    screen = RichScreen("Asia/Shanghai", WORDS["zh"], console)
    store = Store(tmp_path / "k.sqlite3")
    try:
        scan = store.add("checkin", "FH1X", "f", "东门", None)
        screen.show(store.decide(scan.id, "admitted", provisional=False, name="王安"))
        lines = console.render_lines(screen.render(), console.options, pad=True)
    finally:
        store.close()
    green = [
        line
        for line in lines
        if all(s.style is not None and s.style.bgcolor == Color.parse("green4") for s in line)
    ]
    assert len(green) >= 12, "the admitted block fills the width and most of the height"
    assert all(sum(cell_len(s.text) for s in line) == 60 for line in green)
    text = "".join(s.text for line in green for s in line)
    assert "请 进" in text and "王安" in text
