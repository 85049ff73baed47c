"""Standard input, where the USB scanner types: read in a thread, quiet on a full screen.

Under the full screen, log lines go to a file instead of printing over the layout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path


def read_lines(loop: asyncio.AbstractEventLoop, on_line: Callable[[str | None], None]) -> None:
    """Read standard input in a thread (a tty or a pipe), handing each line to the loop.

    Scanners end a code with CR, LF or both. The thread reads the raw descriptor, not
    sys.stdin: blocked in a buffered read it would hold the buffer's lock at exit.
    """

    def hand(text: str | None) -> bool:
        try:
            loop.call_soon_threadsafe(on_line, text)
        except RuntimeError:  # the loop has closed: the kiosk is stopping
            return False
        return True

    def read() -> None:
        fd, pending = sys.stdin.fileno(), b""
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                if pending:
                    hand(pending.decode("utf-8", "replace"))
                hand(None)
                return
            *lines, pending = re.split(rb"\r\n|\r|\n", pending + chunk)
            for raw in lines:
                if not hand(raw.decode("utf-8", "replace")):
                    return

    # A daemon: a blocked read must never keep the process alive on the way out.
    threading.Thread(target=read, name="kiosk-stdin", daemon=True).start()


@contextlib.contextmanager
def quiet(terminal: bool) -> Iterator[None]:
    """No echo of the scanner's keystrokes over the full-screen display; restored after."""
    if not terminal or sys.platform == "win32":  # a Windows console does not echo over it
        yield
        return
    import termios

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    silent = termios.tcgetattr(fd)
    silent[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSADRAIN, silent)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextlib.contextmanager
def logs_to_file(path: Path | None) -> Iterator[None]:
    """Log records and anything written to stderr go to `path` (None: left where they were).

    Standard error is redirected at the descriptor, so a library's warning or a thread's
    traceback lands in the file too instead of tearing the full-screen layout.
    """
    if path is None:
        yield
        return
    path.touch(mode=0o600, exist_ok=True)  # like the kiosk's file: scans name people
    stream = path.open("a", encoding="utf-8")
    root = logging.getLogger()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    saved_handlers = root.handlers[:]
    root.handlers = [handler]
    sys.stderr.flush()
    saved_fd = os.dup(2)
    os.dup2(stream.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        root.handlers = saved_handlers
        stream.close()
