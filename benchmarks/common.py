"""What the benchmarks share: local servers, child processes, CPU accounting, fairs, results.

Why: every benchmark runs the real system the same way (embedded Postgres and Redis under a
temp dir, each server its own process, stopped whatever happens) and accounts for it the same
way, so that figures from different scripts can be read side by side.

Imported by sibling scripts run as `python benchmarks/<name>.py` (their directory is then
first on sys.path): `from common import ...`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
# The checkout is what is measured, not a copy of fairhub installed earlier: for this process,
# and for every server it starts (`python -m fairhub dev` runs in a temp dir).
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

from fairhub import masterkey  # noqa: E402
from fairhub.config import Settings  # noqa: E402
from fairhub.embedded import EmbeddedPostgres, EmbeddedRedis, free_port  # noqa: E402
from fairhub.migrate import migrate  # noqa: E402

ADMIN_TOKEN = "bench-admin-token-0123456789"


def busy_seconds() -> float:
    """CPU time the whole machine spent busy (all cores), to spot load from other programs."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def cpu_seconds(pids: list[int], children: bool = True) -> float:
    """user+system CPU of these processes (and their children, those still alive)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            for p in [proc, *(proc.children(recursive=True) if children else [])]:
                with contextlib.suppress(psutil.Error):
                    t = p.cpu_times()
                    total += t.user + t.system
    return total


async def cpu_during(watched: dict[str, list[int]], start: float, end: float) -> dict[str, float]:
    """% of one core each group of processes used from `start` to `end` (perf_counter times),
    and "other": what the rest of the machine used meanwhile."""
    await asyncio.sleep(start - time.perf_counter())
    before = {k: cpu_seconds(v) for k, v in watched.items()}
    machine_before = busy_seconds()
    await asyncio.sleep(end - time.perf_counter())
    seconds = end - start
    used = {k: max(0.0, 100 * (cpu_seconds(v) - before[k]) / seconds) for k, v in watched.items()}
    machine = 100 * (busy_seconds() - machine_before) / seconds
    return {**used, "other": max(0.0, machine - sum(used.values()))}


def install_uvloop() -> None:
    """A load generator is a tool: make it as cheap as possible (uvloop when installed)."""
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


class Processes:
    """Every child we start, so that all of them are stopped whatever happens."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[subprocess.Popen[bytes]] = []

    def start(
        self, name: str, args: list[str], env: dict[str, str] | None = None,
        stdout: int | None = None,
    ) -> subprocess.Popen[bytes]:  # fmt: skip
        """`python <args>` in its own session (a Ctrl-C is ours to handle), logging to a file."""
        with (self.log_dir / f"{name}.log").open("ab") as log:  # the child keeps its own copy
            proc = subprocess.Popen(
                [sys.executable, *args], cwd=ROOT, env={**os.environ, **(env or {})},
                stdin=subprocess.DEVNULL, stdout=stdout or log, stderr=log, start_new_session=True,
            )  # fmt: skip
        self.children.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with contextlib.suppress(ValueError):
            self.children.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.children):
            self.stop(proc)

    def tail(self, name: str) -> str:
        with contextlib.suppress(OSError):
            return "\n".join((self.log_dir / f"{name}.log").read_text().splitlines()[-20:])
        return ""

    async def run_json(self, name: str, args: list[str]) -> dict[str, Any]:
        """Run a child to its end; its last stdout line is a JSON result."""
        return await self.collect_json(name, self.start(name, args, stdout=subprocess.PIPE))

    async def collect_json(self, name: str, proc: subprocess.Popen[bytes]) -> dict[str, Any]:
        """Wait for a child started with stdout=PIPE (several can run at once): its JSON."""
        out, _ = await asyncio.to_thread(proc.communicate)
        self.stop(proc)
        if proc.returncode != 0:
            raise RuntimeError(f"{name} failed:\n{self.tail(name)}")
        return dict(json.loads(out.decode().strip().splitlines()[-1]))


async def wait_ready(procs: Processes, proc: subprocess.Popen[bytes], name: str, port: int) -> None:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{procs.tail(name)}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{name} did not answer /healthz in 30 s:\n{procs.tail(name)}")


