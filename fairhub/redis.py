"""The Redis client, configured once for one server or a cluster, and the shards behind it.

`FAIRHUB_REDIS_URL` names one server (`redis://host:port/0`) or a Redis/Valkey Cluster
(`redis+cluster://h1:p1,h2:p2,...`, any of its nodes). Code uses one client either way:
single-key commands and plain pipelines route themselves. What must happen on the node that
holds a key, together with something node-wide (the appends of a flush followed by that node's
own WAITAOF; scripts), goes through `Shards`: one standalone connection pool per node.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import hiredis
from prometheus_client import Counter
from redis.asyncio import BlockingConnectionPool, Connection, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import (
    AskError,
    ClusterDownError,
    MovedError,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from fairhub.config import Settings

RETRIES = Counter(
    "fairhub_redis_retries_total",
    "Commands sent again after a redirect or an unreachable node (a slot moved, a failover)",
)
MAX_CONNECTIONS = 64
# Connections a node's pipelines keep (the writer's flushes run a few at once); the rest of
# the pool stays free for everything else.
KEPT_CONNECTIONS = 8
CLUSTER_CONNECTIONS = 1024
CLUSTER_SCHEME = "redis+cluster"
RedisClient = Redis | RedisCluster
# A node's answer that the key is elsewhere now (slot migration, failover): retry there.
REDIRECTS = (MovedError, AskError, TryAgainError, ClusterDownError)


class PackedConnection(Connection):
    """redis-py's asyncio connection, packing commands with hiredis' C packer.

    The asyncio client packs every argument in Python: ~5.5 µs per event of a 100-event
    script call (seen keys, payloads), more than any other step of a batch in the gateway's
    profile; hiredis packs the same bytes in ~0.65 µs. Types hiredis does not take (bool,
    None, memoryview) go to redis-py's own packing, which refuses or sends them as before.
    """

    def pack_command(self, *args: Any) -> list[bytes]:
        first = args[0]
        # Multi-word command names ("SCRIPT LOAD", "XINFO GROUPS") are split, as redis-py does.
        if isinstance(first, str) and " " in first:
            args = (*first.split(), *args[1:])
        elif isinstance(first, bytes) and b" " in first:
            args = (*first.split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except TypeError:
            return super().pack_command(*args)


def is_cluster_url(url: str) -> bool:
    return urlsplit(url).scheme == CLUSTER_SCHEME


def cluster_nodes(url: str) -> list[tuple[str, int]]:
    """The host:port list of a redis+cluster:// URL."""
    netloc = urlsplit(url).netloc.rpartition("@")[2]
    nodes = []
    for part in netloc.split(","):
        host, _, port = part.strip().rpartition(":")
        nodes.append((host or "127.0.0.1", int(port or 6379)))
    return nodes


def make_redis(settings: Settings, url: str | None = None, connections: int = 0) -> RedisClient:
    """A client that fails fast when Redis is away, and queues (not fails) when merely busy.

    The blocking pool makes a burst of requests wait for a free connection instead of
    answering 503 "too many connections" while Redis is perfectly healthy. `connections`
    raises the pool for a process that holds many blocking reads (a worker).
    """
    target = url or settings.redis_url or ""
    size = max(MAX_CONNECTIONS, connections)
    timeouts: dict[str, Any] = {
        "socket_timeout": settings.redis_timeout_seconds,
        "socket_connect_timeout": min(1.0, settings.redis_timeout_seconds),
    }
    if is_cluster_url(target):
        parts = urlsplit(target)
        return RedisCluster(
            startup_nodes=[ClusterNode(h, p) for h, p in cluster_nodes(target)],
            username=parts.username,
            password=parts.password,
            # The cluster client cannot make a burst wait for a free connection (it fails at
            # the limit): it may open more instead, per node.
            max_connections=max(size, CLUSTER_CONNECTIONS),
            require_full_coverage=True,
            **timeouts,
        )
    pool = BlockingConnectionPool.from_url(
        target,
        # A rediss:// or unix:// URL names its own connection class, which wins over this one.
        connection_class=PackedConnection,
        max_connections=size,
        timeout=settings.redis_timeout_seconds,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
        **timeouts,
    )
    return Redis.from_pool(pool)


@asynccontextmanager
async def open_redis(
    settings: Settings, url: str | None = None, connections: int = 0
) -> AsyncIterator[RedisClient]:
    """A client closed on the way out (with its pool)."""
    client = make_redis(settings, url, connections)
    try:
        if isinstance(client, RedisCluster):
            with contextlib.suppress(Exception):  # not there yet: the first command connects
                await client.initialize()
        yield client
    finally:
        await client.aclose()


