"""The seeker's own side, with the seeker token: my badge, my résumé, applying in one tap,
what became of each application, withdrawing one, and erasing my personal data.

An application is a résumé row sent to one employer (the same table the badge form and the
organizer's desk fill), with an id derived from the seeker, employer and position: a second
tap on the same position is the same application, and its event is counted once.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, model_validator

from fairhub import badges, keys, limits
from fairhub.auth import revoke
from fairhub.events import Ref
from fairhub.gateway.access import fair_id
from fairhub.gateway.bodies import read_model, reply
from fairhub.gateway.dealings import check_target
from fairhub.gateway.errors import Conflict, NotFound, Unauthorized, Unprocessable
from fairhub.gateway.resumes import (
    check_session,
    checked_file,
    clean_filename,
    count_resume,
    read_upload,
    resume_id_for,
    store_file,
)
from fairhub.gateway.signup import forget, seeker_id
from fairhub.keyring import signing_key
from fairhub.sql import query

_ME = """
SELECT s.id, s.number, s.name, s.badge_serial, sc.name AS school, s.major, s.phone,
       s.graduation_year, s.resume_sha256, s.resume_filename, s.resume_at, f.size,
       f.content_type, fa.name AS fair_name, fa.starts_at, fa.ends_at, fa.venue
FROM seekers AS s
JOIN fairs AS fa ON fa.id = s.fair_id
LEFT JOIN schools AS sc ON sc.fair_id = s.fair_id AND sc.id = s.school_id
LEFT JOIN resume_files AS f ON f.sha256 = s.resume_sha256
WHERE s.fair_id = $1 AND s.id = $2 AND s.revoked_at IS NULL
"""
# Files nobody refers to any more: neither an application nor a seeker's kept résumé.
_DROP_ORPHAN_FILES = """
DELETE FROM resume_files AS f
WHERE f.sha256 = ANY($1::text[])
  AND NOT EXISTS (SELECT 1 FROM resumes AS r WHERE r.sha256 = f.sha256)
  AND NOT EXISTS (SELECT 1 FROM seekers AS s WHERE s.resume_sha256 = f.sha256)
"""


class ApplicationIn(BaseModel):
    """One tap: a position (its employer implied), or an employer with no position named."""

    model_config = ConfigDict(extra="forbid")

    position_id: Ref | None = None
    employer_id: Ref | None = None
    session_id: Ref | None = None
    channel: Literal["online", "onsite"] | None = None  # a session makes it "live"

    @model_validator(mode="after")
    def _target(self) -> ApplicationIn:
        if self.position_id is None and self.employer_id is None:
            raise ValueError("send position_id or employer_id")
        return self


def status_of(application: dict[str, Any]) -> str:
    """sent -> viewed (downloaded) -> intent; withdrawn overrides them all."""
    if application["withdrawn_at"] is not None:
        return "withdrawn"
    if application["intent_at"] is not None:
        return "intent"
    return "viewed" if application["viewed_at"] is not None else "sent"


async def my_document(app: web.Application, fair: str, seeker: str) -> dict[str, Any]:
    """Everything the seeker's page shows: who, the signed badge, the résumé, applications."""
    async with app[keys.DB].acquire() as conn:
        me = await conn.fetchrow(_ME, fair, seeker)
        if me is None:
            raise Unauthorized(
                "this seeker is no longer registered",
                fields=["Authorization"],
                code="not_signed_in",
            )
        rows = await conn.fetch(query("seeker_applications"), fair, seeker)
        key = await signing_key(conn, fair)
    applications = [{**dict(r), "status": status_of(dict(r))} for r in rows]
    resume = None
    if me["resume_sha256"] is not None:
        resume = {
            "sha256": me["resume_sha256"],
            "size": me["size"],
            "content_type": me["content_type"],
            "filename": me["resume_filename"],
            "uploaded_at": me["resume_at"],
        }
    return {
        "fair": {
            "id": fair,
            "name": me["fair_name"],
            **{k: me[k] for k in ("starts_at", "ends_at", "venue")},
        },
        "seeker": {
            k: me[k]
            for k in ("id", "number", "name", "school", "major", "phone", "graduation_year")
        },
        "badge": badges.sign(key, fair, seeker, me["badge_serial"]),
        "resume": resume,
        "applications": applications,
    }


async def get_me(request: web.Request) -> web.Response:
    """The seeker's badge, résumé and applications."""
    fair = fair_id(request)
    document = await my_document(request.app, fair, await seeker_id(request, fair))
    response = reply(document)
    response.headers["Cache-Control"] = "private, no-store"
    return response


