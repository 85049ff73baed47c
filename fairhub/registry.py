"""The registry's shapes and its bulk inserts, shared by the API (one item) and CSV imports.

Every insert takes a list and writes it with one statement (unnest of arrays), so a file of
2,300 positions is one round trip, inside the caller's transaction.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Annotated

import asyncpg
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from fairhub import badges
from fairhub.events import Count, Ref
from fairhub.sql import query

# Names come from spreadsheets: trimmed, no NUL (Postgres text cannot hold it), bounded.
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00]*$"),
]
LongText = Annotated[str, StringConstraints(max_length=4000, pattern=r"^[^\x00]*$")]
_PHONE_NOISE = re.compile(r"[\s()\-.]")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EmployerIn(_In):
    name: Text
    booth: Text | None = None
    industry: Text | None = None


class EmployerPatch(_In):
    name: Text | None = None
    booth: Text | None = None
    industry: Text | None = None


# Monthly pay in yuan; a million a month bounds typos, not salaries.
Yuan = Annotated[Count, Field(ge=0, le=1_000_000)]


class _Pay(_In):
    """Pay and place, shared by a new position and a change to one."""

    salary_min: Yuan | None = Field(default=None, description="Monthly pay from, in yuan.")
    salary_max: Yuan | None = Field(
        default=None, description="Monthly pay up to, in yuan; not below salary_min."
    )
    salary_text: Text | None = Field(
        default=None, description="Pay in words when there is no figure, e.g. 面议."
    )
    location: Text | None = Field(default=None, description="Where the work is, e.g. 上海浦东.")

    @field_validator("salary_max")
    @classmethod
    def _range_in_order(cls, value: int | None, info: ValidationInfo) -> int | None:
        low = info.data.get("salary_min")
        if value is not None and low is not None and low > value:
            raise ValueError(f"below salary_min ({low})")
        return value


class PositionIn(_Pay):
    employer_id: Ref
    title: Text
    job_type: Text
    headcount: Count = Field(ge=0, le=1_000_000)
    description: LongText | None = None


class PositionPatch(_Pay):
    title: Text | None = None
    job_type: Text | None = None
    headcount: Count | None = Field(default=None, ge=0, le=1_000_000)
    description: LongText | None = None


def _phone(value: str | None) -> str | None:
    if value is None:
        return None
    digits = _PHONE_NOISE.sub("", value)
    if not re.fullmatch(r"\+?[0-9]{5,20}", digits):
        raise ValueError("not a phone number (digits, optionally a leading +)")
    return digits


_CN_MOBILE = re.compile(r"(?:0086|86)(1[0-9]{10})")


def phone_key(phone: str) -> str:
    """A number as compared: digits only, without China's country code (as seekers.phone_key)."""
    digits = re.sub(r"[^0-9]", "", phone)
    mobile = _CN_MOBILE.fullmatch(digits)
    return mobile[1] if mobile else digits


Year = Annotated[Count, Field(ge=1950, le=2100)]


class SeekerIn(_In):
    name: Text
    school: Text | None = None
    major: Text | None = None
    phone: str | None = Field(default=None, max_length=40)
    graduation_year: Year | None = None

    _check_phone = field_validator("phone")(_phone)


class SeekerPatch(_In):
    name: Text | None = None
    school: Text | None = None
    major: Text | None = None
    phone: str | None = Field(default=None, max_length=40)
    graduation_year: Year | None = None

    _check_phone = field_validator("phone")(_phone)


class DeviceIn(_In):
    label: Text
    gate: Text | None = None
    employer_id: Ref | None = Field(default=None, description="Set for a booth's scanner.")


class DevicePatch(_In):
    label: Text | None = None
    gate: Text | None = None


def new_id() -> str:
    return str(uuid.uuid4())


async def insert_employers(
    conn: asyncpg.Connection, fair: str, items: list[EmployerIn]
) -> list[str]:
    """Insert employers; a name already used in the fair raises UniqueViolationError."""
    ids = [new_id() for _ in items]
    await conn.execute(
        "INSERT INTO employers (fair_id, id, name, booth, industry)"
        " SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])",
        fair,
        ids,
        [i.name for i in items],
        [i.booth for i in items],
        [i.industry for i in items],
    )
    return ids


async def insert_positions(
    conn: asyncpg.Connection, fair: str, items: list[PositionIn]
) -> list[str]:
    """Insert positions of existing employers (the caller checked they are live)."""
    ids = [new_id() for _ in items]
    await conn.execute(
        "INSERT INTO positions (fair_id, id, employer_id, title, job_type, headcount, description,"
        " salary_min, salary_max, salary_text, location)"
        " SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[],"
        " $6::integer[], $7::text[], $8::integer[], $9::integer[], $10::text[], $11::text[])",
        fair,
        ids,
        [i.employer_id for i in items],
        [i.title for i in items],
        [i.job_type for i in items],
        [i.headcount for i in items],
        [i.description for i in items],
        [i.salary_min for i in items],
        [i.salary_max for i in items],
        [i.salary_text for i in items],
        [i.location for i in items],
    )
    return ids


