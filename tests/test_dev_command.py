"""`fairhub dev`, the README's first command, end to end: a real process with embedded
Postgres and Redis, a gateway and a worker; it stops cleanly and keeps its data."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from oracle import as_answered, expected_totals
from support import DAY, event, totals

from fairhub.embedded import LOOPBACK, EmbeddedPostgres, EmbeddedRedis, free_port
from fairhub.embedded_cluster import EmbeddedRedisCluster

STARTUP_TIMEOUT = 90.0  # first start: initdb, postgres, valkey, migrations
SHUTDOWN_TIMEOUT = 60.0


# ------------------------------------------------------------------------- the dev process


def alive(process: psutil.Process) -> bool:
    """Running and not a zombie (a zombie has exited; it only waits to be reaped)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def command_of(process: psutil.Process) -> str:
    """Its command line; "" for one that has just ended (a zombie has none)."""
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def servers_of(data_dir: Path) -> list[psutil.Process]:
    """Live postgres and valkey-server processes working on data_dir (cmdline or cwd)."""
    root = str(data_dir.resolve())
    found = []
    for process in psutil.process_iter():
        try:
            if process.name() not in ("postgres", "valkey-server") or not alive(process):
                continue
            cmdline = " ".join(process.cmdline())
            cwd = process.cwd()
        except psutil.Error:
            continue
        if root in cmdline or cwd == root or cwd.startswith(root + os.sep):
            found.append(process)
    return found


def postmaster_tree(data_dir: Path) -> list[psutil.Process]:
    """The postmaster serving data_dir/postgres and its children."""
    pid = int((data_dir / "postgres" / "postmaster.pid").read_text().split("\n", 1)[0])
    postmaster = psutil.Process(pid)
    return [postmaster, *postmaster.children(recursive=True)]


@dataclass
class Dev:
    process: subprocess.Popen[bytes]
    base: str
    stdout: Path
    stderr: Path

    def output(self) -> str:
        out = self.stdout.read_text(errors="replace")
        err = self.stderr.read_text(errors="replace")
        return f"--- stdout\n{out}\n--- stderr (end)\n{err[-6000:]}"

    def admin_token(self) -> str | None:
        for line in self.stdout.read_text(errors="replace").splitlines():
            if "Admin token:" in line:
                return line.split("Admin token:", 1)[1].strip()
        return None


def start_dev(data_dir: Path, logs: Path, name: str, *args: str) -> Dev:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRHUB_")}
    env["FAIRHUB_DATA_DIR"] = str(data_dir)
    env["FAIRHUB_PORT"] = str(port)
    stdout, stderr = logs / f"{name}.out", logs / f"{name}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "fairhub", "dev", *args],
            env=env,
            cwd=logs,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    return Dev(process, f"http://127.0.0.1:{port}", stdout, stderr)


