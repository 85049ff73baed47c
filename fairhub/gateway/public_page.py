"""The employer's and position's phone pages (what a booth's QR code opens), as HTML.

Every value from the registry is escaped; the page's script and style are FairHub's static files
(phone.css, booth.js) under the strict page policy, like every other page. A seeker who signed
up on the fair applies with one tap per position; a printed badge's code still works too.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from fairhub.gateway.pages import settings_script, shell
from fairhub.salary import format_salary

# The tab's icon, inline so that browsers do not ask for /favicon.ico: a paper on blue.
ICON = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
    "%3Crect width='16' height='16' rx='3' fill='%230a66c2'/%3E"
    "%3Cpath d='M5 4h6v8H5z' fill='%23fff'/%3E%3C/svg%3E"
)
# The labels the booth page's script needs (the rest are in the HTML).
_JS_LABELS = (
    "sending", "sent", "again", "need_badge", "need_file", "failed", "too_big", "later",
    "network", "fields", "applied", "apply_short", "hello", "my_page", "signup_to_apply",
    "resume_kept",
)  # fmt: skip
ACCEPT = ".pdf,.doc,.docx,.jpg,.png"


@dataclass
class View:
    """What a page shows: the employer, the position scanned, and the positions searched."""

    fair: dict[str, Any]
    employer: dict[str, Any]
    position: dict[str, Any] | None
    positions: list[dict[str, Any]]  # those matching the search
    options: list[dict[str, Any]]  # every live position, for the résumé form
    job_types: list[dict[str, Any]]
    q: str
    job_type: str
    via_fair: bool = False  # opened from the fair's page, not from a booth's code


def search_link(view: View, lang: str, /, **change: str) -> str:
    """A query string for this page with some search parameters changed.

    A changed parameter stays even when empty ("All" is job_type=), so that the view it
    opens is not taken for a new visit from the QR code.
    """
    params = {
        "q": view.q,
        "job_type": view.job_type,
        "lang": lang if lang == "en" else "",
        "from": "fair" if view.via_fair else "",
    }
    params.update(change)
    query = urlencode({k: v for k, v in params.items() if v or k in change})
    return "?" + query if query else "?"


def phone_shell(lang: str, title: str, body: str, script: str) -> str:
    """A phone page: phone.css, common.js and the page's own script."""
    return shell(
        lang=lang,
        title=title,
        body=f'<body class="phone"><main class="p-main">{body}</main></body>',
        icon=ICON,
        css="phone.css",
        script=script,
        head='<meta name="theme-color" content="#0a66c2">',
    )


def not_found_page(labels: dict[str, str], lang: str) -> str:
    """What a phone shows for a code of a fair, employer or position that is gone."""
    body = (
        f'<section class="p-card"><h1>{labels["not_found"]}</h1>'
        f"<p>{labels['not_found_text']}</p></section>"
    )
    return phone_shell(lang, labels["not_found"], body, "booth.js")


def lang_link(href: str, labels: dict[str, str]) -> str:
    return f'<a class="lang" href="{escape(href)}">{labels["other_lang"]}</a>'


def _pay_and_place(position: dict[str, Any], lang: str) -> str:
    """The salary and the work location, the first things a seeker compares; may be empty."""
    parts = [format_salary(position, lang), position.get("location") or ""]
    shown = [escape(p) for p in parts if p]
    if not shown:
        return ""
    pay = f'<span class="pay">{shown[0]}</span>' if parts[0] else shown[0]
    return f'<div class="pay-place">{" · ".join([pay, *shown[1:]])}</div>'


def _position_item(
    position: dict[str, Any], labels: dict[str, str], here: bool, lang: str = "zh"
) -> str:
    count = labels["headcount"].format(n=position["headcount"])
    return (
        f'<li{" class=here" if here else ""}><div class="job-text">'
        f'<div class="title">{escape(position["title"])}</div>'
        f"{_pay_and_place(position, lang)}"
        f'<div class="muted">{escape(position["job_type"])} · {count}</div></div>'
        f'<button type="button" class="apply" data-apply="{escape(position["id"])}">'
        f"{labels['apply_short']}</button></li>"
    )


