"""The event loop the servers run on: uvloop where it is installed, the standard one elsewhere.

uvloop is a drop-in loop written on libuv: the same asyncio code spends less time in the loop
itself (selector calls, socket writes), which a busy gateway feels on every request.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

try:
    import uvloop

    _new: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    NAME = "uvloop"
except ImportError:  # not built for this platform: the standard loop does the same work
    _new = asyncio.new_event_loop
    NAME = "asyncio"


def new_loop() -> asyncio.AbstractEventLoop:
    """A new event loop of the best kind this machine has."""
    return _new()


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run() on that loop."""
    with asyncio.Runner(loop_factory=new_loop) as runner:
        return runner.run(main)


# A batch or a burst of requests allocates tens of thousands of short-lived objects (entries,
# decoded events, rows, requests), nearly all freed by reference counting. With the default
# threshold (700) the cyclic collector ran dozens of times per batch, rescanning them for
# nothing: a fifth of the worker's CPU in the drain benchmark. Collect rarely, and never
# rescan what startup made.
GC_YOUNG_THRESHOLD = 50_000


def collect_rarely() -> None:
    """Fewer cyclic collections in this server process: see GC_YOUNG_THRESHOLD."""
    gc.collect()
    gc.freeze()  # modules, settings, clients: kept for the process's life, never scanned again
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)
