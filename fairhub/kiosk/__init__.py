"""`fairhub kiosk`: a gate or booth scanner that stays calm, fast and exact on flaky Wi-Fi.

A USB QR scanner types each code and Enter into standard input. Every scan is written to a
local SQLite file before anything else; online, the gateway gives the verdict in milliseconds;
offline, the kiosk verifies the badge with the fair's cached public keys and decides from its
own memory, marks the verdict provisional, and uploads the queue with the original ids and
times when the link returns. A terminal gets a full-screen display; a pipe gets plain lines.

    enrol.py       the gateway and token: options, an enrolment QR, or the file's
    start.py       the file, the fair, a gate or a booth, the keys
    core.py        the loop: queue, decide, upload, count
    queue.py       the SQLite file: queue, log and memory
    offline.py     verdicts without a link
    naming.py      names for booth scans uploaded offline
    link.py        the gateway's calls, and what "offline" means
    screen.py      plain lines, and what every screen is told
    fullscreen.py  the full screen on a terminal
    words.py       its texts, in Chinese (the default) or English
    terminal.py    standard input; logs to a file under the full screen
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from fairhub.config import KioskSettings, Settings
from fairhub.kiosk.core import Kiosk
from fairhub.kiosk.enrol import credentials, remember
from fairhub.kiosk.fullscreen import RichScreen
from fairhub.kiosk.link import Link
from fairhub.kiosk.screen import PlainScreen, Screen
from fairhub.kiosk.start import CannotStart, begin
from fairhub.kiosk.terminal import logs_to_file, quiet, read_lines
from fairhub.kiosk.words import LANGUAGES, WORDS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `fairhub kiosk` options."""
    parser.add_argument(
        "--url", help="the gateway, e.g. http://10.0.0.2:8080 (default: kept from the last run)"
    )
    parser.add_argument("--token", help="this kiosk's device token (default: kept in its file)")
    parser.add_argument(
        "--enrol",
        metavar="CODE_OR_URL",
        help="enrol with the organizer's one-time code (the QR's address, or the code and"
        " --url): the token is fetched once and kept in the kiosk's file",
    )
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
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        default="zh",
        help="the full screen's language: zh (Chinese, the default) or en (English)",
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
    await credentials(args)
    async with Link(args.url, args.token, kiosk_settings) as link:
        store, post = await begin(link, args)
        try:
            remember(store, args)  # later starts need neither --url nor --token
            terminal = sys.stdin.isatty() and sys.stdout.isatty() and not args.plain
            screen: Screen = (
                RichScreen(settings.timezone, WORDS[args.lang])
                if terminal
                else PlainScreen(kiosk_settings.status_seconds)
            )
            kiosk = Kiosk(post, store, link, screen, kiosk_settings, settings.timezone)
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C still stops it
                    loop.add_signal_handler(signum, kiosk.stop.set)
            # Under the full screen, a log line would scroll the layout: they go to a file.
            logs = store.path.with_suffix(".log") if terminal else None
            with quiet(terminal), logs_to_file(logs):
                screen.start()
                try:
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
