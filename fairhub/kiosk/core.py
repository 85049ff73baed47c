"""The kiosk's loop: queue each scan first, ask the gateway or decide offline, upload the rest.

Scans are decided one at a time, in the order they came. A scan goes straight to the check-in
call only when the link is up and nothing older waits; otherwise the kiosk decides it at once
(provisional) and the uploader sends the queue in order, so the server's first-entry decisions
follow the order people came through this gate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fairhub.config import KioskSettings
from fairhub.kiosk import offline
from fairhub.kiosk.beat import beat_forever
from fairhub.kiosk.link import Link, LinkDown
from fairhub.kiosk.naming import name_leads
from fairhub.kiosk.offline import Local
from fairhub.kiosk.queue import Scan, Store
from fairhub.kiosk.screen import RECENT_ROWS, Screen, Status

log = logging.getLogger("fairhub.kiosk")


@dataclass(frozen=True)
class Post:
    """Where this kiosk stands: its fair, and a gate or an employer's booth."""

    fair: str
    mode: str  # gate | booth
    place: str
    gate: str | None = None
    employer_id: str | None = None


class Kiosk:
    """One run of the kiosk over an open store, link and screen."""

    def __init__(
        self,
        post: Post,
        store: Store,
        link: Link,
        screen: Screen,
        settings: KioskSettings,
        timezone: str,
    ) -> None:
        self.post = post
        self.store = store
        self.link = link
        self.screen = screen
        self.settings = settings
        self._zone = ZoneInfo(timezone)
        self._keys = offline.decode_keys(store.meta("keys") or {})
        self._keys_at = time.monotonic() if link.online else 0.0
        self._decisions: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()
        self._codes: dict[str, tuple[float, str]] = {}  # code -> (when, scan id): double taps
        self._wake = asyncio.Event()
        self._next_try = 0.0
        self._uploading = False
        self._answered = asyncio.Event()  # the server answered for some scans
        self.input_done = asyncio.Event()
        self.stop = asyncio.Event()

    def on_line(self, text: str | None) -> None:
        """A line from the scanner (None at end of input): queued durably before anything else."""
        if text is None:
            self.input_done.set()
            return
        code = text.strip()
        if not code:
            return
        moment = time.monotonic()
        seen = self._codes.get(code)
        if seen is not None and moment - seen[0] < self.settings.repeat_seconds:
            self._codes[code] = (moment, seen[1])
            self._decisions.put_nowait((seen[1], True))
            return
        kind = "booth_visit" if self.post.mode == "booth" else "checkin"
        try:
            scan = self.store.add(kind, code, self.post.fair, self.post.gate, self.post.employer_id)
        except sqlite3.Error as exc:  # a full or broken disk: say so, never pretend
            self.screen.note(f"the scan could not be saved ({exc}): fix the disk, scan again")
            return
        self._codes = {c: s for c, s in self._codes.items() if moment - s[0] < 60}
        self._codes[code] = (moment, scan.id)
        self._decisions.put_nowait((scan.id, False))

    def recover(self) -> None:
        """Scans an earlier run queued but never decided (it died): decided now, offline."""
        left = self.store.undecided()
        for scan in left:
            self._decide_here(scan)
        if left:
            self.screen.note(f"{len(left)} scan(s) queued by the last run will be uploaded")
        self._wake.set()  # and whatever an earlier run left in the queue

    async def run(self) -> None:
        """Until stopped, or until the input ended and every scan was answered for."""
        self.recover()
        tasks = [
            asyncio.create_task(self._decider()),
            asyncio.create_task(self._uploader()),
            asyncio.create_task(self._ticker()),
            asyncio.create_task(self._finish_when_done()),
            asyncio.create_task(
                beat_forever(self.link, self.store, self.post.fair, self.settings.beat_seconds)
            ),
        ]
        try:
            await self.stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _finish_when_done(self) -> None:
        await self.input_done.wait()
        await self._decisions.join()
        self.screen.note("input ended; stopping once every scan is uploaded")
        while True:
            self._answered.clear()
            if not self.store.queued():
                break
            await self._answered.wait()
        self.stop.set()

    async def _decider(self) -> None:
        while True:
            scan_id, repeat = await self._decisions.get()
            try:
                if not repeat:
                    await self._decide(scan_id)
                self.screen.show(self.store.get(scan_id))
                self.refresh()
            finally:
                self._decisions.task_done()

    async def _decide(self, scan_id: str) -> None:
        if self.settings.send_delay_seconds:
            await asyncio.sleep(self.settings.send_delay_seconds)
        scan = self.store.get(scan_id)
        if self.link.online and not self._uploading and self.store.queued(before=scan.seq) == 0:
            self.screen.pending(scan)
            try:
                got = await self._ask(scan)
            except LinkDown as exc:
                self._down(exc)
            else:
                self.link.came_up()
                offline.learn(self.store, scan.fair_id, scan.kind, scan.employer_id, scan.code, got)
                self.store.decide(
                    scan.id,
                    got.verdict,
                    provisional=False,
                    seeker_id=got.seeker_id,
                    name=got.name,
                    reason=got.reason,
                    answered=True,
                )
                return
        self._decide_here(scan)
        self._wake.set()

    def _decide_here(self, scan: Scan) -> None:
        if scan.kind == "booth_visit":
            employer = scan.employer_id or ""
            got = offline.judge_lead(self.store, scan.fair_id, self._keys, employer, scan.code)
        else:
            got = offline.judge_checkin(self.store, scan.fair_id, self._keys, scan.code)
        self.store.decide(
            scan.id,
            got.verdict,
            provisional=True,
            seeker_id=got.seeker_id,
            name=got.name,
            reason=got.reason,
        )

    async def _ask(self, scan: Scan) -> Local:
        """The gateway's verdict for one scan, through the check-in or the leads call."""
        body: dict[str, Any] = {"id": scan.id, "badge": scan.code, "occurred_at": scan.occurred_at}
        if scan.kind == "booth_visit":
            body["employer_id"] = scan.employer_id
            status, answer = await self.link.lead(scan.fair_id, body)
            if status in (200, 201) and isinstance(answer, dict):
                return Local(
                    "new_lead" if status == 201 else "known_lead",
                    answer.get("seeker_id"),
                    answer.get("seeker_name"),
                )
        else:
            if scan.gate:
                body["gate"] = scan.gate
            status, answer = await self.link.checkin(scan.fair_id, body)
            if status == 200 and isinstance(answer, dict):
                seeker_id, name = offline.seeker_of(answer)
                return Local(str(answer["verdict"]), seeker_id, name, answer.get("reason"))
        detail = answer.get("detail") if isinstance(answer, dict) else None
        if status == 404:
            raise LinkDown(f"the gateway does not know this fair ({detail})")
        code = answer.get("error") if isinstance(answer, dict) else None
        fields = answer.get("fields") if isinstance(answer, dict) else None
        if code == "invalid_badge" or (status == 422 and fields == ["badge"]):
            return Local("invalid_badge", reason=detail)
        self.screen.note(f"the gateway refused a scan ({status}): {detail}")
        return Local("rejected", reason=str(detail))

    def _down(self, exc: LinkDown) -> None:
        if self.link.online:
            self.screen.note(f"offline: {exc}")
        self.link.went_down(exc)
        self._next_try = time.monotonic() + self.link.backoff(exc.retry_after)

    async def _uploader(self) -> None:
        while True:
            if self.link.online:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.keys_refresh_seconds):
                        await self._wake.wait()
            self._wake.clear()
            if not self.link.online:
                # Offline, scans only add to the queue: the next try waits for its turn.
                await asyncio.sleep(max(0.0, self._next_try - time.monotonic()))
            batch = self.store.ready(self.post.fair, self.settings.batch_size)
            returned = not self.link.online
            try:
                if batch:
                    self._uploading = True
                    self.store.tried([s.id for s in batch])
                    results = await self.link.upload(self.post.fair, [s.event() for s in batch])
                elif returned:
                    await self.link.healthy()
            except LinkDown as exc:
                self._down(exc)
                self.refresh()
                continue
            finally:
                self._uploading = False
            if batch or returned:
                self.link.came_up()
            if batch:
                self._apply(batch, results)
                self._answered.set()
                done = [self.store.get(s.id) for s in batch]
                for scan in await name_leads(self.link, self.store, done):
                    self.screen.changed(scan, scan.verdict)
            if returned:
                self.screen.note("online again")
            if returned or time.monotonic() - self._keys_at >= self.settings.keys_refresh_seconds:
                await self.refresh_keys()
            if self.store.ready(self.post.fair, 1):
                self._wake.set()
            self.refresh()

    def _apply(self, batch: list[Scan], results: list[dict[str, Any]]) -> None:
        """The server's answer replaces each provisional verdict; the scan leaves the queue."""
        for scan, result in zip(batch, results, strict=True):
            if result.get("id") != scan.id:
                self.screen.note(f"an upload answer out of order: {result.get('id')} for {scan.id}")
                continue
            reason = result.get("reason")
            if result.get("status") == "rejected":
                bad_badge = str(reason).startswith("badge:")
                verdict = "invalid_badge" if bad_badge else "rejected"
            elif scan.kind == "checkin":
                verdict = str(result.get("verdict") or scan.verdict)
            else:  # a booth visit the server took: a lead, new or not as this booth knew it
                verdict = scan.verdict if scan.verdict in offline.LEADS else "new_lead"
            # A seeker this kiosk had never seen was shown by id: the answer names them.
            seeker_id, name = offline.seeker_of(result)
            got = Local(verdict, seeker_id or scan.seeker_id, name or scan.name, reason)
            offline.learn(self.store, scan.fair_id, scan.kind, scan.employer_id, scan.code, got)
            done = self.store.decide(
                scan.id,
                verdict,
                provisional=False,
                seeker_id=got.seeker_id,
                name=got.name,
                reason=reason,
                answered=True,
            )
            if verdict != scan.verdict or done.name != scan.name:
                self.screen.changed(done, scan.verdict)

    async def refresh_keys(self) -> None:
        """Re-read the fair's public keys (a rotation or a retirement) and cache them."""
        try:
            found = await self.link.public_keys(self.post.fair)
        except LinkDown as exc:
            log.debug("keys not refreshed: %s", exc)
            return
        self.store.set_meta("keys", found)
        self._keys = offline.decode_keys(found)
        self._keys_at = time.monotonic()

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            self.refresh()

    def refresh(self) -> None:
        """Tell the screen where things stand."""
        midnight = datetime.now(self._zone).replace(hour=0, minute=0, second=0, microsecond=0)
        kind = "booth_visit" if self.post.mode == "booth" else "checkin"
        self.screen.status(
            Status(
                mode=self.post.mode,
                place=self.post.place,
                online=self.link.online,
                problem=self.link.problem,
                queued=self.store.queued(),
                today=self.store.tally(kind, midnight.astimezone(UTC).isoformat()),
                recent=self.store.recent(RECENT_ROWS),
            )
        )
