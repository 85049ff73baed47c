"""Every endpoint x every kind of token x the right and the wrong fair.

A token may act only in its own fair and only within its role; the admin may do anything.
Every pair not allowed must be refused (401 without a valid token, 403 with one; résumé
files answer 404 so that their existence is not revealed), and every allowed pair must get
through authorization (neither 401 nor 403, and never a 500).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
from redis.asyncio import Redis
from support import ADMIN_TOKEN, Gateway, event

ORG, DEV, EMP, HOST, SEEK = "organizer", "device", "employer", "host", "seeker"
ALL = (ORG, DEV, EMP, HOST)  # every token of the fair's staff and hosts; a seeker's is its own
NOT_ADMIN = "not admin"  # a seeker's own pages: the admin is nobody's seeker


@dataclass
class Fair:
    id: str
    tokens: dict[str, str]  # role -> token
    ids: dict[str, str]  # what the paths refer to


async def _fair(gateway: Gateway, db: asyncpg.Connection, redis: Redis) -> Fair:
    fair, organizer = await gateway.create_fair()
    employer = await gateway.create(fair, organizer, "employers", name="Acme")
    spare_employer = await gateway.create(fair, organizer, "employers", name="Spare")
    device = await gateway.create(fair, organizer, "devices", label="Gate 1")
    spare_device = await gateway.create(fair, organizer, "devices", label="Gate 2")
    seeker = await gateway.create(fair, organizer, "seekers", name="王安", school="复旦大学")
    spare_seeker = await gateway.create(fair, organizer, "seekers", name="李博")
    position = await gateway.create(
        fair,
        organizer,
        "positions",
        employer_id=employer["id"],
        title="会计",
        job_type="财务",
        headcount=1,
    )
    spare_position = await gateway.create(
        fair,
        organizer,
        "positions",
        employer_id=employer["id"],
        title="出纳",
        job_type="财务",
        headcount=1,
    )
    upload = aiohttp.FormData()
    upload.add_field("seeker_id", seeker["id"])
    upload.add_field("employer_id", employer["id"])
    upload.add_field("file", b"%PDF-1.4 cv", filename="cv.pdf")
    status, resume = await gateway.request(
        "POST", f"/v1/fairs/{fair}/resumes", organizer, data=upload
    )
    assert status == 201, resume
    status, session = await gateway.request(
        "POST",
        f"/v1/fairs/{fair}/live-sessions",
        organizer,
        json={"title": "直播", "employer_ids": [employer["id"]]},
    )
    assert status == 201, session
    status, signed = await gateway.request(
        "POST",
        f"/p/{fair}/signup",
        None,
        json={"name": "林晓", "phone": f"139{uuid.uuid4().int % 10**8:08d}", "consent": True},
    )
    assert status == 201, signed
    return Fair(
        fair,
        {
            ORG: organizer,
            DEV: device["token"],
            EMP: employer["token"],
            HOST: session["host_token"],
            SEEK: signed["token"],
        },
        {
            "employer": employer["id"],
            "spare_employer": spare_employer["id"],
            "device": device["id"],
            "spare_device": spare_device["id"],
            "seeker": seeker["id"],
            "badge": seeker["badge"],
            "spare_seeker": spare_seeker["id"],
            "position": position["id"],
            "spare_position": spare_position["id"],
            "resume": resume["id"],
            "session": session["id"],
        },
    )


def _endpoints(a: Fair) -> list[tuple[str, str, tuple[str, ...], dict[str, Any]]]:
    """(method, path, roles allowed besides admin, request kwargs) on fair `a`."""
    f, i = f"/v1/fairs/{a.id}", a.ids
    uid = uuid.uuid4().hex[:8]
    return [
        ("GET", f, ALL, {}),
        ("GET", f"{f}/keys", ALL, {}),
        ("POST", f"{f}/keys", (ORG,), {}),
        ("GET", f"{f}/stats", (ORG,), {}),
        ("GET", f"{f}/registry/counts", (ORG,), {}),
        ("GET", f"{f}/report", (ORG,), {}),
        ("GET", f"{f}/report.csv", (ORG,), {}),
        ("GET", f"{f}/report.html", (ORG,), {}),
        ("GET", "/v1/fairs", (), {}),
        (
            "POST",
            f"{f}/live-sessions",
            (ORG,),
            {"json": {"title": "T", "employer_ids": [i["employer"]]}},
        ),
        ("GET", f"{f}/live-sessions", (ORG,), {}),
        ("GET", f"{f}/live-sessions/{i['session']}", (ORG, HOST), {}),
        ("POST", f"{f}/live-sessions/{i['session']}/start", (ORG, HOST), {}),
        (
            "PUT",
            f"{f}/live-sessions/{i['session']}/pin",
            (ORG, HOST),
            {"json": {"position_id": i["position"]}},
        ),
        ("DELETE", f"{f}/live-sessions/{i['session']}/pin", (ORG, HOST), {}),
        ("GET", f"{f}/live-sessions/{i['session']}/consultations", (ORG, HOST, EMP), {}),
        ("POST", f"{f}/events", ALL, {"json": event("consultation", topic="面试时间?")}),
        ("POST", f"{f}/checkins", (ORG, DEV), {"json": {"id": f"scan-{uid}", "badge": i["badge"]}}),
        ("POST", f"{f}/employers", (ORG,), {"json": {"name": f"New {uid}"}}),
        ("GET", f"{f}/employers", ALL, {}),
        ("GET", f"{f}/employers/{i['employer']}", ALL, {}),
        ("PATCH", f"{f}/employers/{i['employer']}", (ORG, EMP), {"json": {"booth": "A1"}}),
        ("POST", f"{f}/employers/{i['spare_employer']}/token", (ORG,), {}),
        ("DELETE", f"{f}/employers/{i['spare_employer']}", (ORG,), {}),
        (
            "POST",
            f"{f}/positions",
            (ORG, EMP),
            {"json": {"employer_id": i["employer"], "title": "T", "job_type": "J", "headcount": 1}},
        ),
        ("GET", f"{f}/positions", ALL, {}),
        ("GET", f"{f}/positions/{i['position']}", ALL, {}),
        ("PATCH", f"{f}/positions/{i['position']}", (ORG, EMP), {"json": {"headcount": 3}}),
        ("DELETE", f"{f}/positions/{i['spare_position']}", (ORG, EMP), {}),
        ("POST", f"{f}/seekers", (ORG, DEV), {"json": {"name": "赵四"}}),
        ("GET", f"{f}/seekers", (ORG,), {}),
        ("GET", f"{f}/seekers/{i['seeker']}", (ORG,), {}),
        ("PATCH", f"{f}/seekers/{i['seeker']}", (ORG,), {"json": {"major": "会计"}}),
        ("POST", f"{f}/seekers/{i['spare_seeker']}/badge", (ORG, DEV), {}),
        ("DELETE", f"{f}/seekers/{i['spare_seeker']}", (ORG,), {}),
        ("POST", f"{f}/devices", (ORG,), {"json": {"label": "Gate 9"}}),
        ("GET", f"{f}/devices", (ORG,), {}),
        ("GET", f"{f}/devices/{i['device']}", (ORG,), {}),
        ("PATCH", f"{f}/devices/{i['device']}", (ORG,), {"json": {"gate": "东门"}}),
        ("POST", f"{f}/devices/{i['spare_device']}/token", (ORG,), {}),
        ("DELETE", f"{f}/devices/{i['spare_device']}", (ORG,), {}),
        (
            "POST",
            f"{f}/leads",
            (ORG, DEV, EMP),
            {"json": {"seeker_id": i["seeker"], "employer_id": i["employer"]}},
        ),
        ("GET", f"{f}/leads", (ORG, EMP), {}),
        ("GET", f"{f}/resumes", (ORG, EMP), {}),
        ("GET", f"/v1/resumes/{i['resume']}/file", (ORG, EMP), {}),
        (
            "POST",
            f"{f}/intents",
            (ORG, EMP),
            {"json": {"seeker_id": i["seeker"], "employer_id": i["employer"]}},
        ),
        ("GET", f"{f}/intents", (ORG, EMP), {}),
        ("GET", f"{f}/qr/seeker/{i['seeker']}.svg", (ORG,), {}),
        ("GET", f"{f}/qr/employer/{i['employer']}.png", (ORG,), {}),
        ("GET", f"{f}/badges.html", (ORG,), {}),
        (
            "POST",
            f"{f}/employers:import",
            (ORG,),
            {"data": "名称\n新企业".encode(), "headers": {"Content-Type": "text/csv"}},
        ),
        ("PATCH", f, (ORG,), {"json": {"venue": "体育馆"}}),
        ("GET", f"/p/{a.id}/me.json", (SEEK, NOT_ADMIN), {}),
        ("POST", f"/p/{a.id}/applications", (SEEK, NOT_ADMIN), {"json": {"position_id": "x"}}),
        ("DELETE", f"/p/{a.id}/applications/{i['resume']}", (SEEK, NOT_ADMIN), {}),
        ("DELETE", f"/p/{a.id}/me", (SEEK, NOT_ADMIN), {}),  # last: it ends the seeker
    ]


async def test_every_role_on_every_endpoint_of_both_fairs(
    gateway: Gateway, db: asyncpg.Connection, redis: Redis
) -> None:
    a = await _fair(gateway, db, redis)
    b = await _fair(gateway, db, redis)
    callers: dict[str, str | None] = {
        "admin": ADMIN_TOKEN,
        **{f"A {role}": token for role, token in a.tokens.items()},
        **{f"B {role}": token for role, token in b.tokens.items()},
        "no token": None,
        "unknown token": "fho_" + "x" * 43,
    }
    wrong: list[str] = []
    checked = 0
    for method, path, roles, kwargs in _endpoints(a):
        for name, token in callers.items():
            allowed = (name == "admin" and NOT_ADMIN not in roles) or (
                name.startswith("A ") and name[2:] in roles
            )
            status, body = await gateway.request(method, path, token, **kwargs)
            checked += 1
            # A résumé's existence is not revealed: 404 for every token that may not see it.
            hidden = "/v1/resumes/" in path and name not in ("no token", "unknown token")
            refused = status in ((404,) if hidden else (401, 403)) if not allowed else False
            if status >= 500 or (allowed and status in (401, 403)) or (not allowed and not refused):
                wrong.append(f"{method} {path} as {name}: {status} {body}")
            elif not allowed and token is None and status != 401:
                wrong.append(f"{method} {path} without a token: {status}, expected 401")
    assert not wrong, "\n".join(wrong)
    assert checked == len(_endpoints(a)) * len(callers)


async def test_a_token_in_the_query_string_is_not_a_bearer_token(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    async with aiohttp.ClientSession() as session:
        url = f"{gateway.base}/v1/fairs/{fair}/stats?access_token={token}"
        async with session.get(url) as response:
            assert response.status == 401


async def test_the_openapi_document_lists_every_route(gateway: Gateway) -> None:
    status, document = await gateway.request("GET", "/openapi.json", None)
    assert status == 200
    for path in (
        "/v1/fairs/{fair}/checkins",
        "/v1/fairs/{fair}/leads",
        "/v1/fairs/{fair}/{kind}",
        "/v1/fairs/{fair}/{kind}:import",
        "/v1/resumes/{id}/file",
        "/v1/fairs/{fair}/badges.html",
    ):
        assert path in document["paths"], sorted(document["paths"])
    assert document["paths"]["/v1/fairs/{fair}/checkins"]["post"]["requestBody"]
    assert "SeekerIn" in document["components"]["schemas"]
    # A seeker's calls: sign-up is public, the rest take the seeker's cookie or token.
    assert document["paths"]["/p/{fair}/signup"]["post"]["security"] == []
    assert {"seekerCookie": []} in document["paths"]["/p/{fair}/applications"]["post"]["security"]
    assert "SignupIn" in document["components"]["schemas"]
