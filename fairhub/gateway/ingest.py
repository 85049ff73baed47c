"""POST /v1/fairs/{fair}/events: validate, authorize, append durably, answer per event."""

from __future__ import annotations

from collections import Counter
from typing import Any

from aiohttp import web
from prometheus_client import Counter as MetricCounter
from pydantic import ValidationError

from fairhub import keys
from fairhub.auth import event_forbidden
from fairhub.events import describe, event_adapter
from fairhub.gateway.access import fair_caller
from fairhub.gateway.bodies import read_json
from fairhub.gateway.errors import Unprocessable
from fairhub.gateway.fairs import require_fair

EVENTS_TOTAL = MetricCounter("fairhub_ingest_events_total", "Events answered by ingest", ["status"])


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


async def post_events(request: web.Request) -> web.Response:
    """Accept a batch in one durable append; a bad event never rejects its neighbours."""
    fair, principal = await fair_caller(request, "organizer", "device", "employer", "host")
    settings = request.app[keys.SETTINGS]
    body = await read_json(request)
    items, is_batch = _items(body, settings.max_batch_events)
    if principal.role == "admin":
        await require_fair(request.app, fair)

    results: list[dict[str, Any]] = []  # shaped as events.EventResult
    to_append: list[tuple[str, str]] = []
    slots: list[int] = []  # index in results of each appended event
    for item in items:
        item_id = item.get("id") if isinstance(item, dict) else None
        try:
            event = event_adapter.validate_python(item)
        except ValidationError as exc:
            results.append(_rejected(_str_or_none(item_id), describe(exc)))
            continue
        # __dict__, not getattr: a missing attribute on a pydantic model costs an exception.
        reason = event_forbidden(principal, event.type, event.__dict__.get("employer_id"))
        if reason is not None:
            results.append(_rejected(event.id, reason))
            continue
        slots.append(len(results))
        results.append({"id": event.id, "status": "accepted"})
        to_append.append((event.id, event.model_dump_json(exclude_none=True)))

    if to_append:
        added = await request.app[keys.WRITER].append(fair, to_append)
        for slot, was_added in zip(slots, added, strict=True):
            if not was_added:
                results[slot]["status"] = "duplicate"
    for status, count in Counter(r["status"] for r in results).items():
        EVENTS_TOTAL.labels(status).inc(count)

    answer = {"results": results}
    if not to_append:
        first = str(results[0]["reason"])
        detail = first if not is_batch else f"every event was rejected; first: {first}"
        return web.json_response(
            {"error": "invalid_event", "detail": detail, "fields": _fields(first), **answer},
            status=422,
        )
    return web.json_response(answer, status=202)


def _rejected(event_id: str | None, reason: str) -> dict[str, Any]:
    return {"id": event_id, "status": "rejected", "reason": reason}


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _fields(reason: str) -> list[str]:
    """The field names at the start of each '; '-separated part of a reason."""
    names = [part.split(":", 1)[0] for part in reason.split("; ") if ":" in part]
    return [n for n in names if n and " " not in n]
