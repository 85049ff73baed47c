"""`fairhub simulate` plays a day against a real gateway and worker and finds every figure exact.

The simulator runs as a real subprocess (the gateway and the worker run in this event loop, so
it is awaited, never waited for); its comparison is checked on its own with a wrong figure.
"""

from __future__ import annotations

import asyncio
import io
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from support import ADMIN_TOKEN, Gateway, WorkerTask

from fairhub.config import Settings
from fairhub.devinfo import target
from fairhub.events import CHANNELS, METRICS
from fairhub.gate import VERDICTS
from fairhub.simulate.day import Clock
from fairhub.simulate.ledger import Ledger
from fairhub.simulate.report import closing, compare, observed


async def simulate(gateway: Gateway, *args: str) -> tuple[int, str]:
    """Run `python -m fairhub simulate` against the test gateway: its exit status and output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fairhub", "simulate", "--url", gateway.base,
        "--token", ADMIN_TOKEN, "--speed", "0", "--seed", "7", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    lines: list[bytes] = []

    async def read() -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            lines.append(line)

    reader = asyncio.create_task(read())
    try:
        await asyncio.wait_for(process.wait(), timeout=120)
    except TimeoutError:
        process.kill()
        await process.wait()
        await reader
        raise AssertionError(
            f"simulate ran over 120 s:\n{b''.join(lines).decode()[-6000:]}"
        ) from None
    await reader
    return process.returncode or 0, b"".join(lines).decode()


def _fair_of(output: str) -> tuple[str, str]:
    found = re.search(r"/dashboard/([0-9a-f-]{36})#token=(\S+)", output)
    assert found, output
    return found[1], found[2]


async def test_an_onsite_day_at_a_twentieth_ends_in_exact_figures(
    gateway: Gateway, worker: WorkerTask
) -> None:
    status, output = await simulate(gateway, "--scale", "0.05")
    assert status == 0, output
    assert re.search(r"all \d+ figures agree", output), output
    fair, organizer = _fair_of(output)
    stats = await gateway.stats(fair, organizer)
    totals = {m: (c["total"], c["unique"]) for m, c in stats["totals"].items()}
    # A twentieth of the municipal day: 1,500 at the gate, 2,000 senders, 60,000 page visits,
    # 1,200 downloads, 1,100 intents.
    assert totals["checkins"][1] == 75
    assert totals["resumes_submitted"][1] == 100
    assert totals["qr_scans"][0] == 3000
    assert totals["resumes_downloaded"][0] == 60
    assert totals["intents"][0] == 55
    verdicts = stats["checkins_by_verdict"]
    assert all(verdicts[v] > 0 for v in VERDICTS), verdicts  # re-entries and every refusal
    assert stats["resumes_by_channel"]["onsite"] and stats["resumes_by_channel"]["online"]


async def test_a_livestream_is_counted_per_session_and_pin(
    gateway: Gateway, worker: WorkerTask
) -> None:
    status, output = await simulate(gateway, "--profile", "livestream", "--scale", "0.03")
    assert status == 0, output
    fair, organizer = _fair_of(output)
    stats = await gateway.stats(fair, organizer)
    [session] = stats["by_session"]
    views = session["totals"]["live_views"]
    assert views["total"] > views["unique"] == 90  # some came back: a second view
    assert session["totals"]["resumes_submitted"]["total"] == stats["resumes_by_channel"]["live"]
    assert 1 < len(session["by_pin"]) <= 6  # pins that saw something
    assert stats["totals"]["consultations"]["total"] == 12


async def test_figures_that_never_arrive_fail_the_run_and_are_named(gateway: Gateway) -> None:
    """No worker counts anything here: the simulator waits (at most 2 s) and names the gap."""
    status, output = await simulate(gateway, "--scale", "0.01", "--settle", "2")
    assert status == 1, output
    differ = re.search(r"(\d+) figures differ: (.*)", output)
    assert differ, output
    assert differ[2].startswith("booth_visits.total, booth_visits.unique, checkins.total"), output
    assert "✗ differs" in output


def _stats(**totals: tuple[int, int]) -> dict[str, Any]:
    counts = {m: {"total": 0, "unique": 0} for m in METRICS}
    counts.update({m: {"total": t, "unique": u} for m, (t, u) in totals.items()})
    return {
        "totals": counts,
        "checkins_by_verdict": dict.fromkeys(VERDICTS, 0) | {"admitted": 2, "reentry": 1},
        "resumes_by_channel": dict.fromkeys(CHANNELS, 0),
        "by_employer": [], "by_school": [], "per_minute": [], "by_session": [],
    }  # fmt: skip


def test_the_comparison_fails_and_names_the_figure_that_differs() -> None:
    ledger = Ledger()
    for scan, seeker in (("a-1", "s1"), ("a-2", "s2"), ("a-3", "s1"), ("a-3", "s1")):
        ledger.add("checkins", scan, seeker)
        ledger.answers[scan] = "reentry" if scan == "a-3" else "admitted"
    ledger.add("qr_scans", "visit-1", "phone-1")
    expected = ledger.expected()
    assert (expected["checkins.total"], expected["checkins.unique"]) == (3, 2)

    right = observed(_stats(checkins=(3, 2), qr_scans=(1, 1)))
    assert all(row.ok for row in compare(expected, right))
    out = io.StringIO()
    assert closing(Console(file=out, width=200), compare(expected, right), [], [], 0) == 0

    wrong = observed(_stats(checkins=(3, 2), qr_scans=(2, 1)))  # one page visit too many
    rows = compare(expected, wrong)
    assert [(r.key, r.sent, r.got) for r in rows if not r.ok] == [("qr_scans.total", 1, 2)]
    out = io.StringIO()
    assert closing(Console(file=out, width=200), rows, [], [], 0) == 1
    assert "1 figures differ: qr_scans.total" in out.getvalue()


def test_a_broken_promise_or_a_failed_call_fails_the_run_too() -> None:
    rows = compare({"checkins.total": 1}, {"checkins.total": 1})
    console = Console(file=io.StringIO(), width=200)
    assert closing(console, rows, ["scan x: expected invalid_badge"], [], 0) == 1
    assert closing(console, rows, [], ["kiosks: POST … → 500"], 1) == 1


def test_the_day_never_reaches_into_the_future() -> None:
    zone = timezone(timedelta(hours=8))
    evening = datetime(2026, 3, 1, 20, 30, tzinfo=zone)
    clock = Clock.for_today(0, evening)
    assert (clock.opens.hour, clock.closes.hour, clock.closes.date()) == (9, 17, evening.date())
    morning = datetime(2026, 3, 1, 11, 15, 42, tzinfo=zone)
    fast = Clock.for_today(0, morning)
    assert fast.closes == morning.replace(second=0) and fast.span == timedelta(hours=8)
    sixty = Clock.for_today(60, morning)  # eight hours in eight minutes: ends as playback does
    assert sixty.closes == datetime(2026, 3, 1, 11, 23, tzinfo=zone)
    assert sixty.minute(0) == "2026-02-28T19:23:00Z"  # 03:23 in UTC+8, as per_minute files it


def test_without_an_admin_token_it_says_where_to_find_one(tmp_path: Path) -> None:
    url = "http://127.0.0.1:8080"
    with pytest.raises(SystemExit, match="give --token"):
        target(Settings(data_dir=tmp_path, admin_token=None), url, None)
    assert not (tmp_path / "admin_token").exists()  # none was made up
    (tmp_path / "admin_token").write_text("fh_admin_kept\n")
    assert target(Settings(data_dir=tmp_path, admin_token=None), url, None)[1] == "fh_admin_kept"
