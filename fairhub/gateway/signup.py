"""A seeker signs up on a phone (线上报名), or signs in again with a one-time code.

Sign-up creates the seeker in the registry, as an import would, with the consent to the privacy
notice, and hands out a seeker token (also set as an httpOnly cookie for the fair's pages).
A phone is one seeker per fair: signing up with a phone already registered answers only that
it is registered, and the seeker's token comes only with a code sent to that phone.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from fairhub import badges, keys, registry
from fairhub.auth import issue, mirror
from fairhub.directory import SeekerCard
from fairhub.gateway.access import fair_id
from fairhub.gateway.bodies import read_json, reply, validated
from fairhub.gateway.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    Unavailable,
    Unprocessable,
)
from fairhub.keyring import signing_key
from fairhub.limits import Limit, client_address, enforce

SEEKER_COOKIE = "fh_seeker"
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{6}$")]
Phone = Annotated[str, Field(max_length=40)]
_CODE_REFUSED = {
    "wrong": "the code is wrong; check the text message and try again",
    "spent": "too many wrong codes: ask for a new code",
    "expired": "no valid code for this phone (expired or used): ask for a new code",
}


class SignupIn(BaseModel):
    """What a seeker gives on the phone; `code` signs in a phone already registered (then the
    name may be left out: the seeker has one)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: registry.Text | None = None
    phone: Phone
    school: registry.Text | None = None
    major: registry.Text | None = None
    graduation_year: registry.Year | None = None
    consent: bool = Field(description="Agreed to the privacy notice; required to be true.")
    code: Code | None = None

    _check_phone = field_validator("phone")(registry._phone)

    @field_validator("consent")
    @classmethod
    def _consented(cls, value: bool) -> bool:
        if not value:
            raise ValueError("agree to the privacy notice to sign up")
        return value


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    phone: Phone

    _check_phone = field_validator("phone")(registry._phone)


class SignedUp(BaseModel):
    seeker_id: str
    number: int
    badge: str
    token: str = Field(description="The seeker token; also set as the fh_seeker cookie.")


def address(request: web.Request) -> str:
    """The client's address, as limits count it (a proxy's header only when it is trusted)."""
    return client_address(request)


async def _fields(request: web.Request) -> Any:
    """A JSON body, or an HTML form's fields (empty inputs mean "not given")."""
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.post()
        except ValueError as exc:  # a multipart type without its boundary, a broken encoding
            raise BadRequest(f"the form cannot be read: {exc}", fields=["body"]) from None
        return {k: v for k, v in form.items() if isinstance(v, str) and v.strip()}
    return await read_json(request)


def remember(request: web.Request, response: web.StreamResponse, fair: str, token: str) -> None:
    """The seeker token as a cookie that only the fair's own pages send back."""
    response.set_cookie(
        SEEKER_COOKIE,
        token,
        max_age=request.app[keys.SETTINGS].seeker_session_days * 24 * 3600,
        path=f"/p/{fair}",
        httponly=True,
        samesite="Lax",
        secure=request.secure,
    )


def forget(response: web.StreamResponse, fair: str) -> None:
    response.del_cookie(SEEKER_COOKIE, path=f"/p/{fair}")


def _same_site(request: web.Request) -> None:
    """A change made with the cookie must come from FairHub's own pages (no cross-site form)."""
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        raise Forbidden("this request came from another site", fields=["Origin"])
    origin = request.headers.get("Origin")
    if origin is None:
        return
    public = request.app[keys.SETTINGS].public_url
    ours = {request.host, urlsplit(public).netloc if public else request.host}
    if urlsplit(origin).netloc not in ours:
        raise Forbidden("this request came from another site", fields=["Origin"])


