"""Résumé retention: each fair keeps résumé files `resume_retention_days` after it ends.

Workers purge periodically. A purge deletes files and their names, never figures: résumé rows
stay (marked purged) and counters are not touched, so a report printed a year later shows the
same numbers. A download of a purged résumé answers 410.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from fairhub.config import Settings
from fairhub.db import TRANSIENT_ERRORS
from fairhub.sql import query

log = logging.getLogger(__name__)

# Several workers run the loop; one purge at a time is enough.
_LOCK = "fairhub:resume-retention"


@dataclass(frozen=True)
class Purge:
    resumes: int  # résumés sent to employers whose file went
    kept: int  # seekers' kept résumés let go
    files: int
    bytes: int


async def purge_expired(db: asyncpg.Pool, now: datetime | None = None) -> Purge | None:
    """Purge what is past its fair's retention at `now`; None if another worker is at it."""
    moment = now or datetime.now(UTC)
    async with db.acquire() as conn, conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext($1))", _LOCK):
            return None
        marked = await conn.fetchrow(query("purge_resumes"), moment)
        files = await conn.fetchrow(query("purge_resume_files"), marked["digests"])
    return Purge(marked["resumes"], marked["kept"], files["files"], files["bytes"])


async def purge_periodically(settings: Settings, db: asyncpg.Pool, stop: asyncio.Event) -> None:
    """Purge now and every retention_interval_seconds until `stop`; Postgres away: next time."""
    while not stop.is_set():
        try:
            done = await purge_expired(db)
        except TRANSIENT_ERRORS as exc:
            log.warning("résumé retention: database unavailable, next try later: %s", exc)
        except Exception:
            log.exception("résumé retention failed; next try later")
        else:
            if done is not None and (done.resumes or done.kept):
                log.info(
                    "résumé retention: %d résumés and %d kept résumés purged (%d files, %d bytes)",
                    done.resumes,
                    done.kept,
                    done.files,
                    done.bytes,
                )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.retention_interval_seconds)


@contextlib.asynccontextmanager
async def purging(settings: Settings, db: asyncpg.Pool, stop: asyncio.Event) -> AsyncIterator[None]:
    """The purge loop beside the caller's work; cancelled and awaited on the way out."""
    task = asyncio.create_task(purge_periodically(settings, db, stop), name="resume-retention")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
