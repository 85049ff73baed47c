"""The simulator's HTTP client: a bounded number of concurrent clients, retries like a kiosk's."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass
from typing import Any

import aiohttp

# A client retries what the server could not make durable (503) or never answered, with the
# same body: every write the simulator sends carries its id, so a retry is never a second one.
ATTEMPTS = 5
TIMEOUT_SECONDS = 60


class ApiError(Exception):
    """An answer the simulator did not expect: the call, the status and what the server said."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {path} → {status}: {str(body)[:300]}")
        self.status = status
        self.body = body


@dataclass
class Page:
    """A public page as a phone received it: its status and the visitor cookie it set."""

    status: int
    cookie: str | None
    size: int


class Api:
    """Calls on one FairHub, at most `clients` at once."""

    def __init__(self, session: aiohttp.ClientSession, base: str, clients: int) -> None:
        self.session = session
        self.base = base.rstrip("/")
        self.gate = asyncio.Semaphore(clients)
        self.requests = 0

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, base: str, clients: int) -> AsyncIterator[Api]:
        """A client session whose cookies are each phone's own business (no shared jar)."""
        connector = aiohttp.TCPConnector(limit=clients)
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
        ) as session:
            yield cls(session, base, clients)

    async def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        *,
        json_body: Any = None,
        body: bytes | None = None,
        form: Callable[[], aiohttp.FormData] | None = None,
        content_type: str | None = None,
        expect: Collection[int] = (200, 201, 202),
    ) -> tuple[int, Any]:
        """One API call, retried on 503 and lost connections; ApiError on any other surprise."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if content_type:
            headers["Content-Type"] = content_type
        for attempt in range(ATTEMPTS):
            data: Any = form() if form is not None else body
            try:
                async with (
                    self.gate,
                    self.session.request(
                        method, self.base + path, headers=headers, json=json_body, data=data
                    ) as response,
                ):
                    self.requests += 1
                    raw = await response.read()
                    status = response.status
                    retry_after = response.headers.get("Retry-After", "1")
            except (aiohttp.ClientConnectionError, TimeoutError):
                if attempt + 1 == ATTEMPTS:
                    raise
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            answer = _decode(raw)
            # 503: an outage; 429: a limit on public traffic, whose refused try counted nothing.
            if status in (429, 503) and attempt + 1 < ATTEMPTS:
                await asyncio.sleep(min(float(retry_after or 1), 5.0))
                continue
            if status not in expect:
                raise ApiError(method, path, status, answer)
            return status, answer
        raise AssertionError("unreachable")

    async def page(self, path: str, cookie: str | None, method: str = "GET") -> Page:
        """A phone opening a public page: one request, never retried (a retry is a new visit),
        but after a 429 (a limit on landings: that visit was not counted) once it has waited."""
        headers = {"Cookie": f"fh_visitor={cookie}"} if cookie else {}
        for attempt in range(ATTEMPTS):
            async with (
                self.gate,
                self.session.request(method, self.base + path, headers=headers) as r,
            ):
                self.requests += 1
                raw = await r.read()
                morsel = r.cookies.get("fh_visitor")
                status, retry_after = r.status, r.headers.get("Retry-After", "1")
            if status == 429 and attempt + 1 < ATTEMPTS:
                await asyncio.sleep(min(float(retry_after or 1), 5.0))
                continue
            if status != 200:
                raise ApiError(method, path, status, _decode(raw))
            return Page(status, morsel.value if morsel else None, len(raw))
        raise AssertionError("unreachable")

    async def raw(self, path: str, token: str) -> bytes:
        """A file's bytes (a résumé an employer downloads)."""
        headers = {"Authorization": f"Bearer {token}"}
        async with self.gate, self.session.get(self.base + path, headers=headers) as r:
            self.requests += 1
            data = await r.read()
            if r.status != 200:
                raise ApiError("GET", path, r.status, _decode(data))
            return data


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw[:200]