async def seeker_id(request: web.Request, fair: str) -> str:
    """The seeker behind the request's seeker token (cookie, or bearer), or 401/403."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        token = request.cookies.get(SEEKER_COOKIE, "")
        if token and request.method not in ("GET", "HEAD"):
            _same_site(request)
    if not token:
        raise Unauthorized(
            "sign up or sign in on this phone first", fields=["Authorization"], code="not_signed_in"
        )
    principal = await request.app[keys.AUTH].authenticate(token)
    if principal is None:
        raise Unauthorized(
            "this sign-in has ended: sign in again", fields=["Authorization"], code="not_signed_in"
        )
    if principal.role != "seeker":
        raise Forbidden("only the seeker's own sign-in can do this", fields=["Authorization"])
    if principal.fair_id != fair or principal.subject_id is None:
        raise Forbidden("this sign-in belongs to another fair", fields=["Authorization"])
    return principal.subject_id


async def signup(request: web.Request) -> web.Response:
    """Sign up (201), or sign in a registered phone with its code (200); a token either way."""
    fair = fair_id(request)
    app = request.app
    settings = app[keys.SETTINGS]
    body = validated(SignupIn, await _fields(request))
    phone_key = registry.phone_key(body.phone)
    per_address = Limit("signup", address(request), settings.signups_per_address_hour, 3600)
    await enforce(request, fair, "signup", [per_address])
    async with app[keys.DB].acquire() as conn, conn.transaction():
        row = await registry.lock_fair(conn, fair)
        if row is None:
            raise NotFound(f"no fair {fair}", fields=["fair"])
        key = await signing_key(conn, fair)
        taken = await registry.phones_taken(conn, fair, [body.phone])
        if phone_key in taken:
            if body.code is None:
                raise Conflict(
                    "this phone is already registered for the fair: ask for a code"
                    " (POST /p/{fair}/signup/code) and send it as `code` to sign in",
                    fields=["phone"],
                    code="phone_registered",
                )
            verdict = await app[keys.CODES].check(fair, phone_key, body.code)
            if verdict != "ok":
                raise Unprocessable(_CODE_REFUSED[verdict], fields=["code"], code=f"code_{verdict}")
            seeker = await conn.fetchrow(
                "SELECT id, number, name, badge_serial FROM seekers WHERE fair_id = $1 AND id = $2",
                fair,
                taken[phone_key],
            )
            status, card = 200, None
        else:
            if body.name is None:
                raise Unprocessable("name is required to sign up", fields=["name"])
            await _open_for_signup(conn, row)
            item = registry.SeekerIn(**body.model_dump(exclude={"consent", "code"}))
            [new] = await registry.insert_seekers(conn, fair, [item], key, signed_up=True)
            seeker = {"id": new.id, "number": new.number, "name": new.name, "badge_serial": 1}
            status, card = 201, SeekerCard(new.id, new.name, 1)
        issued = await issue(conn, "seeker", fair, seeker["id"])
    await mirror(app[keys.REDIS], issued.digest, issued.principal)
    if card is not None:
        await app[keys.DIRECTORY].remember(fair, [card])
    answer = SignedUp(
        seeker_id=seeker["id"],
        number=seeker["number"],
        badge=badges.sign(key, fair, seeker["id"], seeker["badge_serial"]),
        token=issued.token,
    )
    response = reply(answer.model_dump(), status=status)
    remember(request, response, fair, issued.token)
    return response


async def _open_for_signup(conn: Any, fair_row: Any) -> None:
    """409 signup_closed when the organizer closed sign-up or its cap is reached."""
    if not fair_row["signup_open"]:
        raise Conflict("sign-up for this fair is closed", code="signup_closed")
    cap = fair_row["signup_cap"]
    if cap is not None:
        done = await conn.fetchval(
            "SELECT count(*) FROM seekers WHERE fair_id = $1 AND signed_up_at IS NOT NULL",
            fair_row["id"],
        )
        if done >= cap:
            raise Conflict(
                f"sign-up for this fair is full ({cap} places)",
                code="signup_closed",
                extra={"full": True},
            )


async def send_code(request: web.Request) -> web.Response:
    """A one-time code to the phone, whether or not it is registered (that stays unsaid)."""
    fair = fair_id(request)
    app = request.app
    settings = app[keys.SETTINGS]
    body = validated(CodeIn, await _fields(request))
    phone_key = registry.phone_key(body.phone)
    per = [
        Limit("code-phone", phone_key, settings.signup_codes_per_phone_hour, 3600),
        Limit("code-address", address(request), settings.signup_codes_per_address_hour, 3600),
    ]
    if settings.signup_code_interval_seconds:
        per.append(Limit("code-wait", phone_key, 1, settings.signup_code_interval_seconds))
    await enforce(request, fair, "code", per)
    name = await app[keys.DB].fetchval("SELECT name FROM fairs WHERE id = $1", fair)
    if name is None:
        raise NotFound(f"no fair {fair}", fields=["fair"])
    try:
        await app[keys.CODES].send(fair, name, phone_key, body.phone)
    except Exception as exc:  # the SMS provider's adapter failed: the phone got nothing
        raise Unavailable(f"the code could not be sent: {exc}", code="sms_unavailable") from exc
    return reply({"sent": True, "expires_in": settings.signup_code_seconds}, status=202)


def add_routes(app: web.Application) -> None:
    """Sign-up and the codes that sign a registered phone in."""
    app.router.add_post("/p/{fair}/signup", signup)
    app.router.add_post("/p/{fair}/signup/code", send_code)
