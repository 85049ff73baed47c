"""Seekers and employers dealing with each other: résumés, downloads, intents, booth scans.

Résumés are sent the way the phone page sends them: multipart with the seeker's badge and a
client id (a retry with that id is the same résumé). Employers download what they were sent
with their own token (a second download of a résumé is not a second one), sign preliminary
intents, and scan badges at their booths. A few calls that must be refused are made too: a
forged badge sending a résumé, an employer asking for a résumé sent to another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import aiohttp

from fairhub.simulate.build import Employer, Seeker
from fairhub.simulate.context import Context, Resume
from fairhub.simulate.day import Action, Step

RESUMES, DOWNLOADS, INTENTS, BOOTHS = "résumés sent", "résumés downloaded", "intents", "booth scans"
PER_SENDER: tuple[tuple[int, float], ...] = ((1, 0.55), (2, 0.3), (3, 0.15))


def resume_file(seeker: Seeker) -> tuple[bytes, str, str]:
    """A small file of the seeker's own (one stored file per seeker, however many employers)."""
    text = f"简历 {seeker.name} {seeker.school} {seeker.id}\n".encode() * 40
    if int(hashlib.sha256(seeker.id.encode()).hexdigest(), 16) % 10 == 0:
        return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + text, f"{seeker.name}简历.jpg", "image/jpeg"
    return b"%PDF-1.4\n" + text + b"%%EOF\n", f"{seeker.name}的简历.pdf", "application/pdf"


def send_resume(ctx: Context, resume: Resume, after: Sequence[Step] = ()) -> Step:
    """The step that sends a résumé (and, now and then, sends it again with the same id)."""
    retry = ctx.chance(ctx.profile.retry_share)
    data, filename, content_type = resume_file(resume.seeker)
    fields = {
        "id": f"cv-{resume.seq:07d}",
        "badge": resume.seeker.badge,
        "employer_id": resume.employer.id,
        "channel": resume.channel,
    }
    if resume.position is not None:
        fields["position_id"] = resume.position.id
    if resume.session_id is not None:
        fields["session_id"] = resume.session_id

    def form() -> aiohttp.FormData:
        body = aiohttp.FormData(quote_fields=False)
        for name, value in fields.items():
            body.add_field(name, value)
        body.add_field("file", data, filename=filename, content_type=content_type)
        return body

    async def send() -> None:
        for again in (False, True) if retry else (False,):
            status, answer = await ctx.api.call(
                "POST", ctx.path("resumes"), None, form=form, expect=(200, 201)
            )
            if again and (status != 200 or answer["id"] != resume.server_id):
                ctx.ledger.anomaly(f"résumé {fields['id']} sent again became {answer['id']}")
            resume.server_id = resume.server_id or str(answer["id"])
            ctx.ledger.add(
                "resumes_submitted",
                resume.server_id,
                f"s:{resume.seeker.id}",
                [
                    f"resumes_by_channel.{resume.channel}",
                    f"by_employer.{resume.employer.name}.resumes_submitted",
                    *resume.extra,
                ],
            )

    step = ctx.day.add(resume.at, RESUMES, send, after)
    resume.step = step
    ctx.resumes.append(resume)
    return step


def plan_resumes(ctx: Context) -> None:
    """Senders at the fair send from the booth page after they come in; others from home."""
    rng, profile = ctx.rng, ctx.profile
    online = list(ctx.fair.online)
    at_fair = rng.sample(
        ctx.fair.at_gate, min(len(ctx.fair.at_gate), profile.senders - len(online))
    )
    sizes = [size for size, _ in PER_SENDER]
    weights = [weight for _, weight in PER_SENDER]
    for seeker in [*at_fair, *online]:
        start = ctx.arrivals.get(seeker.id)
        channel = "online" if start is None else "onsite"
        count = rng.choices(sizes, weights)[0]
        for employer in rng.sample(ctx.fair.employers, min(count, len(ctx.fair.employers))):
            position = (
                rng.choice(employer.positions)
                if employer.positions and rng.random() < 0.7
                else None
            )
            at = rng.uniform(start if start is not None else 0.0, 0.97)
            send_resume(ctx, Resume(len(ctx.resumes), seeker, employer, position, channel, at))
    if ctx.fair.at_gate:
        ctx.day.add(0.5, RESUMES, _refused(ctx))


def _refused(ctx: Context) -> Action:
    seeker = ctx.fair.at_gate[0]
    employer = ctx.fair.employers[0]
    forged = seeker.badge[:-3] + ("AAA" if seeker.badge[-3:] != "AAA" else "BBB")

    def form() -> aiohttp.FormData:
        body = aiohttp.FormData(quote_fields=False)
        body.add_field("badge", forged)
        body.add_field("employer_id", employer.id)
        body.add_field(
            "file", b"%PDF-1.4\nforged\n", filename="x.pdf", content_type="application/pdf"
        )
        return body

    async def refused() -> None:
        await ctx.api.call("POST", ctx.path("resumes"), None, form=form, expect=(401,))

    return refused


