"""Employers, positions, seekers and devices: create, read, list with paging, update, revoke.

The four resources share one set of handlers, told apart by a Resource that names the table,
the columns a client sees, the body models and who may do what. Creating a resource that
acts (an employer, a device) hands out its token once; revoking it revokes its tokens.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import BaseModel

from fairhub import badges, keys, registry
from fairhub.alliances import employer_member, link_member
from fairhub.auth import Principal, issue, mirror, revoke
from fairhub.directory import SeekerCard
from fairhub.gateway import privacy
from fairhub.gateway.access import fair_caller
from fairhub.gateway.bodies import page_limit, read_json, read_model, reply, validated
from fairhub.gateway.errors import Conflict, Forbidden, NotFound, Unprocessable
from fairhub.keyring import signing_key
from fairhub.sql import query as sql_query

EVERYONE = ("organizer", "device", "employer", "host")


@dataclass(frozen=True)
class Resource:
    name: str  # path segment and table
    columns: str  # what a client sees
    create: type[BaseModel]
    patch: type[BaseModel]
    readers: tuple[str, ...]
    writers: tuple[str, ...]
    token_role: str | None = None  # the role of the token handed out on creation
    order: str = "created_at"


EMPLOYERS = Resource(
    "employers",
    "id, name, booth, industry, created_at, updated_at, revoked_at",
    registry.EmployerIn,
    registry.EmployerPatch,
    readers=EVERYONE,
    writers=("organizer", "employer"),  # an employer may fix its own details
    token_role="employer",
)
POSITIONS = Resource(
    "positions",
    "id, employer_id, title, job_type, headcount, description, salary_min, salary_max,"
    " salary_text, location, created_at, updated_at, revoked_at",
    registry.PositionIn,
    registry.PositionPatch,
    readers=EVERYONE,
    writers=("organizer", "employer"),
)
SEEKERS = Resource(
    "seekers",
    "id, number, name, (SELECT name FROM schools s WHERE s.fair_id = t.fair_id"
    " AND s.id = t.school_id) AS school, major, phone, graduation_year, badge_serial,"
    " signed_up_at, created_at, updated_at, revoked_at, erased_at",
    registry.SeekerIn,
    registry.SeekerPatch,
    readers=("organizer",),
    writers=("organizer", "device"),
    order="number",
)
DEVICES = Resource(
    "devices",
    "id, label, gate, employer_id, created_at, updated_at, revoked_at",
    registry.DeviceIn,
    registry.DevicePatch,
    readers=("organizer",),
    writers=("organizer",),
    token_role="device",
)
RESOURCES = {r.name: r for r in (EMPLOYERS, POSITIONS, SEEKERS, DEVICES)}
# A seeker searches positions by what they would type: the job, the place, or "面议".
SEARCHED_POSITION_COLUMNS = ("title", "location", "salary_text")


def _resource(request: web.Request) -> Resource:
    return RESOURCES[request.match_info["kind"]]


async def _row(conn: Any, resource: Resource, fair: str, item_id: str) -> dict[str, Any]:
    row = await conn.fetchrow(
        f"SELECT {resource.columns} FROM {resource.name} t WHERE fair_id = $1 AND id = $2",
        fair,
        item_id,
    )
    if row is None:
        raise NotFound(f"no {resource.name[:-1]} {item_id!r} in this fair", fields=["id"])
    return dict(row)


def _ref(value: object) -> str | None:
    """A member_id as sent: a reference, or 422 naming it."""
    if value is None or (isinstance(value, str) and 0 < len(value) <= 64):
        return value
    raise Unprocessable("member_id must be a member's id", fields=["member_id"])


def _own_employer(principal: Principal, employer_id: str | None) -> None:
    """An employer token may only touch its own employer's things."""
    if principal.role == "employer" and employer_id != principal.subject_id:
        raise Forbidden(
            "an employer token may only manage its own employer", fields=["employer_id"]
        )


