"""The body guard: small bodies for public pages' calls, and a deadline for every body.

Public calls (every path outside /v1/: viewer pages, seekers' phones) carry a few fields, so
their bodies are capped at `public_body_bytes` before anything reads them, whatever reader the
handler uses. Every body must have arrived within its time (JSON and forms
`body_timeout_seconds`, uploads `upload_timeout_seconds`): a client trickling a byte every few
seconds would otherwise hold a connection and its buffers for as long as it likes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import StreamReader, web

from fairhub.config import Settings
from fairhub.gateway.errors import BodyTimeout, Handler, TooLarge, error_response

# Bodies that are a handful of fields; anything else (multipart, CSV) is an upload.
FORM_TYPES = frozenset({"application/json", "application/x-www-form-urlencoded"})


def is_public(request: web.Request) -> bool:
    """Calls without a token live outside /v1/ (the API proper needs one, or a badge)."""
    return not request.path.startswith("/v1/")


def body_deadline(request: web.Request, settings: Settings) -> float:
    """Seconds the client has to send its whole body."""
    if request.content_type in FORM_TYPES:
        return settings.body_timeout_seconds
    return settings.upload_timeout_seconds


def _cut(stream: StreamReader, seconds: float) -> None:
    """End a body still arriving: the handler's next read raises BodyTimeout."""
    if not stream.is_eof() and stream.exception() is None:
        stream.set_exception(
            BodyTimeout(f"the body did not arrive within {seconds:g} s", fields=["body"])
        )


def body_guard(settings: Settings) -> Any:
    """A middleware (inside the error middleware) applying the caps and the deadline."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.body_exists:
            return await handler(request)
        if is_public(request):
            most = settings.public_body_bytes
            size = request.content_length or 0
            if size > most and not request.content_type.startswith("multipart/"):
                raise TooLarge(f"the body is larger than {most} bytes", fields=["body"])
            # Multipart uploads are streamed part by part with their own caps; any reader
            # of the whole body (request.read, request.post) stops at the public cap.
            request = request.clone(client_max_size=most)
        if request.content.is_eof():  # all of it came with the head (a kiosk's scan)
            return await handler(request)
        seconds = body_deadline(request, settings)
        timer = asyncio.get_running_loop().call_later(seconds, _cut, request.content, seconds)
        try:
            return await handler(request)
        except BodyTimeout as exc:
            # No keep-alive for a client that trickles: the connection ends with the answer.
            # aiohttp then drains what is left of the body and takes a TimeoutError there as
            # its end (any other error it would log as unhandled).
            request.content.set_exception(TimeoutError())
            response = error_response(exc.status, exc.code, exc.detail, exc.fields)
            response.force_close()
            return response
        finally:
            timer.cancel()

    return middleware
