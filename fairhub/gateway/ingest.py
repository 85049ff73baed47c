"""POST /v1/fairs/{fair}/events: validate, authorize, append durably, answer per event."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web
from prometheus_client import Counter as MetricCounter
from pydantic import ValidationError

from fairhub import gate, keys
from fairhub.auth import Principal, event_forbidden
from fairhub.directory import card_text
from fairhub.events import (
    BoothVisit,
    Checkin,
    Event,
    LiveHeartbeat,
    LiveJoin,
    LiveLeave,
    describe,
    validate_event,
)
from fairhub.gateway.access import fair_caller
from fairhub.gateway.bodies import read_json, reply
from fairhub.gateway.errors import Unprocessable
from fairhub.gateway.fairs import require_fair
from fairhub.live import Mark
from fairhub.streams import Entry, Outcome, Scan, ScanAnswer

EVENTS_TOTAL = MetricCounter("fairhub_ingest_events_total", "Events answered by ingest", ["status"])
_EVENTS_BY_STATUS = {s: EVENTS_TOTAL.labels(s) for s in ("accepted", "duplicate", "rejected")}
# Employer tokens speak for their own employer: these events get it filled in when left out.
_OWN_EMPLOYER = frozenset({"consultation", "resume_downloaded", "booth_visit", "intent_agreed"})


def _items(body: Any, limit: int) -> tuple[list[Any], bool]:
    """The events of a body, and whether it was a batch."""
    if isinstance(body, dict) and "events" in body:
        events = body["events"]
        if not isinstance(events, list):
            raise Unprocessable("events must be a list of event objects", fields=["events"])
        if not 1 <= len(events) <= limit:
            raise Unprocessable(
                f"a batch holds 1 to {limit} events, this one has {len(events)}",
                fields=["events"],
                code="batch_size",
            )
        return events, True
    if isinstance(body, dict):
        return [body], False
    raise Unprocessable(
        'send one event object or {"events": [...]}', fields=["body"], code="wrong_shape"
    )


@dataclass
class Intake:
    """A request's events on their way into the stream, and the answer for each."""

    results: list[dict[str, Any]] = field(default_factory=list)  # shaped as EventResult
    entries: list[Entry] = field(default_factory=list)
    slots: list[int] = field(default_factory=list)  # the result of each entry
    identities: dict[int, gate.Identity] = field(default_factory=dict)  # by result slot
    marks: list[Mark] = field(default_factory=list)  # livestream presence, kept in Redis

    def reject(self, event_id: str | None, reason: str) -> None:
        self.results.append({"id": event_id, "status": "rejected", "reason": reason})

    def accept(self, event_id: str) -> None:
        self.results.append({"id": event_id, "status": "accepted"})

    def add(self, entry: Entry) -> None:
        self.slots.append(len(self.results))
        event_id = entry.event_id if isinstance(entry, Scan) else entry[0]
        self.results.append({"id": event_id, "status": "accepted"})
        self.entries.append(entry)


def source_of(principal: Principal) -> dict[str, Any]:
    """What a stored event records about who sent it (the kiosk, for its late-scan figures)."""
    return {"device_id": principal.subject_id} if principal.role == "device" else {}


@dataclass
class Rejected:
    event_id: str | None
    reason: str


# Presence events (a tuple: isinstance with a `|` union builds the union on every call).
_PRESENCE = (LiveJoin, LiveHeartbeat, LiveLeave)


async def take_in(
    app: web.Application, fair: str, principal: Principal, items: list[Event | Rejected]
) -> Intake:
    """Authorize, resolve badges, append durably; the answer has one result per item."""
    _authorize(principal, items)
    return await admit(app, fair, items, source_of(principal))


