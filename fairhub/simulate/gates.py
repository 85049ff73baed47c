"""The gates: kiosks scanning badges, as they do on the day.

Everyone at the gate is scanned once on arrival (a rush at opening, then a trickle), some go
out and come back (re-entries), kiosks resend a scan whose answer they lost (the same id),
and some badges are refused: forged or truncated ones, a QR code that is no badge at all,
badges the organizer revoked or replaced, another fair's. One kiosk loses the network for ten
minutes in the rush: it keeps scanning offline and uploads its queue when it is back, in
batches, with the scans' own ids and times. Some of the people it let in offline went out and
came back through another gate meanwhile: that gate admitted them first, so their late-
uploaded scans are re-entries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from fairhub.simulate.build import Kiosk
from fairhub.simulate.context import Context
from fairhub.simulate.day import Step

LANE = "kiosks at the gates"
OFFLINE_MINUTES = 10
DENIED = ("invalid_badge", "wrong_fair", "revoked")


@dataclass
class Scan:
    id: str
    kiosk: Kiosk
    badge: str
    at: float
    expect: str  # "entered", or the verdict a refused badge must get
    subject: str
    school: str | None = None
    reentry: bool = False  # a late upload that another gate must have admitted first

    def body(self, ctx: Context) -> dict[str, Any]:
        moment = ctx.clock.moment(self.at).isoformat()
        return {"id": self.id, "badge": self.badge, "gate": self.kiosk.gate, "occurred_at": moment}


def arrival(ctx: Context) -> float:
    """When someone reaches the gate: the queue at opening, then fewer and fewer."""
    rush = ctx.profile.rush_minutes / (ctx.clock.span.total_seconds() / 60)
    if ctx.chance(ctx.profile.rush_share):
        return ctx.rng.uniform(0.0, rush)
    return rush + (0.85 - rush) * ctx.rng.betavariate(1.2, 2.0)


def _record(ctx: Context, scan: Scan, verdict: str, duplicate: bool, retried: bool) -> None:
    ledger = ctx.ledger
    ledger.answer(scan.id, verdict)
    entered = verdict in ("admitted", "reentry")
    if (scan.expect == "entered" and not entered) or (
        scan.expect != "entered" and verdict != scan.expect
    ):
        ledger.anomaly(f"scan {scan.id}: expected {scan.expect}, the kiosk was told {verdict}")
    if scan.reentry and not retried and verdict != "reentry":
        ledger.anomaly(
            f"late upload {scan.id}: another gate admitted this badge first, yet it was {verdict}"
        )
    if retried and not duplicate:
        ledger.anomaly(f"scan {scan.id} sent again was not recognised as a duplicate")
    kind = "admitted" if scan.expect == "entered" else scan.expect
    ledger.checkin(scan.id, kind, scan.subject, scan.school, ctx.clock.minute(scan.at))


class Gates:
    """Plans the gate scans of the day into steps."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        kiosks = ctx.fair.kiosks
        self.offline = kiosks[1 % len(kiosks)]
        self.online = [k for k in kiosks if k is not self.offline] or kiosks
        rush = ctx.profile.rush_minutes / (ctx.clock.span.total_seconds() / 60)
        self.off_at = rush * 0.3
        self.back_at = self.off_at + OFFLINE_MINUTES / (ctx.clock.span.total_seconds() / 60)
        self.queued: list[Scan] = []
        self.in_window: list[Step] = []
        self._n = 0

    def _id(self, kiosk: Kiosk) -> str:
        self._n += 1
        return f"k{self.ctx.fair.kiosks.index(kiosk):02d}-{self._n:07d}"

    def scan(
        self, badge: str, at: float, expect: str, subject: str, school: str | None = None,
        kiosk: Kiosk | None = None, after: tuple[Step, ...] = (),
    ) -> Step | None:  # fmt: skip
        """A scan at a kiosk: sent at once, or queued if that kiosk is offline then."""
        kiosk = kiosk or self.ctx.rng.choice(self.online)
        scan = Scan(self._id(kiosk), kiosk, badge, at, expect, subject, school)
        if kiosk is self.offline and self.off_at <= at < self.back_at:
            self.queued.append(scan)
            return None
        retry = self.ctx.chance(self.ctx.profile.retry_share)
        step = self.ctx.day.add(at, LANE, lambda: self._send(scan, retry), after)
        if self.off_at <= at < self.back_at:
            self.in_window.append(step)
        return step

    async def _send(self, scan: Scan, retry: bool) -> None:
        ctx = self.ctx
        path = ctx.path("checkins")
        for retried in (False, True) if retry else (False,):
            _, answer = await ctx.api.call(
                "POST", path, scan.kiosk.token, json_body=scan.body(ctx), expect=(200,)
            )
            _record(ctx, scan, answer["verdict"], bool(answer.get("duplicate")), retried)

    async def _upload(self) -> None:
        """The kiosk is back: its queue goes up in batches; the last batch's answer is lost."""
        ctx, queue = self.ctx, sorted(self.queued, key=lambda s: s.at)
        size = min(100, max(1, math.ceil(len(queue) / 3)))
        batches = [queue[n : n + size] for n in range(0, len(queue), size)]
        for n, batch in enumerate([*batches, batches[-1]] if batches else []):
            retried = n == len(batches)
            _, answer = await ctx.api.call(
                "POST",
                ctx.path("events"),
                self.offline.token,
                json_body={"events": [{"type": "checkin", **s.body(ctx)} for s in batch]},
                expect=(202,),
            )
            for scan, result in zip(batch, answer["results"], strict=True):
                if result["status"] == "rejected":
                    ctx.ledger.anomaly(f"late upload {scan.id} rejected: {result.get('reason')}")
                    continue
                duplicate = result["status"] == "duplicate"
                _record(ctx, scan, str(result.get("verdict")), duplicate, retried)

    def plan(self) -> None:
        """Every scan of the day, and the offline kiosk's upload."""
        ctx, rng, profile = self.ctx, self.ctx.rng, self.ctx.profile
        people = list(ctx.fair.at_gate)
        replaced = {s.id: old for s, old in ctx.fair.replaced}
        candidates = [s.id for s in people if s.id not in replaced]
        offline_people = set(candidates[: profile.offline_scans])
        for seeker in people:
            subject = f"s:{seeker.id}"
            if seeker.id in offline_people:
                at = rng.uniform(self.off_at, self.back_at - 1e-6)
                self.scan(seeker.badge, at, "entered", subject, seeker.school, self.offline)
                if rng.random() < 0.4:
                    back = rng.uniform(at, self.back_at - 1e-6)
                    self.queued[-1].reentry = True
                    self.scan(seeker.badge, back, "entered", subject, seeker.school)
                ctx.arrivals[seeker.id] = at
                continue
            at = arrival(ctx)
            ctx.arrivals[seeker.id] = at
            first: tuple[Step, ...] = ()
            if seeker.id in replaced:  # the lost badge first, refused; then the new one
                step = self.scan(replaced[seeker.id], at, "revoked", subject)
                first = (step,) if step else ()
            self.scan(seeker.badge, at, "entered", subject, seeker.school, after=first)
            if ctx.chance(profile.reentry_share):
                back = min(0.97, at + rng.uniform(0.05, 0.5))
                self.scan(seeker.badge, back, "entered", subject, seeker.school)
                if ctx.chance(0.1):
                    self.scan(
                        seeker.badge, min(0.98, back + 0.02), "entered", subject, seeker.school
                    )
        self._plan_refused()
        if self.queued:
            ctx.day.add(self.back_at, LANE, self._upload, tuple(self.in_window))

    def _plan_refused(self) -> None:
        ctx, rng, profile = self.ctx, self.ctx.rng, self.ctx.profile
        pool = ctx.fair.at_gate
        texts: list[str] = []
        for n in range(profile.forged):
            real = rng.choice(pool).badge
            kind = n % 4
            if kind == 0:  # a changed signature
                text = real[:-3] + ("AAA" if real[-3:] != "AAA" else "BBB")
            elif kind == 1:  # the same forgery tried again at another gate
                text = texts[-1]
            elif kind == 2:  # a QR code that is no badge at all
                text = f"HTTPS://MP.WEIXIN.QQ.COM/S/FAKE{n:05d}"
            else:  # a badge cut short
                text = real[: len(real) // 3]
            texts.append(text)
            at = rng.uniform(self.off_at, self.back_at) if n == 2 else rng.uniform(0.0, 0.9)
            kiosk = self.offline if n == 2 else None
            self.scan(text, at, "invalid_badge", f"b:{text}", kiosk=kiosk)
        for seeker in ctx.fair.revoked:
            at = arrival(ctx)
            self.scan(seeker.badge, at, "revoked", f"s:{seeker.id}")
            if ctx.chance(0.3):
                self.scan(seeker.badge, min(0.99, at + 0.01), "revoked", f"s:{seeker.id}")
        for badge in ctx.fair.foreign:
            self.scan(badge, arrival(ctx), "wrong_fair", f"b:{badge}")
