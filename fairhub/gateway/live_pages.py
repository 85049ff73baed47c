"""The livestream's two pages: the viewer's phone page and the host's console, HTML shells only.

The shells hold no data and no token: the scripts read the session's public JSON and, for the
console, the session API with the host token kept in the browser. The only value from the
request echoed in a page (the session id) has been checked to be a UUID. Scripts and styles are
the dashboard's static files, served by FairHub under the same strict policy.
"""

from __future__ import annotations

import uuid

from aiohttp import web

from fairhub.gateway.live_labels import LABELS
from fairhub.gateway.pages import (
    html_response,
    lang_link,
    page_lang,
    settings_script,
    shell,
    token_form,
)

# The tab's icon, inline so that browsers do not ask for /favicon.ico: a play sign on air.
_ICON = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
    "%3Crect width='16' height='16' rx='3' fill='%23e5484d'/%3E"
    "%3Cpath d='M6 4.5v7l5.5-3.5z' fill='%23fff'/%3E%3C/svg%3E"
)
_FIGURES = ("viewers_now", "peak", "views", "unique_viewers", "resumes", "consultations")


def _session(request: web.Request) -> str | None:
    """The {session} path parameter as a canonical UUID, or None when it cannot be one."""
    try:
        return str(uuid.UUID(request.match_info["session"]))
    except ValueError:
        return None


def _config(page: str, lang: str, session: str, labels: dict[str, str]) -> str:
    return settings_script({"page": page, "lang": lang, "session": session, "labels": labels})


def _shell(lang: str, title: str, body: str, page: str, script: str) -> str:
    theme = "#0b1120" if page == "console" else "#ffffff"
    return shell(
        lang=lang,
        title=title,
        body=f'<body class="{page}">{body}</body>',
        icon=_ICON,
        css="live.css",
        script=script,
        head=f'<meta name="theme-color" content="{theme}">',
    )


def _missing(labels: dict[str, str]) -> str:
    return (
        f'<section id="missing" class="missing" hidden><h1>{labels["not_found"]}</h1>'
        f"<p>{labels['not_found_text']}</p></section>"
    )


def viewer_page(session: str, labels: dict[str, str], lang: str) -> str:
    """The phone page a stream's link or QR code opens: what is on show, apply, ask."""
    L = labels
    header = (
        f'<header class="v-head"><div class="v-bar"><span class="brand">{L["brand"]}</span>'
        f'<span><a id="fair-link" class="lang" hidden></a> {lang_link(lang, L)}</span></div>'
        f'<h1 id="title">{L["loading"]}</h1>'
        '<div class="v-meta"><span id="state" class="state"></span>'
        '<a id="watch" class="watch" target="_blank" rel="noopener noreferrer" hidden>'
        f"{L['watch']}</a></div></header>"
    )
    main = (
        '<main id="live" class="v-main"><section id="pinned" class="pinned" aria-live="polite"'
        f' hidden></section><p id="no-pin" class="no-pin" hidden>{L["no_pin"]}</p>'
        f'<section class="v-list"><div class="v-list-head"><h2>{L["positions"]}</h2>'
        '<span id="positions-note" class="muted"></span></div><div id="groups"></div>'
        f'<p id="no-positions" class="muted" hidden>{L["no_positions"]}</p></section></main>'
    )
    # One tap needs a sign-up and a résumé kept: the sheet asks for whichever is missing.
    # A seeker with a printed badge may still send a résumé with its code.
    accept = ".pdf,.doc,.docx,.jpg,.jpeg,.png"
    apply = (
        '<form id="apply-form" class="sheet-form" novalidate hidden>'
        f'<div id="apply-signup" class="way" hidden><p>{L["signup_first"]}</p>'
        f'<a id="signup-link" class="primary button" href="#">{L["signup"]}</a></div>'
        f'<div id="apply-upload" class="way" hidden><label for="resume-file">{L["resume_once"]}'
        f'</label><input id="resume-file" name="resume" type="file" accept="{accept}">'
        f'<button id="upload-apply" type="button" class="primary">{L["upload_apply"]}</button>'
        f'</div><details id="badge-way" class="way"><summary>{L["badge_way"]}</summary>'
        f'<label for="badge">{L["badge"]}</label><input id="badge" name="badge"'
        ' autocomplete="off" autocapitalize="characters" spellcheck="false">'
        f'<p class="hint">{L["badge_hint"]}</p><label for="file">{L["file"]}</label>'
        f'<input id="file" name="file" type="file" accept="{accept}">'
        f'<button type="submit" class="primary">{L["send"]}</button></details>'
        '<p id="apply-answer" class="outcome" role="status"></p></form>'
    )
    ask = (
        '<form id="ask-form" class="sheet-form" novalidate hidden>'
        f'<label for="ask-employer">{L["to_employer"]}</label>'
        '<select id="ask-employer" name="employer_id"></select>'
        f'<label for="question">{L["question"]}</label><textarea id="question" name="question"'
        f' maxlength="500" rows="4" placeholder="{L["question_ph"]}"></textarea>'
        f'<p class="hint"><span>{L["question_hint"]}</span>'
        '<span id="question-count">0/500</span></p>'
        f'<button type="submit" class="primary">{L["ask_send"]}</button>'
        '<p id="ask-answer" class="outcome" role="status"></p></form>'
    )
    sheet = (
        '<div id="sheet" class="sheet" hidden><div class="sheet-card" role="dialog"'
        ' aria-modal="true" aria-labelledby="sheet-title"><div class="sheet-head">'
        '<h2 id="sheet-title"></h2><button id="sheet-close" type="button" class="x"'
        f' aria-label="{L["close"]}">&times;</button></div><p id="sheet-sub" class="sheet-sub"></p>'
        f"{apply}{ask}</div></div>"
    )
    body = (
        f"{header}{main}{_missing(L)}"
        '<button id="pin-notice" class="pin-notice" type="button" hidden></button>'
        f'<p id="offline" class="offline" role="status" hidden>{L["network"]}</p>'
        '<p id="v-toast" class="v-toast" role="status" hidden></p>'
        f"{sheet}{_config('viewer', lang, session, L)}"
    )
    return _shell(lang, L["brand"], body, "viewer", "viewer.js")


