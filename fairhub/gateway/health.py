"""Liveness, readiness, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from fairhub import keys
from fairhub.db import TRANSIENT_ERRORS
from fairhub.gateway.openapi import openapi_document, with_routes


async def healthz(request: web.Request) -> web.Response:
    """The process is up and its event loop answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when both Redis and Postgres answer; a load balancer routes on this."""
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(request.app[keys.REDIS].ping(), timeout=2)
        checks["redis"] = "ok"
    except (RedisError, OSError, TimeoutError) as exc:
        checks["redis"] = f"unavailable: {exc}"
    try:
        await asyncio.wait_for(request.app[keys.DB].fetchval("SELECT 1"), timeout=2)
        checks["postgres"] = "ok"
    except TRANSIENT_ERRORS as exc:
        checks["postgres"] = f"unavailable: {exc}"
    ready = all(v == "ok" for v in checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status=200 if ready else 503,
    )


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(with_routes(openapi_document(), request.app))
