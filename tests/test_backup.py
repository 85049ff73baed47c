"""`fairhub backup` and `fairhub restore`: restored into a fresh data dir, the same figures.

The backup is taken while part of the fair's events are still waiting in the stream, uncounted:
they must be counted after the restore, once, like those Postgres had counted already.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from support import Gateway, WorkerTask, event, eventually, make_settings, totals

from fairhub import masterkey
from fairhub.config import Settings
from fairhub.embedded import EmbeddedPostgres, EmbeddedRedis


def _fairhub(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FAIRHUB_")}
    clean.update(FAIRHUB_DATA_DIR=str(data_dir), FAIRHUB_LOG_LEVEL="WARNING", **env)
    return subprocess.run(
        [sys.executable, "-m", "fairhub", *args],
        env=clean,
        capture_output=True,
        text=True,
        timeout=150,
    )


def _figures(stats: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stats.items() if k != "as_of"}


class Embedded:
    """The fresh data dir's servers, started by the test to look at what was restored."""

    def __init__(self, data_dir: Path) -> None:
        self.postgres = EmbeddedPostgres(data_dir / "postgres")
        self.redis = EmbeddedRedis(data_dir / "redis")

    def __enter__(self) -> Embedded:
        self.postgres.start()
        self.redis.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.redis.stop()
        self.postgres.stop()


async def test_backup_then_restore_into_a_fresh_data_dir(
    gateway: Gateway, settings: Settings, tmp_path: Path
) -> None:
    fair, token = await gateway.create_fair()
    employer = await gateway.create(fair, token, "employers", name="华为")
    seeker = await gateway.create(fair, token, "seekers", name="张三", school="北京大学")
    resume = b"%PDF-1.7\n" + f"resume {uuid.uuid4()} ".encode() * 20
    form = aiohttp.FormData(quote_fields=False)
    form.add_field("badge", seeker["badge"])
    form.add_field("employer_id", employer["id"])
    form.add_field("file", io.BytesIO(resume), filename="cv.pdf", content_type="application/pdf")
    status, sent = await gateway.request("POST", f"/v1/fairs/{fair}/resumes", None, data=form)
    assert status == 201, sent
    counted = [event("checkin", minute=m, seeker_id=f"S{m}") for m in range(20)]
    waiting = [event("qr_scan", minute=m, target="fair", visitor_id=f"V{m % 7}") for m in range(30)]
    waiting += [event("booth_visit", minute=3, employer_id=employer["id"], seeker_id="S1")]
    async with WorkerTask.running(settings):
        await gateway.post(fair, token, counted)

        async def checked_in() -> bool:
            return totals(await gateway.stats(fair, token))["checkins"] == (20, 20)

        await eventually(checked_in)
    status, verdict = await gateway.request(
        "POST",
        f"/v1/fairs/{fair}/checkins",
        token,
        json={"id": "gate-1-0001", "badge": seeker["badge"]},
    )
    assert (status, verdict["verdict"]) == (200, "admitted"), verdict
    # No worker: these wait in the stream, uncounted, when the backup is taken.
    await gateway.post(fair, token, waiting)
    assert totals(await gateway.stats(fair, token))["qr_scans"] == (0, 0)

    backup = tmp_path / "backup"
    urls = {"FAIRHUB_DATABASE_URL": str(settings.database_url),
            "FAIRHUB_REDIS_URL": str(settings.redis_url)}  # fmt: skip
    done = _fairhub(settings.data_dir, "backup", str(backup), **urls)
    assert done.returncode == 0, done.stderr
    assert "redis:" in done.stderr and "postgres:" in done.stderr  # progress
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["redis"]["stream_entries"] >= 1  # the request's events: one entry
    assert manifest["master_key"] == masterkey.load(settings).fingerprint
    assert "restore needs it" in done.stdout
    refused = _fairhub(settings.data_dir, "backup", str(backup), **urls)
    assert refused.returncode != 0 and "not empty" in refused.stderr

    # The source counts the rest: these are the figures a restore must reach.
    async with WorkerTask.running(settings):

        async def all_counted() -> bool:
            figures = totals(await gateway.stats(fair, token))
            return figures["qr_scans"] == (30, 7) and figures["checkins"][0] == 21

        await eventually(all_counted)
    expected = _figures(await gateway.stats(fair, token))

    fresh = tmp_path / "fresh"
    refused = _fairhub(fresh, "restore", str(backup))
    assert refused.returncode != 0, refused.stdout
    assert manifest["master_key"] in refused.stderr and "secret_key" in refused.stderr
    fresh.mkdir()
    shutil.copy(settings.data_dir / masterkey.KEY_FILE, fresh / masterkey.KEY_FILE)
    done = _fairhub(fresh, "restore", str(backup))
    assert done.returncode == 0, done.stderr
    assert "stream entries to count again" in done.stderr

    with Embedded(fresh) as servers:
        restored = make_settings(servers.postgres.url, servers.redis.url, fresh)
        async with Gateway.running(restored) as again, WorkerTask.running(restored):

            async def same() -> bool:
                return _figures(await again.stats(fair, token)) == expected

            await eventually(same)
            # Badges verify and sign (the keys came back sealed), résumé files came back.
            status, verdict = await again.request(
                "POST", f"/v1/fairs/{fair}/checkins", token,
                json={"id": "gate-1-0002", "badge": seeker["badge"]},
            )  # fmt: skip
            assert (status, verdict["verdict"]) == (200, "reentry"), verdict
            url = f"{again.base}/v1/resumes/{sent['id']}/file"
            headers = {"Authorization": f"Bearer {token}"}
            async with again.session.get(url, headers=headers) as response:
                assert response.status == 200
                assert hashlib.sha256(await response.read()).hexdigest() == sent["sha256"]
        # Not over a running fairhub dev.
        refused = _fairhub(fresh, "restore", str(backup))
        assert refused.returncode != 0 and "stop `fairhub dev` first" in refused.stderr
        # A backup of a running fairhub dev uses its servers (it starts none of its own).
        done = _fairhub(fresh, "backup", str(tmp_path / "while-running"))
        assert done.returncode == 0, done.stderr
        assert "starting the embedded" not in done.stderr
        assert (tmp_path / "while-running" / "postgres.dump").stat().st_size > 0
        # So does a rotation of the master key (it must not restart dev's postgres).
        backed_up_key = (fresh / masterkey.KEY_FILE).read_text()
        done = _fairhub(fresh, "rotate-secret")
        assert done.returncode == 0, done.stderr
        assert "re-sealed" in done.stdout and servers.postgres.is_running()

    # The backup wants the key it was made under, not the rotated one.
    refused = _fairhub(fresh, "restore", "--replace", str(backup))
    assert refused.returncode != 0 and manifest["master_key"] in refused.stderr
    (fresh / masterkey.KEY_FILE).write_text(backed_up_key)
    # Servers that hold data are replaced only when asked to.
    refused = _fairhub(fresh, "restore", str(backup))
    assert refused.returncode != 0 and "--replace" in refused.stderr
    done = _fairhub(fresh, "restore", "--replace", str(backup))
    assert done.returncode == 0, done.stderr
