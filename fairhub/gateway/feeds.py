"""Live stats for dashboards: one Redis subscription and one Postgres reader per fair in use.

Workers publish on ``fh:{fair}:totals`` after each commit. The first dashboard that opens a
fair's stream starts that fair's StatsFeed; the gateway's single pub/sub connection subscribes
to the fair's channel, and each announcement marks the feed changed. The feed re-reads the
fair's stats from Postgres at most once per ``stats_stream_interval_seconds`` and hands the
same encoded snapshot to every connected client, so a hundred dashboards cost what one does.

Re-reading (instead of forwarding the announced totals) also settles announcements that arrive
out of order from several workers: Postgres is the truth, and a snapshot only ever replaces an
older one. The snapshot's version is derived from the counters themselves (they only grow), so
it means the same on every gateway and a client may reconnect to any of them with
``Last-Event-ID``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
from prometheus_client import Counter, Gauge
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from fairhub import keys
from fairhub.config import Settings
from fairhub.db import TRANSIENT_ERRORS
from fairhub.live import Presence
from fairhub.stats import read_stats

log = logging.getLogger(__name__)

CLIENTS = Gauge("fairhub_stats_stream_clients", "Open dashboard streams")
READS = Counter("fairhub_stats_stream_reads_total", "Stats reads made for dashboard streams")
SENT = Counter("fairhub_stats_stream_snapshots_total", "New snapshots fanned out to streams")


@dataclass(frozen=True, slots=True)
class Snapshot:
    seq: int  # this gateway's count of snapshots of the fair: what clients wait on
    version: int
    audience: tuple[tuple[str, int, int], ...]  # live sessions' viewers now and peak
    frame: bytes  # the whole SSE event, encoded once for every client


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


def sse_frame(version: int, data: dict[str, Any]) -> bytes:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {version}\nevent: stats\ndata: {text}\n\n".encode()


class StatsFeed:
    """One fair's latest snapshot, refreshed on change, awaited by every client of the fair."""

    def __init__(self, fair: str, feeds: StatsFeeds) -> None:
        self.fair = fair
        self.clients = 0
        self.reads = 0
        self.latest: Snapshot | None = None
        self._feeds = feeds
        self._changed = asyncio.Event()
        self._changed.set()  # the first client wants figures now, not at the next change
        self._new = asyncio.Event()  # replaced after each snapshot; waiters hold the old one
        self._last_read = 0.0
        self._stop_handle: asyncio.TimerHandle | None = None
        self._ending = False
        self._task = asyncio.create_task(self._run(), name=f"stats-feed-{fair}")

    def changed(self) -> None:
        self._changed.set()

    async def next_after(self, seq: int) -> Snapshot | None:
        """The first snapshot after `seq`; None when the gateway shuts down."""
        while self.latest is None or self.latest.seq <= seq:
            if self._feeds.closing:
                return None
            await self._new.wait()
        return self.latest

    def wake(self) -> None:
        self._new.set()
        self._new = asyncio.Event()

    def end(self) -> None:
        """Let the reader finish on its own: a cancel landing inside a client call can be lost."""
        self._ending = True
        self._changed.set()

    async def stop(self) -> None:
        self.end()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), 5)
        except TimeoutError:
            self._task.cancel()

    async def _run(self) -> None:
        settings = self._feeds.settings
        while not self._ending:
            # A quiet fair is re-read now and then anyway, in case an announcement was lost.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), settings.stats_stream_refresh_seconds)
            if self._ending:
                return
            delay = self._last_read + settings.stats_stream_interval_seconds - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)  # coalesce: announcements meanwhile make one read
            self._changed.clear()
            self._last_read = time.monotonic()
            try:
                await self._refresh()
            except TRANSIENT_ERRORS as exc:
                log.warning("stats for fair %s unavailable: %s", self.fair, exc)
            except asyncpg.PostgresError:
                log.exception("stats read failed for fair %s", self.fair)

    async def _refresh(self) -> None:
        self.reads += 1
        READS.inc()
        stats = await read_stats(self._feeds.db, self.fair, self._feeds.presence)
        version, audience = version_of(stats), audience_of(stats)
        latest = self.latest
        if latest is not None and (
            version < latest.version or (version == latest.version and audience == latest.audience)
        ):
            return  # nothing new (or an older view): clients keep what they have
        view = {**stream_view(stats), "version": version}
        seq = latest.seq + 1 if latest else 1
        self.latest = Snapshot(seq, version, audience, sse_frame(version, view))
        SENT.inc()
        self.wake()


