"""The seeker's two phone pages: the fair's page (sign up, employers, livestreams) and "my page"
(the e-badge, the résumé, the applications, deleting one's data); and the service worker that
keeps "my page" on the phone, so the badge opens at the gate without a network.

The fair's page is what the fair's own QR code or link opens: a landing counts as a page visit
(a `qr_scan` of the fair). My page is rendered with the badge's QR code inside, as SVG, so it
needs nothing else once loaded.
"""

# Chinese labels use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

import json
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web

from fairhub import keys
from fairhub.gateway.access import fair_id
from fairhub.gateway.errors import ApiError
from fairhub.gateway.mine import my_document
from fairhub.gateway.pages import asset_url, settings_script
from fairhub.gateway.phone_labels import LABELS, PRIVACY
from fairhub.gateway.public import count_landing, phone_page, remember_visitor, visitor_of
from fairhub.gateway.public_page import lang_link, not_found_page, phone_shell
from fairhub.gateway.qr import make_code
from fairhub.gateway.signup import seeker_id

_FAIR = """
SELECT name, starts_at, ends_at, venue, signup_open, signup_cap,
       (SELECT count(*) FROM seekers AS s WHERE s.fair_id = f.id AND s.signed_up_at IS NOT NULL)
           AS signups
FROM fairs AS f WHERE id = $1
"""
_EMPLOYERS = """
SELECT e.id, e.name, e.booth, e.industry, count(p.id) AS positions
FROM employers AS e
LEFT JOIN positions AS p ON p.fair_id = e.fair_id AND p.employer_id = e.id
                        AND p.revoked_at IS NULL
WHERE e.fair_id = $1 AND e.revoked_at IS NULL
GROUP BY e.fair_id, e.id
ORDER BY e.booth NULLS LAST, e.name
LIMIT 2000
"""
_SESSIONS = """
SELECT id, title, started_at FROM live_sessions
WHERE fair_id = $1 AND ended_at IS NULL
ORDER BY coalesce(started_at, starts_at, created_at), id
"""
_SIGNUP_JS = ("signing_up", "registered", "code_sent", "resend_in", "need_code", "need_consent",
              "need_name", "need_phone", "failed", "later", "network", "fields", "closed",
              "full", "hello", "not_registered")  # fmt: skip
_MINE_JS = ("uploading", "uploaded_ok", "failed", "too_big", "later", "network", "fields",
            "confirm_withdraw", "confirm_delete", "deleted", "need_file")  # fmt: skip


def _when(moment: datetime | None, zone: str, fmt: str = "%m-%d %H:%M") -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime(fmt) if moment else ""


def _lang(request: web.Request) -> str:
    return "en" if request.query.get("lang") == "en" else "zh"


def _privacy(lang: str, labels: dict[str, str]) -> str:
    items = "".join(f"<li>{escape(text)}</li>" for text in PRIVACY[lang])
    return (
        f'<details class="privacy"><summary>{labels["privacy_title"]}</summary>'
        f"<ul>{items}</ul></details>"
    )


def _field(name: str, label: str, kind: str = "text", extra: str = "", hint: str = "") -> str:
    hint_text = f' <span class="muted">（{hint}）</span>' if hint else ""
    return (
        f'<label for="{name}">{label}{hint_text}</label>'
        f'<input id="{name}" name="{name}" type="{kind}" {extra}>'
    )


