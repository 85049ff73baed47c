"""The pages a seeker's phone opens from a booth's QR code: no login, one HTML page each.

Every landing on a page is a qr_scan event (unique visitors by a cookie), so the fair counts its
page visits; a search, a job-type chip, a change of language on the page, or a link followed
from the fair's own page (`?from=fair`) is not a new visit.
"""

from __future__ import annotations

import json
import logging
import math
import re
import secrets
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

from aiohttp import web
from prometheus_client import Counter as MetricCounter
from redis.exceptions import RedisError

from fairhub import keys
from fairhub.events import QrScan
from fairhub.gateway.access import fair_caller, fair_id
from fairhub.gateway.bodies import reply
from fairhub.gateway.errors import NotFound, RateLimited
from fairhub.gateway.fairs import require_fair
from fairhub.gateway.pages import PAGE_HEADERS
from fairhub.gateway.phone_labels import LABELS
from fairhub.gateway.public_page import View, not_found_page, render_page
from fairhub.limits import Limit, client_address
from fairhub.streams import NotDurableError

log = logging.getLogger(__name__)
UNCOUNTED = MetricCounter("fairhub_public_views_uncounted_total", "Page views Redis did not take")
VISITOR_COOKIE = "fh_visitor"
_YEAR = 365 * 24 * 3600
_REF = re.compile(r"[\w.:@-]{1,64}", re.ASCII)  # events.Ref: what an event may name
_MAX_POSITIONS = 1000  # one employer's list; the biggest fair has 2,300 over 80 employers
# Set by the page's own search form, chips and language link, and by the fair page's links:
# a phone already on FairHub's pages.
_ON_PAGE = ("q", "job_type", "lang", "from", "next")
# What a phone shows of a position.
_SHOWN_FIELDS = (
    "title", "job_type", "headcount", "description", "salary_min", "salary_max", "salary_text",
    "location",
)  # fmt: skip
_SHOWN = ", ".join(_SHOWN_FIELDS)
# Every visit reaches us, so every visit is counted.
_HEADERS = {**PAGE_HEADERS, "Cache-Control": "no-store"}


def public_base(request: web.Request) -> str:
    """Where phones reach us: the configured public URL, or the address this request used."""
    configured = request.app[keys.SETTINGS].public_url
    return configured.rstrip("/") if configured else f"{request.scheme}://{request.host}"


def page_url(request: web.Request, fair: str, kind: str, item_id: str) -> str:
    """The public page of an employer or position (kind: employers | positions)."""
    return f"{public_base(request)}/p/{fair}/{kind}/{quote(item_id, safe='')}"


def _search(request: web.Request) -> tuple[str, str]:
    """The search words, bounded and without NUL (Postgres text cannot hold it)."""
    q, job_type = (request.query.get(k, "").replace("\x00", "").strip() for k in ("q", "job_type"))
    return q[:100], job_type[:200]


async def load(request: web.Request) -> View:
    """The page's data, or 404 for an unknown or revoked employer or position."""
    fair, kind, item_id = fair_id(request), request.match_info["kind"], request.match_info["id"]
    if not _REF.fullmatch(item_id):
        raise NotFound(f"no {kind[:-1]} {item_id!r} in this fair", fields=["id"])
    q, job_type = _search(request)
    async with request.app[keys.DB].acquire() as conn:
        position = None
        employer_id = item_id
        if kind == "positions":
            row = await conn.fetchrow(
                f"SELECT id, employer_id, {_SHOWN} FROM positions"
                " WHERE fair_id = $1 AND id = $2 AND revoked_at IS NULL",
                fair,
                item_id,
            )
            if row is None:
                raise NotFound(f"no position {item_id!r} in this fair", fields=["id"])
            position = dict(row)
            employer_id = position["employer_id"]
        employer = await conn.fetchrow(
            "SELECT f.name AS fair_name, e.id, e.name, e.booth, e.industry"
            " FROM employers e JOIN fairs f ON f.id = e.fair_id"
            " WHERE e.fair_id = $1 AND e.id = $2 AND e.revoked_at IS NULL",
            fair,
            employer_id,
        )
        if employer is None:
            raise NotFound(f"no {kind[:-1]} {item_id!r} in this fair", fields=["id"])
        # Substring match (strpos), not LIKE: Chinese titles have no word boundaries, and a
        # query holding % or _ means those characters. One employer's rows are few. A seeker
        # types the job, the place ("浦东") or the pay in words ("面议").
        rows = await conn.fetch(
            f"SELECT id, {_SHOWN},"
            " ($3 = '' OR strpos(lower(title), lower($3)) > 0"
            " OR strpos(lower(coalesce(location, '')), lower($3)) > 0"
            " OR strpos(lower(coalesce(salary_text, '')), lower($3)) > 0) AS q_match,"
            " ($4 = '' OR job_type = $4) AS type_match"
            " FROM positions WHERE fair_id = $1 AND employer_id = $2 AND revoked_at IS NULL"
            " ORDER BY created_at, id LIMIT $5",
            fair,
            employer_id,
            q,
            job_type,
            _MAX_POSITIONS,
        )
    found = [dict(r) for r in rows]
    counts = Counter(r["job_type"] for r in found if r["q_match"])
    fields = ("id", *_SHOWN_FIELDS)
    return View(
        fair={"id": fair, "name": employer["fair_name"]},
        employer={k: employer[k] for k in ("id", "name", "booth", "industry")},
        position=position,
        positions=[{k: r[k] for k in fields} for r in found if r["q_match"] and r["type_match"]],
        options=[{"id": r["id"], "title": r["title"]} for r in found],
        job_types=[
            {"job_type": t, "count": counts[t]} for t in sorted({r["job_type"] for r in found})
        ],
        q=q,
        job_type=job_type,
        via_fair=request.query.get("from") == "fair",
    )


