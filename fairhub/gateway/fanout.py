"""Server-Sent Events fanned out: one Redis subscription per gateway, one reader per topic in use.

A topic is what a page watches: a fair's figures (dashboards), a live session's state (viewer
pages). Whoever changes a topic publishes on its channel (sharded pub/sub: a channel carries
its fair's partition tag, so on a cluster only the shard of the fair's data carries it); the
gateway's subscription marks the topic changed, and the topic's reader re-reads the truth at
most once per `interval`, encodes one frame and hands the same bytes to every client. So a
change costs one read per gateway however many clients watch, and announcements that are lost,
late or out of order cannot show a wrong view: a topic is also re-read every `refresh` seconds.

The topic writes each new frame to its clients itself, in one loop, and keeps them alive with
one heartbeat timer: a client's handler only waits for its stream to end. Twenty thousand
viewers of a pin then cost twenty thousand writes, not twenty thousand tasks woken, timers
re-armed and objects for the garbage collector to chase.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import aiojobs
import asyncpg
from aiohttp import web
from prometheus_client import Counter, Gauge
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterPubSub
from redis.exceptions import RedisError

from fairhub.db import TRANSIENT_ERRORS
from fairhub.gateway.jobs import spawn_supervised
from fairhub.gateway.sinks import Sink
from fairhub.redis import RedisClient

log = logging.getLogger(__name__)
T = TypeVar("T", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Snapshot:
    seq: int  # this gateway's count of snapshots of the topic: what clients wait on
    version: int  # what the client echoes as Last-Event-ID
    marker: Hashable  # with the version, what makes two snapshots the same view
    frame: bytes  # the whole SSE event, encoded once for every client


# A reader gets the topic and the snapshot clients have; it answers (version, marker, frame)
# of a newer view, or None when there is nothing new to send.
Reader = Callable[[T, Snapshot | None], Awaitable[tuple[int, Hashable, bytes] | None]]


@dataclass(frozen=True)
class Meters:
    clients: Gauge
    reads: Counter
    sent: Counter


@dataclass(frozen=True)
class Pacing:
    interval: float  # at most one read per topic per this many seconds
    refresh: float  # a quiet topic is re-read this often anyway (a lost announcement)
    linger: float  # a topic nobody watches is kept this long (a client reconnecting)


# Writes between two yields to the event loop while fanning out, so a big audience does not
# keep the gateway's other requests waiting for the whole round.
WRITES_PER_TURN = 500


class Topic(Generic[T]):
    """One topic's latest snapshot, refreshed on change and written to every client of it."""

    def __init__(self, key: T, fanout: Fanout[T]) -> None:
        self.key = key
        self.latest: Snapshot | None = None
        self.sinks: set[Sink] = set()
        self._fanout = fanout
        self._changed = asyncio.Event()  # set at the start: the first client wants the view now
        self._last_read = 0.0
        self.stop_handle: asyncio.TimerHandle | None = None
        self._ending = False
        self._ended = asyncio.Event()  # wakes the heartbeat on the way out
        self._jobs: list[aiojobs.Job[None]] = []

    async def start(self) -> None:
        """The topic's reader and heartbeat, as jobs restarted whenever they crash."""
        fanout, name = self._fanout, f"{self._fanout.name} {self.key}"
        self._jobs = [
            await spawn_supervised(fanout.jobs, "fanout-topic", f"{name} reader", self._read),
            await spawn_supervised(fanout.jobs, "fanout-beat", f"{name} heartbeat", self._beat),
        ]

    @property
    def clients(self) -> int:
        return len(self.sinks)

    def changed(self) -> None:
        self._changed.set()

    async def attach(self, sink: Sink) -> None:
        """Serve one client until its stream ends: the snapshot now, then every new one."""
        self.sinks.add(sink)
        try:
            latest = self.latest
            if latest is not None and latest.version != sink.skip:
                sink.skip = -1
                if not await sink.send(latest.frame):
                    return
            await sink.ended
        finally:
            self.sinks.discard(sink)

    async def broadcast(self, frame: bytes, version: int | None) -> None:
        """The same bytes to every client, in one loop; clients that are gone are let go."""
        for n, sink in enumerate(list(self.sinks)):
            if version is not None and sink.skip == version:
                sink.skip = -1  # what the client had when it reconnected: not again
                continue
            if not await sink.send(frame):
                sink.end()
            if n % WRITES_PER_TURN == WRITES_PER_TURN - 1:
                await asyncio.sleep(0)

    def end(self) -> None:
        """Let the reader finish on its own: a cancel landing inside a client call can be lost."""
        self._ending = True
        self._changed.set()
        self._ended.set()
        for sink in self.sinks:
            sink.end()

    async def stop(self) -> None:
        self.end()
        for job in self._jobs:
            if not job.closed:
                with contextlib.suppress(TimeoutError):  # aiojobs cancels it then
                    await job.wait(timeout=5)

    async def _beat(self) -> None:
        """One timer for the whole audience: proxies keep idle streams open."""
        while not self._ending:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ended.wait(), self._fanout.heartbeat)
            if not self._ending:
                await self.broadcast(b": keep-alive\n\n", None)

    async def _read(self) -> None:
        """The reader's loop; once the topic is retired, its channel is let go."""
        self._changed.set()  # (re)started: a crash may have swallowed a change, so read now
        await self._run()
        await self._fanout.retired(self)

    async def _run(self) -> None:
        pacing = self._fanout.pacing
        while not self._ending:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), pacing.refresh)
            if self._ending:
                return
            delay = self._last_read + pacing.interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)  # coalesce: announcements meanwhile make one read
            self._changed.clear()
            self._last_read = time.monotonic()
            try:
                await self._refresh()
            except TRANSIENT_ERRORS as exc:
                log.warning("%s unavailable: %s", self.key, exc)
            except asyncpg.PostgresError:
                log.exception("read of %s failed", self.key)

    async def _refresh(self) -> None:
        meters = self._fanout.meters
        meters.reads.inc()
        fresh = await self._fanout.reader(self.key, self.latest)
        if fresh is None:
            return  # nothing new (or an older view): clients keep what they have
        version, marker, frame = fresh
        seq = self.latest.seq + 1 if self.latest else 1
        self.latest = Snapshot(seq, version, marker, frame)
        meters.sent.inc()
        await self.broadcast(frame, version)


