"""Viewer pages follow the host: a live session's public view as a fan-out topic (fanout.py).

When the host starts, pins, unpins or stops, the gateway that did it publishes on the session's
channel; every gateway with viewers of that session re-reads the view once and writes the same
frame to each of them, so a pin reaches every open phone within a fraction of a second. The
viewer page's beat (every 30 s) stays as the fallback where a stream cannot be held open.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Hashable

from aiohttp import web
from prometheus_client import Counter, Gauge

from fairhub import keys
from fairhub.gateway import fanout
from fairhub.gateway.bodies import json_default
from fairhub.gateway.errors import NotFound
from fairhub.gateway.fanout import Fanout, Meters, Pacing, Snapshot, sse_frame
from fairhub.gateway.jobs import SCHEDULER
from fairhub.gateway.live_public import fair_of, viewer_view

METERS = Meters(
    clients=Gauge("fairhub_viewer_streams", "Open viewer-page streams"),
    reads=Counter("fairhub_viewer_stream_reads_total", "Session reads made for viewer streams"),
    sent=Counter("fairhub_viewer_stream_snapshots_total", "New session views fanned out"),
)
SessionFeeds = Fanout[tuple[str, str]]  # topics: (fair, session)


def session_feeds(app: web.Application) -> SessionFeeds:
    """Viewer pages' topics: a session's public view, re-read when its host changes it."""

    async def read(
        topic: tuple[str, str], latest: Snapshot | None
    ) -> tuple[int, Hashable, bytes] | None:
        view = await viewer_view(app, topic[1], fresh=True)
        text = json.dumps(view, ensure_ascii=False, separators=(",", ":"), default=json_default)
        if latest is not None and latest.marker == text:
            return None
        # The same view has the same id on every gateway: Last-Event-ID works anywhere.
        version = int.from_bytes(hashlib.sha256(text.encode()).digest()[:6], "big")
        return version, text, sse_frame("session", version, text)

    settings = app[keys.SETTINGS]
    pacing = Pacing(interval=0.05, refresh=settings.stats_stream_refresh_seconds, linger=30.0)
    heartbeat = settings.stats_stream_heartbeat_seconds
    jobs = app[SCHEDULER]
    return Fanout(
        app[keys.REDIS], read, _channel, pacing, METERS, heartbeat, jobs=jobs, name="session feed"
    )


def _channel(topic: tuple[str, str]) -> str:
    return keys.live_changes(*topic)


async def stream_session(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: the session as viewers see it now, then after every change."""
    raw = request.match_info["session"]
    try:
        session = str(uuid.UUID(raw))
    except ValueError:
        raise NotFound(f"no live session {raw}", fields=["session"]) from None
    fair = await fair_of(request.app, session)
    return await fanout.serve(request, request.app[keys.SESSION_FEEDS], (fair, session))


def add_routes(app: web.Application) -> None:
    """The viewer page's stream of its session."""
    app.router.add_get("/live/{session}/events", stream_session)
