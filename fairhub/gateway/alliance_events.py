"""POST /v1/alliances/{alliance}/events: the chain after the fair, into the same pipeline.

An alliance's events go to the stream partition of the alliance id and are stored and counted
with fair_id = the alliance id, so the worker's one idempotent statement counts them exactly
once, like a fair's. References are resolved here, where Postgres is at hand, in one query per
batch: an offer names its institution and occupation, a member must be current on the day of
the event, a seeker must be one of the alliance's fairs, a position one of those fairs' and of
the named member's employer, a fair one of the alliance's; a phone becomes a digest
(`person`), so the event log keeps no phone numbers.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import ValidationError

from fairhub import alliances, keys
from fairhub.events import AllianceEvent, alliance_event_adapter, describe
from fairhub.gate import with_fields
from fairhub.gateway.alliances import alliance_caller
from fairhub.gateway.bodies import read_json, reply
from fairhub.gateway.ingest import Rejected, _items
from fairhub.sql import query

Item = AllianceEvent | Rejected


async def post_events(request: web.Request) -> web.Response:
    """Accept a batch in one durable append; a bad event never rejects its neighbours."""
    alliance, _ = await alliance_caller(request)
    body = await read_json(request)
    raw_items, is_batch = _items(body, request.app[keys.SETTINGS].max_batch_events)
    items: list[Item] = []
    for raw in raw_items:
        try:
            items.append(alliance_event_adapter.validate_python(raw))
        except ValidationError as exc:
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            items.append(Rejected(raw_id if isinstance(raw_id, str) else None, describe(exc)))
    results = await admit(request.app, alliance, items)
    if all(r["status"] == "rejected" for r in results):
        first = str(results[0]["reason"])
        detail = first if not is_batch else f"every event was rejected; first: {first}"
        field = first.split(":", 1)[0]
        return reply(
            {"error": "invalid_event", "detail": detail, "fields": [field], "results": results},
            status=422,
        )
    return reply({"results": results}, status=202)


async def admit(app: web.Application, alliance: str, items: list[Item]) -> list[dict[str, Any]]:
    """References resolved, then appended durably; one result per item, in order."""
    async with app[keys.DB].acquire() as conn:
        resolved = await _resolve(conn, alliance, items)
    results: list[dict[str, Any]] = []
    entries: list[tuple[str, str]] = []
    slots: list[int] = []
    for item in resolved:
        if isinstance(item, Rejected):
            results.append({"id": item.event_id, "status": "rejected", "reason": item.reason})
            continue
        event_id, payload = item
        slots.append(len(results))
        results.append({"id": event_id, "status": "accepted"})
        entries.append((event_id, payload))
    if entries:
        added = await app[keys.WRITER].append(alliance, entries)
        for slot, was_added in zip(slots, added, strict=True):
            if not was_added:
                results[slot]["status"] = "duplicate"
    return results


# What a batch names, by kind of reference (offer, member, fair, seeker, position): id -> row.
Refs = dict[str, dict[str, asyncpg.Record]]


async def _find(conn: asyncpg.Connection, alliance: str, events: list[AllianceEvent]) -> Refs:
    """Every offer, member, fair, seeker and position the events name: one round trip."""

    def named(field: str) -> list[str]:
        return sorted({ref for e in events if (ref := e.__dict__.get(field))})

    rows = await conn.fetch(
        query("alliance_refs"),
        alliance,
        named("offer_id"),
        named("member_id"),
        named("fair_id"),
        named("seeker_id"),
        named("position_id"),
    )
    found: Refs = defaultdict(dict)
    for row in rows:
        found[row["ref"]][row["id"]] = row
    return found


def _problem(item: AllianceEvent, refs: Refs) -> str | None:
    """Why an event cannot be counted ("field: reason"), or None when all it names is ours."""
    seeker_id = item.seeker_id
    if seeker_id is not None and seeker_id not in refs["seeker"]:
        return "seeker_id: no seeker of this alliance's fairs"
    offer_id = _offer(item)
    if offer_id is not None and offer_id not in refs["offer"]:
        return "offer_id: no such offer in this alliance"
    member_id = _member(item)
    if member_id is not None:
        kind = "enterprise" if item.type == "internship_started" else None
        found = refs["member"].get(member_id)
        problem = alliances.member_problem(found, item.occurred_at.date(), kind)
        if problem is not None:
            return f"member_id: {problem}"
    fair_id = _fair(item)
    if fair_id is not None and fair_id not in refs["fair"]:
        return "fair_id: no fair of this alliance"
    position_id = item.__dict__.get("position_id")
    if position_id is not None:
        position = refs["position"].get(position_id)
        if position is None:
            return "position_id: no position at this alliance's fairs"
        if position["member_id"] != member_id:
            return "position_id: a position of another employer than member_id's"
        if fair_id is not None and position["fair_id"] != fair_id:
            return "position_id: a position of another fair than fair_id"
    return None


async def _resolve(
    conn: asyncpg.Connection, alliance: str, items: list[Item]
) -> list[Rejected | tuple[str, str]]:
    refs = await _find(conn, alliance, [i for i in items if not isinstance(i, Rejected)])
    out: list[Rejected | tuple[str, str]] = []
    for item in items:
        if isinstance(item, Rejected):
            out.append(item)
            continue
        problem = _problem(item, refs)
        if problem is not None:
            out.append(Rejected(item.id, problem))
            continue
        added: dict[str, Any] = {
            "person": alliances.person_key(alliance, item.seeker_id, item.phone)
        }
        offer_id = _offer(item)
        if offer_id is not None:
            offer = refs["offer"][offer_id]
            added["member_id"] = offer["member_id"]
            if item.type != "skill_certified":
                added["occupation"] = offer["occupation"]
        event = item.model_copy(update={"phone": None})  # kept only as the person's digest
        out.append((item.id, with_fields(event, added)))
    return out


def _offer(item: AllianceEvent) -> str | None:
    return item.__dict__.get("offer_id")


def _member(item: AllianceEvent) -> str | None:
    return item.__dict__.get("member_id")


def _fair(item: AllianceEvent) -> str | None:
    return item.__dict__.get("fair_id")


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/alliances/{alliance}/events", post_events)
