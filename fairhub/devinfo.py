"""`DATA_DIR/dev.json`: how the other commands find a running `fairhub dev`.

`fairhub dev` writes it once its servers are up and removes it on the way out; `fairhub report`
and `fairhub simulate` read it to learn the port (and where the admin token is kept) instead of
guessing from their own environment. It holds no secret: the token stays in its own file, and
dev.json only names that file when it is the token the gateways accept.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from fairhub.config import Settings

FILE_NAME = "dev.json"


@dataclass(frozen=True)
class DevInfo:
    """A running `fairhub dev`: where this machine reaches it, and who it is."""

    url: str  # for commands on this machine (loopback when it listens on every interface)
    port: int
    pid: int
    public_url: str | None  # where phones reach it (LAN mode), if known
    admin_token_file: str | None  # None: the admin token came from FAIRHUB_ADMIN_TOKEN

    def admin_token(self) -> str | None:
        """The admin token it accepts, when it is kept in the data dir."""
        if self.admin_token_file is None:
            return None
        with contextlib.suppress(OSError):
            return Path(self.admin_token_file).read_text().strip() or None
        return None


def local_url(host: str, port: int) -> str:
    """The URL this machine uses to reach a server listening on host:port."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def describe(settings: Settings) -> DevInfo:
    """What to write for `fairhub dev` running with these settings (in this process)."""
    token_file = None if settings.admin_token else settings.data_dir.resolve() / "admin_token"
    return DevInfo(
        url=local_url(settings.host, settings.port),
        port=settings.port,
        pid=os.getpid(),
        public_url=settings.public_url,
        admin_token_file=str(token_file) if token_file else None,
    )


@contextlib.contextmanager
def advertised(data_dir: Path, info: DevInfo) -> Iterator[Path]:
    """dev.json (mode 600, written whole) while the block runs; removed on the way out."""
    path = data_dir / FILE_NAME
    draft = path.with_name(f".{FILE_NAME}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(asdict(info), out, indent=2)
        out.write("\n")
    os.replace(draft, path)
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            if _read(path) == info:  # a newer dev on the same data dir keeps its own
                path.unlink()


def _read(path: Path) -> DevInfo | None:
    try:
        data = json.loads(path.read_text())
        return DevInfo(**data)
    except (OSError, ValueError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive, and not ours to ask
        return True
    return True


def running(data_dir: Path) -> DevInfo | None:
    """The `fairhub dev` running on data_dir, or None (no dev.json, or its process is gone)."""
    info = _read(data_dir / FILE_NAME)
    if info is None or not _alive(info.pid):
        return None
    return info


def not_running(data_dir: Path) -> str:
    """The message for a command that found no `fairhub dev` to talk to."""
    return (
        f"no fairhub dev is running in {display(data_dir)}: start one (fairhub dev), "
        "or give --data-dir of the one that runs, or --url and --token"
    )


def display(path: Path) -> str:
    """A data dir as the user wrote it: ./.fairhub rather than .fairhub."""
    text = str(path)
    if path.is_absolute() or text in (".", "..") or text.startswith("../"):
        return text
    return f"./{text}"


def add_arguments(parser: argparse.ArgumentParser, token_is: str) -> None:
    """--data-dir, --url and --token, for a command that talks to a gateway."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="the data dir of the `fairhub dev` to talk to: its dev.json says the port it "
        "runs on and where its admin token is kept (default: FAIRHUB_DATA_DIR or ./.fairhub)",
    )
    parser.add_argument(
        "--url", help="a gateway to talk to instead, e.g. http://10.0.0.2:8080, with --token"
    )
    parser.add_argument(
        "--token",
        help=f"{token_is} (default: FAIRHUB_ADMIN_TOKEN, or the admin token of the fairhub dev "
        "found by --data-dir)",
    )


def with_data_dir(settings: Settings, args: argparse.Namespace) -> Settings:
    """The settings with --data-dir, when given."""
    if args.data_dir is None:
        return settings
    return settings.model_copy(update={"data_dir": args.data_dir})


def target(settings: Settings, url: str | None, token: str | None) -> tuple[str, str]:
    """The gateway and token a client command uses: --url/--token, else the running dev.

    With --url, a missing token is FAIRHUB_ADMIN_TOKEN or the data dir's admin token.
    """
    if url:
        found = token or settings.admin_token or _kept_token(settings.data_dir)
        if not found:
            sys.exit(f"give --token for {url} (or set FAIRHUB_ADMIN_TOKEN)")
        return url, found
    info = running(settings.data_dir)
    if info is None:
        sys.exit(not_running(settings.data_dir))
    found = token or settings.admin_token or info.admin_token()
    if not found:
        sys.exit(
            f"fairhub dev in {display(settings.data_dir)} runs at {info.url} with the admin "
            "token from FAIRHUB_ADMIN_TOKEN: set it here too, or give --token"
        )
    return info.url, found


def _kept_token(data_dir: Path) -> str | None:
    with contextlib.suppress(OSError):
        return (data_dir / "admin_token").read_text().strip() or None
    return None