async def create(request: web.Request) -> web.Response:
    """Create one item; actors get their token now, seekers their signed badge."""
    resource = _resource(request)
    fair, principal = await fair_caller(request, *resource.writers)
    if resource is EMPLOYERS and principal.role == "employer":
        raise Forbidden("only the organizer adds employers", fields=["Authorization"])
    raw = await read_json(request)
    # An employer of an alliance's fair may name its alliance member.
    member_id = (
        raw.pop("member_id", None) if resource is EMPLOYERS and isinstance(raw, dict) else None
    )
    body = validated(resource.create, raw)
    app = request.app
    answer: dict[str, Any]
    async with app[keys.DB].acquire() as conn, conn.transaction():
        if isinstance(body, registry.EmployerIn):
            member, problem = await employer_member(conn, fair, body.name, _ref(member_id))
            if problem is not None:
                field, _, detail = problem.partition(": ")
                raise Unprocessable(detail, fields=[field], code="not_a_member")
            try:
                [new_id] = await registry.insert_employers(conn, fair, [body])
            except asyncpg.UniqueViolationError:
                raise Conflict(f"an employer named {body.name!r} exists", fields=["name"]) from None
            if member is not None:
                await link_member(conn, fair, new_id, member)
            answer = {"id": new_id} if member is None else {"id": new_id, "member_id": member}
        elif isinstance(body, registry.PositionIn):
            _own_employer(principal, body.employer_id)
            if not await registry.live_employers(conn, fair, {body.employer_id}):
                raise Unprocessable("no such employer in this fair", fields=["employer_id"])
            [new_id] = await registry.insert_positions(conn, fair, [body])
            answer = {"id": new_id}
        elif isinstance(body, registry.SeekerIn):
            await registry.lock_fair(conn, fair)
            taken = await registry.phones_taken(conn, fair, [body.phone] if body.phone else [])
            if taken:
                raise Conflict(
                    "this phone is already registered in the fair",
                    fields=["phone"],
                    code="phone_registered",
                    extra={"seeker_id": next(iter(taken.values()))},
                )
            key = await signing_key(conn, fair)
            [seeker] = await registry.insert_seekers(conn, fair, [body], key)
            answer = {"id": seeker.id, "number": seeker.number, "badge": seeker.badge}
        else:
            assert isinstance(body, registry.DeviceIn)
            if body.employer_id and not await registry.live_employers(
                conn, fair, {body.employer_id}
            ):
                raise Unprocessable("no such employer in this fair", fields=["employer_id"])
            [new_id] = await registry.insert_devices(conn, fair, [body])
            answer = {"id": new_id}
        issued = None
        if resource.token_role:
            issued = await issue(conn, resource.token_role, fair, answer["id"])  # type: ignore[arg-type]
            answer["token"] = issued.token
    if issued is not None:
        await mirror(app[keys.REDIS], issued.digest, issued.principal)
    if isinstance(body, registry.SeekerIn):
        card = SeekerCard(answer["id"], body.name, 1)
        await app[keys.DIRECTORY].remember(fair, [card])
    return reply(answer, status=201)


def _cursor(row: dict[str, Any], order: str) -> str:
    value = row[order].isoformat() if isinstance(row[order], datetime) else row[order]
    return base64.urlsafe_b64encode(json.dumps([value, row["id"]]).encode()).decode()


def _after(raw: str, order: str) -> tuple[Any, str]:
    """Where a page continues, or 422: a cursor comes back from the client, so it is checked
    (a wrong shape or type would otherwise reach Postgres and come back as a 500)."""
    try:
        value, item_id = json.loads(base64.urlsafe_b64decode(raw))
        if not isinstance(item_id, str) or "\x00" in item_id:
            raise ValueError(item_id)
        if order == "created_at":
            return datetime.fromisoformat(value), item_id
        if type(value) is not int or not -(2**31) <= value < 2**31:
            raise ValueError(value)
        return value, item_id
    except (ValueError, TypeError):
        raise Unprocessable("after is not a cursor from this API", fields=["after"]) from None


def _text_query(query: Mapping[str, str], name: str) -> str | None:
    """A text filter from the query string; Postgres text cannot hold NUL, so 422 for it."""
    value = query.get(name)
    if value is not None and "\x00" in value:
        raise Unprocessable(f"{name} must not contain NUL", fields=[name])
    return value


