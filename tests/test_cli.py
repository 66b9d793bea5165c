"""`iom-hub` as a user runs it: runs land in Dagster's history; bad set-ups fail plainly."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg

from tests.builders import member

ROOT = Path(__file__).parents[1]
IOM_HUB = Path(sys.executable).with_name("iom-hub")


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(IOM_HUB), *args], capture_output=True, text=True, env={**os.environ, **env}, cwd=ROOT)


def test_run_goes_through_dagster_and_shows_in_run_history(hub, tmp_path):
    hub.inbox.cohort(date(2026, 11, 22), [member("LDS-000001", "Zoë", "Ng-Smith", "1990-02-01")])
    env = {
        "IOM_INBOX": str(hub.inbox.root),
        "IOM_WAREHOUSE_URL": str(hub.engine.url),
        "IOM_REPORTS_DIR": str(hub.reports_dir),
        "IOM_REVIEW_DIR": str(hub.root / "review"),
        "IOM_SETTLE_SECONDS": "0",
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    done = run_cli("run", "--date", "2026-11-23", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "succeeded" in done.stdout
    assert str(hub.reports_dir / "2026-11-23" / "NW" / "report.html") in done.stdout
    assert "Zoë" not in done.stdout + done.stderr  # names never reach the terminal log
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        runs = instance.get_runs()
        assert len(runs) == 1
        assert runs[0].job_name == "daily_pipeline"
        assert runs[0].tags["dagster/partition"] == "2026-11-23"


def test_run_refuses_a_bad_setup_with_a_plain_message(tmp_path):
    env = {"IOM_INBOX": str(tmp_path / "nowhere"), "DAGSTER_HOME": str(tmp_path / "dh")}
    done = run_cli("run", "--date", "2026-11-23", env=env)
    assert done.returncode == 2
    assert "inbox folder" in done.stderr and "IOM_INBOX" in done.stderr
    assert "Traceback" not in done.stderr
    done = run_cli("run", "--date", "1999-01-01", env={**env, "IOM_INBOX": str(tmp_path)})
    assert done.returncode == 2 and "outside" in done.stderr


def test_synth_command_writes_an_inbox_and_truth(tmp_path):
    done = run_cli("synth", "--out", str(tmp_path / "box"), "--end-date", "2026-11-23", "--days", "20", env={})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "box" / "truth.json").exists()
    assert sorted(p.name for p in (tmp_path / "box" / "inbox").iterdir()) == [
        "arrests", "attendance", "cohort", "court_results", "prison_releases",
    ]  # fmt: skip
