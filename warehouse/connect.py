"""Checking IOM_WAREHOUSE_URL and reaching the warehouse, with every problem said in one line.

One place decides what a usable warehouse setting is, for the CLI's preflight and for the
Dagster resource alike:

- the URL must parse (``sqlalchemy.engine.make_url``) and name a dialect and driver that
  are installed;
- an SQLite warehouse is a file in a folder that exists: a mistyped path is refused, never
  made into a new empty warehouse in a new folder (only the project's own data folder,
  passed in as ``owned_folder``, is created);
- a database server is connected to with retries: each new connection is tried
  ``IOM_DB_RETRIES`` more times after the first, waiting ``IOM_DB_BACKOFF`` seconds and
  doubling, each attempt limited to ``IOM_DB_TIMEOUT`` seconds.  Refused logins and
  missing databases are not retried.  The final message names the server's host:port and
  the database, never the password.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

SETTING = "IOM_WAREHOUSE_URL"
EXAMPLES = "e.g. sqlite:////path/warehouse.sqlite or postgresql+psycopg2://user@host:5432/db"

SERVER_NAMES = {"postgresql": "PostgreSQL", "mysql": "MySQL", "mariadb": "MariaDB", "mssql": "SQL Server", "oracle": "Oracle"}
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306, "mssql": 1433, "oracle": 1521}

# PostgreSQL (libpq) messages that no retry will change: the settings are wrong.
PERMANENT_POSTGRES = (
    "authentication failed",
    "no password supplied",
    "password is required",
    "no pg_hba.conf entry",
    "pg_hba.conf rejects",
    "does not exist",
    "not permitted to log in",
    "permission denied",
    "invalid dsn",
    "invalid connection option",
    "invalid sslmode",
    "invalid integer value",
    "server does not support ssl",
)


class WarehouseError(Exception):
    """The warehouse setting is unusable or the warehouse cannot be reached: one line,
    naming the setting.  ``transient``: the server could not be reached (worth trying
    again later), as opposed to a setting that is wrong."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class ConnectPolicy:
    """How a database server is connected to: IOM_DB_RETRIES, IOM_DB_BACKOFF, IOM_DB_TIMEOUT."""

    retries: int = 3  # further attempts after the first
    backoff: float = 2.0  # seconds before the first retry, doubling
    timeout: int = 10  # seconds for each attempt

    @property
    def attempts(self) -> int:
        return self.retries + 1

    def wait(self, retry: int) -> float:
        return self.backoff * (2**retry)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ConnectPolicy:
        env = os.environ if env is None else env
        return cls(
            retries=_setting(env, "IOM_DB_RETRIES", cls.retries, int, "a whole number, 0 or more", minimum=0),
            backoff=_setting(env, "IOM_DB_BACKOFF", cls.backoff, float, "a number of seconds, 0 or more", minimum=0),
            timeout=_setting(env, "IOM_DB_TIMEOUT", cls.timeout, int, "a whole number of seconds, 1 or more", minimum=1),
        )


def _setting(env: Mapping[str, str], name: str, default, kind, what: str, *, minimum: float):  # type: ignore[no-untyped-def]
    text = (env.get(name) or "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < minimum:
        raise WarehouseError(f"{name}: {text!r} is not {what}")
    return value


def mask(text: str) -> str:
    """A URL-ish text with any password (``//user:password@``) replaced by ***."""
    return re.sub(r"(//[^/:@]*:)[^@/]*@", r"\1***@", text)


def safe(url: sa.URL) -> str:
    return url.render_as_string(hide_password=True)


def parse_url(text: str) -> sa.URL:
    """IOM_WAREHOUSE_URL as a SQLAlchemy URL whose dialect and driver are installed."""
    try:
        url = sa.engine.make_url(text)
    except (sa.exc.ArgumentError, ValueError):
        raise WarehouseError(f"{SETTING}: {mask(text)!r} is not a SQLAlchemy URL ({EXAMPLES})") from None
    try:
        dialect = url.get_dialect()
    except sa.exc.NoSuchModuleError:
        backend, _, driver = url.drivername.partition("+")
        examples = "write postgresql+psycopg2://, not postgres://" if backend == "postgres" else EXAMPLES
        try:
            sa.engine.make_url(f"{backend}://").get_dialect()
        except sa.exc.NoSuchModuleError:
            raise WarehouseError(f"{SETTING}: {backend!r} is not a database SQLAlchemy knows ({examples})") from None
        raise WarehouseError(f"{SETTING}: SQLAlchemy has no driver {driver!r} for {backend} ({EXAMPLES})") from None
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        hint = " (this project installs psycopg2: use postgresql+psycopg2://)" if dialect.name == "postgresql" else ""
        module = f" (Python module {exc.name})" if exc.name else ""
        raise WarehouseError(
            f"{SETTING}: the {dialect.name}+{dialect.driver} driver{module} is not installed{hint}: {safe(url)}"
        ) from None
    if dialect.is_async:
        raise WarehouseError(f"{SETTING}: {dialect.name}+{dialect.driver} is an asyncio driver; use a plain one ({EXAMPLES})")
    return url


def sqlite_file(url: sa.URL) -> Path:
    """The file an SQLite URL names (absolute); in-memory databases are refused."""
    database = url.database or ""
    if url.query.get("uri") in ("true", "1") and database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]
        if database.startswith("//"):  # file://host/path: only an empty or local host
            database = "/" + database[2:].partition("/")[2]
    if database in ("", ":memory:") or url.query.get("mode") == "memory":
        raise WarehouseError(
            f"{SETTING}: {safe(url)!r} is an in-memory SQLite database, gone when the run ends; "
            "give a file, e.g. sqlite:////path/warehouse.sqlite"
        )
    return Path(database).expanduser().absolute()


