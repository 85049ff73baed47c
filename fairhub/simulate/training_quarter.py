"""The cast and calendar of a simulated quarter: persons with names and phones, the quarter's
days in working hours, and the requests (`Call`) with the answers each must get."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

CHINA = timezone(timedelta(hours=8))
LEVELS = ("五级/初级工", "四级/中级工", "三级/高级工")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰"


@dataclass(frozen=True)
class Person:
    """Someone the quarter follows: by phone, or by the seeker id of one of the fairs."""

    name: str
    phone: str | None = None
    seeker_id: str | None = None

    def who(self) -> dict[str, str]:
        return {"seeker_id": self.seeker_id} if self.seeker_id else {"phone": str(self.phone)}


@dataclass
class Call:
    """One planned request: where, with which token, the body, and the answers it must get.

    `expect` holds one (status, field) per event: accepted, duplicate, or rejected naming the
    field; a menu sign-up is one event with status 201 or 422."""

    path: str
    token: str | None
    events: list[dict[str, Any]]
    expect: list[tuple[str, str | None]]
    menu: bool = False


@dataclass
class Quarter:
    """The quarter being played, and the plan so far."""

    first: date
    last: date
    rng: random.Random
    calls: list[Call] = field(default_factory=list)
    serial: int = 0

    @classmethod
    def before(cls, today: date, rng: random.Random) -> Quarter:
        """The last whole quarter before today: its events are all in the past."""
        start_month = 3 * ((today.month - 1) // 3) + 1
        this = date(today.year, start_month, 1)
        last = this - timedelta(days=1)
        return cls(date(last.year, 3 * ((last.month - 1) // 3) + 1, 1), last, rng)

    def at(self, not_before: date | None = None) -> str:
        """A working-hours moment of the quarter (on or after a member's joining day)."""
        days = (self.last - self.first).days
        day = self.first + timedelta(days=self.rng.randrange(days + 1))
        if not_before is not None and day < not_before:
            day = not_before
        moment = datetime.combine(day, time(9 + self.rng.randrange(8), self.rng.randrange(60)))
        return moment.replace(tzinfo=CHINA).isoformat()

    def event(self, kind: str, when: str, **fields: Any) -> dict[str, Any]:
        self.serial += 1
        return {"id": f"q-{self.serial:07d}", "type": kind, "occurred_at": when, **fields}


class People:
    """Distinct persons with plausible names and phone numbers.

    A seeker is named by a placeholder id until the simulator registers it at the alliance's
    fair (`Plan.seekers`); an alliance without a fair has no seekers, only phones.
    """

    def __init__(self, rng: random.Random, tag: str, *, with_seekers: bool) -> None:
        self.rng, self.tag, self.made = rng, tag, 0
        self.with_seekers = with_seekers

    def one(self, seeker: bool = False) -> Person:
        self.made += 1
        name = self.rng.choice(SURNAMES) + "".join(self.rng.sample(GIVEN, 2))
        if seeker and self.with_seekers:
            return Person(name, seeker_id=f"{self.tag}-seeker-{self.made}")
        return Person(name, phone=f"13{self.rng.randrange(10**9):09d}")

    def many(self, count: int, seekers: float = 0.1) -> list[Person]:
        return [self.one(self.rng.random() < seekers) for _ in range(count)]
