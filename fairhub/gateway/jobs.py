"""The gateway's background work as aiojobs jobs: one scheduler per app, nothing silently gone.

Long-lived loops (a dashboard topic's reader and heartbeat, the pub/sub listener) run under
`supervised`: a loop that crashes is logged with its traceback and started again after a
backoff that grows while it keeps crashing, so a bug in one read costs a few seconds of
staleness instead of a dashboard frozen until the next deploy. Short jobs (a slow client's
catch-up, an unsubscribe) are spawned as they are: a crash is logged by the scheduler's
exception handler. Closing the app closes the scheduler, cancelling whatever still runs.

The per-request group commit (batching.Batcher, under the stream writer and presence) stays on
plain tasks: a job per request batch would cost on the hot path, and a flusher ends whenever
its queue is empty, so the next request starts a fresh one anyway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiojobs
from aiohttp import web
from aiojobs.aiohttp import AIOJOBS_SCHEDULER
from prometheus_client import Counter

log = logging.getLogger(__name__)

# aiojobs' own key: aiojobs.aiohttp.spawn(request, ...) finds the app's scheduler there.
SCHEDULER = AIOJOBS_SCHEDULER
CLOSE_TIMEOUT = 5.0  # a job still running at shutdown gets this long after its cancel
FIRST_DELAY = 0.5
MAX_DELAY = 30.0
HEALTHY_RUN = 60.0  # a run this long forgets earlier crashes: the next delay is short again

RESTARTS = Counter(
    "fairhub_gateway_job_restarts_total",
    "Background loops of the gateway that crashed and were started again",
    ["job"],
)


def new_scheduler() -> aiojobs.Scheduler:
    """No limit (a job waiting for a slot would be a topic gone quiet), crashes logged."""
    return aiojobs.Scheduler(
        limit=None, close_timeout=CLOSE_TIMEOUT, exception_handler=_log_failure
    )


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """The app's scheduler: opened before the background work, closed after it."""
    scheduler = new_scheduler()
    app[SCHEDULER] = scheduler
    yield
    await scheduler.close()


def _log_failure(scheduler: aiojobs.Scheduler, context: dict[str, Any]) -> None:
    job = context.get("job")
    name = job.get_name() if job is not None else None
    log.error(
        "background job %s: %s", name or "?", context.get("message"),
        exc_info=context.get("exception"),
    )  # fmt: skip


async def supervised(kind: str, name: str, run: Callable[[], Awaitable[None]]) -> None:
    """Run `run` until it returns; a crash is logged and `run` is called again after a backoff.

    `kind` names the loop for the metric (few values), `name` the instance for the log.
    """
    loop = asyncio.get_running_loop()
    crashes = 0
    while True:
        started = loop.time()
        try:
            await run()
            return
        except Exception:
            crashes = 1 if loop.time() - started > HEALTHY_RUN else crashes + 1
            delay = min(MAX_DELAY, FIRST_DELAY * 2 ** (crashes - 1))
            log.exception("%s crashed: starting it again in %.1f s", name, delay)
        RESTARTS.labels(kind).inc()
        await asyncio.sleep(delay)
        log.warning("%s started again", name)


async def spawn_supervised(
    scheduler: aiojobs.Scheduler, kind: str, name: str, run: Callable[[], Awaitable[None]]
) -> aiojobs.Job[None]:
    """A long-lived loop as a job of `scheduler`, restarted whenever it crashes."""
    return await scheduler.spawn(supervised(kind, name, run), name=name)
