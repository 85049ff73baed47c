"""The asyncpg pool, opened and closed in one place, and the errors that mean "Postgres is away"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from fairhub.config import Settings

# Errors after which the same work may succeed later: the server is away, restarting or busy.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    # The server went away while the pool reset a connection ("cannot switch to state ...").
    asyncpg.InternalClientError,
)


@asynccontextmanager
async def open_pool(settings: Settings, url: str | None = None) -> AsyncIterator[asyncpg.Pool]:
    """A pool that is closed on the way out, whatever happened."""
    pool = await asyncpg.create_pool(
        url or settings.database_url,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        command_timeout=30,
        timeout=5,
    )
    try:
        yield pool
    finally:
        await pool.close()
