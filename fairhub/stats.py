"""The fair's figures as one document (/stats, dashboards, the report): counters and names
from Postgres, live audiences from Redis. Shared by the gateway and the `fairhub report` CLI.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from fairhub.events import CHANNELS, HIRE_CHANNELS, METRICS
from fairhub.gate import VERDICTS
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
# Of what happened during a pin, what named the pinned position: `for_pinned` of by_pin rows.
PIN_CHOSEN = "session_pin_chosen"


# A fair's hires (its employers' `hired` events) are counted like its other metrics.
FAIR_METRICS: tuple[str, ...] = (*METRICS, "hires")


def _empty() -> dict[str, dict[str, int]]:
    return {metric: {"total": 0, "unique": 0} for metric in FAIR_METRICS}


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
    # A hire's channel keeps both counts: hires (人次) and hired persons (人数) per channel.
    hires_by_channel = {channel: {"total": 0, "unique": 0} for channel in HIRE_CHANNELS}
    groups: dict[str, dict[str, dict[str, dict[str, int]]]] = defaultdict(dict)
    for row in rows:
        count = {"total": row["total"], "unique": row["uniq"]}
        if row["dim"] in LIVE_PARTS or row["dim"] == PIN_CHOSEN:  # "<session>|<id>"
            group = groups[row["dim"]].setdefault(row["dim_id"], _empty())
            group[row["metric"]] = count
            continue
        if row["dim"] == "fair":
            totals[row["metric"]] = count
        elif row["dim"] == "outcome" and row["metric"] == "hires":
            hires_by_channel[row["dim_id"]] = count
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
        "hires_by_channel": hires_by_channel,
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
        for pin in session["by_pin"]:
            chosen = groups[PIN_CHOSEN].get(session["session_id"] + "|" + pin["position_id"])
            pin["for_pinned"] = chosen or _empty()
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
