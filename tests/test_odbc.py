"""Feeds read over ODBC (CONTRACT 3.1, 3.2, 5) against real databases: the cohort register
from PostgreSQL through the psqlODBC "PostgreSQL Unicode" driver, NICHE arrest notifications
from SQLite through the "SQLite3" ODBC driver (tests/servers.py).

Each PostgreSQL test gets a database of its own (the views have fixed names), owned by the
ordinary `iom` role and filled through psycopg2, so the ODBC read is the only path under test.
"""

from __future__ import annotations

import builtins
import sqlite3
import sys
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import sqlalchemy as sa

import pipelines.sources.odbc as odbc
from pipelines.assets.ingest import _ingest
from pipelines.feeds import FEEDS, ColType
from pipelines.ingest import ingest_view
from pipelines.resources import HubResource, InboxResource, OdbcResource
from pipelines.settings import PROJECT_ROOT, today_in_london
from pipelines.sources.base import SourceError, TransientSourceError
from pipelines.sources.odbc import VIEWS, read_view
from pipelines.store import register_in_force
from tests.builders import member
from tests.conftest import BOTH_WAREHOUSES
from warehouse.schema import ROW_TABLES, ingest_file

if TYPE_CHECKING:
    from tests.conftest import Hub
    from tests.servers import PostgresServer, SqliteOdbc

COHORT = FEEDS["cohort"]
ARRESTS = FEEDS["arrests"]
LONDON = ZoneInfo("Europe/London")
SQL_TYPES = {ColType.DATE: "DATE", ColType.DATETIME: "TIMESTAMP"}  # everything else TEXT

MEMBERS = [
    member("LDS-000001", "Ó Briain", "Siobhán", "1990-02-01", niche_nominal_id="NN77", next_review_due="2026-12-01",
           gender="F", postcode="LS6 1AA"),
    member("LDS-000002", "Ng-Smith", "Zoë", "1985-07-14", status="DESELECTED", selected_on="2025-03-01",
           deselected_on="2026-06-30", deselection_reason="Completed programme"),
    member("LDS-000003", "O'Neill", "Seán Patrick", "1979-12-31", pnc_id="2012/0394773H", cro_number="029906/12J"),
    member("LDS-000004", "Smith", "John", "2001-01-01", status="NOMINATED", selected_on="", nominated_by="POLICE"),
    member("LDS-000005", "Brown", "Amy", "1995-05-05", managing_division="NE", strand="CATCH_CONVICT",
           support_plan_agreed_on="2026-02-03", risk_level="HIGH"),
]  # fmt: skip


# --------------------------------------------------------------------------- helpers


def source_ddl(feed_name: str, table: str) -> str:
    """The partner's table, typed: DATE and TIMESTAMP columns as such, the rest text."""
    columns = ", ".join(f"{c.name} {SQL_TYPES.get(c.type, 'TEXT')}" for c in FEEDS[feed_name].columns)
    return f"CREATE TABLE {table} ({columns})"


def view_ddl(feed_name: str, table: str, without: tuple[str, ...] = ()) -> str:
    shown = ", ".join(c.name for c in FEEDS[feed_name].columns if c.name not in without)
    return f"CREATE VIEW {VIEWS[feed_name]} AS SELECT {shown} FROM {table}"


def typed(feed_name: str, row: dict[str, str]) -> dict[str, Any]:
    """A row as text (ISO dates, 'YYYY-MM-DD HH:MM[:SS]' timestamps, '' blank) -> typed values, blank -> NULL."""
    out: dict[str, Any] = {}
    for c in FEEDS[feed_name].columns:
        text = row.get(c.name, "")
        if text == "":
            out[c.name] = None
        elif c.type is ColType.DATE:
            out[c.name] = date.fromisoformat(text)
        elif c.type is ColType.DATETIME:
            out[c.name] = datetime.fromisoformat(text)
        else:
            out[c.name] = text
    return out


def as_feed_text(feed_name: str, row: dict[str, str]) -> dict[str, str]:
    """What a file of the feed would carry for the row: its own date formats, blank for NULL."""
    feed = FEEDS[feed_name]
    out = {}
    for c, value in typed(feed_name, row).items():
        if value is None:
            out[c] = ""
        elif isinstance(value, datetime):
            out[c] = value.strftime(feed.datetime_formats[1] if value.second else feed.datetime_formats[0])
        elif isinstance(value, date):
            out[c] = value.strftime(feed.date_format)
        else:
            out[c] = value
    return out