async def put_resume(request: web.Request) -> web.Response:
    """Keep one résumé for one-tap applications (same type and size rules as any résumé)."""
    fair = fair_id(request)
    seeker = await seeker_id(request, fair)  # before reading a large body
    await limits.check_resume_upload(request, fair, seeker)
    app = request.app
    upload = await read_upload(request, app[keys.SETTINGS].resume_max_bytes, text_fields=())
    data, kind = checked_file(upload)
    digest = hashlib.sha256(data).hexdigest()
    filename = clean_filename(upload.filename)
    async with app[keys.DB].acquire() as conn, conn.transaction():
        await store_file(conn, digest, kind, data)
        previous = await conn.fetchval(
            "SELECT resume_sha256 FROM seekers WHERE fair_id = $1 AND id = $2 FOR UPDATE",
            fair,
            seeker,
        )
        await conn.execute(
            "UPDATE seekers SET resume_sha256 = $3, resume_filename = $4,"
            " resume_at = clock_timestamp(), updated_at = clock_timestamp()"
            " WHERE fair_id = $1 AND id = $2",
            fair,
            seeker,
            digest,
            filename,
        )
        if previous and previous != digest:  # applications keep the file they sent
            await conn.execute(_DROP_ORPHAN_FILES, [previous])
    answer = {"sha256": digest, "size": len(data), "content_type": kind, "filename": filename}
    return reply(answer)


async def apply(request: web.Request) -> web.Response:
    """Send the kept résumé to a position or employer: 201 new, 200 the same application."""
    fair = fair_id(request)
    seeker = await seeker_id(request, fair)
    await limits.check_resume_upload(request, fair, seeker)  # each application sends the résumé
    body = await read_model(request, ApplicationIn)
    app = request.app
    async with app[keys.DB].acquire() as conn, conn.transaction():
        employer = body.employer_id
        if body.position_id is not None:
            owner = await conn.fetchval(
                "SELECT employer_id FROM positions WHERE fair_id = $1 AND id = $2"
                " AND revoked_at IS NULL",
                fair,
                body.position_id,
            )
            if owner is None or employer not in (None, owner):
                raise Unprocessable("no such position in this fair", fields=["position_id"])
            employer = owner
        assert employer is not None
        await check_target(conn, fair, employer, body.position_id)
        channel: str = body.channel or "online"
        if body.session_id is not None:
            await check_session(conn, fair, body.session_id, employer)
            channel = "live"
        kept = await conn.fetchrow(
            "SELECT resume_sha256, resume_filename FROM seekers"
            " WHERE fair_id = $1 AND id = $2 AND revoked_at IS NULL",
            fair,
            seeker,
        )
        if kept is None or kept["resume_sha256"] is None:
            raise Conflict(
                "upload your résumé first (PUT /p/{fair}/me/resume)",
                fields=["resume"],
                code="no_resume",
            )
        application = resume_id_for(fair, seeker, f"apply/{employer}/{body.position_id or ''}")
        row = await conn.fetchrow(
            query("apply"),
            application,
            fair,
            seeker,
            employer,
            body.position_id,
            channel,
            body.session_id,
            kept["resume_sha256"],
            kept["resume_filename"],
        )
    await count_resume(app, fair, row)
    return reply({"id": application, "status": "sent"}, status=201 if row["created"] else 200)


async def withdraw(request: web.Request) -> web.Response:
    """The employer no longer sees the application; the figures keep that it was sent."""
    fair = fair_id(request)
    seeker = await seeker_id(request, fair)
    application = request.match_info["id"]
    done = await request.app[keys.DB].fetchval(
        "UPDATE resumes SET withdrawn_at = coalesce(withdrawn_at, clock_timestamp())"
        " WHERE fair_id = $1 AND id = $2 AND seeker_id = $3 RETURNING id",
        fair,
        application,
        seeker,
    )
    if done is None:  # another seeker's application does not exist for this one
        raise NotFound(f"no application {application!r}", fields=["id"])
    return web.Response(status=204)


async def erase(request: web.Request) -> web.Response:
    """Erase the seeker's personal data and files; counters keep their anonymous totals."""
    fair = fair_id(request)
    seeker = await seeker_id(request, fair)
    app = request.app
    async with app[keys.DB].acquire() as conn, conn.transaction():
        files = await conn.fetch(
            "SELECT sha256 FROM resumes WHERE fair_id = $1 AND seeker_id = $2"
            " UNION SELECT resume_sha256 FROM seekers WHERE fair_id = $1 AND id = $2"
            " AND resume_sha256 IS NOT NULL",
            fair,
            seeker,
        )
        await conn.execute(query("erase_seeker"), fair, seeker)
        await conn.execute(_DROP_ORPHAN_FILES, [r["sha256"] for r in files])
        revoked = await revoke(conn, fair, seeker)
    await app[keys.AUTH].forget(revoked)
    await app[keys.DIRECTORY].reload(fair, [seeker])  # the gate refuses the badge from now on
    response = web.Response(status=204)
    forget(response, fair)
    return response


def add_routes(app: web.Application) -> None:
    """The seeker's own calls (the pages that use them are in seeker_pages)."""
    app.router.add_get("/p/{fair}/me.json", get_me)
    app.router.add_put("/p/{fair}/me/resume", put_resume)
    app.router.add_delete("/p/{fair}/me", erase)
    app.router.add_post("/p/{fair}/applications", apply)
    app.router.add_delete("/p/{fair}/applications/{id}", withdraw)
