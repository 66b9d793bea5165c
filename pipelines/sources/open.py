"""Turn an ``IOM_INBOX`` value into an inbox."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from pipelines.sources.base import Inbox
from pipelines.sources.local import LocalInbox


class InboxConfigError(ValueError):
    pass


def open_inbox(location: str) -> Inbox:
    scheme = urlparse(location).scheme
    if scheme in ("", "file"):
        path = Path(urlparse(location).path if scheme == "file" else location).expanduser()
        if not path.is_dir():
            raise InboxConfigError(f"inbox folder {path} does not exist (IOM_INBOX)")
        return LocalInbox(path)
    raise InboxConfigError(f"IOM_INBOX scheme {scheme!r} is not supported yet (use a folder path)")
