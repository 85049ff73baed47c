"""`fairhub rotate-secret`: re-seal every badge-signing key under a new master key.

The public keys do not change, so every printed badge stays valid; only the ciphertexts in
`fair_keys` are replaced, in one transaction. Gateways still running with the old key cannot
sign new badges until they are restarted with the new one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg

from fairhub import masterkey
from fairhub.backup import running_postgres_url
from fairhub.config import Settings
from fairhub.embedded import EmbeddedPostgres
from fairhub.keyring import foreign_seals, seal_keys
from fairhub.masterkey import MasterKey, SecretKeyError


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[str]:
    """FAIRHUB_DATABASE_URL, or the embedded Postgres of the data dir: the one `fairhub dev`
    runs, else started for the job and stopped after."""
    if settings.database_url:
        yield settings.database_url
        return
    postgres = EmbeddedPostgres(settings.data_dir / "postgres")
    running = running_postgres_url(postgres)
    if running:
        yield running
        return
    postgres.start()
    try:
        yield postgres.url
    finally:
        postgres.stop()


async def rotate(url: str, old: MasterKey, new: MasterKey) -> tuple[int, int]:
    """Re-seal (and seal plaintext keys) under `new`: (keys done, keys under a third key)."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            done = await seal_keys(conn, new, old)
            left = await foreign_seals(conn, new)
    finally:
        await conn.close()
    return done, left


def write_key_file(path: Path, text: str) -> None:
    """Replace the data dir's key file at once, never readable by others."""
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text + "\n")
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(path)


def cmd_rotate_secret(settings: Settings, args: argparse.Namespace) -> None:
    if args.generate:
        print(masterkey.generate())
        return
    try:
        old = masterkey.load(settings)
        new_text = (
            Path(args.new_key_file).read_text().strip()
            if args.new_key_file
            else masterkey.generate()
        )
        new = MasterKey.parse(new_text)
    except (SecretKeyError, OSError) as exc:
        sys.exit(f"fairhub rotate-secret: {exc}")
    if new.fingerprint == old.fingerprint:
        sys.exit("fairhub rotate-secret: the new key is the current one")
    with database(settings) as url:
        done, left = asyncio.run(rotate(url, old, new))
    print(f"re-sealed {done} badge key(s): master key {old.fingerprint} -> {new.fingerprint}")
    if left:
        print(f"warning: {left} key(s) are sealed under yet another master key; left as they were")
    if settings.secret_key is None:
        write_key_file(masterkey.key_file(settings), new_text)
        print(f"the new key is in {masterkey.key_file(settings)}; restart the gateways")
    elif args.new_key_file:
        print("set FAIRHUB_SECRET_KEY to the new key on every gateway and restart them")
    else:
        print(f"set FAIRHUB_SECRET_KEY={new_text} on every gateway and restart them")


def rotate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--new-key-file",
        metavar="PATH",
        help="a file holding the new key (default: a new random key, printed)",
    )
    parser.add_argument(
        "--generate", action="store_true", help="only print a new random key and exit"
    )
