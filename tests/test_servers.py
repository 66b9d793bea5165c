"""The loopback test servers (tests/servers.py) are real and usable: sshd serving SFTP with
key-only, host-key-checked logins; PostgreSQL through the "PostgreSQL Unicode" ODBC driver;
SQLite through the SQLite3 ODBC driver."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import paramiko
import pyodbc
import pytest

from pipelines.feeds import FEEDS

if TYPE_CHECKING:  # imported at run time only as the plugin below: pytest then rewrites its asserts
    from tests.servers import PostgresServer, SftpServer, SqliteOdbc


NAME = "Siobhán Ó Briain"


@contextmanager
def sftp_session(
    server: SftpServer, *, key: Path | None = None, known_hosts: Path | None = None, password: str | None = None
) -> Iterator[paramiko.SFTPClient]:
    """Open an SFTP session the way a careful client does: known host key or refuse."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts or server.known_hosts_path))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            server.host,
            port=server.port,
            username=server.user,
            key_filename=None if password else str(key or server.client_key_path),
            password=password,
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
            banner_timeout=10,
            auth_timeout=10,
        )
        sftp = client.open_sftp()
        sftp.get_channel().settimeout(10)
        yield sftp
    finally:
        client.close()


# --------------------------------------------------------------------------- SFTP


def test_feed_folders_are_the_contract_feeds() -> None:
    from tests.servers import FEED_FOLDERS

    assert set(FEED_FOLDERS) == set(FEEDS)


def test_sftp_lists_the_inbox_feed_folders(sftp_server: SftpServer) -> None:
    with sftp_session(sftp_server) as sftp:
        assert sorted(sftp.listdir("/")) == ["inbox", "outbox", "readonly"]
        assert sorted(sftp.listdir("inbox")) == sorted(FEEDS)
        assert sftp.open("readonly/README.txt").read().startswith(b"read-only")
    assert sftp_server.url() == f"sftp://iomsftp@127.0.0.1:{sftp_server.port}/inbox"
    assert sftp_server.url("/outbox") == f"sftp://iomsftp@127.0.0.1:{sftp_server.port}/outbox"


def test_sftp_writes_inbox_and_outbox_but_not_readonly(sftp_server: SftpServer) -> None:
    with sftp_session(sftp_server) as sftp:
        sftp.putfo(io.BytesIO(b"a,b\n"), "inbox/arrests/upload-test.csv")
        sftp.mkdir("outbox/2026-11-23")
        sftp.putfo(io.BytesIO(NAME.encode()), "outbox/2026-11-23/report.html")
        with pytest.raises(PermissionError):
            sftp.putfo(io.BytesIO(b"x"), "readonly/nope.txt")
        with pytest.raises(PermissionError):
            sftp.mkdir("readonly/nope")
        with pytest.raises(PermissionError):
            sftp.remove("readonly/README.txt")
    written = sftp_server.path("inbox/arrests/upload-test.csv")
    assert written.read_bytes() == b"a,b\n"
    assert written.stat().st_uid == sftp_server.uid
    assert sftp_server.path("outbox/2026-11-23/report.html").read_text(encoding="utf-8") == NAME
    assert not sftp_server.path("readonly/nope.txt").exists()


def test_files_made_in_the_chroot_are_served_and_can_grow(sftp_server: SftpServer) -> None:
    local = sftp_server.chroot / "inbox" / "court_results" / "growing.csv"
    local.write_bytes(b"line 1\n")
    sftp_server.chown(local)
    with sftp_session(sftp_server) as sftp:
        assert sftp.stat("inbox/court_results/growing.csv").st_size == 7
        with local.open("ab") as fh:  # a partner's upload still in progress
            fh.write(b"line 2\n")
        assert sftp.open("inbox/court_results/growing.csv").read() == b"line 1\nline 2\n"
        sftp.rename("inbox/court_results/growing.csv", "inbox/court_results/done.csv")
    assert not local.exists() and (local.parent / "done.csv").exists()


