"""A run killed (SIGKILL) at any point, then run again, leaves the warehouse, the reports
and the review list exactly as one uninterrupted run does.

One hub runs a generated inbox without interruption.  A second hub runs the same inbox
and is killed at one stage after another (mid-ingest, mid-linking, while reports are
being written, during the traffic light, while the review list is written), each run
starting from what the killed one before it left; a last run completes.  Content digests
(tests/digest.py) of both hubs must be equal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from pipelines.synth import generate
from tests.builders import hub_settings
from tests.digest import hub_digests
from tests.test_cli import IOM_HUB, ROOT

D = date(2026, 11, 23)


def hub_env(root: Path, inbox: Path) -> dict[str, str]:
    return {
        **os.environ,
        **hub_settings(root, inbox),
        "IOM_FIRST_REPORT_DATE": "2026-01-01",
        "DAGSTER_HOME": str(root / "dagster_home"),
    }


def start_run(root: Path, inbox: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(IOM_HUB), "run", "--date", D.isoformat()],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=hub_env(root, inbox),
        cwd=ROOT,
        start_new_session=True,  # its own process group: the kill takes every process of the run
    )


def count(root: Path, table: str) -> int:
    path = root / "warehouse.sqlite"
    if not path.exists():
        return 0
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() or 0)
    except sa.exc.OperationalError:
        return 0  # not created yet
    finally:
        engine.dispose()


def has_entries(folder: Path) -> bool:
    return folder.exists() and any(folder.iterdir())


# Each stage's sign that it has begun, read from outside as the run goes.
Stage = tuple[str, Callable[[Path, int], bool]]
STAGES: list[Stage] = [
    ("starting (Dagster storage being made)", lambda root, files: (root / "dagster_home").exists()),
    ("first files in the ledger", lambda root, files: count(root, "ingest_file") >= 3),
    ("half the files in the ledger", lambda root, files: count(root, "ingest_file") >= files // 2),
    ("links being stored", lambda root, files: count(root, "record_link") > 0),
    ("reports being written", lambda root, files: has_entries(root / "reports" / D.isoformat())),
    ("traffic light being written", lambda root, files: count(root, "traffic_light") > 0),
    ("review list being written", lambda root, files: has_entries(root / "review")),
    ("data-quality page being written", lambda root, files: has_entries(root / "quality")),
]


def kill_when(run: subprocess.Popen[str], reached: Callable[[], bool], timeout: float = 600) -> bool:
    """SIGKILL the run's whole process group once ``reached``; False if it ended first."""
    deadline = time.monotonic() + timeout
    while run.poll() is None and time.monotonic() < deadline:
        if reached():
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
            return True
        time.sleep(0.02)
    run.wait(timeout=600)
    return False


def digests(root: Path) -> dict[str, dict[str, str]]:
    return hub_digests(root, f"sqlite:///{root / 'warehouse.sqlite'}")


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    summary = generate(tmp_path_factory.mktemp("synth"), end_date=D, days=14, seed=3, scale=0.2)
    return summary.inbox


def test_a_run_killed_at_each_stage_then_run_again_ends_as_an_uninterrupted_run(inbox: Path, tmp_path: Path):
    files = sum(1 for p in inbox.rglob("*") if p.is_file())
    whole, killed = tmp_path / "uninterrupted", tmp_path / "killed"
    whole.mkdir(), killed.mkdir()
    baseline = start_run(whole, inbox)
    out, _ = baseline.communicate(timeout=900)
    assert baseline.returncode in (0, 3), out  # 3: a generated inbox has late files

    stopped_at = []
    for name, reached in STAGES:
        if kill_when(start_run(killed, inbox), lambda r=reached: r(killed, files)):
            stopped_at.append(name)
    # Most stages must really have been interrupted (a fast machine may finish one first).
    assert len(stopped_at) >= len(STAGES) - 2, stopped_at

    last = start_run(killed, inbox)
    out, _ = last.communicate(timeout=900)
    assert last.returncode in (0, 3), out
    assert "Traceback" not in out
    assert digests(killed) == digests(whole)
