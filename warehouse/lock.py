"""One run writes to a warehouse at a time, whichever process or machine it runs on.

Runs of the same day started together (two `iom-hub run`, the CLI and the UI, a schedule
and a sensor, two machines sharing a PostgreSQL warehouse) would load the same new files
twice and race each other's corrections.  Each run takes the warehouse's writer lock
before its first write and holds it to its end; a second run waits for the first and
says so in its log.  The lock belongs to the holder's connection (PostgreSQL advisory
lock) or open file (SQLite: an OS lock on a file beside the database), so a run that is
killed releases it at once: a crash never leaves the warehouse locked.

On PostgreSQL the lock is held by a run, not by a process: a run whose steps execute on
several workers at once (IOM_EXECUTOR=celery, pipelines/executors.py) holds it in each
step's process, and those steps share it while another run's steps wait.  Each holder
holds the writer key in shared mode on a connection named for its run
(``application_name``); a newcomer, under a short gate lock, looks at who holds the key
(``pg_locks``) and joins only when nobody does or only its own run does.  Steps of one
run that must not overlap are ordered by the asset graph (docs/design.md, note 113).

Schema migrations also take a lock of their own on PostgreSQL, so two processes bringing
a new database up to date at once apply each migration once.
"""

from __future__ import annotations

import fcntl
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from warehouse.connect import SETTING, WarehouseError, safe

# Arbitrary, fixed 64-bit keys: the same on every machine that shares the warehouse.
WRITER_KEY = 4_150_001_001
MIGRATION_KEY = 4_150_001_002
GATE_KEY = 4_150_001_003  # held for the moment of looking at the writer key's holders and joining them
HOLDER_PREFIX = "iom-hub run "  # application_name of a connection holding the writer key: + the run id

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
def writer_lock(engine: sa.Engine, on_wait: Callable[[], None], run_id: str | None = None) -> Iterator[None]:
    """Hold the warehouse's writer lock; ``on_wait`` is called once if another run has it.

    On PostgreSQL, holders with the same ``run_id`` share it (a run's steps on several
    workers); without one, the holder is a run of its own."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, on_wait, run_id or f"unnamed {uuid.uuid4()}"):
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


# The runs (application names) of the sessions holding the writer key in this database.
# A bigint advisory key shows in pg_locks as classid (high half), objid (low half), objsubid 1.
_HOLDERS = sa.text(
    "SELECT DISTINCT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :hi AND l.objid = :lo AND l.objsubid = 1 "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


@contextmanager
def _advisory_lock(engine: sa.Engine, on_wait: Callable[[], None], run_id: str) -> Iterator[None]:
    # A connection of its own, outside the pool's churn: the lock lives as long as it does.
    name = (HOLDER_PREFIX + run_id)[:63]  # PostgreSQL keeps 63 bytes of a name
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(sa.text("SELECT set_config('application_name', :n, false)"), {"n": name})

        def try_lock() -> bool:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": GATE_KEY})
            try:
                holders = set(conn.execute(_HOLDERS, {"hi": WRITER_KEY >> 32, "lo": WRITER_KEY & 0xFFFFFFFF}).scalars())
                if holders - {name}:
                    return False
                conn.execute(sa.text("SELECT pg_advisory_lock_shared(:k)"), {"k": WRITER_KEY})
                return True
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": GATE_KEY})

        _wait(try_lock, on_wait, safe(engine.url))
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock_shared(:k)"), {"k": WRITER_KEY})
            conn.execute(sa.text("RESET application_name"))


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
