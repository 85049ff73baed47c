"""The gateway's background work under aiojobs: one scheduler per app, closed on shutdown, and
a loop that crashes is logged and started again, so a dashboard never freezes for good.

Crashes are provoked by making one call of a real collaborator (the stats read, the pub/sub
read) raise; Redis and Postgres are the real servers throughout.
"""

from __future__ import annotations

import asyncio
import configparser
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import REGISTRY
from support import Gateway, StatsStream, WorkerTask, event, eventually, make_settings, totals

from fairhub.batching import Batcher
from fairhub.config import Settings
from fairhub.gateway.app import create_app
from fairhub.gateway.fanout import Fanout
from fairhub.gateway.jobs import SCHEDULER, new_scheduler, supervised
from fairhub.stats import read_stats
from fairhub.supervise import Supervisor, _Watch

JOBS_LOG = "fairhub.gateway.jobs"


@pytest.fixture
def settings(database_url: str, servers: tuple[str, str], tmp_path: Path) -> Settings:
    # No re-read on a timer: a dashboard moves only through the pub/sub listener.
    return make_settings(database_url, servers[1], tmp_path, stats_stream_refresh_seconds=600)


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[Gateway, web.Application]]:
    """A gateway on a loopback port, and its app (to look at its scheduler)."""
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as session:
            yield Gateway(f"http://127.0.0.1:{port}", session), app
    finally:
        await runner.cleanup()


def restarts(kind: str) -> float:
    value = REGISTRY.get_sample_value("fairhub_gateway_job_restarts_total", {"job": kind})
    return value or 0.0


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == JOBS_LOG]


async def test_one_scheduler_per_app_runs_the_feeds_and_is_closed_on_shutdown(
    settings: Settings,
) -> None:
    async with running(settings) as (gateway, app):
        scheduler = app[SCHEDULER]
        fair, organizer = await gateway.create_fair()
        async with StatsStream.open(gateway, fair, organizer) as stream:
            await stream.next_event()
            names = {job.get_name() for job in scheduler}
            assert {f"stats feed {fair} reader", f"stats feed {fair} heartbeat"} <= names, names
            assert "stats feed listener" in names, names
        async with running(settings) as (_, other):
            assert other[SCHEDULER] is not scheduler  # one per app
    assert scheduler.closed
    assert len(scheduler) == 0