def _table(name: str, heads: tuple[str, ...], labels: dict[str, str]) -> str:
    cells = "".join(
        f'<th scope="col" class="{"name" if i == 0 else "n"}">{labels[key]}</th>'
        for i, key in enumerate(heads)
    )
    return (
        f'<div class="split-part"><h2>{labels[name]}</h2><table class="figs-table">'
        f'<thead><tr>{cells}</tr></thead><tbody id="{name}-rows"></tbody></table>'
        f'<p id="{name}-empty" class="muted">{labels["no_data"]}</p></div>'
    )


def console_page(session: str, labels: dict[str, str], lang: str) -> str:
    """The host's console: start and stop, pin a position, live figures, the questions."""
    L = labels
    header = (
        '<header class="c-head"><div class="c-title">'
        f'<p class="eyebrow">{L["console"]}</p><h1 id="title">{L["loading"]}</h1>'
        '<p id="meta" class="muted"></p></div><div class="c-controls">'
        '<span id="state" class="state"></span>'
        f'<button id="start" type="button" class="go big" hidden>{L["start"]}</button>'
        f'<button id="stop" type="button" class="halt big" hidden>{L["stop"]}</button></div>'
        '<nav class="c-nav"><span id="link" class="pill" data-state="connecting" role="status">'
        f'{L["connecting"]}</span><a id="viewer-link" target="_blank" rel="noopener">'
        f"{L['viewer_page']}</a>{lang_link(lang, L)}"
        f'<button id="sign-out" type="button" class="ghost">{L["sign_out"]}</button></nav>'
        "</header>"
    )
    figures = (
        '<section class="figs">'
        + "".join(
            f'<article class="fig" data-fig="{key}"><h2>{L[key]}</h2>'
            f'<span class="num" data-figure="{key}">—</span></article>'
            for key in _FIGURES
        )
        + "</section>"
    )
    stage = (
        '<section class="panel stage"><div id="on-show" class="on-show" data-empty="true">'
        f'<p class="eyebrow">{L["pinned_now"]}</p><h2 id="on-show-title"></h2>'
        '<p id="on-show-meta" class="muted"></p>'
        f'<button id="unpin" type="button" class="ghost">{L["unpin"]}</button>'
        f'<p id="on-show-empty">{L["nothing_pinned"]}</p></div>'
        f'<div class="panel-head"><h2>{L["positions"]}</h2>'
        f'<span class="muted">{L["pin_hint"]}</span></div><div id="positions"></div></section>'
    )
    queue = (
        '<aside class="panel queue"><div class="panel-head">'
        f'<h2>{L["queue"]}</h2><span id="queue-count" class="count">0</span></div>'
        f'<ol id="queue-list"></ol><p id="queue-empty" class="muted">{L["queue_empty"]}</p>'
        "</aside>"
    )
    tables = (
        '<section class="panel split">'
        f"{_table('by_employer', ('employer', 'resumes', 'consultations'), L)}"
        f"{_table('by_pin', ('position', 'views', 'resumes', 'consultations', 'for_pinned'), L)}"
        "</section>"
    )
    body = (
        f'{header}<main id="live" class="console-grid">{figures}{stage}{queue}{tables}'
        f"</main>{_missing(L)}"
        '<p id="toast" class="toast" role="alert" hidden></p>'
        f"{token_form(L, 'go')}{_config('console', lang, session, L)}"
    )
    return _shell(lang, f"{L['console']} · FairHub", body, "console", "console.js")


async def viewer(request: web.Request) -> web.Response:
    """The viewer's page (public, no login); the script fetches the session's JSON."""
    lang, session = page_lang(request), _session(request)
    if session is None:
        return html_response(viewer_page("", LABELS[lang], lang), status=404)
    return html_response(viewer_page(session, LABELS[lang], lang))


async def console(request: web.Request) -> web.Response:
    """The host's console; its data need the host (or organizer) token, kept in the browser."""
    lang, session = page_lang(request), _session(request)
    if session is None:
        return html_response(console_page("", LABELS[lang], lang), status=404)
    return html_response(console_page(session, LABELS[lang], lang))


def add_routes(app: web.Application) -> None:
    """Register the two pages; the id excludes dots so that /live/{session}.json is the API's."""
    app.router.add_get("/live/{session:[^/.]+}", viewer)
    app.router.add_get("/live/{session:[^/.]+}/console", console)
