"""The SFTP inbox and outbox against a real OpenSSH sshd on loopback (tests/servers.py)."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import pipelines.sources.sftp as sftp_module
from pipelines.delivery import SftpOutbox
from pipelines.feeds import FEEDS
from pipelines.ingest import ingest_feed, ready_files
from pipelines.sources.base import SourceError
from pipelines.sources.open import open_inbox, sftp_settings
from pipelines.sources.sftp import SftpInbox
from tests.builders import Inbox, member

if TYPE_CHECKING:
    from tests.servers import SftpServer

D = date(2026, 11, 23)


@dataclass
class RemoteBox:
    """A fresh folder tree in the server's chroot: write locally, read over SFTP."""

    server: SftpServer
    local: Path  # the folder's real path
    remote: str  # its path as the SFTP user sees it

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "IOM_SFTP_KEY_FILE": str(self.server.client_key_path),
            "IOM_SFTP_KNOWN_HOSTS": str(self.server.known_hosts_path),
            "IOM_SFTP_TIMEOUT": "10",
            "IOM_SFTP_RETRIES": "2",
            "IOM_SFTP_BACKOFF": "0.1",
            **extra,
        }

    @property
    def url(self) -> str:
        return self.server.url(self.remote)

    def inbox(self, **extra: str) -> SftpInbox:
        box = open_inbox(self.url, self.env(**extra))
        assert isinstance(box, SftpInbox)
        return box

    def builder(self) -> Inbox:
        return Inbox(self.local)

    def hand_over(self) -> None:
        """Give everything written locally to the SFTP user, as an upload would."""
        for path in [self.local, *self.local.rglob("*")]:
            self.server.chown(path)


@pytest.fixture
def box(sftp_server: SftpServer) -> Iterator[RemoteBox]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    local = sftp_server.chroot / name
    local.mkdir()
    for feed in FEEDS:
        (local / feed).mkdir()
    remote = RemoteBox(sftp_server, local, name)
    remote.hand_over()
    yield remote
    shutil.rmtree(local, ignore_errors=True)


def test_listing_and_reading_over_sftp_keeps_accented_names(box: RemoteBox, hub):
    box.builder().cohort(date(2026, 11, 22), [member("LDS-000001", "Ó Briain", "Siobhán", "1990-02-01")])
    box.builder().arrests(
        "20261122_230000",
        [{"custody_ref": "K1", "surname": "Ng-Smith", "forenames": "Zoë", "arrest_datetime": "22/11/2026 10:00",
          "offence_description": "Theft"}],
    )  # fmt: skip
    box.hand_over()
    inbox = box.inbox()
    try:
        listed = inbox.list_files("arrests")
        assert [f.name for f in listed] == ["niche_arrests_20261122_230000.csv"]
        local = box.local / "arrests" / listed[0].name
        assert listed[0].size == local.stat().st_size and listed[0].mtime == int(local.stat().st_mtime)
        assert inbox.read_bytes(listed[0]) == local.read_bytes()
        for feed in ("cohort", "arrests"):
            ingest_feed(hub.engine, inbox, FEEDS[feed], D, settle_seconds=0)
    finally:
        inbox.close()
    names = hub.query("select surname, forenames from cohort_member union all select surname, forenames from arrest_row")
    assert sorted(tuple(r) for r in names) == [("Ng-Smith", "Zoë"), ("Ó Briain", "Siobhán")]
    sources = {r.source for r in hub.query("select source from ingest_file")}
    assert sources == {box.url}


def connection_attempts(monkeypatch) -> list[int]:
    attempts: list[int] = []
    real = sftp_module.SftpSession._connect

    def counting(self):  # type: ignore[no-untyped-def]
        attempts.append(1)
        return real(self)

    monkeypatch.setattr(sftp_module.SftpSession, "_connect", counting)
    return attempts