def _authorize(principal: Principal, items: list[Event | Rejected]) -> None:
    """Replace each event this principal may not send by its rejection."""
    for n, item in enumerate(items):
        if isinstance(item, Rejected):
            continue
        if principal.role == "employer" and item.type in _OWN_EMPLOYER:
            # __dict__, not getattr: a missing attribute on a pydantic model costs an exception.
            if item.__dict__.get("employer_id") is None:
                item = items[n] = item.model_copy(update={"employer_id": principal.subject_id})
        reason = event_forbidden(
            principal, item.type, item.__dict__.get("employer_id"), item.__dict__.get("session_id")
        )
        if reason is not None:
            items[n] = Rejected(item.id, reason)


async def admit(
    app: web.Application,
    fair: str,
    items: list[Event | Rejected],
    extra: dict[str, Any] | None = None,
) -> Intake:
    """Events already authorized: badges resolved, appended durably, presence recorded."""
    extra = extra or {}
    keyring = app[keys.KEYRING]
    # A check-in's badge goes to the check-in script with its digest, unchecked: the script
    # takes it if it is the badge on the seeker's card, which it reads in the round trip that
    # decides the entry; any other is checked here after all (_append). Other badges are
    # verified and resolved for the whole request at once: one Redis read for their cards.
    visits = [(n, e) for n, e in enumerate(items) if isinstance(e, BoothVisit) and e.badge]
    found = (
        await gate.identify(
            keyring, app[keys.DIRECTORY], fair, [(e.badge, e.seeker_id) for _, e in visits]
        )
        if visits
        else []
    )
    identity_of = {n: identity for (n, _), identity in zip(visits, found, strict=True)}
    for n, item in enumerate(items):
        if isinstance(item, Checkin):
            identity_of[n] = (
                await gate.claim(keyring, fair, item.badge, by_digest=True)
                if item.badge
                else gate.Identity(item.seeker_id)
            )
    unchecked: dict[int, Checkin] = {}  # by entry: check-ins whose signature was not checked

    intake = Intake()
    for n, item in enumerate(items):
        if isinstance(item, Rejected):
            intake.reject(item.event_id, item.reason)
            continue
        if isinstance(item, _PRESENCE):
            intake.marks.append(Mark(item.session_id, item.viewer_id, item.type != "live_leave"))
            if isinstance(item, LiveHeartbeat):
                intake.accept(item.id)  # a beat is presence only: no stream entry, no row
                continue
        identity = identity_of.get(n)
        if identity is not None:
            intake.identities[len(intake.results)] = identity
        if isinstance(item, Checkin) and identity is not None:
            if identity.digest:
                unchecked[len(intake.entries)] = item
            intake.add(gate.scan(item, identity, extra))
            continue
        added = dict(extra)
        if identity is not None:
            if identity.denied:
                intake.reject(item.id, f"badge: {identity.reason}")
                continue
            added["seeker_id"] = identity.seeker_id
        intake.add((item.id, gate.with_fields(item, added)))

    if intake.entries:
        outcomes = await _append(app, fair, intake.entries, unchecked, extra)
        for slot, outcome in zip(intake.slots, outcomes, strict=True):
            _settle(intake.results[slot], outcome, intake.identities.get(slot))
    if intake.marks:
        await app[keys.PRESENCE].record(fair, intake.marks)
    for status, count in Counter(r["status"] for r in intake.results).items():
        _EVENTS_BY_STATUS[status].inc(count)
    return intake


async def take_in_checkin(
    app: web.Application, fair: str, principal: Principal, event: Checkin
) -> dict[str, Any]:
    """take_in() of a lone check-in (a kiosk's scan, the gate's hot path): the same checks,
    the same stream entry and the same result, without the bookkeeping of a batch."""
    reason = event_forbidden(principal, event.type, None)
    if reason is not None:
        _EVENTS_BY_STATUS["rejected"].inc()
        return {"id": event.id, "status": "rejected", "reason": reason}
    extra = source_of(principal)
    identity = (
        await gate.claim(app[keys.KEYRING], fair, event.badge, by_digest=True)
        if event.badge
        else gate.Identity(event.seeker_id)
    )
    unchecked = {0: event} if identity.digest else {}
    (outcome,) = await _append(app, fair, [gate.scan(event, identity, extra)], unchecked, extra)
    result: dict[str, Any] = {"id": event.id, "status": "accepted"}
    _settle(result, outcome, identity)
    _EVENTS_BY_STATUS[result["status"]].inc()
    return result


