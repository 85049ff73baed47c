"""`fairhub kiosk`: a gate or booth scanner that stays calm, fast and exact on flaky Wi-Fi.

A USB QR scanner types each code and Enter into standard input. Every scan is written to a
local SQLite file before anything else; online, the gateway gives the verdict in milliseconds;
offline, the kiosk verifies the badge with the fair's cached public keys and decides from its
own memory, marks the verdict provisional, and uploads the queue with the original ids and
times when the link returns. A terminal gets a full-screen display; a pipe gets plain lines.

    start.py     the file, the fair, a gate or a booth, the keys
    core.py      the loop: queue, decide, upload, count
    queue.py     the SQLite file: queue, log and memory
    offline.py   verdicts without a link
    link.py      the gateway's calls, and what "offline" means
    screen.py    the full screen, or plain lines
    terminal.py  standard input
    settings.py  FAIRHUB_KIOSK_*
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from fairhub.config import KioskSettings, Settings
from fairhub.kiosk.core import Kiosk
from fairhub.kiosk.link import Link
from fairhub.kiosk.screen import PlainScreen, RichScreen, Screen
from fairhub.kiosk.start import CannotStart, begin
from fairhub.kiosk.terminal import quiet, read_lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `fairhub kiosk` options."""
    parser.add_argument("--url", required=True, help="the gateway, e.g. http://10.0.0.2:8080")
    parser.add_argument("--token", required=True, help="this kiosk's device token")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--gate", help="the gate's name (default: the device's gate)")
    where.add_argument("--booth", metavar="EMPLOYER", help="scan leads for this employer's booth")
    parser.add_argument(
        "--fair", help="the fair's id: start from the cached file without asking GET /v1/me"
    )
    parser.add_argument("--db", help="the SQLite file (default: ~/.fairhub/kiosk-<device>.sqlite3)")
    parser.add_argument(
        "--plain", action="store_true", help="plain lines even on a terminal (logs, scripts)"
    )


def run_kiosk(settings: Settings, args: argparse.Namespace) -> None:
    """Run until Ctrl-C / SIGTERM, or until the input ends and the queue is uploaded."""
    try:
        asyncio.run(_main(settings, KioskSettings(), args))
    except CannotStart as exc:
        sys.exit(f"fairhub kiosk: {exc}")
    except KeyboardInterrupt:
        pass


async def _main(
    settings: Settings, kiosk_settings: KioskSettings, args: argparse.Namespace
) -> None:
    async with Link(args.url, args.token, kiosk_settings) as link:
        store, post = await begin(link, args)
        try:
            terminal = sys.stdin.isatty() and sys.stdout.isatty() and not args.plain
            screen: Screen = (
                RichScreen(settings.timezone)
                if terminal
                else PlainScreen(kiosk_settings.status_seconds)
            )
            kiosk = Kiosk(post, store, link, screen, kiosk_settings, settings.timezone)
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C still stops it
                    loop.add_signal_handler(signum, kiosk.stop.set)
            with quiet(terminal):
                screen.start()
                try:
                    if not terminal:
                        screen.note(
                            f"ready: fair {post.fair}, {post.mode} {post.place}, db {store.path}"
                        )
                    kiosk.refresh()
                    read_lines(loop, kiosk.on_line)
                    await kiosk.run()
                finally:
                    screen.stop()
        finally:
            store.close()
