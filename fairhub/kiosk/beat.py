"""The kiosk's beat: every few seconds it tells the gateway how many scans wait in its queue.

The organizer's devices page shows it, so a kiosk that has been offline (a long queue) or
silent (no beat) is found before the day's figures are read. A beat is best effort: a beat
that fails changes nothing here; the queue uploads on its own schedule.
"""

from __future__ import annotations

import asyncio
import logging

from fairhub.kiosk.link import Link, LinkDown
from fairhub.kiosk.queue import Store

log = logging.getLogger("fairhub.kiosk")


async def beat_forever(link: Link, store: Store, fair: str, seconds: float) -> None:
    """Send the queue's length now and every `seconds`, while the link is up."""
    while True:
        if link.online:
            try:
                status, _ = await link.call(
                    "POST", f"/v1/fairs/{fair}/beat", {"queued": store.queued()}
                )
            except LinkDown as exc:
                log.debug("no beat: %s", exc)
            else:
                if status != 200:  # an older gateway without beats: nothing to do about it
                    log.debug("the beat was answered %s", status)
        await asyncio.sleep(seconds)
