"""Résumés: a seeker sends a file to an employer, who lists and downloads what it was sent.

Files are kept once per content (sha256) however many employers get them. A résumé is counted
by the event that follows its row into the stream, with an id derived from the résumé's, so a
retried upload (same client `id`) finds its row and appends the same event again, which the
stream and the worker then count once.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import BaseModel, ConfigDict

from fairhub import keys, limits, sniff
from fairhub.auth import Principal
from fairhub.events import Badge, Channel, EventId, Ref, ResumeDownloaded, ResumeSubmitted
from fairhub.gateway import privacy
from fairhub.gateway.access import caller, fair_caller, fair_id
from fairhub.gateway.bodies import reply, validated
from fairhub.gateway.dealings import check_target, emit, listed_employer, page, seeker_of
from fairhub.gateway.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    TooLarge,
    Unauthorized,
    Unprocessable,
)

MAX_FIELD_BYTES = 2048  # a badge is at most 512 characters; ids at most 64
MAX_PARTS = 16
# Names the client chose for the same résumé id stay apart per fair and seeker.
_ID_SPACE = uuid.UUID("6f1d1c52-8f0e-4b8e-9a53-3f2b5c1e0a77")
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,5}$")


class ResumeForm(BaseModel):
    """The text parts of an upload; `id` is the client's idempotency key."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: EventId | None = None
    employer_id: Ref
    position_id: Ref | None = None
    channel: Channel = "online"
    session_id: Ref | None = None
    badge: Badge | None = None
    seeker_id: Ref | None = None


@dataclass
class Upload:
    fields: dict[str, str] = field(default_factory=dict)
    data: bytes | None = None
    filename: str = ""


async def _read_part(part: BodyPartReader, limit: int, name: str, error: type[ApiError]) -> bytes:
    """A part's bytes, refused as soon as they pass `limit` (the app's body limit is smaller).

    Read in chunks near the limit: aiohttp reads a chunk ahead to find the part's end, and a
    badge's part must not read far into the file after it (the badge is checked first)."""
    chunks, size = [], 0
    while chunk := await part.read_chunk(min(64 * 1024, 2 * limit)):
        size += len(chunk)
        if size > limit:
            raise error(f"{name} is larger than {limit} bytes", fields=[name])
        chunks.append(chunk)
    return b"".join(chunks)


async def read_upload(
    request: web.Request,
    max_bytes: int,
    text_fields: Collection[str] = ResumeForm.model_fields,
    before_file: Callable[[dict[str, str]], Awaitable[None]] | None = None,
) -> Upload:
    """The multipart body, streamed part by part with a limit per part: a `file` part and
    the `text_fields` named. `before_file` sees the text parts read so far before a byte of
    the file is read (it raises to refuse: the identity is checked before 10 MB arrive)."""
    if request.content_type != "multipart/form-data":
        raise BadRequest("send multipart/form-data", fields=["body"], code="not_multipart")
    upload = Upload()
    try:
        reader = await request.multipart()
        for _ in range(MAX_PARTS + 1):
            part = await reader.next()
            if part is None:
                return upload
            if not isinstance(part, BodyPartReader) or not part.name:
                raise Unprocessable("every part needs a name", fields=["body"])
            name = part.name
            if name in upload.fields or (name == "file" and upload.data is not None):
                raise Unprocessable(f"{name} was sent twice", fields=[name])
            if name == "file":
                if before_file is not None:
                    await before_file(upload.fields)
                upload.data = await _read_part(part, max_bytes, name, TooLarge)
                upload.filename = part.filename or ""
            elif name in text_fields:
                raw = await _read_part(part, MAX_FIELD_BYTES, name, Unprocessable)
                try:
                    upload.fields[name] = raw.decode()
                except UnicodeDecodeError:
                    raise Unprocessable(f"{name} is not UTF-8 text", fields=[name]) from None
            else:
                raise Unprocessable(f"unknown part {name!r}", fields=[name])
    except (ValueError, HttpProcessingError) as exc:
        why = exc.message if isinstance(exc, HttpProcessingError) else exc
        raise BadRequest(f"malformed multipart body: {why}", fields=["body"]) from None
    raise Unprocessable(f"at most {MAX_PARTS} parts", fields=["body"])


def _form(upload: Upload) -> ResumeForm:
    # An HTML form sends empty inputs as "": they mean "not given".
    values = {k: v for k, v in upload.fields.items() if v.strip()}
    return validated(ResumeForm, values)


async def check_session(conn: Any, fair: str, session: str, employer_id: str) -> None:
    """A résumé sent from a livestream names a session of this fair that shows the employer."""
    employers = await conn.fetchval(
        "SELECT employer_ids FROM live_sessions WHERE fair_id = $1 AND id = $2", fair, session
    )
    if employers is None:
        raise Unprocessable(f"no live session {session}", fields=["session_id"])
    if employer_id not in employers:
        raise Unprocessable("that employer is not in the live session", fields=["employer_id"])


