"""Inputs the fuzzer found answered wrongly, each pinned down by one request."""

from __future__ import annotations

import uuid

from support import DAY, Gateway, event


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