async def list_items(request: web.Request) -> web.Response:
    """A page of items in creation order; `next` continues where this page ended."""
    resource = _resource(request)
    fair, principal = await fair_caller(request, *resource.readers)
    query = request.query
    limit = page_limit(query)
    where, args = ["fair_id = $1"], [fair]
    if "after" in query:
        args += list(_after(query["after"], resource.order))
        where.append(f"({resource.order}, id) > (${len(args) - 1}, ${len(args)})")
    if query.get("revoked") != "include":
        where.append("revoked_at IS NULL")
    for field in ("employer_id", "job_type"):
        value = _text_query(query, field)
        if value is not None and resource is POSITIONS:
            args.append(value)
            where.append(f"{field} = ${len(args)}")
    if principal.role == "employer" and resource is DEVICES:
        raise Forbidden("an employer token may not list devices", fields=["Authorization"])
    if resource is SEEKERS:
        await privacy.record(request, principal, fair, "seekers_listed")
    if q := _text_query(query, "q"):
        args.append(q)
        searched = {POSITIONS: SEARCHED_POSITION_COLUMNS, DEVICES: ("label",)}
        matches = [
            f"strpos(lower({c}), lower(${len(args)})) > 0"
            for c in searched.get(resource, ("name",))
        ]
        where.append("(" + " OR ".join(matches) + ")")
    rows = await request.app[keys.DB].fetch(
        f"SELECT {resource.columns} FROM {resource.name} t WHERE {' AND '.join(where)}"
        f" ORDER BY {resource.order}, id LIMIT {limit + 1}",
        *args,
    )
    items = [dict(r) for r in rows[:limit]]
    next_cursor = _cursor(items[-1], resource.order) if len(rows) > limit else None
    if resource is DEVICES and items:
        await _with_contact(request.app[keys.DB], fair, items)
    return reply({"items": items, "next": next_cursor})


# A scan stored this long after it happened was queued by a kiosk that was offline.
LATE_SECONDS = 120.0


async def _with_contact(db: Any, fair: str, devices: list[dict[str, Any]]) -> None:
    """Each kiosk's last contact, scans, and scans that arrived late (queued offline)."""
    rows = await db.fetch(
        sql_query("device_contact"), fair, [d["id"] for d in devices], LATE_SECONDS
    )
    found = {r["device_id"]: r for r in rows}
    for device in devices:
        row = found.get(device["id"])
        device["last_contact_at"] = row["last_contact_at"] if row else None
        device["scans"] = row["scans"] if row else 0
        device["late_scans"] = row["late_scans"] if row else 0


async def get_item(request: web.Request) -> web.Response:
    resource = _resource(request)
    fair, principal = await fair_caller(request, *resource.readers)
    row = await _row(request.app[keys.DB], resource, fair, request.match_info["id"])
    if resource is SEEKERS:
        await privacy.record(request, principal, fair, "seeker_read", row["id"])
        async with request.app[keys.DB].acquire() as conn:
            key = await signing_key(conn, fair)
        row["badge"] = badges.sign(key, fair, row["id"], row["badge_serial"])
    return reply(row)


async def update(request: web.Request) -> web.Response:
    """Change the fields sent; the rest stay as they are."""
    resource = _resource(request)
    fair, principal = await fair_caller(request, *resource.writers)
    item_id = request.match_info["id"]
    if resource is SEEKERS and principal.role == "device":
        raise Forbidden("a device token may not change seekers", fields=["Authorization"])
    body = await read_model(request, resource.patch)
    changes = body.model_dump(exclude_unset=True)
    # What creation requires cannot be emptied by a change (a NOT NULL column, else a 500).
    required = {name for name, f in resource.create.model_fields.items() if f.is_required()}
    emptied = sorted(name for name in required if name in changes and changes[name] is None)
    if emptied:
        raise Unprocessable(f"{', '.join(emptied)} cannot be null", fields=emptied)
    app = request.app
    async with app[keys.DB].acquire() as conn, conn.transaction():
        current = await _row(conn, resource, fair, item_id)
        if resource is POSITIONS:
            _own_employer(principal, current["employer_id"])
        if resource is EMPLOYERS and principal.role == "employer":
            _own_employer(principal, item_id)
        if resource is SEEKERS and changes.get("phone"):
            await registry.lock_fair(conn, fair)
            taken = await registry.phones_taken(conn, fair, [changes["phone"]])
            if set(taken.values()) - {item_id}:
                raise Conflict(
                    "this phone is already registered in the fair",
                    fields=["phone"],
                    code="phone_registered",
                )
        if "school" in changes:
            school = changes.pop("school")
            ids = await registry.school_ids(conn, fair, {school} if school else set())
            changes["school_id"] = ids.get(school) if school else None
        if changes:
            names = list(changes)
            sets = ", ".join(f"{name} = ${n + 3}" for n, name in enumerate(names))
            try:
                await conn.execute(
                    f"UPDATE {resource.name} SET {sets}, updated_at = clock_timestamp()"
                    " WHERE fair_id = $1 AND id = $2",
                    fair,
                    item_id,
                    *changes.values(),
                )
            except asyncpg.UniqueViolationError:
                raise Conflict("that name is already used in this fair", fields=["name"]) from None
            except asyncpg.CheckViolationError:  # one end changed past the other one
                raise Unprocessable(
                    "salary_min is above salary_max", fields=["salary_min", "salary_max"]
                ) from None
        row = await _row(conn, resource, fair, item_id)
    if resource is SEEKERS:
        await app[keys.DIRECTORY].reload(fair, [item_id])
    return reply(row)


