"""The embedded servers start, keep their data across restarts and crashes, and leave nothing
running behind them."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import psutil
import pytest
import redis

from fairhub.embedded import (
    VALKEY_MALLOC_TUNABLES,
    EmbeddedError,
    EmbeddedPostgres,
    EmbeddedRedis,
    EmbeddedServices,
    free_port,
)

Server = EmbeddedPostgres | EmbeddedRedis


@pytest.fixture
def cleanup() -> Iterator[list[Server]]:
    """Servers to stop even when a test fails, so no test leaves a process behind."""
    servers: list[Server] = []
    yield servers
    for server in reversed(servers):
        server.stop()


def query(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Run one statement with asyncpg on a private loop (these tests are synchronous)."""

    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(run())
    finally:
        loop.close()


def postgres_processes(pg: EmbeddedPostgres) -> list[psutil.Process]:
    pid = int((pg.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    postmaster = psutil.Process(pid)
    return [postmaster, *postmaster.children(recursive=True)]


def valkey_process(server: EmbeddedRedis) -> psutil.Process:
    return psutil.Process(int(server.pid_path.read_text()))


def alive(process: psutil.Process) -> bool:
    # is_running() compares creation times, so a reused pid does not count as alive. A zombie
    # has exited: it only waits for init (its parent once pg_ctl is gone) to reap it.
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def assert_all_gone(processes: list[psutil.Process]) -> None:
    assert [p for p in processes if alive(p)] == []


def test_free_port_can_be_bound() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_postgres_keeps_data_across_restart(tmp_path: Path, cleanup: list[Server]) -> None:
    # Longer than a unix socket path may be: the server must not need a socket there.
    pg = EmbeddedPostgres(tmp_path / ("long" * 30) / "postgres")
    cleanup.append(pg)
    pg.start()
    assert pg.is_running()
    assert pg.url.startswith("postgresql://postgres@127.0.0.1:")
    query(pg.url, "CREATE TABLE booth (name text)")
    query(pg.url, "INSERT INTO booth VALUES ($1)", "Acme Zürich")
    processes = postgres_processes(pg)
    assert len(processes) > 1  # postmaster and its workers

    pg.stop()
    assert not pg.is_running()
    assert_all_gone(processes)
    pg.stop()  # idempotent

    pg.start()
    rows = query(pg.url, "SELECT name, upper(name) AS shout FROM booth")
    assert [tuple(r) for r in rows] == [("Acme Zürich", "ACME ZÜRICH")]


def test_postgres_replaces_server_of_crashed_run(tmp_path: Path, cleanup: list[Server]) -> None:
    crashed = EmbeddedPostgres(tmp_path / "postgres")
    crashed.start()
    query(crashed.url, "CREATE TABLE t (x int)")
    leftovers = postgres_processes(crashed)
    del crashed  # the process that started it is gone; its server is not

    pg = EmbeddedPostgres(tmp_path / "postgres")
    cleanup.append(pg)
    pg.start()
    assert_all_gone(leftovers)
    assert query(pg.url, "SELECT count(*) FROM t")[0][0] == 0


def test_postgres_start_failure_reports_log(tmp_path: Path, cleanup: list[Server]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        pg = EmbeddedPostgres(tmp_path / "postgres", port=taken.getsockname()[1])
        cleanup.append(pg)
        with pytest.raises(EmbeddedError, match="could not bind"):
            pg.start()
    assert not pg.is_running()


def test_redis_aof_survives_stop_and_kill(tmp_path: Path, cleanup: list[Server]) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    cleanup.append(server)
    server.start()
    assert server.url.startswith("redis://127.0.0.1:")
    with redis.Redis.from_url(server.url) as client:
        first = client.xadd("events", {"n": "1"})
        assert client.waitaof(1, 0, 1000) == [1, 0]
    process = valkey_process(server)

    server.stop()
    assert not server.is_running()
    assert_all_gone([process])
    server.stop()  # idempotent

    server.start()
    with redis.Redis.from_url(server.url) as client:
        assert [entry_id for entry_id, _ in client.xrange("events")] == [first]
        second = client.xadd("events", {"n": "2"})
        assert client.waitaof(1, 0, 1000) == [1, 0]
    process = valkey_process(server)

    server.kill()  # a crash: no shutdown, no final flush
    assert not server.is_running()
    assert_all_gone([process])

    server.start()
    with redis.Redis.from_url(server.url) as client:
        assert [entry_id for entry_id, _ in client.xrange("events")] == [first, second]


def test_redis_runs_with_the_malloc_settings(tmp_path: Path, cleanup: list[Server]) -> None:
    """The wheel's Valkey is built on glibc malloc, which fragments under the ingest load
    unless it is told otherwise (embedded.VALKEY_MALLOC_TUNABLES says how and why)."""
    server = EmbeddedRedis(tmp_path / "redis")
    cleanup.append(server)
    assert server.environment()["GLIBC_TUNABLES"] == VALKEY_MALLOC_TUNABLES
    server.start()  # (valkey writes its process title over its environment: not readable)
    with redis.Redis.from_url(server.url) as client:
        assert client.info("memory")["mem_allocator"].startswith("libc")
        assert client.set("still", "works") and client.get("still") == b"works"


def test_redis_replaces_server_of_crashed_run(tmp_path: Path, cleanup: list[Server]) -> None:
    crashed = EmbeddedRedis(tmp_path / "redis")
    cleanup.append(crashed)  # stopped last, when it no longer finds a server to stop
    crashed.start()
    with redis.Redis.from_url(crashed.url) as client:
        client.set("k", "v")
    leftover = valkey_process(crashed)

    server = EmbeddedRedis(tmp_path / "redis")
    cleanup.append(server)
    server.start()
    assert_all_gone([leftover])
    with redis.Redis.from_url(server.url) as client:
        assert client.get("k") == b"v"


def test_redis_start_failure_reports_log(tmp_path: Path, cleanup: list[Server]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = EmbeddedRedis(tmp_path / "redis", port=taken.getsockname()[1])
        cleanup.append(server)
        with pytest.raises(EmbeddedError, match="Address already in use"):
            server.start()
    assert not server.is_running()


def test_services_start_and_stop_both(tmp_path: Path) -> None:
    with EmbeddedServices(tmp_path) as services:
        assert services.postgres.data_dir == (tmp_path / "postgres").resolve()
        assert services.redis.data_dir == (tmp_path / "redis").resolve()
        assert query(services.postgres.url, "SELECT 1")[0][0] == 1
        with redis.Redis.from_url(services.redis.url) as client:
            assert client.ping()
    assert not services.postgres.is_running()
    assert not services.redis.is_running()


def test_services_stop_postgres_when_redis_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail() -> None:
        raise EmbeddedError("no redis today")

    services = EmbeddedServices(tmp_path)
    monkeypatch.setattr(services.redis, "start", fail)
    with pytest.raises(EmbeddedError, match="no redis today"), services:
        pass
    assert not services.postgres.is_running()
