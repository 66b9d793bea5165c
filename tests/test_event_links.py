"""link_every_event (pipelines/event_links.py) links only what has no link yet: the stored
links after each run equal those of the full pass it replaced (every record of every month
read and handed to links_for), through a late file and a corrected one; a run with nothing
new reads no records; on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from pipelines import event_links
from pipelines.event_links import link_every_event
from pipelines.feeds import FEEDS, LINKED_FEEDS, FeedKind
from pipelines.ingest import ingest_feed
from pipelines.link_store import links_for
from pipelines.settings import PROJECT_ROOT, LinkThresholds, load_hub_config
from pipelines.sources import LocalInbox
from pipelines.store import earliest_file_date, events_as_of, register_in_force, rows_of_files, snapshot_files
from pipelines.traffic_light import periods
from tests.builders import member
from tests.conftest import BOTH_WAREHOUSES
from warehouse.db import make_engine

CONFIG = load_hub_config(str(PROJECT_ROOT / "config" / "hub.yaml"))
A = member("LDS-000001", "Thistlethwaite", "William", "1985-07-12", niche_nominal_id="NN1")
B = member("LDS-000002", "Okonkwo", "Adaeze", "1990-03-04")
C = member("LDS-000003", "Marsh", "Penelope", "1979-11-30", managing_division="NE")


# --------------------------------------------------------------------------- the full pass it replaced


def _full_records(engine: sa.Engine, feed_name: str, as_of: date, start: date, end: date) -> pd.DataFrame:
    if FEEDS[feed_name].kind is FeedKind.EVENTS:
        return events_as_of(engine, feed_name, as_of, start, end)
    files = snapshot_files(engine, feed_name, as_of, stand_in=False)
    dated = pd.to_datetime(files["file_date"]).dt.date
    return rows_of_files(engine, feed_name, [int(i) for i in files["id"][(dated >= start) & (dated <= end)]])


def full_link_every_event(engine: sa.Engine, as_of: date, thresholds: LinkThresholds) -> None:
    first = earliest_file_date(engine, as_of)
    for period in periods(first, as_of) if first is not None else []:
        _, register = register_in_force(engine, period.end, stand_in=False)
        for feed_name in LINKED_FEEDS:
            records = _full_records(engine, feed_name, as_of, period.start, period.end)
            links_for(engine, feed_name, records, register, thresholds, as_of)


# --------------------------------------------------------------------------- helpers


def arrest(ref: str, when: str, outcome: str = "", outcome_at: str = "", **who: str) -> dict[str, str]:
    person = who or {"surname": "Thistlethwaite", "forenames": "Bill", "date_of_birth": "12/07/1985"}
    return {"custody_ref": ref, "arrest_datetime": when, "offence_description": "Theft", "outcome": outcome,
            "outcome_datetime": outcome_at, **person}  # fmt: skip


def appointment(record: str, when: str, outcome: str, **who: str) -> dict[str, str]:
    person = who or {"surname": "Okonkwo", "forenames": "Adaeze", "date_of_birth": "1990-03-04"}
    return {"record_id": record, "record_type": "APPOINTMENT", "event_datetime": when, "appointment_type": "SUPERVISION",
            "outcome": outcome, **person}  # fmt: skip


def ingest(hub, report_date: date) -> None:
    source = LocalInbox(hub.inbox.root)
    for feed in FEEDS.values():
        ingest_feed(hub.engine, source, feed, report_date, settle_seconds=0, divisions=frozenset(CONFIG.divisions))


def links(engine: sa.Engine) -> dict[str, pd.DataFrame]:
    out = {}
    with engine.connect() as conn:
        for table, keys in (("record_link", "register_id, feed, file_id, row_no"),
                            ("link_candidate", "register_id, feed, file_id, row_no, iom_id")):  # fmt: skip
            result = conn.execute(sa.text(f"select * from {table} order by {keys}"))
            out[table] = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    return out


def full_pass_on_a_copy(hub, tmp_path: Path, as_of: date, request) -> dict[str, pd.DataFrame]:
    """The full pass's links, on a copy of the warehouse as it stands."""
    if hub.engine.dialect.name == "sqlite":
        copy = tmp_path / f"full_{as_of:%Y%m%d}.sqlite"
        with hub.engine.connect() as conn, sqlite3.connect(copy) as target:  # the backup API: WAL included
            conn.connection.driver_connection.backup(target)
        engine = make_engine(f"sqlite:///{copy}")
        try:
            full_link_every_event(engine, as_of, CONFIG.linking)
            return links(engine)
        finally:
            engine.dispose()
    # PostgreSQL: a copy of the database (as the fixture makes them), dropped after.
    server = request.getfixturevalue("postgres_server")
    with hub.engine.connect() as conn:
        database = conn.exec_driver_sql("select current_database()").scalar()
    copy_name = f"{database}_full"
    hub.engine.dispose()  # a template must have no other sessions
    server.psql(f"CREATE DATABASE {copy_name} OWNER {server.user} TEMPLATE {database}")
    engine = make_engine(server.sqlalchemy_url(database=copy_name))
    try:
        full_link_every_event(engine, as_of, CONFIG.linking)
        return links(engine)
    finally:
        engine.dispose()
        server.psql(f"DROP DATABASE IF EXISTS {copy_name} WITH (FORCE)")