@dataclass
class PgDatabase:
    """A database of its own on the shared PostgreSQL test server, owned by the `iom` role."""

    server: PostgresServer
    name: str
    engine: sa.Engine  # psycopg2, as the case-management system would write it

    @property
    def odbc(self) -> str:
        return self.server.odbc_connection_string(database=self.name)

    def execute(self, sql: str, rows: list[dict[str, Any]] | None = None) -> None:
        with self.engine.begin() as conn:
            if rows:
                conn.execute(sa.text(sql), rows)
            else:
                conn.execute(sa.text(sql))

    def feed_view(self, feed_name: str, rows: list[dict[str, str]], *, without: tuple[str, ...] = ()) -> None:
        """(Re)create the feed's source table holding `rows` and its view over it."""
        table = f"{feed_name}_source"
        self.execute(f"DROP VIEW IF EXISTS {VIEWS[feed_name]}")
        self.execute(f"DROP TABLE IF EXISTS {table}")
        self.execute(source_ddl(feed_name, table))
        if rows:
            names = [c.name for c in FEEDS[feed_name].columns]
            insert = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"
            self.execute(insert, [typed(feed_name, r) for r in rows])
        self.execute(view_ddl(feed_name, table, without))

    def drop(self) -> None:
        self.engine.dispose()
        self.server.psql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)", database="postgres")


@pytest.fixture
def pg_databases(postgres_server: PostgresServer) -> Iterator[Callable[[], PgDatabase]]:
    """Make fresh databases on the test server; all dropped at the end of the test."""
    made: list[PgDatabase] = []

    def make() -> PgDatabase:
        name = f"odbc_{uuid.uuid4().hex[:12]}"
        postgres_server.psql(
            f"CREATE DATABASE {name} OWNER {postgres_server.user} ENCODING 'UTF8' TEMPLATE template0", database="postgres"
        )
        db = PgDatabase(postgres_server, name, sa.create_engine(postgres_server.sqlalchemy_url(database=name)))
        made.append(db)
        return db

    yield make
    postgres_server.start()  # should a test have left it stopped
    for db in made:
        db.drop()


@pytest.fixture
def pg_db(pg_databases: Callable[[], PgDatabase]) -> PgDatabase:
    return pg_databases()


def sqlite_feed_view(path, feed_name: str, rows: list[dict[str, str]]) -> None:
    """The feed's table and view in an SQLite file: DATE/TIMESTAMP declared types, ISO text values."""
    table = f"{feed_name}_source"
    names = [c.name for c in FEEDS[feed_name].columns]
    db = sqlite3.connect(path)
    try:
        db.execute(source_ddl(feed_name, table))
        db.executemany(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [[(r.get(n) or None) for n in names] for r in rows],
        )
        db.execute(view_ddl(feed_name, table))
        db.commit()
    finally:
        db.close()


def warehouse_contents(engine: sa.Engine) -> dict[str, list[str]]:
    """Every row of every table, as it stands (nothing left out: nothing may change)."""
    with engine.connect() as conn:
        return {
            table: sorted(map(repr, conn.execute(sa.text(f'SELECT * FROM "{table}"')).fetchall()))
            for table in sa.inspect(conn).get_table_names()
        }


def ledger(hub: Hub, feed: str) -> list[sa.Row]:
    q = sa.select(ingest_file).where(ingest_file.c.feed == feed).order_by(ingest_file.c.id)
    with hub.engine.connect() as conn:
        return list(conn.execute(q))


def rows_of(hub: Hub, feed: str) -> list[sa.Row]:
    table = ROW_TABLES[feed]
    with hub.engine.connect() as conn:
        return list(conn.execute(sa.select(table).order_by(table.c.file_id, table.c.row_no)))


def frame_rows(read: odbc.ViewRead, key: str) -> dict[str, dict[str, str]]:
    frame = read.table.frame
    return {r[key]: {c: r[c] for c in read.table.columns} for r in frame.to_dict("records")}


