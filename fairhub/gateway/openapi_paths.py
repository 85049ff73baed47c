"""Every served operation as the OpenAPI document states it: who may call, what goes in, what
comes back. One line per route keeps the table next to the router's list, and a test compares
the two so a new route cannot go undescribed."""

from __future__ import annotations

from typing import Any

from fairhub.gateway import openapi_alliances
from fairhub.gateway.openapi_alliances import alliance_operations
from fairhub.gateway.openapi_ops import Op

# Who may call (see `security` in openapi_ops): a bearer token, the seeker's cookie or token,
# anyone (public pages and endpoints), or a badge in the form or an organizer's token.
BEARER, SEEKER, PUBLIC, BADGE = "bearer", "seeker", "public", "badge"
LISTING = ("limit", "after", "employer_id")


def _fair_api() -> dict[str, dict[str, Op]]:
    """The JSON API of one fair: organizers, devices, employers and hosts with bearer tokens."""
    fair = "/v1/fairs/{fair}"
    kind = fair + "/{kind}"
    live = fair + "/live-sessions"
    return {
        "/v1/fairs": {
            "post": Op("Create a fair (admin)", body="FairIn", ok={"201": "FairCreated"}),
            "get": Op("Every fair, newest first (admin)", ok={"200": "FairList"}),
        },
        "/v1/me": {"get": Op("What a token is: role, fair, subject", ok={"200": "json"})},
        fair: {
            "get": Op("A fair", ok={"200": "FairOut"}),
            "patch": Op("Change a fair (organizer)", body="FairPatch", ok={"200": "FairOut"}),
        },
        fair + "/keys": {
            "get": Op("The fair's badge-verifying public keys", ok={"200": "BadgeKeys"}),
            "post": Op("A new signing key for the fair's badges (organizer)", ok={"201": "json"}),
        },
        fair + "/keys/{kid}": {
            "delete": Op("Retire a signing key (organizer)", ok={"200": "json"})
        },
        fair + "/events": {
            "post": Op(
                "Ingest one event or a batch of 1 to 500; 503 with Retry-After when not durable",
                body="EventOrBatch",
                ok={"202": "IngestAnswer"},
            )
        },
        fair + "/checkins": {
            "post": Op(
                "A kiosk's scan: the verdict at once (device, organizer)",
                body="CheckinIn",
                ok={"200": "CheckinAnswer"},
                conflict=True,
            )
        },
        fair + "/stats": {"get": Op("Totals and breakdowns", ok={"200": "StatsOut"})},
        fair + "/throttled": {
            "get": Op("Public tries refused by the limits, by kind (organizer)", ok={"200": "json"})
        },
        fair + "/audit": {
            "get": Op(
                "Who read personal data, newest first (organizer)",
                ok={"200": "json"},
                query=("limit", "before", "action"),
            )
        },
        fair + "/registry/counts": {
            "get": Op(
                "What the fair registered: employers, positions, headcount (organizer)",
                ok={"200": "json"},
            )
        },
        fair + "/stats/stream": {
            "get": Op("Server-Sent Events: one `stats` event per change", ok={"200": "sse"})
        },
        kind: {
            "post": Op(
                "Add an employer, position, seeker or device",
                body="RegistryIn",
                ok={"201": "json"},
                conflict=True,
            ),
            "get": Op(
                "A page of the fair's items; `next` continues",
                ok={"200": "page"},
                query=("limit", "after", "q", "revoked", "employer_id", "job_type"),
            ),
        },
        kind + "/{id}": {
            "get": Op("One item", ok={"200": "json"}),
            "patch": Op("Change an item", body="RegistryPatch", ok={"200": "json"}, conflict=True),
            "delete": Op(
                "Revoke an item: its tokens and badge stop working; it stays readable with "
                "`revoked_at` set, and its figures stay",
                ok={"200": "json"},
            ),
        },
        fair + "/{kind}/{id}/token": {
            "post": Op(
                "A new token for an employer or device (organizer)",
                ok={"201": "json"},
                conflict=True,
            )
        },
        fair + "/devices/{id}/enrolment": {
            "post": Op(
                "A one-time enrolment code and QR for a kiosk (organizer); it expires, and an "
                "earlier unused code of the device stops working",
                ok={"201": "json"},
                conflict=True,
            )
        },
        fair + "/enrolments/{code}.{fmt}": {
            "get": Op(
                "A live enrolment's QR code (token as bearer or `access_token`); 410 once used "
                "or expired",
                ok={"200": "image"},
                errors=("410",),
            )
        },
        fair + "/beat": {
            "post": Op(
                "A kiosk's beat: its queue length (device)", body="BeatIn", ok={"200": "json"}
            )
        },
        fair + "/kiosks": {
            "get": Op(
                "Every live device with its last contact, queue and pending enrolment (organizer)",
                ok={"200": "json"},
            )
        },
        fair + "/seekers/{id}/badge": {
            "post": Op("A new badge for a seeker: the old one stops working", ok={"201": "json"})
        },
        kind + ":import": {
            "post": Op(
                "Import a CSV (header row) or xlsx: `{created, errors: [{line, error, field}]}`;"
                " errors in Chinese, `?lang=en` in English",
                body="upload",
                ok={"200": "json", "201": "json"},
                conflict=True,
            )
        },
        kind + ":template.{ext}": {
            "get": Op(
                "An import template (organizer): Chinese headers and one example row, which the"
                " import skips if left unchanged",
                ok={"200": "template"},
            )
        },
        fair + "/leads": {
            "post": Op(
                "A booth scans a badge: 201 new lead, 200 existing",
                body="LeadIn",
                ok={"201": "json", "200": "json"},
            ),
            "get": Op("The booth's leads", ok={"200": "page"}, query=LISTING),
        },
        fair + "/resumes": {
            "post": Op(
                "A résumé for an employer: the seeker's badge in the form, or an "
                "organizer's token with `seeker_id`",
                auth=BADGE,
                body="resume",
                ok={"201": "json", "200": "json"},
                conflict=True,
            ),
            "get": Op(
                "Résumés sent to the fair or the employer", ok={"200": "page"}, query=LISTING
            ),
        },
        "/v1/resumes/{id}/file": {"get": Op("Download a résumé's file", ok={"200": "file"})},
        fair + "/intents": {
            "post": Op(
                "A preliminary employment intent: 201 new, 200 the same again",
                body="IntentIn",
                ok={"201": "json", "200": "json"},
                conflict=True,
            ),
            "get": Op("The fair's intents", ok={"200": "page"}, query=LISTING),
        },
        fair + "/qr/{kind}/{id}.{fmt}": {
            "get": Op(
                "A printable QR code (token as bearer or `access_token`)",
                ok={"200": "image"},
                query=("scale",),
            )
        },
        fair + "/qr/fair.{fmt}": {
            "get": Op("The fair's QR code", ok={"200": "image"}, query=("scale",))
        },
        fair + "/badges.html": {
            "get": Op("A sheet of badges to print", ok={"200": "html"}, query=("from", "to"))
        },
        fair + "/report": {
            "get": Op(
                "The day's figures (organizer; token as bearer or `access_token`)",
                ok={"200": "json"},
                query=("access_token",),
            )
        },
        fair + "/report.{format}": {
            "get": Op(
                "The day's figures as JSON, CSV, Excel or A4 HTML (token as bearer or"
                " `access_token`)",
                ok={"200": "report"},
                query=("access_token",),
            )
        },
        live: {
            "post": Op("A live session and its host token", body="SessionIn", ok={"201": "json"}),
            "get": Op("The fair's live sessions", ok={"200": "page"}),
        },
        live + "/{session}": {"get": Op("A live session and its figures", ok={"200": "json"})},
        live + "/{session}/start": {"post": Op("Go live", ok={"200": "json"}, conflict=True)},
        live + "/{session}/stop": {"post": Op("End the session", ok={"200": "json"})},
        live + "/{session}/pin": {
            "put": Op(
                "Pin a position on viewers' screens",
                body="PinIn",
                ok={"200": "json"},
                conflict=True,
            ),
            "delete": Op("Unpin", ok={"200": "json"}),
        },
        live + "/{session}/consultations": {
            "get": Op("Viewers' questions", ok={"200": "page"}, query=("status",))
        },
        live + "/{session}/consultations/{question}/answer": {
            "post": Op("Mark a question answered", ok={"200": "json"})
        },
    }


