"""Transport configuration and messages that need no server: URLs, secrets masked, local outbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.delivery import LocalOutbox, open_outbox
from pipelines.sources.base import SourceError
from pipelines.sources.odbc import describe
from pipelines.sources.open import InboxConfigError, open_inbox, sftp_settings
from pipelines.sources.sftp import SftpInbox, SftpSettings


def test_sftp_url_and_environment():
    env = {"IOM_SFTP_KNOWN_HOSTS": "/kh", "IOM_SFTP_KEY_FILE": "/key", "IOM_SFTP_TIMEOUT": "7", "IOM_SFTP_MOVE_PROCESSED": "yes"}
    s = sftp_settings("sftp://hub%2Bin@files.example:2222/srv/inbox", env)
    assert (s.user, s.host, s.port, s.path, s.timeout, s.move_processed) == (
        "hub+in",
        "files.example",
        2222,
        "/srv/inbox",
        7.0,
        True,
    )
    assert s.where == "sftp://hub+in@files.example:2222/srv/inbox"
    assert isinstance(open_inbox("sftp://u@h/p", env), SftpInbox)
    assert sftp_settings("sftp://u@h/p", {"IOM_SFTP_KNOWN_HOSTS": "/kh"}).port == 22


def test_sftp_needs_known_hosts_and_no_password_in_url():
    with pytest.raises(InboxConfigError, match="IOM_SFTP_KNOWN_HOSTS"):
        sftp_settings("sftp://u@h/p", {})
    with pytest.raises(SourceError, match="must not carry a password") as exc:
        SftpSettings.from_url("sftp://u:hunter2@h/p", known_hosts="/kh")
    assert "hunter2" not in str(exc.value)
    with pytest.raises(InboxConfigError, match="folder path or an sftp"):
        open_inbox("ftp://h/p", {})


def test_odbc_connection_strings_are_masked():
    text = describe("Driver={PostgreSQL Unicode};Server=db;Uid=iom;Pwd=s3cr3t;Database=x")
    assert "s3cr3t" not in text and "Pwd=***" in text
    assert "s3;cr3t" not in describe("Driver={X};PASSWORD={s3;cr3t};")


def test_local_outbox_delivery_replaces_whole_folders(tmp_path: Path):
    report = tmp_path / "reports" / "CH"
    report.mkdir(parents=True)
    (report / "arrests.csv").write_text("v1")
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    box = open_outbox(str(outbox))
    assert isinstance(box, LocalOutbox)
    box.deliver(report, "CH", "2026-11-23")
    (report / "arrests.csv").write_text("v2")
    (report / "reviews.csv").write_text("new")
    delivered = box.deliver(report, "CH", "2026-11-23")
    assert delivered.files == 2
    assert sorted(p.name for p in (outbox / "CH").iterdir()) == ["2026-11-23"]  # no leftovers
    assert (outbox / "CH" / "2026-11-23" / "arrests.csv").read_text() == "v2"
    with pytest.raises(SourceError, match="IOM_OUTBOX"):
        open_outbox(str(tmp_path / "missing"))