def spy_on_fetches(monkeypatch) -> list[int]:
    """Record how many rows each fetchmany() of an ODBC read returns."""
    import pyodbc

    fetches: list[int] = []
    real_connect = pyodbc.connect

    class CursorSpy:
        def __init__(self, cursor) -> None:
            self._cursor = cursor

        def __getattr__(self, name: str) -> Any:
            return getattr(self._cursor, name)

        def fetchmany(self, size: int) -> list:
            rows = self._cursor.fetchmany(size)
            fetches.append(len(rows))
            return rows

    class ConnectionSpy:
        def __init__(self, conn) -> None:
            self.__dict__["_conn"] = conn

        def __getattr__(self, name: str) -> Any:
            return getattr(self._conn, name)

        def __setattr__(self, name: str, value: Any) -> None:
            setattr(self._conn, name, value)

        def cursor(self) -> CursorSpy:
            return CursorSpy(self._conn.cursor())

    monkeypatch.setattr(pyodbc, "connect", lambda *a, **kw: ConnectionSpy(real_connect(*a, **kw)))
    return fetches


# --------------------------------------------------------------------------- the cohort from PostgreSQL


@BOTH_WAREHOUSES
def test_cohort_view_is_read_typed_in_chunks_and_names_survive_into_the_warehouse(hub, pg_db, monkeypatch):
    today = today_in_london()
    pg_db.feed_view("cohort", MEMBERS)
    monkeypatch.setattr(odbc, "FETCH_ROWS", 2)
    fetches = spy_on_fetches(monkeypatch)

    read = read_view("cohort", pg_db.odbc, today)

    assert fetches == [2, 2, 1, 0]  # 5 rows in chunks of 2, all of them read
    assert read.name == f"iom_cohort@{today.isoformat()}"
    assert (read.feed, read.read_on, read.rows) == ("cohort", today, len(MEMBERS))
    assert read.table.columns == COHORT.column_names
    # Typed dates come back as the feed's own date text; NULLs as blanks.
    got = frame_rows(read, "iom_id")
    assert got == {m["iom_id"]: {c: m.get(c, "") for c in COHORT.column_names} for m in MEMBERS}
    assert got["LDS-000001"]["date_of_birth"] == "1990-02-01" and got["LDS-000001"]["pnc_id"] == ""

    outcome = ingest_view(hub.engine, COHORT, read, today, source="odbc:iom_cohort")
    assert (outcome.files_loaded, outcome.rows_loaded, outcome.rows_quarantined) == (1, len(MEMBERS), 0)

    [entry] = ledger(hub, "cohort")
    assert (entry.name, entry.file_date, entry.version, entry.is_current, entry.status) == (
        read.name, today, 1, True, "LOADED")  # fmt: skip
    assert (entry.source, entry.rows_in, entry.rows_loaded, entry.arrived_at) == ("odbc:iom_cohort", 5, 5, None)
    stored = {r.iom_id: r for r in rows_of(hub, "cohort")}
    assert {k: (r.surname, r.forenames) for k, r in stored.items()} == {
        "LDS-000001": ("Ó Briain", "Siobhán"),
        "LDS-000002": ("Ng-Smith", "Zoë"),
        "LDS-000003": ("O'Neill", "Seán Patrick"),
        "LDS-000004": ("Smith", "John"),
        "LDS-000005": ("Brown", "Amy"),
    }
    first = stored["LDS-000001"]
    assert (first.date_of_birth, first.next_review_due, first.pnc_id, first.selected_on) == (
        date(1990, 2, 1), date(2026, 12, 1), None, date(2026, 1, 1))  # fmt: skip
    deselected = stored["LDS-000002"]
    assert (deselected.status, deselected.deselected_on) == ("DESELECTED", date(2026, 6, 30))
    assert stored["LDS-000003"].pnc_id == "2012/0394773H"
    assert stored["LDS-000004"].selected_on is None


