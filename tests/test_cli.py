"""`iom-hub` as a user runs it: runs land in Dagster's history; bad set-ups fail plainly;
the exit status and the last lines say what the run did (README, "Exit statuses").

The warehouse settings (IOM_WAREHOUSE_URL, IOM_DB_*) are in tests/test_cli_warehouse.py,
backfill and catch-up in tests/test_cli_backfill.py: three files, so xdist spreads the
slow subprocess runs over its workers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg

from pipelines.cli import EXIT_FAILED, EXIT_FEED_WARNINGS, EXIT_OK, FeedWarning, RunOutcome, print_outcome
from tests.builders import Inbox, member

ROOT = Path(__file__).parents[1]
IOM_HUB = Path(sys.executable).with_name("iom-hub")
D = date(2026, 11, 23)  # a Monday


def run_cli(*args: str, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(IOM_HUB), *args], capture_output=True, text=True, env={**os.environ, **env}, cwd=ROOT, timeout=timeout
    )


def hub_env(hub, tmp_path: Path) -> dict[str, str]:
    return {
        "IOM_INBOX": str(hub.inbox.root),
        "IOM_WAREHOUSE_URL": str(hub.engine.url),
        "IOM_REPORTS_DIR": str(hub.reports_dir),
        "IOM_REVIEW_DIR": str(hub.root / "review"),
        "IOM_QUALITY_DIR": str(hub.root / "quality"),
        "IOM_SETTLE_SECONDS": "0",
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }


def every_feed_on_time(inbox: Inbox, day: date = D) -> None:
    """One file of every feed, from every provider due for report date D (a Monday: the
    daily attendance agencies for Sunday; no court sits on Sunday, so a Monday file),
    all long before they were due: feeds.csv says OK for each."""
    inbox.cohort(day, [member("LDS-000001", "Zoë", "Ng-Smith", "1990-02-01")])
    inbox.arrests("20261122_230000", [])
    inbox.court("B13HT", day, [])
    inbox.releases(day, [])
    for agency in ("PROBATION", "YOS", "DIP"):
        inbox.attendance(agency, date(2026, 11, 22), [])


def test_run_goes_through_dagster_and_shows_in_run_history(hub, tmp_path, monkeypatch):
    every_feed_on_time(hub.inbox)
    env = hub_env(hub, tmp_path)
    done = run_cli("run", "--date", D.isoformat(), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"for report date {D}: succeeded" in done.stdout
    assert "warning" not in done.stdout
    assert str(hub.reports_dir / D.isoformat() / "NW" / "report.html") in done.stdout
    assert "Zoë" not in done.stdout + done.stderr  # names never reach the terminal log
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])  # dagster.yaml may refer to it
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert len(runs) == 1
        assert runs[0].job_name == "daily_pipeline"
        assert runs[0].tags["dagster/partition"] == D.isoformat()


def test_a_run_with_every_feed_missing_is_not_a_plain_success(hub, tmp_path):
    done = run_cli("run", "--date", D.isoformat(), env=hub_env(hub, tmp_path))  # an empty inbox
    assert done.returncode == 3, done.stdout + done.stderr
    status = done.stdout.splitlines()[0]
    assert status.endswith("every feed is MISSING, so the reports have nothing in them (is IOM_INBOX right?)"), status
    assert ": succeeded" not in done.stdout
    warnings = [line for line in done.stdout.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 5  # one line per feed, from the feeds.csv this run wrote
    assert "warning: arrests MISSING — no file dated the report date or the day before" in warnings
    assert "warning: cohort MISSING — no file dated on or before the report date" in warnings
    assert str(hub.reports_dir / D.isoformat() / "CH" / "report.html") in done.stdout  # written, and listed


def outcome(**kw) -> RunOutcome:
    return RunOutcome(**{"run_id": "r1", "first": D, "last": D, "success": True, "feeds_judged": 5, **kw})


def test_the_outcome_names_each_feed_not_ok_and_the_exit_status_says_which_kind(capsys):
    folders = [Path("/r") / D.isoformat() / division for division in ("CH", "NE")]
    arrests = FeedWarning(D, "arrests", "MISSING", "no file dated the report date or the day before")
    assert print_outcome(outcome(folders=folders)) == EXIT_OK == 0
    assert capsys.readouterr().out.splitlines() == [
        f"run r1 for report date {D}: succeeded", f"reports: /r/{D}", f"  /r/{D}/CH/report.html", f"  /r/{D}/NE/report.html"
    ]  # fmt: skip
    assert print_outcome(outcome(folders=folders, feed_warnings=[arrests])) == EXIT_FEED_WARNINGS == 3
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [
        f"run r1 for report date {D}: finished with feed warnings (1 of 5 feeds not OK)",
        "warning: arrests MISSING — no file dated the report date or the day before",
    ]
    # A range: each warning says its date.
    late = FeedWarning(date(2026, 11, 22), "cohort", "LATE", "")
    assert print_outcome(outcome(first=date(2026, 11, 22), feeds_judged=10, feed_warnings=[late, arrests])) == 3
    assert capsys.readouterr().out.splitlines() == [
        f"run r1 for report dates 2026-11-22 to {D}: finished with feed warnings (2 of 10 feed-days not OK)",
        "warning: 2026-11-22 cohort LATE",
        f"warning: {D} arrests MISSING — no file dated the report date or the day before",
    ]
    # A failure wins over warnings; nothing written, nothing listed.
    failed = outcome(success=False, failures=["step sync_cohort failed: cohort over ODBC: ..."], feed_warnings=[arrests])
    assert print_outcome(failed) == EXIT_FAILED == 1
    assert capsys.readouterr().out.splitlines()[:2] == [
        f"run r1 for report date {D}: FAILED",
        "  step sync_cohort failed: cohort over ODBC: ...",
    ]
    # A failed blocking (ERROR) check fails the run; a failed WARN check is a warning.
    assert outcome(failures=["check rows/arrests:rows_reconcile failed"]).exit_status == 1
    assert outcome(check_warnings=["check ledger/arrests:on_time warned"], feeds_judged=0).exit_status == 3


def test_after_a_failed_run_no_earlier_report_is_listed(hub, tmp_path):
    every_feed_on_time(hub.inbox)
    earlier = hub.reports_dir / D.isoformat() / "NW"  # left by an earlier run
    earlier.mkdir(parents=True)
    (earlier / "report.html").write_text("an earlier run's report", encoding="utf-8")
    env = {**hub_env(hub, tmp_path), "IOM_COHORT_ODBC": "Driver={No Such Driver};Server=127.0.0.1;Database=iom;"}
    done = run_cli("run", "--date", D.isoformat(), env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"for report date {D}: FAILED" in done.stdout
    assert "step sync_cohort failed: cohort over ODBC:" in done.stdout  # the step, and why, in one line
    assert "report.html" not in done.stdout
    assert "no reports were written by this run" in done.stdout
    assert (earlier / "report.html").read_text(encoding="utf-8") == "an earlier run's report"


def test_run_refuses_a_bad_setup_with_a_plain_message(tmp_path):
    env = {"IOM_INBOX": str(tmp_path / "nowhere"), "DAGSTER_HOME": str(tmp_path / "dh"), "IOM_SETTLE_SECONDS": "soon"}
    env["IOM_WAREHOUSE_URL"] = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    done = run_cli("run", "--date", "2026-11-23", env=env)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert any("inbox folder" in line and "IOM_INBOX" in line for line in lines), done.stderr
    assert "iom-hub: IOM_SETTLE_SECONDS: 'soon' is not a whole number of seconds" in lines
    assert "Traceback" not in done.stderr
    done = run_cli("run", "--date", "1999-01-01", env={**env, "IOM_INBOX": str(tmp_path), "IOM_SETTLE_SECONDS": "0"})
    assert done.returncode == 2 and "outside" in done.stderr
    assert not (tmp_path / "dh").exists()  # nothing was run


def test_synth_command_writes_an_inbox_and_truth(tmp_path):
    done = run_cli("synth", "--out", str(tmp_path / "box"), "--end-date", "2026-11-23", "--days", "20", env={})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "box" / "truth.json").exists()
    assert sorted(p.name for p in (tmp_path / "box" / "inbox").iterdir()) == [
        "arrests", "attendance", "cohort", "court_results", "prison_releases",
    ]  # fmt: skip
