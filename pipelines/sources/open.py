"""Turn ``IOM_INBOX`` / ``IOM_OUTBOX`` values (and the SFTP settings) into sources."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

from pipelines.sources.base import Inbox, SourceError
from pipelines.sources.local import LocalInbox
from pipelines.sources.sftp import SftpInbox, SftpSettings


class InboxConfigError(SourceError, ValueError):
    pass


def sftp_settings(url: str, env: Mapping[str, str] | None = None) -> SftpSettings:
    """SFTP settings from an ``sftp://`` URL and the IOM_SFTP_* environment variables."""
    env = os.environ if env is None else env
    known_hosts = env.get("IOM_SFTP_KNOWN_HOSTS")
    if not known_hosts:
        raise InboxConfigError("an sftp:// location needs IOM_SFTP_KNOWN_HOSTS: a known_hosts file with the server's key")
    try:
        return SftpSettings.from_url(
            url,
            known_hosts=known_hosts,
            key_file=env.get("IOM_SFTP_KEY_FILE") or None,
            key_material=env.get("IOM_SFTP_KEY") or None,
            passphrase=env.get("IOM_SFTP_KEY_PASSPHRASE") or None,
            timeout=float(env.get("IOM_SFTP_TIMEOUT", "30")),
            retries=int(env.get("IOM_SFTP_RETRIES", "3")),
            backoff=float(env.get("IOM_SFTP_BACKOFF", "2")),
            move_processed=env.get("IOM_SFTP_MOVE_PROCESSED", "").lower() in ("1", "true", "yes"),
        )
    except ValueError as exc:
        raise InboxConfigError(f"SFTP settings are not usable: {exc}") from None


def open_inbox(location: str, env: Mapping[str, str] | None = None) -> Inbox:
    scheme = urlparse(location).scheme
    if scheme in ("", "file"):
        path = Path(urlparse(location).path if scheme == "file" else location).expanduser()
        if not path.is_dir():
            raise InboxConfigError(f"inbox folder {path} does not exist (IOM_INBOX)")
        return LocalInbox(path)
    if scheme == "sftp":
        return SftpInbox(sftp_settings(location, env))
    raise InboxConfigError(f"IOM_INBOX must be a folder path or an sftp:// URL, not a {scheme}:// URL")
