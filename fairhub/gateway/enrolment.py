"""Kiosk enrolment by QR: the organizer prints a one-time code, the kiosk trades it for a token.

A device token is long and secret; typing it into a kiosk at a venue is where setups go wrong.
Instead the organizer asks for an enrolment of a device and shows its QR code (the gateway's
address and a short one-time code); `fairhub kiosk --enrol` scanned or typed trades the code,
once, for a fresh token of that device. Only the code's SHA-256 is stored, a code expires after
`enrolment_minutes`, and a spent one is refused (410): a photographed QR is worth nothing once
the kiosk has used it. Enrolling revokes the device's earlier tokens: the kiosk that enrolled
last is the device (a lost tablet is replaced by enrolling a new one).
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from datetime import timedelta
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from fairhub import keys
from fairhub.auth import issue, mirror, revoke
from fairhub.gateway import devices_page, kiosks
from fairhub.gateway.access import fair_caller
from fairhub.gateway.bodies import read_public_model, reply
from fairhub.gateway.errors import ApiError, Conflict, NotFound
from fairhub.gateway.public import public_base
from fairhub.gateway.qr import QUIET_ZONE, browser_caller, make_code
from fairhub.limits import Limit, client_address, enforce

# 32 symbols without I, O, 0 and 1, which people misread; 12 of them are 60 random bits.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 12
_CODE = re.compile(f"[{ALPHABET}]{{{CODE_LENGTH}}}")
# The limiter's buckets belong to a fair; enrolment comes before any fair is known.
_LIMIT_SCOPE = "enrol"
_CONTENT_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


class Gone(ApiError):
    """A code that existed but can no longer be used (spent or expired)."""

    status, code = 410, "gone"


class EnrolIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(
        min_length=1,
        max_length=100,
        description="The code from the enrolment QR (dashes and case do not matter).",
    )


def new_code() -> str:
    """A fresh code as stored (hashed); grouped() is how people see it."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def grouped(code: str) -> str:
    """ABCD-EFGH-JKLM: easier to read out than twelve letters in a row."""
    return "-".join(code[n : n + 4] for n in range(0, len(code), 4))


def normalize(code: str) -> str | None:
    """The code as stored (upper case, no dashes or spaces), or None if it cannot be one."""
    text = re.sub(r"[\s-]", "", code).upper()
    return text if _CODE.fullmatch(text) else None


def code_hash(code: str) -> str:
    """60 random bits behind a per-address limit and 15 minutes: a plain SHA-256 suffices."""
    return hashlib.sha256(code.encode()).hexdigest()


def enrolment_url(request: web.Request, code: str) -> str:
    """What the QR holds: the address kiosks reach the gateway at, and the code."""
    return f"{public_base(request)}/enrol/{code}"


async def create_enrolment(request: web.Request) -> web.Response:
    """A one-time code for a device (organizer); an earlier unused code of it stops working."""
    fair, _ = await fair_caller(request, "organizer")
    device = request.match_info["id"]
    minutes = request.app[keys.SETTINGS].enrolment_minutes
    raw = new_code()
    async with request.app[keys.DB].acquire() as conn, conn.transaction():
        found = await conn.fetchrow(
            "SELECT revoked_at FROM devices WHERE fair_id = $1 AND id = $2", fair, device
        )
        if found is None:
            raise NotFound(f"no device {device!r} in this fair", fields=["id"])
        if found["revoked_at"] is not None:
            raise Conflict("this device is revoked", fields=["id"], code="device_revoked")
        await conn.execute(
            "DELETE FROM enrolments WHERE fair_id = $1 AND device_id = $2 AND used_at IS NULL",
            fair,
            device,
        )
        expires_at = await conn.fetchval(
            "INSERT INTO enrolments (code_hash, fair_id, device_id, expires_at)"
            " VALUES ($1, $2, $3, clock_timestamp() + $4) RETURNING expires_at",
            code_hash(raw),
            fair,
            device,
            timedelta(minutes=minutes),
        )
    code = grouped(raw)
    qr = f"/v1/fairs/{fair}/enrolments/{code}"
    answer = {
        "device_id": device,
        "code": code,
        "url": enrolment_url(request, code),
        "expires_at": expires_at,
        "qr_svg_url": qr + ".svg",
        "qr_png_url": qr + ".png",
    }
    return reply(answer, status=201)


