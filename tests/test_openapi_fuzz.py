"""The served OpenAPI document: every route in it, and Schemathesis finds nothing against it."""

from __future__ import annotations

import base64
import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from fuzzing import Outcome, run_schemathesis
from support import ADMIN_TOKEN, DAY, Gateway, WorkerTask, event

from fairhub.config import Settings
from fairhub.gateway.app import create_app
from fairhub.gateway.openapi import openapi_document

# Bounded for CI (the whole test takes about 2 minutes on a busy 2-core machine); longer
# locally with FAIRHUB_FUZZ_SECONDS, another sequence of cases with FAIRHUB_FUZZ_SEED.
FUZZ_SECONDS = int(os.environ.get("FAIRHUB_FUZZ_SECONDS", "80"))
PARAMETER = re.compile(r"{([^}:]+)(?::[^}]*)?}")


def served_routes(settings: Settings) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, HEAD aside (aiohttp adds it to each GET)."""
    routes = set()
    for route in create_app(settings).router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if route.method != "HEAD" and path:
            routes.add((route.method.lower(), path))
    return routes


def declared_path_parameters(document: dict[str, Any], path: str, method: str) -> set[str]:
    item = document["paths"][path]
    params = [*item.get("parameters", []), *item[method].get("parameters", [])]
    return {p["name"] for p in params if p["in"] == "path"}


def test_every_route_is_described_with_its_path_parameters(settings: Settings) -> None:
    document = openapi_document()
    missing, undeclared = [], []
    for method, path in sorted(served_routes(settings)):
        if method not in document["paths"].get(path, {}):
            missing.append(f"{method.upper()} {path}")
            continue
        wanted = set(PARAMETER.findall(path))
        if wanted != declared_path_parameters(document, path, method):
            undeclared.append(f"{method.upper()} {path}")
        operation = document["paths"][path][method]
        assert "security" in operation, f"{method.upper()} {path} states no security"
        assert any(s.startswith(("2", "3")) for s in operation["responses"]), path
    assert missing == [], f"served but not in /openapi.json: {missing}"
    assert undeclared == [], f"path parameters not declared: {undeclared}"


def test_public_pages_need_no_token() -> None:
    paths = openapi_document()["paths"]
    assert paths["/live/{session}/presence"]["post"]["security"] == []
    assert paths["/p/{fair}"]["get"]["security"] == []
    assert paths["/healthz"]["get"]["security"] == []
    assert {"bearer": []} in paths["/v1/fairs"]["post"]["security"]


async def test_a_fair_starting_in_1970_is_refused(gateway: Gateway) -> None:
    body = {"name": "x", "kind": "onsite", "starts_at": 0, "ends_at": DAY.isoformat()}
    status, answer = await gateway.request("POST", "/v1/fairs", json=body)
    assert status == 422, answer
    assert answer["fields"] == ["starts_at"]


# What the fuzzer found, pinned down one request at a time.


async def test_a_time_given_as_a_number_is_refused(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    status, answer = await gateway.request(
        "POST",
        f"/v1/fairs/{fair}/events",
        token,
        json=event("checkin", seeker_id="S1") | {"occurred_at": 1_700_000_000},
    )
    assert status == 422 and answer["fields"] == ["occurred_at"], answer
    checkin = {"id": "scan-00000001", "badge": "FH1.x", "occurred_at": 0}
    status, answer = await gateway.request(
        "POST", f"/v1/fairs/{fair}/checkins", token, json=checkin
    )
    assert status == 422 and answer["fields"] == ["occurred_at"], answer


async def test_a_key_for_an_unknown_fair_is_404(gateway: Gateway) -> None:
    status, answer = await gateway.request("POST", f"/v1/fairs/{uuid.uuid4()}/keys")
    assert status == 404 and answer["fields"] == ["fair"], answer


async def test_an_out_of_range_cap_or_a_nul_in_a_name_is_422(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    for change, field in (({"signup_cap": 2**40}, "signup_cap"), ({"name": "a\x00b"}, "name")):
        status, answer = await gateway.request("PATCH", f"/v1/fairs/{fair}", token, json=change)
        assert status == 422 and answer["fields"] == [field], answer


async def test_malformed_forms_are_400(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    no_boundary = {"Content-Type": "multipart/form-data"}
    status, answer = await gateway.request(
        "POST", f"/p/{fair}/signup/code", None, data=b"x", headers=no_boundary
    )
    assert status == 400, answer
    bad_part = b'--b\r\nContent-Disposition: form-data; name="\x13W\xc3\x8c"\r\n\r\n{}\r\n--b--\r\n'
    status, answer = await gateway.request(
        "POST",
        f"/v1/fairs/{fair}/seekers:import",
        token,
        data=bad_part,
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert status == 400 and answer["fields"] == ["file"], answer


async def test_forged_cursors_and_nul_filters_are_422(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    for kind, cursor in (("seekers", [1.5, "x"]), ("employers", 7), ("seekers", ["1", 2])):
        after = base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode()
        status, answer = await gateway.request(
            "GET", f"/v1/fairs/{fair}/{kind}", token, params={"after": after}
        )
        assert status == 422 and answer["fields"] == ["after"], (kind, cursor, answer)
    for path, name in (("positions", "q"), ("positions", "employer_id"), ("leads", "employer_id")):
        status, answer = await gateway.request(
            "GET", f"/v1/fairs/{fair}/{path}", token, params={name: "a\x00b"}
        )
        assert status == 422 and answer["fields"] == [name], (path, name, answer)


async def test_a_change_cannot_empty_what_creation_requires(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    seeker = await gateway.create(fair, token, "seekers", name="李雷")
    status, answer = await gateway.request(
        "PATCH", f"/v1/fairs/{fair}/seekers/{seeker['id']}", token, json={"name": None}
    )
    assert status == 422 and answer["fields"] == ["name"], answer


async def _fixtures(gateway: Gateway) -> dict[str, str]:
    """Real ids for the path parameters, so operations get past their 404s."""
    fair, organizer = await gateway.create_fair("模糊测试招聘会")
    employer = await gateway.create(fair, organizer, "employers", name="测试公司")
    position = await gateway.create(
        fair,
        organizer,
        "positions",
        employer_id=employer["id"],
        title="工程师",
        job_type="full_time",
        headcount=3,
    )
    seeker = await gateway.create(fair, organizer, "seekers", name="李雷")
    status, session = await gateway.request(
        "POST",
        f"/v1/fairs/{fair}/live-sessions",
        organizer,
        json={"title": "直播", "employer_ids": [employer["id"]]},
    )
    assert status == 201, session
    tokens = []
    for name, phone in (("韩梅梅", "13800138000"), ("林涛", "13900139000")):
        status, signed_up = await gateway.request(
            "POST", f"/p/{fair}/signup", None, json={"name": name, "phone": phone, "consent": True}
        )
        assert status == 201, signed_up
        tokens.append(signed_up["token"])
    # An alliance with a member, so that the alliance routes get past their 404s too.
    status, alliance = await gateway.request("POST", "/v1/alliances", json={"name": "测试联盟"})
    assert status == 201, alliance
    status, member = await gateway.request(
        "POST",
        f"/v1/alliances/{alliance['id']}/members",
        json={"kind": "training_institution", "name": "测试培训学校", "joined_at": "2026-01-01"},
    )
    assert status == 201, member
    return {
        "fair": fair,
        "alliance": alliance["id"],
        "member": member["id"],
        "session": session["id"],
        "id": seeker["id"],
        "kid": position["id"],
        "seeker_token": tokens[0],
        "erased_token": tokens[1],
    }


# Erasing oneself ends the sign-in for every later call: that one runs apart, with a seeker
# of its own, after the rest.
ERASE = ("--include-path", "/p/{fair}/me", "--include-method", "DELETE")


def _config(params: dict[str, str], seeker_token: str, erase: bool) -> str:
    """The admin's token everywhere but on a seeker's own calls, which get a seeker's cookie
    (a valid bearer beside a forged cookie is rightly accepted: either scheme signs in)."""
    lines = [
        "request-timeout = 10",
        # A stream never ends by itself: its first event is enough to check.
        "max-stream-events = 1",
        "generation.max-examples = 20",
        # Valid by the schema yet refused by a rule across fields or over stored data (ends_at
        # after starts_at, an employer of this fair): a 422 naming the field, as documented.
        "[checks.positive_data_acceptance]",
        'expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]',
        "[parameters]",
        *(f'{name} = "{value}"' for name, value in params.items()),
        # DELETE of an employer, position, seeker or device revokes it: the item stays readable
        # (with revoked_at) on purpose, so "still there after DELETE" is the contract here.
        "[[operations]]",
        'include-path = "/v1/fairs/{fair}/{kind}/{id}"',
        "checks.use_after_free.enabled = false",
        "[[operations]]",
        'include-path = "/p/{fair}/me"',
        'include-method = "DELETE"',
        f"enabled = {str(erase).lower()}",
        # Each security scheme of the document with its credentials: schemathesis picks the
        # one an operation names, and forges or drops it to check that auth is not ignored.
        "[auth.openapi.bearer]",
        f'bearer = "{ADMIN_TOKEN}"',
        "[auth.openapi.seekerCookie]",
        f'api_key = "{seeker_token}"',
    ]
    return "\n".join(lines) + "\n"


async def _fuzz(base: str, workdir: Path, config: str, seconds: int, *args: str) -> Outcome:
    workdir.mkdir()
    code, output, outcome = await run_schemathesis(
        f"{base}/openapi.json",
        workdir,
        config,
        "--checks",
        "all",
        "--max-time",
        str(seconds),
        # One worker: two threads building cases at once trip CPython 3.11's "AST constructor
        # recursion depth mismatch" inside hypothesis (a crash of the tool, not of FairHub).
        "--workers",
        "1",
        "--seed",
        os.environ.get("FAIRHUB_FUZZ_SEED", "15"),
        *args,
        timeout=seconds + 60,
    )
    print(output[-6000:], *outcome.tool_errors, sep="\n")
    assert outcome.failures == [], outcome.describe()
    assert outcome.errors == [], outcome.describe()
    # With no failure and no error found, a non-zero exit can only be the tool's own crash.
    assert code == 0 or outcome.tool_errors, output[-4000:]
    return outcome


@pytest.mark.timeout(max(180, FUZZ_SECONDS + 100))
async def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    gateway: Gateway, worker: WorkerTask, tmp_path: Path
) -> None:
    params = await _fixtures(gateway)
    seeker, erased = params.pop("seeker_token"), params.pop("erased_token")
    outcome = await _fuzz(
        gateway.base, tmp_path / "all", _config(params, seeker, erase=False), FUZZ_SECONDS
    )
    erase = await _fuzz(gateway.base, tmp_path / "erase", _config(params, erased, True), 10, *ERASE)
    documented = {
        f"{method.upper()} {path}"
        for path, item in openapi_document()["paths"].items()
        for method in item
        if method != "parameters" and path != "/openapi.json"  # the schema it loads is not fuzzed
    }
    tested = outcome.operations | erase.operations
    assert documented <= tested, sorted(documented - tested)
