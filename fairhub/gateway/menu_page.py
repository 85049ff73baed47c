"""The training menu (培训菜单) on a phone: /a/{alliance}/menu, searched, signed up to.

The page is server-rendered HTML under the strict page policy (phone.css, menu.js); searching
is a GET form, so it works without a script. A sign-up posts name and phone (a form, or JSON),
or a seeker token of one of the alliance's fairs (Authorization: Bearer), and becomes a
`training_signup` event through the alliance's ingest; the contact is kept for the institution.
"""

# ruff: noqa: RUF001
# (Chinese punctuation in the page's words is meant.)
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from html import escape
from typing import Annotated, Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints

from fairhub import keys
from fairhub.events import Phone, Ref, TrainingSignup
from fairhub.gateway.alliance_events import admit
from fairhub.gateway.alliances import alliance_id
from fairhub.gateway.bodies import read_json, reply, validated
from fairhub.gateway.errors import BadRequest, Forbidden, NotFound, Unprocessable
from fairhub.gateway.pages import html_response
from fairhub.gateway.public_page import phone_shell
from fairhub.gateway.training import menu_rows, search_terms
from fairhub.limits import Limit, client_address, enforce

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
KINDS = {"subsidised": "政府补贴培训", "certification": "技能等级认定", "project_class": "订单班"}
# The form fields of a sign-up: a person the institution can call back.
PersonName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=r"^[^\x00]*$"),
]


class MenuSignupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offer_id: Ref
    name: PersonName | None = None
    phone: Phone | None = None


async def _alliance(request: web.Request) -> tuple[str, str]:
    alliance = alliance_id(request)
    name = await request.app[keys.DB].fetchval("SELECT name FROM alliances WHERE id = $1", alliance)
    if name is None:
        raise NotFound(f"no alliance {alliance}", fields=["alliance"])
    return alliance, name


def _offer_item(alliance: str, offer: dict[str, Any]) -> str:
    e = escape
    stars = "★" * (offer["credit_stars"] or 0)
    meta = [offer["region"], offer["institution"], KINDS[offer["kind"]], f"{offer['seats']} 个名额"]
    if offer["subsidy_per_trainee"]:
        meta.append(f"补贴 {offer['subsidy_per_trainee']} 元/人")
    return (
        f'<li class="offer"><div class="job-text"><div class="title">{e(offer["occupation"])}'
        f' <span class="stars">{stars}</span></div>'
        f'<div class="muted">{e(" · ".join(str(m) for m in meta if m))}</div></div>'
        f'<form method="post" action="/a/{e(alliance)}/menu/signup" class="signup">'
        f'<input type="hidden" name="offer_id" value="{e(offer["id"])}">'
        '<input name="name" placeholder="姓名" autocomplete="name" required maxlength="50">'
        '<input name="phone" type="tel" placeholder="手机号" autocomplete="tel" required'
        ' maxlength="20"><button class="primary">报名</button></form></li>'
    )


async def menu_page(request: web.Request) -> web.Response:
    """The menu, filtered by occupation and region as typed (Chinese substrings)."""
    alliance, name = await _alliance(request)
    occupation, region = search_terms(request)
    offers = await menu_rows(request.app[keys.DB_READ], alliance, occupation, region)
    e = escape
    items = (
        "".join(_offer_item(alliance, o) for o in offers) or '<li class="muted">没有符合的课程</li>'
    )
    body = (
        f'<header class="p-card p-head"><h1>{e(name)} · 培训菜单</h1>'
        '<p class="muted">选课程，填姓名和手机号报名；培训机构会联系你。</p></header>'
        '<section class="p-card"><form class="search" method="get">'
        f'<input name="occupation" value="{e(occupation)}" placeholder="工种，如 焊工">'
        f'<input name="region" value="{e(region)}" placeholder="地区，如 丹徒">'
        f'<button>搜索</button></form><p class="muted" id="count">{len(offers)} 个课程</p>'
        f'<ul class="jobs" id="offers">{items}</ul></section>'
    )
    return html_response(phone_shell("zh", f"{name} · 培训菜单", body, "menu.js"))


async def _seeker(request: web.Request, alliance: str) -> str | None:
    """A seeker of one of the alliance's fairs, from their seeker token, if one was sent."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    principal = await request.app[keys.AUTH].authenticate(token.strip())
    if principal is None or principal.role != "seeker" or principal.fair_id is None:
        raise Forbidden(
            "send a seeker's own sign-in, or a name and phone", fields=["Authorization"]
        )
    ours = await request.app[keys.DB].fetchval(
        "SELECT alliance_id::text = $2 FROM fairs WHERE id = $1", principal.fair_id, alliance
    )
    if not ours:
        raise Forbidden("this sign-in is of a fair of another alliance", fields=["Authorization"])
    return principal.subject_id


async def _fields(request: web.Request, is_form: bool) -> Any:
    """An HTML form's fields (empty inputs mean "not given"), or a JSON body."""
    if is_form:
        try:
            form = await request.post()
        except ValueError as exc:  # a multipart type without its boundary, a broken encoding
            raise BadRequest(f"the form cannot be read: {exc}", fields=["body"]) from None
        return {k: v for k, v in form.items() if isinstance(v, str) and v.strip()}
    return await read_json(request)


async def signup(request: web.Request) -> web.Response:
    """A sign-up from the menu: a training_signup event; the page or JSON says it is taken."""
    alliance, _ = await _alliance(request)
    settings = request.app[keys.SETTINGS]
    per_address = Limit("signup", client_address(request), settings.signups_per_address_hour, 3600)
    await enforce(request, alliance, "signup", [per_address])
    is_form = request.content_type in FORMS
    body = validated(MenuSignupIn, await _fields(request, is_form))
    seeker = await _seeker(request, alliance)
    if seeker is None and (body.name is None or body.phone is None):
        missing = [f for f in ("name", "phone") if getattr(body, f) is None]
        raise Unprocessable("a name and a phone are needed to sign up", fields=missing)
    event = TrainingSignup(
        id=f"menu-{uuid.uuid4().hex}",
        type="training_signup",
        occurred_at=datetime.now(UTC),
        offer_id=body.offer_id,
        seeker_id=seeker,
        phone=None if seeker else body.phone,
    )
    [result] = await admit(request.app, alliance, [event])
    if result["status"] == "rejected":
        raise Unprocessable(str(result["reason"]).split(": ", 1)[-1], fields=["offer_id"])
    await request.app[keys.DB].execute(
        "INSERT INTO training_signups (alliance_id, event_id, offer_id, name, phone, seeker_id)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        alliance,
        event.id,
        body.offer_id,
        body.name,
        body.phone,
        seeker,
    )
    if not is_form:
        return reply({"id": event.id}, status=201)
    back = f"/a/{escape(alliance)}/menu?" + urlencode({"signed_up": body.offer_id})
    page = (
        '<section class="p-card"><h1>报名成功</h1><p>培训机构会尽快联系你。</p>'
        f'<p><a href="{escape(back)}">返回培训菜单</a></p></section>'
    )
    return html_response(phone_shell("zh", "报名成功", page, "menu.js"), status=201)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/a/{alliance}/menu", menu_page)
    app.router.add_post("/a/{alliance}/menu/signup", signup)