def test_a_changed_host_key_is_refused(box: RemoteBox, monkeypatch):
    attempts = connection_attempts(monkeypatch)
    inbox = box.inbox(IOM_SFTP_KNOWN_HOSTS=str(box.server.wrong_known_hosts_path))
    with pytest.raises(SourceError, match="does not match"):
        inbox.list_files("cohort")
    assert len(attempts) == 1  # refused at once: no retry


def test_an_unknown_host_is_refused_never_added(box: RemoteBox, tmp_path: Path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    inbox = box.inbox(IOM_SFTP_KNOWN_HOSTS=str(empty))
    with pytest.raises(SourceError, match="is not in"):
        inbox.list_files("cohort")
    assert empty.read_text() == ""


def test_a_wrong_client_key_is_refused_at_once(box: RemoteBox, monkeypatch):
    attempts = connection_attempts(monkeypatch)
    inbox = box.inbox(IOM_SFTP_KEY_FILE=str(box.server.wrong_client_key_path))
    with pytest.raises(SourceError, match="refused the client key"):
        inbox.list_files("cohort")
    assert len(attempts) == 1


def test_key_material_from_the_environment(box: RemoteBox):
    key = Path(box.server.client_key_path).read_text()
    env = box.env()
    del env["IOM_SFTP_KEY_FILE"]
    inbox = open_inbox(box.url, {**env, "IOM_SFTP_KEY": key})
    try:
        assert inbox.list_files("cohort") == []
    finally:
        inbox.close()


def test_a_file_still_growing_is_not_read_until_stable(box: RemoteBox):
    path = box.local / "attendance" / "attendance_DIP_20261122.csv"
    path.write_text("agency,record_id\n")
    box.hand_over()
    inbox = box.inbox()

    def keep_writing(seconds: float) -> None:
        time.sleep(seconds)
        with path.open("a") as fh:  # the partner's upload is still going
            fh.write("DIP,1\n")

    try:
        ready, _, waiting = ready_files(inbox, "attendance", 2, sleep=keep_writing)
        assert (ready, waiting) == ([], 1)
        os.utime(path, (time.time() - 60, time.time() - 60))  # the upload finished a minute ago
        ready, _, waiting = ready_files(inbox, "attendance", 2)
        assert [f.name for f in ready] == [path.name] and waiting == 0
    finally:
        inbox.close()


def test_a_connection_dropped_mid_download_is_retried_without_loss(box: RemoteBox, hub, monkeypatch):
    rows = [
        {"record_id": str(i), "record_type": "APPOINTMENT", "iom_id": "LDS-000001", "surname": "Ó Briain",
         "forenames": "Siobhán", "event_datetime": "2026-11-22T10:00", "outcome": "ATTENDED",
         "appointment_type": "supervision " + "x" * 200}
        for i in range(20000)
    ]  # fmt: skip
    box.builder().attendance("PROBATION", date(2026, 11, 22), rows)
    box.hand_over()
    monkeypatch.setattr(sftp_module, "CHUNK", 32 * 1024)
    seen: list[int] = []

    def drop_once(_file, read_so_far: int) -> None:
        seen.append(read_so_far)
        if len(seen) == 1:
            assert box.server.drop_connections() > 0

    inbox = SftpInbox(sftp_settings(box.url, box.env()), on_chunk=drop_once)
    try:
        outcome = ingest_feed(hub.engine, inbox, FEEDS["attendance"], D, settle_seconds=0)
    finally:
        inbox.close()
    restarts = sum(1 for a, b in zip(seen, seen[1:], strict=False) if b <= a)
    assert restarts == 1  # the read started again from the beginning, once
    assert (outcome.rows_loaded, outcome.rows_quarantined) == (20000, 0)
    (count,) = hub.query("select count(*) as n, count(distinct record_id) as d from attendance_row")
    assert tuple(count) == (20000, 20000)


def test_ingested_files_move_to_processed_where_the_account_may_write(box: RemoteBox, hub):
    box.builder().attendance("DIP", date(2026, 11, 22), [])
    box.hand_over()
    inbox = box.inbox(IOM_SFTP_MOVE_PROCESSED="yes")
    try:
        assert ingest_feed(hub.engine, inbox, FEEDS["attendance"], D, settle_seconds=0).files_loaded == 1
    finally:
        inbox.close()
    assert [p.name for p in (box.local / "attendance").iterdir()] == ["processed"]
    assert [p.name for p in (box.local / "attendance" / "processed").iterdir()] == ["attendance_DIP_20261122.csv"]


def test_a_read_only_account_carries_on_read_only(box: RemoteBox, hub):
    box.builder().attendance("DIP", date(2026, 11, 22), [])
    box.hand_over()
    os.chown(box.local / "attendance", 0, 0)  # the user may read this folder, not change it
    os.chmod(box.local / "attendance", 0o755)  # (said outright: the test process's umask is the hub's, 007)
    inbox = box.inbox(IOM_SFTP_MOVE_PROCESSED="yes")
    try:
        assert ingest_feed(hub.engine, inbox, FEEDS["attendance"], D, settle_seconds=0).files_loaded == 1
    finally:
        inbox.close()
    assert [p.name for p in (box.local / "attendance").iterdir()] == ["attendance_DIP_20261122.csv"]


def test_report_delivery_to_the_outbox_is_atomic(box: RemoteBox, tmp_path: Path, monkeypatch):
    report = tmp_path / "CH"
    report.mkdir()
    for name in ("arrests.csv", "feeds.csv", "report.html"):
        (report / name).write_text(f"v1 {name}")
    outbox = SftpOutbox(box.url, box.env())
    final = box.local / "CH" / "2026-11-23"
    try:
        outbox.deliver(report, "CH", "2026-11-23")
        assert {p.name: p.read_text() for p in final.iterdir()} == {
            n: f"v1 {n}" for n in ("arrests.csv", "feeds.csv", "report.html")
        }
        for name in ("arrests.csv", "feeds.csv", "report.html"):
            (report / name).write_text(f"v2 {name}")
        (report / "reviews.csv").write_text("v2 reviews.csv")
        # While the new version uploads, a reader sees the old one, whole.
        glimpses = []
        real_put = type(outbox.session.sftp()).put

        def watching_put(self, local, remote, *a, **kw):
            result = real_put(self, local, remote, *a, **kw)
            glimpses.append({p.name: p.read_text() for p in final.iterdir()})
            return result

        monkeypatch.setattr(type(outbox.session.sftp()), "put", watching_put)
        outbox.deliver(report, "CH", "2026-11-23")
    finally:
        outbox.close()
    assert len(glimpses) == 4
    assert all(g == {n: f"v1 {n}" for n in ("arrests.csv", "feeds.csv", "report.html")} for g in glimpses)
    assert {p.name: p.read_text() for p in final.iterdir()} == {
        n: f"v2 {n}" for n in ("arrests.csv", "feeds.csv", "report.html", "reviews.csv")
    }
    assert sorted(p.name for p in (box.local / "CH").iterdir()) == ["2026-11-23"]  # nothing left half-way


def test_a_performance_pack_is_delivered_two_folders_down_as_a_daily_report_is(box: RemoteBox, tmp_path: Path):
    """<outbox>/performance/<month>/<division>/: the levels made as needed, so the daily
    report's relative link (../../performance/...) works in the outbox too."""
    pack = tmp_path / "CH"
    pack.mkdir()
    (pack / "performance.html").write_text("pack")
    outbox = SftpOutbox(box.url, box.env())
    try:
        outbox.deliver(pack, "performance/2026-11", "CH")
        outbox.deliver(pack, "performance/2026-11", "NE")  # the month's folder exists now
    finally:
        outbox.close()
    assert (box.local / "performance" / "2026-11" / "CH" / "performance.html").read_text() == "pack"
    assert sorted(p.name for p in (box.local / "performance" / "2026-11").iterdir()) == ["CH", "NE"]
