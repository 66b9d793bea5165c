"""One run writes to a warehouse at a time, whichever process or machine it runs on.

Runs of the same day started together (two `iom-hub run`, the CLI and the UI, a schedule
and a sensor, two machines sharing a PostgreSQL warehouse) would load the same new files
twice and race each other's corrections.  Each run takes the warehouse's writer lock
before its first write and holds it to its end; a second run waits for the first and
says so in its log.  The lock belongs to the holder's connection (PostgreSQL advisory
lock) or open file (SQLite: an OS lock on a file beside the database), so a run that is
killed releases it at once: a crash never leaves the warehouse locked.

Schema migrations also take a lock of their own on PostgreSQL, so two processes bringing
a new database up to date at once apply each migration once.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from warehouse.connect import SETTING, WarehouseError, safe

# Arbitrary, fixed 64-bit keys: the same on every machine that shares the warehouse.
WRITER_KEY = 4_150_001_001
MIGRATION_KEY = 4_150_001_002

WAIT_LIMIT_SECONDS = 3 * 3600  # a stuck holder is a fault to report, not to wait for forever
POLL_SECONDS = 2.0
PROBE_TIMEOUT_MS = 15_000  # how long a write lock held by another program is waited for


class WarehouseBusy(WarehouseError):
    """Another run held the warehouse longer than WAIT_LIMIT_SECONDS, or another program
    holds the SQLite file locked."""


def sqlite_path(engine: sa.Engine) -> Path | None:
    database = engine.url.database
    return Path(database) if engine.dialect.name == "sqlite" and database not in (None, "", ":memory:") else None


@contextmanager
def writer_lock(engine: sa.Engine, on_wait: Callable[[], None]) -> Iterator[None]:
    """Hold the warehouse's writer lock; ``on_wait`` is called once if another run has it."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, on_wait):
            yield
    elif (path := sqlite_path(engine)) is not None:
        with _file_lock(path.with_name(path.name + ".writer.lock"), engine, on_wait):
            _refuse_if_locked_by_another_program(engine, path)
            yield
    else:
        yield  # an in-memory database belongs to one process


def _wait(try_lock: Callable[[], bool], on_wait: Callable[[], None], what: str) -> None:
    if try_lock():
        return
    on_wait()
    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    while not try_lock():
        if time.monotonic() > deadline:
            raise WarehouseBusy(
                f"{SETTING}: {what} has been in use by another run for over {WAIT_LIMIT_SECONDS // 3600} hours; "
                "see the Dagster UI's runs for the one still going"
            )
        time.sleep(POLL_SECONDS)


@contextmanager
def _advisory_lock(engine: sa.Engine, on_wait: Callable[[], None]) -> Iterator[None]:
    # A connection of its own, outside the pool's churn: the lock lives as long as it does.
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")

        def try_lock() -> bool:
            return bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": WRITER_KEY}).scalar())

        _wait(try_lock, on_wait, safe(engine.url))
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": WRITER_KEY})


@contextmanager
def _file_lock(lock_file: Path, engine: sa.Engine, on_wait: Callable[[], None]) -> Iterator[None]:
    # flock on a file of its own: never on the database file, whose POSIX locks SQLite owns
    # (closing any other descriptor of it would drop them).
    with lock_file.open("a") as fh:

        def try_lock() -> bool:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False

        _wait(try_lock, on_wait, safe(engine.url))
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _refuse_if_locked_by_another_program(engine: sa.Engine, path: Path) -> None:
    """A program outside the hub (a database browser with unsaved changes) holding the file
    locked would fail the run's first write after a minute with a bare "database is locked";
    say it before anything is written instead."""
    if not path.exists():
        return
    raw = engine.raw_connection()
    sqlite = raw.driver_connection
    (timeout_ms,) = sqlite.execute("PRAGMA busy_timeout").fetchone()
    try:
        sqlite.execute(f"PRAGMA busy_timeout={PROBE_TIMEOUT_MS}")
        sqlite.execute("BEGIN IMMEDIATE")  # waits up to the busy timeout for another writer
        sqlite.execute("ROLLBACK")
    except Exception as exc:  # sqlite3.OperationalError: database is locked
        if "locked" not in str(exc):
            raise
        raise WarehouseBusy(
            f"{SETTING}: the warehouse file {path} is locked by another program (is it open in a database browser "
            "with unsaved changes?); nothing was written: close it and run again"
        ) from None
    finally:
        sqlite.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")
        raw.close()


def migration_lock(conn: sa.Connection) -> None:
    """Within a migration's transaction on PostgreSQL: one process migrates at a time (the
    lock ends with the transaction).  SQLite migrations run under the writer lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_KEY})