def test_the_same_view_read_again_changes_nothing_and_new_content_is_a_correction(hub, pg_db):
    today = today_in_london()
    pg_db.feed_view("cohort", MEMBERS)
    first = ingest_view(hub.engine, COHORT, read_view("cohort", pg_db.odbc, today), today, source="odbc:iom_cohort")
    assert first.files_loaded == 1
    before = warehouse_contents(hub.engine)

    again = ingest_view(hub.engine, COHORT, read_view("cohort", pg_db.odbc, today), today, source="odbc:iom_cohort")
    assert (again.files_unchanged, again.files_loaded) == (1, 0)
    assert warehouse_contents(hub.engine) == before

    # Later the same day the register changes: that day's delivery is corrected.
    pg_db.execute("UPDATE cohort_source SET surname = 'Ó Briain-Walsh' WHERE iom_id = 'LDS-000001'")
    pg_db.execute("DELETE FROM cohort_source WHERE iom_id = 'LDS-000005'")
    corrected = ingest_view(hub.engine, COHORT, read_view("cohort", pg_db.odbc, today), today, source="odbc:iom_cohort")
    assert (corrected.files_loaded, corrected.files_corrected, corrected.rows_loaded) == (1, 1, 4)

    v1, v2 = ledger(hub, "cohort")
    assert v1.name == v2.name == f"iom_cohort@{today.isoformat()}"
    assert (v1.version, v1.is_current, v2.version, v2.is_current) == (1, False, 2, True)
    stored = rows_of(hub, "cohort")
    assert {r.file_id for r in stored} == {v2.id}  # version 1's rows are gone
    assert sorted((r.iom_id, r.surname) for r in stored) == [
        ("LDS-000001", "Ó Briain-Walsh"), ("LDS-000002", "Ng-Smith"), ("LDS-000003", "O'Neill"), ("LDS-000004", "Smith"),
    ]  # fmt: skip


# --------------------------------------------------------------------------- arrests from SQLite


def test_arrests_from_sqlite_over_odbc_are_typed_and_rendered_in_the_feeds_uk_format(hub, sqlite_odbc: SqliteOdbc):
    today = today_in_london()
    arrests = [
        {"custody_ref": "K1", "niche_nominal_id": "NN77", "surname": "Ó Briain", "forenames": "Siobhán",
         "date_of_birth": "1990-02-01", "arrest_datetime": "2026-11-22 10:05:00", "arrest_division": "CH",
         "custody_suite": "Elland Road", "offence_code": "TH68010", "offence_description": "Theft from a shop",
         "outcome": "CHARGED", "outcome_datetime": "2026-11-22 18:30:45", "next_court_date": "2026-12-04"},
        {"custody_ref": "K2", "surname": "Ng-Smith", "forenames": "Zoë", "arrest_datetime": "2026-11-22 23:59:30",
         "offence_description": "Criminal damage"},  # pending: outcome and its time NULL
    ]  # fmt: skip
    sqlite_feed_view(sqlite_odbc.path, "arrests", arrests)

    read = read_view("arrests", sqlite_odbc.connection_string, today)

    assert read.name == f"iom_arrest_notifications@{today.isoformat()}"
    got = frame_rows(read, "custody_ref")
    assert got == {a["custody_ref"]: as_feed_text("arrests", a) for a in arrests}
    assert (got["K1"]["arrest_datetime"], got["K1"]["outcome_datetime"]) == ("22/11/2026 10:05", "22/11/2026 18:30:45")
    assert (got["K1"]["date_of_birth"], got["K1"]["next_court_date"]) == ("01/02/1990", "04/12/2026")
    assert (got["K2"]["arrest_datetime"], got["K2"]["outcome"], got["K2"]["outcome_datetime"]) == (
        "22/11/2026 23:59:30", "", "")  # fmt: skip

    outcome = ingest_view(hub.engine, ARRESTS, read, today, source="odbc:iom_arrest_notifications")
    assert (outcome.files_loaded, outcome.rows_loaded, outcome.rows_quarantined) == (1, 2, 0)
    stored = {r.custody_ref: r for r in rows_of(hub, "arrests")}
    k1, k2 = stored["K1"], stored["K2"]
    assert (k1.arrest_datetime, k1.local_date, k1.outcome, k1.outcome_datetime, k1.next_court_date) == (
        datetime(2026, 11, 22, 10, 5), date(2026, 11, 22), "CHARGED", datetime(2026, 11, 22, 18, 30, 45), date(2026, 12, 4))  # fmt: skip
    assert (k1.surname, k1.forenames, k1.date_of_birth) == ("Ó Briain", "Siobhán", date(1990, 2, 1))
    assert (k2.arrest_datetime, k2.local_date, k2.outcome, k2.outcome_datetime) == (
        datetime(2026, 11, 22, 23, 59, 30), date(2026, 11, 22), None, None)  # fmt: skip
    assert (k2.surname, k2.forenames) == ("Ng-Smith", "Zoë")
    [entry] = ledger(hub, "arrests")
    assert (entry.name, entry.source, entry.file_date) == (read.name, "odbc:iom_arrest_notifications", today)


# --------------------------------------------------------------------------- report dates in the past