@dataclass(frozen=True)
class Tail:
    """What ends each node's pipeline, on the same connection as that node's ops (WAITAOF).

    `alone`: in a round trip of its own, once the ops are answered. A WAITAOF that waits for
    replicas must be: sent in the same batch as the writes, the server asks the replicas for
    their fsync before they have even received those writes, and then waits for their next
    unprompted report, up to a second later. `enough`: ask again, briefly, until it holds
    (each WAITAOF asks the replicas afresh), for `patience` seconds at most.
    """

    args: tuple[Any, ...]
    alone: bool = False
    enough: Callable[[Any], bool] | None = None
    patience: float = 0.0


@dataclass(frozen=True)
class Op:
    """One command for the node that holds `key` (a script's first key, a stream)."""

    key: str
    args: tuple[Any, ...]


class Shards:
    """The nodes behind a client: which one holds a key, and a client for that node alone."""

    def __init__(self, client: RedisClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self._nodes: dict[str, Redis] = {}
        # Pipelines' connections, kept between round trips instead of going back to the pool:
        # redis-py's checkout (a condition, a timeout, a probe read, metrics) and return cost
        # ~80 µs of CPU a round trip, as much as the rest of a gate flush's Redis work.
        self._idle: dict[str, list[Connection]] = defaultdict(list)

    @property
    def is_cluster(self) -> bool:
        return isinstance(self.client, RedisCluster)

    def node_of(self, key: str) -> str:
        """host:port of the primary holding the key, as this process last learned it."""
        if not isinstance(self.client, RedisCluster):
            return ""
        node = self.client.get_node_from_key(key)
        if node is None:
            raise ClusterDownError(f"no node serves the slot of {key}")
        return f"{node.host}:{node.port}"

    def node(self, name: str) -> Redis:
        """A client for one node (the client itself on a single server)."""
        if not isinstance(self.client, RedisCluster):
            return self.client
        found = self._nodes.get(name)
        if found is None:
            host, _, port = name.rpartition(":")
            pool = BlockingConnectionPool(
                connection_class=PackedConnection,
                host=host,
                port=int(port),
                max_connections=MAX_CONNECTIONS,
                timeout=self.settings.redis_timeout_seconds,
                socket_timeout=self.settings.redis_timeout_seconds,
                socket_connect_timeout=min(1.0, self.settings.redis_timeout_seconds),
            )
            found = self._nodes[name] = Redis.from_pool(pool)
        return found

    def primaries(self) -> list[str]:
        """host:port of every primary (one name, "", on a single server)."""
        if not isinstance(self.client, RedisCluster):
            return [""]
        return [f"{n.host}:{n.port}" for n in self.client.get_primaries()]

    async def refresh(self) -> None:
        """Learn the topology again (after a redirect: a slot moved, a replica took over)."""
        if isinstance(self.client, RedisCluster):
            await self.client.nodes_manager.initialize()

    async def aclose(self) -> None:
        for node, idle in self._idle.items():
            for conn in idle:
                with contextlib.suppress(Exception):
                    await self._give_back(node, conn)
        self._idle.clear()
        for client in self._nodes.values():
            with contextlib.suppress(Exception):
                await client.aclose()
        self._nodes.clear()

    async def run(
        self, ops: Sequence[Op], tail: Tail | None = None, attempts: int = 3
    ) -> tuple[list[Any], dict[str, Any]]:
        """Each op on the node holding its key: one pipeline per node, the nodes at once.

        `tail` (e.g. WAITAOF) ends every node's pipeline, on the same connection as that
        node's ops, so it covers exactly them. Ops a node redirects (a slot moved meanwhile)
        or a node that cannot be reached (a failover under way) are sent again, with their
        own tail, after the topology is learned anew: callers make their ops safe to repeat.
        Answers: each op's reply (an exception where it failed) in order, and each node's
        tail reply. Raises what the last try met if a node stays unreachable.
        """
        replies: list[Any] = [None] * len(ops)
        tails: dict[str, Any] = {}
        todo = list(range(len(ops)))
        for attempt in range(attempts):
            by_node: dict[str, list[int]] = defaultdict(list)
            for n in todo:
                by_node[self.node_of(ops[n].key)].append(n)
            answers: list[Any]
            if len(by_node) == 1:  # one node (always, on a single server): no task to gather
                ((node, ns),) = by_node.items()
                try:
                    answers = [await self._pipeline(node, [ops[n] for n in ns], tail)]
                except Exception as exc:
                    answers = [exc]
            else:
                answers = await asyncio.gather(
                    *(
                        self._pipeline(node, [ops[n] for n in ns], tail)
                        for node, ns in by_node.items()
                    ),
                    return_exceptions=True,
                )
            todo, unreachable = [], None
            for (node, ns), answer in zip(by_node.items(), answers, strict=True):
                if isinstance(answer, BaseException):
                    if not isinstance(answer, RedisError | OSError):
                        raise answer
                    unreachable = answer
                    todo.extend(ns)
                    continue
                results, tail_reply = answer
                if tail is not None:
                    tails[node] = tail_reply
                for n, result in zip(ns, results, strict=True):
                    replies[n] = result
                    if isinstance(result, REDIRECTS):
                        todo.append(n)
            if not todo:
                break
            if attempt == attempts - 1 or not self.is_cluster:
                if unreachable is not None:
                    raise unreachable
                break
            RETRIES.inc(len(todo))
            await self.refresh()
        return replies, tails

    async def _pipeline(self, node: str, ops: list[Op], tail: Tail | None) -> tuple[list[Any], Any]:
        """The ops in one round trip on one connection, then the tail on that same connection.

        A kept connection the server has closed meanwhile (a restart, a timeout) fails before
        any answer: the round trip goes again, once, on a new one (ops are safe to repeat)."""
        idle = self._idle[node]
        while idle:
            conn = idle.pop()
            if not conn.is_connected:
                await self._give_back(node, conn)
                continue
            try:
                return await self._exchange(conn, ops, tail, node)
            except (RedisConnectionError, ConnectionResetError, BrokenPipeError):
                break  # closed while kept (a restart, a timeout): once more, on a new one
        conn = await self.node(node).connection_pool.get_connection()  # type: ignore[no-untyped-call]
        return await self._exchange(conn, ops, tail, node)

    async def _give_back(self, node: str, conn: Connection) -> None:
        await self.node(node).connection_pool.release(conn)

    async def _exchange(
        self, conn: Connection, ops: list[Op], tail: Tail | None, node: str
    ) -> tuple[list[Any], Any]:
        """The round trip on `conn`, which is kept for the next one, or given back broken."""
        # One deadline for the whole round trip, instead of redis-py's on the send (a task of
        # its own, under asyncio.wait_for) and on each reply (a timer): ~30 µs of CPU a flush.
        timeout = conn.socket_timeout
        conn.socket_timeout = None
        try:
            async with asyncio.timeout(_deadline(timeout, tail)):
                commands = [op.args for op in ops]
                if tail is not None and not tail.alone:
                    commands.append(tail.args)
                await conn.send_packed_command(conn.pack_commands(commands))
                replies = [await _reply(conn) for _ in commands]
                if tail is not None and tail.alone:
                    replies.append(await _ask(conn, tail.args))
                if tail is not None and tail.enough is not None:
                    deadline = time.monotonic() + tail.patience
                    while not tail.enough(replies[-1]) and time.monotonic() < deadline:
                        replies[-1] = await _ask(conn, tail.args)
        except BaseException as exc:
            conn.socket_timeout = timeout
            await conn.disconnect()  # half a conversation: this connection is not reused as is
            await self._give_back(node, conn)
            if isinstance(exc, TimeoutError):  # asyncio's: redis-py's own, as callers expect
                raise RedisTimeoutError(f"Redis did not answer within {timeout} s") from None
            raise
        conn.socket_timeout = timeout
        idle = self._idle[node]
        if len(idle) < KEPT_CONNECTIONS:
            idle.append(conn)
        else:
            await self._give_back(node, conn)
        if tail is None:
            return replies, None
        return replies[:-1], replies[-1]


def _deadline(timeout: float | None, tail: Tail | None) -> float | None:
    """Seconds a round trip may take: the client's timeout, and a tail's patience on top."""
    if timeout is None:
        return None
    return timeout + (tail.patience if tail is not None else 0.0)


async def _ask(conn: Any, args: tuple[Any, ...]) -> Any:
    await conn.send_packed_command(conn.pack_command(*args))
    return await _reply(conn)


async def _reply(conn: Any) -> Any:
    """One reply; an error reply as its exception (MOVED, a script's error), not raised."""
    try:
        return await conn.read_response()
    except ResponseError as exc:
        return exc


def script(source: str, keys: Sequence[str], args: Sequence[Any]) -> Op:
    """An EVAL of `source` as an Op (EVAL, not EVALSHA: a node never lacks the script)."""
    return Op(keys[0], ("EVAL", source, len(keys), *keys, *args))
