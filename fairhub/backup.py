"""`fairhub backup DIR`: the embedded (or configured) Postgres and Redis, into one directory.

Consistency comes from the order. Redis first: every key as it is (DUMP), and the streams' entries
one by one (XRANGE) - the events accepted and not yet counted, since workers trim what they
have counted. Postgres second, in one snapshot (pg_dump): every event counted by then, some of
the Redis entries among them. On restore the entries are read again from the start and the
workers count each event id once, so every event acknowledged before the backup began is in
the restored figures exactly once. Résumé files live in Postgres and come with the dump.

The master key is not in the backup: a stolen backup cannot sign badges. Keep the key apart;
`fairhub restore` asks for the same one.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO, TypeVar

import asyncpg
import psutil
from redis.exceptions import RedisError

from fairhub import masterkey
from fairhub.config import Settings
from fairhub.embedded import EmbeddedError, EmbeddedPostgres, EmbeddedRedis, _run_postgres_tool
from fairhub.masterkey import SecretKeyError
from fairhub.redis import RedisClient, open_redis

S = TypeVar("S", EmbeddedPostgres, EmbeddedRedis)

FORMAT = 1
MANIFEST = "manifest.json"
POSTGRES_DUMP = "postgres.dump"
REDIS_DUMP = "redis.jsonl"
PAGE = 1000  # keys per SCAN, entries per XRANGE
TOOL_TIMEOUT = 6 * 3600.0


class BackupError(RuntimeError):
    """Why a backup or restore cannot go ahead, said for the person running it."""


# What ends a backup or restore with a message instead of a traceback.
FAILURES = (BackupError, EmbeddedError, OSError, asyncpg.PostgresError, RedisError)


def say(text: str) -> None:
    """Progress, on stderr so that the output stays usable."""
    print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


def running_redis_url(redis: EmbeddedRedis) -> str | None:
    """The URL of the valkey server `fairhub dev` runs on this data dir, if one does."""
    if not redis.is_running():
        return None
    with contextlib.suppress(OSError, ValueError, psutil.Error):
        # valkey rewrites its command line: the port is found among its listening sockets.
        server = psutil.Process(int(redis.pid_path.read_text().strip()))
        for conn in server.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr:
                return f"redis://127.0.0.1:{conn.laddr.port}/0"
    return None


def running_postgres_url(postgres: EmbeddedPostgres) -> str | None:
    """The URL of the postgres `fairhub dev` runs on this data dir, if one does."""
    if not postgres.is_running():
        return None
    port = int((postgres.data_dir / "postmaster.pid").read_text().split("\n")[3])
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


@contextlib.contextmanager
def servers(settings: Settings, running_ok: bool) -> Iterator[tuple[str, str]]:
    """Database and Redis URLs: configured, else the embedded servers of the data dir - those
    `fairhub dev` is running (if `running_ok`) or started for the job and stopped after."""
    data_dir = settings.data_dir.resolve()
    with contextlib.ExitStack() as stack:
        database_url = settings.database_url or _embedded(
            stack, "postgres", EmbeddedPostgres(data_dir / "postgres"), running_postgres_url,
            running_ok,
        )  # fmt: skip
        redis_url = settings.redis_url or _embedded(
            stack, "valkey", EmbeddedRedis(data_dir / "redis"), running_redis_url, running_ok
        )
        yield str(database_url), str(redis_url)


def _embedded(
    stack: contextlib.ExitStack,
    name: str,
    server: S,
    running_url: Callable[[S], str | None],
    running_ok: bool,
) -> str:
    """The URL of one embedded server: the one `fairhub dev` runs, or one started until `stack`
    closes."""
    url = running_url(server)
    if url and not running_ok:
        raise BackupError("stop `fairhub dev` first: restore replaces its data")
    if url:
        return url
    say(f"starting the embedded {name} in {server.data_dir}")
    server.start()
    stack.callback(server.stop)
    return str(server.url)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


async def dump_redis(redis: RedisClient, out: TextIO) -> tuple[int, int]:
    """Every key, one JSON line each (streams: a line per page of entries); (keys, entries)."""
    count = entries = 0
    async for key in redis.scan_iter(count=PAGE):
        kind = _text(await redis.type(key))
        if kind == "stream":
            after = "-"
            out.write(json.dumps({"stream": _b64(key)}) + "\n")
            while True:
                page: Any = await redis.xrange(key, min=after, count=PAGE)
                if not page:
                    break
                rows = [
                    [_text(entry_id), [[_b64(f), _b64(v)] for f, v in fields.items()]]
                    for entry_id, fields in page
                ]
                out.write(json.dumps({"entries": _b64(key), "rows": rows}) + "\n")
                entries += len(rows)
                after = "(" + _text(page[-1][0])
        else:
            value = await redis.dump(key)
            ttl = await redis.pttl(key)
            if value is None or ttl == -2:  # gone between SCAN and DUMP
                continue
            out.write(json.dumps({"key": _b64(key), "ttl": max(ttl, 0), "dump": _b64(value)}))
            out.write("\n")
        count += 1
        if count % 10_000 == 0:
            say(f"redis: {count} keys, {entries} stream entries so far")
    return count, entries


async def _redis_part(settings: Settings, url: str, target: Path) -> tuple[int, int]:
    async with open_redis(settings, url) as redis:
        with target.open("w") as out:
            return await dump_redis(redis, out)


@contextlib.asynccontextmanager
async def connected(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection for the few statements a backup or restore needs."""
    conn = await asyncpg.connect(url, timeout=10)
    try:
        yield conn
    finally:
        await conn.close()