def _arrest(ref: str, when: str, **extra: str) -> dict[str, str]:
    return {"custody_ref": ref, "niche_nominal_id": "NN77", "surname": "O Briain", "forenames": "Siobhan",
            "arrest_datetime": when, "offence_description": "Theft", **extra}  # fmt: skip


def _feeds(hub: Hub, report_date: date) -> dict[str, dict[str, str]]:
    return {r["feed"]: r for r in hub.report(report_date, "CH", "feeds")}


def _read_at(hub: Hub, feed_name: str) -> str:
    """When the current read of a view was ingested, Europe/London wall-clock time."""
    [entry] = [e for e in ledger(hub, feed_name) if e.is_current]
    return f"{entry.ingested_at.replace(tzinfo=UTC).astimezone(LONDON):%Y-%m-%d %H:%M}"


@BOTH_WAREHOUSES
def test_a_view_read_today_serves_a_past_report_date_that_has_no_earlier_read(hub, pg_db, sqlite_odbc: SqliteOdbc):
    """The first report ever (or the first after an outage) is for a past date: the views
    are read today, and that read serves it, shown LATE with when it was read (CONTRACT 3)."""
    today = today_in_london()
    D = today - timedelta(days=5)
    yesterday = D - timedelta(days=1)
    pg_db.feed_view("cohort", MEMBERS)
    sqlite_feed_view(sqlite_odbc.path, "arrests", [
        _arrest("K1", f"{yesterday.isoformat()} 10:05:00", outcome="CHARGED"),
        _arrest("K2", f"{(D - timedelta(days=9)).isoformat()} 09:00:00"),  # not yesterday for D
    ])  # fmt: skip
    ingest_view(hub.engine, COHORT, read_view("cohort", pg_db.odbc, today), D, source="odbc:iom_cohort")
    ingest_view(hub.engine, ARRESTS, read_view("arrests", sqlite_odbc.connection_string, today), D,
                source="odbc:iom_arrest_notifications")  # fmt: skip

    hub.run(D)

    [k1] = hub.report(D, "CH", "arrests")
    assert (k1["custody_ref"], k1["iom_id"], k1["surname"], k1["outcome"]) == ("K1", "LDS-000001", "Ó Briain", "CHARGED")
    feeds = _feeds(hub, D)
    assert {k: feeds["arrests"][k] for k in ("status", "newest_file", "rows_loaded", "rows_quarantined")} == {
        "status": "LATE", "newest_file": f"iom_arrest_notifications@{today.isoformat()}", "rows_loaded": "2",
        "rows_quarantined": "0",
    }  # fmt: skip
    assert feeds["arrests"]["detail"] == f"read over ODBC on {_read_at(hub, 'arrests')}, after the report date"
    assert {k: feeds["cohort"][k] for k in ("status", "newest_file", "rows_loaded")} == {
        "status": "LATE", "newest_file": f"iom_cohort@{today.isoformat()}", "rows_loaded": str(len(MEMBERS))}  # fmt: skip
    assert feeds["cohort"]["detail"] == f"read over ODBC on {_read_at(hub, 'cohort')}, after the report date"
    html = (hub.reports_dir / D.isoformat() / "CH" / "report.html").read_text(encoding="utf-8")
    assert f"cohort register of {today:%a %-d %b %Y}" in html
    assert "Arrests is LATE: read over ODBC on" in html
    # The read is today's delivery too, and on time for today's report.
    hub.run(today)
    assert (_feeds(hub, today)["cohort"]["status"], _feeds(hub, today)["arrests"]["status"]) == ("OK", "OK")


