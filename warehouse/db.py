"""Connecting to the warehouse and bringing its schema up to date.

The checks on IOM_WAREHOUSE_URL (one-line messages, retries on a database server) are in
`warehouse.connect`; `make_engine` applies the ones that need no connection and
`open_warehouse` also connects.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy import event

from warehouse.connect import (
    SETTING,
    ConnectPolicy,
    WarehouseError,
    check_connection,
    check_sqlite_file,
    connect_with_retries,
    parse_url,
    safe,
)
from warehouse.lock import migration_lock

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def make_engine(url: str, *, owned_folder: Path | None = None, policy: ConnectPolicy | None = None) -> sa.Engine:
    """An engine for the warehouse URL, or a WarehouseError saying in one line what is wrong.

    SQLite: the file's folder must exist (only ``owned_folder``, the project's data folder,
    is made).  A database server: every new connection, the first and any after the server
    went away, is retried as ``policy`` says (default: IOM_DB_RETRIES, IOM_DB_BACKOFF,
    IOM_DB_TIMEOUT from the environment).  Nothing is connected to here.
    """
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        check_sqlite_file(parsed, owned_folder)
        engine = sa.create_engine(parsed, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            # Foreign keys for cascades; WAL so the Dagster UI can read while a run writes.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    policy = policy or ConnectPolicy.from_env()
    connect_args = {}
    if parsed.get_driver_name() == "psycopg2" and "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = policy.timeout
    engine = sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)

    @event.listens_for(engine, "do_connect")
    def _connect_with_retries(dialect, _record, cargs, cparams):  # type: ignore[no-untyped-def]
        return connect_with_retries(parsed, lambda: dialect.connect(*cargs, **cparams), policy)

    return engine


def open_warehouse(url: str, *, owned_folder: Path | None = None, policy: ConnectPolicy | None = None) -> sa.Engine:
    """make_engine, then one connection to show the warehouse is there (WarehouseError if not)."""
    engine = make_engine(url, owned_folder=owned_folder, policy=policy)
    try:
        check_connection(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def upgrade(engine: sa.Engine) -> None:
    """Apply every pending migration (idempotent)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        migration_lock(conn)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        # The data dictionary as PostgreSQL comments: documentation, not schema, so not a
        # migration (the descriptions change without the schema); rewritten where they
        # differ, under the same lock. Imported here: the dictionary reads the schema.
        from warehouse.dictionary import apply_comments

        apply_comments(conn)


def upgrade_or_explain(engine: sa.Engine) -> None:
    """upgrade, with a failure said in one line (a WarehouseError) rather than a traceback."""
    try:
        upgrade(engine)
    except WarehouseError:
        raise
    except (CommandError, sa.exc.SQLAlchemyError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise WarehouseError(f"{SETTING}: the schema of {safe(engine.url)} cannot be brought up to date: {reason}") from None