async def _schema_version(url: str) -> int:
    async with connected(url) as conn:
        version: int = await conn.fetchval(
            "SELECT coalesce(max(version), 0) FROM schema_migrations"
        )
        return version


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest()


def backup(settings: Settings, target: Path) -> dict[str, Any]:
    """Write the backup into `target` (new or empty); its manifest."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: back up into a new directory")
    target.mkdir(parents=True, exist_ok=True)
    try:
        fingerprint: str | None = masterkey.load(settings).fingerprint
    except SecretKeyError:
        fingerprint = None
    with servers(settings, running_ok=True) as (database_url, redis_url):
        started = time.monotonic()
        say("redis: copying keys and unprocessed stream entries")
        keys, entries = asyncio.run(_redis_part(settings, redis_url, target / REDIS_DUMP))
        say(f"redis: {keys} keys, {entries} stream entries")
        say("postgres: dumping (one consistent snapshot)")
        _run_postgres_tool(
            None, "pg_dump", "--format=custom", "--file", str(target / POSTGRES_DUMP),
            database_url, timeout=TOOL_TIMEOUT,
        )  # fmt: skip
        size = (target / POSTGRES_DUMP).stat().st_size
        say(f"postgres: {size / 1e6:.1f} MB")
        schema = asyncio.run(_schema_version(database_url))
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "schema_version": schema,
        "master_key": fingerprint,
        "redis": {"keys": keys, "stream_entries": entries, "sha256": _digest(target / REDIS_DUMP)},
        "postgres": {"bytes": size, "sha256": _digest(target / POSTGRES_DUMP)},
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    say(f"backup done in {time.monotonic() - started:.1f} s: {target}")
    return manifest


def cmd_backup(settings: Settings, args: argparse.Namespace) -> None:
    try:
        manifest = backup(settings, Path(args.dir))
    except FAILURES as exc:
        sys.exit(f"fairhub backup: {exc}")
    if manifest["master_key"]:
        print(
            f"the badge keys in it are sealed under master key {manifest['master_key']}; the"
            " backup does not hold that key: keep FAIRHUB_SECRET_KEY (or the data dir's"
            " secret_key file) apart, restore needs it"
        )


def backup_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", help="a new (or empty) directory for the backup")
