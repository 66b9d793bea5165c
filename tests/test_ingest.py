"""Getting files into the warehouse: readiness, redelivery, corrections, crashes (CONTRACT section 1)."""

from __future__ import annotations

import os
from datetime import date

import pytest
import sqlalchemy as sa

from pipelines.feeds import FEEDS
from pipelines.ingest import ingest_feed, ready_files
from pipelines.sources import LocalInbox
from tests.builders import member
from tests.conftest import BOTH_WAREHOUSES

D = date(2026, 11, 23)
ATTENDANCE = FEEDS["attendance"]


def appt(rid: str, outcome: str = "ATTENDED", day: str = "2026-11-22") -> dict[str, str]:
    return {"record_id": rid, "record_type": "APPOINTMENT", "iom_id": "LDS-000001", "surname": "x", "forenames": "y",
            "event_datetime": f"{day}T10:00", "outcome": outcome}  # fmt: skip


def ingest(hub, feed="attendance", report_date=D, settle=0):
    return ingest_feed(hub.engine, LocalInbox(hub.inbox.root), FEEDS[feed], report_date, settle_seconds=settle)


def snapshot(hub) -> dict[str, list]:
    """Everything the warehouse holds that ingestion writes, without volatile columns."""
    tables = {
        "files": "select feed, name, version, is_current, status, rows_in, rows_loaded, rows_quarantined, sha256 from ingest_file order by id",
        "rows": "select file_id, row_no, record_id, outcome from attendance_row order by file_id, row_no",
        "quarantine": "select file_id, row_no, location, reason from quarantine order by id",
    }
    return {k: [tuple(r) for r in hub.query(q)] for k, q in tables.items()}


@BOTH_WAREHOUSES
def test_same_file_twice_changes_nothing(hub):
    hub.inbox.attendance("PROBATION", date(2026, 11, 22), [appt("1"), appt("2")])
    first = ingest(hub)
    before = snapshot(hub)
    again = ingest(hub)
    assert (first.files_loaded, again.files_loaded, again.files_unchanged) == (1, 0, 1)
    assert snapshot(hub) == before
    # Touched (new mtime, same bytes): read again, still nothing changes.
    path = hub.inbox.written[-1]
    os.utime(path, (1_800_000_000, 1_800_000_000))
    assert ingest(hub).files_unchanged == 1
    assert snapshot(hub) == before


@BOTH_WAREHOUSES
def test_correction_replaces_what_the_earlier_version_contributed(hub):
    hub.inbox.attendance("PROBATION", date(2026, 11, 22), [appt("1"), appt("2"), appt("3", "BAD")])
    ingest(hub)
    hub.inbox.attendance("PROBATION", date(2026, 11, 22), [appt("1", "FAILED_TO_ATTEND"), appt("4")])
    outcome = ingest(hub)
    assert (outcome.files_corrected, outcome.rows_loaded) == (1, 2)
    files = hub.query("select id, version, is_current from ingest_file order by id")
    assert [(f.version, bool(f.is_current)) for f in files] == [(1, False), (2, True)]
    current = hub.query("select record_id, outcome from attendance_row order by row_no")
    assert [tuple(r) for r in current] == [("1", "FAILED_TO_ATTEND"), ("4", "ATTENDED")]
    view = hub.query("select record_id, outcome from attendance_record order by record_id")
    assert [tuple(r) for r in view] == [("1", "FAILED_TO_ATTEND"), ("4", "ATTENDED")]


@BOTH_WAREHOUSES
def test_in_progress_and_hidden_files_are_ignored(hub):
    folder = hub.inbox.root / "attendance"
    folder.mkdir()
    for name in (".attendance_DIP_20261122.csv", "attendance_DIP_20261122.csv.part", "x.tmp", "y.filepart"):
        (folder / name).write_text("junk")
    outcome = ingest(hub)
    assert (outcome.files_in_progress, outcome.files_loaded, outcome.files_rejected) == (4, 0, 0)
    assert hub.query("select * from ingest_file") == []


def test_a_file_still_changing_is_not_ready():
    class Growing:
        location = "test"

        def __init__(self):
            self.size = 10

        def list_files(self, feed):
            from pipelines.sources.base import InboxFile

            self.size += 5  # grows between listings
            return [InboxFile(feed, "attendance_DIP_20261122.csv", self.size, 1000.0 + self.size),
                    InboxFile(feed, "attendance_YOS_20261122.csv", 7, 10.0)]  # fmt: skip

        def read_bytes(self, f):  # pragma: no cover - must not be called
            raise AssertionError("read before ready")

    ready, in_progress, waiting = ready_files(Growing(), "attendance", 30, now=lambda: 1020.0, sleep=lambda s: None)
    assert [f.name for f in ready] == ["attendance_YOS_20261122.csv"]
    assert (in_progress, waiting) == (0, 1)


@BOTH_WAREHOUSES
def test_bad_names_and_impossible_dates_are_quarantined_whole(hub):
    folder = hub.inbox.root / "attendance"
    folder.mkdir()
    (folder / "attendance_DIP_20261131.csv").write_text("agency\n")
    (folder / "notes.txt").write_text("hello\n")
    outcome = ingest(hub)
    assert outcome.files_rejected == 2
    rows = hub.query(
        "select f.name, f.status, f.rows_quarantined, q.reason from ingest_file f join quarantine q on q.file_id = f.id order by f.name"
    )
    assert [(r.name, r.status, r.rows_quarantined) for r in rows] == [
        ("attendance_DIP_20261131.csv", "REJECTED", 1), ("notes.txt", "REJECTED", 1)
    ]  # fmt: skip
    assert "impossible date" in rows[0].reason and "pattern" in rows[1].reason
    assert ingest(hub).files_rejected == 0  # recorded once, not on every run


