"""Reading JSON bodies into pydantic models, with 4xx answers that name the wrong field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from fairhub.events import describe
from fairhub.gateway.errors import BadRequest, Unprocessable

M = TypeVar("M", bound=BaseModel)


async def read_json(request: web.Request) -> Any:
    """The parsed body, or 400 saying why it is not JSON."""
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise BadRequest(
            f"the body is not JSON: {exc}", fields=["body"], code="invalid_json"
        ) from None


async def read_model(request: web.Request, model: type[M]) -> M:
    """The body validated as `model`, or 422 naming each wrong field."""
    return validated(model, await read_json(request))


def validated(model: type[M], data: Any) -> M:
    """`data` as `model`, or 422 naming each wrong field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = [".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors()]
        raise Unprocessable(describe(exc), fields=fields) from None


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
