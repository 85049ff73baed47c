"""Kiosk test helpers: a real `fairhub kiosk` process on pipes, and a network that can fail."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import os
import pty
import re
import sqlite3
import struct
import sys
import termios
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fairhub.gate import VERDICTS

# Verdict lines start with one of these; everything else is STATUS, NOTE, CHANGED or a log.
_VERDICT_WORDS = {v.upper() for v in VERDICTS} | {"NEW_LEAD", "KNOWN_LEAD", "REJECTED"}
# Quick retries so a restored link is noticed within a second.
FAST = {
    "FAIRHUB_KIOSK_TIMEOUT_SECONDS": "1.0",
    "FAIRHUB_KIOSK_UPLOAD_TIMEOUT_SECONDS": "2.0",
    "FAIRHUB_KIOSK_RETRY_MIN_SECONDS": "0.1",
    "FAIRHUB_KIOSK_RETRY_MAX_SECONDS": "0.5",
    "FAIRHUB_KIOSK_STATUS_SECONDS": "1.0",
}


def by_verdict(**counts: int) -> dict[str, int]:
    """A whole `checkins_by_verdict`, zeros included."""
    return {**dict.fromkeys(VERDICTS, 0), **counts}


def forge(badge: str) -> str:
    """The same claims with one bit of the signature flipped."""
    raw = bytearray(base64.b32decode(badge[3:] + "=" * (-len(badge[3:]) % 8)))
    raw[-1] ^= 1
    return "FH1" + base64.b32encode(bytes(raw)).decode().rstrip("=")


def logged(db: Path) -> list[dict[str, Any]]:
    """The kiosk's log, oldest first, read from its SQLite file (WAL: the kiosk may run)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM scans ORDER BY seq").fetchall()
        return [dict(r) for r in rows]
    finally:
        conn.close()


class KioskProcess:
    """`python -m fairhub kiosk …` with its stdin and stdout on pipes, read without blocking."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []  # everything it printed so far
        self._read = 0  # lines handed to the test

    @classmethod
    async def start(
        cls, url: str, token: str, db: Path | None, *args: str, **env: str
    ) -> KioskProcess:
        """A kiosk on `db` (None: its default file, under $HOME)."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "fairhub",
            "kiosk",
            "--url",
            url,
            "--token",
            token,
            *(("--db", str(db)) if db else ()),
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "FAIRHUB_LOG_LEVEL": "WARNING", **FAST, **env},
        )
        return cls(process)

    @classmethod
    @contextlib.asynccontextmanager
    async def running(
        cls, url: str, token: str, db: Path | None, *args: str, **env: str
    ) -> AsyncIterator[KioskProcess]:
        kiosk = await cls.start(url, token, db, *args, **env)
        try:
            await kiosk.until(lambda line: line.startswith("STATUS"))
            yield kiosk
        finally:
            await kiosk.stop()

    async def scan(self, code: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(code.encode() + b"\n")
        await self.process.stdin.drain()

    async def until(self, check: Callable[[str], bool], timeout: float = 15.0) -> str:
        """The next printed line that passes `check` (earlier lines are skipped)."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            while self._read < len(self.lines):
                line = self.lines[self._read]
                self._read += 1
                if check(line):
                    return line
            try:
                async with asyncio.timeout(max(0.01, deadline - time.monotonic())):
                    raw = await self.process.stdout.readline()
            except TimeoutError:
                raise AssertionError(self._story("no such line in time")) from None
            if not raw:
                raise AssertionError(self._story("the kiosk exited"))
            self.lines.append(raw.decode().rstrip("\n"))

    async def verdict(self, timeout: float = 15.0) -> str:
        """The next scan's line: `VERDICT name (provisional)`."""
        return await self.until(lambda line: line.split(" ")[0] in _VERDICT_WORDS, timeout)

    async def idle(self, online: bool = True) -> None:
        """Until the kiosk says it is online (or offline) with an empty (or any) queue."""
        if online:
            await self.until(lambda line: line.startswith("STATUS online queued=0"))
        else:
            await self.until(lambda line: line.startswith("STATUS offline"))

    async def finish(self, timeout: float = 15.0) -> int:
        """Close its input: it uploads what waits and exits by itself."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        async with asyncio.timeout(timeout):
            while raw := await self.process.stdout.readline():
                self.lines.append(raw.decode().rstrip("\n"))
            return await self.process.wait()

    async def stop(self) -> int:
        """SIGTERM, as systemd or Ctrl-C would: it stops at once (the file holds everything)."""
        if self.process.returncode is None:
            self.process.terminate()
            try:
                async with asyncio.timeout(10):
                    return await self.process.wait()
            except TimeoutError:
                await self.kill()
        return await self.process.wait()

    async def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as a power cut."""
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()

    def _story(self, what: str) -> str:
        return f"{what}; the kiosk printed:\n" + "\n".join(self.lines)


class Proxy:
    """A TCP hop between kiosks and the gateway: cut() drops the Wi-Fi, restore() brings it back.

    Cut, it drops every open connection and swallows new ones without a word, as a dead access
    point does: the kiosk sees timeouts, not refusals. Muted, requests reach the gateway but
    its answers are lost on the way back.
    """

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._up = asyncio.Event()
        self._up.set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.muted = False
        self.url = ""

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls, target: str) -> AsyncIterator[Proxy]:
        proxy = cls(target)
        server = await asyncio.start_server(proxy._accept, "127.0.0.1", 0)
        proxy.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        try:
            yield proxy
        finally:
            server.close()
            proxy._drop()
            for task in list(proxy._tasks):
                task.cancel()
            await asyncio.gather(*proxy._tasks, return_exceptions=True)
            await server.wait_closed()

    def cut(self) -> None:
        self._up.clear()
        self._drop()

    def restore(self) -> None:
        self._up.set()

    def _drop(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ends = {writer}
        self._writers.add(writer)
        try:
            if not self._up.is_set():
                await self._up.wait()  # silence until the link is back, then hang up
                return
            up_reader, up_writer = await asyncio.open_connection(*self._target)
            ends.add(up_writer)
            self._writers.add(up_writer)
            await asyncio.gather(
                _pipe(reader, up_writer, lambda: False), _pipe(up_reader, writer, self._muted)
            )
        except OSError:
            pass
        finally:
            for end in ends:
                end.transport.abort()
                self._writers.discard(end)

    def _muted(self) -> bool:
        return self.muted


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, drop: Callable[[], bool]
) -> None:
    try:
        while data := await reader.read(65536):
            if drop():
                continue
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.transport.abort()


