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
from fairhub.gateway.fairs import FairCreated, FairIn, FairOut, FairPatch
from fairhub.gateway.leads import LeadIn
from fairhub.gateway.mine import ApplicationIn
from fairhub.gateway.signup import CodeIn, SignedUp, SignupIn
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


def _op(summary: str, security: bool | str = True, body: str | None = None, **answers: Any) -> Any:
    """One operation; `security` False for public calls, "seeker" for the seeker's own."""
    op: dict[str, Any] = {"summary": summary, "responses": {}}
    if security == "seeker":
        op["security"] = [{"seekerCookie": []}, {"bearer": []}]
    elif security:
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
SESSION = {**FAIR, "name": "session"}
ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}


def _seeker_paths() -> dict[str, Any]:
    """A seeker's calls from a phone: public sign-up, then the seeker token (cookie or bearer)."""
    upload = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            }
        },
    }
    resume = _op(
        "Keep the résumé for one-tap applications (PDF, Word, JPEG, PNG)",
        security="seeker",
        _200=("kept: {sha256, size, content_type, filename}", None),
        _413=("too large", "Error"),
    )
    resume["requestBody"] = upload
    return {
        "/p/{fair}/signup": {
            "parameters": [FAIR],
            "post": _op(
                "Sign up on a phone; a registered phone signs in with `code` (JSON or form)",
                security=False,
                body="SignupIn",
                _201=("signed up; the seeker token is also set as a cookie", "SignedUp"),
                _200=("signed in (a registered phone with a valid code)", "SignedUp"),
                _409=("phone_registered (nothing more said) or signup_closed", "Error"),
                _429=("too many sign-ups from this address", "Error"),
            ),
        },
        "/p/{fair}/signup/code": {
            "parameters": [FAIR],
            "post": _op(
                "Send a one-time code to a phone (in `fairhub dev`: printed in the log)",
                security=False,
                body="CodeIn",
                _202=("sent: {sent, expires_in}", None),
                _429=("too many codes for this phone or address; Retry-After", "Error"),
            ),
        },
        "/p/{fair}/me.json": {
            "parameters": [FAIR],
            "get": _op(
                "The seeker's badge, résumé and applications with their status",
                security="seeker",
                _200=("{fair, seeker, badge, resume, applications}", None),
            ),
        },
        "/p/{fair}/me": {
            "parameters": [FAIR],
            "delete": _op(
                "Erase the seeker's personal data and files (figures keep anonymous totals)",
                security="seeker",
                _204=("erased", None),
            ),
        },
        "/p/{fair}/me/resume": {"parameters": [FAIR], "put": resume},
        "/p/{fair}/applications": {
            "parameters": [FAIR],
            "post": _op(
                "Apply with the kept résumé: 201 new, 200 the same application again",
                security="seeker",
                body="ApplicationIn",
                _201=("{id, status}", None),
                _200=("the same application", None),
                _409=("no_resume: upload the résumé first", "Error"),
            ),
        },
        "/p/{fair}/applications/{id}": {
            "parameters": [FAIR, ID],
            "delete": _op(
                "Withdraw: the employer no longer sees it; the figures keep it",
                security="seeker",
                _204=("withdrawn", None),
            ),
        },
        "/live/{session}/events": {
            "parameters": [SESSION],
            "get": _op(
                "Server-Sent Events: the session as viewers see it, at once and after each change",
                security=False,
                _200=("text/event-stream of `session` events", None),
            ),
        },
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
                FairPatch,
                SignupIn,
                SignedUp,
                CodeIn,
                ApplicationIn,
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
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "seekerCookie": {"type": "apiKey", "in": "cookie", "name": "fh_seeker"},
            },
        },
        "paths": {
            "/v1/fairs": {
                "post": _op("Create a fair (admin)", body="FairIn", _201=("created", "FairCreated"))
            },
            "/v1/fairs/{fair}": {
                "parameters": [FAIR],
                "get": _op("A fair", _200=("the fair", "FairOut")),
                "patch": _op(
                    "Change a fair: name, venue, sign-up open or capped (organizer)",
                    body="FairPatch",
                    _200=("the fair", "FairOut"),
                ),
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
            **_seeker_paths(),
        },
    }
