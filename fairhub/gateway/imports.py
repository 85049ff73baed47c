"""POST /v1/fairs/{fair}/{employers|positions|seekers}:import: the registry from a spreadsheet.

The organizer uploads the CSV Excel wrote or the .xlsx workbook itself (raw body, or
multipart/form-data with a `file` part). Good rows are created with one bulk insert in one
transaction; bad rows come back as per-line errors. Employers get their tokens here, shown this
once; seekers get badge numbers. GET …:template.xlsx (or .csv) is the file to fill in.

Error texts are Chinese, naming columns by their Chinese headers; `?lang=en` answers English.
"""

# Chinese texts use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

import asyncpg
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from redis.exceptions import RedisError

from fairhub import csvimport, keys, registry, templates, xlsx
from fairhub.alliances import employer_member, link_member
from fairhub.auth import IssuedToken, issue, mirror
from fairhub.csvimport import CsvError, Kind, LineError
from fairhub.directory import SeekerCard
from fairhub.gateway.access import fair_caller
from fairhub.gateway.bodies import reply
from fairhub.gateway.errors import ApiError, BadRequest, Conflict, Unprocessable
from fairhub.import_texts import NOT_A_MEMBER, Lang, Problem, Said, header, lang_of
from fairhub.keyring import signing_key

log = logging.getLogger(__name__)

# A fair's registry is thousands of rows, not megabytes: this bounds memory per upload.
MAX_FILE_BYTES = 20 * 1024 * 1024


class TooLarge(ApiError):
    status, code = 413, "too_large"


def _too_large(lang: Lang) -> TooLarge:
    limit = MAX_FILE_BYTES // (1024 * 1024)
    said = Said(f"the file is larger than {limit} MB", f"文件超过 {limit} MB")
    return TooLarge(said.say(lang), fields=["file"])


async def _read_capped(
    read: Callable[[int], Awaitable[bytes]], total: int, lang: Lang
) -> tuple[bytes, int]:
    """Everything `read(n)` gives, counting against MAX_FILE_BYTES for the whole body."""
    chunks = []
    while chunk := await read(64 * 1024):
        total += len(chunk)
        if total > MAX_FILE_BYTES:
            raise _too_large(lang)
        chunks.append(chunk)
    return b"".join(chunks), total


async def read_upload(request: web.Request, lang: Lang = "zh") -> bytes:
    """The raw body, or a form's `file` part (else its first file); 413 past the limit."""
    if request.content_length is not None and request.content_length > MAX_FILE_BYTES:
        raise _too_large(lang)
    if request.content_type != "multipart/form-data":
        data, _ = await _read_capped(request.content.read, 0, lang)
        return data
    named: bytes | None = None
    other: bytes | None = None
    total = 0
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                nested = Said(
                    "nested multipart bodies are not supported", "不支持嵌套的 multipart 表单"
                )
                raise BadRequest(nested.say(lang), fields=["file"])
            data, total = await _read_capped(part.read_chunk, total, lang)
            if part.name == "file":
                named = data if named is None else named
            elif part.filename and other is None:
                other = data
    except (ValueError, HttpProcessingError) as exc:  # aiohttp's words for a malformed form
        why = exc.message if isinstance(exc, HttpProcessingError) else exc
        said = Said(f"the multipart body cannot be read: {why}", f"表单无法读取（{why}）")
        raise BadRequest(said.say(lang), fields=["file"]) from None
    found = named if named is not None else other
    if found is None:
        said = Said(
            "the form has no `file` part with the CSV or .xlsx",
            "表单中没有 `file` 部分（CSV 或 .xlsx 文件）",
        )
        raise BadRequest(said.say(lang), fields=["file"])
    return found


async def import_csv(request: web.Request) -> web.Response:
    """Create what the file holds that is valid, in one transaction; say what was not."""
    kind = cast(Kind, request.match_info["kind"])
    lang = lang_of(request.query.get("lang"))
    fair, _ = await fair_caller(request, "organizer")
    data = await read_upload(request, lang)
    try:
        sheet = await asyncio.to_thread(csvimport.read_sheet, data, kind, request.content_type)
    except CsvError as exc:
        raise Unprocessable(exc.text.say(lang), fields=exc.fields, code="invalid_csv") from None
    examples = [line for line, cells in sheet.rows if templates.is_example(kind, cells)]
    sheet.rows = [(line, cells) for line, cells in sheet.rows if line not in examples]
    answer: dict[str, Any] = {
        "kind": kind,
        "encoding": sheet.encoding,
        "header_line": sheet.header_line,
        "columns": sheet.columns,
        "ignored_columns": sheet.ignored_columns,
        "skipped_example_lines": examples,
    }
    app = request.app
    issued: list[IssuedToken] = []
    cards: list[SeekerCard] = []
    async with app[keys.DB].acquire() as conn, conn.transaction():
        names: dict[str, str] = {}
        live: set[str] = set()
        phones: set[str] = set()
        if kind == "seekers":
            await registry.lock_fair(conn, fair)  # a phone checked as free stays free
            raw = [cells["phone"] for _, cells in sheet.rows if cells.get("phone")]
            phones = set(await registry.phones_taken(conn, fair, raw))
        if kind in ("employers", "positions"):
            names = await registry.employers_by_name(conn, fair)
        if kind == "positions":
            live = await registry.live_employers(conn, fair, csvimport.employer_ids(sheet.rows))
        good, errors = await asyncio.to_thread(
            csvimport.validate,
            kind,
            sheet.rows,
            taken_names=set(names) if kind == "employers" else set(),
            employer_names=names,
            live_employer_ids=live,
            taken_phones=phones,
        )
        members: dict[int, str] = {}
        if kind == "employers":
            good, refused, members = await _as_alliance_takes_them(conn, fair, good)
            errors += refused
        lines = [line for line, _ in good]
        items = [item for _, item in good]
        if kind == "employers":
            employers = cast(list[registry.EmployerIn], items)
            ids = await _insert_employers(conn, fair, employers, lang)
            created = []
            for line, new_id, employer in zip(lines, ids, employers, strict=True):
                if line in members:
                    await link_member(conn, fair, new_id, members[line])
                token = await issue(conn, "employer", fair, new_id)
                issued.append(token)
                created.append(
                    {"line": line, "id": new_id, "name": employer.name, "token": token.token}
                )
            answer["employers"] = created
        elif kind == "positions":
            positions = cast(list[registry.PositionIn], items)
            ids = await registry.insert_positions(conn, fair, positions) if positions else []
            answer["items"] = [{"line": n, "id": i} for n, i in zip(lines, ids, strict=True)]
        else:
            seekers = cast(list[registry.SeekerIn], items)
            new = await _insert_seekers(conn, fair, seekers)
            cards = [SeekerCard(s.id, s.name, 1) for s in new]
            answer["items"] = [
                {"line": n, "id": s.id, "number": s.number} for n, s in zip(lines, new, strict=True)
            ]
            answer["numbers"] = {"from": new[0].number, "to": new[-1].number} if new else None
    await _after_commit(app, fair, issued, cards)
    bad = sorted(sheet.errors + errors, key=lambda e: e.line)
    return reply({"created": len(good), "errors": [_error(kind, e, lang) for e in bad], **answer})


