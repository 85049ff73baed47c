"""What staff see: a full-screen verdict in a terminal, or plain lines for pipes and tests.

Plain lines, one per event, first word a keyword:
    ADMITTED 王安                     a scan's verdict (the same line again for a double tap)
    REENTRY #1a2b3c4d (provisional)   decided offline; the name if the kiosk knows it
    CHANGED <id> ADMITTED -> REENTRY  the server's answer replaced a provisional verdict
    STATUS online queued=0 today=12   on every change, and every few seconds
    NOTE <text>                       anything else worth saying
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from rich.align import Align
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from fairhub.kiosk.queue import Scan

# verdict -> (big words, colour)
LOOKS: dict[str, tuple[str, str]] = {
    "admitted": ("✔  请进  ADMITTED", "green"),
    "reentry": ("↻  再次入场  RE-ENTRY", "cyan"),
    "invalid_badge": ("✘  无效胸卡  INVALID BADGE", "red"),
    "wrong_fair": ("✘  非本场胸卡  WRONG FAIR", "red"),
    "revoked": ("✘  胸卡已作废  REVOKED", "red"),
    "new_lead": ("★  新线索  NEW LEAD", "green"),
    "known_lead": ("✔  已是线索  ALREADY A LEAD", "cyan"),
    "rejected": ("✘  被拒绝  REJECTED", "red"),
}
_IDLE_AFTER_SECONDS = 10.0
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


class RichScreen:
    """A full-screen display: link banner, the verdict large and coloured, the last scans."""

    def __init__(self, zone: str) -> None:
        self._console = Console()
        self._zone = ZoneInfo(zone)
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
        self._notes = [*self._notes[-2:], text]
        self._refresh()

    def _refresh(self) -> None:
        self._live.update(self._render(), refresh=True)

    def _render(self) -> RenderableType:
        parts: list[RenderableType] = [self._banner(), self._verdict()]
        if self._status is not None:
            parts.append(self._recent(self._status.recent))
        parts.extend(Text(n, style="dim") for n in self._notes)
        return Group(*parts)

    def _banner(self) -> RenderableType:
        s = self._status
        if s is None:
            return Text("…", style="dim")
        place = ("展位 Booth " if s.mode == "booth" else "入口 Gate ") + s.place
        counted = "线索 leads" if s.mode == "booth" else "入场 in"
        figures = f"今日 today {s.today_count} {counted} · 待上传 queued {s.queued}"
        if s.online:
            state, style = "● 在线 ONLINE", "bold black on green"
        elif s.problem and "token" in s.problem:
            state, style = (
                "● 令牌被拒 TOKEN REFUSED · 扫码照常保存 scans are kept",
                "bold white on red",
            )
        else:
            state = f"● 离线 OFFLINE · {s.queued} 条待上传 waiting · 判定为临时 provisional"
            style = "bold white on red"
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(ratio=1)
        grid.add_column(justify="right")
        grid.add_row(state, place, style=style)
        grid.add_row(s.problem if not s.online else "", figures, style="dim" if s.online else style)
        return grid

    def _verdict(self) -> RenderableType:
        scan = self._current
        idle = scan is None or time.monotonic() - self._shown_at > _IDLE_AFTER_SECONDS
        if scan is None or idle:
            body = Text("请扫码胸卡\nScan a badge", style="bold dim", justify="center")
            return Panel(
                Align.center(body, vertical="middle"), height=self._height(), border_style="dim"
            )
        if self._waiting or scan.verdict is None:
            body = Text("核验中…  Checking…", style="bold yellow", justify="center")
            return Panel(
                Align.center(body, vertical="middle"), height=self._height(), border_style="yellow"
            )
        words, colour = LOOKS.get(scan.verdict, (scan.verdict.upper(), "magenta"))
        text = Text(justify="center")
        text.append(f"\n{words}\n\n", style=f"bold white on {colour}")
        text.append(who(scan) or " ", style=f"bold {colour}")
        if scan.reason and scan.verdict not in ("admitted", "reentry", "new_lead", "known_lead"):
            text.append(f"\n{scan.reason}", style=colour)
        if scan.provisional:
            text.append("\n离线判定 · 待服务器确认 · provisional (offline)", style="bold yellow")
        border = "yellow" if scan.provisional else colour
        return Panel(
            Align.center(text, vertical="middle"), height=self._height(), border_style=border
        )

    def _height(self) -> int:
        """The verdict takes what the banner and the last scans leave of the screen."""
        return max(9, self._console.height - RECENT_ROWS - 8)

    def _recent(self, scans: list[Scan]) -> RenderableType:
        table = Table(expand=True, show_edge=False, header_style="dim")
        table.add_column("时间 time", width=10)
        table.add_column("判定 verdict")
        table.add_column("姓名 name")
        table.add_column("", justify="right")
        for scan in scans:
            at = datetime.fromisoformat(scan.occurred_at).astimezone(self._zone)
            colour = LOOKS.get(scan.verdict or "", ("", "yellow"))[1]
            state = "已确认 ✓" if not scan.provisional else "临时 provisional"
            if scan.sent_at is None:
                state = "待上传 queued" if scan.verdict else "…"
            table.add_row(
                at.strftime("%H:%M:%S"),
                Text((scan.verdict or "…").upper(), style=colour),
                who(scan),
                Text(state, style="dim" if not scan.provisional else "yellow"),
            )
        return table
