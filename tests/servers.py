"""Real servers on loopback for the transport tests: OpenSSH sshd (SFTP), PostgreSQL (read
through the psqlODBC "PostgreSQL Unicode" driver), Redis (the Celery broker) and an SQLite
file behind the SQLite3 ODBC driver.  See docs/testing.md.

Use the fixtures from a test module with

    pytest_plugins = ["tests.servers"]

and import the dataclasses from here only under `if TYPE_CHECKING:` (importing this module
before pytest loads it as a plugin makes pytest warn it cannot rewrite its asserts).

`sftp_server`, `postgres_server` and `redis_server` are session-scoped: each pytest process (each xdist
worker) starts one of each, on a free port, the first time a test asks for it, and stops
it at the end of the session.  `sqlite_odbc` is per test.

They need root (a chroot for sshd, the `postgres` system user for PostgreSQL) and the
packages installed by `scripts/setup-system.sh`.  When something is missing the fixture
skips the test locally and fails it when CI=true (see `skip_or_fail`).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest

SETUP_HINT = "run scripts/setup-system.sh as root"

SSHD = Path("/usr/sbin/sshd")
SFTP_USER = "iomsftp"
SFTP_ROOT = Path("/srv/iom-test-sftp")
FEED_FOLDERS = ("cohort", "arrests", "court_results", "prison_releases", "attendance")

POSTGRES_ODBC_DRIVER = "PostgreSQL Unicode"  # "PostgreSQL ANSI" rejects pyodbc str parameters (HYC00)
SQLITE_ODBC_DRIVER = "SQLite3"  # libsqliteodbc also registers "SQLite", the SQLite 2 driver
PG_ROLE = "iom"
PG_DATABASE = "iomhub"

LOOPBACK = "127.0.0.1"


# --------------------------------------------------------------------------- skip policy


def skip_or_fail(reason: str, hint: str = SETUP_HINT) -> NoReturn:
    """A test server cannot be provided: skip locally, fail in CI (CI=true).

    In CI the machine is set up by scripts/setup-system.sh and runs as root, so a test
    that would silently skip there is a test that is not run: that is a failure.
    """
    message = f"{reason}: {hint}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true, so a missing test server is a failure, not a skip)", pytrace=False)
    pytest.skip(message)


def _require_root(what: str) -> None:
    if os.geteuid() != 0:
        skip_or_fail(f"the {what} test server needs root", "run the tests as root (after scripts/setup-system.sh)")


def _require_executable(path: Path | str, what: str) -> str:
    found = shutil.which(str(path))
    if not found:
        skip_or_fail(f"{path} not found ({what})")
    return found


def _require_odbc_driver(name: str) -> None:
    try:
        import pyodbc
    except ImportError:  # pragma: no cover - pyodbc is a locked dependency
        skip_or_fail("pyodbc is not importable")
    try:
        drivers = pyodbc.drivers()
    except pyodbc.Error as exc:  # unixODBC missing or broken
        skip_or_fail(f"ODBC driver manager unusable ({exc})")
    if name not in drivers:
        skip_or_fail(f'ODBC driver "{name}" is not registered (odbcinst -q -d lists {drivers})')


# --------------------------------------------------------------------------- small helpers


def free_port() -> int:
    """A TCP port on loopback that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _run(cmd: list[str], *, input: str | None = None, cwd: Path | str | None = None, env: dict | None = None) -> str:
    result = subprocess.run(cmd, input=input, cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8")
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result.stdout


try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, not in the forked child
except (OSError, AttributeError):  # pragma: no cover - not Linux
    _prctl = None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """preexec_fn: the child gets SIGTERM if the pytest process dies without teardown."""
    if _prctl is not None:
        _prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pid_running(pid: int) -> bool:
    """pid exists and is not a zombie waiting to be reaped (by a parent we don't control)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _remove_stale(parent: Path, pattern: str, on_stale=None) -> None:
    """Remove test-server trees left by sessions that died without teardown.

    Each tree holds `owner.pid`, the pid of the pytest process that made it."""
    for tree in parent.glob(pattern):
        try:
            owner = int((tree / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if _pid_alive(owner):
            continue
        if on_stale is not None:
            with contextlib.suppress(Exception):
                on_stale(tree)
        shutil.rmtree(tree, ignore_errors=True)


def _children(pid: int) -> list[int]:
    """Every live descendant of pid (read from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ..."; comm may contain spaces or parentheses
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state != "Z":
            parents[int(entry.name)] = int(ppid)
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        kids = [child for child, parent in parents.items() if parent == current]
        found.extend(kids)
        frontier.extend(kids)
    return found


# --------------------------------------------------------------------------- SFTP (sshd)


@dataclass(frozen=True)
class SftpServer:
    """A running OpenSSH sshd on loopback, serving a chroot to `user` over SFTP only.

    chroot/inbox/<feed>/ and chroot/outbox/ belong to `user`; chroot/readonly/ belongs to
    root (readable, not writable).  Files a test puts in the chroot directly should be
    handed to the user with `chown()` if the client is to rename or delete them.
    """

    host: str
    port: int
    user: str
    client_key_path: Path  # private key (ed25519, OpenSSH format, no passphrase), authorised
    wrong_client_key_path: Path  # a private key the server does not accept
    known_hosts_path: Path  # "[127.0.0.1]:PORT ssh-ed25519 ..." with the server's real host key
    wrong_known_hosts_path: Path  # the same entry with a different ed25519 key
    chroot: Path  # filesystem path of the chroot: what the client sees as "/"
    uid: int
    gid: int
    pid: int  # the sshd listener process
    log_path: Path  # sshd's own log (-e), for diagnosing a failing test
    control_dir: Path = field(repr=False)

    def url(self, path: str = "inbox") -> str:
        """sftp://user@host:port/<path>; the path is relative to the chroot."""
        return f"sftp://{self.user}@{self.host}:{self.port}/{path.lstrip('/')}"

    def path(self, remote: str) -> Path:
        """Filesystem path of a path as the client sees it (relative to the chroot)."""
        return self.chroot / remote.lstrip("/")

    def chown(self, *paths: Path | str) -> None:
        """Hand files or folders made directly in the chroot to the SFTP user."""
        for path in paths:
            os.chown(path, self.uid, self.gid)

    def session_pids(self) -> list[int]:
        """The server-side processes of open connections (children of the listener)."""
        return _children(self.pid)

    def drop_connections(self, timeout: float = 5.0) -> int:
        """Kill every open connection's sshd processes (`sshd: iomsftp [priv]`,
        `sshd: iomsftp@notty`), not the listener: clients see the connection drop.
        Returns how many processes were killed."""
        pids = self.session_pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while any(_pid_running(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(pids)


def _make_dir(path: Path, owner: tuple[int, int] = (0, 0), mode: int = 0o755) -> None:
    """mkdir with exactly this owner and mode, whatever the umask."""
    path.mkdir()
    os.chown(path, *owner)
    path.chmod(mode)


def _ensure_sftp_user() -> pwd.struct_passwd:
    """The dedicated SFTP user: no password, no shell.  Made once, under a lock, so that
    xdist workers starting together do not race on useradd."""
    SFTP_ROOT.mkdir(mode=0o755, parents=True, exist_ok=True)
    os.chown(SFTP_ROOT, 0, 0)
    SFTP_ROOT.chmod(0o755)
    with open(SFTP_ROOT / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            pwd.getpwnam(SFTP_USER)
        except KeyError:
            _run(
                [
                    "useradd",
                    "--system",
                    "--user-group",
                    "--no-create-home",
                    "--home-dir",
                    "/",
                    "--shell",
                    "/usr/sbin/nologin",
                    "--password",
                    "*",
                    SFTP_USER,
                ]
            )
        # With UsePAM no, sshd refuses accounts whose password is locked ("!..."), even for
        # key logins; "*" means "no password can match" without locking the account.
        shadow = _run(["getent", "shadow", SFTP_USER]).split(":")
        if len(shadow) > 1 and shadow[1].startswith("!"):
            _run(["usermod", "--password", "*", SFTP_USER])
    return pwd.getpwnam(SFTP_USER)


def _keygen(path: Path, comment: str) -> str:
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])
    return Path(f"{path}.pub").read_text().split()[1]  # the base64 key


def _sshd_config(*, port: int, control: Path, chroot: Path, user: str) -> str:
    return f"""\
# sshd for the IOM hub transport tests (tests/servers.py); never the system's sshd
Port {port}
ListenAddress {LOOPBACK}
AddressFamily inet
HostKey {control}/ssh_host_ed25519_key
PidFile {control}/run/sshd.pid
AuthorizedKeysFile {control}/authorized_keys
StrictModes yes
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers {user}
AllowTcpForwarding no
AllowAgentForwarding no
AllowStreamLocalForwarding no
X11Forwarding no
PermitTunnel no
PermitTTY no
PrintMotd no
UseDNS no
MaxStartups 100
LogLevel VERBOSE
Subsystem sftp internal-sftp

Match User {user}
    ChrootDirectory {chroot}
    ForceCommand internal-sftp
    AllowTcpForwarding no
"""


def _wait_for_ssh_banner(proc: subprocess.Popen, port: int, log_path: Path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1) as sock:
                banner = sock.recv(256)
            if banner.startswith(b"SSH-2.0-"):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"sshd did not answer on {LOOPBACK}:{port}:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.02)


def _start_sftp_server() -> tuple[SftpServer, subprocess.Popen]:
    _require_root("SFTP")
    _require_executable(SSHD, "the openssh-server package")
    for tool in ("ssh-keygen", "useradd", "usermod", "getent"):
        _require_executable(tool, "needed to set up the SFTP test server")

    account = _ensure_sftp_user()
    Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)  # sshd's privilege-separation chroot
    _remove_stale(SFTP_ROOT, "session-*")

    # Everything sshd checks (the chroot, AuthorizedKeysFile and every folder above them)
    # is owned by root and not writable by anyone else; 755 so that sshd, reading the
    # authorized_keys file as the user, can reach it.
    control = Path(tempfile.mkdtemp(prefix="session-", dir=SFTP_ROOT))
    control.chmod(0o755)
    (control / "owner.pid").write_text(str(os.getpid()))
    chroot = control / "chroot"
    user = (account.pw_uid, account.pw_gid)
    _make_dir(control / "run")
    _make_dir(chroot)
    _make_dir(chroot / "inbox", owner=user)
    for feed in FEED_FOLDERS:
        _make_dir(chroot / "inbox" / feed, owner=user)
    _make_dir(chroot / "outbox", owner=user)
    _make_dir(chroot / "readonly")
    _make_dir(chroot / "readonly" / "cohort")
    readme = chroot / "readonly" / "README.txt"
    readme.write_text("read-only area of the SFTP test server\n")
    readme.chmod(0o644)

    host_key = _keygen(control / "ssh_host_ed25519_key", "iom-test-sshd")
    client_key = control / "client_ed25519"
    wrong_client_key = control / "wrong_client_ed25519"
    other_host_key = control / "other_host_ed25519"
    client_public = Path(f"{client_key}.pub")
    _keygen(client_key, "iom-test-client")
    _keygen(wrong_client_key, "iom-test-unauthorised-client")
    wrong_host_key = _keygen(other_host_key, "iom-test-impostor-host")
    authorized = control / "authorized_keys"
    authorized.write_text(client_public.read_text())
    authorized.chmod(0o644)

    proc = None
    for _attempt in range(3):  # a free port can be taken before sshd binds it
        port = free_port()
        config = control / "sshd_config"
        config.write_text(_sshd_config(port=port, control=control, chroot=chroot, user=account.pw_name))
        log_path = control / "run" / "sshd.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        try:
            _wait_for_ssh_banner(proc, port, log_path)
            break
        except RuntimeError:
            _stop_process(proc)
            if "Bind to port" not in log_path.read_text(errors="replace") or _attempt == 2:
                shutil.rmtree(control, ignore_errors=True)
                raise
    assert proc is not None

    known_hosts = control / "known_hosts"
    known_hosts.write_text(f"[{LOOPBACK}]:{port} ssh-ed25519 {host_key}\n")
    wrong_known_hosts = control / "wrong_known_hosts"
    wrong_known_hosts.write_text(f"[{LOOPBACK}]:{port} ssh-ed25519 {wrong_host_key}\n")

    server = SftpServer(
        host=LOOPBACK,
        port=port,
        user=account.pw_name,
        client_key_path=client_key,
        wrong_client_key_path=wrong_client_key,
        known_hosts_path=known_hosts,
        wrong_known_hosts_path=wrong_known_hosts,
        chroot=chroot,
        uid=account.pw_uid,
        gid=account.pw_gid,
        pid=proc.pid,
        log_path=log_path,
        control_dir=control,
    )
    return server, proc


def _stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def sftp_server() -> Iterator[SftpServer]:
    """A real OpenSSH sshd on 127.0.0.1, key-only, chrooted SFTP for the test user."""
    server, proc = _start_sftp_server()
    try:
        yield server
    finally:
        server.drop_connections()
        _stop_process(proc)
        shutil.rmtree(server.control_dir, ignore_errors=True)


# --------------------------------------------------------------------------- PostgreSQL


def _postgres_bin_dir() -> Path | None:
    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))

    candidates = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists() and (p / "pg_ctl").exists()]
    return max(candidates, key=version) if candidates else None