class Fanout(Generic[T]):
    """A gateway's topics of one kind, and the one pub/sub connection that drives them."""

    def __init__(
        self,
        redis: RedisClient,
        reader: Reader[T],
        channel_of: Callable[[T], str],
        pacing: Pacing,
        meters: Meters,
        heartbeat: float,
        *,
        jobs: aiojobs.Scheduler,
        name: str,
    ) -> None:
        self.redis = redis
        self.jobs = jobs  # the app's scheduler: every loop of ours runs there
        self.name = name
        self.heartbeat = heartbeat
        self.reader = reader
        self.pacing = pacing
        self.meters = meters
        self.closing = False
        self._channel_of = channel_of
        self._topics: dict[T, Topic[T]] = {}
        self._by_channel: dict[str, T] = {}
        self._pubsub: PubSub | ClusterPubSub = redis.pubsub(ignore_subscribe_messages=True)
        self._listener: aiojobs.Job[None] | None = None

    def topic(self, key: T) -> Topic[T] | None:
        return self._topics.get(key)

    def changed(self, key: T) -> None:
        """This gateway made the change: its own clients need not wait for the announcement."""
        topic = self._topics.get(key)
        if topic is not None:
            topic.changed()

    @contextlib.asynccontextmanager
    async def watch(self, key: T) -> AsyncIterator[Topic[T]]:
        """The topic for as long as one client reads it (started on first use)."""
        topic = self._topics.get(key)
        if topic is None:
            topic = self._topics[key] = Topic(key, self)
            await topic.start()
            channel = self._channel_of(key)
            self._by_channel[channel] = key
            await self._subscribe(channel)
        if topic.stop_handle is not None:
            topic.stop_handle.cancel()
            topic.stop_handle = None
        self.meters.clients.inc()
        try:
            yield topic
        finally:
            self.meters.clients.dec()
            if topic.clients == 0 and not self.closing:
                # Kept a while: a client that reconnects finds its snapshot still warm.
                topic.stop_handle = asyncio.get_running_loop().call_later(
                    self.pacing.linger, self._retire, key
                )

    def close_streams(self) -> None:
        """Shutting down: every open stream ends now instead of holding the exit."""
        self.closing = True
        for topic in self._topics.values():
            for sink in topic.sinks:
                sink.end()

    async def aclose(self) -> None:
        self.close_streams()
        if self._listener is not None and not self._listener.closed:
            # It sees `closing` within a quarter second; else aiojobs cancels it.
            with contextlib.suppress(TimeoutError):
                await self._listener.wait(timeout=3)
        for topic in list(self._topics.values()):
            await topic.stop()
        self._topics.clear()
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()

    def _retire(self, key: T) -> None:
        topic = self._topics.get(key)
        if topic is None or topic.clients:
            return
        del self._topics[key]
        self._by_channel.pop(self._channel_of(key), None)
        topic.end()  # its reader then unsubscribes (retired)

    async def retired(self, topic: Topic[T]) -> None:
        """A topic's reader ended: unsubscribe, unless a new client brought the topic back."""
        if self.closing or topic.key in self._topics:
            return
        await self._unsubscribe(self._channel_of(topic.key))

    async def _subscribe(self, channel: str) -> None:
        try:
            await self._pubsub.ssubscribe(channel)
        except (RedisError, OSError) as exc:
            # Not fatal: the topic still re-reads on its refresh timer, and the listener
            # subscribes everything again when Redis is back.
            log.warning("could not subscribe to %s: %s", channel, exc)
        if self._listener is None or self._listener.closed:
            self._listener = await spawn_supervised(
                self.jobs, "fanout-listener", f"{self.name} listener", self._listen
            )

    async def _unsubscribe(self, channel: str) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.sunsubscribe(channel)

    async def _listen(self) -> None:
        """Announcements -> topics marked changed; on a broken link, subscribe all again."""
        backoff = 0.2
        while not self.closing:
            if not self._by_channel:
                await asyncio.sleep(0.25)
                continue
            try:
                message = await self._next_message()
                backoff = 0.2
            except (RedisError, OSError, RuntimeError) as exc:  # RuntimeError: not connected
                log.warning("subscription lost, resubscribing: %s", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                await self._resubscribe()
                continue
            if message is None or message.get("type") not in (b"smessage", "smessage"):
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else channel
            key = self._by_channel.get(channel)
            if key is not None:
                self.changed(key)

    async def _next_message(self) -> dict[str, Any] | None:
        """The next announcement, waiting a quarter of a second at most (per node)."""
        if isinstance(self._pubsub, ClusterPubSub):
            found: Any = await self._pubsub.get_sharded_message(
                ignore_subscribe_messages=True, timeout=0.25
            )
        else:
            found = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.25)
        return dict(found) if found else None

    async def _resubscribe(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            if self._by_channel:
                await self._pubsub.ssubscribe(*self._by_channel)
        except (RedisError, OSError) as exc:
            log.warning("resubscribe failed: %s", exc)
        for topic in self._topics.values():
            topic.changed()  # announcements may have been missed while the link was down


def sse_frame(event: str, version: int, text: str) -> bytes:
    """One Server-Sent Event; `text` is JSON, which holds no raw newline."""
    return f"id: {version}\nevent: {event}\ndata: {text}\n\n".encode()


async def serve(request: web.Request, fanout: Fanout[T], key: T) -> web.StreamResponse:
    """Stream a topic to one client: its view now, then again after every change.

    A client that reconnects with the Last-Event-ID it saw gets nothing until the view moves
    past it; one that missed changes gets the current snapshot at once.
    """
    try:
        last_seen = int(request.headers.get("Last-Event-ID", "-1"))
    except ValueError:
        last_seen = -1
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache, no-store",
            "X-Accel-Buffering": "no",  # nginx: pass each event through at once
        }
    )
    await response.prepare(request)
    await response.write(b"retry: 3000\n\n")
    if fanout.closing:
        return response
    async with fanout.watch(key) as topic:
        ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await topic.attach(Sink(request, response, last_seen, ended, fanout.jobs))
    return response
