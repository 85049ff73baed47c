"""What a simulated quarter sent to an alliance, counted the obvious way, and the same figures
as /v1/alliances/{a}/stats shows them.

Both sides are flat {figure name: number} maps, so `report.compare` can set them side by side:
`{slug}:totals.hires.unique`, `{slug}:member.<name>.training_signups.total`,
`{slug}:member.<name>.at_fairs.hires.total`, `{slug}:offer.<label>.seats`,
`{slug}:occupation.<name>.skilled`, `{slug}:channel.fair.hires.total`,
`{slug}:subsidy.<name>.<semester>.amount_fen`, `{slug}:training_subsidy_fen`. Money is in fen
(1/100 yuan), so every figure is a whole number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fairhub.events import ALLIANCE_METRICS
from fairhub.registry import phone_key

METRIC_OF = {
    "training_signup": "training_signups",
    "training_completed": "training_completions",
    "skill_certified": "certifications",
    "internship_started": "internships",
    "hired": "hires",
}


def person_of(event: dict[str, Any]) -> str:
    """Who an event counts as: a seeker by id, anyone else by their phone number."""
    if event.get("seeker_id"):
        return f"s:{event['seeker_id']}"
    return f"p:{phone_key(event['phone'])}"


def fen(amount: Any) -> int:
    """Yuan (a number from JSON, or a Decimal) in fen, exactly."""
    return int(Decimal(str(amount)) * 100)


@dataclass
class Cell:
    """One figure's events (total) and distinct persons (unique)."""

    total: int = 0
    persons: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Offer:
    """An offer as the ledger names it: a label a person reads, and what it counts under."""

    id: str
    label: str
    institution: str
    occupation: str
    seats: int
    subsidy: Decimal
    enterprises: tuple[str, ...] = ()  # the project class's enterprises, by name


class TrainingLedger:
    """One alliance's expected figures, added to as the simulator plans each event."""

    def __init__(self, slug: str, share: Decimal, per_post: Decimal) -> None:
        self.slug = slug
        self.share, self.per_post = share, per_post
        self.cells: dict[str, Cell] = defaultdict(Cell)
        self.fixed: dict[str, int] = defaultdict(int)
        self.interns: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.staff: dict[str, int | None] = {}
        self.offers: dict[str, Offer] = {}

    def registry(
        self, members: Iterable[dict[str, Any]], demands: Iterable[dict[str, Any]]
    ) -> None:
        """Demand and seats per member and occupation, as the loaded sheets hold them."""
        for m in members:
            self.staff[m["name"]] = m["staff"] or None
        for d in demands:
            self.fixed[f"member.{d['member']}.demand"] += d["headcount"]
            self.fixed[f"occupation.{d['occupation']}.{d['category']}"] += d["headcount"]
        for offer in self.offers.values():
            self.fixed[f"member.{offer.institution}.seats"] += offer.seats
            self.fixed[f"occupation.{offer.occupation}.seats"] += offer.seats
            self.fixed[f"offer.{offer.label}.seats"] += offer.seats

    def count(
        self,
        event: dict[str, Any],
        *,
        member: str | None = None,
        offer: Offer | None = None,
        occupation: str | None = None,
    ) -> None:
        """An event the alliance must count: in its totals, member, offer, occupation, channel."""
        metric, person = METRIC_OF[event["type"]], person_of(event)
        places = ["totals"]
        if offer is not None:
            member = offer.institution
            places.append(f"offer.{offer.label}")
            if event["type"] != "skill_certified":
                occupation = offer.occupation
        if event["type"] in ("skill_certified", "hired"):
            occupation = event.get("occupation")
        if member is not None:
            places.append(f"member.{member}")
        if occupation is not None:
            places.append(f"occupation.{occupation}")
        if event["type"] == "hired":
            places.append(f"channel.{event['channel']}")
        if event["type"] == "internship_started" and member is not None:
            self.interns[(member, event["semester"])].add(person)
        for place in places:
            cell = self.cells[f"{place}.{metric}"]
            cell.total += 1
            cell.persons.add(person)

    def at_fair(self, member: str, seeker: str) -> None:
        """A hire a member's employer recorded at one of the alliance's fairs."""
        cell = self.cells[f"member.{member}.at_fairs.hires"]
        cell.total += 1
        cell.persons.add(seeker)

    def internship_subsidy(self, member: str, posts: int) -> Decimal:
        """The rule as stated: posts times the amount once the interns reach the share."""
        staff = self.staff.get(member)
        if not staff or posts < self.share * staff:
            return Decimal(0)
        return posts * self.per_post

    def expected(self) -> dict[str, int]:
        """Every figure the alliance's /stats must show, under this ledger's names."""
        out: dict[str, int] = {}
        for key, cell in self.cells.items():
            out[f"{key}.total"] = cell.total
            out[f"{key}.unique"] = len(cell.persons)
        out.update(self.fixed)
        training = Decimal(0)
        for offer in self.offers.values():
            done = len(self.cells[f"offer.{offer.label}.training_completions"].persons)
            out[f"offer.{offer.label}.training_subsidy_fen"] = fen(done * offer.subsidy)
            training += done * offer.subsidy
        out["training_subsidy_fen"] = fen(training)
        for (member, semester), persons in self.interns.items():
            out[f"subsidy.{member}.{semester}.posts"] = len(persons)
            amount = self.internship_subsidy(member, len(persons))
            out[f"subsidy.{member}.{semester}.amount_fen"] = fen(amount)
        return {f"{self.slug}:{k}": v for k, v in out.items() if v or "subsidy" in k}


def _cells(out: dict[str, int], place: str, row: dict[str, Any], metrics: Iterable[str]) -> None:
    for metric in metrics:
        figure = row.get(metric) or {"total": 0, "unique": 0}
        out[f"{place}.{metric}.total"] = figure["total"]
        out[f"{place}.{metric}.unique"] = figure["unique"]


def observed(slug: str, stats: dict[str, Any], offers: dict[str, Offer]) -> dict[str, int]:
    """The same figures, read from the alliance's /stats (zeros left out, as the ledger does)."""
    out: dict[str, int] = {}
    _cells(out, "totals", stats["totals"], ALLIANCE_METRICS)
    for row in stats["by_member"]:
        place = f"member.{row['name']}"
        _cells(out, place, row, ALLIANCE_METRICS)
        out[f"{place}.demand"], out[f"{place}.seats"] = row["demand"], row["seats"]
        _cells(out, f"{place}.at_fairs", row["at_fairs"], row["at_fairs"])
    for row in stats["by_offer"]:
        offer = offers.get(row["id"])
        place = f"offer.{offer.label if offer else row['id']}"
        _cells(out, place, row, ALLIANCE_METRICS)
        out[f"{place}.seats"] = row["seats"]
        out[f"{place}.training_subsidy_fen"] = fen(row["training_subsidy"])
    for row in stats["by_occupation"]:
        place = f"occupation.{row['occupation']}"
        _cells(out, place, row, ALLIANCE_METRICS)
        for figure in ("technical", "skilled", "seats"):
            out[f"{place}.{figure}"] = row[figure]
    for channel, figure in stats["hires_by_channel"].items():
        _cells(out, f"channel.{channel}", {"hires": figure}, ["hires"])
    for row in stats["subsidies"]:
        place = f"subsidy.{row['name']}.{row['semester']}"
        out[f"{place}.posts"] = row["internship_posts"]
        out[f"{place}.amount_fen"] = fen(row["amount"])
    out["training_subsidy_fen"] = fen(stats["training_subsidy"])
    return {f"{slug}:{k}": v for k, v in out.items() if v or "subsidy" in k}