@dataclass(frozen=True)
class PostgresServer:
    """A private PostgreSQL cluster on 127.0.0.1:port, run by the `postgres` system user.

    `user`/`password` is the ordinary login role that owns `database` (UTF8); the superuser
    is reachable only through `psql()`, over the cluster's own unix socket."""

    host: str
    port: int
    user: str
    password: str
    database: str
    superuser: str
    base_dir: Path  # owned by postgres: data/, sock/, postgres.log
    bin_dir: Path

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir / "sock"

    @property
    def log_path(self) -> Path:
        return self.base_dir / "postgres.log"

    def odbc_connection_string(self, database: str | None = None, **extra: object) -> str:
        """Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=...;Database=...;Uid=...;Pwd=...;"""
        parts = {
            "Driver": "{" + POSTGRES_ODBC_DRIVER + "}",
            "Server": self.host,
            "Port": self.port,
            "Database": database or self.database,
            "Uid": self.user,
            "Pwd": self.password,
            **extra,
        }
        return "".join(f"{key}={value};" for key, value in parts.items())

    def sqlalchemy_url(self, drivername: str = "postgresql+psycopg2", database: str | None = None) -> str:
        """A SQLAlchemy URL (psycopg2) for the same database: the warehouse on PostgreSQL."""
        import sqlalchemy as sa

        url = sa.URL.create(
            drivername,
            username=self.user,
            password=self.password,
            host=self.host,
            port=self.port,
            database=database or self.database,
        )
        return url.render_as_string(hide_password=False)

    def psql(self, sql: str, database: str | None = None) -> str:
        """Run SQL (one or more statements) as the superuser through psql on the unix socket;
        returns the unaligned, tuples-only output (fields separated by "|")."""
        return _run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(self.bin_dir / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                self.superuser,
                "-d",
                database or self.database,
                "-f",
                "-",
            ],
            input=sql,
            cwd=self.base_dir,
            env={**os.environ, "PGCLIENTENCODING": "UTF8"},
        ).rstrip("\n")

    def _pg_ctl(self, *args: str) -> str:
        return _run(
            ["runuser", "-u", "postgres", "--", str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args], cwd=self.base_dir
        )

    def is_running(self) -> bool:
        result = subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "status"],
            cwd=self.base_dir,
            capture_output=True,
        )
        return result.returncode == 0

    def stop(self) -> None:
        """Stop the server (fast shutdown: open connections are cut), to test "server down"."""
        if self.is_running():
            self._pg_ctl("-m", "fast", "-w", "-t", "30", "stop")

    def start(self) -> None:
        """Start it again, on the same port, and wait until it accepts connections."""
        if not self.is_running():
            self._pg_ctl("-l", str(self.log_path), "-w", "-t", "30", "start")


