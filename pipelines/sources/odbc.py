"""Feeds read over ODBC (pyodbc): the cohort register and NICHE arrest notifications.

A view is read whole, in chunks, into the same text table a file would give, with typed
dates and timestamps rendered in the feed's own formats, so one validation path serves
files and views alike.  Each read is one delivery, named after the view and the local
date it was read (CONTRACT 3.1: "as at the date it was read"); reading again the same
day with other content is a correction of that day's delivery.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from pipelines.feeds import FEEDS, ODBC_VIEWS, Feed
from pipelines.parsing import LOC, ROW, RawTable
from pipelines.sources.base import SourceError, TransientSourceError

VIEWS: dict[str, str] = ODBC_VIEWS  # the partner view each feed can be read from (pipelines/feeds.py)
ODBC_SETTINGS: dict[str, str] = {feed: f"IOM_{feed.upper()}_ODBC" for feed in VIEWS}  # CONTRACT section 5
FETCH_ROWS = 5000


@dataclass(frozen=True)
class ViewRead:
    feed: str
    name: str  # e.g. iom_cohort@2026-11-23: the delivery's name in the ledger
    read_on: date
    table: RawTable
    sha256: str
    rows: int


def describe(connection_string: str) -> str:
    """The connection string with secrets masked, for messages."""
    return re.sub(r"(?i)\b(pwd|password)\s*=\s*(\{[^}]*\}|[^;]*)", r"\1=***", connection_string)


def _render(value: Any, feed: Feed) -> str:
    # Typed values become the text the feed's files would carry.
    if value is None:
        return ""
    if isinstance(value, datetime):
        fmt = feed.datetime_formats[1] if value.second else feed.datetime_formats[0]
        return value.strftime(fmt)
    if isinstance(value, date):
        return value.strftime(feed.date_format)
    return str(value)


def _classify(exc: Exception, feed: Feed, view: str, where: str) -> Exception:
    """A plain message for each way ODBC fails; which ones are worth retrying."""
    state = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
    text = str(exc.args[1] if len(exc.args) > 1 else exc)
    lowered = text.lower()
    if state == "01000" and "can't open lib" in lowered:
        return SourceError(f"{feed.name} over ODBC: the ODBC driver named in {where} is not installed (can't open lib)")
    if state == "IM002" or "data source name not found" in lowered:
        return SourceError(f"{feed.name} over ODBC: unknown ODBC driver or data source in {where}")
    if state in ("28000", "28P01") or "authentication failed" in lowered or "password" in lowered:
        return SourceError(f"{feed.name} over ODBC: login failed for {where}")
    if state.startswith("08") and "does not exist" in lowered:
        # The server answered: the database (or user) named is not there. Retrying won't help.
        return SourceError(f"{feed.name} over ODBC: the database or user named in {where} does not exist")
    if state.startswith("08") or "could not connect" in lowered or "connection refused" in lowered or "timeout" in lowered:
        return TransientSourceError(f"{feed.name} over ODBC: the database server cannot be reached ({where})")
    if state in ("42S02", "42P01") or "does not exist" in lowered or "no such table" in lowered:
        return SourceError(f"{feed.name} over ODBC: the view {view} does not exist or is not readable ({where})")
    if state in ("42S22", "42703") or "no such column" in lowered:
        return SourceError(f"{feed.name} over ODBC: a column of {view} is missing ({where})")
    return SourceError(f"{feed.name} over ODBC: reading {view} failed with SQLSTATE {state or 'unknown'} ({where})")


def read_view(feed_name: str, connection_string: str, read_on: date, *, login_timeout: int = 15) -> ViewRead:
    """Read the feed's view whole.  Nothing is written anywhere until it has all been read."""
    feed = FEEDS[feed_name]
    view = VIEWS[feed_name]
    where = describe(connection_string)
    try:
        import pyodbc
    except ImportError:
        raise SourceError("ODBC needs unixODBC (libodbc.so.2): run scripts/setup-system.sh or install unixodbc") from None
    try:
        conn = pyodbc.connect(connection_string, timeout=login_timeout, autocommit=True)
    except pyodbc.Error as exc:
        raise _classify(exc, feed, view, where) from None
    try:
        try:
            conn.timeout = max(login_timeout * 4, 60)  # per query, where the driver supports it
        except pyodbc.Error:
            pass  # psqlODBC refuses SQL_ATTR_CONNECTION_TIMEOUT (HY000): read without one
        cursor = conn.cursor()
        cursor.execute(f"SELECT * FROM {view}")  # the view name is a constant of ours, never input
        columns = [c[0].strip().lower() for c in cursor.description]
        missing = [c for c in feed.required_columns if c not in columns]
        if missing:
            raise SourceError(f"{feed.name} over ODBC: {view} lacks required column(s) {', '.join(missing)} ({where})")
        rows: list[list[str]] = []
        while batch := cursor.fetchmany(FETCH_ROWS):
            rows.extend([_render(v, feed) for v in row] for row in batch)
    except pyodbc.Error as exc:
        raise _classify(exc, feed, view, where) from None
    finally:
        conn.close()
    frame = pd.DataFrame(rows, columns=columns, dtype=object) if rows else pd.DataFrame(columns=columns, dtype=object)
    frame[ROW] = range(1, len(frame) + 1)
    frame[LOC] = [f"row {i}" for i in range(1, len(frame) + 1)]
    # A stable digest of what was read: the same content read twice is the same delivery.
    digest = hashlib.sha256()
    digest.update("\x1f".join(columns).encode())
    for row in sorted(rows):
        digest.update(b"\x1e" + "\x1f".join(row).encode())
    name = f"{view}@{read_on.isoformat()}"
    return ViewRead(feed_name, name, read_on, RawTable(frame, columns), digest.hexdigest(), len(rows))
