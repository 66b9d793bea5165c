"""Deliver each division's report folder to the outbox (IOM_OUTBOX): a folder or sftp:// URL.

A division's folder lands as ``<outbox>/<division>/<D>/``; a division's case-conference
pack as ``<outbox>/<division>/conference-<D>/``; the monthly performance pack (counts,
no personal data) as ``<outbox>/performance/<YYYY-MM>/<division or ALL>/``: two levels
below the root, as a daily report is, so the report's relative link to it works in the
outbox as it does in IOM_REPORTS_DIR.  Each folder is uploaded under a
hidden temporary name and renamed into place only when complete, so a division never
sees half a report; a re-delivery replaces the earlier one the same way.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

import paramiko

from pipelines.sources.base import SourceError
from pipelines.sources.open import sftp_settings
from pipelines.sources.sftp import SftpSession


@dataclass(frozen=True)
class Delivered:
    division: str
    files: int
    target: str


class LocalOutbox:
    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise SourceError(f"outbox folder {root} does not exist (IOM_OUTBOX)")
        self.root = root

    def deliver(self, folder: Path, division: str, report_date: str) -> Delivered:
        parent = self.root / division  # a division, or a product's folder such as performance/2026-11
        parent.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex[:8]
        staging = parent / f".{report_date}.partial-{token}"
        shutil.copytree(folder, staging)
        _swap_in(staging, parent / report_date, parent / f".{report_date}.old-{token}", os.rename, shutil.rmtree, Path.exists)
        return Delivered(division, len(list(folder.iterdir())), str(parent / report_date))

    def close(self) -> None:
        pass


class SftpOutbox:
    def __init__(self, url: str, env: Mapping[str, str] | None = None) -> None:
        self.settings = sftp_settings(url, env)
        self.session = SftpSession(self.settings)

    def deliver(self, folder: Path, division: str, report_date: str) -> Delivered:
        parent = str(PurePosixPath(self.settings.path) / division)
        token = uuid.uuid4().hex[:8]
        staging = f"{parent}/.{report_date}.partial-{token}"
        files = sorted(p for p in folder.iterdir() if p.is_file())

        def upload(sftp: paramiko.SFTPClient) -> None:
            # A division, or a product's folder such as performance/2026-11: each level made.
            for level in [*reversed(PurePosixPath(division).parents[:-1]), PurePosixPath(division)]:
                _ensure_dir(sftp, str(PurePosixPath(self.settings.path) / level))
            _remove_tree(sftp, staging)  # a previous attempt's leftovers, if any
            sftp.mkdir(staging)
            for path in files:
                sftp.put(str(path), f"{staging}/{path.name}", confirm=True)

        self.session.call(f"uploading the {division} report", upload)

        def publish(sftp: paramiko.SFTPClient) -> None:
            _swap_in(
                staging,
                f"{parent}/{report_date}",
                f"{parent}/.{report_date}.old-{token}",
                sftp.posix_rename,
                lambda p: _remove_tree(sftp, p),
                lambda p: _exists(sftp, p),
            )

        self.session.call(f"publishing the {division} report", publish)
        return Delivered(division, len(files), f"{self.settings.where.rstrip('/')}/{division}/{report_date}")

    def close(self) -> None:
        self.session.close()


def _swap_in(staging, final, retired, rename, remove, exists) -> None:  # type: ignore[no-untyped-def]
    """Put a complete folder in place: rename the old one aside, the new one in, drop the old."""
    if exists(final):
        rename(final, retired)
    rename(staging, final)
    if exists(retired):
        remove(retired)


def _exists(sftp: paramiko.SFTPClient, path: str) -> bool:
    try:
        sftp.stat(path)
        return True
    except FileNotFoundError:
        return False


def _ensure_dir(sftp: paramiko.SFTPClient, path: str) -> None:
    if not _exists(sftp, path):
        sftp.mkdir(path)


def _remove_tree(sftp: paramiko.SFTPClient, path: str) -> None:
    if not _exists(sftp, path):
        return
    for entry in sftp.listdir(path):
        sftp.remove(f"{path}/{entry}")
    sftp.rmdir(path)


def open_outbox(location: str, env: Mapping[str, str] | None = None) -> LocalOutbox | SftpOutbox:
    scheme = urlparse(location).scheme
    if scheme in ("", "file"):
        return LocalOutbox(Path(urlparse(location).path if scheme == "file" else location).expanduser())
    if scheme == "sftp":
        return SftpOutbox(location, env)
    raise SourceError(f"IOM_OUTBOX must be a folder path or an sftp:// URL, not a {scheme}:// URL")