def _signup_forms(lang: str, closed: bool, note: str) -> str:
    """Sign up (closed: a note instead), and sign in with a code (open when sign-up is closed)."""
    L = LABELS[lang]
    lead = f'<p class="closed">{note}</p>' if closed else f'<p class="muted">{L["signup_lead"]}</p>'
    consent = (
        '<label class="check"><input type="checkbox" name="consent" value="true">'
        f" {L['consent']}</label>"
    )
    year = 'inputmode="numeric" min="1950" max="2100" placeholder="2026"'
    code = 'inputmode="numeric" autocomplete="one-time-code" maxlength="6" pattern="[0-9]{6}"'
    signup = (
        f'<section id="signup" class="p-card"><h2>{L["signup_title"]}</h2>{lead}'
        f'<form id="signup-form" class="p-form" novalidate{" hidden" if closed else ""}>'
        + _field("name", L["name"], extra='autocomplete="name" required maxlength="200"')
        + _field("phone", L["phone"], "tel", 'autocomplete="tel" inputmode="tel" required')
        + _field("school", L["school"], extra='maxlength="200"', hint=L["optional"])
        + _field("major", L["major"], extra='maxlength="200"', hint=L["optional"])
        + _field("graduation_year", L["graduation_year"], "number", year, L["optional"])
        + f"{consent}{_privacy(lang, L)}"
        f'<button type="submit" class="primary wide">{L["signup_button"]}</button>'
        '<p id="signup-answer" class="outcome" role="status"></p></form></section>'
    )
    signin = (
        f'<section id="signin" class="p-card"><details id="signin-box"{" open" if closed else ""}>'
        f'<summary>{L["signin_title"]}</summary><form id="signin-form" class="p-form" novalidate>'
        + _field("signin-phone", L["phone"], "tel", 'autocomplete="tel" inputmode="tel"')
        + '<div class="code-row">'
        + _field("signin-code", L["code"], "text", code)
        + f'<button id="send-code" type="button" class="secondary">{L["send_code"]}</button></div>'
        f'{consent}<button type="submit" class="primary wide">{L["signin_button"]}</button>'
        '<p id="signin-answer" class="outcome" role="status"></p></form></details></section>'
    )
    return signup + signin


def _links(fair: str, employers: list[Any], sessions: list[Any], lang: str) -> str:
    """The fair's livestreams not ended, then its employers with their positions' count."""
    e, L = escape, LABELS[lang]
    en = "&amp;lang=en" if lang == "en" else ""
    items = "".join(
        f'<li><a href="/p/{fair}/employers/{quote(r["id"], safe="")}?from=fair{en}">'
        f'<span class="title">{e(r["name"])}</span><span class="muted">'
        f"{e(' · '.join(x for x in (r['booth'], r['industry']) if x))}</span>"
        f'<span class="count">{L["jobs"].format(n=r["positions"])}</span></a></li>'
        for r in employers
    )
    total = sum(r["positions"] for r in employers)
    listing = (
        f'<section class="p-card"><h2>{L["employers"]}</h2><p class="muted">'
        f"{L['employers_note'].format(e=len(employers), n=total)}</p>"
        f'<ul class="links-list">{items}</ul></section>'
    )
    if not sessions:
        return listing
    streams = "".join(
        f'<li><a href="/live/{quote(s["id"], safe="")}"><span class="title">{e(s["title"])}'
        f'</span><span class="state" data-live="{"true" if s["started_at"] else "false"}">'
        f"{L['live_now'] if s['started_at'] else L['scheduled']}</span></a></li>"
        for s in sessions
    )
    return (
        f'<section class="p-card"><h2>{L["streams"]}</h2>'
        f'<ul class="links-list">{streams}</ul></section>{listing}'
    )


def fair_page(
    fair: str, row: Any, employers: list[Any], sessions: list[Any], lang: str, zone: str
) -> str:
    """The fair's page: sign up (or sign in), then the livestreams and the employers."""
    e, L = escape, LABELS[lang]
    start, end = (
        _when(row["starts_at"], zone, "%Y-%m-%d %H:%M"),
        _when(row["ends_at"], zone, "%H:%M"),
    )
    place = " · ".join(x for x in (f"{start}–{end}", row["venue"]) if x)
    head = (
        '<header class="p-card p-head"><div class="bar"><span class="muted">FairHub</span>'
        f"{lang_link('?' if lang == 'en' else '?lang=en', L)}</div>"
        f'<h1>{e(row["name"])}</h1><p class="muted">{e(place)}</p></header>'
    )
    me_card = (
        '<section id="me-card" class="p-card me-card" hidden><h2 id="me-hello"></h2>'
        f'<p class="links"><a class="primary button" href="/p/{fair}/me">{L["my_badge"]}</a>'
        f'<a class="secondary button" href="/p/{fair}/me#applications">'
        f"{L['my_applications']}</a></p></section>"
    )
    full = row["signup_cap"] is not None and row["signups"] >= row["signup_cap"]
    closed = not row["signup_open"] or full
    note = L["full"] if full and row["signup_open"] else L["closed"]
    config = {
        "page": "fair",
        "lang": lang,
        "fair": fair,
        "labels": {k: L[k] for k in _SIGNUP_JS},
    }
    body = (
        head
        + me_card
        + _signup_forms(lang, closed, note)
        + _links(fair, employers, sessions, lang)
        + settings_script(config)
    )
    return phone_shell(lang, row["name"], body, "signup.js")


