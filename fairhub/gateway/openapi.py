"""The OpenAPI document, generated from the same pydantic models that validate requests."""

from __future__ import annotations

from functools import cache
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from fairhub import registry
from fairhub.events import Event, EventBatch, IngestAnswer
from fairhub.gateway.checkins import CheckinAnswer, CheckinIn
from fairhub.gateway.fairs import FairCreated, FairIn, FairOut
from fairhub.gateway.leads import LeadIn
from fairhub.gateway.stats import StatsOut

REF = "#/components/schemas/{model}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


ERROR = {"description": "{error, detail, fields}", "content": _json(_ref("Error"))}


class Error(BaseModel):
    error: str
    detail: str
    fields: list[str]


def _op(summary: str, security: bool = True, body: str | None = None, **answers: Any) -> Any:
    op: dict[str, Any] = {"summary": summary, "responses": {}}
    if security:
        op["security"] = [{"bearer": []}]
    if body is not None:
        op["requestBody"] = {"required": True, "content": _json(_ref(body))}
    for status, (text, schema) in answers.items():
        answer: dict[str, Any] = {"description": text}
        if schema is not None:
            answer["content"] = _json(_ref(schema))
        op["responses"][status.lstrip("_")] = answer
    for status in ("400", "401", "403", "404", "422", "503"):
        op["responses"].setdefault(status, ERROR)
    return op


FAIR = {
    "name": "fair",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}


def with_routes(document: dict[str, Any], app: web.Application) -> dict[str, Any]:
    """Add every served route the document does not describe, summarised by its handler."""
    paths = {path: dict(ops) for path, ops in document["paths"].items()}
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        method = route.method.lower()
        if path is None or method == "head" or method in paths.get(path, {}):
            continue
        doc = (getattr(route.handler, "__doc__", None) or route.handler.__name__).strip()
        paths.setdefault(path, {})[method] = _op(doc.splitlines()[0])
    return {**document, "paths": dict(sorted(paths.items()))}


@cache
def openapi_document() -> dict[str, Any]:
    """OpenAPI 3.1 for the served API."""
    _, defs = models_json_schema(
        [
            (m, "validation")
            for m in (
                FairIn,
                FairCreated,
                FairOut,
                EventBatch,
                IngestAnswer,
                StatsOut,
                Error,
                CheckinIn,
                CheckinAnswer,
                LeadIn,
                registry.EmployerIn,
                registry.EmployerPatch,
                registry.PositionIn,
                registry.PositionPatch,
                registry.SeekerIn,
                registry.SeekerPatch,
                registry.DeviceIn,
                registry.DevicePatch,
            )
        ],
        ref_template=REF,
    )
    schemas: dict[str, Any] = dict(defs["$defs"])
    event_schema = TypeAdapter(Event).json_schema(ref_template=REF)
    schemas.update(event_schema.pop("$defs", {}))
    schemas["Event"] = event_schema
    schemas["EventOrBatch"] = {"oneOf": [_ref("Event"), _ref("EventBatch")]}
    schemas["EventBatch"]["properties"]["events"]["items"] = _ref("Event")
    return {
        "openapi": "3.1.0",
        "info": {"title": "FairHub", "version": "1", "description": "See API.md for the contract."},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/v1/fairs": {
                "post": _op("Create a fair (admin)", body="FairIn", _201=("created", "FairCreated"))
            },
            "/v1/fairs/{fair}": {
                "parameters": [FAIR],
                "get": _op("A fair", _200=("the fair", "FairOut")),
            },
            "/v1/fairs/{fair}/events": {
                "parameters": [FAIR],
                "post": _op(
                    "Ingest one event or a batch of 1 to 500",
                    body="EventOrBatch",
                    _202=("one result per event, in order; durable", "IngestAnswer"),
                    _413=("body too large", "Error"),
                ),
            },
            "/v1/fairs/{fair}/stats": {
                "parameters": [FAIR],
                "get": _op("Totals and breakdowns", _200=("the figures", "StatsOut")),
            },
            "/v1/fairs/{fair}/checkins": {
                "parameters": [FAIR],
                "post": _op(
                    "A kiosk's scan: the verdict at once (device, organizer)",
                    body="CheckinIn",
                    _200=("the verdict; the same id again gets the same one", "CheckinAnswer"),
                ),
            },
            "/v1/fairs/{fair}/leads": {
                "parameters": [FAIR],
                "post": _op(
                    "A booth scans a badge: 201 new lead, 200 existing (device, employer)",
                    body="LeadIn",
                    _201=("the lead", None),
                    _200=("the lead, updated", None),
                ),
            },
            "/healthz": {"get": _op("Process up", security=False, _200=("up", None))},
            "/readyz": {
                "get": _op("Redis and Postgres reachable", security=False, _200=("ready", None))
            },
            "/metrics": {"get": _op("Prometheus metrics", security=False, _200=("metrics", None))},
            "/openapi.json": {"get": _op("This document", security=False, _200=("OpenAPI", None))},
        },
    }