def _settle(result: dict[str, Any], outcome: Outcome, identity: gate.Identity | None) -> None:
    """An event's result once its append is known: duplicate or not, and a scan's verdict."""
    if isinstance(outcome, ScanAnswer):
        result["verdict"] = outcome.verdict
        if outcome.first_seen_at:
            result["first_seen_at"] = outcome.first_seen_at
        if outcome.reason:
            result["reason"] = outcome.reason
        if outcome.name and identity is not None:  # a kiosk shows the name
            result["seeker"] = {"id": identity.seeker_id, "name": outcome.name}
        outcome = outcome.added
    if not outcome:
        result["status"] = "duplicate"


# A scan comes back at most twice: for its card (sent again with it) and for its badge (sent
# again with its signature checked), in either order; after both, the script decides it.
_RESENDS = 2


async def _append(
    app: web.Application,
    fair: str,
    entries: list[Entry],
    unchecked: dict[int, Checkin],
    extra: dict[str, Any],
) -> list[Outcome]:
    """Append durably; a scan the check-in script sent back goes again: with its seeker's card
    from Postgres when Redis lacked it, checked here when its badge was not the card's."""
    writer = app[keys.WRITER]
    entries = list(entries)
    outcomes = await writer.append_all(fair, entries)
    for _ in range(_RESENDS):
        back = [
            (n, entry, outcome)
            for n, (entry, outcome) in enumerate(zip(entries, outcomes, strict=True))
            if isinstance(entry, Scan)
            and isinstance(outcome, ScanAnswer)
            and (outcome.card_missing or outcome.verify)
        ]
        if not back:
            break
        wanted = {scan.seeker_id for _, scan, answer in back if answer.card_missing}
        cards = await app[keys.DIRECTORY].cards(fair, {s for s in wanted if s})
        again: list[Entry] = []
        for n, scan, answer in back:
            if answer.card_missing:
                again.append(replace(scan, card=card_text(cards.get(scan.seeker_id or ""))))
            else:  # checked now: trusted if valid (and remembered so), else refused as forged
                checked = await gate.checked(app[keys.KEYRING], fair, unchecked[n], extra)
                again.append(replace(checked, card=scan.card) if checked.seeker_id else checked)
        for (n, _, _), entry, outcome in zip(
            back, again, await writer.append_all(fair, again), strict=True
        ):
            entries[n], outcomes[n] = entry, outcome
    return outcomes


async def post_events(request: web.Request) -> web.Response:
    """Accept a batch in one durable append; a bad event never rejects its neighbours."""
    fair, principal = await fair_caller(request, "organizer", "device", "employer", "host")
    settings = request.app[keys.SETTINGS]
    body = await read_json(request)
    raw_items, is_batch = _items(body, settings.max_batch_events)
    if principal.role == "admin":
        await require_fair(request.app, fair)
    items: list[Event | Rejected] = []
    for raw in raw_items:
        try:
            items.append(validate_event(raw))
        except ValidationError as exc:
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            items.append(Rejected(raw_id if isinstance(raw_id, str) else None, describe(exc)))
    intake = await take_in(request.app, fair, principal, items)
    answer = {"results": intake.results}
    if all(r["status"] == "rejected" for r in intake.results):
        first = str(intake.results[0]["reason"])
        detail = first if not is_batch else f"every event was rejected; first: {first}"
        return reply(
            {"error": "invalid_event", "detail": detail, "fields": _fields(first), **answer},
            status=422,
        )
    return reply(answer, status=202)


def _fields(reason: str) -> list[str]:
    """The field names at the start of each '; '-separated part of a reason."""
    names = [part.split(":", 1)[0] for part in reason.split("; ") if ":" in part]
    return [n for n in names if n and " " not in n]