@BOTH_WAREHOUSES
def test_files_dated_after_the_report_date_are_synced_but_not_used_by_it(hub):
    from pipelines.store import events_as_of

    hub.inbox.attendance("PROBATION", date(2026, 11, 24), [appt("1")])
    assert ingest(hub).files_loaded == 1  # the sync mirrors the inbox, whatever the run's date
    assert [str(r.first_report_date) for r in hub.query("select first_report_date from ingest_file")] == [D.isoformat()]
    assert events_as_of(hub.engine, "attendance", D).empty
    assert len(events_as_of(hub.engine, "attendance", date(2026, 11, 24))) == 1
    assert ingest(hub, report_date=date(2026, 11, 24)).files_loaded == 0


@BOTH_WAREHOUSES
def test_every_row_is_loaded_or_quarantined(hub):
    hub.inbox.attendance("PROBATION", date(2026, 11, 22), [appt("1"), appt("2", "NOPE"), appt("3", day="2026-02-31")])
    outcome = ingest(hub)
    assert (outcome.rows_loaded, outcome.rows_quarantined) == (1, 2)
    (f,) = hub.query("select rows_in, rows_loaded, rows_quarantined from ingest_file")
    assert f.rows_in == f.rows_loaded + f.rows_quarantined == 3
    reasons = [r.reason for r in hub.query("select reason from quarantine order by row_no")]
    assert reasons == ["outcome: not one of ATTENDED, FAILED_TO_ATTEND, ACCEPTABLE_ABSENCE, RESCHEDULED, CANCELLED",
                       "event_datetime: not a valid timestamp"]  # fmt: skip


@BOTH_WAREHOUSES
def test_a_crash_mid_file_leaves_the_warehouse_as_it_was(hub, monkeypatch):
    hub.inbox.attendance("PROBATION", date(2026, 11, 22), [appt("1")])
    ingest(hub)
    before = snapshot(hub)
    hub.inbox.attendance("PROBATION", date(2026, 11, 22), [appt("1", "CANCELLED"), appt("2")])

    import pipelines.ingest as module

    real = module._bulk_insert

    def crash(conn, table, frame, file_id):
        real(conn, table, frame, file_id)
        raise RuntimeError("power cut")

    monkeypatch.setattr(module, "_bulk_insert", crash)
    with pytest.raises(RuntimeError):
        ingest(hub)
    assert snapshot(hub) == before
    monkeypatch.setattr(module, "_bulk_insert", real)
    assert ingest(hub).files_corrected == 1


@BOTH_WAREHOUSES
def test_cohort_snapshots_are_all_kept(hub):
    m = member("LDS-000001", "A", "B", "1990-01-01")
    hub.inbox.cohort(date(2026, 11, 21), [m])
    hub.inbox.cohort(date(2026, 11, 22), [m, member("LDS-000002", "C", "D", "1990-01-02")])
    ingest(hub, "cohort")
    counts = hub.query(
        "select f.file_date, count(*) as n from cohort_member m join ingest_file f on f.id = m.file_id group by f.file_date order by 1"
    )
    assert [(str(r.file_date), r.n) for r in counts] == [("2026-11-21", 1), ("2026-11-22", 2)]


def test_foreign_keys_cascade_is_on(hub):
    with hub.engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1


def test_a_backlog_is_loaded_in_bounded_batches(hub, monkeypatch):
    import pipelines.ingest as module

    for day in (20, 21, 22):
        hub.inbox.attendance("DIP", date(2026, 11, day), [appt(f"{day}a"), appt(f"{day}b", "BAD")])
    monkeypatch.setattr(module, "BATCH_BYTES", 1)  # one file per batch
    events: list[str] = []
    read, load = module._read, module._load_batch
    monkeypatch.setattr(module, "_read", lambda *a: events.append("read") or read(*a))
    monkeypatch.setattr(module, "_load_batch", lambda *a: events.append(f"load {len(a[3])}") or load(*a))
    outcome = ingest(hub)
    assert (outcome.files_loaded, outcome.rows_loaded, outcome.rows_quarantined) == (3, 3, 3)
    # Each batch is loaded before the file after it is read: the backlog is never all held.
    assert events == ["read", "read", "load 1", "read", "load 1", "load 1"]
    assert len(hub.query("select * from quarantine")) == 3


@BOTH_WAREHOUSES
def test_a_member_in_an_unconfigured_division_is_quarantined_not_lost(hub):
    hub.inbox.cohort(date(2026, 11, 22), [member("LDS-000001", "A", "B", "1990-01-01"),
                                          member("LDS-000002", "C", "D", "1990-01-02", managing_division="BD")])  # fmt: skip
    outcome = ingest_feed(hub.engine, LocalInbox(hub.inbox.root), FEEDS["cohort"], D, settle_seconds=0,
                          divisions=frozenset({"CH", "NE", "NW"}))  # fmt: skip
    assert (outcome.rows_loaded, outcome.rows_quarantined) == (1, 1)
    (q,) = hub.query("select location, reason from quarantine")
    assert (q.location, q.reason) == ("3", "managing_division: not a configured division code")
