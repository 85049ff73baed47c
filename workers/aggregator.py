"""The worker: the partitions it holds leases on, one reader each, one committer for all.

Each owned partition has one reader (reader.py) with a blocking XREADGROUP in flight; what it
reads goes to the committer (committer.py). Taking a partition over (from a worker that died, or
at start) first claims everything pending there at once: nothing waits for an idle timeout, and
a worker is known dead within seconds of its last heartbeat (leases.py). An entry that keeps
failing goes to the dead-letter table after N deliveries.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time

import asyncpg
from prometheus_client import Gauge
from redis.exceptions import RedisError

from fairhub import keys
from fairhub.config import Settings
from fairhub.db import TRANSIENT_ERRORS
from fairhub.live import Presence
from fairhub.redis import RedisClient, Shards
from workers.committer import Committer
from workers.leases import Leases
from workers.reader import PartitionReader
from workers.sampler import sample_until

log = logging.getLogger(__name__)

REGISTRY_REFRESH_SECONDS = 30.0
MAX_BACKOFF_SECONDS = 5.0
OWNED = Gauge("fairhub_worker_partitions_owned", "Partitions this worker holds leases on")


def consumer_name() -> str:
    """Unique per process: a restarted worker takes its predecessor's entries over as a dead
    worker's (at once, by its silent heartbeat), never mistakes them for its own."""
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
        self.leases = Leases(
            self.shards, self.name, settings.worker_lease_seconds, settings.worker_dead_seconds
        )
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
                    # The heartbeat too: the others take us for dead after a silence.
                    wait = min(
                        1.0,
                        self.settings.worker_lease_seconds / 3,
                        self.settings.worker_dead_seconds / 3,
                    )
                except (RedisError, OSError) as exc:
                    log.warning("redis unavailable, retrying in %.1fs: %s", backoff, exc)
                    wait, backoff = backoff, min(backoff * 2, MAX_BACKOFF_SECONDS)
                except Exception:  # e.g. a client's bug in a failover: logged, never fatal
                    log.exception("rebalancing failed, retrying in %.1fs", backoff)
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
        # A reader that failed unexpectedly is started again: a partition we hold is never
        # left unread until our lease lapses.
        failed = {p for p, (_, task) in self._readers.items() if task.done()}
        for part in failed:
            del self._readers[part]
            log.warning("partition %d: starting its failed reader again", part)
        for part in sorted(change.gained | failed):
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


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