def plan_downloads(ctx: Context) -> None:
    """Employers download some of what they were sent, a few twice, later in the day."""
    rng = ctx.rng
    chosen = rng.sample(ctx.resumes, min(ctx.profile.downloads, len(ctx.resumes)))
    for n, resume in enumerate(chosen):
        assert resume.step is not None
        at = rng.uniform(resume.at, 1.0)
        step = ctx.day.add(at, DOWNLOADS, _download(ctx, resume), (resume.step,))
        if rng.random() < 0.15:
            ctx.day.add(rng.uniform(at, 1.0), DOWNLOADS, _download(ctx, resume), (step,))
        if n == 0 and len(ctx.fair.employers) > 1:
            ctx.day.add(at, DOWNLOADS, _not_theirs(ctx, resume), (resume.step,))


def _download(ctx: Context, resume: Resume) -> Action:
    async def download() -> None:
        if resume.server_id is None:
            return  # its sending failed, and was counted as a failure
        data = await ctx.api.raw(f"/v1/resumes/{resume.server_id}/file", resume.employer.token)
        if data != resume_file(resume.seeker)[0]:
            ctx.ledger.anomaly(f"résumé {resume.server_id} came back with other bytes")
        ctx.ledger.add(
            "resumes_downloaded",
            resume.server_id,
            f"s:{resume.seeker.id}",
            [f"by_employer.{resume.employer.name}.resumes_downloaded"],
        )

    return download


def _not_theirs(ctx: Context, resume: Resume) -> Action:
    other = next(e for e in ctx.fair.employers if e is not resume.employer)

    async def peek() -> None:
        if resume.server_id is not None:
            path = f"/v1/resumes/{resume.server_id}/file"
            await ctx.api.call("GET", path, other.token, expect=(404,))

    return peek


def plan_intents(ctx: Context) -> None:
    """Employers sign intents with seekers who sent them a résumé."""
    rng = ctx.rng
    chosen = rng.sample(ctx.resumes, min(ctx.profile.intents, len(ctx.resumes)))
    for n, resume in enumerate(chosen):
        assert resume.step is not None
        intent_id = f"intent-{n:06d}"
        retry = ctx.chance(ctx.profile.retry_share)
        ctx.day.add(
            rng.uniform(resume.at, 1.0),
            INTENTS,
            _intent(ctx, resume, intent_id, retry),
            (resume.step,),
        )


def _intent(ctx: Context, resume: Resume, intent_id: str, retry: bool) -> Action:
    body = {"id": intent_id, "seeker_id": resume.seeker.id}
    if resume.position is not None:
        body["position_id"] = resume.position.id

    async def sign() -> None:
        for _ in range(2 if retry else 1):
            _, answer = await ctx.api.call(
                "POST", ctx.path("intents"), resume.employer.token, json_body=body
            )
            if answer["id"] != intent_id:
                ctx.ledger.anomaly(f"intent {intent_id} answered as {answer['id']}")
            ctx.ledger.add(
                "intents",
                intent_id,
                f"s:{resume.seeker.id}",
                [f"by_employer.{resume.employer.name}.intents"],
            )

    return sign


def plan_booths(ctx: Context) -> None:
    """Employers scan the badges of people who stop at their booth (leads)."""
    rng, people = ctx.rng, ctx.fair.at_gate
    if not people:
        return
    for n in range(ctx.profile.booth_scans):
        seeker, employer = rng.choice(people), rng.choice(ctx.fair.employers)
        at = rng.uniform(ctx.arrivals.get(seeker.id, 0.0), 0.99)
        # The booth's scanner stamps the scan, so it lands in its minute of the day.
        moment = ctx.clock.moment(at).isoformat()
        body = {"id": f"lead-{n:07d}", "badge": seeker.badge, "occurred_at": moment}
        retry = ctx.chance(ctx.profile.retry_share)
        minute = ctx.clock.minute(at)
        ctx.day.add(at, BOOTHS, _lead(ctx, body, seeker, employer, retry, minute))


def _lead(
    ctx: Context,
    body: dict[str, str],
    seeker: Seeker,
    employer: Employer,
    retry: bool,
    minute: str,
) -> Action:
    async def scan() -> None:
        for _ in range(2 if retry else 1):
            await ctx.api.call("POST", ctx.path("leads"), employer.token, json_body=body)
            ctx.ledger.add(
                "booth_visits",
                body["id"],
                f"s:{seeker.id}",
                [f"by_employer.{employer.name}.booth_visits", f"per_minute.{minute}.booth_visits"],
            )

    return scan
