"""One client's open Server-Sent Events stream, as a fan-out topic writes to it (fanout.py).

Frames are written without waiting on the client: a slow one's frames queue for a catch-up
job of its own (on the app's aiojobs scheduler), and one that falls too far behind is dropped,
so a stalled phone never holds the frames of everyone else watching.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import aiojobs
from aiohttp import web

# A client that has fallen this many frames behind (its connection stalled) is dropped, so
# that one stalled phone never holds the others' frames.
MAX_PENDING = 8


@dataclass(eq=False)
class Sink:
    """One client's open stream, and what its handler waits on."""

    request: web.Request
    response: web.StreamResponse
    skip: int  # the version the client already has (Last-Event-ID), not to be sent again
    ended: asyncio.Future[None]
    jobs: aiojobs.Scheduler
    pending: list[bytes] = field(default_factory=list)  # frames waiting for a slow client
    catching_up: aiojobs.Job[None] | None = None

    async def send(self, frame: bytes) -> bool:
        """Write without waiting on a slow client; False when the client is gone."""
        transport = self.request.transport
        if transport is None or transport.is_closing():
            return False
        if self.catching_up is not None or self.request.protocol.writing_paused:
            # Its socket buffer is full: queue the frame for a catch-up job of its own, in order.
            if len(self.pending) >= MAX_PENDING:
                transport.close()
                return False
            self.pending.append(frame)
            if self.catching_up is None:
                self.catching_up = await self.jobs.spawn(self._catch_up(), name="sse-catch-up")
            return True
        try:
            await self.response.write(frame)
        except (ConnectionError, RuntimeError):
            return False
        return True

    async def _catch_up(self) -> None:
        try:
            while self.pending:
                await self.response.write(self.pending.pop(0))
        except (ConnectionError, RuntimeError):
            self.end()
        except BaseException:
            self.end()  # a crash (logged by the scheduler) or a shutdown: the stream is over
            raise
        finally:
            self.catching_up = None

    def end(self) -> None:
        if not self.ended.done():
            self.ended.set_result(None)