def _public() -> dict[str, dict[str, Op]]:
    """What phones, viewers and browsers open without a token, and the seeker's own calls."""
    seeker = "/p/{fair}"
    return {
        seeker: {"get": Op("The fair's page for phones", auth=PUBLIC, ok={"200": "html"})},
        seeker + "/sw.js": {"get": Op("The pages' service worker", auth=PUBLIC, ok={"200": "js"})},
        seeker + "/me": {
            "get": Op(
                "The seeker's page; without the cookie, a redirect to sign up",
                auth=PUBLIC,
                ok={"200": "html", "303": "none"},
            ),
            "delete": Op(
                "Erase the seeker's personal data and files", auth=SEEKER, ok={"204": "none"}
            ),
        },
        seeker + "/me.json": {
            "get": Op(
                "The seeker's badge, résumé and applications", auth=SEEKER, ok={"200": "json"}
            )
        },
        seeker + "/me/resume": {
            "put": Op(
                "Keep the résumé for one-tap applications",
                auth=SEEKER,
                body="file",
                ok={"200": "json"},
            )
        },
        seeker + "/signup": {
            "post": Op(
                "Sign up on a phone; a registered phone signs in with `code`",
                auth=PUBLIC,
                body="SignupIn",
                ok={"201": "SignedUp", "200": "SignedUp"},
                conflict=True,
            )
        },
        seeker + "/signup/code": {
            "post": Op(
                "Send a one-time code to a phone", auth=PUBLIC, body="CodeIn", ok={"202": "json"}
            )
        },
        seeker + "/applications": {
            "post": Op(
                "Apply with the kept résumé: 201 new, 200 the same again",
                auth=SEEKER,
                body="ApplicationIn",
                ok={"201": "json", "200": "json"},
                conflict=True,
            )
        },
        seeker + "/applications/{id}": {
            "delete": Op("Withdraw an application", auth=SEEKER, ok={"204": "none"})
        },
        seeker + "/{kind}/{id}": {
            "get": Op(
                "An employer's or position's page, opened from its QR code",
                auth=PUBLIC,
                ok={"200": "html"},
            )
        },
        seeker + "/{kind}/{id}.json": {
            "get": Op("The same page's data", auth=PUBLIC, ok={"200": "json"})
        },
        "/live/{session}": {"get": Op("The viewer's page", auth=PUBLIC, ok={"200": "html"})},
        "/live/{session}/console": {
            "get": Op(
                "The host's console (the host token is typed in the page)",
                auth=PUBLIC,
                ok={"200": "html"},
            )
        },
        "/live/{session}.json": {
            "get": Op("The session as viewers see it", auth=PUBLIC, ok={"200": "json"})
        },
        "/live/{session}/events": {
            "get": Op(
                "Server-Sent Events of the session as viewers see it",
                auth=PUBLIC,
                ok={"200": "sse"},
            )
        },
        "/live/{session}/presence": {
            "post": Op(
                "A viewer joins, stays or leaves",
                auth=PUBLIC,
                body="PresenceIn",
                ok={"200": "json", "202": "json"},
                errors=("403",),
            )
        },
        "/live/{session}/viewer": {
            "post": Op(
                "The viewer page's signed viewer id: the kept one back (200) or a new one (201)",
                auth=PUBLIC,
                body="ViewerIn",
                ok={"200": "ViewerOut", "201": "ViewerOut"},
            )
        },
        "/live/{session}/questions": {
            "post": Op(
                "A viewer's question to an employer",
                auth=PUBLIC,
                body="QuestionIn",
                ok={"202": "json"},
                errors=("403",),
            )
        },
        "/dashboard": {"get": Op("The organizers' sign-in page", auth=PUBLIC, ok={"200": "html"})},
        "/dashboard/{fair}": {
            "get": Op(
                "The organizers' live page (the token is typed in the page)",
                auth=PUBLIC,
                ok={"200": "html"},
            )
        },
        "/dashboard/{fair}/report": {
            "get": Op(
                "The day's report in the browser: the page fetches report.html with the"
                " organizer token the dashboard keeps",
                auth=PUBLIC,
                ok={"200": "html"},
            )
        },
        "/v1/enrol": {
            "post": Op(
                "Trade a fresh enrolment code for the device's token, once: 410 "
                "enrolment_used or enrolment_expired, 404 enrolment_unknown",
                auth=PUBLIC,
                body="EnrolIn",
                ok={"200": "json"},
                conflict=True,
                errors=("410",),
            )
        },
        "/devices/{fair}": {
            "get": Op(
                "The organizers' devices page (the token is typed in the page)",
                auth=PUBLIC,
                ok={"200": "html"},
            )
        },
        "/enrol/{code}": {
            "get": Op(
                "What a phone that scanned a kiosk's enrolment QR opens",
                auth=PUBLIC,
                ok={"200": "html"},
            )
        },
        "/static/{name}": {
            "get": Op(
                "The pages' scripts and styles", auth=PUBLIC, ok={"200": "asset", "304": "none"}
            )
        },
        "/healthz": {"get": Op("Process up", auth=PUBLIC, ok={"200": "json"})},
        "/readyz": {
            "get": Op(
                "Redis and Postgres reachable (503 not_ready), workers keeping up (503 degraded)",
                auth=PUBLIC,
                ok={"200": "json"},
            )
        },
        "/metrics": {"get": Op("Prometheus metrics", auth=PUBLIC, ok={"200": "text"})},
        "/openapi.json": {"get": Op("This document", auth=PUBLIC, ok={"200": "json"})},
    }