async def wait_until_up(dev: Dev, session: aiohttp.ClientSession) -> str:
    """Wait for the banner's admin token and for /healthz; returns the token."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if dev.process.poll() is not None:
            raise AssertionError(
                f"fairhub dev exited with {dev.process.returncode}\n{dev.output()}"
            )
        token = dev.admin_token()
        if token is not None:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(dev.base + "/healthz") as response:
                    if response.status == 200:
                        return token
        if time.monotonic() > deadline:
            raise AssertionError(f"fairhub dev not up within {STARTUP_TIMEOUT}s\n{dev.output()}")
        await asyncio.sleep(0.1)


async def stop_dev(dev: Dev, data_dir: Path) -> None:
    """SIGTERM; it must exit in time, leaving no server and no worker behind."""
    children = psutil.Process(dev.process.pid).children(recursive=True)
    workers = [p for p in children if "worker" in p.cmdline() and "fairhub" in p.cmdline()]
    assert len(workers) == 1, [p.cmdline() for p in children]
    servers = postmaster_tree(data_dir)
    servers += [p for p in servers_of(data_dir) if p not in servers]
    assert {p.name() for p in servers} == {"postgres", "valkey-server"}, servers

    dev.process.send_signal(signal.SIGTERM)
    try:
        code = await asyncio.to_thread(dev.process.wait, SHUTDOWN_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError(
            f"fairhub dev still running {SHUTDOWN_TIMEOUT}s after SIGTERM\n{dev.output()}"
        ) from None
    assert code == 0, f"fairhub dev exited with {code}\n{dev.output()}"
    left = [p for p in [*children, *servers] if alive(p)]
    assert left == [], [(p.pid, p.name(), p.cmdline()) for p in left]
    assert servers_of(data_dir) == []


def force_stop(dev: Dev, data_dir: Path) -> None:
    """After a failure: leave no process behind (ours only, found by pid or data dir)."""
    if dev.process.poll() is None:
        children: list[psutil.Process] = []
        with contextlib.suppress(psutil.Error):
            children = psutil.Process(dev.process.pid).children(recursive=True)
        dev.process.send_signal(signal.SIGTERM)
        try:
            dev.process.wait(SHUTDOWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            dev.process.kill()
            dev.process.wait()
        for child in children:
            with contextlib.suppress(psutil.Error):
                if alive(child):
                    child.kill()
    EmbeddedRedis(data_dir / "redis").stop()
    if (data_dir / "redis-cluster").exists():
        EmbeddedRedisCluster(data_dir / "redis-cluster").stop()
    EmbeddedPostgres(data_dir / "postgres").stop()


@contextlib.asynccontextmanager
async def running_dev(
    data_dir: Path, logs: Path, name: str, session: aiohttp.ClientSession, *args: str
) -> AsyncIterator[tuple[Dev, str]]:
    dev = start_dev(data_dir, logs, name, *args)
    try:
        token = await wait_until_up(dev, session)
        yield dev, token
    finally:
        force_stop(dev, data_dir)  # does nothing when the test stopped it already


# ---------------------------------------------------------------------------- the API calls


class Client:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def request(self, method: str, path: str, token: str, **kwargs: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"}
        async with self.session.request(method, self.base + path, headers=headers, **kwargs) as r:
            body = await r.json() if r.content_type == "application/json" else await r.text()
            return r.status, body

    async def stats(self, fair: str, token: str) -> tuple[int, Any]:
        return await self.request("GET", f"/v1/fairs/{fair}/stats", token)


class Ledger:
    """What the gateway acknowledged: posts through here check every per-event status."""

    def __init__(self, client: Client, fair: str, token: str) -> None:
        self.client = client
        self.fair = fair
        self.token = token
        self.accepted: dict[str, dict[str, Any]] = {}

    async def post(self, events: list[dict[str, Any]], statuses: list[str]) -> list[dict[str, Any]]:
        status, body = await self.client.request(
            "POST", f"/v1/fairs/{self.fair}/events", self.token, json={"events": events}
        )
        assert status == 202, body
        results = list(body["results"])
        assert [(r["id"], r["status"]) for r in results] == [
            (ev.get("id"), as_answered(ev, s)) for ev, s in zip(events, statuses, strict=True)
        ], results
        for ev, result in zip(events, results, strict=True):
            if ev.get("type") == "live_heartbeat":
                continue  # presence only: never stored
            if result["status"] == "accepted":
                assert ev["id"] not in self.accepted
                self.accepted[ev["id"]] = ev
            elif result["status"] == "duplicate":
                assert self.accepted[ev["id"]] == ev
            else:
                assert result["reason"], result
        return results

    def expected(self) -> dict[str, tuple[int, int]]:
        return expected_totals(self.accepted.values())


async def wait_for_totals(
    client: Client, fair: str, token: str, expected: dict[str, tuple[int, int]], timeout: float
) -> None:
    """Poll /stats until its totals are `expected`; on timeout show the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = await client.stats(fair, token)
        if status == 200 and totals(body) == expected:
            return
        if time.monotonic() > deadline:
            got = totals(body) if status == 200 else body
            raise AssertionError(f"/stats never reached {expected}; last answer {status}: {got}")
        await asyncio.sleep(0.1)


