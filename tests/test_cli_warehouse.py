"""IOM_WAREHOUSE_URL and IOM_DB_*: every problem said before the run, in one line naming
the setting; an unreachable PostgreSQL retried as the README says, then named by host:port
and database, never with its password (a real PostgreSQL: tests/servers.py)."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import pytest

from pipelines.cli import main
from pipelines.resources import WarehouseResource
from tests.test_cli import run_cli
from warehouse.connect import ConnectPolicy, WarehouseError, check_sqlite_file, parse_url
from warehouse.db import make_engine, open_warehouse

if TYPE_CHECKING:
    from tests.servers import PostgresServer

pytest_plugins = ["tests.servers"]

NOT_A_URL = (
    "iom-hub: IOM_WAREHOUSE_URL: 'notaurl' is not a SQLAlchemy URL "
    "(e.g. sqlite:////path/warehouse.sqlite or postgresql+psycopg2://user@host:5432/db)"
)


def unused_port() -> int:
    """A loopback port nothing listens on (bound and released: connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Settings that are fine apart from the warehouse, which each test sets."""
    (tmp_path / "inbox").mkdir()
    return {
        "IOM_INBOX": str(tmp_path / "inbox"),
        "IOM_REPORTS_DIR": str(tmp_path / "reports"),
        "IOM_REVIEW_DIR": str(tmp_path / "review"),
        "IOM_QUALITY_DIR": str(tmp_path / "quality"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }


def assert_one_line(done, expected: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [expected], done.stderr
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    "command",
    # run, backfill and catch-up share one preflight; migrate and review share the warehouse check
    [("run", "--date", "2026-11-23"), ("catch-up",), ("migrate",)],
    ids=lambda c: c[0],
)
def test_not_a_url_is_one_line_before_anything_runs(env, tmp_path, command):
    done = run_cli(*command, env={**env, "IOM_WAREHOUSE_URL": "notaurl"})
    assert_one_line(done, NOT_A_URL)
    assert not (tmp_path / "dagster_home").exists()  # no run was started


def test_a_missing_sqlite_folder_is_refused_and_not_made(env, tmp_path):
    typo = tmp_path / "wherehouse"
    url = f"sqlite:///{typo / 'warehouse.sqlite'}"
    expected = (
        f"iom-hub: IOM_WAREHOUSE_URL: the folder {typo} does not exist, so there is no SQLite warehouse warehouse.sqlite "
        "in it (check the path; a new warehouse is made only in a folder that exists)"
    )
    for command in (("run", "--date", "2026-11-23"), ("migrate",)):
        assert_one_line(run_cli(*command, env={**env, "IOM_WAREHOUSE_URL": url}), expected)
        assert not typo.exists()
    # In a folder that exists, a new warehouse is made, as ever.
    done = run_cli("migrate", env={**env, "IOM_WAREHOUSE_URL": f"sqlite:///{tmp_path / 'warehouse.sqlite'}"})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "warehouse.sqlite").exists()


def test_only_the_projects_own_data_folder_is_made(tmp_path):
    owned = tmp_path / "data"
    check_sqlite_file(parse_url(f"sqlite:///{owned / 'warehouse.sqlite'}"), owned_folder=owned)
    assert owned.is_dir()  # the default IOM_WAREHOUSE_URL, on a fresh machine: the demo works
    with pytest.raises(WarehouseError, match="does not exist"):
        check_sqlite_file(parse_url(f"sqlite:///{owned / 'deeper' / 'warehouse.sqlite'}"), owned_folder=owned)
    assert not (owned / "deeper").exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "postgresql://iom:pw@db.example/iomhub",
            "the postgresql+psycopg driver (Python module psycopg) is not installed "
            "(this project installs psycopg2: use postgresql+psycopg2://): postgresql://iom:***@db.example/iomhub",
        ),
        ("mysql://iom:pw@db.example/iomhub", "the mysql+mysqldb driver (Python module MySQLdb) is not installed"),
        ("postgresql+nodriver://db.example/iomhub", "SQLAlchemy has no driver 'nodriver' for postgresql"),
        ("postgres://iom@db.example/iomhub", "'postgres' is not a database SQLAlchemy knows (write postgresql+psycopg2://"),
        ("oracle+nope://x/y", "SQLAlchemy has no driver 'nope' for oracle"),
        ("nosuchdb://x/y", "'nosuchdb' is not a database SQLAlchemy knows"),
        ("postgresql+psycopg2://iom:pw@db.example:port/iomhub", "'postgresql+psycopg2://iom:***@db.example:port/iomhub' is not"),
        ("sqlite://", "is an in-memory SQLite database, gone when the run ends"),
    ],  # fmt: skip
)
def test_each_url_problem_names_the_setting_and_hides_the_password(url, message):
    with pytest.raises(WarehouseError) as caught:
        make_engine(url)
    assert str(caught.value).startswith("IOM_WAREHOUSE_URL: ")
    assert message in str(caught.value)
    assert ":pw@" not in str(caught.value)


def test_a_file_that_is_not_a_database_is_said_plainly(env, tmp_path):
    (tmp_path / "notes.txt").write_text("not a database, " * 400, encoding="utf-8")
    done = run_cli("migrate", env={**env, "IOM_WAREHOUSE_URL": f"sqlite:///{tmp_path / 'notes.txt'}"})
    assert_one_line(done, f"iom-hub: IOM_WAREHOUSE_URL: cannot open the SQLite warehouse {tmp_path / 'notes.txt'}: "
                          "file is not a database")  # fmt: skip


def test_bad_retry_settings_name_the_variable(env, tmp_path):
    url = f"postgresql+psycopg2://iom@127.0.0.1:{unused_port()}/iomhub"
    done = run_cli("migrate", env={**env, "IOM_WAREHOUSE_URL": url, "IOM_DB_RETRIES": "lots"})
    assert_one_line(done, "iom-hub: IOM_DB_RETRIES: 'lots' is not a whole number, 0 or more")
    with pytest.raises(WarehouseError, match="IOM_DB_BACKOFF: '-1' is not a number of seconds"):
        ConnectPolicy.from_env({"IOM_DB_BACKOFF": "-1"})
    assert ConnectPolicy.from_env({}) == ConnectPolicy(retries=3, backoff=2.0, timeout=10)  # the README's defaults


def test_an_unreachable_postgresql_is_retried_then_named_by_host_port_and_database(env):
    port = unused_port()
    url = f"postgresql+psycopg2://iom:s3cret-pw@127.0.0.1:{port}/iomhub"
    retry = {"IOM_DB_RETRIES": "2", "IOM_DB_BACKOFF": "0.5"}  # 3 attempts, 0.5 s then 1 s between them
    expected = (
        f"iom-hub: IOM_WAREHOUSE_URL: cannot connect to PostgreSQL at 127.0.0.1:{port} (database iomhub) "
        "after 3 attempts: connection refused"
    )
    for command in (("run", "--date", "2026-11-23"), ("migrate",)):
        started = time.monotonic()
        done = run_cli(*command, env={**env, "IOM_WAREHOUSE_URL": url, **retry})
        assert time.monotonic() - started >= 1.5  # it waited between the attempts
        assert_one_line(done, expected)
        assert "s3cret-pw" not in done.stdout + done.stderr


def test_postgresql_that_comes_back_during_the_retries_is_used(env, postgres_server: PostgresServer):
    url = postgres_server.sqlalchemy_url()
    postgres_server.stop()
    try:
        starter = threading.Timer(2.0, postgres_server.start)
        starter.start()
        # 6 attempts over 0.5 + 1 + 2 + 4 + 8 s: the server is back after about 3 s.
        done = run_cli("migrate", env={**env, "IOM_WAREHOUSE_URL": url, "IOM_DB_RETRIES": "5", "IOM_DB_BACKOFF": "0.5"})
        starter.join()
    finally:
        postgres_server.start()
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        f"warehouse schema is up to date (postgresql+psycopg2://iom:***@127.0.0.1:{postgres_server.port}/iomhub)" in done.stdout
    )


@pytest.fixture
def fresh_database(postgres_server: PostgresServer):
    name = f"cli_{uuid.uuid4().hex[:12]}"
    postgres_server.psql(f"CREATE DATABASE {name} OWNER {postgres_server.user} ENCODING 'UTF8' TEMPLATE template0")
    yield name
    postgres_server.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", database="postgres")


def test_postgresql_migrate_and_refusals_that_no_retry_would_change(env, postgres_server: PostgresServer, fresh_database):
    good = postgres_server.sqlalchemy_url(database=fresh_database)
    done = run_cli("migrate", env={**env, "IOM_WAREHOUSE_URL": good})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "schema is up to date" in done.stdout and postgres_server.password not in done.stdout
    where = f"PostgreSQL at 127.0.0.1:{postgres_server.port}"
    slow = {"IOM_DB_RETRIES": "3", "IOM_DB_BACKOFF": "5"}  # a retry would take 35 s: none is made
    wrong_password = good.replace(postgres_server.password, "not-the-password")
    started = time.monotonic()
    done = run_cli("migrate", env={**env, "IOM_WAREHOUSE_URL": wrong_password, **slow})
    assert time.monotonic() - started < 30
    assert_one_line(done, f"iom-hub: IOM_WAREHOUSE_URL: {where} (database {fresh_database}) refused the connection: "
                          'password authentication failed for user "iom"')  # fmt: skip
    assert "not-the-password" not in done.stderr
    no_database = postgres_server.sqlalchemy_url(database="no_such_db")
    done = run_cli("migrate", env={**env, "IOM_WAREHOUSE_URL": no_database, **slow})
    assert_one_line(done, f"iom-hub: IOM_WAREHOUSE_URL: {where} (database no_such_db) refused the connection: "
                          'database "no_such_db" does not exist')  # fmt: skip


def test_a_dagster_run_gets_the_same_message(monkeypatch):
    # A run started from the UI has no preflight: each step says it, once, as a dg.Failure.
    with pytest.raises(dg.Failure) as caught:
        WarehouseResource(url="notaurl").engine()
    assert caught.value.description == NOT_A_URL.removeprefix("iom-hub: ")
    # An unreachable server: the connection's retries, then Dagster's retries of the step.
    monkeypatch.setenv("IOM_DB_RETRIES", "0")
    with pytest.raises(dg.RetryRequested) as retried:
        WarehouseResource(url=f"postgresql+psycopg2://iom@127.0.0.1:{unused_port()}/iomhub").engine()
    assert retried.value.max_retries == 3 and retried.value.seconds_to_wait == 120
    assert "cannot connect to PostgreSQL at 127.0.0.1:" in str(retried.value.__cause__)


def test_open_warehouse_with_a_policy_counts_attempts(postgres_server: PostgresServer):
    engine = open_warehouse(postgres_server.sqlalchemy_url(), policy=ConnectPolicy(retries=0, backoff=0, timeout=5))
    engine.dispose()
    with pytest.raises(WarehouseError, match=r"after 1 attempt: connection refused$"):
        open_warehouse(f"postgresql+psycopg2://iom@127.0.0.1:{unused_port()}/iomhub", policy=ConnectPolicy(0, 0, 5))


def test_review_commands_check_the_warehouse_the_same_way(env, monkeypatch, capsys):
    for name, value in {**env, "IOM_WAREHOUSE_URL": "notaurl"}.items():
        monkeypatch.setenv(name, value)
    assert main(["review", "list"]) == 2
    assert main(["review", "accept", "arrests", "K1", "LDS-000001", "--by", "x"]) == 2
    assert capsys.readouterr().err.splitlines() == [NOT_A_URL, NOT_A_URL]
