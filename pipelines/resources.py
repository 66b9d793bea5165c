"""Dagster resources: the warehouse, the inbox, the report output and the hub config."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from pipelines.settings import HubConfig, load_hub_config
from pipelines.sources import Inbox, open_inbox
from warehouse.db import make_engine, upgrade


@cache
def _engine(url: str) -> sa.Engine:
    engine = make_engine(url)
    upgrade(engine)  # the schema is always at the newest migration before anything reads it
    return engine


class WarehouseResource(dg.ConfigurableResource):
    """The cohort warehouse (SQLAlchemy URL; SQLite by default, PostgreSQL in production)."""

    url: str

    def engine(self) -> sa.Engine:
        return _engine(self.url)


class InboxResource(dg.ConfigurableResource):
    """Where partners deliver files: a folder path or an ``sftp://user@host:port/path`` URL
    (SFTP key, known_hosts and timeouts come from the IOM_SFTP_* variables)."""

    location: str
    settle_seconds: int = 5

    def open(self) -> Inbox:
        return open_inbox(self.location)


class OdbcResource(dg.ConfigurableResource):
    """ODBC connection strings (secrets: from the environment only) for feeds read from views.

    A feed with a connection string is read from its view instead of the inbox.
    """

    cohort: str | None = None  # IOM_COHORT_ODBC
    arrests: str | None = None  # IOM_ARRESTS_ODBC

    def for_feed(self, feed: str) -> str | None:
        return {"cohort": self.cohort, "arrests": self.arrests}.get(feed) or None


class OutboxResource(dg.ConfigurableResource):
    """Where division reports are delivered (IOM_OUTBOX: a folder or sftp:// URL); unset: nowhere."""

    location: str | None = None


class HubResource(dg.ConfigurableResource):
    """Hub configuration (divisions, feed due times, KPI matrix) and the reports folder."""

    config_path: str
    reports_dir: str

    def config(self) -> HubConfig:
        return load_hub_config(self.config_path)

    def reports_path(self) -> Path:
        return Path(self.reports_dir)