def _pg_teardown_tree(tree: Path) -> None:
    bin_dir = _postgres_bin_dir()
    if bin_dir and (tree / "data" / "postmaster.pid").exists():
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(bin_dir / "pg_ctl"),
                "-D",
                str(tree / "data"),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            cwd=tree,
            capture_output=True,
        )


def _start_postgres_server() -> PostgresServer:
    _require_root("PostgreSQL")
    bin_dir = _postgres_bin_dir()
    if bin_dir is None:
        skip_or_fail("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (package postgresql)")
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        skip_or_fail('no "postgres" system user (package postgresql)')
    _require_executable("runuser", "util-linux")
    _require_odbc_driver(POSTGRES_ODBC_DRIVER)

    tmp = Path(tempfile.gettempdir())
    _remove_stale(tmp, "iom-test-pg-*", on_stale=_pg_teardown_tree)
    base = Path(tempfile.mkdtemp(prefix="iom-test-pg-", dir=tmp))  # /tmp: the postgres user can reach it
    (base / "owner.pid").write_text(str(os.getpid()))
    (base / "sock").mkdir(mode=0o700)
    for path in (base, base / "sock", base / "owner.pid"):
        os.chown(path, account.pw_uid, account.pw_gid)

    server = PostgresServer(
        host=LOOPBACK,
        port=0,
        user=PG_ROLE,
        password=secrets.token_hex(16),
        database=PG_DATABASE,
        superuser="postgres",
        base_dir=base,
        bin_dir=bin_dir,
    )
    try:
        _run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(bin_dir / "initdb"),
                "-D",
                str(base / "data"),
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
            ],
            cwd=base,
        )
        for _attempt in range(3):  # a free port can be taken before postgres binds it
            port = free_port()
            with open(base / "data" / "postgresql.conf", "a") as conf:
                conf.write(
                    "\n# tests/servers.py\n"
                    f"listen_addresses = '{LOOPBACK}'\n"
                    f"port = {port}\n"
                    f"unix_socket_directories = '{base / 'sock'}'\n"
                    "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                    "max_connections = 100\nshared_buffers = 16MB\n"
                )
            server = PostgresServer(**{**server.__dict__, "port": port})
            try:
                server.start()
                break
            except RuntimeError:
                if _attempt == 2 or "could not bind" not in server.log_path.read_text(errors="replace"):
                    raise
        server.psql(
            f"CREATE ROLE {PG_ROLE} LOGIN PASSWORD '{server.password}';\n"
            f"CREATE DATABASE {PG_DATABASE} OWNER {PG_ROLE} ENCODING 'UTF8' TEMPLATE template0;\n",
            database="postgres",
        )
    except BaseException:
        _pg_teardown_tree(base)
        shutil.rmtree(base, ignore_errors=True)
        raise
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A fresh PostgreSQL cluster on 127.0.0.1 with role `iom` owning database `iomhub`."""
    server = _start_postgres_server()
    try:
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.stop()
        _pg_teardown_tree(server.base_dir)
        shutil.rmtree(server.base_dir, ignore_errors=True)


# --------------------------------------------------------------------------- Redis


REDIS_SERVER = "redis-server"


@dataclass(frozen=True)
class RedisServer:
    """A private Redis on 127.0.0.1:port with a password, keeping nothing on disk."""

    host: str
    port: int
    password: str
    base_dir: Path

    def url(self, db: int = 0) -> str:
        return f"redis://:{self.password}@{self.host}:{self.port}/{db}"

    def ping(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=2) as sock:
                sock.sendall(f"AUTH {self.password}\r\nPING\r\n".encode())
                answer = b""
                while answer.count(b"\r\n") < 2:
                    chunk = sock.recv(256)
                    if not chunk:
                        break
                    answer += chunk
                return answer.endswith(b"+PONG\r\n")
        except OSError:
            return False


def _start_redis_server() -> tuple[RedisServer, subprocess.Popen]:
    executable = _require_executable(REDIS_SERVER, "package redis-server")
    tmp = Path(tempfile.gettempdir())
    _remove_stale(tmp, "iom-test-redis-*")
    base = Path(tempfile.mkdtemp(prefix="iom-test-redis-", dir=tmp))
    (base / "owner.pid").write_text(str(os.getpid()))
    for _attempt in range(3):  # a free port can be taken before redis binds it
        server = RedisServer(host=LOOPBACK, port=free_port(), password=secrets.token_hex(16), base_dir=base)
        config = base / "redis.conf"
        config.write_text(
            f"bind {LOOPBACK}\nport {server.port}\nrequirepass {server.password}\nprotected-mode yes\n"
            f'daemonize no\nsave ""\nappendonly no\ndir {base}\nlogfile {base / "redis.log"}\n'
        )
        config.chmod(0o600)
        proc = subprocess.Popen([executable, str(config)], stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 15
        while proc.poll() is None and time.monotonic() < deadline and not server.ping():
            time.sleep(0.1)
        if server.ping():
            return server, proc
        _stop_process(proc)
    log = (base / "redis.log").read_text(errors="replace") if (base / "redis.log").exists() else ""
    shutil.rmtree(base, ignore_errors=True)
    raise RuntimeError(f"redis-server did not start on {LOOPBACK}:\n{log[-2000:]}")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real Redis on 127.0.0.1 (a password; nothing saved), the Celery broker and backend."""
    server, proc = _start_redis_server()
    try:
        yield server
    finally:
        _stop_process(proc)
        shutil.rmtree(server.base_dir, ignore_errors=True)


# --------------------------------------------------------------------------- SQLite over ODBC


@dataclass(frozen=True)
class SqliteOdbc:
    """An (empty) SQLite database file and the ODBC connection string that opens it."""

    path: Path
    connection_string: str


def sqlite_odbc_connection_string(path: Path | str) -> str:
    """Driver={SQLite3};Database=/path/file.sqlite;"""
    return f"Driver={{{SQLITE_ODBC_DRIVER}}};Database={path};"


@pytest.fixture
def sqlite_odbc(tmp_path: Path) -> SqliteOdbc:
    """A new SQLite file in the test's tmp_path, for the SQLite3 ODBC driver."""
    _require_odbc_driver(SQLITE_ODBC_DRIVER)
    path = tmp_path / "odbc.sqlite"
    import sqlite3

    sqlite3.connect(path).close()
    return SqliteOdbc(path=path, connection_string=sqlite_odbc_connection_string(path))
