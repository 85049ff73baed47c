"""Helpers the tests share: a running gateway, an in-process worker, event factories."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from fairhub import keys
from fairhub.config import Settings
from fairhub.db import open_pool
from fairhub.gateway.app import create_app
from fairhub.layout import ensure_layout
from fairhub.redis import is_cluster_url, open_redis
from workers.aggregator import Aggregator

ADMIN_TOKEN = "test-admin-token-0123456789"
# Fewer partitions than production's 64: as many blocking reads per worker, a quarter. Every
# process of a test session (workers it starts too) uses this number.
TEST_PARTITIONS = 16
keys.use_partitions(TEST_PARTITIONS)
DAY = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
_ids = itertools.count()


def make_settings(database_url: str, redis_url: str, data_dir: Path, **extra: object) -> Settings:
    """Settings for a test: fast timeouts, a known admin token."""
    values: dict[str, object] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "data_dir": data_dir,
        "admin_token": ADMIN_TOKEN,
        "worker_block_ms": 100,
        "worker_claim_idle_ms": 2000,
        "worker_grace_seconds": 2,
        "redis_timeout_seconds": 2,
        "auth_cache_seconds": 60,
        "partitions": TEST_PARTITIONS,
        "worker_lease_seconds": 2,
        # Every primary of a cluster has a replica: a 202 waits for its fsync too.
        "waitaof_replicas": 1 if is_cluster_url(redis_url) else 0,
        **extra,
    }
    return Settings.model_validate(values)


def event(kind: str, minute: int = 0, **fields: Any) -> dict[str, Any]:
    """An event of `kind` with a fresh id, `minute` minutes into the fair day."""
    body = {
        "id": f"ev-{uuid.uuid4().hex[:12]}-{next(_ids)}",
        "type": kind,
        "occurred_at": (DAY + timedelta(minutes=minute)).isoformat(),
    }
    body.update(fields)
    return body


class Gateway:
    """A gateway on a real loopback port, with a client session and API shortcuts."""

    def __init__(self, base: str, session: aiohttp.ClientSession) -> None:
        self.base = base
        self.session = session

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls, settings: Settings) -> AsyncIterator[Gateway]:
        runner = web.AppRunner(create_app(settings))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            async with aiohttp.ClientSession() as session:
                yield cls(f"http://127.0.0.1:{port}", session)
        finally:
            await runner.cleanup()

    async def request(
        self, method: str, path: str, token: str | None = ADMIN_TOKEN, **kwargs: Any
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers.update(kwargs.pop("headers", None) or {})
        async with self.session.request(method, self.base + path, headers=headers, **kwargs) as r:
            if r.content_type == "application/json":
                return r.status, await r.json()
            raw = await r.read()
            try:
                return r.status, raw.decode(r.charset or "utf-8")
            except UnicodeDecodeError:  # an image, a file
                return r.status, raw

    async def create_fair(self, name: str = "春季招聘会") -> tuple[str, str]:
        status, body = await self.request(
            "POST",
            "/v1/fairs",
            json={
                "name": name,
                "kind": "onsite",
                "starts_at": DAY.isoformat(),
                "ends_at": (DAY + timedelta(hours=8)).isoformat(),
            },
        )
        assert status == 201, body
        return body["id"], body["organizer_token"]

    async def post(
        self, fair: str, token: str, events: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        status, body = await self.request(
            "POST", f"/v1/fairs/{fair}/events", token, json={"events": events}
        )
        assert status == 202, body
        return list(body["results"])

    async def create(self, fair: str, token: str, kind: str, **fields: Any) -> dict[str, Any]:
        """POST one registry item (employers, positions, seekers, devices); its 201 body."""
        status, body = await self.request("POST", f"/v1/fairs/{fair}/{kind}", token, json=fields)
        assert status == 201, body
        return dict(body)

    async def stats(self, fair: str, token: str) -> dict[str, Any]:
        status, body = await self.request("GET", f"/v1/fairs/{fair}/stats", token)
        assert status == 200, body
        return dict(body)


class WorkerTask:
    """An aggregation worker running in this event loop."""

    def __init__(self, aggregator: Aggregator, stop: asyncio.Event, task: asyncio.Task[None]):
        self.aggregator = aggregator
        self.stop = stop
        self.task = task

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls, settings: Settings) -> AsyncIterator[WorkerTask]:
        connections = settings.partitions + 32
        async with (
            open_pool(settings) as db,
            open_redis(settings, connections=connections) as redis,
        ):
            await ensure_layout(redis, settings)
            stop = asyncio.Event()
            aggregator = Aggregator(settings, db, redis)
            task = asyncio.create_task(aggregator.run(stop))
            try:
                yield cls(aggregator, stop, task)
            finally:
                stop.set()
                await asyncio.wait_for(task, timeout=15)


def worker_process(settings: Settings, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """A real `fairhub worker` process, to be killed for real; its output goes to `log`."""
    environment = {
        **os.environ,
        "FAIRHUB_DATABASE_URL": str(settings.database_url),
        "FAIRHUB_REDIS_URL": str(settings.redis_url),
        "FAIRHUB_WORKER_BLOCK_MS": "100",
        "FAIRHUB_WORKER_CLAIM_IDLE_MS": str(settings.worker_claim_idle_ms),
        "FAIRHUB_WORKER_LEASE_SECONDS": str(settings.worker_lease_seconds),
        "FAIRHUB_PARTITIONS": str(settings.partitions),
        **env,
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "fairhub", "worker"], env=environment, stdout=out, stderr=out
        )


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    """Poll `check` until it holds; fail with a clear message after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.05)