def assert_same_links(got: dict[str, pd.DataFrame], want: dict[str, pd.DataFrame]) -> None:
    for table in want:
        pd.testing.assert_frame_equal(got[table], want[table], check_dtype=False)


def deliver_first(box) -> None:
    box.cohort(date(2026, 10, 1), [A, C])
    box.cohort(date(2026, 10, 31), [A, B, C])
    box.cohort(date(2026, 11, 3), [A, B, C])
    # An arrest's pending row, then its outcome: the pending row loses and is never linked.
    box.arrests("20261010_230000", [arrest("K1", "10/10/2026 09:00"), arrest("K2", "10/10/2026 11:00", niche_nominal_id="NN1",
                                                                              surname="T", forenames="W")])  # fmt: skip
    box.arrests("20261011_230000", [arrest("K1", "10/10/2026 09:00", "CHARGED_BAILED", "10/10/2026 20:00")])
    box.arrests("20261102_230000", [arrest("K3", "02/11/2026 10:00", surname="Nobody", forenames="Known",
                                           date_of_birth="01/01/1960")])  # fmt: skip
    box.attendance("PROBATION", date(2026, 10, 15), [appointment("P1", "2026-10-15 10:00", "ATTENDED")])
    box.attendance("PROBATION", date(2026, 11, 2), [appointment("P2", "2026-11-02 10:00", "FAILED_TO_ATTEND"),
                                                    appointment("P3", "2026-11-02 11:00", "ATTENDED")])  # fmt: skip
    box.releases(date(2026, 10, 20), [{"noms_number": "A9999ZZ", "surname": "Marsh", "forenames": "Penelope",
                                       "date_of_birth": "1979-11-30", "prison_id": "LEI", "release_date": "2026-11-20",
                                       "release_date_type": "CRD"}])  # fmt: skip
    box.court("B13HT", date(2026, 11, 2), [("U1", [{"surname": "Okonkwo", "forenames": "Adaeze", "date_of_birth": "1990-03-04",
                                                    "remand_status": "UB", "offences": [{"seq": "1", "title": "Theft"}]}])])  # fmt: skip


def deliver_late_and_corrected(box) -> None:
    # A late file for a closed month, a corrected version of a file already linked, and the day's new one.
    later = datetime(2026, 11, 6, 5, 0)
    box.arrests("20261012_230000", [arrest("K4", "12/10/2026 15:00", "NFA", "12/10/2026 18:00")], arrived=later)
    box.attendance("PROBATION", date(2026, 11, 2), [appointment("P2", "2026-11-02 10:00", "ACCEPTABLE_ABSENCE"),
                                                    appointment("P3", "2026-11-02 11:00", "ATTENDED"),
                                                    appointment("P4", "2026-11-02 12:00", "ATTENDED")],
                   arrived=later)  # fmt: skip
    box.arrests("20261105_230000", [arrest("K5", "05/11/2026 10:00")], arrived=later)


@BOTH_WAREHOUSES
def test_the_incremental_pass_stores_what_the_full_pass_stores(hub, tmp_path, monkeypatch, request):
    deliver_first(hub.inbox)
    first_day = date(2026, 11, 4)
    ingest(hub, first_day)
    want = full_pass_on_a_copy(hub, tmp_path, first_day, request)
    counts = link_every_event(hub.engine, first_day, CONFIG.linking)
    assert_same_links(links(hub.engine), want)
    assert sum(counts.values()) == len(want["record_link"])  # every link stored was made now

    deliver_late_and_corrected(hub.inbox)
    day = date(2026, 11, 6)
    ingest(hub, day)
    want = full_pass_on_a_copy(hub, tmp_path, day, request)
    before = len(links(hub.engine)["record_link"])
    counts = link_every_event(hub.engine, day, CONFIG.linking)
    after = links(hub.engine)
    assert_same_links(after, want)
    assert 0 < sum(counts.values()) == len(after["record_link"]) - before

    # Nothing new: no records are read, nothing is linked.
    calls = Counter()
    original = event_links.events_query
    monkeypatch.setattr(event_links, "events_query", lambda *a, **k: calls.update(["events"]) or original(*a, **k))
    monkeypatch.setattr(event_links, "links_for", lambda *a, **k: calls.update(["links_for"]))
    assert link_every_event(hub.engine, day, CONFIG.linking) == Counter()
    assert calls["links_for"] == 0


def test_runs_of_days_are_the_consecutive_stretches():
    days = pd.Series([date(2026, 11, 3), date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 7), date(2026, 11, 3)])
    assert event_links._day_runs(days) == [(date(2026, 11, 1), date(2026, 11, 3)), (date(2026, 11, 7), date(2026, 11, 7))]
    assert event_links._day_runs(pd.Series([], dtype=object)) == []
