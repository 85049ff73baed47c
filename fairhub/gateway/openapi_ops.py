"""One row of the operations table (`Op`) turned into an OpenAPI operation object.

Errors are stated for every operation from what the shared middleware and limits answer, so a
client (or a fuzzer) never meets a status the document does not name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fairhub.gateway.privacy import ACTIONS

REF = "#/components/schemas/{model}"
_PATH_PARAMETER = re.compile(r"{(\w+)}(\.?)")


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


@dataclass(frozen=True)
class Op:
    """An operation: who may call (`auth`), its body kind, and its successes by status."""

    summary: str
    auth: str = "bearer"
    body: str | None = None
    ok: dict[str, str] = field(default_factory=dict)
    conflict: bool = False
    query: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()  # statuses beyond those its kind always answers


_TEXT = {"type": "string"}
_BINARY = {"type": "string", "format": "binary"}
_SECONDS = {"type": "string", "pattern": "^[0-9]+$"}
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Success bodies by kind; a capitalised kind is a component schema sent as JSON.
_MEDIA: dict[str, dict[str, Any]] = {
    "json": {"application/json": {"schema": {}}},
    # A page of a listing: `next` continues it (null on the last page).
    "page": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["items"],
                "properties": {
                    "items": {"type": "array", "items": {"type": "object"}},
                    "next": {"type": ["string", "null"]},
                },
            }
        }
    },
    "html": {"text/html": {"schema": _TEXT}},
    # Each event as schemathesis and browsers read it: a name and one JSON document as data.
    "sse": {
        "text/event-stream": {
            "schema": {
                "type": "object",
                "properties": {"event": _TEXT, "data": _TEXT, "id": _TEXT, "retry": {}},
            }
        }
    },
    "js": {"text/javascript": {"schema": _TEXT}},
    "text": {"text/plain": {"schema": _TEXT}},
    "image": {"image/svg+xml": {"schema": _TEXT}, "image/png": {"schema": _BINARY}},
    "report": {
        "application/json": {"schema": {}},
        "text/csv": {"schema": _TEXT},
        _XLSX: {"schema": _BINARY},
        "text/html": {"schema": _TEXT},
    },
    "template": {"text/csv": {"schema": _TEXT}, _XLSX: {"schema": _BINARY}},
    "file": {"*/*": {"schema": _BINARY}},
    "asset": {"*/*": {"schema": _TEXT}},
}


def _multipart(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    return {"multipart/form-data": {"schema": schema}}


_WHOLE = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
# Query parameters by name, the same wherever they are taken.
QUERY: dict[str, dict[str, Any]] = {
    "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
    "after": {"type": "string", "description": "The `next` of the previous page."},
    # Filters take any text (the first if repeated): an unknown value lists nothing.
    "q": {"description": "Part of the name, title or label (a position: also place or pay)."},
    "revoked": {"description": "`include` lists revoked items too."},
    "employer_id": {"description": "Only this employer's (organizers)."},
    "job_type": {"description": "Only positions of this job type."},
    "status": {"enum": ["open", "answered", "all"]},
    "from": _WHOLE,
    "to": {**_WHOLE, "description": "Not less than `from`."},
    "scale": {"type": "integer", "minimum": 1, "maximum": 40},
    "lang": {"enum": ["zh", "en"]},
    "before": {"type": "integer", "minimum": 1, "description": "An entry id: older entries."},
    "action": {"enum": sorted(ACTIONS)},
    "access_token": {"type": "string", "description": "The token, for a page opened in a browser."},
    # The alliance routes'.
    "on": {"type": "string", "format": "date", "description": "Members of that day only."},
    "left_at": {"type": "string", "format": "date", "description": "Today when left out."},
    "occupation": {"type": "string", "description": "Part of the occupation, as typed."},
    "region": {"type": "string", "description": "Part of the region, as typed."},
}
_RESUME_PARTS = {
    name: {"type": "string", "maxLength": 512}
    for name in ("badge", "seeker_id", "employer_id", "position_id", "session_id", "id")
}
# Request bodies by kind; a capitalised kind is a component schema sent as JSON.
_BODIES: dict[str, dict[str, Any]] = {
    "upload": {
        **_multipart({"file": _BINARY}, ["file"]),
        "text/csv": {"schema": _TEXT},
        _XLSX: {"schema": _BINARY},
    },
    "file": _multipart({"file": _BINARY}, ["file"]),
    "resume": _multipart(
        {
            "file": _BINARY,
            "channel": {"enum": ["onsite", "online", "live"]},
            **_RESUME_PARTS,
        },
        ["file", "employer_id"],
    ),
}
_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "bearer": [{"bearer": []}],
    "seeker": [{"seekerCookie": []}, {"bearer": []}],
    "public": [],
    # The seeker's badge inside the form, or an organizer's desk token.
    "badge": [{"bearer": []}, {}],
}
_ERRORS = {
    "400": "bad_request or invalid_json: the body or a query value cannot be read",
    "401": "unauthorized: no token, or an unknown or revoked one",
    "403": "forbidden: the token belongs to another fair or may not do this",
    "404": "not_found: no such fair, item or route",
    "409": "conflict: a name or id already used, or a state that forbids it",
    "410": "gone: a one-time code already used or expired",
    "413": "too_large: the body is over the size cap",
    "415": "unsupported media type: public JSON endpoints take application/json only",
    "422": "invalid: the fields named in `fields` break a rule stated in the schema or summary",
    "429": "rate_limited: over the limit; Retry-After says when to retry",
    "503": "unavailable: Redis or Postgres away, or not durable; Retry-After",
}


def _error(status: str, page: bool) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": ref("Error")}}
    if page and status == "404":  # a page's 404 is a page a person reads
        content["text/html"] = {"schema": _TEXT}
    error = {"description": _ERRORS[status], "content": content}
    if status in ("429", "503"):
        error["headers"] = {"Retry-After": {"description": "seconds", "schema": _SECONDS}}
    return error


def _answer(status: str, kind: str) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": "success" if status < "300" else "redirect"}
    if kind[0].isupper():
        answer["content"] = {"application/json": {"schema": ref(kind)}}
    elif kind != "none":
        answer["content"] = _MEDIA[kind]
    return answer


def path_parameters(
    path: str, schemas: dict[str, dict[str, Any]], kinds: list[str] | None
) -> list[dict[str, Any]]:
    """Every `{name}` of the path, declared with its schema; a name before a dot is dotless."""
    declared = []
    for name, dot in _PATH_PARAMETER.findall(path):
        schema = schemas["dotless_id" if dot and name == "id" else name] if name != "kind" else {}
        if name == "kind":
            schema = {"enum": kinds or []}
        declared.append({"name": name, "in": "path", "required": True, "schema": schema})
    return declared


def operation(op: Op) -> dict[str, Any]:
    """The OpenAPI operation object: summary, security, body and every status it answers."""
    result: dict[str, Any] = {"summary": op.summary, "security": _SECURITY[op.auth]}
    if op.query:
        result["parameters"] = [
            {"name": name, "in": "query", "required": False, "schema": QUERY[name]}
            for name in op.query
        ]
    if op.body is not None:
        content = _BODIES.get(op.body) or {"application/json": {"schema": ref(op.body)}}
        result["requestBody"] = {"required": True, "content": content}
    responses = {status: _answer(status, kind) for status, kind in op.ok.items()}
    errors = ["400", "404", "422", "503"]
    if op.auth != "public":
        errors += ["401", "403"]
    if op.auth in ("public", "badge", "seeker"):  # limits per address, viewer or seeker
        errors.append("429")
    if op.body is not None:
        errors += ["413", "415"]
    if op.conflict:
        errors.append("409")
    errors += [status for status in op.errors if status not in errors]
    page = any(kind in ("html", "js", "asset") for kind in op.ok.values())
    for status in sorted(errors):
        responses[status] = _error(status, page)
    result["responses"] = dict(sorted(responses.items()))
    return result