def visitor_of(request: web.Request) -> tuple[str, bool]:
    """The visitor's id from the cookie, or a new one (True: set the cookie)."""
    known = request.cookies.get(VISITOR_COOKIE, "")
    if _REF.fullmatch(known):
        return known, False
    return "v" + secrets.token_urlsafe(16), True


def _landing(request: web.Request) -> bool:
    """A visit is a GET that arrives (from the code); link previews send HEAD."""
    return request.method == "GET" and not any(k in request.query for k in _ON_PAGE)


async def count_landing(
    request: web.Request,
    fair: str,
    target: Literal["fair", "employer", "position"],
    visitor: str,
    target_id: str | None = None,
    employer_id: str | None = None,
) -> float | None:
    """Append a landing as a qr_scan; a page for the seeker beats a count Redis cannot take.

    None, or the seconds to wait when this address passed its limit of landings counted
    (then nothing is counted but the throttled try)."""
    if not _landing(request):
        return None
    settings = request.app[keys.SETTINGS]
    per_address = Limit(
        "landing-address",
        client_address(request),
        settings.page_landings_per_address,
        settings.page_landings_seconds,
    )
    try:
        wait = await request.app[keys.LIMITER].wait(fair, "landing", [per_address])
    except RedisError as exc:
        UNCOUNTED.inc()
        log.warning("page view of %s %s not counted: %s", target, target_id, exc)
        return None
    if wait is not None:
        return wait
    scan = QrScan(
        id=uuid.uuid4().hex,
        type="qr_scan",
        occurred_at=datetime.now(UTC),
        target=target,
        target_id=target_id,
        visitor_id=visitor,
    )
    body = scan.model_dump(mode="json", exclude_none=True)
    if employer_id is not None:
        body["employer_id"] = employer_id  # the worker counts a position's page for its employer
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    try:
        await request.app[keys.WRITER].append(fair, [(scan.id, payload)])
    except (NotDurableError, RedisError) as exc:
        UNCOUNTED.inc()
        log.warning("page view of %s %s not counted: %s", target, target_id, exc)
    return None


async def _count(request: web.Request, view: View, visitor: str) -> float | None:
    if view.position is not None:
        return await count_landing(
            request, view.fair["id"], "position", visitor, view.position["id"], view.employer["id"]
        )
    return await count_landing(request, view.fair["id"], "employer", visitor, view.employer["id"])


def remember_visitor(request: web.Request, response: web.StreamResponse, visitor: str) -> None:
    response.set_cookie(
        VISITOR_COOKIE,
        visitor,
        max_age=_YEAR,
        path="/p/",
        httponly=True,
        samesite="Lax",
        secure=request.secure,
    )


def phone_page(text: str, status: int = 200) -> web.Response:
    """A phone page with the strict headers, never cached: every visit reaches us."""
    return web.Response(
        text=text, status=status, content_type="text/html", charset="utf-8", headers=_HEADERS
    )


async def page(request: web.Request) -> web.Response:
    """The employer's (or position's) page, in Chinese or, with ?lang=en, English."""
    lang = "en" if request.query.get("lang") == "en" else "zh"
    try:
        view = await load(request)
    except NotFound:
        return phone_page(not_found_page(LABELS[lang], lang), status=404)
    visitor, new = visitor_of(request)
    wait = await _count(request, view, visitor)
    # Past the limit the person still sees the page; the status tells machines it was not
    # counted and when to come back.
    response = phone_page(
        render_page(view, LABELS[lang], lang), status=200 if wait is None else 429
    )
    if wait is not None:
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    if new:
        remember_visitor(request, response, visitor)
    return response


async def page_json(request: web.Request) -> web.Response:
    """The same page as data, for the fair's app; a landing counts as a visit all the same."""
    view = await load(request)
    visitor, new = visitor_of(request)
    wait = await _count(request, view, visitor)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise RateLimited(
            f"too many page visits from here: try again in {seconds} s",
            retry_after=seconds,
            extra={"limit": "landing"},
        )
    answer: dict[str, Any] = {
        "fair": view.fair,
        "employer": view.employer,
        "positions": view.positions,
        "job_types": view.job_types,
    }
    if view.position is not None:
        answer["position"] = view.position
    response = reply(answer)
    response.headers["Cache-Control"] = "no-store"
    if new:
        remember_visitor(request, response, visitor)
    return response


async def get_throttled(request: web.Request) -> web.Response:
    """The organizer's view of public traffic refused by a limit (none of it in the figures):
    tries by kind (new_viewer, live_join, question, landing, signup, code, resume)."""
    fair, principal = await fair_caller(request, "organizer")
    if principal.role == "admin":
        await require_fair(request.app, fair)
    counts = await request.app[keys.LIMITER].throttled(fair)
    return reply({"fair": fair, "throttled": counts, "total": sum(counts.values())})


def add_routes(app: web.Application) -> None:
    """Register the public pages; the id excludes dots so that .json is its own route.
    Also the organizer's count of what the limits on public traffic refused."""
    app.router.add_get("/v1/fairs/{fair}/throttled", get_throttled)
    base = "/p/{fair}/{kind:employers|positions}/{id:[^/.]+}"
    app.router.add_get(base + ".json", page_json)
    app.router.add_get(base, page)
