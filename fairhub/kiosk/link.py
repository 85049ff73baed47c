"""The kiosk's calls to the gateway, and what counts as "the link is down".

Timeouts, refused connections, resets and 5xx/429 answers are the venue Wi-Fi or a gateway in
trouble: LinkDown, and the kiosk carries on offline. 401/403 are a token problem: Refused (also
a LinkDown, so nothing is lost; the banner says so). Every other answer is the server's word.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import aiohttp

from fairhub.config import KioskSettings


class LinkDown(Exception):
    """The gateway could not be reached, or could not answer now."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Refused(LinkDown):
    """The gateway does not accept this token (revoked, or of another fair)."""


class Link:
    """One HTTP session to the gateway, and what the kiosk knows about the link."""

    def __init__(self, url: str, token: str, settings: KioskSettings) -> None:
        self.base = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._settings = settings
        self._session: aiohttp.ClientSession | None = None
        self.online = True  # until a call says otherwise
        self.problem: str | None = None
        self.refused = False
        self.last_contact: float | None = None  # time.time() of the last answer
        self._failures = 0

    async def __aenter__(self) -> Link:
        self._session = aiohttp.ClientSession(headers=self._headers)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    def went_down(self, exc: LinkDown) -> None:
        self.online = False
        self.problem = str(exc)
        self.refused = isinstance(exc, Refused)
        self._failures += 1

    def came_up(self) -> None:
        self.online = True
        self.problem = None
        self.refused = False
        self._failures = 0
        self.last_contact = time.time()

    def backoff(self, retry_after: float | None = None) -> float:
        """How long to wait before the next try: exponential steps, full jitter, a floor."""
        low, high = self._settings.retry_min_seconds, self._settings.retry_max_seconds
        step = min(high, low * 2 ** min(self._failures, 16))
        wait = random.uniform(low, max(low, step))
        return max(wait, retry_after or 0.0)

    async def call(
        self, method: str, path: str, body: Any = None, seconds: float | None = None
    ) -> tuple[int, Any]:
        """(status, JSON body) of any answer below 500 but 401/403/429; LinkDown otherwise."""
        assert self._session is not None, "use `async with Link(...)`"
        limit = seconds or self._settings.timeout_seconds
        deadline = time.monotonic() + limit
        attempt = 0
        while True:
            attempt += 1
            try:
                async with asyncio.timeout(max(0.01, deadline - time.monotonic())):
                    return await self._once(method, path, body)
            except aiohttp.ClientConnectorError as exc:
                raise LinkDown(f"cannot connect to {exc.host}:{exc.port}") from None
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
                # A pooled connection the other side had closed: one fresh try, same deadline.
                if attempt > 1 or time.monotonic() >= deadline:
                    raise LinkDown(f"connection lost ({type(exc).__name__})") from None
            except TimeoutError:
                raise LinkDown(f"no answer within {limit:g} s") from None
            except aiohttp.ClientError as exc:
                raise LinkDown(f"cannot reach the gateway ({type(exc).__name__})") from None

    async def _once(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        assert self._session is not None
        async with self._session.request(method, self.base + path, json=body) as response:
            try:
                answer = await response.json(content_type=None)
            except ValueError:
                answer = None
            status = response.status
            if status in (401, 403):
                detail = answer.get("detail") if isinstance(answer, dict) else None
                raise Refused(f"the gateway refuses this token ({status}: {detail})")
            if status >= 500 or status == 429:
                raise LinkDown(
                    f"the gateway answered {status}",
                    _retry_after(response.headers.get("Retry-After")),
                )
            return status, answer

    async def me(self) -> dict[str, Any]:
        """What the token is: its fair, and for a device its label, gate and employer."""
        status, body = await self.call("GET", "/v1/me")
        if status != 200 or not isinstance(body, dict):
            raise LinkDown(f"GET /v1/me answered {status}")
        return body

    async def public_keys(self, fair: str) -> dict[str, str]:
        """kid -> the base64url public key of the fair's live keys."""
        status, body = await self.call("GET", f"/v1/fairs/{fair}/keys")
        if status != 200 or not isinstance(body, dict):
            raise LinkDown(f"GET keys answered {status}")
        return {str(k["kid"]): str(k["public_key"]) for k in body.get("keys", [])}

    async def healthy(self) -> None:
        status, _ = await self.call("GET", "/healthz")
        if status != 200:
            raise LinkDown(f"GET /healthz answered {status}")

    async def checkin(self, fair: str, body: dict[str, Any]) -> tuple[int, Any]:
        return await self.call("POST", f"/v1/fairs/{fair}/checkins", body)

    async def lead(self, fair: str, body: dict[str, Any]) -> tuple[int, Any]:
        return await self.call("POST", f"/v1/fairs/{fair}/leads", body)

    async def upload(self, fair: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Per-event results of one batch; LinkDown when the batch as a whole had no answer."""
        status, body = await self.call(
            "POST",
            f"/v1/fairs/{fair}/events",
            {"events": events},
            seconds=self._settings.upload_timeout_seconds,
        )
        results = body.get("results") if isinstance(body, dict) else None
        if status in (202, 422) and isinstance(results, list) and len(results) == len(events):
            return results
        # A whole-batch refusal (shape, size) is a bug here, not the scans' fault: keep them.
        detail = body.get("detail") if isinstance(body, dict) else body
        raise LinkDown(f"the upload was refused ({status}: {detail})")


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
