"""An inbox (and outbox) on an SFTP server, over paramiko.

The server's host key must already be in the configured known_hosts file: an unknown or
changed key is refused, never added.  Authentication is by key only.  Network faults
(timeouts, resets, a dropped connection) are retried with backoff on a fresh
connection; authentication and host-key failures stop at once with a plain message.
"""

from __future__ import annotations

import io
import logging
import socket
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TypeVar
from urllib.parse import unquote, urlparse

import paramiko

from pipelines.sources.base import InboxFile, SourceError, TransientSourceError

log = logging.getLogger(__name__)
T = TypeVar("T")

CHUNK = 1 << 20

# Network trouble worth another try on a new connection.
TRANSIENT = (socket.timeout, TimeoutError, ConnectionError, EOFError, paramiko.SSHException, OSError)


@dataclass(frozen=True)
class SftpSettings:
    host: str
    port: int
    user: str
    path: str
    known_hosts: str
    key_file: str | None = None
    key_material: str | None = None  # the private key itself, from the environment
    passphrase: str | None = None
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 2.0
    move_processed: bool = False

    @classmethod
    def from_url(cls, url: str, **kw: object) -> SftpSettings:
        """``sftp://user@host:port/path``: the path is absolute on the server (or in its chroot)."""
        parts = urlparse(url)
        if parts.scheme != "sftp" or not parts.hostname or not parts.username:
            raise SourceError(f"{_safe(url)} is not an sftp://user@host[:port]/path URL")
        if parts.password:
            raise SourceError("an sftp:// URL must not carry a password: authentication is by key only")
        return cls(
            host=parts.hostname,
            port=parts.port or 22,
            user=unquote(parts.username),
            path=unquote(parts.path) or "/",
            **kw,  # type: ignore[arg-type]
        )

    @property
    def where(self) -> str:
        """For messages and the ledger: no secrets."""
        return f"sftp://{self.user}@{self.host}:{self.port}{self.path}"


def _safe(url: str) -> str:
    parts = urlparse(url)
    return url.replace(f":{parts.password}@", ":***@") if parts.password else url


def load_key(settings: SftpSettings) -> paramiko.PKey:
    try:
        if settings.key_material:
            return _key_from_text(settings.key_material, settings.passphrase)
        if settings.key_file:
            return paramiko.PKey.from_path(settings.key_file, password=settings.passphrase)
    except FileNotFoundError:
        raise SourceError(f"the SFTP client key file {settings.key_file} does not exist (IOM_SFTP_KEY_FILE)") from None
    except (paramiko.SSHException, ValueError) as exc:
        raise SourceError(f"the SFTP client key cannot be read: {type(exc).__name__}") from None
    raise SourceError("no SFTP client key: set IOM_SFTP_KEY_FILE (or IOM_SFTP_KEY with the key itself)")


def _key_from_text(text: str, passphrase: str | None) -> paramiko.PKey:
    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key(io.StringIO(text), password=passphrase)
        except paramiko.SSHException:
            continue
    raise ValueError("not a private key paramiko can read")


