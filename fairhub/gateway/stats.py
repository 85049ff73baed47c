"""GET /v1/fairs/{fair}/stats: the fair's counters from Postgres, the source of truth."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from fairhub import keys
from fairhub.events import METRICS
from fairhub.gate import VERDICTS
from fairhub.gateway.access import fair_caller
from fairhub.gateway.fairs import require_fair
from fairhub.sql import query

# dim in the counters table -> (list name in the answer, id field of each row)
BREAKDOWNS: dict[str, tuple[str, str]] = {
    "employer": ("by_employer", "employer_id"),
    "position": ("by_position", "position_id"),
    "school": ("by_school", "school_id"),
    "session": ("by_session", "session_id"),
    "minute": ("per_minute", "minute"),
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
    verdicts = dict.fromkeys(VERDICTS, 0)
    groups: dict[str, dict[str, dict[str, dict[str, int]]]] = defaultdict(dict)
    for row in rows:
        count = {"total": row["total"], "unique": row["uniq"]}
        if row["dim"] == "fair":
            totals[row["metric"]] = count
        elif row["dim"] == "outcome":
            verdicts[row["dim_id"]] = verdicts.get(row["dim_id"], 0) + row["total"]
        elif row["dim"] in BREAKDOWNS:
            group = groups[row["dim"]].setdefault(row["dim_id"], _empty())
            group[row["metric"]] = count
    answer: dict[str, Any] = {
        "fair": fair,
        "as_of": datetime.now(UTC).isoformat(),
        "totals": totals,
        "checkins_by_verdict": verdicts,
    }
    for dim, (name, id_field) in BREAKDOWNS.items():
        known = names.get(dim, {})
        answer[name] = [
            {id_field: dim_id, **known.get(dim_id, {}), "totals": counts}
            for dim_id, counts in sorted(groups[dim].items())
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


async def get_stats(request: web.Request) -> web.Response:
    fair, principal = await fair_caller(request, "organizer")
    if principal.role == "admin":  # an organizer token already proves the fair exists
        await require_fair(request.app, fair)
    db = request.app[keys.DB]
    rows = await db.fetch(query("fair_counters"), fair)
    return web.json_response(shape_stats(fair, rows, await registry_names(db, fair)))
