"""Secrets and personal data: badge keys sealed at rest, rotation, résumé retention, audit log."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from support import Gateway

from fairhub import badges, masterkey
from fairhub.config import Settings
from fairhub.keyring import signing_key
from fairhub.masterkey import MasterKey, SecretKeyError


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
