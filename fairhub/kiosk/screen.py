"""What staff see: plain lines for pipes, logs and tests (fullscreen.py draws the terminal).

Plain lines, one per event, first word a keyword:
    ADMITTED 王安                     a scan's verdict (the same line again for a double tap)
    REENTRY #1a2b3c4d (provisional)   decided offline; the name if the kiosk knows it
    CHANGED <id> ADMITTED -> REENTRY 王安
                                      the server's answer replaced a provisional verdict or
                                      named the seeker (ADMITTED -> ADMITTED 王安)
    STATUS online queued=0 today=12   on every change, and every few seconds
    NOTE <text>                       anything else worth saying
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from fairhub.kiosk.queue import Scan

RECENT_ROWS = 8


@dataclass
class Status:
    """The kiosk's state, as the screen shows it."""

    mode: str  # gate | booth
    place: str
    online: bool
    problem: str | None
    queued: int
    today: dict[str, int]
    recent: list[Scan] = field(default_factory=list)

    @property
    def today_count(self) -> int:
        wanted = ("new_lead", "known_lead") if self.mode == "booth" else ("admitted", "reentry")
        return sum(self.today.get(v, 0) for v in wanted)


class Screen(Protocol):
    def start(self) -> None: ...
    def pending(self, scan: Scan) -> None: ...
    def show(self, scan: Scan) -> None: ...
    def changed(self, scan: Scan, before: str | None) -> None: ...
    def status(self, status: Status) -> None: ...
    def note(self, text: str) -> None: ...
    def stop(self) -> None: ...


def who(scan: Scan) -> str:
    """The seeker's name, or a short id when the kiosk has not learnt it yet."""
    if scan.name:
        return scan.name
    return f"#{scan.seeker_id[:8]}" if scan.seeker_id else ""


def line(scan: Scan) -> str:
    """`VERDICT name (provisional)`."""
    words = [(scan.verdict or "pending").upper(), who(scan)]
    if scan.provisional:
        words.append("(provisional)")
    return " ".join(w for w in words if w)


class PlainScreen:
    """One line per scan and per change, for pipes, logs and tests."""

    def __init__(self, every: float) -> None:
        self._every = every
        self._last: tuple[str, float] = ("", 0.0)

    def start(self) -> None:
        return None

    def pending(self, scan: Scan) -> None:
        return None

    def show(self, scan: Scan) -> None:
        print(line(scan), flush=True)

    def changed(self, scan: Scan, before: str | None) -> None:
        print(f"CHANGED {scan.id} {(before or '-').upper()} -> {line(scan)}", flush=True)

    def status(self, status: Status) -> None:
        text = (
            f"STATUS {'online' if status.online else 'offline'} queued={status.queued}"
            f" today={status.today_count}"
        )
        if not status.online and status.problem:
            text += f" ({status.problem})"
        said, at = self._last
        if text != said or time.monotonic() - at >= self._every:
            self._last = (text, time.monotonic())
            print(text, flush=True)

    def note(self, text: str) -> None:
        print(f"NOTE {text}", flush=True)

    def stop(self) -> None:
        return None
