"""Phones scanning booth codes: each opens an employer's or a position's public page.

Each landing is a `qr_scan`; the visitor is the `fh_visitor` cookie the first page sets, which
the phone sends back afterwards (a phone opens one page after another, never two at once, so
it never has two cookies). On a page a phone sometimes searches, taps a job-type chip or
switches language: the same visit, not counted. Chat apps fetch a preview of a shared link
with HEAD: not counted either.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from fairhub.simulate.build import Employer
from fairhub.simulate.client import ApiError
from fairhub.simulate.context import Context
from fairhub.simulate.day import Action, Step

LANE = "phones on booth pages"
JOB_TYPE_CHIP = "研发"


@dataclass
class Phone:
    n: int
    cookie: str | None = None
    landings: int = 0


class Phones:
    """Plans the phones' page visits."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def plan(self) -> None:
        ctx, profile, rng = self.ctx, self.ctx.profile, self.ctx.rng
        if not profile.page_visits:
            return
        count = max(
            1, min(profile.page_visits, round(profile.page_visits / profile.visits_per_phone))
        )
        owners = [ctx.arrivals.get(s.id, 0.0) for s in ctx.fair.at_gate]
        visits = [1] * count
        for _ in range(profile.page_visits - count):
            visits[rng.randrange(count)] += 1
        employers = [e for e in ctx.fair.employers if e.positions] or ctx.fair.employers
        for n, landings in enumerate(visits):
            phone = Phone(n)
            # Phones of people at the fair start after they come in; others (a parent, a
            # friend sent the link) whenever.
            start = owners[n] if n < len(owners) else rng.uniform(0.0, 0.9)
            moments = sorted(rng.uniform(start, 0.99) for _ in range(landings))
            previous: tuple[Step, ...] = ()
            for at in moments:
                employer = rng.choice(employers)
                step = ctx.day.add(at, LANE, self._visit(phone, employer), previous)
                previous = (step,)

    def _visit(self, phone: Phone, employer: Employer) -> Action:
        ctx, rng = self.ctx, self.ctx.rng
        position = (
            rng.choice(employer.positions) if employer.positions and rng.random() < 0.2 else None
        )
        kind, item = ("positions", position.id) if position else ("employers", employer.id)
        suffix = ".json" if rng.random() < 0.1 else ""
        path = f"/p/{ctx.fair.id}/{kind}/{quote(item, safe='')}{suffix}"
        preview = rng.random() < 0.02
        browse = rng.choice(
            [f"?q={quote('工程')}", f"?job_type={quote(JOB_TYPE_CHIP)}", "?lang=en"]
        )
        browse = browse if rng.random() < 0.1 and not suffix else ""

        async def visit() -> None:
            if preview:
                await ctx.api.page(path, None, method="HEAD")
            page = await ctx.api.page(path, phone.cookie)
            if phone.cookie is None:
                if page.cookie is None:
                    raise ApiError("GET", path, page.status, "a first visit set no visitor cookie")
                phone.cookie = page.cookie
            elif page.cookie not in (None, phone.cookie):
                ctx.ledger.anomaly(f"phone {phone.n} sent its cookie and was given a new one")
            phone.landings += 1
            ctx.ledger.add(
                "qr_scans",
                f"phone-{phone.n}-{phone.landings}",
                f"phone:{phone.n}",
                [f"by_employer.{employer.name}.qr_scans"],
            )
            if browse:
                await ctx.api.page(path + browse, phone.cookie)

        return visit
