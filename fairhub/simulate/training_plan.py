"""A quarter after the fairs, planned event by event: sign-ups (from the menu page and as
events), completions, certificates, internships around the 2 % rule, hires through every
channel, resends of the same ids and references the API must refuse.

Each planned call says what the API must answer (accepted, duplicate, or rejected naming the
field), and each accepted event is counted in the alliance's ledger as it is planned, so the
ledger never learns anything from the server.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from fairhub.seeds import Loaded
from fairhub.simulate.training_ledger import Offer, TrainingLedger
from fairhub.simulate.training_quarter import CHINA, LEVELS, Call, People, Person, Quarter

# Sign-ups from the phone page per alliance, under its limit per address and hour (300).
PHONE_SIGNUPS = 250


def offers_of(loaded: Loaded) -> list[Offer]:
    """The loaded offers as the ledger names them (by their line in the menu sheet)."""
    by_id = {m["id"]: name for name, m in loaded.members.items()}
    return [
        Offer(
            id=o["id"],
            label=f"L{o['line']}·{o['occupation']}",
            institution=o["member"],
            occupation=o["occupation"],
            seats=o["seats"],
            subsidy=Decimal(o.get("subsidy_per_trainee") or 0),
            enterprises=tuple(by_id[e] for e in o.get("enterprise_ids", [])),
        )
        for o in loaded.offers
    ]


def current(loaded: Loaded, kind: str) -> list[str]:
    """Names of the members of a kind that have not left."""
    return [n for n, m in loaded.members.items() if m["kind"] == kind and not m.get("left_at")]


class Plan:
    """One alliance's quarter: the events to send, each counted in its ledger when planned."""

    def __init__(self, quarter: Quarter, loaded: Loaded, ledger: TrainingLedger) -> None:
        self.q, self.loaded, self.ledger = quarter, loaded, ledger
        self.rng = quarter.rng
        self.people = People(quarter.rng, loaded.seed.slug, with_seekers=loaded.fair is not None)
        self.events: list[tuple[dict[str, Any], tuple[str, str | None]]] = []
        self.fair_events: dict[str, list[dict[str, Any]]] = {}  # by employer token
        self.menu: list[Call] = []

    def member(self, name: str) -> str:
        return str(self.loaded.members[name]["id"])

    def when(self, name: str | None = None) -> str:
        joined = self.loaded.members[name].get("joined_at") if name else None
        return self.q.at(date.fromisoformat(joined) if joined else None)

    def send(
        self,
        kind: str,
        *,
        member: str | None = None,
        offer: Offer | None = None,
        person: Person,
        **fields: Any,
    ) -> None:
        """An event the alliance must accept and count."""
        if member is not None:
            fields["member_id"] = self.member(member)
        if offer is not None:
            fields["offer_id"] = offer.id
        event = self.q.event(kind, self.when(member), **fields, **person.who())
        self.events.append((event, ("accepted", None)))
        self.ledger.count(event, member=member, offer=offer)

    def refuse(self, field_name: str, event: dict[str, Any]) -> None:
        """An event the alliance must reject, naming the field at fault."""
        self.events.append((event, ("rejected", field_name)))

    def sign_up_on_phone(self, offer: Offer, person: Person) -> None:
        """A sign-up from the public menu page: name and phone, as a phone sends them."""
        body = {"offer_id": offer.id, "name": person.name, "phone": person.phone}
        path = f"/a/{self.loaded.id}/menu/signup"
        self.menu.append(Call(path, None, [body], [("201", None)], menu=True))
        self.ledger.count({"type": "training_signup", **person.who()}, offer=offer)

    def training(self, share: float) -> None:
        """Sign-ups to every offer, then completions, certificates and hires from them."""
        offers = offers_of(self.loaded)
        self.ledger.offers = {o.id: o for o in offers}
        wanted = [max(1, round(o.seats * share)) for o in offers]
        pool = self.people.many(max(2, int(sum(wanted) * 0.8)))
        firms = current(self.loaded, "enterprise")
        by_job: dict[str, list[str]] = {}
        for d in self.loaded.demands:
            by_job.setdefault(d["occupation"], []).append(d["member"])
        for offer, count in zip(offers, wanted, strict=True):
            trainees = self.rng.sample(pool, min(count, len(pool)))
            for person in trainees:
                if person.phone and self.rng.random() < 0.25 and len(self.menu) < PHONE_SIGNUPS:
                    self.sign_up_on_phone(offer, person)
                else:
                    self.send("training_signup", offer=offer, person=person)
            for person in trainees:
                if self.rng.random() > 0.7:
                    continue
                self.send("training_completed", offer=offer, person=person)
                if self.rng.random() > 0.6:
                    continue
                level = self.rng.choice(LEVELS)
                self.send(
                    "skill_certified",
                    offer=offer,
                    person=person,
                    occupation=offer.occupation,
                    level=level,
                )
                employers = list(offer.enterprises) or by_job.get(offer.occupation) or firms
                if employers and self.rng.random() < 0.6:
                    self.send(
                        "hired",
                        member=self.rng.choice(employers),
                        person=person,
                        occupation=offer.occupation,
                        channel="training",
                    )
        for person in self.people.many(max(1, len(offers) // 10)):  # certified without a course
            occupation = self.rng.choice(sorted(by_job) or ["电工"])
            self.send("skill_certified", person=person, occupation=occupation, level=LEVELS[1])
        self.bad_offers(pool[0])

    def bad_offers(self, person: Person) -> None:
        """An offer that does not exist, as an event and from the phone page."""
        when = self.q.at()
        self.refuse(
            "offer_id",
            self.q.event("training_signup", when, offer_id="no-such-offer", **person.who()),
        )
        body = {"offer_id": "no-such-offer", "name": person.name, "phone": "13900000000"}
        path = f"/a/{self.loaded.id}/menu/signup"
        self.menu.append(Call(path, None, [body], [("422", "offer_id")], menu=True))

    def internships(self, semesters: tuple[str, ...], firms_share: float) -> None:
        """Interns at enterprises at, just under and over 2 % of their staff, per semester."""
        share = self.ledger.share
        firms = [
            n
            for n in current(self.loaded, "enterprise")
            if 100 <= (self.loaded.members[n]["staff"] or 0) <= 600
        ]
        chosen = firms[: max(3, round(len(firms) * firms_share))]
        for n, name in enumerate(chosen):
            threshold = math.ceil(share * self.loaded.members[name]["staff"])
            for s, semester in enumerate(semesters):
                posts = threshold + (-1, 0, 1)[(n + s) % 3]
                interns = self.people.many(posts, seekers=0.0)
                for person in interns:
                    self.send("internship_started", member=name, person=person, semester=semester)
                    if self.rng.random() < 0.3:
                        self.send("hired", member=name, person=person, channel="internship")
                if interns and n == 0:  # the same intern sent again under a new id
                    self.send(
                        "internship_started", member=name, person=interns[0], semester=semester
                    )
        self.bad_members(semesters[0])

    def bad_members(self, semester: str) -> None:
        """A member that left (on its last day and after), a school as an enterprise."""
        person = self.people.one()
        for m in self.loaded.members.values():
            if m.get("left_at"):
                when = datetime.combine(date.fromisoformat(m["left_at"]), time(10))
                event = self.q.event(
                    "internship_started",
                    when.replace(tzinfo=CHINA).isoformat(),
                    member_id=m["id"],
                    semester=semester,
                    **person.who(),
                )
                self.refuse("member_id", event)
                break
        schools = current(self.loaded, "technical_school") + current(self.loaded, "school")
        if schools:
            event = self.q.event(
                "internship_started",
                self.q.at(),
                semester=semester,
                member_id=self.member(schools[0]),
                **person.who(),
            )
            self.refuse("member_id", event)

    def hires(self, channels: tuple[str, ...], per_channel: int) -> None:
        """Hires a member's employer reports to the alliance, through the channels named."""
        firms = current(self.loaded, "enterprise")
        fair = self.loaded.fair
        for channel in channels:
            for person in self.people.many(per_channel, seekers=0.2):
                extra: dict[str, Any] = {"channel": channel}
                if channel == "fair" and fair is not None:
                    extra["fair_id"] = fair["id"]
                if self.rng.random() < 0.7:
                    extra["occupation"] = self.rng.choice(("焊工", "电工", "钳工", "装配工"))
                self.send("hired", member=self.rng.choice(firms), person=person, **extra)
        person = self.people.one()
        self.refuse(
            "member_id",
            self.q.event(
                "hired", self.q.at(), member_id="no-such-member", channel="other", **person.who()
            ),
        )
        self.refuse(
            "fair_id",
            self.q.event(
                "hired",
                self.q.at(),
                channel="fair",
                member_id=self.member(firms[0]),
                fair_id="00000000-0000-4000-8000-000000000000",
                **person.who(),
            ),
        )

    def fair_hires(self, share: float) -> None:
        """Hires the fair's employers record at the fair: their member is implied."""
        fair = self.loaded.fair
        if fair is None:
            return
        names = sorted(fair["employers"])
        seekers = [f"{self.loaded.seed.slug}-fair-seeker-{n}" for n in range(len(names) * 2)]
        for name in names[: max(2, round(len(names) * share))]:
            employer = fair["employers"][name]
            for seeker in self.rng.sample(seekers, self.rng.randrange(1, 4)):
                occupation = self.rng.choice(("数控车工", "电工", "质检员"))
                event = self.q.event(
                    "hired",
                    self.q.at(),
                    employer_id=employer["id"],
                    seeker_id=seeker,
                    occupation=occupation,
                    channel="fair",
                )
                self.fair_events.setdefault(employer["token"], []).append(event)
                self.ledger.at_fair(name, seeker)

    def _naming_seekers(self) -> list[dict[str, Any]]:
        """The planned events (alliance's and fairs') that name a seeker."""
        fair_events = [e for events in self.fair_events.values() for e in events]
        return [e for e in [e for e, _ in self.events] + fair_events if e.get("seeker_id")]

    def seekers(self) -> dict[str, str]:
        """Placeholder seeker id -> a name, for every seeker the planned events name."""
        named = sorted({e["seeker_id"] for e in self._naming_seekers()})
        return {seeker: f"{self.loaded.seed.slug} {seeker}" for seeker in named}

    def rename_seekers(self, registered: dict[str, str]) -> None:
        """Name the seekers by the ids the fair gave them when registered (one for one, so
        every figure the ledger expects stays the same)."""
        for event in self._naming_seekers():
            event["seeker_id"] = registered[event["seeker_id"]]

    def calls(self, resend_share: float, batch: int = 100) -> list[list[Call]]:
        """The requests in two waves: every event once, then resends of some (duplicates)."""
        base = f"/v1/alliances/{self.loaded.id}/events"
        secretary = self.loaded.secretary
        first: list[Call] = list(self.menu)
        order = list(self.events)
        self.rng.shuffle(order)
        for n in range(0, len(order), batch):
            chunk = order[n : n + batch]
            first.append(Call(base, secretary, [e for e, _ in chunk], [x for _, x in chunk]))
        again = [e for e, (status, _) in self.events if status == "accepted"]
        again = self.rng.sample(again, max(1, round(len(again) * resend_share))) if again else []
        second = [Call(base, secretary, again, [("duplicate", None)] * len(again))] if again else []
        if self.loaded.fair is not None:
            fair_path = f"/v1/fairs/{self.loaded.fair['id']}/events"
            for token, events in self.fair_events.items():
                first.append(Call(fair_path, token, events, [("accepted", None)] * len(events)))
                second.append(Call(fair_path, token, events[:1], [("duplicate", None)]))
        return [first, second]
