"""The full-screen display: the link's state, the verdict as a coloured block, the last scans.

The verdict fills the screen's width and most of its height in its colour (green in, red
refused), so the person at the gate reads it from a metre without reading the words. Texts come
in one language (words.py); notes, which scroll away, also go to the kiosk's log file.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from rich import box
from rich.align import Align
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from fairhub.kiosk.queue import Scan
from fairhub.kiosk.screen import RECENT_ROWS, Status, who
from fairhub.kiosk.words import COLOURS, Words

log = logging.getLogger("fairhub.kiosk")

_IDLE_AFTER_SECONDS = 10.0
_NOTES = 3
# Lines left for the verdict: the banner's two, the table's header and rule, the notes.
_AROUND_THE_VERDICT = 2 + 2 + RECENT_ROWS + _NOTES


def spaced(words: str) -> str:
    """Letters set apart, as on a sign: 请 进, A D M I T T E D (words three spaces apart)."""
    return "   ".join(" ".join(word) for word in words.split(" "))


class RichScreen:
    """A full-screen display for a kiosk on a terminal."""

    def __init__(self, zone: str, words: Words, console: Console | None = None) -> None:
        self._console = console or Console()
        self._zone = ZoneInfo(zone)
        self._words = words
        self._live = Live(console=self._console, screen=True, auto_refresh=False)
        self._current: Scan | None = None
        self._shown_at = 0.0
        self._waiting = False
        self._status: Status | None = None
        self._notes: list[str] = []

    def start(self) -> None:
        self._live.start()
        self._refresh()

    def stop(self) -> None:
        self._live.stop()

    def pending(self, scan: Scan) -> None:
        self._current, self._waiting, self._shown_at = scan, True, time.monotonic()
        self._refresh()

    def show(self, scan: Scan) -> None:
        self._current, self._waiting, self._shown_at = scan, False, time.monotonic()
        self._refresh()

    def changed(self, scan: Scan, before: str | None) -> None:
        if self._current is not None and self._current.id == scan.id:
            self._current = scan
        self._refresh()

    def status(self, status: Status) -> None:
        self._status = status
        self._refresh()

    def note(self, text: str) -> None:
        log.info("%s", text)
        self._notes = [*self._notes[1 - _NOTES :], text]
        self._refresh()

    def _refresh(self) -> None:
        self._live.update(self.render(), refresh=True)

    def render(self) -> RenderableType:
        """The whole screen as it stands."""
        parts: list[RenderableType] = [self._banner(), self._verdict()]
        if self._status is not None:
            parts.append(self._recent(self._status.recent))
        parts.extend(Text(n, style="dim", overflow="ellipsis", no_wrap=True) for n in self._notes)
        return Group(*parts)

    def _banner(self) -> RenderableType:
        s, w = self._status, self._words
        if s is None:
            return Text("…", style="dim")
        place = f"{w.booth if s.mode == 'booth' else w.gate} {s.place}"
        counted = w.leads_today if s.mode == "booth" else w.admitted_today
        figures = f"{w.today} {counted} {s.today_count} · {w.waiting} {s.queued}"
        if s.online:
            state, style = w.online, "bold black on green"
        elif s.problem and "token" in s.problem:
            state, style = w.token_refused, "bold white on red"
        else:
            state, style = w.offline.format(queued=s.queued), "bold white on red"
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(ratio=1)
        grid.add_column(justify="right")
        grid.add_row(state, place, style=style)
        grid.add_row(s.problem if not s.online else "", figures, style="dim" if s.online else style)
        return grid

    def _verdict(self) -> RenderableType:
        scan, w = self._current, self._words
        if scan is None or time.monotonic() - self._shown_at > _IDLE_AFTER_SECONDS:
            return self._block(Text(spaced(w.scan_a_badge), style="bold"), "grey23", "grey50")
        if self._waiting or scan.verdict is None:
            return self._block(Text(spaced(w.checking), style="bold"), "yellow", "yellow")
        colour = COLOURS.get(scan.verdict, "magenta")
        text = Text(justify="center")
        text.append(spaced(w.verdict_of(scan.verdict)) + "\n\n", style="bold")
        text.append(who(scan) or " ", style="bold")
        if scan.reason and scan.verdict not in ("admitted", "reentry", "new_lead", "known_lead"):
            text.append("\n\n" + w.reason_of(scan.reason))
        if scan.provisional:
            text.append("\n\n")
            text.append(f" {w.provisional} ", style="bold black on yellow")
        return self._block(text, colour, "yellow" if scan.provisional else colour)

    def _block(self, text: Text, colour: str, border: str) -> Panel:
        """Full width, most of the height, all of it in the verdict's colour."""
        text.justify = "center"
        foreground = "black" if colour == "yellow" else "white"
        return Panel(
            Align.center(text, vertical="middle"),
            box=box.HEAVY,
            height=max(9, self._console.height - _AROUND_THE_VERDICT),
            style=f"{foreground} on {colour}",
            border_style=f"{border} on {colour}",
        )

    def _recent(self, scans: list[Scan]) -> RenderableType:
        w = self._words
        table = Table(expand=True, show_edge=False, header_style="dim")
        table.add_column(w.time, width=10)
        table.add_column(w.verdict)
        table.add_column(w.name)
        table.add_column("", justify="right")
        for scan in scans:
            at = datetime.fromisoformat(scan.occurred_at).astimezone(self._zone)
            colour = COLOURS.get(scan.verdict or "", "yellow")
            state = w.confirmed if not scan.provisional else w.provisional_short
            if scan.sent_at is None:
                state = w.queued if scan.verdict else "…"
            table.add_row(
                at.strftime("%H:%M:%S"),
                Text(w.verdict_of(scan.verdict) if scan.verdict else "…", style=colour),
                who(scan),
                Text(state, style="dim" if not scan.provisional else "yellow"),
            )
        return table