_ESCAPES = re.compile(rb"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][A-Z0-9]|[=>78])")


class ScreenKiosk:
    """`fairhub kiosk` on a pseudo-terminal (stdin, stdout and stderr), as on a kiosk's screen.

    What it draws is kept with the escape codes stripped, so a test can look for the words
    a person would read.
    """

    ROWS, COLUMNS = 30, 100

    def __init__(self, process: asyncio.subprocess.Process, master: int) -> None:
        self.process = process
        self._master = master
        self._raw = b""

    @classmethod
    @contextlib.asynccontextmanager
    async def running(
        cls, url: str, token: str, db: Path, *args: str, **env: str
    ) -> AsyncIterator[ScreenKiosk]:
        master, slave = pty.openpty()
        size = struct.pack("HHHH", cls.ROWS, cls.COLUMNS, 0, 0)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, size)
        os.set_blocking(master, False)
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                *("-m", "fairhub", "kiosk", "--url", url, "--token", token, "--db", str(db)),
                *args,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env={**os.environ, "TERM": "xterm-256color", **FAST, **env},
            )
        finally:
            os.close(slave)
        kiosk = cls(process, master)
        try:
            yield kiosk
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    async with asyncio.timeout(10):
                        await process.wait()
                except TimeoutError:
                    process.kill()
                    await process.wait()
            await kiosk._drain()
            os.close(master)

    @property
    def text(self) -> str:
        """Everything drawn so far, escape codes removed."""
        return _ESCAPES.sub(b"", self._raw).decode("utf-8", "replace")

    async def scan(self, code: str) -> None:
        os.write(self._master, code.encode() + b"\r")  # the scanner's Enter

    async def until(self, words: str, timeout: float = 15.0) -> None:
        """Until the screen has shown `words`."""
        deadline = time.monotonic() + timeout
        while words not in self.text:
            if time.monotonic() > deadline:
                raise AssertionError(f"{words!r} never shown; the screen showed:\n{self.text}")
            await asyncio.sleep(0.05)
            await self._drain()

    async def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 65536)
            except BlockingIOError:
                return
            except OSError:  # the other side has closed (EIO on Linux)
                return
            if not chunk:
                return
            self._raw += chunk
