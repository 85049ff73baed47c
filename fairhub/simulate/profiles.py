"""The days `fairhub simulate` can play: how many of everything, and how the crowd arrives."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

FairKind = Literal["onsite", "live", "hybrid"]


@dataclass(frozen=True)
class Profile:
    """A day's cast and counts; `scaled` shrinks the counts and keeps the shape."""

    name: str
    kind: FairKind
    title: str
    # The registry, imported from spreadsheets.
    employers: int
    positions: int
    no_shows: int  # registered seekers who never come nor send anything
    # At the gate.
    at_gate: int  # seekers who come in (each once; some come back: re-entries)
    gates: tuple[str, ...]
    kiosks_per_gate: int
    rush_share: float  # of arrivals in the opening rush
    rush_minutes: int
    reentry_share: float  # of those at the gate who go out and come back
    retry_share: float  # of scans a kiosk sends twice with the same id (a lost answer)
    forged: int  # scans of forged, truncated or foreign-QR badges
    revoked: int  # seekers the organizer revoked, whose badges are still scanned
    replaced: int  # seekers who lost a badge: the old one is scanned, then the new
    foreign: int  # another fair's genuine badges
    offline_scans: int  # scans queued by a kiosk that is offline for ten minutes
    # Phones, résumés, employers.
    page_visits: int  # landings on employers' and positions' public pages
    visits_per_phone: int
    senders: int  # distinct seekers who send résumés
    online_share: float  # of senders who never come: they send from home (channel online)
    downloads: int  # distinct résumés employers download
    intents: int
    booth_scans: int
    # Livestream.
    viewers: int = 0  # distinct viewer ids
    rejoin_share: float = 0.0  # of viewers who leave and watch again (a second view)
    questions: int = 0
    live_senders: int = 0  # distinct seekers who apply from the stream
    pins: int = 0
    session_employers: int = 0
    clients: int = 32  # concurrent HTTP clients

    def scaled(self, scale: float) -> Profile:
        """Every count times `scale`, each case kept at least once so every path still runs."""
        if scale == 1:
            return self

        def shrink(value: int, least: int = 1) -> int:
            return 0 if value == 0 else max(least, round(value * scale))

        counts: dict[str, Any] = {
            f.name: shrink(getattr(self, f.name), _LEAST.get(f.name, 1))
            for f in dataclasses.fields(self)
            if f.type == "int" and f.name not in _FIXED
        }
        return dataclasses.replace(self, **counts)


# Not counts of people: the hall's equipment and the client's width stay as they are.
_FIXED = frozenset({"kiosks_per_gate", "visits_per_phone", "pins", "session_employers", "clients"})
_LEAST = {
    "forged": 4,
    "employers": 4,
    "positions": 8,
    "at_gate": 8,
    "offline_scans": 3,
    "viewers": 6,
}

ONSITE = Profile(
    name="onsite",
    kind="onsite",
    title="高校毕业生春季双选会",
    employers=80,
    positions=2300,
    no_shows=560,
    at_gate=1500,
    gates=("东门", "西门", "南门", "北门"),
    kiosks_per_gate=2,
    rush_share=0.45,
    rush_minutes=60,
    reentry_share=0.2,
    retry_share=0.03,
    forged=24,
    revoked=10,
    replaced=6,
    foreign=8,
    offline_scans=40,
    page_visits=60_000,
    visits_per_phone=40,
    senders=2000,
    online_share=0.35,
    downloads=1200,
    intents=1100,
    booth_scans=2400,
)

BURST = dataclasses.replace(
    ONSITE,
    name="burst",
    title="校园招聘会开场高峰",
    employers=40,
    positions=800,
    no_shows=200,
    at_gate=3000,
    gates=("东门", "西门", "南门", "北门", "一号门", "二号门"),
    kiosks_per_gate=4,
    rush_share=0.9,
    rush_minutes=15,
    reentry_share=0.05,
    offline_scans=80,
    page_visits=6000,
    visits_per_phone=4,
    senders=300,
    online_share=0.1,
    downloads=150,
    intents=60,
    booth_scans=300,
    clients=64,
)

LIVESTREAM = Profile(
    name="livestream",
    kind="hybrid",
    title="直播带岗专场",
    employers=12,
    positions=240,
    no_shows=300,
    at_gate=0,
    gates=(),
    kiosks_per_gate=0,
    rush_share=0.0,
    rush_minutes=0,
    reentry_share=0.0,
    retry_share=0.03,
    forged=0,
    revoked=0,
    replaced=0,
    foreign=0,
    offline_scans=0,
    page_visits=0,
    visits_per_phone=1,
    senders=200,
    online_share=1.0,
    downloads=300,
    intents=80,
    booth_scans=0,
    viewers=3000,
    rejoin_share=0.25,
    questions=400,
    live_senders=500,
    pins=6,
    session_employers=8,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (ONSITE, LIVESTREAM, BURST)}
