"""The inbox interface every transport implements (local folder now, SFTP next)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, order=True)
class InboxFile:
    """A file as listed: enough to tell whether it changed without reading it."""

    feed: str
    name: str
    size: int
    mtime: float  # seconds since the epoch, as the transport reports it


class SourceError(Exception):
    """A source cannot be used as configured (bad credentials, unknown host key, missing
    view...): retrying will not help.  The message says what and where, without secrets."""


class TransientSourceError(Exception):
    """A source failed in a way that may pass (timeout, dropped connection, server down)."""


class Inbox(Protocol):
    """A place files arrive as ``<inbox>/<feed>/<file>`` (CONTRACT section 1)."""

    @property
    def location(self) -> str:
        """Where it is, for messages and the ledger (never with credentials)."""
        ...

    def list_files(self, feed: str) -> list[InboxFile]:
        """Every regular file in the feed's folder, uploads in progress included."""
        ...

    def read_bytes(self, file: InboxFile) -> bytes: ...

    def mark_ingested(self, file: InboxFile) -> None:
        """Called once a file is safely in the warehouse (e.g. move it to processed/)."""
        ...

    def close(self) -> None: ...
