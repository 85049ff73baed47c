"""Group commit: concurrent callers' items go out together, in one flush.

While flushes are in flight, new items queue; when a flusher is free, it takes what has queued
up (up to `limit`, counted by `weight`) and flushes it in one go. Under load a flush carries
hundreds of items for the cost of one round trip; when quiet, an item goes out at once. One
flusher gives strictly one flush at a time (the gate's seeker cards, presence); a few let the
server work on one flush while the next is sent (the stream writer's appends with their
WAITAOF, the worker's Postgres transactions).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


log = logging.getLogger(__name__)


def _one(_: object) -> int:
    return 1


def _fail(batch: list[tuple[T, asyncio.Future[R]]], error: BaseException) -> None:
    for _, done in batch:
        if not done.done():
            done.set_exception(error)


class Batcher(Generic[T, R]):
    """`flush(items)` answers each item, in order; an error fails every item of its flush."""

    def __init__(
        self,
        flush: Callable[[list[T]], Awaitable[list[R]]],
        *,
        flushers: int = 1,
        limit: int = 0,
        weight: Callable[[T], int] = _one,
    ) -> None:
        self._flush = flush
        self._flushers = flushers
        self._limit = limit  # 0: everything queued goes in the next flush
        self._weight = weight
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._queued = 0
        self._running: set[asyncio.Task[None]] = set()
        # A flusher was started and has not run yet: it will take everything queued by then,
        # so a burst of items queued in one go starts one flusher, not one each.
        self._starting = False
        self._closed: BaseException | None = None

    async def submit(self, item: T) -> R:
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, done))
        self._queued += self._weight(item)
        self._start_flusher()
        return await done

    def _start_flusher(self) -> None:
        # A flusher whose loop just ended is done before its done-callbacks run: counting it
        # as running would leave this item queued with nobody to flush it.
        self._running = {task for task in self._running if not task.done()}
        if not self._starting and len(self._running) < self._flushers:
            self._starting = True
            self._running.add(asyncio.create_task(self._run()))

    async def aclose(self, error: BaseException) -> None:
        """Stop flushing; whoever still waits (queued or in a flush cut short) gets `error`."""
        self._closed = error
        for task in self._running:
            task.cancel()
        for task in self._running:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for _, done in self._queue:
            if not done.done():
                done.set_exception(error)
        self._queue, self._queued = [], 0
        self._starting = False  # a flusher cancelled before it ran

    def _take(self) -> list[tuple[T, asyncio.Future[R]]]:
        """Whole items, up to about `limit` of weight (at least one item)."""
        if not self._limit or self._queued <= self._limit:
            batch, self._queue, self._queued = self._queue, [], 0
            return batch
        size = count = 0
        while count < len(self._queue) and (count == 0 or size < self._limit):
            size += self._weight(self._queue[count][0])
            count += 1
        batch, self._queue = self._queue[:count], self._queue[count:]
        self._queued -= size
        return batch

    async def _run(self) -> None:
        self._starting = False
        while self._queue:
            batch = self._take()
            if self._queue:  # more than a flush holds: the rest needs a flusher of its own
                self._start_flusher()
            try:
                answers = await self._flush([item for item, _ in batch])
            except asyncio.CancelledError:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(self._closed or RuntimeError("flush cancelled"))
                raise
            except Exception as exc:  # every waiting caller fails the same way (a 503)
                _fail(batch, exc)
                continue
            if len(answers) != len(batch):
                # A bug, not an outage: said loudly, and nobody is left waiting forever.
                log.error("flush answered %d of %d items", len(answers), len(batch))
                _fail(batch, RuntimeError(f"flush answered {len(answers)} of {len(batch)}"))
                continue
            for (_, done), answer in zip(batch, answers, strict=True):
                if not done.done():
                    done.set_result(answer)