@BOTH_WAREHOUSES
def test_a_read_on_or_before_the_report_date_wins_over_a_later_read(hub, pg_db, sqlite_odbc: SqliteOdbc):
    today = today_in_london()
    D = today - timedelta(days=2)
    yesterday = D - timedelta(days=1)
    pg_db.feed_view("cohort", MEMBERS)
    sqlite_feed_view(sqlite_odbc.path, "arrests", [_arrest("K1", f"{yesterday.isoformat()} 10:05:00")])
    # The read of the run for D, on D ...
    ingest_view(hub.engine, COHORT, read_view("cohort", pg_db.odbc, D), D, source="odbc:iom_cohort")
    ingest_view(hub.engine, ARRESTS, read_view("arrests", sqlite_odbc.connection_string, D), D,
                source="odbc:iom_arrest_notifications")  # fmt: skip
    # ... and today's, after both views changed: LDS-000001 moved to NE, K1 charged, K3 new.
    pg_db.execute("UPDATE cohort_source SET managing_division = 'NE' WHERE iom_id = 'LDS-000001'")
    sqlite_odbc_db = sqlite3.connect(sqlite_odbc.path)
    with sqlite_odbc_db:
        sqlite_odbc_db.execute("UPDATE arrests_source SET outcome = 'CHARGED' WHERE custody_ref = 'K1'")
        sqlite_odbc_db.execute(
            "INSERT INTO arrests_source (custody_ref, surname, forenames, arrest_datetime, offence_description, niche_nominal_id)"
            f" VALUES ('K3', 'x', 'y', '{yesterday.isoformat()} 11:00:00', 'Theft', 'NN77')"
        )
    sqlite_odbc_db.close()
    ingest_view(hub.engine, COHORT, read_view("cohort", pg_db.odbc, today), today, source="odbc:iom_cohort")
    ingest_view(hub.engine, ARRESTS, read_view("arrests", sqlite_odbc.connection_string, today), today,
                source="odbc:iom_arrest_notifications")  # fmt: skip

    hub.run(D)  # rebuilt after the later read: it must not change

    assert [(r["custody_ref"], r["managing_division"], r["outcome"]) for r in hub.report(D, "CH", "arrests")] == [
        ("K1", "CH", "")]  # fmt: skip
    feeds = _feeds(hub, D)
    assert {f: (feeds[f]["status"], feeds[f]["newest_file"], feeds[f]["detail"]) for f in ("cohort", "arrests")} == {
        "cohort": ("OK", f"iom_cohort@{D.isoformat()}", ""),
        "arrests": ("OK", f"iom_arrest_notifications@{D.isoformat()}", ""),
    }
    assert feeds["arrests"]["rows_loaded"] == "1"
    _, register = register_in_force(hub.engine, today)
    assert register.set_index("iom_id").loc["LDS-000001", "managing_division"] == "NE"


# --------------------------------------------------------------------------- errors