class StatsFeeds:
    """The gateway's feeds by fair, and the one pub/sub connection that drives them."""

    def __init__(
        self, settings: Settings, db: asyncpg.Pool, redis: Redis, presence: Presence
    ) -> None:
        self.settings = settings
        self.db = db
        self.redis = redis
        self.presence = presence
        self.closing = False
        self._feeds: dict[str, StatsFeed] = {}
        self._pubsub: PubSub = redis.pubsub(ignore_subscribe_messages=True)
        self._listener: asyncio.Task[None] | None = None

    def feed(self, fair: str) -> StatsFeed | None:
        return self._feeds.get(fair)

    @contextlib.asynccontextmanager
    async def watch(self, fair: str) -> AsyncIterator[StatsFeed]:
        """The fair's feed for as long as one client reads it (started on first use)."""
        feed = self._feeds.get(fair)
        if feed is None:
            feed = self._feeds[fair] = StatsFeed(fair, self)
            await self._subscribe(fair)
        if feed._stop_handle is not None:
            feed._stop_handle.cancel()
            feed._stop_handle = None
        feed.clients += 1
        CLIENTS.inc()
        try:
            yield feed
        finally:
            feed.clients -= 1
            CLIENTS.dec()
            if feed.clients == 0 and not self.closing:
                # Kept a while: a dashboard that reconnects finds its snapshot still warm.
                feed._stop_handle = asyncio.get_running_loop().call_later(
                    self.settings.stats_stream_linger_seconds, self._retire, fair
                )

    def close_streams(self) -> None:
        """Shutting down: every open stream ends now instead of holding the exit."""
        self.closing = True
        for feed in self._feeds.values():
            feed.wake()

    async def aclose(self) -> None:
        self.close_streams()
        if self._listener is not None:  # it sees `closing` within a quarter second
            try:
                await asyncio.wait_for(asyncio.shield(self._listener), 3)
            except TimeoutError:
                self._listener.cancel()
        for feed in list(self._feeds.values()):
            await feed.stop()
        self._feeds.clear()
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    def _retire(self, fair: str) -> None:
        feed = self._feeds.get(fair)
        if feed is None or feed.clients:
            return
        del self._feeds[fair]
        feed.end()
        asyncio.get_running_loop().create_task(self._unsubscribe(fair))

    async def _subscribe(self, fair: str) -> None:
        try:
            await self._pubsub.subscribe(keys.totals_channel(fair))
        except (RedisError, OSError) as exc:
            # Not fatal: the feed still re-reads on its refresh timer, and the listener
            # subscribes everything again when Redis is back.
            log.warning("could not subscribe to fair %s totals: %s", fair, exc)
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen(), name="stats-feeds-listener")

    async def _unsubscribe(self, fair: str) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.unsubscribe(keys.totals_channel(fair))

    async def _listen(self) -> None:
        """Announcements -> feeds marked changed; on a broken link, subscribe all again."""
        backoff = 0.2
        while not self.closing:
            if self._pubsub.connection is None:  # nothing subscribed since a reconnect
                await asyncio.sleep(1.0)
                continue
            try:
                message = await self._pubsub.get_message(timeout=0.25)
                backoff = 0.2
            except (RedisError, OSError) as exc:
                log.warning("totals subscription lost, resubscribing: %s", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                await self._resubscribe()
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else channel
            feed = self._feeds.get(keys.fair_of_stream(channel))
            if feed is not None:
                feed.changed()

    async def _resubscribe(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            if self._feeds:
                await self._pubsub.subscribe(*(keys.totals_channel(f) for f in self._feeds))
        except (RedisError, OSError) as exc:
            log.warning("resubscribe failed: %s", exc)
        for feed in self._feeds.values():
            feed.changed()  # announcements may have been missed while the link was down
