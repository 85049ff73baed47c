"""`fairhub restore DIR`: a backup made by `fairhub backup` into empty (or replaced) servers.

Postgres from its dump, then migrated to this FairHub's schema; Redis key by key, and each stream
re-filled with the entries it held, its consumer group reading from the first: the workers
count what was not counted yet, and an event already in Postgres once only (by its id).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from fairhub import masterkey
from fairhub.backup import (
    FAILURES,
    FORMAT,
    MANIFEST,
    POSTGRES_DUMP,
    REDIS_DUMP,
    TOOL_TIMEOUT,
    BackupError,
    connected,
    say,
    servers,
)
from fairhub.config import Settings
from fairhub.embedded import _run_postgres_tool
from fairhub.layout import ensure_group
from fairhub.masterkey import SecretKeyError
from fairhub.migrate import migrate
from fairhub.redis import RedisClient, open_redis


def read_manifest(source: Path) -> dict[str, Any]:
    """The backup's manifest, refused unless this FairHub can read it."""
    try:
        manifest: dict[str, Any] = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source} is not a FairHub backup ({MANIFEST}: {exc})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')!r}; this FairHub reads {FORMAT}")
    return manifest


def check_master_key(settings: Settings, manifest: dict[str, Any]) -> None:
    """The badge keys in the backup open only under the master key they were sealed with."""
    wanted = manifest.get("master_key")
    if wanted is None:
        return
    try:
        have: str | None = masterkey.load(settings).fingerprint
    except SecretKeyError:
        have = None
    if have != wanted:
        where = masterkey.key_file(settings)
        raise BackupError(
            f"the backup's badge keys are sealed under master key {wanted}, but "
            + (f"FAIRHUB_SECRET_KEY is {have}" if have else "no master key is set")
            + f": set FAIRHUB_SECRET_KEY to that key, or copy the secret_key file of the data"
            f" dir it came from to {where}"
        )


async def prepare(settings: Settings, database_url: str, redis_url: str, replace: bool) -> None:
    """Both servers empty, or emptied with --replace: checked before either is touched."""
    async with connected(database_url) as conn, open_redis(settings, redis_url) as redis:
        has_tables = await conn.fetchval("SELECT to_regclass('public.schema_migrations')")
        has_keys = bool(await redis.dbsize())
        if (has_tables or has_keys) and not replace:
            held = "the database" if has_tables else "redis"
            raise BackupError(f"{held} already holds data: add --replace to drop what is there")
        if has_keys and not isinstance(redis, Redis):
            raise BackupError("--replace flushes one Redis server; flush the cluster yourself")
        if has_tables:
            say("postgres: dropping the data that was there (--replace)")
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        if has_keys:
            say("redis: flushing the data that was there (--replace)")
            await redis.flushdb()


async def load_redis(redis: RedisClient, source: Path) -> tuple[int, int]:
    """Keys back as they were; stream entries re-added under their ids; (keys, entries)."""
    count = entries = 0
    streams: list[bytes] = []
    with source.open() as lines:
        for line in lines:
            item = json.loads(line)
            if "stream" in item:
                streams.append(base64.b64decode(item["stream"]))
                count += 1
            elif "entries" in item:
                key = base64.b64decode(item["entries"])
                async with redis.pipeline(transaction=False) as pipe:
                    for entry_id, fields in item["rows"]:
                        values = {base64.b64decode(f): base64.b64decode(v) for f, v in fields}
                        pipe.xadd(key, values, id=entry_id)  # type: ignore[arg-type]
                    await pipe.execute()
                entries += len(item["rows"])
            else:
                value = base64.b64decode(item["dump"])
                await redis.restore(base64.b64decode(item["key"]), item["ttl"], value, replace=True)
                count += 1
            if count and count % 10_000 == 0:
                say(f"redis: {count} keys, {entries} stream entries so far")
    for stream in streams:
        # A fresh group from the first entry: nothing pending on consumers long gone.
        await ensure_group(redis, stream.decode())
    return count, entries


async def _restore_redis(settings: Settings, url: str, source: Path) -> None:
    async with open_redis(settings, url) as redis:
        keys, entries = await load_redis(redis, source)
    say(f"redis: {keys} keys, {entries} stream entries to count again")


def restore(settings: Settings, source: Path, replace: bool = False) -> dict[str, Any]:
    """Put the backup in `source` into the servers; its manifest."""
    manifest = read_manifest(source)
    check_master_key(settings, manifest)
    started = time.monotonic()
    with servers(settings, running_ok=False) as (database_url, redis_url):
        asyncio.run(prepare(settings, database_url, redis_url, replace))
        say("postgres: restoring the dump")
        _run_postgres_tool(
            None, "pg_restore", "--no-owner", "--exit-on-error", "--single-transaction",
            "--dbname", database_url, str(source / POSTGRES_DUMP), timeout=TOOL_TIMEOUT,
        )  # fmt: skip
        applied = asyncio.run(migrate(database_url))
        if applied:
            say(f"postgres: migrated to this FairHub's schema ({applied})")
        say("redis: restoring keys and stream entries")
        asyncio.run(_restore_redis(settings, redis_url, source / REDIS_DUMP))
    say(f"restore done in {time.monotonic() - started:.1f} s")
    return manifest


def cmd_restore(settings: Settings, args: argparse.Namespace) -> None:
    try:
        manifest = restore(settings, Path(args.dir), replace=args.replace)
    except FAILURES as exc:
        sys.exit(f"fairhub restore: {exc}")
    print(f"restored the backup of {manifest['created_at']}; start FairHub again")


def restore_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", help="a directory written by `fairhub backup`")
    parser.add_argument(
        "--replace",
        action="store_true",
        help="drop the data the servers hold now (otherwise they must be empty)",
    )
