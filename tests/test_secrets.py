"""Secrets and personal data: badge keys sealed at rest, rotation, résumé retention, audit log."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from pydantic import SecretStr
from support import DAY, Gateway, WorkerTask, eventually, totals

from fairhub import badges, masterkey, retention
from fairhub.config import Settings
from fairhub.db import open_pool
from fairhub.keyring import signing_key
from fairhub.masterkey import MasterKey, SecretKeyError
from fairhub.retention import Purge, purge_expired


async def _key_row(db: asyncpg.Connection, fair: str) -> Any:
    return await db.fetchrow(
        "SELECT kid, private_key, public_key, key_nonce, sealed_by FROM fair_keys"
        " WHERE fair_id = $1",
        fair,
    )


async def _checkin(gateway: Gateway, fair: str, token: str, badge: str) -> str:
    body = {"id": f"scan-{uuid.uuid4().hex[:12]}", "badge": badge}
    status, answer = await gateway.request("POST", f"/v1/fairs/{fair}/checkins", token, json=body)
    assert status == 200, answer
    return str(answer["verdict"])


async def test_keys_are_sealed_at_rest_and_badges_still_verify(
    gateway: Gateway, settings: Settings, db: asyncpg.Connection
) -> None:
    fair, token = await gateway.create_fair()
    seeker = await gateway.create(fair, token, "seekers", name="张三")
    row = await _key_row(db, fair)
    master = masterkey.load(settings)
    assert row["sealed_by"] == master.fingerprint
    assert row["key_nonce"] is not None and len(row["key_nonce"]) == 12
    # The raw column is a ciphertext (32-byte seed + 16-byte tag), not the seed.
    sealed = bytes(row["private_key"])
    assert len(sealed) == 48
    async with db.transaction():
        key = await signing_key(db, fair, master)
    assert key.private_key not in sealed and sealed[:32] != key.private_key
    # The opened key is the one whose public half verifies the badges it signed.
    claims = badges.verify(seeker["badge"], {key.kid: bytes(row["public_key"])})
    assert claims.seeker_id == seeker["id"]
    assert await _checkin(gateway, fair, token, seeker["badge"]) == "admitted"
    # A badge signed with the opened key verifies at the gate like any other.
    again = badges.sign(key, fair, seeker["id"], 1)
    assert await _checkin(gateway, fair, token, again) == "reentry"


async def test_a_wrong_master_key_fails_clearly(
    gateway: Gateway, settings: Settings, db: asyncpg.Connection
) -> None:
    fair, _ = await gateway.create_fair()
    right = masterkey.load(settings)
    wrong = MasterKey.parse(masterkey.generate())
    with pytest.raises(SecretKeyError) as failed:
        await signing_key(db, fair, wrong)
    message = str(failed.value)
    assert right.fingerprint in message and wrong.fingerprint in message
    assert "FAIRHUB_SECRET_KEY" in message
    # A sealed key moved onto another fair's row does not open, even under the right key.
    row = await _key_row(db, fair)
    with pytest.raises(SecretKeyError, match="does not open"):
        right.unseal(
            bytes(row["private_key"]), bytes(row["key_nonce"]), str(uuid.uuid4()), row["kid"],
            row["sealed_by"],
        )  # fmt: skip
    with pytest.raises(SecretKeyError, match="URL-safe base64"):
        MasterKey.parse("too-short")
    # A gateway started with another key answers a clear 503 where it needs the fair's key.
    other = settings.model_copy(update={"secret_key": SecretStr(masterkey.generate())})
    async with Gateway.running(other) as misconfigured:
        status, body = await misconfigured.request(
            "POST", f"/v1/fairs/{fair}/seekers", json={"name": "王五"}
        )
        assert (status, body["error"]) == (503, "secret_key_mismatch"), body
        assert "FAIRHUB_SECRET_KEY" in body["detail"] and right.fingerprint not in body["detail"]


async def test_plaintext_keys_are_sealed_at_start(
    gateway: Gateway, settings: Settings, db: asyncpg.Connection
) -> None:
    fair, token = await gateway.create_fair()
    seeker = await gateway.create(fair, token, "seekers", name="李四")
    master = masterkey.load(settings)
    key = await signing_key(db, fair, master)
    # As written before migration 0005: the seed itself in the column.
    await db.execute(
        "UPDATE fair_keys SET private_key = $2, key_nonce = NULL, sealed_by = NULL"
        " WHERE fair_id = $1",
        fair,
        key.private_key,
    )
    async with Gateway.running(settings) as restarted:
        row = await _key_row(db, fair)
        assert row["key_nonce"] is not None and row["sealed_by"] == master.fingerprint
        assert bytes(row["private_key"]) != key.private_key
        assert await signing_key(db, fair, master) == key
        assert await _checkin(restarted, fair, token, seeker["badge"]) == "admitted"
        # New badges are still signed with the same (now sealed) key.
        status, body = await restarted.request(
            "POST", f"/v1/fairs/{fair}/seekers", token, json={"name": "王五"}
        )
        assert status == 201, body
        assert badges.verify(body["badge"], {key.kid: key.public_key}).seeker_id == body["id"]


def _fairhub(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FAIRHUB_")}
    clean.update(
        FAIRHUB_DATABASE_URL=str(settings.database_url),
        FAIRHUB_REDIS_URL=str(settings.redis_url),
        FAIRHUB_DATA_DIR=str(settings.data_dir),
        FAIRHUB_LOG_LEVEL="WARNING",
        **env,
    )
    return subprocess.run(
        [sys.executable, "-m", "fairhub", *args],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_rotate_secret_reseals_under_the_new_key(
    gateway: Gateway, settings: Settings, db: asyncpg.Connection
) -> None:
    fair, token = await gateway.create_fair()
    seeker = await gateway.create(fair, token, "seekers", name="赵六")
    old = masterkey.load(settings)
    before = await signing_key(db, fair, old)
    done = _fairhub(settings, "rotate-secret")
    assert done.returncode == 0, done.stderr
    assert "re-sealed" in done.stdout and "restart the gateways" in done.stdout
    new = masterkey.load(settings)  # the data dir's key file now holds the new key
    assert new.fingerprint != old.fingerprint
    assert (await _key_row(db, fair))["sealed_by"] == new.fingerprint
    assert await signing_key(db, fair, new) == before
    with pytest.raises(SecretKeyError):
        await signing_key(db, fair, old)
    # A gateway started with the new key still admits the badges printed before.
    async with Gateway.running(settings) as restarted:
        assert await _checkin(restarted, fair, token, seeker["badge"]) == "admitted"

    # With the key given by the environment, the new one comes from a file.
    new_file = Path(settings.data_dir, "next_key")
    new_file.write_text(masterkey.generate())
    current = (settings.data_dir / masterkey.KEY_FILE).read_text().strip()
    done = _fairhub(
        settings, "rotate-secret", "--new-key-file", str(new_file), FAIRHUB_SECRET_KEY=current
    )
    assert done.returncode == 0, done.stderr
    latest = MasterKey.parse(new_file.read_text())
    assert await signing_key(db, fair, latest) == before


def test_serve_refuses_to_start_without_a_master_key(settings: Settings) -> None:
    done = _fairhub(settings, "serve")
    assert done.returncode != 0
    assert "FAIRHUB_SECRET_KEY is not set" in done.stderr
    done = _fairhub(settings, "rotate-secret", "--generate")
    assert done.returncode == 0 and MasterKey.parse(done.stdout.strip())


# Résumé retention ------------------------------------------------------------------------


def _pdf() -> bytes:
    """A résumé of its own: files are shared by content, across fairs and tests."""
    return b"%PDF-1.7\n" + f"resume {uuid.uuid4()} ".encode() * 20


async def _send(gateway: Gateway, fair: str, badge: str, employer: str, data: bytes) -> str:
    body = aiohttp.FormData(quote_fields=False)
    body.add_field("badge", badge)
    body.add_field("employer_id", employer)
    body.add_field("file", io.BytesIO(data), filename="张三.pdf", content_type="application/pdf")
    status, answer = await gateway.request("POST", f"/v1/fairs/{fair}/resumes", None, data=body)
    assert status == 201, answer
    return str(answer["id"])


async def _people(gateway: Gateway, fair: str, token: str) -> tuple[dict[str, Any], ...]:
    a = await gateway.create(fair, token, "employers", name="华为")
    b = await gateway.create(fair, token, "employers", name="腾讯")
    seeker = await gateway.create(fair, token, "seekers", name="张三", phone="13800000001")
    return a, b, seeker


def _figures(stats: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stats.items() if k != "as_of"}


async def test_retention_purges_files_and_keeps_figures(
    gateway: Gateway, worker: WorkerTask, settings: Settings, db: asyncpg.Connection
) -> None:
    fair, token = await gateway.create_fair()
    a, b, seeker = await _people(gateway, fair, token)
    data, kept = _pdf(), _pdf()
    resume = await _send(gateway, fair, seeker["badge"], a["id"], data)
    status, _ = await gateway.request("GET", f"/v1/resumes/{resume}/file", a["token"])
    assert status == 200
    # The seeker's résumé kept for one-tap applications goes too.
    digest, kept_digest = hashlib.sha256(data).hexdigest(), hashlib.sha256(kept).hexdigest()
    await db.execute(
        "INSERT INTO resume_files (sha256, content_type, size, content)"
        " VALUES ($1, 'application/pdf', $2, $3)",
        kept_digest,
        len(kept),
        kept,
    )
    await db.execute(
        "UPDATE seekers SET resume_sha256 = $3, resume_filename = 'cv.pdf', resume_at = now()"
        " WHERE fair_id = $1 AND id = $2",
        fair,
        seeker["id"],
        kept_digest,
    )
    # The same file sent in another fair, still within its retention, must stay.
    other, other_token = await gateway.create_fair("秋季招聘会")
    oa, _, other_seeker = await _people(gateway, other, other_token)
    other_resume = await _send(gateway, other, other_seeker["badge"], oa["id"], data)

    async def counted() -> bool:
        figures = totals(await gateway.stats(fair, token))
        return figures["resumes_downloaded"] == (1, 1)

    await eventually(counted)
    before = _figures(await gateway.stats(fair, token))
    assert before["totals"]["resumes_submitted"] == {"total": 1, "unique": 1}

    status, body = await gateway.request(
        "PATCH", f"/v1/fairs/{fair}", token, json={"resume_retention_days": None}
    )
    assert (status, body["fields"]) == (422, ["resume_retention_days"]), body
    status, body = await gateway.request(
        "PATCH", f"/v1/fairs/{fair}", token, json={"resume_retention_days": 2}
    )
    assert (status, body["resume_retention_days"]) == (200, 2), body

    async with open_pool(settings) as pool:
        # A day after the fair ended: within its two days, nothing goes.
        assert await purge_expired(pool, DAY + timedelta(days=1)) == Purge(0, 0, 0, 0)
        done = await purge_expired(pool, DAY + timedelta(days=3))
        assert done is not None and (done.resumes, done.kept, done.files) == (1, 1, 1)
        assert done.bytes == len(kept)  # the shared file stayed; the kept one went
        assert await purge_expired(pool, DAY + timedelta(days=3)) == Purge(0, 0, 0, 0)

    row = await db.fetchrow("SELECT sha256, filename, purged_at FROM resumes WHERE id = $1", resume)
    assert (row["sha256"], row["filename"]) == (None, "") and row["purged_at"] is not None
    gone = "SELECT count(*) FROM resume_files WHERE sha256 = $1"
    assert (await db.fetchval(gone, kept_digest), await db.fetchval(gone, digest)) == (0, 1)
    for who in (a["token"], token):
        status, body = await gateway.request("GET", f"/v1/resumes/{resume}/file", who)
        assert (status, body["error"]) == (410, "purged"), body
        assert "2 days after it ends" in body["detail"]
    # To anyone who could not read it, it still does not exist.
    status, body = await gateway.request("GET", f"/v1/resumes/{resume}/file", b["token"])
    assert status == 404, body
    status, _ = await gateway.request("GET", f"/v1/resumes/{other_resume}/file", other_token)
    assert status == 200
    # The figures are as they were.
    assert _figures(await gateway.stats(fair, token)) == before
    left = "SELECT resume_sha256 FROM seekers WHERE fair_id = $1 AND id = $2"
    assert await db.fetchval(left, fair, seeker["id"]) is None


async def test_the_worker_purges_on_its_own(
    gateway: Gateway, settings: Settings, db: asyncpg.Connection
) -> None:
    day = {"starts_at": DAY.isoformat(), "ends_at": (DAY + timedelta(hours=8)).isoformat()}
    body = {"name": "当日清理", "kind": "onsite", "resume_retention_days": 0, **day}
    status, made = await gateway.request("POST", "/v1/fairs", json=body)
    assert status == 201, made
    fair, token = made["id"], made["organizer_token"]
    status, shown = await gateway.request("GET", f"/v1/fairs/{fair}", token)
    assert shown["resume_retention_days"] == 0
    a, _, seeker = await _people(gateway, fair, token)
    resume = await _send(gateway, fair, seeker["badge"], a["id"], _pdf())
    fast = settings.model_copy(update={"retention_interval_seconds": 0.2})
    stop = asyncio.Event()

    async def purged() -> bool:
        found = await db.fetchval("SELECT purged_at FROM resumes WHERE id = $1", resume)
        return found is not None

    async with open_pool(fast) as pool, retention.purging(fast, pool, stop):
        await eventually(purged, timeout=20)
    status, _ = await gateway.request("GET", f"/v1/resumes/{resume}/file", a["token"])
    assert status == 410


# The audit log ---------------------------------------------------------------------------


async def test_personal_data_reads_are_in_the_audit_log(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    a, _, seeker = await _people(gateway, fair, token)
    resume = await _send(gateway, fair, seeker["badge"], a["id"], _pdf())
    reads = [
        ("GET", f"/v1/resumes/{resume}/file", a["token"]),
        ("GET", f"/v1/fairs/{fair}/resumes", a["token"]),
        ("GET", f"/v1/fairs/{fair}/resumes", token),
        ("GET", f"/v1/fairs/{fair}/seekers", token),
        ("GET", f"/v1/fairs/{fair}/seekers/{seeker['id']}", token),
        ("GET", f"/v1/fairs/{fair}/leads", a["token"]),
        ("GET", f"/v1/fairs/{fair}/intents", a["token"]),
    ]
    for method, path, who in reads:
        status, body = await gateway.request(method, path, who)
        assert status == 200, (path, body)
    sheet = f"/v1/fairs/{fair}/badges.html?from=1&to=50&access_token={token}"
    assert (await gateway.request("GET", sheet, None))[0] == 200
    # Reading other things (the fair, its employers) is not a personal-data read.
    for path in (f"/v1/fairs/{fair}", f"/v1/fairs/{fair}/employers"):
        assert (await gateway.request("GET", path, token))[0] == 200

    status, log = await gateway.request("GET", f"/v1/fairs/{fair}/audit", token)
    assert status == 200, log
    assert log["next"] is None
    actions = [item["action"] for item in log["items"]]
    assert actions == [
        "badges_printed",
        "intents_listed",
        "leads_listed",
        "seeker_read",
        "seekers_listed",
        "resumes_listed",
        "resumes_listed",
        "resume_downloaded",
    ]
    download = log["items"][-1]
    assert download["subject"] == resume
    assert (download["actor_role"], download["actor_id"]) == ("employer", a["id"])
    assert download["token_ref"] == hashlib.sha256(a["token"].encode()).hexdigest()[:16]
    assert download["address"] == "127.0.0.1" and download["at"]
    printed = log["items"][0]
    assert (printed["subject"], printed["actor_role"]) == ("1-50", "organizer")
    assert printed["token_ref"] == hashlib.sha256(token.encode()).hexdigest()[:16]
    organizer_read = log["items"][3]
    assert (organizer_read["actor_role"], organizer_read["subject"]) == ("organizer", seeker["id"])
    assert organizer_read["token_ref"] == hashlib.sha256(token.encode()).hexdigest()[:16]
    assert a["token"] not in str(log) and token not in str(log)

    # Pages, newest first, and a filter by action.
    seen, cursor = [], ""
    while True:
        status, page = await gateway.request(
            "GET", f"/v1/fairs/{fair}/audit?limit=3{cursor}", token
        )
        assert status == 200 and len(page["items"]) <= 3
        seen += [item["id"] for item in page["items"]]
        if page["next"] is None:
            break
        cursor = f"&before={page['next']}"
    assert seen == [item["id"] for item in log["items"]]
    status, only = await gateway.request(
        "GET", f"/v1/fairs/{fair}/audit?action=resume_downloaded", token
    )
    assert [item["id"] for item in only["items"]] == [download["id"]]

    # Only the organizer (or the admin) reads it; bad parameters are named.
    assert (await gateway.request("GET", f"/v1/fairs/{fair}/audit", a["token"]))[0] == 403
    assert (await gateway.request("GET", f"/v1/fairs/{fair}/audit"))[0] == 200
    _, other_token = await gateway.create_fair()
    assert (await gateway.request("GET", f"/v1/fairs/{fair}/audit", other_token))[0] == 403
    for query, field in (("before=x", "before"), ("before=99999999999999999999", "before"),
                         ("action=nope", "action"), ("limit=0", "limit")):  # fmt: skip
        status, body = await gateway.request("GET", f"/v1/fairs/{fair}/audit?{query}", token)
        assert (status, body["fields"]) == (422, [field]), (query, body)


def test_the_dev_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", secret_key=None)
    with pytest.raises(SecretKeyError, match="FAIRHUB_SECRET_KEY is not set"):
        masterkey.load(settings)
    made = masterkey.load(settings, create=True)
    path = masterkey.key_file(settings)
    assert path.stat().st_mode & 0o777 == 0o600
    assert masterkey.load(settings, create=True) == made == masterkey.load(settings)
    # The environment's key wins over the file's.
    given = masterkey.generate()
    chosen = masterkey.load(settings.model_copy(update={"secret_key": SecretStr(given)}))
    assert chosen == MasterKey.parse(given) != made
