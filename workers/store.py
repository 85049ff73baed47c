"""The Postgres side of a batch: decode entries, commit them in one statement, isolate poison."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import asyncpg
import orjson

from fairhub.db import TRANSIENT_ERRORS
from fairhub.sql import query
from workers.handlers import HANDLERS, NOT_STORED


class Entry(NamedTuple):
    """One event as read from Redis: a partition's stream, the stream entry, an event of a fair.

    A stream entry holds one event, or several of one fair ({b: ...}, streams.py): `part` is
    the event's place in it (-1 when alone). Acknowledging is per stream entry; the event's
    own reference (`ref`, stored with the event and in dead letters) is per event.
    A tuple: thousands are made per batch, and a frozen dataclass costs several times more.
    """

    stream: str
    entry_id: str
    fair: str
    payload: str
    part: int = -1

    @property
    def ref(self) -> str:
        """The stream entry's id, and for one of several events its place: "1-0/3"."""
        return self.entry_id if self.part < 0 else f"{self.entry_id}/{self.part}"


@dataclass(slots=True)
class Row:
    entry: Entry
    values: tuple[Any, ...]  # the columns of aggregate_batch.sql, in order


@dataclass
class Outcome:
    """What became of a batch: committed entries, skipped ones, failures with their reason."""

    done: list[Entry] = field(default_factory=list)
    failed: dict[Entry, str] = field(default_factory=dict)
    # fair -> metric -> {total, unique}: the fair-level counters this batch changed
    totals: dict[str, dict[str, dict[str, int]]] = field(default_factory=lambda: defaultdict(dict))


def decode(entry: Entry) -> Row | None:
    """The row to insert for an entry; None for an event that is not stored. Raises if broken."""
    event = orjson.loads(entry.payload)
    kind = event["type"]
    if kind in NOT_STORED:
        return None
    fact = HANDLERS[kind](event)
    values = (
        entry.fair,
        event["id"],
        kind,
        datetime.fromisoformat(event["occurred_at"]),
        fact.metric,
        fact.subject,
        fact.employer_id,
        fact.position_id,
        fact.session_id,
        entry.payload,
        entry.ref,
        fact.seeker_id,
        fact.outcome,
    )
    return Row(entry, values)


async def commit(pool: asyncpg.Pool, rows: list[Row], outcome: Outcome) -> None:
    """Insert rows and update counters in one transaction; poison rows are isolated by halving.

    Transient errors (Postgres away) propagate: the caller backs off and retries the batch,
    which is safe because a committed half conflicts on (fair, id) and adds nothing.
    """
    if not rows:
        return
    try:
        columns = [list(column) for column in zip(*(r.values for r in rows), strict=True)]
        changed = await pool.fetch(query("aggregate_batch"), *columns)
    except TRANSIENT_ERRORS:
        raise
    except (asyncpg.PostgresError, asyncpg.DataError, ValueError, TypeError) as exc:
        if len(rows) == 1:
            outcome.failed[rows[0].entry] = f"{type(exc).__name__}: {exc}"
            return
        middle = len(rows) // 2
        await commit(pool, rows[:middle], outcome)
        await commit(pool, rows[middle:], outcome)
        return
    outcome.done.extend(r.entry for r in rows)
    for record in changed:
        if record["dim"] == "fair":
            outcome.totals[str(record["fair_id"])][record["metric"]] = {
                "total": record["total"],
                "unique": record["uniq"],
            }


async def dead_letter(pool: asyncpg.Pool, entry: Entry, error: str, attempts: int) -> None:
    """Keep a hopeless entry with its reason, so the stream flows on and nothing is lost."""
    await pool.execute(
        query("insert_dead_letter"),
        entry.stream,
        entry.ref,
        entry.fair,
        entry.payload,
        error,
        attempts,
    )
