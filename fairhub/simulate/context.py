"""What every group of simulated clients shares: the server, the day, the fair, the ledger."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from fairhub.simulate.build import Employer, Fair, Position, Seeker
from fairhub.simulate.client import Api
from fairhub.simulate.day import Clock, Day, Step
from fairhub.simulate.ledger import Ledger
from fairhub.simulate.profiles import Profile


@dataclass
class Context:
    api: Api
    day: Day
    clock: Clock
    fair: Fair
    profile: Profile
    ledger: Ledger
    rng: random.Random
    arrivals: dict[str, float] = field(default_factory=dict)  # seeker id -> first scan
    resumes: list[Resume] = field(default_factory=list)
    employers: dict[str, Employer] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.employers = {e.id: e for e in self.fair.employers}

    def chance(self, share: float) -> bool:
        return self.rng.random() < share

    def path(self, tail: str) -> str:
        return f"/v1/fairs/{self.fair.id}/{tail}"


@dataclass(eq=False)
class Resume:
    """A résumé a seeker sends; `server_id` is what the gateway answered."""

    seq: int
    seeker: Seeker
    employer: Employer
    position: Position | None
    channel: str
    at: float
    session_id: str | None = None
    extra: tuple[str, ...] = ()  # the session's figures it adds to, for a résumé from a stream
    step: Step | None = None
    server_id: str | None = None
