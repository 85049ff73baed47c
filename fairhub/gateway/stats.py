"""GET /v1/fairs/{fair}/stats: the fair's counters from Postgres, the source of truth."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from fairhub import keys
from fairhub.events import CHANNELS, METRICS
from fairhub.gate import VERDICTS
from fairhub.gateway.access import fair_caller
from fairhub.gateway.fairs import require_fair
from fairhub.live import Audience, Presence
from fairhub.sql import query

# dim in the counters table -> (list name in the answer, id field of each row)
BREAKDOWNS: dict[str, tuple[str, str]] = {
    "employer": ("by_employer", "employer_id"),
    "position": ("by_position", "position_id"),
    "school": ("by_school", "school_id"),
    "session": ("by_session", "session_id"),
    "minute": ("per_minute", "minute"),
}


# Live sessions' own breakdowns (dim_id "<session>|<id>") -> (list in each by_session row,
# id field of its rows, the dim whose names they take).
LIVE_PARTS: dict[str, tuple[str, str, str]] = {
    "session_employer": ("by_employer", "employer_id", "employer"),
    "session_pin": ("by_pin", "position_id", "position"),
}


class Count(BaseModel):
    total: int
    unique: int


class StatsOut(BaseModel):
    """The shape of /stats (for the OpenAPI document)."""

    fair: str
    as_of: datetime
    totals: dict[str, Count]
    by_employer: list[dict[str, Any]]
    by_position: list[dict[str, Any]]
    by_school: list[dict[str, Any]]
    by_session: list[dict[str, Any]]
    per_minute: list[dict[str, Any]]
    checkins_by_verdict: dict[str, int]
    resumes_by_channel: dict[str, int]


def _empty() -> dict[str, dict[str, int]]:
    return {metric: {"total": 0, "unique": 0} for metric in METRICS}


def shape_stats(
    fair: str, rows: list[Any], names: dict[str, dict[str, dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """Counter rows -> the /stats document, every metric present (zeros included).

    `names` (dim -> id -> fields) adds the registry's names to breakdown rows.
    """
    names = names or {}
    totals = _empty()
    # The outcome dim splits a metric by kind: a scan's verdict, a résumé's channel.
    outcomes = {
        "checkins": dict.fromkeys(VERDICTS, 0),
        "resumes_submitted": dict.fromkeys(CHANNELS, 0),
    }
    outcomes["checkins_denied"] = outcomes["checkins"]
    groups: dict[str, dict[str, dict[str, dict[str, int]]]] = defaultdict(dict)
    for row in rows:
        count = {"total": row["total"], "unique": row["uniq"]}
        if row["dim"] in LIVE_PARTS:  # "<session>|<employer or position>": kept per session
            group = groups[row["dim"]].setdefault(row["dim_id"], _empty())
            group[row["metric"]] = count
            continue
        if row["dim"] == "fair":
            totals[row["metric"]] = count
        elif row["dim"] == "outcome" and row["metric"] in outcomes:
            split = outcomes[row["metric"]]
            split[row["dim_id"]] = split.get(row["dim_id"], 0) + row["total"]
        elif row["dim"] in BREAKDOWNS:
            group = groups[row["dim"]].setdefault(row["dim_id"], _empty())
            group[row["metric"]] = count
    answer: dict[str, Any] = {
        "fair": fair,
        "as_of": datetime.now(UTC).isoformat(),
        "totals": totals,
        "checkins_by_verdict": outcomes["checkins"],
        "resumes_by_channel": outcomes["resumes_submitted"],
    }
    for dim, (name, id_field) in BREAKDOWNS.items():
        known = names.get(dim, {})
        answer[name] = [
            {id_field: dim_id, **known.get(dim_id, {}), "totals": counts}
            for dim_id, counts in sorted(groups[dim].items())
        ]
    for session in answer["by_session"]:
        for dim, (name, id_field, named_by) in LIVE_PARTS.items():
            prefix = session["session_id"] + "|"
            known = names.get(named_by, {})
            session[name] = [
                {id_field: item, **known.get(item, {}), "totals": counts}
                for dim_id, counts in sorted(groups[dim].items())
                if dim_id.startswith(prefix) and (item := dim_id[len(prefix) :])
            ]
    return answer


async def registry_names(db: Any, fair: str) -> dict[str, dict[str, dict[str, Any]]]:
    """The names that make breakdown rows readable: employers, positions, schools."""
    rows = await db.fetch(query("fair_names"), fair)
    names: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for row in rows:
        fields = {"name": row["name"]} if row["dim"] != "position" else {"title": row["name"]}
        if row["employer_id"] is not None:
            fields["employer_id"] = row["employer_id"]
        names[row["dim"]][row["id"]] = fields
    return names


async def read_stats(db: Any, fair: str, presence: Presence | None = None) -> dict[str, Any]:
    """The /stats document: counters and names from Postgres, live audiences from Redis."""
    rows = await db.fetch(query("fair_counters"), fair)
    stats = shape_stats(fair, rows, await registry_names(db, fair))
    if stats["by_session"]:
        peaks = dict(await db.fetch(query("live_peaks"), fair))
        audiences = (
            await presence.audiences([(fair, s["session_id"]) for s in stats["by_session"]])
            if presence is not None
            else [Audience(0, 0)] * len(stats["by_session"])
        )
        for session, audience in zip(stats["by_session"], audiences, strict=True):
            session["live_concurrent"] = audience.viewers_now
            session["live_peak"] = max(audience.peak, peaks.get(session["session_id"], 0))
    return stats


async def _organizer_of(request: web.Request) -> str:
    fair, principal = await fair_caller(request, "organizer")
    if principal.role == "admin":  # an organizer token already proves the fair exists
        await require_fair(request.app, fair)
    return fair


async def get_stats(request: web.Request) -> web.Response:
    fair = await _organizer_of(request)
    return web.json_response(
        await read_stats(request.app[keys.DB], fair, request.app[keys.PRESENCE])
    )


async def stream_stats(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: the fair's stats now, then again after every change.

    A client that reconnects with the Last-Event-ID it saw gets nothing until the figures
    move past it; one that missed changes gets the current snapshot at once.
    """
    fair = await _organizer_of(request)
    settings = request.app[keys.SETTINGS]
    try:
        last_seen = int(request.headers.get("Last-Event-ID", "-1"))
    except ValueError:
        last_seen = -1
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache, no-store",
            "X-Accel-Buffering": "no",  # nginx: pass each event through at once
        }
    )
    await response.prepare(request)
    await response.write(b"retry: 3000\n\n")
    feeds = request.app[keys.FEEDS]
    async with feeds.watch(fair) as feed:
        seq = 0
        while not feeds.closing:
            try:
                async with asyncio.timeout(settings.stats_stream_heartbeat_seconds):
                    snapshot = await feed.next_after(seq)
            except TimeoutError:
                snapshot = None
            if snapshot is not None:
                seq = snapshot.seq
                if snapshot.version == last_seen:
                    last_seen = -1  # what the client had when it reconnected: not again
                    continue
                last_seen = -1
            try:
                await response.write(b": keep-alive\n\n" if snapshot is None else snapshot.frame)
            except ConnectionResetError:
                break  # the dashboard went away
    return response