def clean_filename(raw: str) -> str:
    """The last path segment without control characters: a name to show, never a path."""
    # Browsers send UTF-8 with %22 for quotes; aiohttp clients percent-encode the whole name.
    name = re.split(r"[/\\]", unquote(raw))[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    return name[:200] or "resume"


def disposition(filename: str, content_type: str) -> str:
    """An attachment header whose extension matches the bytes; RFC 5987 for Chinese names."""
    name = (_SUFFIX.sub("", filename) or "resume") + sniff.EXTENSIONS[content_type]
    ascii_name = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _no_identity() -> Unauthorized:
    return Unauthorized(
        "send the seeker's badge (a part before the file), or an organizer token with seeker_id",
        fields=["badge"],
    )


async def _principal(request: web.Request, fair: str) -> Principal | None:
    """A desk's organizer token, checked before reading a large body; None for a badge."""
    if "Authorization" not in request.headers:
        return None
    principal = await caller(request)
    if not principal.may_act_on(fair):
        raise Forbidden("this token belongs to another fair", fields=["Authorization"])
    if principal.role not in ("admin", "organizer"):
        raise Forbidden(
            "résumés are sent with the seeker's badge, or by the organizer's desk",
            fields=["Authorization"],
        )
    return principal


async def submit(request: web.Request) -> web.Response:
    """Store a résumé for an employer and count it; a retry with the same id is one résumé."""
    fair = fair_id(request)
    principal = await _principal(request, fair)
    app = request.app
    if principal is None and request.content_type != "multipart/form-data":
        raise _no_identity()  # no token, and no body that could carry a badge
    proven: list[str] = []

    async def identify(fields: dict[str, str]) -> None:
        """A badge sent without a token is proven before the file part is read."""
        if principal is None:
            badge = fields.get("badge", "").strip()
            if not badge:
                raise _no_identity()
            seeker = await seeker_of(app, fair, badge, None)
            await limits.check_resume_upload(request, fair, seeker)  # before the file is read
            proven.append(seeker)

    upload = await read_upload(request, app[keys.SETTINGS].resume_max_bytes, before_file=identify)
    form = _form(upload)
    if principal is None and form.badge is None:
        raise _no_identity()
    if proven and form.badge == upload.fields.get("badge", "").strip():
        seeker = proven[0]
    else:
        seeker = await seeker_of(app, fair, form.badge, form.seeker_id)
    data, kind = checked_file(upload)
    digest = hashlib.sha256(data).hexdigest()
    key = form.id or uuid.uuid4().hex
    resume_id = resume_id_for(fair, seeker, key)
    async with app[keys.DB].acquire() as conn, conn.transaction():
        await check_target(conn, fair, form.employer_id, form.position_id)
        if form.session_id is not None:
            await check_session(conn, fair, form.session_id, form.employer_id)
        await store_file(conn, digest, kind, data)
        row = await conn.fetchrow(
            "INSERT INTO resumes (id, fair_id, seeker_id, employer_id, position_id, channel,"
            " session_id, sha256, filename) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            " ON CONFLICT (id) DO NOTHING RETURNING *",
            resume_id,
            fair,
            seeker,
            form.employer_id,
            form.position_id,
            form.channel,
            form.session_id,
            digest,
            clean_filename(upload.filename),
        )
        created = row is not None
        if row is None:
            row = await conn.fetchrow("SELECT * FROM resumes WHERE id = $1", resume_id)
            if row["employer_id"] != form.employer_id or row["sha256"] != digest:
                raise Conflict("this id was used for another résumé", fields=["id"])
    await count_resume(app, fair, row)
    answer = {"id": resume_id, "sha256": digest, "content_type": kind, "size": len(data)}
    return reply(answer, status=201 if created else 200)


def resume_id_for(fair: str, seeker: str, key: str) -> str:
    """The résumé's id from the client's key: a retry names the same row."""
    return str(uuid.uuid5(_ID_SPACE, f"{fair}/{seeker}/{key}"))


def checked_file(upload: Upload) -> tuple[bytes, str]:
    """The uploaded file and its type read from its bytes, or 422 naming the file part."""
    if upload.data is None:
        raise Unprocessable("the file part is required", fields=["file"])
    kind = sniff.content_type(upload.data)
    if kind is None:
        raise Unprocessable(
            "the file is not a PDF, Word document, JPEG or PNG",
            fields=["file"],
            code="unsupported_type",
        )
    return upload.data, kind


async def store_file(conn: Any, digest: str, kind: str, data: bytes) -> None:
    """Keep a file once per content, however many employers get it."""
    await conn.execute(
        "INSERT INTO resume_files (sha256, content_type, size, content)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING",
        digest,
        kind,
        len(data),
        data,
    )


async def count_resume(app: web.Application, fair: str, row: Any) -> None:
    """Append the event that counts a résumé row; its id is the row's, so a retry counts once."""
    event = ResumeSubmitted(
        type="resume_submitted",
        id=f"resume:{row['id']}",
        occurred_at=row["created_at"],
        seeker_id=row["seeker_id"],
        employer_id=row["employer_id"],
        position_id=row["position_id"],
        channel=row["channel"],
        session_id=row["session_id"],
    )
    # The seeker was proven by the caller and every field of the event is the server's own.
    await emit(app, fair, Principal(role="organizer", fair_id=fair), event)


_LIST_SQL = """
SELECT r.id, r.seeker_id, s.name AS seeker_name, sc.name AS school, s.major, s.phone,
       r.employer_id, e.name AS employer_name, r.position_id, p.title AS position_title,
       r.channel, r.session_id, r.filename, f.content_type, f.size, r.sha256,
       r.created_at, r.downloaded_at, r.withdrawn_at
FROM resumes r
JOIN seekers s ON s.fair_id = r.fair_id AND s.id = r.seeker_id
LEFT JOIN schools sc ON sc.fair_id = s.fair_id AND sc.id = s.school_id
JOIN employers e ON e.fair_id = r.fair_id AND e.id = r.employer_id
LEFT JOIN positions p ON p.fair_id = r.fair_id AND p.id = r.position_id
JOIN resume_files f ON f.sha256 = r.sha256
"""


async def list_resumes(request: web.Request) -> web.Response:
    """An employer sees the résumés sent to it and not withdrawn; the organizer sees all."""
    fair, principal = await fair_caller(request, "organizer", "employer")
    employer = listed_employer(request, principal)
    hidden = ["r.withdrawn_at IS NULL"] if principal.role == "employer" else []
    await privacy.record(request, principal, fair, "resumes_listed", employer)
    return reply(await page(request, _LIST_SQL, "r", fair, employer, hidden))


def _may_read(principal: Principal, fair: str, employer_id: str) -> bool:
    if principal.role == "admin":
        return True
    if not principal.may_act_on(fair):
        return False
    return principal.role == "organizer" or (
        principal.role == "employer" and principal.subject_id == employer_id
    )


async def download(request: web.Request) -> web.Response:
    """The file, to its employer or the fair's organizer; to anyone else it does not exist."""
    principal = await caller(request)
    resume_id = request.match_info["id"]
    db = request.app[keys.DB]
    row = await db.fetchrow(
        "SELECT r.fair_id::text AS fair_id, r.seeker_id, r.employer_id, r.filename, r.sha256,"
        " r.withdrawn_at, f.content_type FROM resumes r"
        " JOIN resume_files f ON f.sha256 = r.sha256 WHERE r.id = $1",
        resume_id,
    )
    if row is None:  # a résumé past its fair's retention: 410 to those who could read it
        await privacy.raise_if_purged(request, principal, resume_id)
    if row is None or not _may_read(principal, row["fair_id"], row["employer_id"]):
        raise NotFound(f"no résumé {resume_id!r}", fields=["id"])
    if principal.role == "employer" and row["withdrawn_at"] is not None:
        raise NotFound(f"no résumé {resume_id!r}: the seeker withdrew it", fields=["id"])
    if principal.role == "employer":
        # Only the employer's own downloads count, as "the employer has read it" (API.md).
        # The event id is one per résumé, so a second download is the same event, counted
        # once: resumes_downloaded counts résumés downloaded, not clicks on the button.
        first = await db.fetchval(
            "UPDATE resumes SET downloaded_at = coalesce(downloaded_at, clock_timestamp())"
            " WHERE id = $1 RETURNING downloaded_at",
            resume_id,
        )
        event = ResumeDownloaded(
            type="resume_downloaded",
            id=f"download:{resume_id}",
            occurred_at=first,
            resume_id=resume_id,
            seeker_id=row["seeker_id"],
            employer_id=row["employer_id"],
        )
        await emit(request.app, row["fair_id"], principal, event)
    await privacy.record(request, principal, row["fair_id"], "resume_downloaded", resume_id)
    content = await db.fetchval("SELECT content FROM resume_files WHERE sha256 = $1", row["sha256"])
    headers = {
        "Content-Disposition": disposition(row["filename"], row["content_type"]),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    return web.Response(body=content, content_type=row["content_type"], headers=headers)


def add_routes(app: web.Application) -> None:
    """Register the résumé routes."""
    app.router.add_post("/v1/fairs/{fair}/resumes", submit)
    app.router.add_get("/v1/fairs/{fair}/resumes", list_resumes)
    app.router.add_get("/v1/resumes/{id}/file", download)
