# ruff: noqa: RUF001
"""A livestream (直播带岗): the host runs it, viewers watch, ask, and apply from their phones.

The host starts the session, pins one position after another and stops it. Viewers open the
viewer page, join (some retry the join with its id: one view), beat, ask an employer a
question (some with their badge), apply with a résumé for what is pinned, and leave or just
go silent; some come back later (a second view). Each pin change waits for everything before
it and everything after waits for it, so every join, question and résumé belongs to exactly
one pin, as the workers will attribute it by its time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fairhub.simulate.build import Position, Seeker, Session
from fairhub.simulate.context import Context, Resume
from fairhub.simulate.day import Action, Step
from fairhub.simulate.dealings import send_resume

LANE = "livestream"
START, STOP = 0.02, 0.96
QUESTIONS = ["实习期多久？", "接受应届生吗？", "工作地点在哪里？", "有没有住宿？", "面试几轮？"]


@dataclass
class Act:
    at: float
    viewer: int
    kind: str  # join, beat, leave, ask, apply
    data: dict[str, Any] = field(default_factory=dict)


class Stream:
    """Plans one session's host and audience."""

    def __init__(self, ctx: Context, session: Session) -> None:
        self.ctx = ctx
        self.session = session
        self.title = session.title
        self.base = f"/live/{session.id}"
        self.host_path = ctx.path(f"live-sessions/{session.id}")
        self._asked = 0
        self._viewer_ids: dict[str, str] = {}  # a simulated viewer -> the id the server issued

    def _figures(self, pin: Position | None, metric: str) -> list[str]:
        """The session's own figures an event adds to: the session, its pin."""
        names = [f"session.{self.title}.{metric}.total"]
        if pin is not None:
            names.append(f"session.{self.title}.by_pin.{pin.title}.{metric}")
        return names

    def _acts(self, pins: list[tuple[float, Position]]) -> list[Act]:
        ctx, rng = self.ctx, self.ctx.rng
        acts: list[Act] = []
        seekers: list[Seeker | None] = [*ctx.fair.live]
        seekers += [None] * max(0, ctx.profile.viewers - len(seekers))
        rng.shuffle(seekers)
        asking = set(rng.sample(range(len(seekers)), min(ctx.profile.questions, len(seekers))))
        first_pin = pins[0][0] if pins else STOP
        for viewer, seeker in enumerate(seekers):
            views = 2 if ctx.chance(ctx.profile.rejoin_share) else 1
            start = rng.uniform(0.0, 0.8)
            for view in range(views):
                end = min(STOP - 0.01, start + rng.uniform(0.02, 0.25))
                join = {"id": f"join-{viewer:06d}-{view}", "retry": ctx.chance(0.05)}
                acts.append(Act(start, viewer, "join", join))
                for n in range(rng.randint(0, 3)):
                    acts.append(Act(start + (end - start) * (n + 1) / 5, viewer, "beat"))
                middle = rng.uniform(start, end)
                if view == 0 and viewer in asking:
                    acts.append(Act(middle, viewer, "ask", {"seeker": seeker}))
                if view == 0 and seeker is not None and middle >= first_pin:
                    acts.append(Act(rng.uniform(middle, end), viewer, "apply", {"seeker": seeker}))
                if ctx.chance(0.8):
                    acts.append(Act(end, viewer, "leave"))
                start = min(0.9, end + rng.uniform(0.01, 0.1))
        return acts

    def plan(self) -> None:
        """The host's calls and the audience's, with each pin change a barrier."""
        ctx, rng, session = self.ctx, self.ctx.rng, self.session
        count = min(ctx.profile.pins, len(session.positions))
        shown = rng.sample(session.positions, count)
        pins = [(0.08 + k * (STOP - 0.12) / max(1, count), p) for k, p in enumerate(shown)]
        acts = self._acts(pins)
        barriers: list[tuple[float, str, Position | None]] = [(START, "start", None)]
        barriers += [(at, "pin", p) for at, p in pins]
        barriers.append((STOP, "stop", None))
        timeline: list[tuple[float, int, Any]] = [(b[0], 0, b) for b in barriers]
        timeline += [(a.at, 1, a) for a in acts]
        timeline.sort(key=lambda item: (item[0], item[1]))
        last: Step | None = None
        since: list[Step] = []
        pinned: Position | None = None
        by_viewer: dict[int, Step] = {}
        for at, kind, item in timeline:
            if kind == 0:
                _, what, position = item
                pinned = position if what == "pin" else (None if what == "stop" else pinned)
                after = [*since, *([last] if last else [])]
                last = ctx.day.add(at, LANE, self._host(what, position), after)
                since = []
                continue
            act: Act = item
            after = [s for s in (last, by_viewer.get(act.viewer)) if s is not None]
            step = self._act(act, pinned, after)
            by_viewer[act.viewer] = step
            since.append(step)

    def _host(self, what: str, position: Position | None) -> Action:
        ctx, token = self.ctx, self.session.host_token

        async def host() -> None:
            if what == "pin":
                assert position is not None
                body = {"position_id": position.id}
                await ctx.api.call("PUT", self.host_path + "/pin", token, json_body=body)
            else:
                await ctx.api.call("POST", f"{self.host_path}/{what}", token)

        return host

    def _act(self, act: Act, pin: Position | None, after: list[Step]) -> Step:
        ctx = self.ctx
        if act.kind == "apply":
            seeker: Seeker = act.data["seeker"]
            employer_id = pin.employer_id if pin else ctx.rng.choice(self.session.employer_ids)
            employer = ctx.employers[employer_id]
            extra = [
                *self._figures(pin, "resumes_submitted"),
                f"session.{self.title}.by_employer.{employer.name}.resumes_submitted",
                f"live_session.{self.title}.resumes",
            ]
            resume = Resume(
                len(ctx.resumes), seeker, employer, pin, "live", act.at, self.session.id,
                tuple(extra),
            )  # fmt: skip
            return send_resume(ctx, resume, after)
        return ctx.day.add(act.at, LANE, self._viewer(act, pin), after)

    async def _viewer_id(self, name: str) -> str:
        """The server's signed id of the simulated viewer `name`, asked for once as the viewer
        page does (a viewer's acts run one after another, so never twice at once)."""
        known = self._viewer_ids.get(name)
        if known is None:
            _, answer = await self.ctx.api.call(
                "POST", self.base + "/viewer", json_body={}, expect=(201,)
            )
            known = self._viewer_ids[name] = str(answer["viewer_id"])
        return known

    def _viewer(self, act: Act, pin: Position | None) -> Action:
        ctx, viewer = self.ctx, f"viewer-{self.session.id[:8]}-{act.viewer:06d}"
        title = self.title
        if act.kind == "ask":
            return self._ask(act, pin, viewer)

        async def presence() -> None:
            viewer_id = await self._viewer_id(viewer)
            body: dict[str, Any] = {"viewer_id": viewer_id, "kind": act.kind}
            if act.kind == "join":
                await ctx.api.call("GET", self.base + ".json")  # the viewer page loads first
                body["id"] = act.data["id"]
            for _ in range(2 if act.data.get("retry") else 1):
                await ctx.api.call("POST", self.base + "/presence", json_body=body, expect=(200,))
            if act.kind == "join":
                ctx.ledger.add(
                    "live_views",
                    act.data["id"],
                    f"v:{viewer_id}",
                    [*self._figures(pin, "live_views"), f"live_session.{title}.views"],
                    [f"session.{title}.live_views.unique", f"live_session.{title}.unique_viewers"],
                )

        return presence

    def _ask(self, act: Act, pin: Position | None, viewer: str) -> Action:
        ctx, title = self.ctx, self.title
        seeker: Seeker | None = act.data["seeker"]
        employer_id = pin.employer_id if pin else ctx.rng.choice(self.session.employer_ids)
        employer = ctx.employers[employer_id]
        self._asked += 1
        body = {
            "id": f"ask-{self.session.id[:8]}-{self._asked:06d}",
            "employer_id": employer_id,
            "question": ctx.rng.choice(QUESTIONS),
        }
        with_badge = seeker is not None and ctx.chance(0.5)
        if with_badge:
            assert seeker is not None
            body["badge"] = seeker.badge
        retry = ctx.chance(ctx.profile.retry_share)

        async def ask() -> None:
            body["viewer_id"] = await self._viewer_id(viewer)
            subject = f"s:{seeker.id}" if with_badge and seeker else f"v:{body['viewer_id']}"
            for again in (False, True) if retry else (False,):
                _, answer = await ctx.api.call(
                    "POST", self.base + "/questions", json_body=body, expect=(202,)
                )
                if again and answer["status"] != "duplicate":
                    ctx.ledger.anomaly(f"question {body['id']} asked again was {answer['status']}")
                ctx.ledger.add(
                    "consultations",
                    body["id"],
                    subject,
                    [
                        *self._figures(pin, "consultations"),
                        f"session.{title}.by_employer.{employer.name}.consultations",
                        f"by_employer.{employer.name}.consultations",
                        f"live_session.{title}.consultations",
                    ],
                    [f"session.{title}.consultations.unique"],
                )

        return ask