async def _as_alliance_takes_them(
    conn: asyncpg.Connection, fair: str, good: list[tuple[int, Any]]
) -> tuple[list[tuple[int, Any]], list[LineError], dict[int, str]]:
    """Imported employers as the fair's alliance takes them, as one by one (POST …/employers):
    the rows kept, the rows a members-only fair refuses, and the member of each kept line."""
    if not await conn.fetchval("SELECT alliance_id IS NOT NULL FROM fairs WHERE id = $1", fair):
        return good, [], {}
    kept, refused, members = [], [], {}
    for line, employer in good:
        member, problem = await employer_member(conn, fair, employer.name, None)
        if problem is not None:
            said = Said(problem, NOT_A_MEMBER.format(name=employer.name))
            refused.append(LineError(line, [Problem(said, "name")]))
            continue
        if member is not None:
            members[line] = member
        kept.append((line, employer))
    return kept, refused, members


async def _insert_employers(
    conn: asyncpg.Connection, fair: str, items: list[registry.EmployerIn], lang: Lang
) -> list[str]:
    if not items:
        return []
    try:
        return await registry.insert_employers(conn, fair, items)
    except asyncpg.UniqueViolationError:
        # Another request created one of these names since the check: nothing was imported.
        said = Said(
            "an employer with one of these names was created meanwhile; nothing was imported,"
            " upload the file again",
            "刚有同名企业被创建，本次未导入任何数据：请重新上传文件",
        )
        raise Conflict(said.say(lang), fields=["name"]) from None


async def _insert_seekers(
    conn: asyncpg.Connection, fair: str, items: list[registry.SeekerIn]
) -> list[registry.NewSeeker]:
    if not items:
        return []
    key = await signing_key(conn, fair)
    return await registry.insert_seekers(conn, fair, items, key)


async def _after_commit(
    app: web.Application, fair: str, issued: list[IssuedToken], cards: list[SeekerCard]
) -> None:
    """Warm Redis; the import has committed, so a Redis outage must not turn it into an error."""
    for token in issued:
        await mirror(app[keys.REDIS], token.digest, token.principal)
    try:
        await app[keys.DIRECTORY].remember(fair, cards)
    except RedisError as exc:  # the directory fills misses from Postgres
        log.warning("imported seekers of fair %s not copied to Redis: %s", fair, exc)


def _error(kind: Kind, error: LineError, lang: Lang) -> dict[str, Any]:
    """A bad row: its line, what is wrong and the Chinese header of the first cell at fault."""
    field = error.field()
    return {
        "line": error.line,
        "error": error.text().say(lang),
        "field": header(kind, field) if field else None,
    }


async def get_template(request: web.Request) -> web.Response:
    """The file to fill in: Chinese headers the import knows and one example row."""
    kind = cast(Kind, request.match_info["kind"])
    await fair_caller(request, "organizer")
    kind_of_file = request.match_info["ext"]
    headers = {"Content-Disposition": f"attachment; filename={kind}-template.{kind_of_file}"}
    if kind_of_file == "xlsx":
        body = await asyncio.to_thread(templates.template_xlsx, kind)
        return web.Response(body=body, content_type=xlsx.CONTENT_TYPE, headers=headers)
    body = templates.template_csv(kind)
    return web.Response(body=body, content_type="text/csv", charset="utf-8", headers=headers)


def add_routes(app: web.Application) -> None:
    """Register the import routes (":import" never matches the registry's own routes)."""
    kinds = "{kind:employers|positions|seekers}"
    app.router.add_post(f"/v1/fairs/{{fair}}/{kinds}:import", import_csv)
    app.router.add_get(f"/v1/fairs/{{fair}}/{kinds}:template.{{ext:xlsx|csv}}", get_template)
