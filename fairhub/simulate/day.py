"""The day's clock and its running order: every client action is a step at a moment of the day.

A step may wait for earlier steps (a retry for its original, a download for its résumé, a pin
change for everything before it); it never waits for a later one, so the day cannot deadlock.
Steps are released in order of their moment, at `speed` times real time (0: at once), and at
most `clients` of them talk to the server at a time (the Api's bound).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
from rich.progress import Progress, TaskID

from fairhub.simulate.client import ApiError

Action = Callable[[], Awaitable[None]]
HOURS = (9, 17)  # a municipal fair day, local time
MAX_ERRORS = 50  # past this many failed steps the server is down, not unlucky


@dataclass
class Clock:
    """Maps a moment of the day (0 = opening, 1 = closing) to a time and to a real instant."""

    opens: datetime
    closes: datetime
    speed: float
    started: float = 0.0

    @classmethod
    def for_today(cls, speed: float, now: datetime | None = None) -> Clock:
        """Today's fair hours in the local zone, moved earlier if they would end in the future.

        The API refuses events from the future, so the day ends no later than the playback:
        after 17:00 (or at a speed that ends after it) the day is 09:00-17:00; earlier, it is
        the eight hours that end when the last event is sent.
        """
        now = now or datetime.now().astimezone()
        span = timedelta(hours=HOURS[1] - HOURS[0])
        playback = span / speed if speed > 0 else timedelta(0)
        usual_close = now.replace(hour=HOURS[1], minute=0, second=0, microsecond=0)
        closes = min(usual_close, now + min(playback, span)).replace(second=0, microsecond=0)
        return cls(closes - span, closes, speed)

    @property
    def span(self) -> timedelta:
        return self.closes - self.opens

    def moment(self, at: float) -> datetime:
        """The time of day of a step, as a device's clock would stamp it."""
        return self.opens + self.span * min(max(at, 0.0), 1.0)

    def minute(self, at: float) -> str:
        """The UTC minute /stats files an event of this moment under (per_minute)."""
        return self.moment(at).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:00Z")

    def begin(self) -> None:
        self.started = time.monotonic()

    def due(self, at: float) -> float:
        """Seconds from the start of the playback until the step's moment."""
        if self.speed <= 0:
            return 0.0
        return at * self.span.total_seconds() / self.speed

    async def until(self, at: float) -> None:
        delay = self.started + self.due(at) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


@dataclass(eq=False)
class Step:
    at: float
    lane: str
    run: Action
    after: Sequence[Step]
    order: int
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Day:
    """The steps of a day, played in order of their moment."""

    def __init__(self, clock: Clock, progress: Progress) -> None:
        self.clock = clock
        self.progress = progress
        self.steps: list[Step] = []
        self.errors: list[str] = []
        self.failed = 0
        self._lanes: dict[str, TaskID] = {}

    def add(
        self,
        at: float,
        lane: str,
        run: Action,
        after: Sequence[Step] = (),
    ) -> Step:
        """A step at moment `at` of lane `lane`, once every step in `after` is done."""
        at = min(max(at, 0.0), 1.0)
        for earlier in after:
            if earlier.at > at:
                raise ValueError(f"a step at {at:.4f} cannot wait for one at {earlier.at:.4f}")
        step = Step(at, lane, run, tuple(after), len(self.steps))
        self.steps.append(step)
        return step

    def lane_sizes(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for step in self.steps:
            sizes[step.lane] = sizes.get(step.lane, 0) + 1
        return sizes

    async def play(self, window: int = 512) -> None:
        """Release every step at its moment; failures are counted, and the day goes on."""
        for lane, size in self.lane_sizes().items():
            self._lanes[lane] = self.progress.add_task(lane, total=size)
        clock_task = self.progress.add_task(self._clock_label(0.0), total=1000)
        order = sorted(self.steps, key=lambda s: (s.at, s.order))
        pending = asyncio.Semaphore(window)
        running: set[asyncio.Task[None]] = set()
        self.clock.begin()
        try:
            for step in order:
                await self.clock.until(step.at)
                await pending.acquire()
                task = asyncio.create_task(self._one(step, pending))
                running.add(task)
                task.add_done_callback(running.discard)
                self.progress.update(
                    clock_task,
                    completed=int(step.at * 1000),
                    description=self._clock_label(step.at),
                )
                if self.failed > MAX_ERRORS:
                    raise SimulationAborted(self.errors)
            while running:
                await asyncio.gather(*running)
            await self.clock.until(1.0)
            self.progress.update(clock_task, completed=1000, description=self._clock_label(1.0))
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    def _clock_label(self, at: float) -> str:
        start, now = self.clock.opens, self.clock.moment(at)
        return f"day {start:%H:%M} → {now:%H:%M}"

    async def _one(self, step: Step, pending: asyncio.Semaphore) -> None:
        try:
            for earlier in step.after:
                await earlier.done.wait()
            await step.run()
        except (ApiError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            self.failed += 1
            if len(self.errors) < 10:
                self.errors.append(f"{step.lane}: {exc}")
        finally:
            step.done.set()
            pending.release()
            self.progress.advance(self._lanes[step.lane])


class SimulationAborted(Exception):
    """Too many steps failed: the server is away; the figures would mean nothing."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("too many failed requests; first ones:\n  " + "\n  ".join(errors))
