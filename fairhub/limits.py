"""Limits on public traffic: token buckets in Redis, per client address, viewer or seeker.

Public pages and calls need no login, so nothing but a limit keeps one script from inflating
the figures an organizer publishes (viewers, views, questions, page visits, résumés). Each
limit is a token bucket: up to `most` tries at once, refilled at `most` per `window` seconds,
so a burst is allowed and a steady flood is not. A refused try takes nothing (the client's
wait is exact) and is counted as throttled for the fair instead of as a figure.

All the limits of one request are decided by one script call (they all carry the fair's hash
tag, so they sit on one node), and the calls of concurrent requests are group-committed like
the stream's appends: a flood of 2,000 requests costs a few round trips, and a request never
more than one.
"""

from __future__ import annotations

import functools
import ipaddress
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import Counter

from fairhub import keys
from fairhub.batching import Batcher
from fairhub.gateway.errors import RateLimited
from fairhub.redis import script

if TYPE_CHECKING:
    from fairhub.config import Settings

THROTTLED = Counter(
    "fairhub_throttled_total",
    "Public requests refused by a limit (429): not counted in any figure",
    ["kind"],
)
_KEEP_THROTTLED_SECONDS = 90 * 24 * 3600  # the fair's refused tries, for its reports

# KEYS: the buckets, then the fair's throttled hash. ARGV: size and refill time (ms, a whole
# bucket) of each bucket, then the kind of try. Takes one token from every bucket, or from none
# when any is empty: then answers the ms until all have one, and counts the try as throttled.
# Redis' clock, so every gateway agrees. A bucket expires when it would be full again anyway.
_TAKE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local n = #KEYS - 1
local level, wait = {}, 0
for i = 1, n do
  local size, period = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', KEYS[i], 'tokens', 'at')
  local tokens = tonumber(state[1]) or size
  local at = tonumber(state[2]) or now
  tokens = math.min(size, tokens + math.max(0, now - at) * size / period)
  level[i] = tokens
  if tokens < 1 then
    wait = math.max(wait, math.ceil((1 - tokens) * period / size))
  end
end
if wait > 0 then
  redis.call('HINCRBY', KEYS[n + 1], ARGV[2 * n + 1], 1)
  redis.call('EXPIRE', KEYS[n + 1], ARGV[2 * n + 2])
  return wait
end
for i = 1, n do
  redis.call('HSET', KEYS[i], 'tokens', tostring(level[i] - 1), 'at', now)
  redis.call('PEXPIRE', KEYS[i], ARGV[2 * i])
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Limit:
    """`most` tries at once by `subject`, refilled at `most` per `window` seconds."""

    name: str  # what is limited, e.g. "new-viewer"
    subject: str  # who: an address, a viewer, a seeker, a phone
    most: int
    window: float  # seconds


@dataclass(frozen=True, slots=True)
class Check:
    """One request's limits, all of one fair; `kind` names the try when it is refused."""

    fair: str
    kind: str
    limits: tuple[Limit, ...]


class Limiter:
    """Decides requests' limits in Redis, group-committed: one script call per request, the
    calls of concurrent requests in one round trip per node."""

    def __init__(self, app: web.Application) -> None:
        self._app = app  # its Redis is opened when it starts; this is made before
        self._checks: Batcher[Check, int] = Batcher(self._flush)

    async def wait(self, fair: str, kind: str, limits: list[Limit]) -> float | None:
        """Take one try from each limit: None when allowed, else the seconds to wait."""
        if not limits:
            return None
        waited = await self._checks.submit(Check(fair, kind, tuple(limits)))
        if not waited:
            return None
        THROTTLED.labels(kind).inc()
        return waited / 1000

    async def throttled(self, fair: str) -> dict[str, int]:
        """The fair's refused tries so far, by kind."""
        counts = await self._app[keys.REDIS].hgetall(keys.throttled(fair))
        return {_text(k): int(v) for k, v in counts.items()}

    async def _flush(self, checks: list[Check]) -> list[int]:
        ops = []
        for check in checks:
            names = [keys.bucket(check.fair, x.name, x.subject) for x in check.limits]
            args: list[object] = []
            for limit in check.limits:
                args += [limit.most, max(1, round(limit.window * 1000))]
            args += [check.kind, _KEEP_THROTTLED_SECONDS]
            ops.append(script(_TAKE, [*names, keys.throttled(check.fair)], args))
        answers, _ = await self._app[keys.SHARDS].run(ops)
        for answer in answers:
            if isinstance(answer, Exception):
                raise answer
        return [int(a) for a in answers]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def install(app: web.Application) -> None:
    """Give the app its limiter (create_app does; a second call keeps the first)."""
    if keys.LIMITER not in app:
        app[keys.LIMITER] = Limiter(app)


async def enforce(request: web.Request, fair: str, kind: str, limits: list[Limit]) -> None:
    """Take one try from each limit, or 429 with Retry-After (the try then counts as
    throttled, never as a figure)."""
    wait = await request.app[keys.LIMITER].wait(fair, kind, limits)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise RateLimited(
            f"too many {kind.replace('_', ' ')} requests from here: try again in {seconds} s",
            retry_after=seconds,
            extra={"limit": kind},
        )


@functools.cache
def _networks(trusted: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False)
        for part in trusted.split(",")
        if part.strip()
    )


def _trusted(
    address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: web.Request) -> str:
    """The client's address, as limits count it: the socket's peer, or, when that peer is a
    configured proxy, the nearest address before the trusted proxies in X-Forwarded-For (or
    X-Real-IP). Anyone can write those headers: from anyone else they mean nothing."""
    peer = request.remote or "unknown"
    networks = _networks(request.app[keys.SETTINGS].trusted_proxies)
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",")]
    hops = [h for h in hops if h]
    if not hops and request.headers.get("X-Real-IP"):
        hops = [request.headers["X-Real-IP"].strip()]
    for hop in reversed(hops):  # the rightmost hops were added by our own proxies
        try:
            address = str(ipaddress.ip_address(hop))
        except ValueError:
            return peer  # a garbled header: the proxy itself is the client we know
        if not _trusted(address, networks):
            return address
    return peer


def resume_upload_limits(settings: Settings, seeker_id: str) -> list[Limit]:
    """Résumé uploads by one seeker (every upload is a figure and a file kept)."""
    return [
        Limit("resume-seeker", seeker_id, settings.resumes_per_seeker, settings.resumes_seconds)
    ]


async def check_resume_upload(request: web.Request, fair: str, seeker_id: str) -> None:
    """429 when this seeker uploads résumés faster than the limit; call it once the seeker is
    known and before the file is read or stored."""
    await enforce(
        request, fair, "resume", resume_upload_limits(request.app[keys.SETTINGS], seeker_id)
    )
