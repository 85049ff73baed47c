"""Names for booth scans that were uploaded offline: the upload's answer has none for them.

A check-in's upload answer names the seeker; a booth visit's does not. The leads call, sent
again with the scan's own id, is a retry the server expects: the event is a duplicate (the scan
is not counted twice) and the answer carries the seeker's name.
"""

from __future__ import annotations

import logging

from fairhub.kiosk.link import Link, LinkDown
from fairhub.kiosk.offline import LEADS
from fairhub.kiosk.queue import Scan, Store

log = logging.getLogger("fairhub.kiosk")

# At most this many calls after one upload: after a long outage the newest matter (on screen).
MOST = 20


async def name_leads(link: Link, store: Store, scans: list[Scan]) -> list[Scan]:
    """The booth scans among `scans` that got their seeker's name, as now stored."""
    named: list[Scan] = []
    asked = 0
    for scan in reversed(scans):
        if scan.verdict not in LEADS or scan.name or not scan.seeker_id:
            continue
        known = store.seeker(scan.fair_id, scan.seeker_id)
        name = known.name if known else None
        if name is None and asked < MOST:
            asked += 1
            name = await _ask(link, scan)
        if name is None:
            continue
        store.remember(scan.fair_id, scan.seeker_id, name=name)
        named.append(
            store.decide(
                scan.id,
                str(scan.verdict),
                provisional=scan.provisional,
                name=name,
                reason=scan.reason,
            )
        )
    return named


async def _ask(link: Link, scan: Scan) -> str | None:
    body = {
        "id": scan.id,
        "badge": scan.code,
        "employer_id": scan.employer_id,
        "occurred_at": scan.occurred_at,
    }
    try:
        status, answer = await link.lead(scan.fair_id, body)
    except LinkDown as exc:
        log.info("no name for scan %s: %s", scan.id, exc)
        return None
    if status in (200, 201) and isinstance(answer, dict) and answer.get("seeker_name"):
        return str(answer["seeker_name"])
    return None
