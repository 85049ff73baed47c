"""Every aiohttp AppKey and every Redis key, stream, group and channel name, in one place.

Redis keys of one fair share the hash tag ``{<fair>}`` so a Redis Cluster keeps them on one
shard and the ingest script may touch them together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    import asyncpg
    from redis.asyncio import Redis

    from fairhub.auth import Authenticator
    from fairhub.config import Settings
    from fairhub.directory import Directory
    from fairhub.gateway.feeds import StatsFeeds
    from fairhub.gateway.viewers import SessionFeeds
    from fairhub.keyring import KeyRing
    from fairhub.live import Presence
    from fairhub.otp import Codes
    from fairhub.streams import StreamWriter

GROUP = "aggregator"
FAIRS = "fh:fairs"  # set of fair ids whose streams workers read
TOKENS = "fh:tokens"  # hash sha256(token) -> principal JSON; lets ingest authorize without Postgres


def stream(fair: str) -> str:
    """The fair's event stream."""
    return f"fh:{{{fair}}}:events"


def seen_prefix(fair: str) -> str:
    """Prefix of the keys that remember accepted event ids for a while."""
    return f"fh:{{{fair}}}:seen:"


def seekers(fair: str) -> str:
    """Hash seeker id -> {name, serial, revoked}: the gate admits without Postgres."""
    return f"fh:{{{fair}}}:seekers"


def entered(fair: str) -> str:
    """Hash seeker id -> when they first came in: re-entry is decided here, atomically."""
    return f"fh:{{{fair}}}:entered"


def public_keys(fair: str) -> str:
    """Hash key id -> public key (hex) of the keys that sign the fair's badges."""
    return f"fh:{{{fair}}}:keys"


def totals_channel(fair: str) -> str:
    """Pub/sub channel where workers announce the fair's new totals after each commit."""
    return f"fh:{{{fair}}}:totals"


def live_viewers(fair: str, session: str) -> str:
    """Sorted set viewer id -> last sign of life (ms): who watches a livestream now."""
    return f"fh:{{{fair}}}:live:{session}:viewers"


def live_state(fair: str, session: str) -> str:
    """Hash of a livestream's peak audience (and when it was reached)."""
    return f"fh:{{{fair}}}:live:{session}"


def live_changes(fair: str, session: str) -> str:
    """Pub/sub channel where a session's start, stop and pins are announced to viewer pages."""
    return f"fh:{{{fair}}}:live:{session}:changes"


def signup_code(fair: str, phone_key: str) -> str:
    """Hash {digest, attempts} of the one-time code last sent to a phone, while it is valid."""
    return f"fh:{{{fair}}}:code:{phone_key}"


def limit(fair: str, name: str, subject: str) -> str:
    """A counter of tries of `name` by `subject` (a phone, an address) in the current window."""
    return f"fh:{{{fair}}}:limit:{name}:{subject}"


# Hash session id -> fair id: the viewer page's address names the session only.
LIVE_SESSIONS = "fh:live:sessions"


def fair_of_stream(stream_key: str) -> str:
    """Inverse of stream()."""
    return stream_key[stream_key.index("{") + 1 : stream_key.index("}")]


SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
DB: web.AppKey[asyncpg.Pool] = web.AppKey("db")
REDIS: web.AppKey[Redis] = web.AppKey("redis")
WRITER: web.AppKey[StreamWriter] = web.AppKey("writer")
AUTH: web.AppKey[Authenticator] = web.AppKey("auth")
KEYRING: web.AppKey[KeyRing] = web.AppKey("keyring")
DIRECTORY: web.AppKey[Directory] = web.AppKey("directory")
FEEDS: web.AppKey[StatsFeeds] = web.AppKey("feeds")
PRESENCE: web.AppKey[Presence] = web.AppKey("presence")
SESSION_FEEDS: web.AppKey[SessionFeeds] = web.AppKey("session_feeds")
CODES: web.AppKey[Codes] = web.AppKey("codes")
# Viewer pages' view of each live session (expires, document), kept a second per gateway and
# dropped when the host changes the session on this gateway.
VIEWER_VIEWS: web.AppKey[dict[str, tuple[float, dict[str, Any]]]] = web.AppKey("viewer_views")
# Live session id -> its fair, as learned once per gateway (a session never changes fairs).
SESSION_FAIRS: web.AppKey[dict[str, str]] = web.AppKey("session_fairs")
