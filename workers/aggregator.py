"""The consumer loop: XREADGROUP a batch, commit it to Postgres, then XACK, then publish.

Ack only after commit, so a crash between the two redelivers a batch that adds nothing the
second time (events are unique by (fair, id)). Entries of dead consumers are taken over with
XAUTOCLAIM; an entry that keeps failing goes to the dead-letter table after N deliveries.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import RedisError

from fairhub import keys
from fairhub.config import Settings
from fairhub.db import TRANSIENT_ERRORS
from fairhub.live import Presence
from workers import group
from workers.sampler import sample_until
from workers.store import Entry, Outcome, Row, commit, dead_letter, decode

log = logging.getLogger(__name__)

STREAMS_REFRESH_SECONDS = 1.0
REGISTRY_REFRESH_SECONDS = 30.0
MAX_BACKOFF_SECONDS = 5.0


def consumer_name() -> str:
    """Unique per process, so a restarted worker never mistakes old entries for its own."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Aggregator:
    """One member of the consumer group."""

    def __init__(self, settings: Settings, db: asyncpg.Pool, redis: Redis, name: str | None = None):
        self.settings = settings
        self.db = db
        self.redis = redis
        self.name = name or consumer_name()
        self.batches = 0
        self._streams: list[str] = []
        self._streams_read_at = 0.0
        self._claimed_at = 0.0
        self._registry_read_at = 0.0
        self._retry_own = True  # read our own pending entries first (failed earlier)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; the batches in hand are finished first."""
        log.info("worker %s consuming group %s", self.name, keys.GROUP)
        backoff = 0.1
        in_flight: set[asyncio.Task[None]] = set()
        presence = Presence(self.redis, self.settings.live_presence_seconds)
        done = asyncio.Event()
        sampler = asyncio.create_task(sample_until(done, self.settings, self.db, presence))
        try:
            while not stop.is_set():
                try:
                    # Postgres stays busy: the next batch is read and decoded while the last
                    # commits. Our own pending entries are re-read only when none is in hand.
                    limit = self.settings.worker_batches_in_flight
                    while in_flight and (len(in_flight) >= limit or self._retry_own):
                        await self._reap(in_flight, wait=True)
                    entries = await self._next_entries()
                    if entries:
                        in_flight.add(asyncio.create_task(self._handle(entries, stop)))
                    await self._reap(in_flight, wait=False)
                    backoff = 0.1
                except (RedisError, OSError) as exc:
                    log.warning("redis unavailable, retrying in %.1fs: %s", backoff, exc)
                    self._retry_own = True
                    await _sleep_unless(stop, backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        finally:
            done.set()
            await asyncio.gather(*in_flight, sampler, return_exceptions=True)

    async def _reap(self, in_flight: set[asyncio.Task[None]], wait: bool) -> None:
        """Collect finished batches. One that failed left its entries pending: read them again."""
        if wait:
            await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
        for task in [t for t in in_flight if t.done()]:
            in_flight.discard(task)
            error = None if task.cancelled() else task.exception()
            if error is None:
                continue
            self._retry_own = True
            if isinstance(error, RedisError | OSError):
                raise error  # Redis away: the loop backs off
            log.error("batch failed, its entries stay pending", exc_info=error)
            await asyncio.sleep(MAX_BACKOFF_SECONDS)

    async def _next_entries(self) -> list[Entry]:
        streams = await self._known_streams()
        if not streams:
            await asyncio.sleep(self.settings.worker_block_ms / 1000)
            return []
        if self._retry_own:
            self._retry_own = False
            entries = await self._read(streams, "0")
            if entries:
                return entries
        now = time.monotonic()
        if now - self._claimed_at > self.settings.worker_claim_idle_ms / 2000:
            self._claimed_at = now
            entries = await group.claim_stale(
                self.redis,
                self.name,
                streams,
                self.settings.worker_claim_idle_ms,
                self.settings.worker_batch_size,
            )
            if entries:
                return entries
            await group.trim_acknowledged(self.redis, streams)
        return await self._read(streams, ">", block=self.settings.worker_block_ms)

    async def _known_streams(self) -> list[str]:
        if time.monotonic() - self._streams_read_at < STREAMS_REFRESH_SECONDS:
            return self._streams
        members: set[bytes] = await self.redis.smembers(keys.FAIRS)  # type: ignore[assignment]
        fairs = {f.decode() for f in members}
        if time.monotonic() - self._registry_read_at > REGISTRY_REFRESH_SECONDS:
            fairs |= await self._register_known_fairs(fairs)
        streams = [keys.stream(f) for f in sorted(fairs)]
        for stream in set(streams) - set(self._streams):
            await group.ensure_group(self.redis, stream)
        self._streams, self._streams_read_at = streams, time.monotonic()
        return streams

    async def _register_known_fairs(self, in_redis: set[str]) -> set[str]:
        """Fairs Postgres knows but Redis forgot (a replaced Redis): read their streams too.

        Without this, events accepted for such a fair would wait in a stream no worker reads.
        """
        try:
            rows = await self.db.fetch("SELECT id::text AS id FROM fairs")
        except TRANSIENT_ERRORS:
            return set()  # Postgres away: try again next time
        self._registry_read_at = time.monotonic()
        missing = {r["id"] for r in rows} - in_redis
        if missing:
            log.warning("re-registering %d fairs missing from Redis", len(missing))
            await self.redis.sadd(keys.FAIRS, *missing)
        return missing

    async def _read(self, streams: list[str], start: str, block: int | None = None) -> list[Entry]:
        entries = await group.read(
            self.redis, self.name, streams, start, self.settings.worker_batch_size, block
        )
        if entries is None:
            self._streams_read_at = 0.0  # a stream vanished (Redis lost data): recreate groups
            return []
        return entries

    async def _handle(self, entries: list[Entry], stop: asyncio.Event) -> None:
        skipped: list[Entry] = []  # events that are not stored (presence beats)
        undecodable: dict[Entry, str] = {}
        rows = []
        for entry in entries:
            try:
                row = decode(entry)
            except (ValueError, KeyError, TypeError) as exc:
                undecodable[entry] = f"undecodable entry: {type(exc).__name__}: {exc}"
                continue
            if row is None:
                skipped.append(entry)
            else:
                rows.append(row)
        outcome = await self._commit_until_done(rows, stop)
        if outcome is None:
            return  # shutting down with Postgres away: left pending, another worker takes it
        if self.settings.worker_ack_delay_seconds:
            log.warning("worker %s committed batch %d", self.name, self.batches + 1)
            await asyncio.sleep(self.settings.worker_ack_delay_seconds)
        await group.ack(self.redis, outcome.done + skipped)
        failed = {**undecodable, **outcome.failed}
        if failed:
            await self._settle_failures(failed)
        self.batches += 1
        await self._publish(outcome)

    async def _commit_until_done(self, rows: list[Row], stop: asyncio.Event) -> Outcome | None:
        """Postgres away: back off and retry the same batch; never drop it, never ack it early.

        Retrying is safe even when part of the batch committed before the failure: those
        events conflict on (fair, id) the second time and add nothing.
        """
        backoff = 0.1
        deadline: float | None = None
        while True:
            outcome = Outcome()
            try:
                await commit(self.db, rows, outcome)
                return outcome
            except TRANSIENT_ERRORS as exc:
                if stop.is_set():
                    deadline = deadline or time.monotonic() + self.settings.worker_grace_seconds
                    if time.monotonic() > deadline:
                        log.warning("giving up a batch at shutdown; it stays pending")
                        return None
                log.warning("postgres unavailable, retrying batch in %.1fs: %s", backoff, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _settle_failures(self, failed: dict[Entry, str]) -> None:
        """Dead-letter entries delivered too often; leave the rest pending for another try."""
        hopeless = []
        for entry, error in failed.items():
            info: Any = await self.redis.xpending_range(
                entry.stream, keys.GROUP, entry.entry_id, entry.entry_id, 1
            )
            attempts = (
                int(info[0]["times_delivered"]) if info else self.settings.worker_max_attempts
            )
            if attempts >= self.settings.worker_max_attempts:
                await dead_letter(self.db, entry, error, attempts)
                hopeless.append(entry)
                log.error(
                    "dead-lettered %s %s after %d tries: %s",
                    entry.stream,
                    entry.entry_id,
                    attempts,
                    error,
                )
            else:
                log.warning(
                    "entry %s %s failed (try %d): %s", entry.stream, entry.entry_id, attempts, error
                )
                self._retry_own = True
        await group.ack(self.redis, hopeless)

    async def _publish(self, outcome: Outcome) -> None:
        """Announce each touched fair's new totals; the dashboard streams them."""
        if not outcome.totals:
            return
        as_of = datetime.now(UTC).isoformat()
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for fair, totals in outcome.totals.items():
                    message = {"fair": fair, "as_of": as_of, "totals": totals}
                    pipe.publish(keys.totals_channel(fair), json.dumps(message))
                await pipe.execute()
        except RedisError as exc:
            log.warning("could not publish totals: %s", exc)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