async def enrolment_qr(request: web.Request) -> web.Response:
    """The QR code of a live enrolment, to show on screen or print (organizer)."""
    fair, _ = await browser_caller(request, "organizer")
    code = normalize(request.match_info["code"])
    if code is None:
        raise NotFound("no such enrolment code in this fair", fields=["code"])
    row = await request.app[keys.DB].fetchrow(
        "SELECT device_id, used_at IS NOT NULL AS used,"
        " expires_at <= clock_timestamp() AS expired FROM enrolments"
        " WHERE code_hash = $1 AND fair_id = $2",
        code_hash(code),
        fair,
    )
    if row is None:
        raise NotFound("no such enrolment code in this fair", fields=["code"])
    _refuse_spent(row)
    shown = grouped(code)
    fmt = request.match_info["fmt"]
    buffer = io.BytesIO()
    make_code(enrolment_url(request, shown)).save(buffer, kind=fmt, scale=8, border=QUIET_ZONE)
    return web.Response(
        body=buffer.getvalue(),
        content_type=_CONTENT_TYPES[fmt],
        # A live code is a key to a device token: never kept by a cache or sent as a referrer.
        headers={"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"},
    )


def _refuse_spent(row: Any) -> None:
    if row["used"]:
        raise Gone(
            "this enrolment code was used already: create a new one",
            fields=["code"],
            code="enrolment_used",
        )
    if row["expired"]:
        raise Gone(
            "this enrolment code has expired: create a new one",
            fields=["code"],
            code="enrolment_expired",
        )


async def enrol(request: web.Request) -> web.Response:
    """Trade a fresh code for the device's token, once (public, limited per address)."""
    settings = request.app[keys.SETTINGS]
    limit = Limit(
        "enrol-address",
        client_address(request),
        settings.enrol_tries_per_address,
        settings.enrol_tries_seconds,
    )
    await enforce(request, _LIMIT_SCOPE, "enrol", [limit])
    body = await read_public_model(request, EnrolIn)
    code = normalize(body.code)
    if code is None:
        raise NotFound("no such enrolment code", fields=["code"], code="enrolment_unknown")
    app = request.app
    async with app[keys.DB].acquire() as conn, conn.transaction():
        # FOR UPDATE: two kiosks scanning one code at once get one token between them.
        row = await conn.fetchrow(
            "SELECT e.fair_id::text AS fair_id, e.device_id, e.used_at IS NOT NULL AS used,"
            " e.expires_at <= clock_timestamp() AS expired, d.label, d.gate, d.employer_id,"
            " d.revoked_at FROM enrolments e"
            " JOIN devices d ON d.fair_id = e.fair_id AND d.id = e.device_id"
            " WHERE e.code_hash = $1 FOR UPDATE OF e",
            code_hash(code),
        )
        if row is None:
            raise NotFound("no such enrolment code", fields=["code"], code="enrolment_unknown")
        _refuse_spent(row)
        if row["revoked_at"] is not None:
            raise Conflict("this device is revoked", fields=["code"], code="device_revoked")
        fair, device = row["fair_id"], row["device_id"]
        await conn.execute(
            "UPDATE enrolments SET used_at = clock_timestamp() WHERE code_hash = $1",
            code_hash(code),
        )
        await conn.execute(
            "UPDATE devices SET enrolled_at = clock_timestamp() WHERE fair_id = $1 AND id = $2",
            fair,
            device,
        )
        revoked = await revoke(conn, fair, device)
        issued = await issue(conn, "device", fair, device)
    await app[keys.AUTH].forget(revoked)
    await mirror(app[keys.REDIS], issued.digest, issued.principal)
    answer = {
        "fair": fair,
        "device": device,
        "label": row["label"],
        "token": issued.token,
        "gate": row["gate"],
        "employer": row["employer_id"],
        "url": public_base(request),
    }
    return reply(answer)


def add_routes(app: web.Application) -> None:
    """Register enrolment, the kiosks' beat and status, and the organizer's devices page."""
    app.router.add_post("/v1/fairs/{fair}/devices/{id}/enrolment", create_enrolment)
    app.router.add_get(
        "/v1/fairs/{fair}/enrolments/{code:[A-Za-z0-9-]{1,64}}.{fmt:svg|png}", enrolment_qr
    )
    app.router.add_post("/v1/enrol", enrol)
    kiosks.add_routes(app)
    devices_page.add_routes(app)
