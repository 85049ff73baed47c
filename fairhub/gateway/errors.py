"""Domain errors and the one middleware that turns every failure into {error, detail, fields}."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from fairhub.db import TRANSIENT_ERRORS
from fairhub.masterkey import SecretKeyError
from fairhub.streams import NotDurableError

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An answer for the client: status, machine code, human text and the fields at fault."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        fields: list[str] | None = None,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields or []
        self.extra = extra or {}
        self.retry_after = retry_after
        if code is not None:
            self.code = code


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class Unprocessable(ApiError):
    status, code = 422, "invalid"


class BodyTimeout(ApiError):
    """The client was still sending its body when the time for it ran out."""

    status, code = 408, "body_timeout"


class TooLarge(ApiError):
    status, code = 413, "too_large"


class UnsupportedType(ApiError):
    status, code = 415, "unsupported_media_type"


class RateLimited(ApiError):
    status, code = 429, "rate_limited"


class Unavailable(ApiError):
    status, code = 503, "unavailable"


# Details quote Chinese headers and names: as themselves, not as \u escapes.
_dumps = functools.partial(json.dumps, ensure_ascii=False)


def error_response(
    status: int,
    code: str,
    detail: str,
    fields: list[str] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> web.Response:
    body = {"error": code, "detail": detail, "fields": fields or [], **extra}
    return web.json_response(body, status=status, headers=headers, dumps=_dumps)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def client_went_away(request: web.Request, exc: BaseException) -> bool:
    """The error is the client's connection ending (a dropped upload), not an outage of ours.

    aiohttp puts a ConnectionResetError on the body stream of a request whose connection
    closed: an OSError, which would otherwise read as "Postgres is unavailable"."""
    if not isinstance(exc, OSError):
        return False
    if request.content.exception() is exc:
        return True
    transport = request.transport
    return transport is None or transport.is_closing()


def error_middleware(retry_after: int) -> Any:
    """Map domain errors, aiohttp's own HTTP errors and outages to JSON; never a traceback."""

    retry_header = str(retry_after)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            headers = {"Retry-After": retry_header} if exc.status == 503 else None
            if exc.retry_after is not None:
                headers = {"Retry-After": str(exc.retry_after)}
            return error_response(
                exc.status, exc.code, exc.detail, exc.fields, headers=headers, **exc.extra
            )
        except NotDurableError as exc:
            return error_response(
                503,
                "not_durable",
                f"events were not made durable, retry: {exc}",
                headers={"Retry-After": retry_header},
            )
        except RedisError as exc:
            log.warning("redis unavailable during %s %s: %r", request.method, request.path, exc)
            return error_response(
                503,
                "redis_unavailable",
                f"Redis is unavailable: {exc or type(exc).__name__}",
                headers={"Retry-After": retry_header},
            )
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            code = {
                404: "not_found",
                405: "method_not_allowed",
                413: "too_large",
            }.get(exc.status, "http_error")
            headers = {k: v for k, v in exc.headers.items() if k.lower() != "content-type"}
            return error_response(exc.status, code, exc.reason, headers=headers)
        except TRANSIENT_ERRORS as exc:
            if client_went_away(request, exc):
                log.debug("client went away during %s %s: %r", request.method, request.path, exc)
                return error_response(400, "client_closed", "the client closed the connection")
            log.warning("database unavailable during %s %s: %s", request.method, request.path, exc)
            return error_response(
                503,
                "database_unavailable",
                "Postgres is unavailable, retry shortly",
                headers={"Retry-After": retry_header},
            )
        except SecretKeyError as exc:  # the operator's to fix: the log says which key is wanted
            log.error("%s %s: %s", request.method, request.path, exc)
            detail = "this server's FAIRHUB_SECRET_KEY does not open the fair's badge key"
            return error_response(503, "secret_key_mismatch", detail)
        except Exception:
            log.exception("unhandled error in %s %s", request.method, request.path)
            return error_response(500, "internal", "internal error; it has been logged")

    return middleware
