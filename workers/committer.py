"""The Postgres side of the worker: entries from every partition it reads, committed together.

Partition readers hand their entries in; a few flushers each take what has queued up (up to a
batch) and make it one Postgres transaction, then XACK, then announce the new totals. So a
quiet day with events spread over many partitions still commits in batches, and Postgres works
on one batch while the next is read and decoded. Ack only after commit: a crash between the two
redelivers entries that add nothing the second time (events are unique by (fair, id)).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from prometheus_client import Counter
from redis.exceptions import RedisError

from fairhub import keys
from fairhub.batching import Batcher
from fairhub.config import Settings
from fairhub.db import TRANSIENT_ERRORS
from fairhub.redis import RedisClient
from workers import group
from workers.store import Entry, Outcome, Row, commit, dead_letter, decode

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 5.0
EVENTS = Counter("fairhub_worker_events_total", "Events committed (or skipped) and acknowledged")
BATCHES = Counter("fairhub_worker_batches_total", "Postgres transactions of stream entries")
DEAD = Counter("fairhub_worker_dead_letters_total", "Entries given up after too many deliveries")


@dataclass(slots=True)
class Decoded:
    """Entries handed in, decoded: rows to insert, entries not stored, broken ones."""

    rows: list[Row] = field(default_factory=list)
    skipped: list[Entry] = field(default_factory=list)  # not stored (presence beats)
    undecodable: dict[Entry, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.rows) + len(self.skipped) + len(self.undecodable)

    @classmethod
    def of(cls, entries: list[Entry]) -> Decoded:
        decoded = cls()
        for entry in entries:
            try:
                row = decode(entry)
            except (ValueError, KeyError, TypeError) as exc:
                decoded.undecodable[entry] = f"undecodable entry: {type(exc).__name__}: {exc}"
                continue
            if row is None:
                decoded.skipped.append(entry)
            else:
                decoded.rows.append(row)
        return decoded

    @classmethod
    def merged(cls, parts: list[Decoded]) -> Decoded:
        if len(parts) == 1:
            return parts[0]
        merged = cls()
        for part in parts:
            merged.rows += part.rows
            merged.skipped += part.skipped
            merged.undecodable.update(part.undecodable)
        return merged


class Committer:
    """Group commit of stream entries into Postgres, with `worker_batches_in_flight` flushers."""

    def __init__(
        self, settings: Settings, db: asyncpg.Pool, redis: RedisClient, stop: asyncio.Event
    ) -> None:
        self.settings = settings
        self.db = db
        self.redis = redis
        self.stop = stop
        self.batches = 0
        self._handed: Batcher[Decoded, bool] = Batcher(
            self._handle_all,
            flushers=settings.worker_batches_in_flight,
            limit=settings.worker_batch_size,
            weight=lambda decoded: decoded.size,
        )

    async def close(self) -> None:
        """After the readers stopped (they wait for what they handed in): nothing is left."""
        await self._handed.aclose(RuntimeError("the worker is stopping"))

    async def submit(self, entries: list[Entry]) -> bool:
        """Commit, ack and announce these entries; False if some stay pending (to read again).

        Decoded at once, before waiting for a flusher: a batch read ahead is ready for
        Postgres the moment a transaction ends, so Postgres does not wait for the worker.
        """
        return await self._handed.submit(Decoded.of(entries))

    async def _handle_all(self, handed: list[Decoded]) -> list[bool]:
        settled = await self._handle(Decoded.merged(handed))
        return [settled] * len(handed)

    async def _handle(self, decoded: Decoded) -> bool:
        rows, skipped, undecodable = decoded.rows, decoded.skipped, decoded.undecodable
        outcome = await self._commit_until_done(rows)
        if outcome is None:
            return False  # shutting down with Postgres away: left pending, taken over later
        if self.settings.worker_ack_delay_seconds:
            log.warning("committed batch %d", self.batches + 1)
            await asyncio.sleep(self.settings.worker_ack_delay_seconds)
        failed = {**undecodable, **outcome.failed}
        # A stream entry is acknowledged once every event in it is settled: one that failed
        # keeps its entry pending, and the events committed beside it add nothing when the
        # entry comes again.
        held = {entry.entry_id for entry in failed}
        await group.ack(self.redis, [e for e in outcome.done + skipped if e.entry_id not in held])
        self.batches += 1
        BATCHES.inc()
        EVENTS.inc(len(outcome.done) + len(skipped))
        settled = not failed or await self._settle_failures(failed)
        await self._publish(outcome)
        return settled

    async def _commit_until_done(self, rows: list[Row]) -> Outcome | None:
        """Commit in transactions of at most `worker_batch_size` events (a stream entry may
        hold a whole flush of the gateway's, so a read can bring more); None if given up."""
        outcome, size = Outcome(), self.settings.worker_batch_size
        for start in range(0, len(rows), size):
            if not await self._commit_retrying(rows[start : start + size], outcome):
                return None
        return outcome

    async def _commit_retrying(self, rows: list[Row], outcome: Outcome) -> bool:
        """Postgres away: back off and retry the same batch; never drop it, never ack it early.

        Retrying is safe even when part of the batch committed before the failure: those
        events conflict on (fair, id) the second time and add nothing.
        """
        backoff = 0.1
        deadline: float | None = None
        while True:
            attempt = Outcome()
            try:
                await commit(self.db, rows, attempt)
                outcome.done += attempt.done
                outcome.failed.update(attempt.failed)
                for fair, totals in attempt.totals.items():
                    outcome.totals[fair].update(totals)
                return True
            except TRANSIENT_ERRORS as exc:
                if self.stop.is_set():
                    deadline = deadline or time.monotonic() + self.settings.worker_grace_seconds
                    if time.monotonic() > deadline:
                        log.warning("giving up a batch at shutdown; it stays pending")
                        return False
                log.warning("postgres unavailable, retrying batch in %.1fs: %s", backoff, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _settle_failures(self, failed: dict[Entry, str]) -> bool:
        """Dead-letter entries delivered too often; the rest stay pending for another try."""
        hopeless, left = [], set[str]()  # the stream entries with an event to try again
        for entry, error in failed.items():
            info: Any = await self.redis.xpending_range(
                entry.stream, keys.GROUP, entry.entry_id, entry.entry_id, 1
            )
            limit = self.settings.worker_max_attempts
            attempts = int(info[0]["times_delivered"]) if info else limit
            if attempts >= limit:
                await dead_letter(self.db, entry, error, attempts)
                hopeless.append(entry)
                DEAD.inc()
                log.error(
                    "dead-lettered %s %s after %d tries: %s",
                    entry.stream,
                    entry.ref,
                    attempts,
                    error,
                )
            else:
                log.warning(
                    "entry %s %s failed (try %d): %s", entry.stream, entry.ref, attempts, error
                )
                left.add(entry.entry_id)
        await group.ack(self.redis, [e for e in hopeless if e.entry_id not in left])
        return not left

    async def _publish(self, outcome: Outcome) -> None:
        """Announce each touched fair's new totals; dashboards re-read them from Postgres."""
        if not outcome.totals:
            return
        as_of = datetime.now(UTC).isoformat()
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for fair, totals in outcome.totals.items():
                    message = {"fair": fair, "as_of": as_of, "totals": totals}
                    pipe.spublish(keys.totals_channel(fair), json.dumps(message))
                await pipe.execute()
        except RedisError as exc:
            log.warning("could not publish totals: %s", exc)
