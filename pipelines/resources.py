"""Dagster resources: the warehouse, the inbox, the report output and the hub config."""

from __future__ import annotations

import os
from contextlib import ExitStack
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy as sa
from pydantic import PrivateAttr

from pipelines.delivery import LocalOutbox, SftpOutbox, open_outbox
from pipelines.settings import DATA_DIR, HubConfig, load_hub_config
from pipelines.sources import Inbox, open_inbox
from warehouse.connect import WarehouseError
from warehouse.db import open_warehouse, upgrade_or_explain
from warehouse.lock import writer_lock

# A warehouse server that cannot be reached even after the connection's own retries
# (IOM_DB_RETRIES): Dagster tries the step again this many times, this far apart.
WAREHOUSE_RETRIES = 3
WAREHOUSE_RETRY_WAIT = 120


@cache
def _engine(url: str) -> sa.Engine:
    # The same checks as the CLI's preflight; only the project's own data folder is created.
    return open_warehouse(url, owned_folder=DATA_DIR)


class WarehouseResource(dg.ConfigurableResource):
    """The cohort warehouse (SQLAlchemy URL; SQLite by default, PostgreSQL in production).

    In a run, the first use takes the warehouse's writer lock (warehouse/lock.py) and holds
    it to the end of the run, so runs for the same warehouse take turns; then the schema is
    brought to the newest migration before anything reads it.  A wrong URL fails the step
    with the one-line message `iom-hub` gives; an unreachable server is retried by Dagster
    (WAREHOUSE_RETRIES times, WAREHOUSE_RETRY_WAIT seconds apart)."""

    url: str
    _run: ExitStack | None = PrivateAttr(default=None)  # what the run holds until its end
    _log: Any = PrivateAttr(default=None)
    _run_id: str | None = PrivateAttr(default=None)
    _ready: bool = PrivateAttr(default=False)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Per process: once per run in-process, once per step on workers (which share the
        # run's lock on PostgreSQL).
        self._run, self._log = ExitStack(), context.log
        self._run_id = context.run.run_id if context.run is not None else None

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._run is not None:
            self._run.close()

    def _waiting(self) -> None:
        if self._log is not None:
            self._log.info("Another run is writing to the warehouse: waiting for it to finish.")

    def engine(self) -> sa.Engine:
        try:
            engine = _engine(self.url)
            if not self._ready:
                if self._run is not None:
                    self._run.enter_context(writer_lock(engine, self._waiting, self._run_id))
                upgrade_or_explain(engine)
                self._ready = True
            return engine
        except WarehouseError as exc:
            if exc.transient:
                raise dg.RetryRequested(max_retries=WAREHOUSE_RETRIES, seconds_to_wait=WAREHOUSE_RETRY_WAIT) from exc
            raise dg.Failure(description=str(exc), allow_retries=False) from None


class SftpAuth(dg.ConfigurableResource):
    """SFTP client credentials: the key (a file, or the key itself) and the known_hosts file.

    Set from IOM_SFTP_KEY_FILE, IOM_SFTP_KEY, IOM_SFTP_KEY_PASSPHRASE and
    IOM_SFTP_KNOWN_HOSTS as Dagster EnvVars, so secrets never appear in run config.
    """

    sftp_key_file: str | None = None
    sftp_key: str | None = None
    sftp_key_passphrase: str | None = None
    sftp_known_hosts: str | None = None

    def sftp_environment(self) -> dict[str, str]:
        """The SFTP settings as the transports read them: these values over the process's
        own (non-secret) tunables such as IOM_SFTP_TIMEOUT."""
        given = {
            "IOM_SFTP_KEY_FILE": self.sftp_key_file,
            "IOM_SFTP_KEY": self.sftp_key,
            "IOM_SFTP_KEY_PASSPHRASE": self.sftp_key_passphrase,
            "IOM_SFTP_KNOWN_HOSTS": self.sftp_known_hosts,
        }
        return {**os.environ, **{k: v for k, v in given.items() if v}}


class InboxResource(SftpAuth):
    """Where partners deliver files: a folder path or an ``sftp://user@host:port/path`` URL."""

    location: str
    settle_seconds: int = 5

    def open(self) -> Inbox:
        return open_inbox(self.location, self.sftp_environment())


class OdbcResource(dg.ConfigurableResource):
    """ODBC connection strings (secrets: from the environment only) for feeds read from views.

    A feed with a connection string is read from its view instead of the inbox.
    """

    cohort: str | None = None  # IOM_COHORT_ODBC
    arrests: str | None = None  # IOM_ARRESTS_ODBC

    def for_feed(self, feed: str) -> str | None:
        return {"cohort": self.cohort, "arrests": self.arrests}.get(feed) or None


class OutboxResource(SftpAuth):
    """Where division reports are delivered (IOM_OUTBOX: a folder or sftp:// URL); unset: nowhere."""

    location: str | None = None

    def open(self) -> LocalOutbox | SftpOutbox:
        assert self.location
        return open_outbox(self.location, self.sftp_environment())


class HubResource(dg.ConfigurableResource):
    """Hub configuration (divisions, feed due times, KPI matrix, linking thresholds), the
    reports folder and the hub-only review and data-quality folders."""

    config_path: str
    reports_dir: str
    review_dir: str
    quality_dir: str

    def config(self) -> HubConfig:
        return load_hub_config(self.config_path)

    def reports_path(self) -> Path:
        return Path(self.reports_dir)

    def review_path(self) -> Path:
        return Path(self.review_dir)

    def quality_path(self) -> Path:
        return Path(self.quality_dir)
