"""An alliance's figures (GET /v1/alliances/{a}/stats, its report, the CLI): how demand turned
into trained and hired people, with the subsidies owed.

Counters (kept exact by the worker) give the totals, per member, per offer and per outcome;
the breakdown per occupation and the interns per semester are grouped from the stored events,
each stored once by its id, so they are exact too. Subsidies follow the alliance's rules.
The /stats answer and every format of the report come from `read_alliance_stats`, so they
can never disagree.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from fairhub.alliances import number
from fairhub.events import ALLIANCE_METRICS
from fairhub.sql import query

Figures = dict[str, dict[str, int]]


def empty_figures() -> Figures:
    """Every alliance metric at zero: a row with nothing counted yet still has them all."""
    return {m: {"total": 0, "unique": 0} for m in ALLIANCE_METRICS}


def internship_subsidy(posts: int, staff: int | None, share: Decimal, per_post: Decimal) -> Decimal:
    """Posts times the amount when interns reach `share` of the declared staff, else nothing."""
    if not staff or posts < share * staff:
        return Decimal(0)
    return posts * per_post


async def read_alliance_stats(db: Any, alliance: str) -> dict[str, Any] | None:
    """Per member, occupation, offer and channel, with the subsidies owed (None: no alliance).

    `db` is a pool or a connection; the report passes one inside a read-only snapshot.
    """
    rules = await db.fetchrow(
        "SELECT internship_share, internship_subsidy FROM alliances WHERE id = $1", alliance
    )
    if rules is None:
        return None
    totals = empty_figures()
    per: dict[str, dict[str, Figures]] = defaultdict(lambda: defaultdict(empty_figures))
    for row in await db.fetch(query("alliance_counters"), alliance):
        if row["metric"] not in totals:
            continue
        cell = {"total": row["total"], "unique": row["uniq"]}
        if row["dim"] == "fair":
            totals[row["metric"]] = cell
        else:
            per[row["dim"]][row["dim_id"]][row["metric"]] = cell
    members = await db.fetch(
        "SELECT m.id, m.kind, m.name, m.joined_at, m.left_at,"
        " (SELECT coalesce(sum(headcount), 0) FROM demands d"
        "  WHERE d.alliance_id = m.alliance_id AND d.member_id = m.id)::bigint AS demand,"
        " (SELECT coalesce(sum(seats), 0) FROM offers o"
        "  WHERE o.alliance_id = m.alliance_id AND o.member_id = m.id)::bigint AS seats"
        " FROM alliance_members m WHERE m.alliance_id = $1 ORDER BY m.joined_at, m.name",
        alliance,
    )
    offers = await db.fetch(
        "SELECT id, member_id, occupation, kind, seats, subsidy_per_trainee FROM offers"
        " WHERE alliance_id = $1 ORDER BY created_at, id",
        alliance,
    )
    at_fairs: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    for row in await db.fetch(query("alliance_member_fairs"), alliance):
        at_fairs[row["member_id"]][row["metric"]] = {"total": row["total"], "unique": row["uniq"]}
    by_offer = []
    training_subsidy = Decimal(0)
    for offer in offers:
        figures = per["position"][offer["id"]]
        completed = figures["training_completions"]["unique"]
        subsidy = completed * offer["subsidy_per_trainee"]
        training_subsidy += subsidy
        by_offer.append(
            {
                **dict(offer),
                **figures,
                "subsidy_per_trainee": number(offer["subsidy_per_trainee"]),
                "training_subsidy": number(subsidy),
            }
        )
    return {
        "alliance": alliance,
        "totals": totals,
        "by_member": [
            {**dict(m), **per["employer"][m["id"]], "at_fairs": at_fairs[m["id"]]} for m in members
        ],
        "by_offer": by_offer,
        "by_occupation": await _by_occupation(db, alliance),
        "hires_by_channel": {
            channel: figures["hires"]
            for channel, figures in per["outcome"].items()
            if figures["hires"]["total"]
        },
        "subsidies": [
            {
                "member_id": r["member_id"],
                "name": r["name"],
                "semester": r["semester"],
                "staff": r["staff"],
                "internship_posts": r["posts"],
                "amount": number(
                    internship_subsidy(
                        r["posts"],
                        r["staff"],
                        rules["internship_share"],
                        rules["internship_subsidy"],
                    )
                ),
            }
            for r in await db.fetch(query("alliance_internships"), alliance)
        ],
        "training_subsidy": number(training_subsidy),
    }


async def _by_occupation(db: Any, alliance: str) -> list[dict[str, Any]]:
    """Demand (by category), seats and the chain's figures for each occupation."""
    rows: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"technical": 0, "skilled": 0, "seats": 0, **empty_figures()}
    )
    for r in await db.fetch(
        "SELECT occupation, category, sum(headcount)::bigint AS n FROM demands"
        " WHERE alliance_id = $1 GROUP BY 1, 2",
        alliance,
    ):
        rows[r["occupation"]][r["category"]] = r["n"]
    for r in await db.fetch(
        "SELECT occupation, sum(seats)::bigint AS n FROM offers WHERE alliance_id = $1 GROUP BY 1",
        alliance,
    ):
        rows[r["occupation"]]["seats"] = r["n"]
    for r in await db.fetch(query("alliance_by_occupation"), alliance):
        rows[r["occupation"]][r["metric"]] = {"total": r["total"], "unique": r["uniq"]}
    return [{"occupation": name, **figures} for name, figures in sorted(rows.items())]
