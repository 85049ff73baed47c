"""Live stats for dashboards: the fair's figures as a fan-out topic (fanout.py).

Workers publish on ``fh:{fair}:totals`` after each commit; the gateway re-reads the fair's
stats from Postgres (at most once per ``stats_stream_interval_seconds``) and sends the same
encoded snapshot to every dashboard of the fair, so a hundred dashboards cost what one does.

Re-reading (instead of forwarding the announced totals) also settles announcements that arrive
out of order from several workers: Postgres is the truth, and a snapshot only ever replaces an
older one. The snapshot's version is derived from the counters themselves (they only grow), so
it means the same on every gateway and a client may reconnect to any of them with
``Last-Event-ID``.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

import aiojobs
import asyncpg
from prometheus_client import Counter, Gauge

from fairhub import keys
from fairhub.config import Settings
from fairhub.gateway.fanout import Fanout, Meters, Pacing, Snapshot, sse_frame
from fairhub.live import Presence
from fairhub.redis import RedisClient
from fairhub.stats import read_stats

METERS = Meters(
    clients=Gauge("fairhub_stats_stream_clients", "Open dashboard streams"),
    reads=Counter("fairhub_stats_stream_reads_total", "Stats reads made for dashboard streams"),
    sent=Counter("fairhub_stats_stream_snapshots_total", "New snapshots fanned out to streams"),
)
StatsFeeds = Fanout[str]  # topics: fair ids


def version_of(stats: dict[str, Any]) -> int:
    """A number that grows with every counted event: the sum of the fair's counters."""
    return sum(count["total"] + count["unique"] for count in stats["totals"].values())


def audience_of(stats: dict[str, Any]) -> tuple[tuple[str, int, int], ...]:
    """Who watches the fair's streams now: it moves without any counter moving (beats, leaves)."""
    return tuple(
        (s["session_id"], s.get("live_concurrent", 0), s.get("live_peak", 0))
        for s in stats["by_session"]
    )


def stream_view(stats: dict[str, Any]) -> dict[str, Any]:
    """The /stats document as a dashboard needs it, small enough to send a few times a second.

    Leaves out by_position (thousands of rows no dashboard shows) and, in every breakdown row
    (employer, school, session, minute), the metrics that are still zero there: a day of
    minutes and a hundred employers stay tens of kilobytes instead of hundreds.
    """
    view = {name: value for name, value in stats.items() if name != "by_position"}
    for name in ("by_employer", "by_school", "by_session", "per_minute"):
        view[name] = [
            {**row, "totals": {m: c for m, c in row["totals"].items() if c["total"]}}
            for row in stats[name]
        ]
    return view


def stats_feeds(
    settings: Settings,
    db: asyncpg.Pool,
    redis: RedisClient,
    presence: Presence,
    jobs: aiojobs.Scheduler,
) -> StatsFeeds:
    """Dashboards' topics: a fair's figures, re-read when its workers announce a commit."""

    async def read(fair: str, latest: Snapshot | None) -> tuple[int, Hashable, bytes] | None:
        stats = await read_stats(db, fair, presence)
        version, audience = version_of(stats), audience_of(stats)
        if latest is not None and (
            version < latest.version or (version == latest.version and audience == latest.marker)
        ):
            return None
        view = {**stream_view(stats), "version": version}
        text = json.dumps(view, ensure_ascii=False, separators=(",", ":"))
        return version, audience, sse_frame("stats", version, text)

    pacing = Pacing(
        interval=settings.stats_stream_interval_seconds,
        refresh=settings.stats_stream_refresh_seconds,
        linger=settings.stats_stream_linger_seconds,
    )
    heartbeat = settings.stats_stream_heartbeat_seconds
    return Fanout(
        redis, read, keys.totals_channel, pacing, METERS, heartbeat, jobs=jobs, name="stats feed"
    )