class SftpSession:
    """One verified, key-authenticated connection, reconnected on transient faults."""

    def __init__(self, settings: SftpSettings) -> None:
        self.settings = settings
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None

    def sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            self._connect()
        assert self._sftp is not None
        return self._sftp

    def _connect(self) -> None:
        s = self.settings
        client = paramiko.SSHClient()
        try:
            client.load_host_keys(s.known_hosts)
        except FileNotFoundError:
            raise SourceError(f"the known_hosts file {s.known_hosts} does not exist (IOM_SFTP_KNOWN_HOSTS)") from None
        client.set_missing_host_key_policy(paramiko.RejectPolicy())  # never trust on first use
        try:
            client.connect(
                s.host, port=s.port, username=s.user, pkey=load_key(s), allow_agent=False, look_for_keys=False,
                timeout=s.timeout, banner_timeout=s.timeout, auth_timeout=s.timeout, channel_timeout=s.timeout,
            )  # fmt: skip
            sftp = client.open_sftp()
            sftp.get_channel().settimeout(s.timeout)
        except paramiko.BadHostKeyException:
            client.close()
            raise SourceError(
                f"the host key of {s.host}:{s.port} does not match {s.known_hosts}: refused "
                "(if the server's key really changed, update known_hosts after checking it)"
            ) from None
        except paramiko.AuthenticationException:
            client.close()
            raise SourceError(f"{s.where}: the server refused the client key for user {s.user}") from None
        except paramiko.SSHException as exc:
            client.close()
            if "not found in known_hosts" in str(exc):
                raise SourceError(
                    f"{s.host}:{s.port} is not in {s.known_hosts}: refused (add its verified host key first)"
                ) from None
            raise
        except BaseException:
            client.close()
            raise
        self._client, self._sftp = client, sftp

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = self._sftp = None

    def call(self, what: str, op: Callable[[paramiko.SFTPClient], T]) -> T:
        """Run ``op``; on a network fault reconnect and try again, with backoff."""
        s = self.settings
        for attempt in range(s.retries + 1):
            try:
                return op(self.sftp())
            except SourceError:
                raise
            except (FileNotFoundError, PermissionError):
                raise
            except TRANSIENT as exc:
                self.close()
                if attempt == s.retries:
                    raise TransientSourceError(
                        f"{s.where}: {what} failed after {s.retries + 1} attempts ({type(exc).__name__})"
                    ) from None
                wait = s.backoff * (2**attempt)
                log.warning("%s: %s failed (%s); retrying in %.0fs", s.where, what, type(exc).__name__, wait)
                time.sleep(wait)
        raise AssertionError("unreachable")


class SftpInbox:
    """Files arrive as ``<path>/<feed>/<file>`` on the server."""

    def __init__(self, settings: SftpSettings, *, on_chunk: Callable[[InboxFile, int], None] | None = None) -> None:
        self.settings = settings
        self.session = SftpSession(settings)
        self._on_chunk = on_chunk  # a test hook: called after each chunk read
        self._read_only = not settings.move_processed

    @property
    def location(self) -> str:
        return self.settings.where

    def _folder(self, feed: str) -> str:
        return str(PurePosixPath(self.settings.path) / feed)

    def list_files(self, feed: str) -> list[InboxFile]:
        def listing(sftp: paramiko.SFTPClient) -> list[InboxFile]:
            try:
                entries = sftp.listdir_attr(self._folder(feed))
            except FileNotFoundError:
                return []
            return sorted(
                InboxFile(feed, e.filename, int(e.st_size or 0), float(e.st_mtime or 0))
                for e in entries
                if e.st_mode is not None and stat.S_ISREG(e.st_mode)
            )

        return self.session.call(f"listing {feed}", listing)

    def read_bytes(self, file: InboxFile) -> bytes:
        path = f"{self._folder(file.feed)}/{file.name}"

        def read(sftp: paramiko.SFTPClient) -> bytes:
            # A whole-file read each attempt: a dropped connection never leaves half a file.
            buffer = bytearray()
            with sftp.open(path, "rb") as fh:
                fh.prefetch()
                while chunk := fh.read(CHUNK):
                    buffer += chunk
                    if self._on_chunk is not None:
                        self._on_chunk(file, len(buffer))
            return bytes(buffer)

        return self.session.call(f"reading {file.feed}/{file.name}", read)

    def mark_ingested(self, file: InboxFile) -> None:
        """Move an ingested file to ``<feed>/processed/`` where the account may write."""
        if self._read_only:
            return
        folder = self._folder(file.feed)

        def move(sftp: paramiko.SFTPClient) -> None:
            target = f"{folder}/processed"
            try:
                sftp.stat(target)
            except FileNotFoundError:
                sftp.mkdir(target)
            sftp.posix_rename(f"{folder}/{file.name}", f"{target}/{file.name}")

        try:
            self.session.call(f"moving {file.feed}/{file.name} to processed/", move)
        except (PermissionError, OSError) as exc:
            # The account may read but not write: carry on read-only, as the ledger
            # already stops a file from being loaded twice.
            log.warning("%s: cannot move files to processed/ (%s); working read-only", self.location, type(exc).__name__)
            self._read_only = True

    def close(self) -> None:
        self.session.close()