async def fair_home(request: web.Request) -> web.Response:
    """The fair's page on a phone: a landing is a visit of the fair's page."""
    lang = _lang(request)
    try:
        fair = fair_id(request)
    except ApiError:
        return phone_page(not_found_page(LABELS[lang], lang), status=404)
    db = request.app[keys.DB]
    row = await db.fetchrow(_FAIR, fair)
    if row is None:
        return phone_page(not_found_page(LABELS[lang], lang), status=404)
    employers = await db.fetch(_EMPLOYERS, fair)
    sessions = await db.fetch(_SESSIONS, fair)
    visitor, new = visitor_of(request)
    await count_landing(request, fair, "fair", visitor)
    zone = request.app[keys.SETTINGS].timezone
    response = phone_page(fair_page(fair, row, employers, sessions, lang, zone))
    if new:
        remember_visitor(request, response, visitor)
    return response


def _size(n: int | None) -> str:
    if not n:
        return ""
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


def my_page(document: dict[str, Any], lang: str, zone: str) -> str:
    """The seeker's page: the badge as a QR code, the résumé, the applications, erasing."""
    e, L = escape, LABELS[lang]
    fair, me = document["fair"], document["seeker"]
    qr = make_code(document["badge"]).svg_inline(scale=1, border=4, omitsize=True, dark="#000")
    badge = (
        f'<section class="p-card badge-card"><div class="bar"><a class="fair-link"'
        f' href="/p/{e(fair["id"])}?from=me">{e(fair["name"])}</a>'
        f"{lang_link('?' if lang == 'en' else '?lang=en', L)}</div>"
        f'<p class="eyebrow">{L["badge_title"]}</p><h1>{e(me["name"])}</h1>'
        f'<div class="qr" role="img" aria-label="{L["badge_title"]}">{qr}</div>'
        f'<p class="muted">{e(L["badge_number"].format(fair=fair["name"], number=me["number"]))}'
        f'</p><p class="note">{L["badge_note"]}</p></section>'
    )
    resume = document["resume"]
    kept = f'<p class="muted">{L["no_resume"]}</p>'
    if resume:
        at = _when(resume["uploaded_at"], zone)
        kept = (
            f'<p><span class="title">{e(resume["filename"] or "")}</span> <span class="muted">'
            f"{e(L['uploaded'].format(size=_size(resume['size']), at=at))}</span></p>"
        )
    upload = (
        f'<section class="p-card" id="resume"><h2>{L["my_resume"]}</h2>{kept}'
        '<form id="resume-form" class="p-form" novalidate>'
        '<input id="resume-file" name="file" type="file" accept=".pdf,.doc,.docx,.jpg,.png">'
        f'<button type="submit" class="secondary wide">{L["replace"] if resume else L["upload"]}'
        '</button><p id="resume-answer" class="outcome" role="status"></p></form></section>'
    )
    rows = []
    for a in document["applications"]:
        what = a["position_title"] or L["any"]
        via = f" · {L['live']}" if a["channel"] == "live" else ""
        action = (
            f'<button type="button" class="ghost withdraw" data-withdraw="{e(a["id"])}">'
            f"{L['withdraw']}</button>"
            if a["status"] != "withdrawn"
            else ""
        )
        rows.append(
            f'<li class="application" data-id="{e(a["id"])}" data-status="{a["status"]}">'
            f'<div class="job-text"><div class="title">{e(a["employer_name"])}</div>'
            f'<div class="muted">{e(what)} · {e(L["sent_at"].format(at=_when(a["sent_at"], zone)))}'
            f'{via}</div></div><span class="status" data-status="{a["status"]}">'
            f"{L['status_' + a['status']]}</span>{action}</li>"
        )
    listed = f'<ul class="apps">{"".join(rows)}</ul>'
    if not rows:
        listed = f'<p class="muted">{L["applications_none"]}</p>'
    applications = (
        f'<section class="p-card" id="applications"><h2>{L["my_applications"]}'
        f' <span class="muted">{len(rows)}</span></h2>{listed}'
        f'<p><a class="secondary button" href="/p/{e(fair["id"])}?from=me">{L["go_apply"]}</a>'
        "</p>"
        "</section>"
    )
    erase = (
        f'<section class="p-card danger"><h2>{L["delete_title"]}</h2><p class="muted">'
        f'{L["delete_text"]}</p><button id="erase" type="button" class="danger wide">'
        f'{L["delete"]}</button><p id="erase-answer" class="outcome" role="status"></p></section>'
    )
    config = {
        "page": "me",
        "lang": lang,
        "fair": fair["id"],
        "sw": f"/p/{fair['id']}/sw.js",
        "labels": {k: L[k] for k in _MINE_JS},
    }
    body = badge + upload + applications + erase + _privacy(lang, L) + settings_script(config)
    return phone_shell(lang, f"{me['name']} · {fair['name']}", body, "mine.js")