def a_fair_day() -> list[dict[str, Any]]:
    return [
        event("checkin", 0, seeker_id="S1", gate="north"),
        event("checkin", 0, seeker_id="S2"),
        event("checkin", 1, seeker_id="S9"),
        event("qr_scan", 1, target="fair", visitor_id="V1"),
        event("qr_scan", 2, target="employer", target_id="E1", seeker_id="S1"),
        event("booth_visit", 3, employer_id="E1", seeker_id="S1"),
        event("booth_visit", 3, employer_id="E2", seeker_id="S2"),
        event(
            "resume_submitted",
            4,
            seeker_id="S1",
            employer_id="E1",
            position_id="P1",
            channel="onsite",
        ),
        event("resume_downloaded", 5, seeker_id="S1", employer_id="E1"),
        event("intent_agreed", 6, seeker_id="S1", employer_id="E1", position_id="P1"),
        event("consultation", 6, seeker_id="S2", employer_id="E2", topic="远程办公?"),
        event("live_join", 7, session_id="L1", viewer_id="W1"),
        event("live_heartbeat", 8, session_id="L1", viewer_id="W1"),
        event("live_leave", 9, session_id="L1", viewer_id="W1"),
    ]


# ------------------------------------------------------------------------------------ test


async def test_dev_runs_everything_stops_cleanly_and_keeps_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with aiohttp.ClientSession() as session:
        async with running_dev(data_dir, tmp_path, "first", session) as (dev, admin):
            assert admin.startswith("fh_admin_"), dev.output()
            assert (data_dir / "admin_token").read_text().strip() == admin
            # Where to go next: the venue network, device tokens; where other commands find it.
            banner = dev.stdout.read_text()
            assert "Venue network: closed" in banner and "`fairhub dev --lan`" in banner
            assert f"POST {dev.base}/v1/fairs/FAIR/devices" in banner
            info = json.loads((data_dir / "dev.json").read_text())
            assert (info["url"], info["pid"]) == (dev.base, dev.process.pid)
            client = Client(session, dev.base)

            status, body = await client.request(
                "POST",
                "/v1/fairs",
                admin,
                json={
                    "name": "秋季双选会",
                    "kind": "hybrid",
                    "starts_at": DAY.isoformat(),
                    "ends_at": (DAY + timedelta(hours=8)).isoformat(),
                },
            )
            assert status == 201, body
            fair, organizer = body["id"], body["organizer_token"]
            ledger = Ledger(client, fair, organizer)

            day = a_fair_day()
            await ledger.post(day, ["accepted"] * len(day))
            await ledger.post(day, ["duplicate"] * len(day))  # the scanner resends its batch
            no_employer = event("booth_visit", 10, seeker_id="S4")  # employer_id is required
            batch = [
                event("checkin", 10, seeker_id="S1"),
                no_employer,
                event("checkin", 11, seeker_id="S4"),
            ]
            results = await ledger.post(batch, ["accepted", "rejected", "accepted"])
            assert "employer_id" in results[1]["reason"], results
            unknown = event("teleport", 12, seeker_id="S5")
            mixed = [
                batch[0],
                no_employer,
                event("consultation", 12, seeker_id="S3"),
                unknown,
                event("live_join", 13, session_id="L1", viewer_id="W2"),
                day[5],
                event("booth_visit", 14, employer_id="E1", seeker_id="S2"),
            ]
            await ledger.post(
                mixed,
                [
                    "duplicate",
                    "rejected",
                    "accepted",
                    "rejected",
                    "accepted",
                    "duplicate",
                    "accepted",
                ],
            )

            expected = ledger.expected()
            assert expected == {
                "checkins": (5, 4),
                "checkins_denied": (0, 0),
                "qr_scans": (2, 2),
                "booth_visits": (3, 2),
                "resumes_submitted": (1, 1),
                "resumes_downloaded": (1, 1),
                "intents": (1, 1),
                "consultations": (2, 2),
                "live_views": (2, 2),
                "hires": (0, 0),
            }
            await wait_for_totals(client, fair, organizer, expected, timeout=60)

            await stop_dev(dev, data_dir)
            assert not (data_dir / "dev.json").exists()

        async with running_dev(data_dir, tmp_path, "second", session) as (dev, again):
            assert again == admin, dev.output()
            client = Client(session, dev.base)
            status, body = await client.stats(fair, organizer)
            assert status == 200, body
            assert totals(body) == expected
            status, body = await client.stats(fair, again)
            assert status == 200, body
            assert totals(body) == expected
            # Redis kept the ids it acknowledged: a resend is still a duplicate.
            ledger.client = client
            await ledger.post(day, ["duplicate"] * len(day))
            status, body = await client.stats(fair, organizer)
            assert status == 200, body
            assert totals(body) == expected

            await stop_dev(dev, data_dir)