def test_wrong_host_key_is_refused(sftp_server: SftpServer) -> None:
    with pytest.raises(paramiko.BadHostKeyException), sftp_session(sftp_server, known_hosts=sftp_server.wrong_known_hosts_path):
        pass


def test_unknown_host_is_refused(sftp_server: SftpServer, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"), sftp_session(sftp_server, known_hosts=empty):
        pass


def test_unauthorised_client_key_is_refused(sftp_server: SftpServer) -> None:
    with pytest.raises(paramiko.AuthenticationException), sftp_session(sftp_server, key=sftp_server.wrong_client_key_path):
        pass


def test_passwords_are_not_offered(sftp_server: SftpServer) -> None:
    with pytest.raises(paramiko.BadAuthenticationType) as raised, sftp_session(sftp_server, password="guess"):
        pass
    assert raised.value.allowed_types == ["publickey"]


def test_drop_connections_breaks_an_open_session(sftp_server: SftpServer) -> None:
    with sftp_session(sftp_server) as sftp:
        assert sftp.listdir("inbox")
        assert sftp_server.drop_connections() >= 1
        with pytest.raises((OSError, EOFError, paramiko.SSHException)):
            sftp.listdir("inbox")
    assert sftp_server.session_pids() == []
    with sftp_session(sftp_server) as sftp:  # the listener is still there
        assert sorted(sftp.listdir("inbox")) == sorted(FEEDS)


# --------------------------------------------------------------------------- PostgreSQL


def test_postgres_round_trips_utf8_through_psqlodbc(postgres_server: PostgresServer) -> None:
    assert "Driver={PostgreSQL Unicode};Server=127.0.0.1;" in postgres_server.odbc_connection_string()
    with closing(pyodbc.connect(postgres_server.odbc_connection_string(), timeout=5, autocommit=True)) as conn:
        conn.execute("CREATE TABLE odbc_probe (id integer PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO odbc_probe VALUES (?, ?)", 1, NAME)
        conn.execute("INSERT INTO odbc_probe VALUES (2, 'Zoë Ní Bhriain')")
        assert [tuple(row) for row in conn.execute("SELECT id, name FROM odbc_probe ORDER BY id")] == [
            (1, NAME),
            (2, "Zoë Ní Bhriain"),
        ]
    # stored as UTF-8 characters, not double-encoded bytes that happen to round-trip
    assert postgres_server.psql("SELECT length(name), current_user FROM odbc_probe WHERE id = 1") == "16|postgres"
    assert postgres_server.psql("SELECT tableowner FROM pg_tables WHERE tablename = 'odbc_probe'") == "iom"


def test_postgres_stop_fails_connections_and_start_restores(postgres_server: PostgresServer) -> None:
    postgres_server.stop()
    try:
        assert not postgres_server.is_running()
        with pytest.raises(pyodbc.OperationalError):
            pyodbc.connect(postgres_server.odbc_connection_string(), timeout=3)
    finally:
        postgres_server.start()
    with closing(pyodbc.connect(postgres_server.odbc_connection_string(), timeout=5)) as conn:
        assert tuple(conn.execute("SELECT current_database(), current_user").fetchone()) == ("iomhub", "iom")


# --------------------------------------------------------------------------- SQLite


def test_sqlite3_odbc_reads_back_accents(sqlite_odbc: SqliteOdbc) -> None:
    assert sqlite_odbc.connection_string == f"Driver={{SQLite3}};Database={sqlite_odbc.path};"
    import sqlite3

    with sqlite3.connect(sqlite_odbc.path) as db:  # written by another program, read through ODBC
        db.execute("CREATE TABLE person (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO person (name) VALUES (?)", (NAME,))
    with closing(pyodbc.connect(sqlite_odbc.connection_string, autocommit=True)) as conn:
        conn.execute("INSERT INTO person (name) VALUES (?)", "Zoë Ní Bhriain")
        assert [tuple(row) for row in conn.execute("SELECT id, name FROM person ORDER BY id")] == [
            (1, NAME),
            (2, "Zoë Ní Bhriain"),
        ]
    assert os.path.getsize(sqlite_odbc.path) > 0