async def live_employers(conn: asyncpg.Connection, fair: str, ids: set[str]) -> set[str]:
    """Which of `ids` are employers of the fair that have not been revoked."""
    rows = await conn.fetch(
        "SELECT id FROM employers"
        " WHERE fair_id = $1 AND id = ANY($2::text[]) AND revoked_at IS NULL",
        fair,
        list(ids),
    )
    return {r["id"] for r in rows}


async def employers_by_name(conn: asyncpg.Connection, fair: str) -> dict[str, str]:
    """lower(name) -> id of the fair's live employers: spreadsheets name employers."""
    rows = await conn.fetch(
        "SELECT lower(name) AS name, id FROM employers WHERE fair_id = $1 AND revoked_at IS NULL",
        fair,
    )
    return {r["name"]: r["id"] for r in rows}


# The alliance members a fair's school may be: its seekers' figures add up to theirs.
SCHOOL_KINDS: tuple[str, ...] = ("school", "technical_school", "vocational_school")


async def school_ids(conn: asyncpg.Connection, fair: str, names: set[str]) -> dict[str, str]:
    """name -> id for each school name, creating the schools not seen before.

    A new school of an alliance's fair is linked to the school member of its name.
    """
    if not names:
        return {}
    await conn.execute(query("insert_schools"), fair, sorted(names), list(SCHOOL_KINDS))
    rows = await conn.fetch(
        "SELECT name, id FROM schools WHERE fair_id = $1 AND name = ANY($2::text[])",
        fair,
        list(names),
    )
    return {r["name"]: r["id"] for r in rows}


async def link_schools(conn: asyncpg.Connection, fair: str) -> None:
    """Link the schools of a fair that joined an alliance to its school members, by name."""
    await conn.execute(query("link_schools"), fair, list(SCHOOL_KINDS))


@dataclass(frozen=True)
class NewSeeker:
    id: str
    number: int
    name: str
    badge: str


async def lock_fair(conn: asyncpg.Connection, fair: str) -> asyncpg.Record | None:
    """Take the fair's row for this transaction: seekers are added one writer at a time, so a
    phone checked as free stays free and a sign-up cap holds. The row, or None."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT id, name, signup_open, signup_cap FROM fairs WHERE id = $1 FOR UPDATE", fair
    )
    return row


async def phones_taken(conn: asyncpg.Connection, fair: str, phones: list[str]) -> dict[str, str]:
    """phone_key -> live seeker id, for the phones (any spelling) already registered in the fair.

    Call it after lock_fair(), so the answer holds until the transaction ends.
    """
    wanted = sorted({phone_key(p) for p in phones if p})
    if not wanted:
        return {}
    rows = await conn.fetch(
        "SELECT phone_key, id FROM seekers WHERE fair_id = $1 AND phone_key = ANY($2::text[])"
        " AND revoked_at IS NULL",
        fair,
        wanted,
    )
    return {r["phone_key"]: r["id"] for r in rows}


async def insert_seekers(
    conn: asyncpg.Connection,
    fair: str,
    items: list[SeekerIn],
    key: badges.KeyPair,
    signed_up: bool = False,
) -> list[NewSeeker]:
    """Insert seekers with the next badge numbers and sign their badges.

    `signed_up`: they signed up on their phones and consented to the privacy notice now.
    """
    schools = await school_ids(conn, fair, {i.school for i in items if i.school})
    last = await conn.fetchval(
        "UPDATE fairs SET seekers_numbered = seekers_numbered + $2 WHERE id = $1"
        " RETURNING seekers_numbered",
        fair,
        len(items),
    )
    first = last - len(items) + 1
    created = [
        NewSeeker(
            id=(sid := new_id()),
            number=first + n,
            name=item.name,
            badge=badges.sign(key, fair, sid, 1),
        )
        for n, item in enumerate(items)
    ]
    await conn.execute(
        "INSERT INTO seekers (fair_id, id, number, name, school_id, major, phone,"
        " graduation_year, signed_up_at, consented_at)"
        " SELECT $1, *, CASE WHEN $9::boolean THEN clock_timestamp() END,"
        " CASE WHEN $9::boolean THEN clock_timestamp() END"
        " FROM unnest($2::text[], $3::integer[], $4::text[], $5::text[], $6::text[],"
        " $7::text[], $8::smallint[])",
        fair,
        [s.id for s in created],
        [s.number for s in created],
        [i.name for i in items],
        [schools.get(i.school) if i.school else None for i in items],
        [i.major for i in items],
        [i.phone for i in items],
        [i.graduation_year for i in items],
        signed_up,
    )
    return created


async def insert_devices(conn: asyncpg.Connection, fair: str, items: list[DeviceIn]) -> list[str]:
    ids = [new_id() for _ in items]
    await conn.execute(
        "INSERT INTO devices (fair_id, id, label, gate, employer_id)"
        " SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])",
        fair,
        ids,
        [i.label for i in items],
        [i.gate for i in items],
        [i.employer_id for i in items],
    )
    return ids