def _badge_form(view: View, labels: dict[str, str], channel: str) -> str:
    """The résumé form of a seeker who has a printed badge's code and no sign-up."""
    e, L = escape, labels
    here = view.position["id"] if view.position is not None else None
    options = f'<option value="">{L["any_position"]}</option>' + "".join(
        f'<option value="{e(o["id"])}"{" selected" if o["id"] == here else ""}>'
        f"{e(o['title'])}</option>"
        for o in view.options
    )
    return (
        f'<section class="p-card"><details id="badge-way"><summary>{L["badge_way"]}</summary>'
        f'<form id="apply" method="post" novalidate action="/v1/fairs/{e(view.fair["id"])}'
        f'/resumes" enctype="multipart/form-data"><input type="hidden" name="id">'
        f'<input type="hidden" name="employer_id" value="{e(view.employer["id"])}">'
        f'<input type="hidden" name="channel" value="{channel}">'
        f'<label for="badge">{L["badge"]}</label><input id="badge" name="badge"'
        ' autocomplete="off" autocapitalize="characters" spellcheck="false">'
        f'<p class="muted">{L["badge_hint"]}</p>'
        f'<label for="position_id">{L["position"]}</label>'
        f'<select id="position_id" name="position_id">{options}</select>'
        f'<label for="file">{L["file"]}</label><input id="file" name="file" type="file"'
        f' accept="{ACCEPT}"><p><button class="primary">{L["send"]}</button></p>'
        '<p id="answer" role="status"></p></form></details></section>'
    )


def render_page(view: View, labels: dict[str, str], lang: str) -> str:
    """The page; every value from the registry is escaped (names come from spreadsheets)."""
    e, L, emp, pos = escape, labels, view.employer, view.position
    fair = view.fair["id"]
    meta = [f"{L['booth']} {emp['booth']}" if emp["booth"] else "", emp["industry"] or ""]
    other = "zh" if lang == "en" else "en"
    head = (
        f'<header class="p-card p-head"><div class="bar"><a class="fair-link"'
        f' href="/p/{e(fair)}?from=booth">{e(view.fair["name"])}</a>'
        f"{lang_link(search_link(view, other, lang=other), L)}</div>"
        f'<h1>{e(emp["name"])}</h1><p class="muted">{e(" · ".join(m for m in meta if m))}</p>'
        f'<p id="me-bar" class="me-bar"><a id="me-link" href="/p/{e(fair)}?from=booth">'
        f"{L['signup_to_apply']}</a></p></header>"
    )
    if pos is not None:
        count = L["headcount"].format(n=pos["headcount"])
        text = f"<p>{e(pos['description'])}</p>" if pos["description"] else ""
        head += (
            f'<section class="p-card here"><h2>{e(pos["title"])}</h2>'
            f"{_pay_and_place(pos, lang)}"
            f'<p class="muted">{e(pos["job_type"])} · {count}</p>{text}'
            f'<button type="button" class="primary big apply" data-apply="{e(pos["id"])}">'
            f"{L['apply_short']}</button></section>"
        )
    keep = "".join(
        f'<input type="hidden" name="{k}" value="{e(v)}">'
        for k, v in (
            ("job_type", view.job_type),
            ("lang", "en" if lang == "en" else ""),
            ("from", "fair" if view.via_fair else ""),
        )
        if v
    )
    chips = [(L["all"], "", not view.job_type)] + [
        (f"{t['job_type']} {t['count']}", t["job_type"], t["job_type"] == view.job_type)
        for t in view.job_types
    ]
    chip_links = "".join(
        f'<a href="{e(search_link(view, lang, job_type=value))}"{" class=on" if on else ""}>'
        f"{e(text)}</a>"
        for text, value, on in chips
    )
    here = pos["id"] if pos is not None else None
    items = "".join(_position_item(p, L, p["id"] == here, lang) for p in view.positions)
    none = f'<li class="muted">{L["none"]}</li>'
    listing = (
        f'<section class="p-card"><h2>{L["positions"]}</h2><form class="search" method="get">'
        f'<input type="search" name="q" value="{e(view.q)}" placeholder="{L["search_ph"]}">'
        f'{keep}<button>{L["search"]}</button></form><nav class="chips">{chip_links}</nav>'
        f"<ul>{items or none}</ul>"
        f'<button type="button" class="secondary wide apply" data-apply-employer="{e(emp["id"])}">'
        f"{L['apply_employer']}</button></section>"
    )
    upload = (
        '<section id="resume-panel" class="p-card" hidden>'
        f'<label for="resume-file">{L["resume_once"]}</label>'
        f'<input id="resume-file" type="file" accept="{ACCEPT}">'
        f'<button id="upload-apply" type="button" class="primary">{L["upload_apply"]}</button>'
        '<p id="resume-answer" class="outcome" role="status"></p></section>'
    )
    channel = "online" if view.via_fair else "onsite"
    config = {
        "page": "booth",
        "lang": lang,
        "fair": fair,
        "employer": {"id": emp["id"], "name": emp["name"]},
        "channel": channel,
        "badge_key": f"fairhub.badge.{fair}",
        "signup": f"/p/{quote(fair)}",
        "labels": {k: L[k] for k in _JS_LABELS},
    }
    body = (
        head
        + listing
        + upload
        + _badge_form(view, L, channel)
        + '<p id="toast" class="toast" role="status" hidden></p>'
        + settings_script(config)
    )
    return phone_shell(lang, f"{emp['name']} · {view.fair['name']}", body, "booth.js")
