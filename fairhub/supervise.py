"""Keep `fairhub dev`'s processes alive: gateways, workers and the embedded servers.

One loop watches them all. Whatever dies is logged (one line), started again after a backoff
that grows while it keeps dying (0.5 s, 1 s, 2 s ... up to 30 s; back to short once it has run
a minute) and logged again when it is back. An embedded Valkey or Postgres comes back on the
same port and data directory, so its AOF or WAL restores what it had acknowledged; the gateways
and workers ride out the gap with their own retries. Ctrl-C and SIGTERM stop the children (with
SIGTERM, so each finishes what it has in hand); the caller then stops the servers.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger("fairhub")

POLL_SECONDS = 0.2
FIRST_DELAY = 0.5
MAX_DELAY = 30.0
HEALTHY_RUN = 60.0  # a run this long forgets earlier failures: the next delay is short again
CHILD_STOP_TIMEOUT = 30.0  # at least: a worker's grace period (plus a margin) if longer


class Server(Protocol):
    """An embedded server as the supervisor drives it (EmbeddedPostgres, EmbeddedRedis)."""

    def is_running(self) -> bool: ...

    def restart(self) -> None: ...


class Supervised(Protocol):
    @property
    def name(self) -> str: ...

    def ended(self) -> str | None:
        """None while it runs; how it ended otherwise ("exit -9")."""

    def start(self) -> None: ...


@dataclass
class Child:
    """A fairhub process (`serve`, `worker`) started by us."""

    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return " ".join(["fairhub", *self.argv[3:]])  # argv: python -m fairhub ...

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv, env=self.env, preexec_fn=die_with_parent)

    def ended(self) -> str | None:
        if self.process is None or self.process.poll() is None:
            return None
        return f"exit {self.process.returncode}"

    def pid(self) -> int | None:
        return self.process.pid if self.process else None


@dataclass
class EmbeddedServer:
    """An embedded server we started; the supervisor only notices its death and restarts it."""

    name: str
    server: Server

    def ended(self) -> str | None:
        return None if self.server.is_running() else "its process is gone"

    def start(self) -> None:
        self.server.restart()


@dataclass
class _Watch:
    what: Supervised
    started: float = field(default_factory=time.monotonic)
    failures: int = 0
    due: float | None = None  # when to start it again, while it is dead


class Supervisor:
    """Starts the children, then restarts whatever dies until Ctrl-C or SIGTERM."""

    def __init__(
        self,
        children: list[Child],
        servers: list[EmbeddedServer],
        stop_timeout: float = CHILD_STOP_TIMEOUT,
    ) -> None:
        self.children = children
        self.stop_timeout = stop_timeout
        # Servers first: after a server restart the children find it up at their next retry.
        self._watches = [_Watch(s) for s in servers] + [_Watch(c) for c in children]

    def run(self) -> int:
        for child in self.children:
            child.start()
        try:
            while True:
                for watch in self._watches:
                    self._check(watch, time.monotonic())
                time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            pass
        finally:
            stop_children(self.children, self.stop_timeout)
        return 0

    def _check(self, watch: _Watch, now: float) -> None:
        if watch.due is not None:
            if now >= watch.due:
                self._restart(watch)
            return
        how = watch.what.ended()
        if how is None:
            return
        watch.failures = 1 if now - watch.started > HEALTHY_RUN else watch.failures + 1
        delay = self._backoff(watch, now)
        log.error("%s ended (%s): starting it again in %.1f s", watch.what.name, how, delay)

    def _backoff(self, watch: _Watch, now: float) -> float:
        delay: float = min(MAX_DELAY, FIRST_DELAY * 2 ** (watch.failures - 1))
        watch.due = now + delay
        return delay

    def _restart(self, watch: _Watch) -> None:
        watch.due = None
        watch.started = time.monotonic()
        try:
            watch.what.start()
        except Exception as exc:  # e.g. postgres refusing while old backends still exit
            watch.failures += 1
            delay = self._backoff(watch, time.monotonic())
            log.error("%s could not be started again, trying again in %.1f s: %s",
                      watch.what.name, delay, exc)  # fmt: skip
            return
        pid = watch.what.pid() if isinstance(watch.what, Child) else None
        log.warning("%s started again%s", watch.what.name, f" (pid {pid})" if pid else "")


def stop_children(children: list[Child], timeout: float = CHILD_STOP_TIMEOUT) -> None:
    """SIGTERM to all at once (each finishes its batch), SIGKILL to any that lingers."""
    running = [c.process for c in children if c.process is not None]
    for process in running:
        if process.poll() is None:
            process.terminate()
    for process in running:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def die_with_parent() -> None:
    """In the child: get SIGTERM if `fairhub dev` dies, so no worker is left behind."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
