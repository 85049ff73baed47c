"""`fairhub simulate --profile training`: the seed alliances loaded (a scaled copy), a quarter
of the chain after the fairs played against them, and every figure of
/v1/alliances/{a}/stats compared with what the clients sent.

Zhenjiang and Baotou train (sign-ups from the phone page and as events, completions,
certificates, hires through training); Zibo's enterprises take interns at, just under and over
2 % of their staff in two semesters; Wujin's fair employers record hires at the fair and the
members report hires through the other channels. Some events are sent twice, some name what
does not exist or a member that left: those must be answered duplicate or rejected.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal

import aiohttp
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fairhub.seeds import SEEDS, Loaded, SeedError, load_one
from fairhub.simulate.client import Api, ApiError
from fairhub.simulate.report import compare, settle
from fairhub.simulate.training_ledger import TrainingLedger, observed
from fairhub.simulate.training_plan import Plan, offers_of
from fairhub.simulate.training_quarter import Call, Quarter
from fairhub.simulate.training_summary import closing, summary

SEMESTERS = ("2025-2026-2", "2026-2027-1")
RESEND_SHARE = 0.05
Tamper = Callable[[list[Loaded]], Awaitable[None]]


def plan_for(quarter: Quarter, loaded: Loaded) -> Plan:
    """What each alliance does in the quarter, as its published story goes."""
    ledger = TrainingLedger(loaded.seed.slug, Decimal("0.02"), Decimal(300))
    plan = Plan(quarter, loaded, ledger)
    slug = loaded.seed.slug
    if slug in ("zhenjiang", "baotou"):
        plan.training(0.3 if slug == "zhenjiang" else 0.5)
    if slug == "zibo":
        plan.internships(SEMESTERS, 0.2)
    channels = {"wujin": ("fair", "livestream", "other"), "baotou": ("livestream", "other")}
    plan.hires(channels.get(slug, ("other",)), max(2, len(loaded.members) // 10))
    if slug == "wujin":
        plan.fair_hires(0.5)
    ledger.offers = {o.id: o for o in offers_of(loaded)}
    ledger.registry(loaded.members.values(), loaded.demands)
    return plan


async def _register_seekers(api: Api, plan: Plan) -> None:
    """Register the seekers the plan names at the alliance's fair: alliance events must name
    seekers of its fairs."""
    fair = plan.loaded.fair
    wanted = plan.seekers()
    if fair is None or not wanted:
        return
    path = f"/v1/fairs/{fair['id']}/seekers"

    async def one(name: str) -> str:
        _, created = await api.call("POST", path, fair["organizer"], json_body={"name": name})
        return str(created["id"])

    ids = await asyncio.gather(*(one(name) for name in wanted.values()))
    plan.rename_seekers(dict(zip(wanted, ids, strict=True)))


async def _send(api: Api, call: Call, anomalies: list[str]) -> None:
    """One request; any answer but the planned one is an anomaly the run reports."""
    if call.menu:
        status, answer = await api.call(
            "POST", call.path, json_body=call.events[0], expect=(201, 422)
        )
        want, field = call.expect[0]
        if str(status) != want or (field and field not in answer.get("fields", [])):
            anomalies.append(f"menu sign-up {call.events[0]['offer_id']}: {status} {answer}")
        return
    _, answer = await api.call(
        "POST", call.path, call.token, json_body={"events": call.events}, expect=(202, 422)
    )
    for event, result, (want, field) in zip(
        call.events, answer["results"], call.expect, strict=True
    ):
        reason = str(result.get("reason") or "")
        if result["status"] != want or (field and not reason.startswith(f"{field}:")):
            anomalies.append(
                f"{event['type']} {event['id']}: {result['status']} {reason}"
                f" (expected {want}{' naming ' + field if field else ''})"
            )


async def _stats(api: Api, loaded: list[Loaded], plans: list[Plan]) -> dict[str, int]:
    got: dict[str, int] = {}
    for alliance, plan in zip(loaded, plans, strict=True):
        _, stats = await api.call("GET", f"/v1/alliances/{alliance.id}/stats", alliance.secretary)
        got |= observed(alliance.seed.slug, stats, plan.ledger.offers)
    return got


async def simulate_training(
    url: str, token: str, args: argparse.Namespace, console: Console, tamper: Tamper | None = None
) -> int:
    """Load, play, wait for the figures, compare; `tamper` (for tests) runs before comparing."""
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    quarter = Quarter.before(date.today(), random.Random(seed))
    console.print(
        f"fairhub simulate: profile training, scale {args.scale:g}, seed {seed}; the quarter "
        f"{quarter.first} to {quarter.last}"
    )
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    anomalies: list[str] = []
    async with Api.open(url, args.clients or 8) as api:
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("loading the seeds", total=len(SEEDS))
            loaded: list[Loaded] = []
            try:
                for one in SEEDS:
                    loaded.append(await load_one(api, token, one, args.scale, lambda _: None))
                    progress.advance(task)
                    console.print(f"loaded {one.name}: id {loaded[-1].id}", highlight=False)
            except (ApiError, SeedError, aiohttp.ClientError, OSError) as exc:
                console.print(f"[red]loading the seeds at {url} failed:[/] {exc}")
                return 2
            plans = [plan_for(quarter, a) for a in loaded]
            try:
                for plan in plans:
                    await _register_seekers(api, plan)
            except (ApiError, aiohttp.ClientError, OSError) as exc:
                console.print(f"[red]registering the fair's seekers failed:[/] {exc}")
                return 2
            waves = [plan.calls(RESEND_SHARE) for plan in plans]
            total = sum(len(c.events) for w in waves for calls in w for c in calls)
            play = progress.add_task("playing the quarter", total=total)

            async def send(call: Call) -> None:
                await _send(api, call, anomalies)
                progress.advance(play, len(call.events))

            try:
                for wave in (0, 1):  # every event once, then the resends
                    await asyncio.gather(*(send(c) for w in waves for c in w[wave]))
            except (ApiError, aiohttp.ClientError, OSError) as exc:
                console.print(f"[red]playing the quarter failed:[/] {exc}")
                return 2
        expected: dict[str, int] = {}
        for plan in plans:
            expected |= plan.ledger.expected()

        async def read() -> dict[str, int]:
            return await _stats(api, loaded, plans)

        with console.status("waiting for the alliances' /stats to count everything"):
            rows, waited = await settle(read, expected, args.settle)
        if tamper is not None:
            await tamper(loaded)
            rows = compare(expected, await read())
        console.print(f"{total} events and sign-ups sent; figures settled in {waited:.1f} s")
    got = {r.key: r.got for r in rows}
    for alliance, plan in zip(loaded, plans, strict=True):
        summary(console, alliance, plan.ledger, got)
    return closing(console, rows, anomalies)
