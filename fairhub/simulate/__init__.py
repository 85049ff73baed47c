"""`fairhub simulate`: build a fair through the public API and play a whole day against it.

The simulator is a crowd of ordinary clients (kiosks, phones, employers, a livestream's host
and viewers) that keeps a ledger of what it sent; at the end it compares the ledger with
/stats figure by figure and exits non-zero on any difference.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from typing import Any

import aiohttp
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fairhub import devinfo
from fairhub.config import Settings
from fairhub.simulate.build import build
from fairhub.simulate.client import Api, ApiError
from fairhub.simulate.context import Context
from fairhub.simulate.day import Clock, Day, SimulationAborted
from fairhub.simulate.dealings import plan_booths, plan_downloads, plan_intents, plan_resumes
from fairhub.simulate.gates import Gates
from fairhub.simulate.ledger import Ledger
from fairhub.simulate.phones import Phones
from fairhub.simulate.profiles import PROFILES
from fairhub.simulate.report import closing, observed, settle, with_report
from fairhub.simulate.stream import Stream

__all__ = ["add_arguments", "run_simulation"]


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `fairhub simulate`."""
    devinfo.add_arguments(parser, "the admin token (it creates a fair)")
    parser.add_argument(
        "--profile",
        choices=sorted([*PROFILES, "training"]),
        default="onsite",
        help="onsite: a municipal fair day (default); livestream: a live session with its "
        "audience; burst: the gate rush at opening; training: the seed alliances and a quarter "
        "of sign-ups, completions, certificates, internships and hires (plays at full speed)",
    )
    parser.add_argument(
        "--scale", type=_positive, default=1.0, help="multiply every count (0.05: a twentieth)"
    )
    parser.add_argument(
        "--speed",
        type=_non_negative,
        default=60.0,
        help="how many times faster than real time the day plays (default 60: the eight hours "
        "in eight minutes; 0: as fast as possible)",
    )
    parser.add_argument("--seed", type=int, help="for a reproducible day (default: random)")
    parser.add_argument("--clients", type=int, help="concurrent HTTP clients (default: 32)")
    parser.add_argument(
        "--settle",
        type=_positive,
        default=120.0,
        help="seconds to wait at most for /stats to catch up (default 120)",
    )


def run_simulation(settings: Settings, args: argparse.Namespace) -> None:
    """Play the day; exit 0 only if every figure /stats shows is the one the clients made."""
    url, token = devinfo.target(devinfo.with_data_dir(settings, args), args.url, args.token)
    sys.exit(asyncio.run(simulate(url, token, args)))


def _console() -> Console:
    return Console() if sys.stdout.isatty() else Console(width=120, highlight=False)


async def simulate(url: str, token: str, args: argparse.Namespace) -> int:
    """The whole run: set-up, the day, the wait for the figures, the comparison."""
    if args.profile == "training":
        from fairhub.simulate.training import simulate_training  # the seeds import the client

        return await simulate_training(url, token, args, _console())
    profile = PROFILES[args.profile].scaled(args.scale)
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    rng = random.Random(seed)
    clock = Clock.for_today(args.speed)
    console = _console()
    began = time.monotonic()
    console.print(
        f"fairhub simulate: profile {profile.name}, scale {args.scale:g}, speed {args.speed:g}, "
        f"seed {seed}; the day {clock.opens:%Y-%m-%d %H:%M} to {clock.closes:%H:%M %Z}"
    )
    columns = (
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    )  # fmt: skip
    async with Api.open(url, args.clients or profile.clients) as api:
        with Progress(*columns, console=console) as progress:
            setup = progress.add_task("setting up", total=None)

            def note(text: str) -> None:
                progress.update(setup, description=f"setting up: {text}")

            def announce(fair: str, organizer: str) -> None:
                link = f"{url.rstrip('/')}/dashboard/{fair}#token={organizer}"
                console.print(f"dashboard: {link}", soft_wrap=True, highlight=False)

            try:
                fair = await build(api, token, profile, clock, rng, note, announce)
            except (ApiError, aiohttp.ClientError, OSError) as exc:
                console.print(f"[red]setting the fair up at {url} failed:[/] {exc}")
                return 2
            progress.update(setup, description="set up", total=1, completed=1)
            ledger = Ledger()
            ledger.fixed.update(fair.registry)
            day = Day(clock, progress)
            ctx = Context(api, day, clock, fair, profile, ledger, rng)
            _plan(ctx)
            try:
                await day.play()
            except SimulationAborted as exc:
                console.print(f"[red]{exc}[/]")
                return 2
        played = time.monotonic() - began
        expected = with_report(ledger.expected())

        async def read() -> dict[str, int]:
            return await _observe(api, ctx)

        try:
            with console.status("waiting for /stats to count everything"):
                rows, waited = await settle(read, expected, args.settle)
        except (ApiError, aiohttp.ClientError, OSError) as exc:
            console.print(f"[red]reading the figures failed:[/] {exc}")
            return 2
        console.print(
            f"fair {fair.id}: {api.requests} requests; set-up and day {played:.1f} s, "
            f"figures settled {waited:.1f} s later"
        )
        if fair.session is not None:
            path = ctx.path(f"live-sessions/{fair.session.id}")
            figures = (await api.call("GET", path, fair.session.host_token))[1]["figures"]
            console.print(
                f"live session: peak {figures['peak']} viewers, {figures['viewers_now']} still "
                "watching (not compared: they depend on the order joins and leaves arrived)"
            )
    return closing(console, rows, ledger.anomalies, day.errors, day.failed)


def _plan(ctx: Context) -> None:
    """Every client action of the day, in the order their dependencies need."""
    if ctx.fair.kiosks:
        Gates(ctx).plan()
    Phones(ctx).plan()
    plan_booths(ctx)
    plan_resumes(ctx)
    if ctx.fair.session is not None:
        Stream(ctx, ctx.fair.session).plan()
    plan_downloads(ctx)
    plan_intents(ctx)


async def _observe(api: Api, ctx: Context) -> dict[str, int]:
    fair = ctx.fair
    _, stats = await api.call("GET", ctx.path("stats"), fair.organizer)
    _, report = await api.call("GET", ctx.path("report.json"), fair.organizer)
    sessions: list[Any] = []
    if fair.session is not None:
        path = ctx.path(f"live-sessions/{fair.session.id}")
        sessions.append((await api.call("GET", path, fair.session.host_token))[1])
    return observed(stats, sessions, report["summary"])