def assert_no_secret(message: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in message
    assert "Pwd=***" in message or "Pwd" not in message


@pytest.mark.parametrize(
    ("connection_string", "says"),
    [
        ("Driver={No Such Driver};Server=127.0.0.1;Port=5432;Database=iom;Uid=iom;Pwd=S3cret-pw;", "driver.*not installed"),
        ("DSN=no_such_dsn;Uid=iom;Pwd=S3cret-pw;", "unknown ODBC driver or data source"),
    ],
)
def test_an_unknown_driver_or_data_source_is_a_plain_error(connection_string, says):
    with pytest.raises(SourceError, match=says) as info:
        read_view("cohort", connection_string, today_in_london())
    assert not isinstance(info.value, TransientSourceError)
    assert_no_secret(str(info.value), "S3cret-pw")
    assert "Pwd=***" in str(info.value)


@pytest.mark.parametrize(
    "break_import",
    [
        pytest.param(lambda mp: mp.setitem(sys.modules, "pyodbc", None), id="pyodbc-missing"),
        pytest.param(None, id="libodbc-missing"),
    ],
)
def test_without_unixodbc_the_message_says_what_to_install(monkeypatch, break_import):
    if break_import is not None:
        break_import(monkeypatch)
    else:
        real_import = builtins.__import__

        def no_libodbc(name, *args, **kwargs):
            if name == "pyodbc":  # what importing pyodbc does when libodbc.so.2 is absent
                raise ImportError("libodbc.so.2: cannot open shared object file: No such file or directory")
            return real_import(name, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", no_libodbc)
    with pytest.raises(SourceError, match="unixODBC") as info:
        read_view("cohort", "Driver={PostgreSQL Unicode};Server=127.0.0.1;Uid=iom;Pwd=S3cret-pw;", today_in_london())
    assert_no_secret(str(info.value), "S3cret-pw")


def test_a_wrong_password_is_a_login_failure_that_names_neither_password(pg_db, postgres_server):
    wrong = f"Wr0ng-{uuid.uuid4().hex[:8]}"
    connection_string = postgres_server.odbc_connection_string(database=pg_db.name, Pwd=wrong)
    with pytest.raises(SourceError, match="login failed") as info:
        read_view("cohort", connection_string, today_in_london())
    assert not isinstance(info.value, TransientSourceError)
    assert_no_secret(str(info.value), wrong, postgres_server.password)
    assert pg_db.name in str(info.value)  # says where


def test_a_database_that_does_not_exist_is_not_retried(postgres_server):
    connection_string = postgres_server.odbc_connection_string(database="no_such_database")
    with pytest.raises(SourceError, match="does not exist") as info:
        read_view("cohort", connection_string, today_in_london())
    assert not isinstance(info.value, TransientSourceError)
    assert_no_secret(str(info.value), postgres_server.password)


def test_a_database_without_the_view_says_so(pg_db, postgres_server):
    with pytest.raises(SourceError, match="iom_cohort does not exist") as info:
        read_view("cohort", pg_db.odbc, today_in_london())
    assert_no_secret(str(info.value), postgres_server.password)


def test_an_sqlite_database_without_the_view_says_so(sqlite_odbc: SqliteOdbc):
    with pytest.raises(SourceError, match="iom_arrest_notifications does not exist"):
        read_view("arrests", sqlite_odbc.connection_string, today_in_london())


def test_a_view_lacking_a_required_column_is_refused_whole(hub, pg_db, postgres_server):
    pg_db.feed_view("cohort", MEMBERS, without=("status",))
    with pytest.raises(SourceError, match=r"iom_cohort lacks required column\(s\) status") as info:
        read_view("cohort", pg_db.odbc, today_in_london())
    assert_no_secret(str(info.value), postgres_server.password)


def test_the_database_down_is_transient_and_leaves_the_warehouse_as_it_was(hub, pg_db, postgres_server):
    today = today_in_london()
    inbox = InboxResource(location=str(hub.inbox.root), settle_seconds=0)
    source = OdbcResource(cohort=pg_db.odbc)
    hub_config = HubResource(
        config_path=str(PROJECT_ROOT / "config" / "hub.yaml"),
        reports_dir=str(hub.reports_dir),
        review_dir=str(hub.review_dir),
        quality_dir=str(hub.root / "quality"),
    )
    pg_db.feed_view("cohort", MEMBERS)
    assert _ingest(hub.engine, COHORT, today, inbox, source, hub_config).files_loaded == 1  # an earlier good read
    pg_db.execute("UPDATE cohort_source SET status = 'DESELECTED', deselected_on = '2026-11-01' WHERE iom_id = 'LDS-000001'")
    pg_db.engine.dispose()
    before = warehouse_contents(hub.engine)

    postgres_server.stop()
    try:
        with pytest.raises(TransientSourceError, match="cannot be reached") as info:
            _ingest(hub.engine, COHORT, today, inbox, source, hub_config)
    finally:
        postgres_server.start()
    assert_no_secret(str(info.value), postgres_server.password)
    assert warehouse_contents(hub.engine) == before

    # Back up: the retry reads the changed register as a correction of today's delivery.
    outcome = _ingest(hub.engine, COHORT, today, inbox, source, hub_config)
    assert (outcome.files_loaded, outcome.files_corrected) == (1, 1)


# --------------------------------------------------------------------------- through Dagster


def ephemeral_instance() -> dg.DagsterInstance:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dg.DagsterInstance.ephemeral()


@pytest.fixture
def dagster_env(hub, pg_db, monkeypatch):
    monkeypatch.setenv("IOM_INBOX", str(hub.inbox.root))
    monkeypatch.setenv("IOM_WAREHOUSE_URL", str(hub.engine.url))
    monkeypatch.setenv("IOM_REPORTS_DIR", str(hub.reports_dir))
    monkeypatch.setenv("IOM_REVIEW_DIR", str(hub.root / "review"))
    monkeypatch.setenv("IOM_QUALITY_DIR", str(hub.root / "quality"))
    monkeypatch.setenv("IOM_SETTLE_SECONDS", "0")
    monkeypatch.setenv("IOM_COHORT_ODBC", pg_db.odbc)
    monkeypatch.setenv("IOM_ARRESTS_ODBC", "")  # unset
    today = today_in_london()
    yesterday = today - timedelta(days=1)
    pg_db.feed_view("cohort", MEMBERS)
    # A cohort file in the inbox too: with IOM_COHORT_ODBC set it is not the register.
    hub.inbox.cohort(yesterday, [member("LDS-000009", "Inbox", "Only", "1980-01-01")])
    hub.inbox.arrests(f"{yesterday:%Y%m%d}_230000", [
        {"custody_ref": "K1", "niche_nominal_id": "NN77", "surname": "O Briain", "forenames": "Siobhan",
         "arrest_datetime": f"{yesterday:%d/%m/%Y} 10:00", "offence_description": "Theft"},
    ])  # fmt: skip
    return hub, pg_db, today


def test_a_dagster_run_takes_the_cohort_from_the_view(dagster_env, postgres_server):
    hub, _, today = dagster_env
    instance = ephemeral_instance()
    result = daily_job().execute_in_process(partition_key=today.isoformat(), instance=instance)

    assert result.success
    checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    # Only the cohort arrived: the other feeds' on_time checks warn; nothing else fails.
    assert checks and all(c.passed for c in checks if c.severity == dg.AssetCheckSeverity.ERROR)
    assert [(e.name, e.file_date, e.source, e.version) for e in ledger(hub, "cohort")] == [
        (f"iom_cohort@{today.isoformat()}", today, "odbc:iom_cohort", 1)
    ]
    assert {r.iom_id for r in rows_of(hub, "cohort")} == {m["iom_id"] for m in MEMBERS}
    [arrest] = hub.report(today, "CH", "arrests")
    assert (arrest["iom_id"], arrest["surname"], arrest["forenames"], arrest["custody_ref"]) == (
        "LDS-000001", "Ó Briain", "Siobhán", "K1")  # fmt: skip
    # The password is in no event, log or metadata of the run.
    records = instance.get_records_for_run(result.run_id).records
    text = "\n".join(str(r.event_log_entry) for r in records)
    assert postgres_server.password not in text
    assert "Siobhán" not in text


def test_a_dagster_run_with_the_database_down_fails_the_cohort_step_and_writes_nothing(dagster_env, postgres_server, monkeypatch):
    hub, pg_db, today = dagster_env
    instance = ephemeral_instance()
    job = daily_job()
    assert job.execute_in_process(partition_key=today.isoformat(), instance=instance).success
    pg_db.execute("UPDATE cohort_source SET managing_division = 'NE' WHERE iom_id = 'LDS-000001'")
    pg_db.engine.dispose()
    before = warehouse_contents(hub.engine)

    monkeypatch.setattr("pipelines.assets.ingest.SOURCE_RETRIES", 1)
    monkeypatch.setattr("pipelines.assets.ingest.SOURCE_RETRY_WAIT", 0)
    postgres_server.stop()
    try:
        result = job.execute_in_process(partition_key=today.isoformat(), instance=instance, raise_on_error=False)
    finally:
        postgres_server.start()

    assert not result.success
    assert "sync_cohort" in result.get_failed_step_keys()
    assert "sync_cohort" not in {e.step_key for e in result.get_step_success_events()}
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY" and e.step_key == "sync_cohort"]
    assert len(retries) == 1  # retried once (SOURCE_RETRIES), then failed
    records = instance.get_records_for_run(result.run_id).records
    text = "\n".join(str(r.event_log_entry) for r in records)
    assert "cannot be reached" in text
    assert postgres_server.password not in text
    assert warehouse_contents(hub.engine) == before


def test_a_dagster_run_for_a_past_date_uses_the_views_read_today(dagster_env, sqlite_odbc: SqliteOdbc, monkeypatch):
    """A backfill of a date before the first read: the arrest in the view is reported, not MISSING."""
    hub, _, today = dagster_env
    past = today - timedelta(days=4)
    sqlite_feed_view(sqlite_odbc.path, "arrests", [_arrest("K7", f"{(past - timedelta(days=1)).isoformat()} 21:30:00")])
    monkeypatch.setenv("IOM_ARRESTS_ODBC", sqlite_odbc.connection_string)

    result = daily_job().execute_in_process(partition_key=past.isoformat(), instance=ephemeral_instance())

    assert result.success
    assert [r["custody_ref"] for r in hub.report(past, "CH", "arrests")] == ["K7"]
    feeds = _feeds(hub, past)
    assert (feeds["arrests"]["status"], feeds["arrests"]["newest_file"]) == ("LATE", f"iom_arrest_notifications@{today}")
    assert (feeds["cohort"]["status"], feeds["cohort"]["newest_file"]) == ("LATE", f"iom_cohort@{today}")


def daily_job() -> dg.JobDefinition:
    from pipelines.definitions import DAILY_JOB, defs

    return defs.resolve_job_def(DAILY_JOB)