async def me_page(request: web.Request) -> web.Response:
    """My page; a phone that has not signed in (or whose sign-in ended) goes to the fair's."""
    lang = _lang(request)
    try:
        fair = fair_id(request)
    except ApiError:
        return phone_page(not_found_page(LABELS[lang], lang), status=404)
    try:
        seeker = await seeker_id(request, fair)
        document = await my_document(request.app, fair, seeker)
    except ApiError as exc:
        if exc.status not in (401, 403):
            raise
        target = f"/p/{fair}?next={quote(f'/p/{fair}/me')}" + ("&lang=en" if lang == "en" else "")
        raise web.HTTPSeeOther(target, headers={"Cache-Control": "no-store"}) from None
    response = phone_page(my_page(document, lang, request.app[keys.SETTINGS].timezone))
    response.headers["Cache-Control"] = "private, no-store"  # personal: no shared cache
    return response


_WORKER = """// FairHub keeps "my page" on this phone, so the entry code opens without a network.
const CACHE = %(cache)s, PAGE = %(page)s, ASSETS = %(assets)s;
self.addEventListener("install", (ev) => {
  self.skipWaiting();
  ev.waitUntil(caches.open(CACHE).then((c) => c.addAll([PAGE, ...ASSETS])).catch(() => {}));
});
self.addEventListener("activate", (ev) => ev.waitUntil(self.clients.claim()));
self.addEventListener("fetch", (ev) => {
  const url = new URL(ev.request.url);
  if (ev.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === PAGE) {  // the network first: fresh when online, kept when not
    ev.respondWith(fetch(ev.request).then((r) => {
      if (r.ok && !r.redirected) {
        const copy = r.clone();
        caches.open(CACHE).then((c) => c.put(PAGE, copy));
      }
      return r;
    }).catch(() => caches.match(PAGE).then((r) => r || Response.error())));
  } else if (ASSETS.includes(url.pathname + url.search)) {
    ev.respondWith(caches.match(ev.request).then((r) => r || fetch(ev.request)));
  }
});
"""


async def service_worker(request: web.Request) -> web.Response:
    """The fair's service worker: my page and its files, kept for offline use."""
    fair = fair_id(request)
    text = _WORKER % {
        "cache": json.dumps(f"fairhub-{fair}"),
        "page": json.dumps(f"/p/{fair}/me"),
        "assets": json.dumps([asset_url(n) for n in ("phone.css", "common.js", "mine.js")]),
    }
    return web.Response(
        text=text,
        content_type="text/javascript",
        charset="utf-8",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


def add_routes(app: web.Application) -> None:
    """The fair's page, my page and the service worker that keeps my page."""
    app.router.add_get("/p/{fair}", fair_home)
    app.router.add_get("/p/{fair}/me", me_page)
    app.router.add_get("/p/{fair}/sw.js", service_worker)
