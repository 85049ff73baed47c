"""create_app(settings): the gateway, with every client opened and closed in a cleanup context."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator

from aiohttp import web

from fairhub import keys, limits
from fairhub.auth import Authenticator
from fairhub.config import Settings
from fairhub.db import open_pool
from fairhub.directory import Directory
from fairhub.gateway import (
    alliance_events,
    alliance_imports,
    alliance_privacy,
    alliance_report,
    alliance_stats,
    alliances,
    checkins,
    dashboard,
    enrolment,
    fairs,
    health,
    imports,
    ingest,
    intents,
    leads,
    live,
    live_pages,
    live_public,
    live_questions,
    menu_page,
    mine,
    privacy,
    public,
    qr,
    registry,
    report,
    resumes,
    schools,
    seeker_pages,
    signup,
    stats,
    training,
    viewers,
)
from fairhub.gateway.errors import error_middleware
from fairhub.gateway.feeds import stats_feeds
from fairhub.gateway.guards import body_guard
from fairhub.gateway.jobs import SCHEDULER, scheduler_ctx
from fairhub.gateway.viewers import session_feeds
from fairhub.keyring import KeyRing, newest_key, sealed_keys
from fairhub.layout import ensure_layout
from fairhub.live import Presence
from fairhub.migrate import check_current
from fairhub.otp import Codes, make_sender
from fairhub.redis import Shards, open_redis
from fairhub.streams import StreamWriter


async def _redis(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    async with open_redis(settings) as client:
        await ensure_layout(client, settings)
        app[keys.REDIS] = client
        app[keys.SHARDS] = Shards(client, settings)
        yield
        await app[keys.SHARDS].aclose()


async def _db(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    async with open_pool(settings) as pool:
        async with pool.acquire() as conn:
            await check_current(conn)
        app[keys.DB] = pool
        if not settings.database_read_url:
            app[keys.DB_READ] = pool
            yield
            return
        async with open_pool(settings, settings.database_read_url) as replica:
            app[keys.DB_READ] = replica
            yield


async def _writer(app: web.Application) -> AsyncIterator[None]:
    writer = StreamWriter(app[keys.SHARDS], app[keys.SETTINGS])
    app[keys.WRITER] = writer
    yield
    await writer.close()


async def _auth(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    app[keys.AUTH] = Authenticator(
        settings.resolved_admin_token(), app[keys.DB], app[keys.REDIS], settings.auth_cache_seconds
    )
    app[keys.KEYRING] = KeyRing(app[keys.DB], app[keys.REDIS])
    # Cards carry the digest of the badge the fair's key signs now (the master key that opens
    # it is installed by sealed_keys, before the first request).
    signing_keys = functools.partial(newest_key, app[keys.DB])
    app[keys.DIRECTORY] = Directory(app[keys.DB], app[keys.REDIS], signing_keys)
    app[keys.PRESENCE] = Presence(app[keys.SHARDS], settings.live_presence_seconds)
    yield


async def _codes(app: web.Application) -> AsyncIterator[None]:
    sender = make_sender(app[keys.SETTINGS])
    app[keys.CODES] = Codes(app[keys.REDIS], app[keys.SETTINGS], sender)
    yield
    await sender.aclose()


async def _feeds(app: web.Application) -> AsyncIterator[None]:
    app[keys.FEEDS] = stats_feeds(
        app[keys.SETTINGS], app[keys.DB_READ], app[keys.REDIS], app[keys.PRESENCE], app[SCHEDULER]
    )
    app[keys.SESSION_FEEDS] = session_feeds(app)
    yield
    await app[keys.FEEDS].aclose()
    await app[keys.SESSION_FEEDS].aclose()


async def _end_streams(app: web.Application) -> None:
    """Open streams (dashboards, viewer pages) would hold a graceful shutdown for its timeout."""
    app[keys.FEEDS].close_streams()
    app[keys.SESSION_FEEDS].close_streams()


def create_app(settings: Settings) -> web.Application:
    """The gateway application; no I/O until it starts."""
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[error_middleware(settings.retry_after_seconds), body_guard(settings)],
    )
    app[keys.SETTINGS] = settings
    app[keys.VIEWER_VIEWS] = {}
    app[keys.SESSION_FAIRS] = {}
    limits.install(app)  # public calls' token buckets, group-committed per flush
    # The scheduler closes after the feeds have stopped their jobs, before Redis and Postgres.
    app.cleanup_ctx.extend([_redis, _db, scheduler_ctx, _writer, _auth, _codes, _feeds])
    app.cleanup_ctx.append(sealed_keys)  # the master key; plaintext badge keys sealed
    app.on_shutdown.append(_end_streams)
    # The hot routes first: aiohttp tries a path's candidates in the order they were added.
    app.router.add_post("/v1/fairs/{fair}/checkins", checkins.post_checkin)
    app.router.add_post("/v1/fairs/{fair}/events", ingest.post_events)
    app.router.add_post("/v1/fairs", fairs.create_fair)
    app.router.add_get("/v1/fairs", fairs.list_fairs)
    app.router.add_get("/v1/me", fairs.whoami)
    app.router.add_get("/v1/fairs/{fair}", fairs.get_fair)
    app.router.add_patch("/v1/fairs/{fair}", fairs.update_fair)
    app.router.add_get("/v1/fairs/{fair}/keys", fairs.get_keys)
    app.router.add_post("/v1/fairs/{fair}/keys", fairs.rotate_key)
    app.router.add_delete("/v1/fairs/{fair}/keys/{kid}", fairs.retire_key)
    app.router.add_get("/v1/fairs/{fair}/stats", stats.get_stats)
    app.router.add_get("/v1/fairs/{fair}/stats/stream", stats.stream_stats)
    # Each resource module adds its own routes: one module per resource.
    for module in (
        registry,
        imports,
        leads,
        resumes,
        intents,
        qr,
        public,
        signup,
        mine,
        seeker_pages,
        report,
        dashboard,
        enrolment,  # kiosk enrolment by QR, the kiosks' beat, the devices page
        live,
        live_questions,
        live_public,  # before the pages: /live/{session}.json is not a page
        viewers,
        live_pages,
        alliances,
        schools,  # the schools of a fair and the alliance members they are
        alliance_imports,  # the secretary's spreadsheets
        training,
        alliance_events,
        alliance_stats,
        alliance_privacy,  # menu sign-ups read, erased and audited
        alliance_report,
        menu_page,
    ):
        module.add_routes(app)
    privacy.add_routes(app)  # the audit log of personal-data reads
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)
    app.router.add_get("/metrics", health.metrics)
    app.router.add_get("/openapi.json", health.openapi)
    return app