async def test_a_crashing_stats_reader_is_logged_and_started_again(
    settings: Settings,
    worker: WorkerTask,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0

    async def first_read_crashes(*args: Any, **kwargs: Any) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("provoked: a bug in the stats read")
        return await read_stats(*args, **kwargs)

    monkeypatch.setattr("fairhub.gateway.feeds.read_stats", first_read_crashes)
    before = restarts("fanout-topic")
    caplog.set_level(logging.WARNING, logger=JOBS_LOG)
    async with running(settings) as (gateway, _):
        fair, organizer = await gateway.create_fair()
        async with StatsStream.open(gateway, fair, organizer) as stream:
            # The first read crashed; the restarted reader still serves the dashboard...
            _, data = await stream.next_event(timeout=30)
            assert totals(data)["qr_scans"] == (0, 0)
            # ...and keeps following the fair.
            await gateway.post(fair, organizer, [event("qr_scan", target="fair", visitor_id="V")])
            await stream.until(lambda d: d["totals"]["qr_scans"]["total"] == 1, timeout=30)
    reader = f"stats feed {fair} reader"
    assert f"{reader} crashed: starting it again in 0.5 s" in messages(caplog)
    assert f"{reader} started again" in messages(caplog)
    [crash] = [r for r in caplog.records if r.getMessage().startswith(f"{reader} crashed")]
    assert crash.exc_info is not None and "provoked" in str(crash.exc_info[1])
    assert restarts("fanout-topic") == before + 1


async def test_a_crashing_listener_is_started_again_and_dashboards_still_move(
    settings: Settings,
    worker: WorkerTask,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    next_message = Fanout._next_message
    crashed = False

    async def crashes_once(self: Fanout[Any]) -> dict[str, Any] | None:
        nonlocal crashed
        if not crashed:
            crashed = True
            raise ValueError("provoked: a message the listener cannot handle")
        return await next_message(self)

    monkeypatch.setattr(Fanout, "_next_message", crashes_once)
    before = restarts("fanout-listener")
    caplog.set_level(logging.WARNING, logger=JOBS_LOG)
    async with running(settings) as (gateway, _):
        fair, organizer = await gateway.create_fair()
        async with StatsStream.open(gateway, fair, organizer) as stream:
            await stream.next_event()
            # Only the listener can tell the reader (no timed re-read in these settings).
            await gateway.post(fair, organizer, [event("qr_scan", target="fair", visitor_id="V")])
            await stream.until(lambda d: d["totals"]["qr_scans"]["total"] == 1, timeout=30)
    assert crashed
    assert "stats feed listener crashed: starting it again in 0.5 s" in messages(caplog)
    assert restarts("fanout-listener") == before + 1


async def test_supervised_backs_off_while_crashing_and_ends_when_the_loop_returns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs = 0

    async def crashes_twice() -> None:
        nonlocal runs
        runs += 1
        if runs <= 2:
            raise OSError(f"crash {runs}")

    caplog.set_level(logging.WARNING, logger=JOBS_LOG)
    await asyncio.wait_for(supervised("test", "test loop", crashes_twice), 30)
    assert runs == 3
    assert [m for m in messages(caplog) if "crashed" in m] == [
        "test loop crashed: starting it again in 0.5 s",
        "test loop crashed: starting it again in 1.0 s",
    ]


async def test_a_short_job_that_crashes_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def boom() -> None:
        raise RuntimeError("provoked")

    caplog.set_level(logging.ERROR, logger=JOBS_LOG)
    scheduler = new_scheduler()
    job = await scheduler.spawn(boom(), name="short job")

    async def finished() -> bool:
        return job.closed

    await eventually(finished, 10)
    await scheduler.close()
    assert "background job short job: Job processing failed" in messages(caplog)


async def test_a_flush_answering_the_wrong_count_fails_its_callers_not_the_batcher(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = True

    async def flush(items: list[int]) -> list[int]:
        return [] if broken else [n * 2 for n in items]

    batcher: Batcher[int, int] = Batcher(flush)
    with pytest.raises(RuntimeError, match="answered 0 of"):
        await asyncio.wait_for(batcher.submit(1), 10)
    assert any("flush answered 0 of 1 items" in r.getMessage() for r in caplog.records)
    broken = False
    assert await asyncio.wait_for(batcher.submit(2), 10) == 4
    await batcher.aclose(RuntimeError("closed"))


@pytest.mark.parametrize("unit", ["fairhub-gateway.service", "fairhub-worker@.service"])
def test_systemd_units_restart_always_and_outlast_the_grace_period(unit: str) -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(Path(__file__).parent.parent / "deploy" / "systemd" / unit)
    service = parser["Service"]
    assert service["Restart"] == "always"
    assert float(service["RestartSec"]) > 0
    assert service["EnvironmentFile"] == "/etc/fairhub/fairhub.env"
    assert parser["Unit"]["StartLimitIntervalSec"] == "0"  # never gives up
    assert float(service["TimeoutStopSec"]) > Settings().worker_grace_seconds


class Flaky:
    """Something supervised that is dead until started, and whose first restart fails."""

    name = "flaky"

    def __init__(self) -> None:
        self.running = False
        self.starts = 0

    def ended(self) -> str | None:
        return None if self.running else "gone"

    def start(self) -> None:
        self.starts += 1
        if self.starts == 1:
            raise OSError("address in use")
        self.running = True


def test_the_supervisor_backs_off_logs_each_death_and_restart_and_retries_a_failed_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="fairhub")
    flaky = Flaky()
    watch = _Watch(flaky, started=0.0)
    supervisor = Supervisor([], [])
    supervisor._check(watch, now=100.0)  # dead: restart due in 0.5 s
    assert watch.due == 100.5
    supervisor._check(watch, now=100.2)  # not yet
    assert flaky.starts == 0
    supervisor._check(watch, now=100.6)  # the start fails: the next try waits longer
    assert flaky.starts == 1 and watch.due is not None
    supervisor._check(watch, now=watch.due)
    assert flaky.starts == 2 and flaky.running and watch.due is None
    supervisor._check(watch, now=watch.started + 1)  # alive: nothing to do
    assert [r.getMessage() for r in caplog.records if r.name == "fairhub"] == [
        "flaky ended (gone): starting it again in 0.5 s",
        "flaky could not be started again, trying again in 1.0 s: address in use",
        "flaky started again",
    ]
