"""The OpenAPI document, generated from the same pydantic models that validate requests."""

from __future__ import annotations

from functools import cache
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from fairhub import registry
from fairhub.alliances import AllianceIn, DemandIn, FairLinkIn, MemberIn, OfferIn
from fairhub.events import AllianceEvent, Event, EventBatch, IngestAnswer
from fairhub.gateway.checkins import CheckinAnswer, CheckinIn
from fairhub.gateway.enrolment import EnrolIn
from fairhub.gateway.fairs import FairCreated, FairIn, FairOut, FairPatch
from fairhub.gateway.intents import IntentIn
from fairhub.gateway.kiosks import BeatIn
from fairhub.gateway.leads import LeadIn
from fairhub.gateway.live import PinIn, SessionIn
from fairhub.gateway.live_public import PresenceIn, QuestionIn, ViewerIn, ViewerOut
from fairhub.gateway.menu_page import MenuSignupIn
from fairhub.gateway.mine import ApplicationIn
from fairhub.gateway.openapi_ops import REF, operation, path_parameters, ref
from fairhub.gateway.openapi_paths import KINDS, PARAMETERS, operations
from fairhub.gateway.schools import SchoolLinkIn
from fairhub.gateway.signup import CodeIn, SignedUp, SignupIn
from fairhub.gateway.stats import StatsOut

# The bodies of the alliance routes.
ALLIANCE_MODELS = (
    AllianceIn,
    MemberIn,
    FairLinkIn,
    DemandIn,
    OfferIn,
    MenuSignupIn,
    SchoolLinkIn,
)


class Error(BaseModel):
    """Every 4xx and 5xx answer of the JSON API (some add fields, e.g. `retry_after`)."""

    error: str
    detail: str
    fields: list[str]


def paths() -> dict[str, Any]:
    """Every operation of the table, with its path parameters declared once per path."""
    described: dict[str, Any] = {}
    for path, methods in operations().items():
        item: dict[str, Any] = {"parameters": path_parameters(path, PARAMETERS, KINDS.get(path))}
        if not item["parameters"]:
            del item["parameters"]
        for method, op in methods.items():
            item[method] = operation(op)
        described[path] = item
    return dict(sorted(described.items()))


def with_routes(document: dict[str, Any], app: web.Application) -> dict[str, Any]:
    """The document as served. Routes used to be added here with a guessed bearer security;
    now every route is in the table, and a test fails when the router and the table differ."""
    del app
    return document


DESCRIPTION = (
    "See API.md for the contract. Times are RFC 3339 strings with an offset (a number is "
    "refused). A 422 names the fields at fault; besides the schema's own rules it is answered "
    "for rules across fields or over stored data, stated in each schema's descriptions (e.g. "
    "`ends_at` after `starts_at`, an `employer_id` of this fair)."
)


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
                IntentIn,
                SessionIn,
                PinIn,
                PresenceIn,
                QuestionIn,
                ViewerIn,
                ViewerOut,
                EnrolIn,
                BeatIn,
                *ALLIANCE_MODELS,
            )
        ],
        ref_template=REF,
    )
    schemas: dict[str, Any] = dict(defs["$defs"])
    event_schema = TypeAdapter(Event).json_schema(ref_template=REF)
    schemas.update(event_schema.pop("$defs", {}))
    schemas["Event"] = event_schema
    schemas["EventOrBatch"] = {"oneOf": [ref("Event"), ref("EventBatch")]}
    schemas["EventBatch"]["properties"]["events"]["items"] = ref("Event")
    alliance_events = TypeAdapter(AllianceEvent).json_schema(ref_template=REF)
    schemas.update(alliance_events.pop("$defs", {}))
    schemas["AllianceEvent"] = alliance_events
    schemas["AllianceEventOrBatch"] = {
        "oneOf": [
            ref("AllianceEvent"),
            {
                "type": "object",
                "required": ["events"],
                "properties": {
                    "events": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 500,
                        "items": ref("AllianceEvent"),
                    }
                },
            },
        ]
    }
    schemas["RegistryIn"] = {
        "anyOf": [ref(m) for m in ("EmployerIn", "PositionIn", "SeekerIn", "DeviceIn")],
        "description": "The item for the path's kind: employers, positions, seekers, devices.",
    }
    schemas["FairList"] = {
        "type": "object",
        "required": ["fairs"],
        "properties": {"fairs": {"type": "array", "items": ref("FairOut")}},
    }
    key = {"kid": {"type": "string"}, "alg": {"const": "Ed25519"}, "public_key": {"type": "string"}}
    schemas["BadgeKeys"] = {
        "type": "object",
        "required": ["fair", "keys"],
        "properties": {
            "fair": {"type": "string"},
            "badge_prefix": {"type": "string"},
            "keys": {"type": "array", "items": {"type": "object", "properties": key}},
        },
    }
    schemas["RegistryPatch"] = {
        "anyOf": [ref(m) for m in ("EmployerPatch", "PositionPatch", "SeekerPatch", "DevicePatch")]
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "FairHub", "version": "1", "description": DESCRIPTION},
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "seekerCookie": {"type": "apiKey", "in": "cookie", "name": "fh_seeker"},
            },
        },
        "paths": paths(),
    }
