"""Faults short of a kill: a full disk, a warehouse locked by another program or in use by
another run, two processes making a new warehouse at once, a corrected file re-run, and
the permissions of what the hub writes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from pipelines.reports.publish import PublishError, publish_folder
from pipelines.settings import PROJECT_ROOT
from tests.builders import member
from tests.conftest import BOTH_WAREHOUSES
from tests.servers import skip_or_fail
from warehouse.db import make_engine, upgrade
from warehouse.lock import WarehouseBusy, writer_lock

D = date(2026, 11, 23)


@pytest.fixture
def small_disk(tmp_path: Path):
    """A real file system of 256 KiB (tmpfs), mounted for the test: needs root."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        skip_or_fail("a small file system for the full-disk test needs root (mount -t tmpfs)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        skip_or_fail(f"cannot mount a tmpfs for the full-disk test: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_fails_the_write_plainly_and_leaves_the_previous_report_as_it_was(small_disk: Path):
    folder = small_disk / "reports" / D.isoformat() / "CH"
    assert publish_folder(folder, {"report.html": b"yesterday's report", "arrests.csv": b"iom_id\n"})
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    free = os.statvfs(small_disk)
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (free.f_bavail * free.f_frsize - 8192))  # leave 8 KiB free

    with pytest.raises(PublishError) as failure:
        publish_folder(folder, {"report.html": b"x" * 200_000, "arrests.csv": b"iom_id\nLDS-000001\n"})
    assert str(failure.value) == f"{folder}: cannot be written (No space left on device); it is as it was"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in folder.parent.iterdir()) == ["CH"]  # no half-written folder left beside it

    filler.unlink()  # space again: the next run publishes, and clears nothing it should keep
    assert publish_folder(folder, {"report.html": b"today's report", "arrests.csv": b"iom_id\n"})
    assert (folder / "report.html").read_bytes() == b"today's report"


def test_a_folder_whose_files_would_not_change_is_left_untouched(tmp_path: Path):
    folder = tmp_path / "CH"
    files = {"report.html": b"<p>same</p>", "arrests.csv": b"iom_id\n"}
    assert publish_folder(folder, files) is True
    stamp = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    time.sleep(0.01)
    assert publish_folder(folder, files) is False
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == stamp
    assert publish_folder(folder, {**files, "report.html": b"<p>new</p>"}) is True
    assert (folder / "report.html").read_bytes() == b"<p>new</p>"


