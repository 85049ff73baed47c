"""Alliances: members over time, job demand, the training menu; what their bodies look like.

An alliance (a government-school-enterprise group) has members that join and leave; a fair
may belong to one and then link its employers to members, so a member's figures add up across
fairs. Member enterprises post demand per occupation; member training institutions offer the
training menu. The chain that follows (sign-ups to hires) is events, counted in the alliance's
own space of the events and counters tables (fair_id = the alliance id).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from fairhub.events import Ref
from fairhub.registry import phone_key

# No NUL anywhere: Postgres text cannot hold it.
_NO_NUL = r"^[^\x00]*$"
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_NO_NUL)
]
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=_NO_NUL)
]
# Money and shares as exact decimals, finite and of a sensible size.
Yuan = Annotated[Decimal, Field(ge=0, le=10_000_000, decimal_places=2, allow_inf_nan=False)]
MemberKind = Literal[
    "school",
    "technical_school",
    "vocational_school",
    "enterprise",
    "association",
    "training_institution",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AllianceIn(_In):
    name: Name
    region: Text | None = None
    internship_share: Decimal = Field(
        default=Decimal("0.02"),
        ge=0,
        le=1,
        decimal_places=4,
        allow_inf_nan=False,
        description="Interns per declared staff that earn the subsidy (0.02 is 2 %).",
    )
    internship_subsidy: Yuan = Field(
        default=Decimal(300), description="Yuan per internship post per semester."
    )


class MemberIn(_In):
    kind: MemberKind
    name: Name
    joined_at: date | None = Field(default=None, description="Today when left out.")
    staff: int | None = Field(
        default=None, ge=0, le=10_000_000, strict=True, description="Declared staff."
    )


class LeaveIn(_In):
    left_at: date | None = Field(default=None, description="Today when left out.")


class FairLinkIn(_In):
    fair_id: uuid.UUID
    members_only: bool = Field(default=False, strict=True)


class DemandIn(_In):
    member_id: Ref
    occupation: Text
    category: Literal["technical", "skilled"]
    headcount: int = Field(ge=0, le=1_000_000, strict=True)
    region: Text | None = None
    period: Text | None = None


class OfferIn(_In):
    member_id: Ref = Field(description="The training institution.")
    occupation: Text
    kind: Literal["subsidised", "certification", "project_class"]
    seats: int = Field(ge=0, le=1_000_000, strict=True)
    region: Text | None = None
    credit_stars: int | None = Field(default=None, ge=0, le=5, strict=True)
    subsidy_per_trainee: Yuan = Field(default=Decimal(0), description="Yuan per completion.")
    period: Text | None = None
    demand_ids: list[Ref] = Field(default_factory=list, max_length=200)


def person_key(alliance: str, seeker_id: str | None, phone: str | None) -> str:
    """Who an event is about, as counted: a seeker, or a phone kept only as a digest."""
    if seeker_id:
        return f"s:{seeker_id}"
    digest = hashlib.sha256(f"{alliance}|{phone_key(phone or '')}".encode()).hexdigest()
    return f"p:{digest[:32]}"


async def members(
    conn: asyncpg.Connection, alliance: str, ids: set[str]
) -> dict[str, asyncpg.Record]:
    """The alliance's members among `ids`, with kind, joined_at and left_at."""
    rows = await conn.fetch(
        "SELECT id, kind, name, joined_at, left_at FROM alliance_members"
        " WHERE alliance_id = $1 AND id = any($2::text[])",
        alliance,
        list(ids),
    )
    return {r["id"]: r for r in rows}


def member_problem(row: asyncpg.Record | None, on: date, kind: str | None = None) -> str | None:
    """Why a member cannot be named for something on a day, or None if it can."""
    if row is None:
        return "no such member in this alliance"
    if kind is not None and row["kind"] != kind:
        return f"{row['name']} is a {row['kind']}, not a {kind}"
    if on < row["joined_at"]:
        return f"{row['name']} joined the alliance on {row['joined_at']}"
    if row["left_at"] is not None and on >= row["left_at"]:
        return f"{row['name']} left the alliance on {row['left_at']}"
    return None


