"""One partition's reader: takes over what is pending there, then reads what comes.

While its worker holds the partition's lease, the reader keeps one blocking XREADGROUP in
flight and hands what it reads to the committer, at most one hand-in more than the committer
has flushers, so a slow Postgres slows the reader instead of filling memory. Recovery never
waits for an idle timeout: taking the partition over claims everything pending at once, and
every few seconds the reader claims what dead workers' consumers still hold (a worker is dead
when its heartbeat stops), page after page as fast as the committer takes them, and removes
those consumers once they hold nothing. It also trims what is counted and publishes the
partition's backlog for /readyz.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge
from redis.exceptions import RedisError

from fairhub import keys
from fairhub.layout import ensure_group
from workers import group
from workers.committer import Committer
from workers.store import Entry

if TYPE_CHECKING:
    from workers.aggregator import Aggregator

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 5.0
# Trim, measure the backlog and look for dead consumers this often: a dead worker's entries
# wait at most this long (plus its heartbeat's silence) once the partition is ours.
HOUSEKEEPING_SECONDS = 2.0
TAKEOVERS = Counter("fairhub_worker_takeovers_total", "Pending entries claimed on taking over")
FORGOTTEN = Counter("fairhub_worker_consumers_removed_total", "Dead workers' consumers removed")
LENGTH = Gauge("fairhub_stream_length", "Entries kept in a partition's stream", ["partition"])
PENDING = Gauge("fairhub_stream_pending", "Entries read, not acknowledged", ["partition"])
LAG = Gauge("fairhub_consumer_lag_seconds", "Age of the oldest uncounted entry", ["partition"])


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
        self.taken_over = False  # everything pending when the partition became ours: claimed
        self.retry_own = True  # read our own pending entries first (failed earlier)
        self.claimed_at = time.monotonic()
        self.claim_cursor = "0-0"  # where the walk over stale entries goes on ("0-0": start)
        self.kept_at = 0.0  # last housekeeping
        self.resume_at = 0.0  # after an unexpected failure, a pause before trying again
        # Events per stream entry in the last batch (an entry holds one, or a whole flush of
        # the gateway's): reads ask for as many entries as make about one batch of events.
        # Until a batch says otherwise, entries are taken to hold a 100-event request each.
        self.per_entry = 100.0
        self.drained = False  # the last read of new entries found fewer than it asked for

    async def run(self, stopping: Callable[[], bool]) -> None:
        backoff = 0.1
        try:
            while not stopping():
                if self.resume_at > time.monotonic():
                    await asyncio.sleep(0.1)
                    continue
                try:
                    if not self.taken_over:
                        await ensure_group(self.redis, self.stream)
                        await self._take_over(stopping)
                        self.taken_over = True
                    entries = await self._next_entries()
                    if entries:
                        await self._hand_in(entries)
                        if self.drained:
                            await asyncio.sleep(self.settings.worker_linger_ms / 1000)
                    backoff = 0.1
                except Exception as exc:
                    if isinstance(exc, RedisError | OSError):
                        log.warning("partition %s: redis unavailable, retrying: %s", self.part, exc)
                    else:  # e.g. a cluster client's bug in a failover: never a silent stop
                        log.exception("partition %s: reading failed, retrying", self.part)
                    self.retry_own = True
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        finally:
            await asyncio.gather(*self.in_flight, return_exceptions=True)
            try:  # what is left for the next owner, not what was there a moment ago
                await self._measure()
            except (RedisError, OSError):
                pass

    async def _take_over(self, stopping: Callable[[], bool]) -> None:
        """Claim everything pending in the partition now (a dead owner's, or our own)."""
        cursor, taken = "0-0", 0
        while not stopping():
            entries, cursor = await group.claim(
                self.redis,
                self.worker.name,
                self.stream,
                0,
                self._count(),
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

    def _count(self) -> int:
        """Stream entries to ask for: about `worker_batch_size` events' worth."""
        size = self.settings.worker_batch_size
        return max(1, min(size, round(size / self.per_entry)))

    async def _hand_in(self, entries: list[Entry]) -> None:
        """To the committer; with enough hand-ins of this partition out, wait for one to end."""
        self.per_entry = len(entries) / max(1, sum(1 for e in entries if e.part <= 0))
        task = asyncio.create_task(self.committer.submit(entries))
        self.in_flight.add(task)
        task.add_done_callback(self._finished)
        # One batch more than the committer has flushers: read and decoded ahead, it goes
        # to Postgres the moment a transaction ends (one hot partition keeps them all busy).
        while len(self.in_flight) > self.settings.worker_batches_in_flight:
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
        settings, name, count = self.settings, self.worker.name, self._count()
        self.drained = False
        if self.retry_own and not self.in_flight:
            self.retry_own = False
            own = await group.read(self.redis, name, self.stream, "0", count, None)
            if own:
                return own
        now = time.monotonic()
        if now - self.kept_at > HOUSEKEEPING_SECONDS:
            self.kept_at = now
            from_dead = await self._housekeeping()
            if from_dead:
                self.kept_at = 0.0  # more may be left: the next page at once
                return from_dead
        # Entries a live consumer kept too long (a stuck worker): one page after the other
        # until the pending list is walked, then again after a while.
        due = now - self.claimed_at > settings.worker_claim_idle_ms / 2000
        if self.claim_cursor != "0-0" or due:
            self.claimed_at = now
            stale, self.claim_cursor = await group.claim(
                self.redis, name, self.stream, settings.worker_claim_idle_ms,
                count, self.claim_cursor,
            )  # fmt: skip
            if stale:
                return stale
        found = await group.read(
            self.redis, name, self.stream, ">", count, settings.worker_block_ms
        )
        if found is None:  # the group vanished (Redis lost its data): make it again
            await ensure_group(self.redis, self.stream)
            return []
        self.drained = sum(1 for e in found if e.part <= 0) < count
        return found

    async def _housekeeping(self) -> list[Entry]:
        """Trim and measure; a page of a dead worker's entries to count, or forget it."""
        await self._measure()
        alive = self.worker.leases.alive
        for consumer, held in (await group.consumers(self.redis, self.stream)).items():
            if consumer in alive:
                continue
            if held:
                entries = await group.claim_from(
                    self.redis,
                    self.worker.name,
                    self.stream,
                    consumer,
                    self._count(),
                )
                if entries:
                    TAKEOVERS.inc(len(entries))
                    log.info(
                        "partition %s: claimed %d entries of dead consumer %s",
                        self.part,
                        len(entries),
                        consumer,
                    )
                    return entries
            elif await group.forget(self.redis, self.stream, consumer):
                FORGOTTEN.inc()
                log.info("partition %s: removed dead consumer %s", self.part, consumer)
        return []

    async def _measure(self) -> None:
        """Trim what is counted; publish the backlog (gauges, and for /readyz in Redis)."""
        backlog = await group.trim_and_measure(self.redis, self.stream)
        LENGTH.labels(self.part).set(backlog.length)
        PENDING.labels(self.part).set(backlog.pending)
        LAG.labels(self.part).set(backlog.lag_seconds)
        measured = int(time.time() * 1000)
        await self.redis.hset(keys.BACKLOG, self.part, f"{measured} {backlog.oldest_ms}")
