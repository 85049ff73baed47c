"""The alliance routes of the OpenAPI table: the secretary's API and the menu page."""

from __future__ import annotations

from typing import Any

from fairhub.gateway.openapi_ops import Op

ALLIANCE = "/v1/alliances/{alliance}"
# Path parameters of these routes, by name.
PARAMETERS: dict[str, dict[str, Any]] = {
    "alliance": {"type": "string", "format": "uuid"},
    "member": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[\w.:@-]+$"},
    "offer": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[\w.:@-]+$"},
    "person": {
        "type": "string",
        "minLength": 1,
        "maxLength": 64,
        "description": "A phone number (digits, spaces, hyphens, a leading +) or a seeker id.",
    },
    "school": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[\w.:@-]+$"},
}


_SHEETS = {
    "members": "name, kind, joined_at, staff",
    "demands": "enterprise by name or id, occupation, category, headcount, region, period",
    "offers": "institution by name or id, occupation, kind, seats, region, credit stars,"
    " subsidy, period; a project class names its enterprises or demand ids",
}


def _sheet_operations() -> dict[str, dict[str, Op]]:
    """The secretary's spreadsheets: an import and its templates for each sheet."""
    table: dict[str, dict[str, Op]] = {}
    for kind, columns in _SHEETS.items():
        table[f"{ALLIANCE}/{kind}:import"] = {
            "post": Op(
                f"Import {kind} from a CSV or xlsx ({columns}; Chinese headers):"
                " `{created, errors: [{line, error, field}]}`; errors in Chinese, `?lang=en`"
                " in English",
                body="upload",
                ok={"200": "json"},
            )
        }
        table[f"{ALLIANCE}/{kind}:template.{{ext}}"] = {
            "get": Op(
                f"The {kind} template (secretary): Chinese headers, an example row the import"
                " skips, and a sheet that explains each column",
                ok={"200": "template"},
            )
        }
    return table


def alliance_operations() -> dict[str, dict[str, Op]]:
    """path -> method -> operation for the alliance routes."""
    return {
        **_sheet_operations(),
        "/v1/alliances": {
            "post": Op(
                "Create an alliance (admin): `{id, secretary_token}`",
                body="AllianceIn",
                ok={"201": "json"},
            )
        },
        ALLIANCE: {"get": Op("An alliance, its rules and its fairs", ok={"200": "json"})},
        ALLIANCE + "/members": {
            "post": Op(
                "A member joins (secretary)", body="MemberIn", ok={"201": "json"}, conflict=True
            ),
            "get": Op("The members, or those of one day", ok={"200": "json"}, query=("on",)),
        },
        ALLIANCE + "/members/{member}": {
            "delete": Op("A member leaves on `left_at`", ok={"204": "none"}, query=("left_at",))
        },
        ALLIANCE + "/fairs": {
            "post": Op(
                "A fair joins the alliance, members-only or not",
                body="FairLinkIn",
                ok={"200": "json"},
            )
        },
        ALLIANCE + "/demands": {
            "post": Op(
                "Job demand of a member enterprise (secretary, or the member's employer)",
                body="DemandIn",
                ok={"201": "json"},
            ),
            "get": Op("The alliance's job demand", ok={"200": "json"}),
        },
        ALLIANCE + "/offers": {
            "post": Op(
                "An offer of the training menu by a member institution",
                body="OfferIn",
                ok={"201": "json"},
            ),
            "get": Op(
                "The training menu, searched", ok={"200": "json"}, query=("occupation", "region")
            ),
        },
        ALLIANCE + "/offers/{offer}/signups": {
            "get": Op(
                "An offer's sign-ups with name and phone (secretary, or the offering"
                " institution's employer); each read is in the audit log",
                ok={"200": "page"},
                query=("limit", "after"),
            )
        },
        ALLIANCE + "/people/{person}": {
            "delete": Op(
                "Erase a person's sign-ups by phone or seeker id: name and phone go, the figures"
                " stay (secretary): `{erased}`",
                ok={"200": "json"},
            )
        },
        ALLIANCE + "/audit": {
            "get": Op(
                "Who read or erased sign-ups' personal data, newest first (secretary)",
                ok={"200": "page"},
                query=("limit", "before", "action"),
            )
        },
        ALLIANCE + "/events": {
            "post": Op(
                "The chain after the fair: one event or a batch, answered per event",
                body="AllianceEventOrBatch",
                ok={"202": "IngestAnswer"},
            )
        },
        ALLIANCE + "/stats": {
            "get": Op("Figures per member, occupation, offer and channel", ok={"200": "json"})
        },
        "/v1/fairs/{fair}/schools": {
            "get": Op(
                "The fair's schools and the alliance member each is (organizer, secretary)",
                ok={"200": "json"},
            )
        },
        "/v1/fairs/{fair}/schools/{school}": {
            "put": Op(
                "Link a school to a school member of the fair's alliance, null unlinks"
                " (organizer, secretary)",
                body="SchoolLinkIn",
                ok={"200": "json"},
            )
        },
        ALLIANCE + "/report": {
            "get": Op(
                "The alliance's report (secretary; token as bearer or `access_token`)",
                ok={"200": "json"},
                query=("access_token",),
            )
        },
        ALLIANCE + "/report.{format}": {
            "get": Op(
                "The alliance's report as JSON, CSV, Excel or A4 HTML (token as bearer or"
                " `access_token`)",
                ok={"200": "report"},
                query=("access_token",),
            )
        },
        "/a/{alliance}/report": {
            "get": Op(
                "The alliance's report in the secretary's browser: the page fetches report.html"
                " with the token it keeps or is typed in",
                auth="public",
                ok={"200": "html"},
            )
        },
        "/a/{alliance}/menu": {
            "get": Op(
                "The training menu on a phone, searched by occupation and region",
                auth="public",
                ok={"200": "html"},
                query=("occupation", "region"),
            )
        },
        "/a/{alliance}/menu/signup": {
            "post": Op(
                "Sign up to an offer: name and phone, or a seeker's token of the alliance's fair",
                auth="public",
                body="MenuSignupIn",
                ok={"201": "json"},
            )
        },
    }