async def create_fairs(settings: Settings, count: int) -> list[tuple[str, str]]:
    """Fairs made through the API (admin token), by a gateway run briefly in this process."""
    from fairhub.gateway.app import create_app

    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}/v1/fairs"
    day = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    fair = {"name": "Benchmark fair", "kind": "onsite", "starts_at": day.isoformat(),
            "ends_at": (day + timedelta(hours=8)).isoformat()}  # fmt: skip
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    made = []
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(count):
                async with session.post(url, json=fair, headers=admin) as resp:
                    body = await resp.json()
                    assert resp.status == 201, body
                    made.append((body["id"], body["organizer_token"]))
    finally:
        await runner.cleanup()
    return made


@dataclass
class Stack:
    """Embedded Postgres and Redis, migrated, and how to start FairHub processes against them."""

    tmp: Path
    postgres: EmbeddedPostgres
    redis: EmbeddedRedis
    settings: Settings
    procs: Processes

    @property
    def server_env(self) -> dict[str, str]:
        """FAIRHUB_* for `python -m fairhub serve|worker` (add FAIRHUB_PORT for a gateway)."""
        return {"FAIRHUB_DATABASE_URL": self.postgres.url, "FAIRHUB_REDIS_URL": self.redis.url,
                "FAIRHUB_ADMIN_TOKEN": ADMIN_TOKEN, "FAIRHUB_DATA_DIR": str(self.tmp),
                "FAIRHUB_HOST": "127.0.0.1", "FAIRHUB_LOG_LEVEL": "WARNING"}  # fmt: skip

    @property
    def postgres_pid(self) -> int:
        return int((self.postgres.data_dir / "postmaster.pid").read_text().split()[0])

    @property
    def redis_pid(self) -> int:
        return int(self.redis.pid_path.read_text())


@contextlib.asynccontextmanager
async def local_stack(postgres_settings: dict[str, str] | None = None) -> AsyncIterator[Stack]:
    """Servers under a temp dir; on the way out every process is stopped and the dir removed.

    `postgres_settings` are set with ALTER SYSTEM before the first use (one restart).
    """
    tmp = Path(tempfile.mkdtemp(prefix="fairhub-bench-"))
    postgres, redis = EmbeddedPostgres(tmp / "postgres"), EmbeddedRedis(tmp / "redis")
    procs = Processes(tmp)
    try:
        postgres.start()
        if postgres_settings:
            conn = await asyncpg.connect(postgres.url)
            try:
                for name, value in postgres_settings.items():
                    await conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            finally:
                await conn.close()
            postgres.stop()
            postgres.start()
        redis.start()
        await migrate(postgres.url)
        settings = Settings(
            database_url=postgres.url, redis_url=redis.url, admin_token=ADMIN_TOKEN, data_dir=tmp
        )
        masterkey.load(settings, create=True)  # as `fairhub dev` does: gateways find it there
        yield Stack(tmp, postgres, redis, settings, procs)
    finally:
        procs.stop_all()
        with contextlib.suppress(Exception):
            redis.stop()
        with contextlib.suppress(Exception):
            postgres.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def inherited_environment() -> dict[str, str]:
    """FAIRHUB_* of the shell: children inherit them, so they tune the servers. Say so."""
    inherited = {k: v for k, v in os.environ.items() if k.startswith("FAIRHUB_")}
    if inherited:
        print(f"note: servers inherit {inherited}")
    return inherited


def write_results(name: str, started: datetime, document: dict[str, Any]) -> Path:
    """benchmarks/results/<name>-<UTC>.json, with the commit and the machine it ran on."""
    out = ROOT / "benchmarks" / "results" / f"{name}-{started:%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(),
               "platform": platform.platform()}  # fmt: skip
    head = {"started": started.isoformat(), "commit": commit, "machine": machine}
    out.write_text(json.dumps({**head, **document}, indent=2, default=str))
    print(f"\nwritten to {out.relative_to(ROOT)}")
    return out