async def test_dev_cluster_plays_a_day_exactly_and_stops_cleanly(tmp_path: Path) -> None:
    """`fairhub dev --cluster`: a 3 + 3 Valkey cluster, 2 gateways on one port, 2 workers;
    `fairhub simulate` against it agrees on every figure, as against `fairhub dev`."""
    data_dir = tmp_path / "data"
    async with (
        aiohttp.ClientSession() as session,
        running_dev(data_dir, tmp_path, "cluster", session, "--cluster") as (dev, _),
    ):
        children = psutil.Process(dev.process.pid).children(recursive=True)
        lines = [" ".join(p.cmdline()) for p in children]
        assert sum("fairhub serve" in line for line in lines) == 2, lines
        assert sum("fairhub worker" in line for line in lines) == 2, lines
        assert len([p for p in servers_of(data_dir) if p.name() == "valkey-server"]) == 6
        assert "redis+cluster://" in dev.output()
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRHUB_")}
        env.update(FAIRHUB_DATA_DIR=str(data_dir), FAIRHUB_PORT=dev.base.rsplit(":", 1)[1])
        day = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "fairhub", "simulate", "--scale", "0.02", "--speed", "0",
             "--seed", "11", "--settle", "60"],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False,
        )  # fmt: skip
        assert day.returncode == 0, day.stdout[-4000:] + day.stderr[-4000:]
        assert "figures agree" in day.stdout, day.stdout[-4000:]

        # A worker that dies is started again (and its partitions taken over meanwhile).
        [victim, *_] = [p for p in children if "fairhub worker" in command_of(p)]
        victim.kill()

        async def replaced() -> bool:
            now = psutil.Process(dev.process.pid).children(recursive=True)
            workers = [p for p in now if "fairhub worker" in command_of(p) and alive(p)]
            return len(workers) == 2 and victim.pid not in {p.pid for p in workers}

        deadline = time.monotonic() + 20
        while not await replaced():
            assert time.monotonic() < deadline, dev.output()
            await asyncio.sleep(0.2)
        await wait_for_line(dev, "fairhub worker ended (exit -9): starting it again")

        # So is a valkey node (it rejoins the cluster through its nodes.conf).
        [node, *_] = [p for p in servers_of(data_dir) if p.name() == "valkey-server"]
        # valkey names itself "valkey-server 127.0.0.1:PORT [cluster]".
        port = int(" ".join(node.cmdline()).split(f"{LOOPBACK}:", 1)[1].split()[0])
        node.kill()
        await wait_for_line(dev, f"valkey node {port} ended (its process is gone)")
        await wait_for_line(dev, f"valkey node {port} started again")
        assert len([p for p in servers_of(data_dir) if p.name() == "valkey-server"]) == 6
        children = psutil.Process(dev.process.pid).children(recursive=True)
        dev.process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(dev.process.wait, SHUTDOWN_TIMEOUT)
        assert code == 0, dev.output()
        assert [p for p in children if alive(p)] == []
        assert servers_of(data_dir) == []


# ------------------------------------------------------------------------- self-healing

HEAL_TIMEOUT = 60.0  # generous: a restart takes a second or two, the machine may be busy


def fairhub_workers(dev: Dev) -> list[psutil.Process]:
    children = psutil.Process(dev.process.pid).children(recursive=True)
    return [p for p in children if "fairhub worker" in command_of(p) and alive(p)]


async def wait_for_line(dev: Dev, line: str, timeout: float = HEAL_TIMEOUT) -> None:
    """The dev log says `line` (its stderr carries the supervisor's log)."""
    deadline = time.monotonic() + timeout
    while line not in dev.stderr.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"no {line!r} in the log\n{dev.output()}"
        await asyncio.sleep(0.2)


