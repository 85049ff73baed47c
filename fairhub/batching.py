"""Group commit for Redis round trips: concurrent callers' items go out in one pipeline.

While one flush is in flight, new items queue; when it returns, they all go out together.
Under load a flush carries hundreds of items for the cost of one round trip; when quiet, an
item goes out at once. The stream writer does the same for appends (with WAITAOF).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """`flush(items)` answers each item, in order; an error fails every item of its flush."""

    def __init__(self, flush: Callable[[list[T]], Awaitable[list[R]]]) -> None:
        self._flush = flush
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._run())
        return await done

    async def _run(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                answers = await self._flush([item for item, _ in batch])
            except Exception as exc:  # every waiting caller fails the same way (a 503)
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, done), answer in zip(batch, answers, strict=True):
                if not done.done():
                    done.set_result(answer)