async def insert_member(conn: asyncpg.Connection, alliance: str, body: MemberIn) -> str:
    """Add a member; a current member of the same name raises UniqueViolationError."""
    new_id = str(uuid.uuid4())
    await conn.execute(
        "INSERT INTO alliance_members (alliance_id, id, kind, name, staff, joined_at)"
        " VALUES ($1, $2, $3, $4, $5, coalesce($6, current_date))",
        alliance,
        new_id,
        body.kind,
        body.name,
        body.staff,
        body.joined_at,
    )
    return new_id


# A member's kind as a secretary writes it in a spreadsheet.
KIND_WORDS: dict[str, str] = {
    "学校": "school",
    "高校": "school",
    "技工院校": "technical_school",
    "技工学校": "technical_school",
    "职业院校": "vocational_school",
    "职业学校": "vocational_school",
    "企业": "enterprise",
    "协会": "association",
    "行业协会": "association",
    "培训机构": "training_institution",
}


async def employer_member(
    conn: asyncpg.Connection, fair: str, name: str, member_id: str | None
) -> tuple[str | None, str | None]:
    """(member, problem) for an employer a fair registers: named, or found by its name.

    A fair of an alliance links its employers to members current on the fair's first day; a
    members-only fair refuses an employer that is not one (the problem names it).
    """
    fair_row = await conn.fetchrow(
        "SELECT alliance_id::text AS alliance_id, members_only, starts_at::date AS day"
        " FROM fairs WHERE id = $1",
        fair,
    )
    if fair_row is None or fair_row["alliance_id"] is None:
        if member_id is not None:
            return None, "member_id: this fair belongs to no alliance"
        return None, None
    alliance, day = fair_row["alliance_id"], fair_row["day"]
    if member_id is not None:
        found = await members(conn, alliance, {member_id})
        problem = member_problem(found.get(member_id), day)
        return (None, f"member_id: {problem}") if problem else (member_id, None)
    row = await conn.fetchrow(
        "SELECT id FROM alliance_members WHERE alliance_id = $1 AND lower(name) = lower($2)"
        " AND joined_at <= $3 AND (left_at IS NULL OR left_at > $3)",
        alliance,
        name,
        day,
    )
    if row is not None:
        return row["id"], None
    if fair_row["members_only"]:
        return None, f"name: {name} is not a member of the fair's alliance on {day}"
    return None, None


async def link_member(conn: asyncpg.Connection, fair: str, employer: str, member: str) -> None:
    """Remember which member an employer of a fair is, for the member's figures across fairs."""
    await conn.execute(
        "UPDATE employers SET member_id = $3 WHERE fair_id = $1 AND id = $2", fair, employer, member
    )


def number(value: Decimal) -> int | float:
    """A numeric column for JSON: whole yuan as an integer, a share or fraction as a float."""
    return int(value) if value == value.to_integral_value() else float(value)


async def store_offer(
    conn: asyncpg.Connection, alliance: str, offer: str, body: OfferIn, enterprises: list[str]
) -> None:
    """One offer of the menu, as added one by one or imported; `enterprises` are the members
    behind the demand rows of a project class."""
    await conn.execute(
        "INSERT INTO offers (alliance_id, id, member_id, occupation, kind, seats, region,"
        " credit_stars, subsidy_per_trainee, period, demand_ids, enterprise_ids)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        alliance,
        offer,
        body.member_id,
        body.occupation,
        body.kind,
        body.seats,
        body.region,
        body.credit_stars,
        body.subsidy_per_trainee,
        body.period,
        body.demand_ids,
        enterprises,
    )


async def insert_demand(conn: asyncpg.Connection, alliance: str, body: DemandIn) -> str:
    """Store one demand row of a member enterprise checked by the caller; its new id."""
    demand = str(uuid.uuid4())
    await conn.execute(
        "INSERT INTO demands (alliance_id, id, member_id, occupation, category, headcount,"
        " region, period) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        alliance,
        demand,
        body.member_id,
        body.occupation,
        body.category,
        body.headcount,
        body.region,
        body.period,
    )
    return demand
