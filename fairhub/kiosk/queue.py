"""The kiosk's SQLite file: every scan lands here first, fsynced, before anything else happens.

It is the queue (scans the server has not answered for yet), the log (every scan with the
verdict shown and, once known, the server's), and the kiosk's memory for offline verdicts: the
fair's public keys, which seekers it let in, which badges were replaced, which leads it has.
One connection in the event loop's thread; each commit is a WAL fsync (synchronous=FULL), a
few milliseconds, so a crash or a power cut right after a scan loses nothing.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scans (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,      -- the event id, sent with every retry
    kind         TEXT NOT NULL,             -- checkin | booth_visit
    code         TEXT NOT NULL,             -- what the scanner typed
    fair_id      TEXT NOT NULL,
    gate         TEXT,
    employer_id  TEXT,
    occurred_at  TEXT NOT NULL,             -- RFC 3339, UTC, fixed width: sorts as text
    verdict      TEXT,                      -- NULL until decided
    provisional  INTEGER NOT NULL DEFAULT 1,
    seeker_id    TEXT,
    name         TEXT,
    reason       TEXT,
    sent_at      TEXT,                      -- when the server answered for it; NULL: queued
    attempts     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS scans_queued ON scans (seq) WHERE sent_at IS NULL;
CREATE TABLE IF NOT EXISTS seekers (
    fair_id      TEXT NOT NULL,
    id           TEXT NOT NULL,
    name         TEXT,
    min_serial   INTEGER NOT NULL DEFAULT 0, -- badges below this serial were replaced
    admitted_at  TEXT,                       -- let in by this kiosk (or told so by the server)
    PRIMARY KEY (fair_id, id)
);
CREATE TABLE IF NOT EXISTS leads (
    fair_id      TEXT NOT NULL,
    employer_id  TEXT NOT NULL,
    seeker_id    TEXT NOT NULL,
    PRIMARY KEY (fair_id, employer_id, seeker_id)
);
"""

_COLUMNS = (
    "seq, id, kind, code, fair_id, gate, employer_id, occurred_at, verdict, provisional,"
    " seeker_id, name, reason, sent_at"
)


