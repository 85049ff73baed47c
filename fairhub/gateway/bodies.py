"""Reading JSON bodies into pydantic models, with 4xx answers that name the wrong field.

Hostile bodies end in a 4xx too: too large (413), not JSON where only JSON is taken (415),
nested too deep (400), or wrong in thousands of places (422 listing the first few).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from itertools import chain, repeat
from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from fairhub import keys
from fairhub.gateway.errors import BadRequest, TooLarge, Unprocessable, UnsupportedType
from fairhub.gateway.guards import is_public

M = TypeVar("M", bound=BaseModel)
# No body FairHub takes nests deeper than a few levels; "[" * 1000 is refused, never walked.
MAX_DEPTH = 32
# No FairHub object has more than a few dozen fields: 180,000 keys would cost pydantic half a
# second of the event loop's time before the first error is known.
MAX_MEMBERS = 1000
# A 422 lists this many errors and counts the rest: a body of 180,000 wrong keys must not
# cost a second of CPU and a 9 MB answer.
MAX_ERRORS = 20


async def read_json(
    request: web.Request, *, most: int | None = None, json_only: bool | None = None
) -> Any:
    """The parsed body, or a 4xx naming `body` (or Content-Type) and saying why.

    Public calls (outside /v1/) take `application/json` only, so a page of another site cannot
    post without a CORS preflight, and at most `public_body_bytes`; the API keeps the app's
    larger cap for its batches. Nesting is bounded: no value reaches pydantic or the stream
    hundreds of levels deep."""
    public = is_public(request)
    if json_only if json_only is not None else public:
        _require_json(request)
    if most is None:
        most = request.app[keys.SETTINGS].public_body_bytes if public else request.client_max_size
    raw = await _read_capped(request, min(most, request.client_max_size))
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(
            f"the body is not JSON: {exc}", fields=["body"], code="invalid_json"
        ) from None
    wrong = _shape_error(raw, data)
    if wrong is not None:
        raise BadRequest(wrong, fields=["body"], code="body_shape")
    return data


async def read_model(request: web.Request, model: type[M]) -> M:
    """The body validated as `model`, or 4xx naming each wrong field."""
    return validated(model, await read_json(request))


async def read_public_model(request: web.Request, model: type[M], most: int | None = None) -> M:
    """A public endpoint's body: `application/json` only (415), at most `most` bytes (413;
    by default `public_body_bytes`), whatever its path."""
    if most is None:
        most = request.app[keys.SETTINGS].public_body_bytes
    return validated(model, await read_json(request, most=most, json_only=True))


def _require_json(request: web.Request) -> None:
    if request.content_type != "application/json":
        raise UnsupportedType(
            f"send the body as application/json, not {request.content_type or 'nothing'}",
            fields=["Content-Type"],
        )


async def _read_capped(request: web.Request, most: int) -> bytes:
    """The whole body, refused with 413 as soon as it is known to pass `most` bytes."""
    if request.content_length is not None and request.content_length > most:
        raise _too_large(most)
    chunks, size = [], 0
    while chunk := await request.content.readany():
        size += len(chunk)
        if size > most:
            raise _too_large(most)
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(most: int) -> TooLarge:
    return TooLarge(f"the body is larger than {most} bytes", fields=["body"])


_CONTAINERS = (dict, list)  # a tuple: `dict | list` would build a union for every value
_CONTAINER_TYPES = frozenset(_CONTAINERS)


def _shape_error(raw: bytes, data: Any) -> str | None:
    """Why the body cannot be any FairHub body: nested too deep, or an object too wide.

    Small bodies with few brackets are never walked; the walk itself is iterative."""
    if isinstance(data, dict) and len(data) > MAX_MEMBERS:
        return f"an object of the body has more than {MAX_MEMBERS} members"
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH and len(raw) <= 16 * 1024:
        return None
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if len(value) > MAX_MEMBERS:
                return f"an object of the body has more than {MAX_MEMBERS} members"
            children = value.values()
        else:
            children = value
        # Most values hold no container (a batch's events are flat): tested at C speed first.
        if not any(map(isinstance, children, repeat(_CONTAINERS))):
            continue
        nested = [c for c in children if isinstance(c, _CONTAINERS)]
        if nested and depth >= MAX_DEPTH:
            return f"the body nests deeper than {MAX_DEPTH} levels"
        if _flat_objects(nested):
            continue  # a batch's events: one level more, and nothing under them
        stack.extend((c, depth + 1) for c in nested)
    return None


def _flat_objects(values: list[Any]) -> bool:
    """Whether every value is an object of plain values, not too wide: tested at C speed (a
    batch's hundred events would otherwise be walked one by one)."""
    try:
        widest = max(map(len, map(dict.keys, values)))
        inner = chain.from_iterable(map(dict.values, values))
    except TypeError:  # not all objects
        return False
    # By type, not isinstance (twice as fast): orjson makes plain dicts and lists.
    return widest <= MAX_MEMBERS and _CONTAINER_TYPES.isdisjoint(map(type, inner))


def validated(model: type[M], data: Any) -> M:
    """`data` as `model`, or 422 naming the wrong fields (the first MAX_ERRORS of them)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        shown = errors[:MAX_ERRORS]
        fields = list(dict.fromkeys(".".join(str(p) for p in e["loc"]) or "body" for e in shown))
        parts = [_described(e) for e in shown]
        extra: dict[str, Any] = {}
        if len(errors) > len(shown):
            parts.append(f"and {len(errors) - len(shown)} more errors")
            extra["error_count"] = len(errors)
        raise Unprocessable("; ".join(parts), fields=fields, extra=extra) from None


def _described(error: ErrorDetails) -> str:
    where = ".".join(str(p) for p in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def page_limit(query: Mapping[str, str], default: int = 100, most: int = 1000) -> int:
    """The `limit` of a listing, or 422: pages are bounded so one request stays cheap."""
    try:
        limit = int(query.get("limit", str(default)))
    except ValueError:
        raise Unprocessable("limit must be a number", fields=["limit"]) from None
    if not 1 <= limit <= most:
        raise Unprocessable(f"limit must be between 1 and {most}", fields=["limit"])
    return limit


def json_default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def reply(data: Any, status: int = 200) -> web.Response:
    """A JSON answer; timestamps as RFC 3339, Chinese text as itself (orjson: the gate's
    answers are many and small, and the standard encoder showed in its profile)."""
    body = orjson.dumps(data, default=json_default, option=orjson.OPT_NON_STR_KEYS)
    return web.Response(body=body, status=status, content_type="application/json")