def test_leftovers_of_a_killed_write_are_cleared_by_the_next(tmp_path: Path):
    folder = tmp_path / "CH"
    for leftover in (".CH.writing-4242", ".CH.old-4242"):
        (tmp_path / leftover).mkdir(parents=True)
        (tmp_path / leftover / "report.html").write_text("half")
    publish_folder(folder, {"report.html": b"whole"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["CH"]


def test_a_corrected_file_re_run_rewrites_only_the_report_it_changes(hub):
    """An appointment of a CH member, corrected after D was reported: re-running D rewrites
    CH's folder for D; NE's and NW's folders, and the report for D-1, are left untouched."""
    day_before = D - timedelta(days=1)
    hub.inbox.cohort(day_before, [member("LDS-000001", "Ng", "Zoë", "1990-02-01", crn="X123456"),
                                  member("LDS-000002", "Brown", "Sam", "1985-05-05", managing_division="NE")])  # fmt: skip
    appointment = {"record_id": "A1", "record_type": "APPOINTMENT", "agency_ref": "X123456", "surname": "Ng",
                   "forenames": "Zoë", "event_datetime": "2026-11-22T10:00", "outcome": "ATTENDED"}  # fmt: skip
    hub.inbox.attendance("PROBATION", day_before, [appointment])
    hub.run(day_before)
    hub.run(D)
    reports = hub.reports_dir

    def stamps() -> dict[str, int]:
        return {str(p.relative_to(reports)): p.stat().st_mtime_ns for p in reports.rglob("*") if p.is_file()}

    before = stamps()
    assert hub.report(D, "CH", "attendance")[0]["outcome"] == "ATTENDED"
    time.sleep(0.01)
    hub.inbox.attendance("PROBATION", day_before, [{**appointment, "outcome": "FAILED_TO_ATTEND"}])  # same name: a correction
    hub.run(D)
    after = stamps()
    changed = sorted(name for name in after if after[name] != before.get(name))
    assert hub.report(D, "CH", "attendance")[0]["outcome"] == "FAILED_TO_ATTEND"
    assert changed and all(name.startswith(f"{D}/CH/") for name in changed), changed
    assert set(after) == set(before)


@BOTH_WAREHOUSES
def test_a_second_writer_waits_for_the_first(hub):
    events: list[str] = []
    first_holds = threading.Event()
    release = threading.Event()

    def first() -> None:
        with writer_lock(hub.engine, lambda: events.append("first waited")):
            events.append("first has it")
            first_holds.set()
            release.wait(10)
        events.append("first let go")

    holder = threading.Thread(target=first)
    holder.start()
    first_holds.wait(10)
    second_engine = make_engine(hub.engine.url.render_as_string(hide_password=False))  # another process's connections
    threading.Timer(0.5, release.set).start()
    with writer_lock(second_engine, lambda: events.append("second waited")):
        events.append("second has it")
    holder.join()
    second_engine.dispose()
    assert events == ["first has it", "second waited", "first let go", "second has it"]


def test_on_postgresql_the_steps_of_one_run_share_the_writer_lock_and_another_run_waits(postgres_server):
    """Steps of one run on several workers (IOM_EXECUTOR=celery) hold the lock together;
    a step of another run waits until the last of them lets go."""
    url = postgres_server.sqlalchemy_url()
    engines = [make_engine(url) for _ in range(3)]  # three processes' connections
    events: list[str] = []
    other_waiting = threading.Event()

    def other_run() -> None:
        with writer_lock(engines[2], lambda: (events.append("run-b waited"), other_waiting.set()), "run-b"):
            events.append("run-b has it")

    try:
        with writer_lock(engines[0], lambda: events.append("run-a step 1 waited"), "run-a"):
            with writer_lock(engines[1], lambda: events.append("run-a step 2 waited"), "run-a"):
                events.append("run-a's two steps have it")
                other = threading.Thread(target=other_run)
                other.start()
                assert other_waiting.wait(10)
            events.append("run-a step 2 let go")
            time.sleep(2.5)  # longer than the waiter's poll: run-b must still be waiting on step 1
        events.append("run-a step 1 let go")
        other.join(15)
    finally:
        for engine in engines:
            engine.dispose()
    assert events == ["run-a's two steps have it", "run-b waited", "run-a step 2 let go", "run-a step 1 let go", "run-b has it"]


def test_an_sqlite_warehouse_locked_by_another_program_is_refused_plainly(hub, monkeypatch):
    monkeypatch.setattr("warehouse.lock.PROBE_TIMEOUT_MS", 200)
    browser = sqlite3.connect(hub.engine.url.database, isolation_level=None)
    browser.execute("BEGIN IMMEDIATE")  # an open write transaction, as a database browser with unsaved edits holds
    try:
        with pytest.raises(WarehouseBusy) as refused, writer_lock(hub.engine, lambda: None):
            pytest.fail("the lock should not have been taken")
    finally:
        browser.execute("ROLLBACK")
        browser.close()
    assert "is locked by another program" in str(refused.value)
    assert "nothing was written" in str(refused.value)
    with writer_lock(hub.engine, lambda: None):  # free again
        pass


def test_two_processes_making_a_new_postgresql_warehouse_at_once_both_succeed(postgres_server):
    database = f"wh_{uuid.uuid4().hex[:12]}"
    postgres_server.psql(f"CREATE DATABASE {database} OWNER {postgres_server.user} ENCODING 'UTF8' TEMPLATE template0")
    url = postgres_server.sqlalchemy_url(database=database)
    code = "import sys; from warehouse.db import make_engine, upgrade; upgrade(make_engine(sys.argv[1]))"
    try:
        runs = [subprocess.Popen([sys.executable, "-c", code, url], cwd=PROJECT_ROOT, stderr=subprocess.PIPE, text=True)
                for _ in range(3)]  # fmt: skip
        errors = [r.communicate(timeout=300)[1] for r in runs]
        assert [r.returncode for r in runs] == [0, 0, 0], errors
        engine = make_engine(url)
        upgrade(engine)  # and it is usable after
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1
        engine.dispose()
    finally:
        postgres_server.psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def test_files_the_hub_writes_are_for_its_owner_and_group_only(tmp_path: Path):
    """IOM_UMASK (default 007) applies to everything a process of the hub creates: the
    SQLite warehouse, report folders and files."""
    code = (
        "import os, sys; from pathlib import Path; from pipelines.settings import apply_environment_defaults;"
        "apply_environment_defaults(); from warehouse.db import make_engine, upgrade;"
        "upgrade(make_engine(f'sqlite:///{sys.argv[1]}/w.sqlite'));"
        "from pipelines.reports.publish import publish_folder; publish_folder(Path(sys.argv[1]) / 'r' / 'CH', {'a.csv': b'x'})"
    )
    modes = {}
    for mask in ("", "077"):
        where = tmp_path / (mask or "default")
        where.mkdir()
        env = {k: v for k, v in os.environ.items() if k != "IOM_UMASK"} | ({"IOM_UMASK": mask} if mask else {})
        subprocess.run([sys.executable, "-c", code, str(where)], cwd=PROJECT_ROOT, env=env, check=True)
        modes[mask] = {
            p.name: p.stat().st_mode & 0o777
            for p in [where / "w.sqlite", where / "r", where / "r" / "CH", where / "r" / "CH" / "a.csv"]
        }
    assert all(mode & 0o007 == 0 for mode in modes[""].values()), modes  # nobody outside the group
    assert modes[""]["CH"] == 0o770 and modes[""]["a.csv"] == 0o660
    assert all(mode & 0o077 == 0 for mode in modes["077"].values()), modes  # configurable: owner only


@pytest.mark.parametrize(("value", "says"), [("22", "is not an octal file-mode mask"), ("022", "would let users outside")])
def test_an_unusable_umask_is_refused_by_the_preflight(monkeypatch, value, says):
    from pipelines.settings import umask_problem

    monkeypatch.setenv("IOM_UMASK", value)
    assert says in (umask_problem() or "")


def test_a_full_disk_fails_the_run_in_one_plain_line_and_shows_no_report(small_disk: Path, hub, tmp_path: Path):
    from tests.test_cli import every_feed_on_time, hub_env, run_cli

    every_feed_on_time(hub.inbox)
    reports = small_disk / "reports"
    free = os.statvfs(small_disk)
    (small_disk / "filler").write_bytes(b"\0" * (free.f_bavail * free.f_frsize - 4096))
    done = run_cli("run", "--date", D.isoformat(), env={**hub_env(hub, tmp_path), "IOM_REPORTS_DIR": str(reports)})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "cannot be written (No space left on device); it is as it was" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert not [p for p in reports.rglob("*") if p.is_file()]  # nothing half-written, nothing left beside
