"""The alliance routes of the OpenAPI table: the secretary's API and the menu page."""

from __future__ import annotations

from typing import Any

from fairhub.gateway.openapi_ops import Op

ALLIANCE = "/v1/alliances/{alliance}"
# Path parameters of these routes, by name.
PARAMETERS: dict[str, dict[str, Any]] = {
    "alliance": {"type": "string", "format": "uuid"},
    "member": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[\w.:@-]+$"},
}


def alliance_operations() -> dict[str, dict[str, Op]]:
    """path -> method -> operation for the alliance routes."""
    return {
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
        ALLIANCE + "/members:import": {
            "post": Op(
                "Import members from a CSV (name, kind, joined_at, staff; Chinese headers)",
                body="upload",
                ok={"200": "json"},
            )
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
