"""The OpenAPI document, generated from the same pydantic models that validate requests."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from fairhub.events import Event, EventBatch, IngestAnswer
from fairhub.gateway.fairs import FairCreated, FairIn, FairOut
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


@cache
def openapi_document() -> dict[str, Any]:
    """OpenAPI 3.1 for the served API."""
    _, defs = models_json_schema(
        [
            (m, "validation")
            for m in (FairIn, FairCreated, FairOut, EventBatch, IngestAnswer, StatsOut, Error)
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
            "/healthz": {"get": _op("Process up", security=False, _200=("up", None))},
            "/readyz": {
                "get": _op("Redis and Postgres reachable", security=False, _200=("ready", None))
            },
            "/metrics": {"get": _op("Prometheus metrics", security=False, _200=("metrics", None))},
            "/openapi.json": {"get": _op("This document", security=False, _200=("OpenAPI", None))},
        },
    }
