"""The worker: the partitions it holds leases on, one reader each, one committer for all.

Each owned partition has one blocking XREADGROUP in flight; what it reads goes to the committer
(committer.py), at most two hand-ins per partition at a time, so a slow Postgres slows the
readers instead of filling memory. Taking a partition over (from a worker that died, or at
start) first claims everything pending there at once: nothing waits for an idle timeout.
Entries that a live consumer keeps pending too long are claimed too; an entry that keeps
failing goes to the dead-letter table after N deliveries.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from typing import Any

import asyncpg
from prometheus_client import Counter, Gauge
from redis.exceptions import RedisError

from fairhub import keys
from fairhub.config import Settings
from fairhub.db import TRANSIENT_ERRORS
from fairhub.layout import ensure_group
from fairhub.live import Presence
from fairhub.redis import RedisClient, Shards
from workers import group
from workers.committer import Committer
from workers.leases import Leases
from workers.sampler import sample_until
from workers.store import Entry

log = logging.getLogger(__name__)

REGISTRY_REFRESH_SECONDS = 30.0
MAX_BACKOFF_SECONDS = 5.0
IN_FLIGHT_PER_PARTITION = 2
OWNED = Gauge("fairhub_worker_partitions_owned", "Partitions this worker holds leases on")
TAKEOVERS = Counter("fairhub_worker_takeovers_total", "Pending entries claimed on taking over")
LENGTH = Gauge("fairhub_stream_length", "Entries kept in a partition's stream", ["partition"])
PENDING = Gauge("fairhub_stream_pending", "Entries read, not acknowledged", ["partition"])
LAG = Gauge("fairhub_consumer_lag_seconds", "Age of the oldest uncounted entry", ["partition"])


def consumer_name() -> str:
    """Unique per process, so a restarted worker never mistakes old entries for its own."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Aggregator:
    """One member of the consumer group."""

    def __init__(
        self,
        settings: Settings,
        db: asyncpg.Pool,
        redis: RedisClient,
        name: str | None = None,
        shards: Shards | None = None,
    ):
        self.settings = settings
        self.db = db
        self.redis = redis
        self.shards = shards or Shards(redis, settings)
        self.name = name or consumer_name()
        self.leases = Leases(self.shards, self.name, settings.worker_lease_seconds)
        self._readers: dict[int, tuple[asyncio.Event, asyncio.Task[None]]] = {}
        self._registry_read_at = 0.0

    @property
    def partitions(self) -> set[int]:
        return set(self._readers)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; the batches in hand are finished first."""
        log.info("worker %s consuming group %s", self.name, keys.GROUP)
        committer = Committer(self.settings, self.db, self.redis, stop)
        done = asyncio.Event()
        presence = Presence(self.shards, self.settings.live_presence_seconds)
        sampler = asyncio.create_task(sample_until(done, self.settings, self.db, presence))
        backoff = 0.1
        try:
            while not stop.is_set():
                try:
                    await self._rebalance(committer, stop)
                    await self._register_known_fairs()
                    backoff = 0.1
                    # Often enough that a worker joining gets its share within seconds;
                    # leases are renewed well before they lapse.
                    wait = min(1.0, self.settings.worker_lease_seconds / 3)
                except (RedisError, OSError) as exc:
                    log.warning("redis unavailable, retrying in %.1fs: %s", backoff, exc)
                    wait, backoff = backoff, min(backoff * 2, MAX_BACKOFF_SECONDS)
                await _sleep_unless(stop, wait)
        finally:
            await self._stop_readers(set(self._readers))
            await committer.close()
            done.set()
            await asyncio.gather(sampler, return_exceptions=True)
            try:
                await self.leases.leave()  # the others take over now, not after the lease
            except (RedisError, OSError) as exc:
                log.warning("leases not handed back (they lapse): %s", exc)
            await self.shards.aclose()
            OWNED.set(0)

    async def _rebalance(self, committer: Committer, stop: asyncio.Event) -> None:
        change = await self.leases.round()
        await self._stop_readers(change.lost)
        if change.surplus:
            await self._stop_readers(change.surplus)  # their batches in hand finish first
            await self.leases.release(change.surplus)
        for part in sorted(change.gained):
            quit_reading = asyncio.Event()
            reader = asyncio.create_task(
                self._read_partition(part, committer, stop, quit_reading), name=f"reader-{part}"
            )
            self._readers[part] = (quit_reading, reader)
        if change.gained or change.lost or change.surplus:
            log.info(
                "worker %s reads %d partitions (%d workers)",
                self.name,
                len(self._readers),
                self.leases.workers,
            )
        OWNED.set(len(self._readers))

    async def _stop_readers(self, parts: set[int]) -> None:
        stopping = [self._readers.pop(p) for p in parts if p in self._readers]
        for quit_reading, _ in stopping:
            quit_reading.set()
        await asyncio.gather(*(task for _, task in stopping), return_exceptions=True)

    async def _read_partition(
        self, part: int, committer: Committer, stop: asyncio.Event, quit_reading: asyncio.Event
    ) -> None:
        """One partition: take over what is pending there, then read what comes, until told."""
        reader = PartitionReader(self, part, committer)
        try:
            await reader.run(lambda: stop.is_set() or quit_reading.is_set())
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("reader of partition %d failed", part)

    async def _register_known_fairs(self) -> None:
        """Fairs Postgres knows but Redis forgot (a replaced Redis): admit their events again."""
        if time.monotonic() - self._registry_read_at < REGISTRY_REFRESH_SECONDS:
            return
        try:
            rows = await self.db.fetch("SELECT id::text AS id FROM fairs")
        except TRANSIENT_ERRORS:
            return  # Postgres away: try again next time
        self._registry_read_at = time.monotonic()
        async with self.redis.pipeline(transaction=False) as pipe:
            for row in rows:
                pipe.sadd(keys.fairs(row["id"]), row["id"])
            added = await pipe.execute()
        if any(added):
            log.warning("re-registered %d fairs missing from Redis", sum(added))


class PartitionReader:
    """Reads one partition's stream for its worker while the worker holds the lease."""

    def __init__(self, worker: Aggregator, part: int, committer: Committer) -> None:
        self.worker = worker
        self.settings = worker.settings
        self.redis = worker.redis
        self.stream = keys.partition_stream(part)
        self.part = str(part)
        self.committer = committer
        self.in_flight: set[asyncio.Task[bool]] = set()
        self.retry_own = True  # read our own pending entries first (failed earlier)
        self.claimed_at = time.monotonic()
        self.resume_at = 0.0  # after an unexpected failure, a pause before trying again

    async def run(self, stopping: Any) -> None:
        backoff = 0.1
        try:
            await ensure_group(self.redis, self.stream)
            await self._take_over(stopping)
            while not stopping():
                if self.resume_at > time.monotonic():
                    await asyncio.sleep(0.1)
                    continue
                try:
                    entries = await self._next_entries()
                    if entries:
                        await self._hand_in(entries)
                    backoff = 0.1
                except (RedisError, OSError) as exc:
                    log.warning("partition %s: redis unavailable, retrying: %s", self.part, exc)
                    self.retry_own = True
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        finally:
            await asyncio.gather(*self.in_flight, return_exceptions=True)

    async def _take_over(self, stopping: Any) -> None:
        """Claim everything pending in the partition now (a dead owner's, or our own)."""
        cursor, taken = "0-0", 0
        while not stopping():
            entries, cursor = await group.claim(
                self.redis,
                self.worker.name,
                self.stream,
                0,
                self.settings.worker_batch_size,
                cursor,
            )
            taken += len(entries)
            if entries:
                await self._hand_in(entries)
            if cursor == "0-0":
                break
        if taken:
            TAKEOVERS.inc(taken)
            log.info("partition %s: took over %d pending entries", self.part, taken)
        await asyncio.gather(*self.in_flight, return_exceptions=True)

    async def _hand_in(self, entries: list[Entry]) -> None:
        """To the committer; with two hand-ins of this partition out, wait for one to finish."""
        task = asyncio.create_task(self.committer.submit(entries))
        self.in_flight.add(task)
        task.add_done_callback(self._finished)
        while len(self.in_flight) >= IN_FLIGHT_PER_PARTITION:
            await asyncio.wait(self.in_flight, return_when=asyncio.FIRST_COMPLETED)

    def _finished(self, task: asyncio.Task[bool]) -> None:
        self.in_flight.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None or not task.result():
            self.retry_own = True  # what failed is still pending: read it again
            if error is not None and not isinstance(error, RedisError | OSError):
                log.error("batch failed, its entries stay pending", exc_info=error)
                self.resume_at = time.monotonic() + MAX_BACKOFF_SECONDS

    async def _next_entries(self) -> list[Entry]:
        settings, name = self.settings, self.worker.name
        if self.retry_own and not self.in_flight:
            self.retry_own = False
            own = await group.read(
                self.redis, name, self.stream, "0", settings.worker_batch_size, None
            )
            if own:
                return own
        now = time.monotonic()
        if now - self.claimed_at > settings.worker_claim_idle_ms / 2000:
            self.claimed_at = now
            stale, _ = await group.claim(
                self.redis, name, self.stream, settings.worker_claim_idle_ms,
                settings.worker_batch_size, "0-0",
            )  # fmt: skip
            if stale:
                return stale
            await self._housekeeping()
        found = await group.read(
            self.redis, name, self.stream, ">", settings.worker_batch_size, settings.worker_block_ms
        )
        if found is None:  # the group vanished (Redis lost its data): make it again
            await ensure_group(self.redis, self.stream)
            return []
        return found

    async def _housekeeping(self) -> None:
        """Trim what is counted, measure the backlog, forget consumers of dead workers."""
        backlog = await group.trim_and_measure(self.redis, self.stream)
        LENGTH.labels(self.part).set(backlog.length)
        PENDING.labels(self.part).set(backlog.pending)
        LAG.labels(self.part).set(backlog.lag_seconds)
        idle_ms = int(3 * self.settings.worker_lease_seconds * 1000)
        await group.forget_idle_consumers(self.redis, self.stream, self.worker.name, idle_ms)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
