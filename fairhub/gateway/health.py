"""Liveness, readiness, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from fairhub import keys
from fairhub.config import Settings
from fairhub.db import TRANSIENT_ERRORS
from fairhub.gateway.openapi import openapi_document, with_routes
from fairhub.redis import RedisClient

# When each gateway app first answered /readyz: workers started with it get that long to beat.
_FIRST_ASKED: weakref.WeakKeyDictionary[web.Application, float] = weakref.WeakKeyDictionary()


async def healthz(request: web.Request) -> web.Response:
    """The process is up and its event loop answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when Redis and Postgres answer and the workers keep up; a load balancer routes on
    this, an operator's alert on "degraded" (events accepted but counted late or not at all)."""
    watched_since = _FIRST_ASKED.setdefault(request.app, time.time())
    checks: dict[str, str] = {}
    redis = request.app[keys.REDIS]
    workers: Workers | None = None
    try:
        await asyncio.wait_for(redis.ping(), timeout=2)
        workers = await asyncio.wait_for(read_workers(redis, request.app[keys.SETTINGS]), 2)
        checks["redis"] = "ok"
    except (RedisError, OSError, TimeoutError) as exc:
        checks["redis"] = f"unavailable: {exc}"
    try:
        await asyncio.wait_for(request.app[keys.DB].fetchval("SELECT 1"), timeout=2)
        checks["postgres"] = "ok"
    except TRANSIENT_ERRORS as exc:
        checks["postgres"] = f"unavailable: {exc}"
    if workers is None or not all(v == "ok" for v in checks.values()):
        return web.json_response({"status": "not_ready", "checks": checks}, status=503)
    body: dict[str, Any] = {"status": "ready", "checks": checks, "workers": workers.summary()}
    reasons = workers.troubles(request.app[keys.SETTINGS], watched_since)
    if reasons:
        body.update(status="degraded", reasons=reasons)
    return web.json_response(body, status=503 if reasons else 200)


@dataclass
class Workers:
    """What the workers published in Redis: their heartbeats and each partition's backlog."""

    now: float  # seconds since the epoch, when read
    alive: int  # workers that beat within worker_dead_seconds
    last_beat: float | None  # when any worker last beat (None: never on this Redis)
    oldest: dict[int, float] = field(default_factory=dict)  # partition -> oldest uncounted

    def oldest_age(self) -> tuple[int, float] | None:
        """The partition whose oldest uncounted event has waited longest, and for how long."""
        if not self.oldest:
            return None
        part = min(self.oldest, key=lambda p: self.oldest[p])
        return part, max(0.0, self.now - self.oldest[part])

    def summary(self) -> dict[str, Any]:
        oldest = self.oldest_age()
        return {
            "alive": self.alive,
            "last_beat_seconds_ago": _rounded(self.now - self.last_beat)
            if self.last_beat
            else None,
            "oldest_uncounted_seconds": _rounded(oldest[1]) if oldest else 0.0,
        }

    def troubles(self, settings: Settings, watched_since: float) -> list[str]:
        """Why the counting is degraded, in words; empty when it keeps up."""
        reasons = []
        if not self.alive:
            since = max(self.last_beat or 0.0, watched_since)
            silence = self.now - since
            if silence >= settings.ready_worker_silence_seconds:
                reasons.append(
                    f"no worker alive for {silence:.0f} s"
                    f" (limit {settings.ready_worker_silence_seconds:g} s)"
                )
        oldest = self.oldest_age()
        if oldest and oldest[1] >= settings.ready_max_lag_seconds:
            reasons.append(
                f"oldest uncounted event waited {oldest[1]:.0f} s in partition {oldest[0]}"
                f" (limit {settings.ready_max_lag_seconds:g} s)"
            )
        return reasons


async def read_workers(redis: RedisClient, settings: Settings) -> Workers:
    """Heartbeats and backlogs: three keys, read whatever the layout (one server, a cluster)."""
    now = time.time()
    alive_since = int((now - settings.worker_dead_seconds) * 1000)
    alive, last_beat, backlog = await asyncio.gather(
        redis.zcount(keys.WORKERS, alive_since, "+inf"),
        redis.get(keys.WORKERS_LAST_BEAT),
        redis.hgetall(keys.BACKLOG),
    )
    oldest = {}
    for part, value in backlog.items():
        fields = value.split()
        if part.isdigit() and len(fields) == 2 and fields[1].isdigit() and int(fields[1]):
            oldest[int(part)] = int(fields[1]) / 1000
    return Workers(
        now=now,
        alive=int(alive),
        last_beat=int(last_beat) / 1000 if last_beat else None,
        oldest=oldest,
    )


def _rounded(seconds: float) -> float:
    return round(seconds, 1)


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(with_routes(openapi_document(), request.app))
