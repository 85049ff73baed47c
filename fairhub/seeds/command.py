"""`fairhub seed-alliances`: load the seed alliances into a running FairHub and say how to
reach each one (its id and secretary token, shown this once)."""

from __future__ import annotations

import argparse
import asyncio
import sys

import aiohttp

from fairhub import devinfo
from fairhub.config import Settings
from fairhub.seeds import SEEDS, SeedError, load
from fairhub.simulate.client import Api, ApiError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `fairhub seed-alliances`."""
    devinfo.add_arguments(parser, "the admin token (it creates the alliances)")
    parser.add_argument(
        "--only",
        action="append",
        choices=[s.slug for s in SEEDS],
        help="load only this alliance (repeatable; default: all four)",
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="a smaller copy (0.1: about a tenth of the members); the cited totals hold at 1",
    )


def run(settings: Settings, args: argparse.Namespace) -> None:
    """Load the seeds; exit 1 if the API refused any row of them."""
    url, token = devinfo.target(devinfo.with_data_dir(settings, args), args.url, args.token)
    sys.exit(asyncio.run(seed(url, token, args)))


async def seed(url: str, token: str, args: argparse.Namespace) -> int:
    """Every chosen alliance, then one line each: its name, id and secretary token."""
    slugs = tuple(args.only) if args.only else None
    try:
        async with Api.open(url, 4) as api:
            loaded = await load(api, token, args.scale, slugs, note=lambda t: print(f"loading {t}"))
    except (ApiError, SeedError, aiohttp.ClientError, OSError) as exc:
        print(f"loading the seeds into {url} failed: {exc}", file=sys.stderr)
        return 1
    for alliance in loaded:
        print(
            f"{alliance.seed.name}: id {alliance.id}  secretary token {alliance.secretary}"
            f"  ({len(alliance.members)} members, {len(alliance.demands)} demand rows,"
            f" {len(alliance.offers)} offers)"
        )
        if alliance.fair is not None:
            fair = alliance.fair
            print(
                f"  its fair: id {fair['id']}  organizer token {fair['organizer']}"
                f"  ({len(fair['employers'])} member employers)"
            )
    return 0
