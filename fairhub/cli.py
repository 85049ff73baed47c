"""`fairhub dev | serve | worker | migrate`: thin wrappers over the library."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator

from fairhub import devinfo, lan, loops, masterkey
from fairhub.config import Settings
from fairhub.migrate import migrate
from fairhub.supervise import CHILD_STOP_TIMEOUT, Child, EmbeddedServer, Supervisor

log = logging.getLogger("fairhub")


def _require_urls(settings: Settings) -> None:
    missing = [
        name
        for name, value in (
            ("FAIRHUB_DATABASE_URL", settings.database_url),
            ("FAIRHUB_REDIS_URL", settings.redis_url),
        )
        if not value
    ]
    if missing:
        sys.exit(f"set {' and '.join(missing)} (or run `fairhub dev` for embedded servers)")


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    _require_urls(settings)
    applied = asyncio.run(migrate(str(settings.database_url)))
    print(f"applied migrations: {applied or 'none, already current'}")
    print(f"redis: {asyncio.run(_redis_layout(settings))} partitions")


async def _redis_layout(settings: Settings) -> int:
    """Record the Redis layout (or move data written before partitions into it)."""
    from fairhub.layout import ensure_layout
    from fairhub.redis import open_redis

    async with open_redis(settings) as redis:
        return await ensure_layout(redis, settings)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    from aiohttp import web

    from fairhub.gateway.app import create_app  # here: the kiosk and report start faster

    _require_urls(settings)
    masterkey.required(settings)  # refuse to start without FAIRHUB_SECRET_KEY
    if args.processes > 1:
        # One port, N processes: each binds it with SO_REUSEPORT and the kernel shares out
        # the connections, so one machine's cores all answer.
        child = [sys.executable, "-m", "fairhub", "serve", "--reuse-port"]
        sys.exit(supervise(settings, [(child, dict(os.environ))] * args.processes))
    app = create_app(settings)
    loops.collect_rarely()
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        access_log=None,
        reuse_port=args.reuse_port or None,
        loop=loops.new_loop(),
    )


def cmd_worker(settings: Settings, args: argparse.Namespace) -> None:
    from workers.run import run_worker

    _require_urls(settings)
    if args.processes > 1:
        sys.exit(supervise(settings, worker_commands(settings, args.processes, dict(os.environ))))
    loops.run(run_worker(settings))


def worker_commands(
    settings: Settings, count: int, env: dict[str, str]
) -> list[tuple[list[str], dict[str, str]]]:
    """N worker processes; each with its own metrics port when metrics are on."""
    commands = []
    for n in range(count):
        child_env = dict(env)
        if settings.worker_metrics_port:
            child_env["FAIRHUB_WORKER_METRICS_PORT"] = str(settings.worker_metrics_port + n)
        commands.append(([sys.executable, "-m", "fairhub", "worker"], child_env))
    return commands


def supervise(settings: Settings, commands: list[tuple[list[str], dict[str, str]]]) -> int:
    """Run the processes until we are told to stop; one that dies is started again."""
    children = [Child(argv, env) for argv, env in commands]
    return Supervisor(children, [], _stop_timeout(settings)).run()


def _stop_timeout(settings: Settings) -> float:
    """How long a child gets after SIGTERM: a worker finishes its batch within its grace."""
    return max(CHILD_STOP_TIMEOUT, settings.worker_grace_seconds + 5)


@contextlib.contextmanager
def _embedded(
    settings: Settings, cluster: bool = False
) -> Iterator[tuple[Settings, list[EmbeddedServer]]]:
    """Start embedded Postgres and Redis (or a Valkey Cluster of 3 primaries and 3 replicas)
    for whichever URL is unset; stop them on the way out.

    Also answers the servers (each node of a cluster), for the supervisor to restart when
    they die.
    """
    from fairhub.embedded import EmbeddedPostgres, EmbeddedRedis
    from fairhub.embedded_cluster import EmbeddedRedisCluster

    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    masterkey.load(settings, create=True)  # generated once, kept in the data dir
    with contextlib.ExitStack() as stack:
        update: dict[str, str] = {}
        servers: list[EmbeddedServer] = []
        if not settings.database_url:
            postgres = EmbeddedPostgres(data_dir / "postgres")
            postgres.start()
            stack.callback(postgres.stop)
            update["database_url"] = postgres.url
            servers.append(EmbeddedServer("postgres", postgres))
        if not settings.redis_url:
            redis: EmbeddedRedis | EmbeddedRedisCluster = (
                EmbeddedRedisCluster(data_dir / "redis-cluster")
                if cluster
                else EmbeddedRedis(data_dir / "redis")
            )
            redis.start()
            stack.callback(redis.stop)
            update["redis_url"] = redis.url
            if isinstance(redis, EmbeddedRedis):
                servers.append(EmbeddedServer("valkey", redis))
            else:  # a node rejoins by itself (nodes.conf), as a replica if it was failed over
                servers += [EmbeddedServer(f"valkey node {n.port}", n) for n in redis.nodes]
        yield settings.model_copy(update=update), servers


def _banner(settings: Settings, shape: str, venue: lan.Lan | None) -> None:
    base = (venue and venue.public_url) or devinfo.local_url(settings.host, settings.port)
    print(
        "\nFairHub is running (Ctrl-C stops everything)\n"
        f"  API:        {base}/v1/fairs   (OpenAPI: {base}/openapi.json)\n"
        f"  Dashboards: {base}/dashboard   (sign in with the admin token, pick a fair)\n"
        f"  Admin token: {settings.resolved_admin_token()}\n"
        f"  Kiosks:     a device token: POST {base}/v1/fairs/FAIR/devices with the organizer "
        """token and {"label": "north gate", "gate": "north"}\n"""
        f"  Postgres:   {settings.database_url}\n"
        f"  Redis:      {settings.redis_url}\n"
        f"  Processes:  {shape}\n"
        f"  Data:       {settings.data_dir.resolve()}",
        flush=True,
    )
    if venue is None:
        print(
            "  Venue network: closed (this machine only); `fairhub dev --lan` opens it to "
            "phones and kiosks\n",
            flush=True,
        )
    elif venue.public_url is None:
        print(f"  Venue network: listening on {venue.host}, but {venue.note}\n", flush=True)
    else:
        print(
            f"  Venue network: {venue.public_url}   (phones, kiosks and QR codes use it)",
            flush=True,
        )
        lan.print_qr(venue.public_url)
        print(flush=True)


def dev_gateways(requested: int | None) -> int:
    """Gateway processes for `fairhub dev`: as asked, else one per core (at most 4)."""
    return requested or max(1, min(4, os.cpu_count() or 1))


def venue_network(settings: Settings, asked: bool) -> tuple[Settings, lan.Lan | None]:
    """LAN mode (--lan or a host other than loopback): the host to bind and the public URL
    that QR codes encode; None when `fairhub dev` stays on this machine."""
    if not lan.wanted(settings, asked):
        return settings, None
    venue = lan.plan(settings)
    return settings.model_copy(update={"host": venue.host, "public_url": venue.public_url}), venue


def cmd_dev(settings: Settings, args: argparse.Namespace) -> None:
    gateways = dev_gateways(args.processes)
    settings, venue = venue_network(settings, args.lan)
    with _embedded(settings, cluster=args.cluster) as (settings, servers):
        asyncio.run(migrate(str(settings.database_url)))
        env = {
            **os.environ,
            "FAIRHUB_DATABASE_URL": str(settings.database_url),
            "FAIRHUB_REDIS_URL": str(settings.redis_url),
            "FAIRHUB_HOST": settings.host,
        }
        if settings.public_url:
            env["FAIRHUB_PUBLIC_URL"] = settings.public_url
        if args.cluster:
            # Each primary has a replica: a 202 waits for the replica's fsync too.
            env["FAIRHUB_WAITAOF_REPLICAS"] = env.get("FAIRHUB_WAITAOF_REPLICAS", "1")
            gateways, workers = max(2, gateways), 2
        else:
            workers = 1
        # Several gateways share the port (SO_REUSEPORT): the kernel spreads connections.
        gateway = [sys.executable, "-m", "fairhub", "serve"]
        if gateways > 1:
            gateway.append("--reuse-port")
        children = [Child(gateway, env) for _ in range(gateways)]
        children += [Child(argv, e) for argv, e in worker_commands(settings, workers, env)]
        shape = f"{gateways} gateway(s) on one port, {workers} worker(s), supervised"
        _banner(settings, shape, venue)
        info = devinfo.describe(settings)
        with devinfo.advertised(settings.data_dir, info):  # for `fairhub report`, `simulate`
            Supervisor(children, servers, _stop_timeout(settings)).run()


def cmd_report(settings: Settings, args: argparse.Namespace) -> None:
    from fairhub.reportcli import print_report

    print_report(settings, args)


def _report_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("fair", nargs="?", help="the fair's id")
    parser.add_argument("--alliance", help="an alliance's report instead of a fair's")
    parser.add_argument(
        "--format",
        choices=["text", "json", "csv", "html", "xlsx"],
        help="default: from the -o file's extension, else text",
    )
    parser.add_argument("--output", "-o", help="write to this file (its suffix sets the format)")
    parser.add_argument("--lang", choices=["zh", "en"], default="zh")
    devinfo.add_arguments(parser, "the fair's organizer token or the admin token")
    parser.epilog = (
        "Where the report comes from: --url; else the fairhub dev running in --data-dir; else "
        "the database at FAIRHUB_DATABASE_URL when it is set; else the fairhub dev running in "
        "./.fairhub (or FAIRHUB_DATA_DIR)."
    )


def cmd_kiosk(settings: Settings, args: argparse.Namespace) -> None:
    from fairhub.kiosk import run_kiosk

    run_kiosk(settings, args)


def _kiosk_args(parser: argparse.ArgumentParser) -> None:
    from fairhub.kiosk import add_arguments

    add_arguments(parser)


def cmd_simulate(settings: Settings, args: argparse.Namespace) -> None:
    from fairhub.simulate import run_simulation

    run_simulation(settings, args)


def _simulate_args(parser: argparse.ArgumentParser) -> None:
    from fairhub.simulate import add_arguments

    add_arguments(parser)


def cmd_seed_alliances(settings: Settings, args: argparse.Namespace) -> None:
    from fairhub.seeds.command import run

    run(settings, args)


def _seed_args(parser: argparse.ArgumentParser) -> None:
    from fairhub.seeds.command import add_arguments

    add_arguments(parser)


def cmd_rotate_secret(settings: Settings, args: argparse.Namespace) -> None:
    from fairhub.secretcli import cmd_rotate_secret as rotate

    rotate(settings, args)


def _rotate_args(parser: argparse.ArgumentParser) -> None:
    from fairhub.secretcli import rotate_args

    rotate_args(parser)


def cmd_backup(settings: Settings, args: argparse.Namespace) -> None:
    from fairhub.backup import cmd_backup as run

    run(settings, args)


def _backup_args(parser: argparse.ArgumentParser) -> None:
    from fairhub.backup import backup_args

    backup_args(parser)


def cmd_restore(settings: Settings, args: argparse.Namespace) -> None:
    from fairhub.restore import cmd_restore as run

    run(settings, args)


def _restore_args(parser: argparse.ArgumentParser) -> None:
    from fairhub.restore import restore_args

    restore_args(parser)


Command = Callable[[Settings, argparse.Namespace], None]


def _at_least_one(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return number


def _serve_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--processes",
        type=_at_least_one,
        default=1,
        metavar="N",
        help="N gateway processes on one port",
    )
    parser.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)


def _worker_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--processes", type=_at_least_one, default=1, metavar="N", help="N worker processes"
    )


def _dev_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--processes",
        type=_at_least_one,
        metavar="N",
        help="N gateway processes on one port (default: one per core, at most 4)",
    )
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="a Valkey Cluster of 3 primaries and 3 replicas, 2 gateways, 2 workers",
    )
    parser.add_argument(
        "--lan",
        action="store_true",
        help="listen on the venue network (as FAIRHUB_HOST=0.0.0.0 does): QR codes and the "
        "banner use this machine's LAN address, unless FAIRHUB_PUBLIC_URL is set",
    )


COMMANDS: dict[str, tuple[Command, str, Callable[[argparse.ArgumentParser], None] | None]] = {
    "dev": (cmd_dev, "embedded Postgres and Redis, migrations, gateway and a worker", _dev_args),
    "serve": (
        cmd_serve,
        "the gateway, against FAIRHUB_DATABASE_URL and FAIRHUB_REDIS_URL",
        _serve_args,
    ),
    "worker": (cmd_worker, "aggregation workers (members of the consumer group)", _worker_args),
    "migrate": (cmd_migrate, "apply the database migrations", None),
    "report": (cmd_report, "a fair's report: text, JSON, CSV (Excel) or A4 HTML", _report_args),
    "kiosk": (cmd_kiosk, "a gate or booth kiosk: USB scanner in, offline-safe", _kiosk_args),
    "simulate": (cmd_simulate, "build a fair and play a whole day against it", _simulate_args),
    "seed-alliances": (
        cmd_seed_alliances,
        "load the seed alliances (Wujin, Zibo, Zhenjiang, Baotou): members, demand, menu",
        _seed_args,
    ),
    "rotate-secret": (cmd_rotate_secret, "re-seal badge keys under a new master key", _rotate_args),
    "backup": (cmd_backup, "back up Postgres and Redis (embedded or configured)", _backup_args),
    "restore": (cmd_restore, "restore a backup into empty servers", _restore_args),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="fairhub", description="FairHub job-fair backend")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, text, add_args) in COMMANDS.items():
        command = sub.add_parser(name, help=text, description=text)
        if add_args is not None:
            add_args(command)
    args = parser.parse_args(argv)
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # SIGTERM behaves like Ctrl-C, so `fairhub dev` cleans up either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    COMMANDS[args.command][0](settings, args)