def operations() -> dict[str, dict[str, Op]]:
    """path → method → operation, for every route create_app serves."""
    return {**_fair_api(), **_public(), **alliance_operations()}


# Path parameters by name; a route's regex in the router is repeated here as an enum.
PARAMETERS: dict[str, dict[str, Any]] = {
    "fair": {"type": "string", "format": "uuid"},
    "session": {"type": "string", "format": "uuid"},
    "id": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[\w.:@-]+$"},
    "kid": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[\w.:@-]+$"},
    "question": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[\w.:@-]+$"},
    "name": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[\w.-]+$"},
    # Ids in a path before an extension (`{id}.svg`, `{id}.json`) cannot hold a dot.
    "dotless_id": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[\w:@-]+$"},
    "code": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[A-Za-z0-9-]+$"},
    "fmt": {"enum": ["svg", "png"]},
    "format": {"enum": ["json", "csv", "xlsx", "html"]},
    "ext": {"enum": ["xlsx", "csv"]},
    **openapi_alliances.PARAMETERS,
}
KINDS: dict[str, list[str]] = {
    "/v1/fairs/{fair}/{kind}": ["employers", "positions", "seekers", "devices"],
    "/v1/fairs/{fair}/{kind}/{id}": ["employers", "positions", "seekers", "devices"],
    "/v1/fairs/{fair}/{kind}/{id}/token": ["employers", "devices"],
    "/v1/fairs/{fair}/{kind}:import": ["employers", "positions", "seekers"],
    "/v1/fairs/{fair}/{kind}:template.{ext}": ["employers", "positions", "seekers"],
    "/v1/fairs/{fair}/qr/{kind}/{id}.{fmt}": ["seeker", "employer", "position"],
    "/p/{fair}/{kind}/{id}": ["employers", "positions"],
    "/p/{fair}/{kind}/{id}.json": ["employers", "positions"],
}
