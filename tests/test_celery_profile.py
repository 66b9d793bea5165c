"""The production profile, exercised: Dagster's instance and the warehouse in PostgreSQL,
steps on two Celery workers with a Redis broker, and a gRPC code server, a daemon and a
webserver, each its own process, started as docs/scaling.md says.

On one generated inbox, in order (a module-scoped profile; `--dist loadfile` keeps the
tests on one pytest worker):

1. the daily job for D, launched through the webserver as the UI's launchpad does and
   run by the daemon, has its steps executed on both workers, and ends with the
   warehouse, reports, review list and quality page identical to an in-process
   `iom-hub run` of the same inbox (tests/digest.py);
2. the job for D+1, with the process running one of its steps killed (SIGKILL, as the
   out-of-memory killer would), has that step taken again from the queue and ends
   identical to the in-process run of D+1;
3. stopping every process (SIGTERM) leaves none of them, nor any child, running.

Needs root and scripts/setup-system.sh (PostgreSQL, Redis): without them the tests skip
locally and fail when CI=true.  About three minutes on two idle cores.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser import DagsterUi, failures, launch_run, load_location, run_events, wait_for_run
from tests.builders import hub_settings
from tests.digest import hub_digests
from tests.production import (
    BIN,
    ROOT,
    Processes,
    ProfileError,
    Service,
    finished_steps,
    profile_environment,
    start_processes,
    step_takings,
)

if TYPE_CHECKING:
    from tests.servers import PostgresServer, RedisServer

pytest_plugins = ["tests.servers"]
pytestmark = pytest.mark.production

D = date(2026, 11, 23)
D2 = D + timedelta(days=1)
DAILY_JOB = "daily_pipeline"
WORKERS = ("w1", "w2")


@dataclass
class Profile:
    root: Path
    processes: Processes
    warehouse_url: str
    reference: dict[date, dict[str, dict[str, str]]]

    @property
    def ui(self) -> DagsterUi:
        return self.processes.ui

    @property
    def services(self) -> dict[str, Service]:
        return self.processes.services

    def logs(self) -> str:
        return self.processes.logs()


def _new_database(server: PostgresServer, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    server.psql(f"CREATE DATABASE {name} OWNER {server.user} ENCODING 'UTF8' TEMPLATE template0", database="postgres")
    return name


def _in_process_reference(root: Path, env: dict[str, str]) -> dict[date, dict[str, dict[str, str]]]:
    """`iom-hub run` for D, then D+1, in-process (the default executor, SQLite instance)."""
    found = {}
    for day in (D, D2):
        done = subprocess.run(
            [str(BIN / "iom-hub"), "run", "--date", day.isoformat()], env=env, cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode in (0, 3), done.stdout + done.stderr  # 3: a generated inbox has late files
        found[day] = hub_digests(root, env["IOM_WAREHOUSE_URL"])
    return found


@pytest.fixture(scope="module")
def profile(
    postgres_server: PostgresServer, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Profile]:
    from pipelines.settings import OPTIONAL
    from pipelines.synth import generate

    root = tmp_path_factory.mktemp("celery")
    summary = generate(root / "box", end_date=D2, days=14, seed=11, scale=0.2)
    base = {
        **os.environ,
        **{name: "" for name in OPTIONAL},  # no outbox, ODBC or SFTP from the developer's shell
        "IOM_DATA_DIR": str(root / "data"),
        "IOM_CONFIG": str(ROOT / "config" / "hub.yaml"),
        "IOM_FIRST_REPORT_DATE": summary.first_date.isoformat(),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("IOM_EXECUTOR", "IOM_CELERY_BROKER", "IOM_CELERY_BACKEND"):
        base.pop(name, None)

    # The reference: the same inbox, in-process, on a PostgreSQL warehouse of its own.
    reference_root = root / "in_process"
    reference_url = postgres_server.sqlalchemy_url(database=_new_database(postgres_server, "wh_ref"))
    reference_env = {
        **base,
        **hub_settings(reference_root, summary.inbox),
        "IOM_WAREHOUSE_URL": reference_url,
        "DAGSTER_HOME": str(reference_root / "dagster_home"),
    }
    reference = _in_process_reference(reference_root, reference_env)

    # The profile: deploy/dagster-postgres.yaml, the warehouse in PostgreSQL, Celery on Redis.
    profile_root = root / "celery"
    warehouse_url = postgres_server.sqlalchemy_url(database=_new_database(postgres_server, "wh"))
    dagster_pg = {"host": postgres_server.host, "port": str(postgres_server.port), "db": _new_database(postgres_server, "dagster"),
                  "user": postgres_server.user, "password": postgres_server.password}  # fmt: skip
    env = profile_environment({**base, **hub_settings(profile_root, summary.inbox)}, home=profile_root / "dagster_home",
                              warehouse_url=warehouse_url, dagster_pg=dagster_pg, broker=redis_server.url(0),
                              backend=redis_server.url(1))  # fmt: skip
    try:
        processes = start_processes(env, profile_root / "logs", WORKERS)
    except ProfileError as exc:
        pytest.fail(str(exc))
    try:
        yield Profile(profile_root, processes, warehouse_url, reference)
    finally:
        processes.stop()


# --------------------------------------------------------------------------- the tests


def test_the_daily_job_runs_its_steps_on_both_workers_and_ends_as_an_in_process_run(profile: Profile) -> None:
    location = load_location(profile.ui)
    run_id = launch_run(profile.ui, location, DAILY_JOB, {"dagster/partition": D.isoformat()})
    status = wait_for_run(profile.ui, run_id, timeout=900)
    assert status == "SUCCESS", "\n".join(failures(run_events(profile.ui, run_id))) + profile.logs()

    taken = step_takings(run_events(profile.ui, run_id))
    hosts = {worker.split("@")[0] for _, worker in taken if worker}
    assert hosts == set(WORKERS), taken  # (a) both workers ran steps
    assert len({step for step, _ in taken}) == len(taken)  # each step once: nothing was lost or repeated
    assert hub_digests(profile.root, profile.warehouse_url) == profile.reference[D]  # (b)


def test_a_worker_process_killed_mid_step_has_the_step_run_again_and_the_run_ends_the_same(profile: Profile) -> None:
    location = load_location(profile.ui)
    run_id = launch_run(profile.ui, location, DAILY_JOB, {"dagster/partition": D2.isoformat()})
    kills, last_kill = 0, 0.0
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        events = run_events(profile.ui, run_id)
        taken = step_takings(events)
        if retried(taken) or any(e.get("eventType") in ("RUN_SUCCESS", "RUN_FAILURE") for e in events):
            break
        done = finished_steps(events)
        running = [(step, worker) for step, worker in taken if step not in done]
        # Kill the process running a step; if the step had just ended, the kill found the
        # process idle (harmless): try again on another step, a few seconds later.
        if running and kills < 5 and time.monotonic() - last_kill > 3:
            _, worker = running[-1]
            for proc in profile.services[worker.split("@")[0]].children():  # concurrency 1: its one pool process
                os.kill(proc.pid, signal.SIGKILL)
            kills, last_kill = kills + 1, time.monotonic()
        time.sleep(0.1)
    status = wait_for_run(profile.ui, run_id, timeout=900)
    assert status == "SUCCESS", "\n".join(failures(run_events(profile.ui, run_id))) + profile.logs()

    taken = step_takings(run_events(profile.ui, run_id))
    assert kills and retried(taken), (kills, taken)  # (c) the killed step was taken again
    assert hub_digests(profile.root, profile.warehouse_url) == profile.reference[D2]


def retried(taken: list[tuple[str, str]]) -> set[str]:
    steps = [step for step, _ in taken]
    return {step for step in steps if steps.count(step) > 1}


def test_stopping_every_process_leaves_nothing_running(profile: Profile) -> None:
    left = {}
    for name in ("webserver", "daemon", *WORKERS, "code-server"):
        service = profile.services[name]
        assert service.process.poll() is None, f"{name} had already exited\n{service.log_tail()}"
        left[name] = service.stop(timeout=60)
    assert left == {name: [] for name in left}, left  # (d)