def totals(stats: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """{metric: (total, unique)} of a /stats answer."""
    return {m: (c["total"], c["unique"]) for m, c in stats["totals"].items()}


class StatsStream:
    """A dashboard's view of GET …/stats/stream: Server-Sent Events read line by line."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.comments = 0  # heartbeats seen

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls, gateway: Gateway, fair: str, token: str, last_event_id: int | None = None
    ) -> AsyncIterator[StatsStream]:
        headers = {"Authorization": f"Bearer {token}"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        url = f"{gateway.base}/v1/fairs/{fair}/stats/stream"
        async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as r:
            assert r.status == 200, await r.text()
            assert r.content_type == "text/event-stream"
            yield cls(r)

    async def next_event(self, timeout: float = 10.0) -> tuple[int, dict[str, Any]]:
        """The next `stats` event: (its id, its data)."""
        fields: dict[str, str] = {}
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.response.content.readline()
                if not raw:
                    raise AssertionError("the stream ended")
                line = raw.decode().rstrip("\n")
                if line.startswith(":"):
                    self.comments += 1
                elif line:
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
                elif "data" in fields:
                    assert fields["event"] == "stats", fields
                    return int(fields["id"]), json.loads(fields["data"])
                else:
                    fields.clear()  # e.g. the opening `retry:`

    async def until(
        self, check: Callable[[dict[str, Any]], bool], timeout: float = 20.0
    ) -> tuple[int, dict[str, Any]]:
        """Events until one satisfies `check`."""
        async with asyncio.timeout(timeout):
            while True:
                version, data = await self.next_event(timeout)
                if check(data):
                    return version, data


async def fair_entries(redis: Any, fair: str) -> list[dict[str, Any]]:
    """The events of one fair in its partition's stream (a stream holds many fairs' events)."""
    events: list[dict[str, Any]] = []
    for _, fields in await redis.xrange(keys.stream(fair)) or []:
        if fields and fields[b"f"] == fair.encode():
            # One event ({e}), or several of one script call joined by newlines ({b}).
            texts = fields[b"b"].split(b"\n") if b"b" in fields else [fields[b"e"]]
            events += [json.loads(text) for text in texts]
    return events
