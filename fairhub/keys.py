"""Every aiohttp AppKey and every Redis key, stream, group and channel name, in one place.

Redis keys live in partitions. A fair belongs to one of a fixed number of partitions (a stable
hash of its id), and every key of a fair carries its partition's hash tag ``{p<n>}``: a Redis
Cluster keeps a partition on one shard, a fair never spans shards (the check-in script touches
its stream, its entry register and its event ids together), and one slot migration moves a
whole partition. Each partition has one event stream; the fair is named inside each entry.
Lookups that start from something other than a fair (a token, a live session) are spread over
the partitions by a hash of that thing, so each is still one round trip to one shard.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    import asyncpg

    from fairhub.auth import Authenticator
    from fairhub.config import Settings
    from fairhub.directory import Directory
    from fairhub.gateway.feeds import StatsFeeds
    from fairhub.gateway.viewers import SessionFeeds
    from fairhub.keyring import KeyRing
    from fairhub.limits import Limiter
    from fairhub.live import Presence
    from fairhub.otp import Codes
    from fairhub.redis import RedisClient, Shards
    from fairhub.streams import StreamWriter

GROUP = "aggregator"
DEFAULT_PARTITIONS = 64
# {partitions, version}: the layout this Redis holds. Written once; a process configured for
# another number of partitions refuses to start (keys would be looked for where they are not).
LAYOUT = "fh:layout"
LAYOUT_VERSION = 2
# Sorted set worker name -> last heartbeat (ms): who shares the partitions now.
WORKERS = "fh:workers"
# Fast recovery and readiness. When any worker last beat (ms), kept after the
# workers leave, so /readyz can say for how long none has been alive.
WORKERS_LAST_BEAT = "fh:workers:last_beat"
# Hash partition -> "<measured ms> <oldest uncounted entry ms, 0 if none>", written by the
# partition's reader: /readyz reads every partition's backlog in one command, on any layout.
BACKLOG = "fh:backlog"

_partitions = DEFAULT_PARTITIONS


def use_partitions(count: int) -> None:
    """Set the number of partitions for this process (fixed when the Redis data was created)."""
    global _partitions
    if count < 1:
        raise ValueError("at least one partition")
    _partitions = count


def partitions() -> int:
    return _partitions


def _spread(text: str) -> int:
    return zlib.crc32(text.encode()) % _partitions


def partition(fair: str) -> int:
    """The partition a fair belongs to, for good: a stable hash of its id."""
    return _spread(fair)


def tag(part: int) -> str:
    """The hash tag of a partition's keys: a cluster keeps them on one shard."""
    return f"{{p{part}}}"


def _of(fair: str) -> str:
    return f"fh:{tag(partition(fair))}"


def partition_stream(part: int) -> str:
    """A partition's event stream (entries carry their fair)."""
    return f"fh:{tag(part)}:events"


def stream(fair: str) -> str:
    """The stream a fair's events go to: its partition's."""
    return partition_stream(partition(fair))


def partition_of_stream(stream_key: str) -> int:
    """Inverse of partition_stream()."""
    return int(stream_key[stream_key.index("{p") + 2 : stream_key.index("}")])


def lease(part: int) -> str:
    """Which worker reads a partition now: its name, expiring unless renewed."""
    return f"fh:{tag(part)}:lease"


def fairs(fair: str) -> str:
    """Set of the fairs of the partition: ingest admits events only for known fairs."""
    return f"{_of(fair)}:fairs"


def seen_prefix(fair: str) -> str:
    """Prefix of the keys that remember accepted event ids for a while."""
    return f"{_of(fair)}:seen:{fair}:"


def seekers(fair: str) -> str:
    """Hash seeker id -> {name, serial, revoked}: the gate admits without Postgres."""
    return f"{_of(fair)}:seekers:{fair}"


def entered(fair: str) -> str:
    """Hash seeker id -> when they first came in: re-entry is decided here, atomically."""
    return f"{_of(fair)}:entered:{fair}"


def public_keys(fair: str) -> str:
    """Hash key id -> public key (hex) of the keys that sign the fair's badges."""
    return f"{_of(fair)}:keys:{fair}"


def totals_channel(fair: str) -> str:
    """Sharded pub/sub channel where workers announce the fair's new totals after each commit."""
    return f"{_of(fair)}:totals:{fair}"


def live_viewers(fair: str, session: str) -> str:
    """Sorted set viewer id -> last sign of life (ms): who watches a livestream now."""
    return f"{_of(fair)}:live:{fair}:{session}:viewers"


def live_state(fair: str, session: str) -> str:
    """Hash of a livestream's peak audience (and when it was reached), and whether it ended."""
    return f"{_of(fair)}:live:{fair}:{session}"


def live_changes(fair: str, session: str) -> str:
    """Sharded pub/sub channel where a session's start, stop and pins reach viewer pages."""
    return f"{_of(fair)}:live:{fair}:{session}:changes"


def signup_code(fair: str, phone_key: str) -> str:
    """Hash {digest, attempts} of the one-time code last sent to a phone, while it is valid."""
    return f"{_of(fair)}:code:{fair}:{phone_key}"


def limit(fair: str, name: str, subject: str) -> str:
    """A counter of tries of `name` by `subject` (a phone, an address) in the current window."""
    return f"{_of(fair)}:limit:{fair}:{name}:{subject}"


# Limits on public traffic (fairhub.limits): token buckets and what they turned away.


def bucket(fair: str, name: str, subject: str) -> str:
    """Hash {tokens, at}: the token bucket of `name` for `subject` (an address, a viewer)."""
    return f"{_of(fair)}:bucket:{fair}:{name}:{subject}"


def throttled(fair: str) -> str:
    """Hash limit name -> tries refused by it: public traffic the fair's figures left out."""
    return f"{_of(fair)}:throttled:{fair}"


def tokens(digest: str) -> str:
    """Hash token digest -> principal JSON, of the digests of one partition (spread by digest):
    ingest authorizes without Postgres in one round trip."""
    return f"fh:{tag(_spread(digest))}:tokens"


def live_sessions(session: str) -> str:
    """Hash session id -> fair id, spread by session: the viewer page's address names the
    session only."""
    return f"fh:{tag(_spread(session))}:live-sessions"


SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
DB: web.AppKey[asyncpg.Pool] = web.AppKey("db")
# Reads that may lag the primary a little (dashboards' feeds, reports): a replica if configured.
DB_READ: web.AppKey[asyncpg.Pool] = web.AppKey("db_read")
REDIS: web.AppKey[RedisClient] = web.AppKey("redis")
SHARDS: web.AppKey[Shards] = web.AppKey("shards")
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
# Limits on public traffic: the token buckets' group-committed checks (fairhub.limits).
LIMITER: web.AppKey[Limiter] = web.AppKey("limiter")