async def post_until_accepted(ledger: Ledger, events: list[dict[str, Any]]) -> int:
    """Resend the same events (idempotent) until a 202; answers how many 503s came first."""
    refused = 0
    deadline = time.monotonic() + HEAL_TIMEOUT
    while True:
        with contextlib.suppress(aiohttp.ClientError):
            status, body = await ledger.client.request(
                "POST", f"/v1/fairs/{ledger.fair}/events", ledger.token, json={"events": events}
            )
            if status == 202:
                # A 503'd attempt may have reached the AOF: then the resend is a duplicate.
                assert {r["status"] for r in body["results"]} <= {"accepted", "duplicate"}, body
                ledger.accepted.update((ev["id"], ev) for ev in events)
                return refused
            assert status == 503, (status, body)
            refused += 1
        assert time.monotonic() < deadline, f"no 202 within {HEAL_TIMEOUT}s\n{ledger.client}"
        await asyncio.sleep(0.2)


async def test_dev_restarts_a_killed_worker_gateway_valkey_and_postgres(tmp_path: Path) -> None:
    """One gateway (the shape that used to run it in-process and never restart the worker):
    whatever is SIGKILLed comes back, says so in the log, and the figures move again."""
    data_dir = tmp_path / "data"
    async with (
        aiohttp.ClientSession() as session,
        running_dev(data_dir, tmp_path, "heal", session, "--processes", "1") as (dev, admin),
    ):
        client = Client(session, dev.base)
        status, body = await client.request(
            "POST",
            "/v1/fairs",
            admin,
            json={
                "name": "春季招聘会",
                "kind": "onsite",
                "starts_at": DAY.isoformat(),
                "ends_at": (DAY + timedelta(hours=8)).isoformat(),
            },
        )
        assert status == 201, body
        ledger = Ledger(client, body["id"], body["organizer_token"])
        first = event("checkin", 0, seeker_id="S1")
        await ledger.post([first], ["accepted"])
        await wait_for_totals(client, ledger.fair, ledger.token, ledger.expected(), 60)

        # The worker: SIGKILLed, a new one within seconds, and what comes next is counted.
        [victim] = fairhub_workers(dev)
        victim.kill()
        await wait_for_line(dev, "fairhub worker ended (exit -9): starting it again")
        await wait_for_line(dev, "fairhub worker started again")
        [successor] = fairhub_workers(dev)
        assert successor.pid != victim.pid
        await ledger.post([event("checkin", 1, seeker_id="S2")], ["accepted"])
        await wait_for_totals(client, ledger.fair, ledger.token, ledger.expected(), 60)

        # The gateway: SIGKILLed, a new one on the same port.
        [gateway] = [
            p
            for p in psutil.Process(dev.process.pid).children()
            if "fairhub serve" in command_of(p)
        ]
        gateway.kill()
        await wait_for_line(dev, "fairhub serve ended (exit -9): starting it again")
        await wait_for_line(dev, "fairhub serve started again")
        await post_until_accepted(ledger, [event("checkin", 1, seeker_id="S5")])
        await wait_for_totals(client, ledger.fair, ledger.token, ledger.expected(), 60)

        # Valkey: SIGKILLed, started again on its port and data dir; POSTs get 202 again and
        # what it had acknowledged before is still known (a resend is a duplicate).
        [valkey] = [p for p in servers_of(data_dir) if p.name() == "valkey-server"]
        valkey.kill()
        await wait_for_line(dev, "valkey ended (its process is gone): starting it again")
        await post_until_accepted(ledger, [event("checkin", 2, seeker_id="S3")])
        await wait_for_line(dev, "valkey started again")
        await ledger.post([first], ["duplicate"])
        await wait_for_totals(client, ledger.fair, ledger.token, ledger.expected(), 60)

        # The postmaster: SIGKILLed, started again; the WAL brings the figures back.
        postmaster = postmaster_tree(data_dir)[0]
        postmaster.kill()
        await wait_for_line(dev, "postgres ended (its process is gone): starting it again")
        await wait_for_line(dev, "postgres started again")
        await post_until_accepted(ledger, [event("checkin", 3, seeker_id="S4")])
        await wait_for_totals(client, ledger.fair, ledger.token, ledger.expected(), 60)
        assert ledger.expected()["checkins"] == (5, 5)

        await stop_dev(dev, data_dir)