def now() -> str:
    """The current time as the file stores it."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Scan:
    """One row of the log."""

    seq: int
    id: str
    kind: str
    code: str
    fair_id: str
    gate: str | None
    employer_id: str | None
    occurred_at: str
    verdict: str | None
    provisional: bool
    seeker_id: str | None
    name: str | None
    reason: str | None
    sent_at: str | None

    def event(self) -> dict[str, Any]:
        """The scan as an event of POST /events, with its original id and time."""
        body: dict[str, Any] = {
            "id": self.id,
            "type": self.kind,
            "occurred_at": self.occurred_at,
            "badge": self.code,
        }
        if self.kind == "booth_visit":
            body["employer_id"] = self.employer_id
        elif self.gate:
            body["gate"] = self.gate
        return body


@dataclass(frozen=True)
class Seeker:
    id: str
    name: str | None
    min_serial: int
    admitted: bool


class Store:
    """The SQLite file, opened once per run."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        path.chmod(0o600)  # badges name people
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise RuntimeError(f"{path}: SQLite refused WAL mode ({mode})")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def meta(self, key: str) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value, ensure_ascii=False)),
        )

    def add(
        self, kind: str, code: str, fair: str, gate: str | None, employer_id: str | None
    ) -> Scan:
        """Queue a scan with a fresh id and the scan time; durable when this returns."""
        scan_id = "k-" + uuid.uuid4().hex
        self._db.execute(
            "INSERT INTO scans (id, kind, code, fair_id, gate, employer_id, occurred_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (scan_id, kind, code, fair, gate, employer_id, now()),
        )
        return self.get(scan_id)

    def get(self, scan_id: str) -> Scan:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM scans WHERE id = ?", (scan_id,)).fetchone()
        return _scan(row)

    def decide(
        self,
        scan_id: str,
        verdict: str,
        *,
        provisional: bool,
        seeker_id: str | None = None,
        name: str | None = None,
        reason: str | None = None,
        answered: bool = False,
    ) -> Scan:
        """Record a verdict; `answered` means the server's answer, which ends the queueing."""
        self._db.execute(
            "UPDATE scans SET verdict = ?, provisional = ?,"
            " seeker_id = coalesce(?, seeker_id), name = coalesce(?, name), reason = ?,"
            " sent_at = CASE WHEN ? THEN ? ELSE sent_at END"
            " WHERE id = ?",
            (verdict, provisional, seeker_id, name, reason, answered, now(), scan_id),
        )
        return self.get(scan_id)

    def tried(self, ids: list[str]) -> None:
        self._db.executemany(
            "UPDATE scans SET attempts = attempts + 1 WHERE id = ?", [(i,) for i in ids]
        )

    def undecided(self) -> list[Scan]:
        """Scans queued by an earlier run that died before showing a verdict."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM scans WHERE verdict IS NULL ORDER BY seq"
        ).fetchall()
        return [_scan(r) for r in rows]

    def ready(self, fair: str, limit: int) -> list[Scan]:
        """The oldest decided scans the server has not answered for: the next upload."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM scans WHERE sent_at IS NULL AND verdict IS NOT NULL"
            " AND fair_id = ? ORDER BY seq LIMIT ?",
            (fair, limit),
        ).fetchall()
        return [_scan(r) for r in rows]

    def queued(self, before: int | None = None) -> int:
        """How many scans wait for the server (only those older than `before`, if given)."""
        row = self._db.execute(
            "SELECT count(*) FROM scans WHERE sent_at IS NULL AND (? IS NULL OR seq < ?)",
            (before, before),
        ).fetchone()
        return int(row[0])

    def recent(self, count: int) -> list[Scan]:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM scans ORDER BY seq DESC LIMIT ?", (count,)
        ).fetchall()
        return [_scan(r) for r in rows]

    def tally(self, kind: str, since: str) -> dict[str, int]:
        """Scans of `kind` since a moment, by verdict: the day's figures on screen."""
        rows = self._db.execute(
            "SELECT verdict, count(*) FROM scans WHERE kind = ? AND occurred_at >= ?"
            " AND verdict IS NOT NULL GROUP BY verdict",
            (kind, since),
        ).fetchall()
        return {str(v): int(n) for v, n in rows}

    def other_fairs_queued(self, fair: str) -> int:
        row = self._db.execute(
            "SELECT count(*) FROM scans WHERE sent_at IS NULL AND fair_id <> ?", (fair,)
        ).fetchone()
        return int(row[0])

    def seeker(self, fair: str, seeker_id: str) -> Seeker | None:
        row = self._db.execute(
            "SELECT id, name, min_serial, admitted_at FROM seekers WHERE fair_id = ? AND id = ?",
            (fair, seeker_id),
        ).fetchone()
        return None if row is None else Seeker(row[0], row[1], int(row[2]), row[3] is not None)

    def remember(
        self,
        fair: str,
        seeker_id: str,
        *,
        name: str | None = None,
        min_serial: int = 0,
        admitted: bool = False,
    ) -> None:
        """Learn about a seeker: a name, a newer badge, or that they were let in."""
        self._db.execute(
            "INSERT INTO seekers (fair_id, id, name, min_serial, admitted_at)"
            " VALUES (?, ?, ?, ?, CASE WHEN ? THEN ? END)"
            " ON CONFLICT (fair_id, id) DO UPDATE SET"
            " name = coalesce(excluded.name, name),"
            " min_serial = max(min_serial, excluded.min_serial),"
            " admitted_at = coalesce(admitted_at, excluded.admitted_at)",
            (fair, seeker_id, name, min_serial, admitted, now()),
        )

    def has_lead(self, fair: str, employer_id: str, seeker_id: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM leads WHERE fair_id = ? AND employer_id = ? AND seeker_id = ?",
            (fair, employer_id, seeker_id),
        ).fetchone()
        return row is not None

    def remember_lead(self, fair: str, employer_id: str, seeker_id: str) -> None:
        self._db.execute(
            "INSERT INTO leads (fair_id, employer_id, seeker_id) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (fair, employer_id, seeker_id),
        )


def _scan(row: Any) -> Scan:
    if row is None:
        raise KeyError("no such scan")
    values = list(row)
    values[9] = bool(values[9])
    return Scan(*values)