async def revoke_item(request: web.Request) -> web.Response:
    """Revoke an item: its tokens stop working and, for a seeker, its badge is refused."""
    resource = _resource(request)
    fair, principal = await fair_caller(request, *resource.writers)
    item_id = request.match_info["id"]
    app = request.app
    async with app[keys.DB].acquire() as conn, conn.transaction():
        current = await _row(conn, resource, fair, item_id)
        if resource is POSITIONS:
            _own_employer(principal, current["employer_id"])
        elif principal.role not in ("admin", "organizer"):
            raise Forbidden(f"only the organizer revokes {resource.name}", fields=["Authorization"])
        await conn.execute(
            f"UPDATE {resource.name} SET revoked_at = coalesce(revoked_at, clock_timestamp())"
            " WHERE fair_id = $1 AND id = $2",
            fair,
            item_id,
        )
        revoked = await revoke(conn, fair, item_id)
        row = await _row(conn, resource, fair, item_id)
    await app[keys.AUTH].forget(revoked)
    if resource is SEEKERS:
        await app[keys.DIRECTORY].reload(fair, [item_id])
    return reply(row)


async def new_token(request: web.Request) -> web.Response:
    """A fresh token for an employer or device; the old ones are revoked (a lost tablet)."""
    resource = _resource(request)
    if resource.token_role is None:
        raise NotFound(f"{resource.name} have no tokens", fields=["kind"])
    fair, _ = await fair_caller(request, "organizer")
    item_id = request.match_info["id"]
    app = request.app
    async with app[keys.DB].acquire() as conn, conn.transaction():
        current = await _row(conn, resource, fair, item_id)
        if current["revoked_at"] is not None:
            raise Conflict(f"this {resource.name[:-1]} is revoked", fields=["id"])
        revoked = await revoke(conn, fair, item_id)
        issued = await issue(conn, resource.token_role, fair, item_id)  # type: ignore[arg-type]
    await app[keys.AUTH].forget(revoked)
    await mirror(app[keys.REDIS], issued.digest, issued.principal)
    return reply({"id": item_id, "token": issued.token}, status=201)


async def new_badge(request: web.Request) -> web.Response:
    """Reissue a lost badge: the next serial, so the old badge is refused as revoked."""
    fair, _ = await fair_caller(request, "organizer", "device")
    item_id = request.match_info["id"]
    app = request.app
    async with app[keys.DB].acquire() as conn, conn.transaction():
        serial = await conn.fetchval(
            "UPDATE seekers SET badge_serial = badge_serial + 1, updated_at = clock_timestamp()"
            " WHERE fair_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING badge_serial",
            fair,
            item_id,
        )
        if serial is None:
            raise NotFound(f"no live seeker {item_id!r} in this fair", fields=["id"])
        key = await signing_key(conn, fair)
    await app[keys.DIRECTORY].reload(fair, [item_id])
    return reply({"id": item_id, "badge": badges.sign(key, fair, item_id, serial)}, status=201)


def add_routes(app: web.Application) -> None:
    """Register the registry's routes."""
    kinds = "{kind:employers|positions|seekers|devices}"
    base = f"/v1/fairs/{{fair}}/{kinds}"
    app.router.add_post(base, create)
    app.router.add_get(base, list_items)
    app.router.add_get(base + "/{id}", get_item)
    app.router.add_patch(base + "/{id}", update)
    app.router.add_delete(base + "/{id}", revoke_item)
    app.router.add_post("/v1/fairs/{fair}/{kind:employers|devices}/{id}/token", new_token)
    app.router.add_post("/v1/fairs/{fair}/seekers/{id}/badge", new_badge)