def check_sqlite_file(url: sa.URL, owned_folder: Path | None = None) -> Path:
    """The SQLite warehouse's folder must exist: only ``owned_folder`` (the project's own
    data folder, for the default warehouse) is created."""
    path = sqlite_file(url)
    folder = path.parent
    if owned_folder is not None and folder == Path(owned_folder).expanduser().absolute():
        folder.mkdir(parents=True, exist_ok=True)
    if not folder.exists():
        raise WarehouseError(
            f"{SETTING}: the folder {folder} does not exist, so there is no SQLite warehouse {path.name} in it "
            "(check the path; a new warehouse is made only in a folder that exists)"
        )
    if not folder.is_dir():
        raise WarehouseError(f"{SETTING}: {folder} is not a folder, so it cannot hold the SQLite warehouse {path.name}")
    if path.is_dir():
        raise WarehouseError(f"{SETTING}: {path} is a folder, not an SQLite file")
    return path


def server_name(url: sa.URL) -> str:
    backend = url.get_backend_name()
    return SERVER_NAMES.get(backend, backend)


def where(url: sa.URL) -> str:
    """host:port (database name), as the messages say it."""
    host = url.host or url.query.get("host") or "localhost"
    port = url.port or DEFAULT_PORTS.get(url.get_backend_name(), "default port")
    return f"{host}:{port} (database {url.database or 'default'})"


def _reason(exc: BaseException, url: sa.URL) -> str:
    """The driver's message, first line, without libpq's "connection to server at ..." prefix."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    text = re.sub(r'^connection to server (at "[^"]*"( \([^)]*\))?, port \d+|on socket "[^"]*") failed:\s*', "", text)
    text = re.sub(r"^(FATAL|ERROR):\s*", "", text)
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        text = text[0].lower() + text[1:]
    if url.password:
        text = text.replace(str(url.password), "***")
    return mask(text)


def is_permanent(url: sa.URL, exc: BaseException) -> bool:
    if url.get_backend_name() == "postgresql":
        message = str(exc).lower()
        return any(marker in message for marker in PERMANENT_POSTGRES)
    # Other servers: their drivers' OperationalError is the "could not reach it" family.
    return type(exc).__name__ != "OperationalError"


def connect_with_retries(url: sa.URL, connect, policy: ConnectPolicy, sleep=time.sleep):  # type: ignore[no-untyped-def]
    """Call ``connect()`` (a DBAPI connect) until it works, as the policy says; else a
    WarehouseError naming the server, host:port and database."""
    for attempt in range(policy.attempts):
        try:
            return connect()
        except Exception as exc:  # the DBAPI's Error; anything else is no connection either
            if is_permanent(url, exc):
                raise WarehouseError(
                    f"{SETTING}: {server_name(url)} at {where(url)} refused the connection: {_reason(exc, url)}"
                ) from None
            if attempt + 1 == policy.attempts:
                tries = f"{policy.attempts} attempt{'s' if policy.attempts > 1 else ''}"
                raise WarehouseError(
                    f"{SETTING}: cannot connect to {server_name(url)} at {where(url)} after {tries}: {_reason(exc, url)}",
                    transient=True,
                ) from None
            sleep(policy.wait(attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def check_connection(engine: sa.Engine) -> None:
    """Open one connection (retried as the engine's policy says) and ask the database a question."""
    url = engine.url
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except WarehouseError:
        raise
    except sa.exc.DBAPIError as exc:
        reason = _reason(exc.orig if exc.orig is not None else exc, url)
        if url.get_backend_name() == "sqlite":
            raise WarehouseError(f"{SETTING}: cannot open the SQLite warehouse {sqlite_file(url)}: {reason}") from None
        raise WarehouseError(f"{SETTING}: {server_name(url)} at {where(url)}: {reason}") from None
