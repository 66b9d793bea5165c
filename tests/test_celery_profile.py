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
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pytest
import sqlalchemy as sa

from tests.browser import DagsterUi, Proc, UiError, failures, launch_run, load_location, process_tree, wait_for_run
from tests.builders import hub_settings
from tests.digest import folder_digest, warehouse_digest

if TYPE_CHECKING:
    from tests.servers import PostgresServer, RedisServer

pytest_plugins = ["tests.servers"]
pytestmark = pytest.mark.production

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent
D = date(2026, 11, 23)
D2 = D + timedelta(days=1)
DAILY_JOB = "daily_pipeline"
WORKERS = ("w1", "w2")
LOOPBACK = "127.0.0.1"
EXECUTING = " in celery worker"  # dagster-celery's engine event when a worker takes a step


# --------------------------------------------------------------------------- the processes


@dataclass
class Service:
    """One process of the profile, in its own process group, its output in a log file."""

    name: str
    process: subprocess.Popen
    log_path: Path
    _log: IO[bytes] = field(repr=False)
    seen: dict[tuple[int, int], Proc] = field(default_factory=dict, repr=False)

    @classmethod
    def start(cls, name: str, command: list[str], env: dict[str, str], logs: Path, cwd: Path = ROOT) -> Service:
        log_path = logs / f"{name}.log"
        log = open(log_path, "ab")  # noqa: SIM115 - closed by stop()
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return cls(name, process, log_path, log)

    def tree(self) -> list[Proc]:
        current = process_tree(self.process.pid, descendants=self.process.poll() is None)
        for proc in current:
            self.seen[(proc.pid, proc.start)] = proc
        return current

    def children(self) -> list[Proc]:
        return [proc for proc in self.tree() if proc.pid != self.process.pid]

    def log_tail(self, lines: int = 40) -> str:
        self._log.flush()
        return f"--- {self.name}\n" + "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 60) -> list[Proc]:
        """SIGTERM to the process; what of it (or its children) is still running after
        ``timeout`` (then killed): [] when it stopped cleanly."""
        if self._log.closed:
            return []
        self.tree()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        left: list[Proc] = []
        while time.monotonic() < deadline:
            if self.process.poll() is None:
                self.tree()
            left = [proc for proc in self.seen.values() if proc.running()]
            if self.process.poll() is not None and not left:
                break
            time.sleep(0.2)
        for proc in left:
            if proc.running():
                os.kill(proc.pid, signal.SIGKILL)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait(timeout=10)
        self._log.close()
        return left


@dataclass
class Profile:
    env: dict[str, str]
    root: Path
    services: dict[str, Service]
    ui: DagsterUi
    warehouse_url: str
    reference: dict[date, dict[str, dict[str, str]]]
    reference_url: str

    def logs(self) -> str:
        return "\n".join(s.log_tail() for s in self.services.values())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _new_database(server: PostgresServer, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    server.psql(f"CREATE DATABASE {name} OWNER {server.user} ENCODING 'UTF8' TEMPLATE template0", database="postgres")
    return name


def digests(root: Path, url: str) -> dict[str, dict[str, str]]:
    engine = sa.create_engine(url)
    try:
        return {
            "warehouse": warehouse_digest(engine),
            "reports": folder_digest(root / "reports"),
            "review": folder_digest(root / "review"),
            "quality": folder_digest(root / "quality"),
        }
    finally:
        engine.dispose()


def _in_process_reference(root: Path, env: dict[str, str]) -> dict[date, dict[str, dict[str, str]]]:
    """`iom-hub run` for D, then D+1, in-process (the default executor, SQLite instance)."""
    found = {}
    for day in (D, D2):
        done = subprocess.run(
            [str(BIN / "iom-hub"), "run", "--date", day.isoformat()], env=env, cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode in (0, 3), done.stdout + done.stderr  # 3: a generated inbox has late files
        found[day] = digests(root, env["IOM_WAREHOUSE_URL"])
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
    home = profile_root / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_bytes((ROOT / "deploy" / "dagster-postgres.yaml").read_bytes())
    warehouse_url = postgres_server.sqlalchemy_url(database=_new_database(postgres_server, "wh"))
    env = {
        **base,
        **hub_settings(profile_root, summary.inbox),
        "IOM_WAREHOUSE_URL": warehouse_url,
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": postgres_server.host,
        "DAGSTER_PG_PORT": str(postgres_server.port),
        "DAGSTER_PG_DB": _new_database(postgres_server, "dagster"),
        "DAGSTER_PG_USER": postgres_server.user,
        "DAGSTER_PG_PASSWORD": postgres_server.password,
        "IOM_EXECUTOR": "celery",
        "IOM_CELERY_BROKER": redis_server.url(0),
        "IOM_CELERY_BACKEND": redis_server.url(1),
    }
    logs = profile_root / "logs"
    logs.mkdir()
    grpc, web = _free_port(), _free_port()
    env |= {"IOM_CODE_SERVER_HOST": LOOPBACK, "IOM_CODE_SERVER_PORT": str(grpc)}
    workspace = ["-w", str(ROOT / "deploy" / "workspace.yaml")]
    commands = {
        "code-server": [
            str(BIN / "dagster"),
            "code-server",
            "start",
            "-m",
            "pipelines.definitions",
            "--location-name",
            "iom_hub",
            "-h",
            LOOPBACK,
            "-p",
            str(grpc),
        ],  # fmt: skip
        **{name: [str(BIN / "iom-hub"), "worker", "--name", name] for name in WORKERS},
        "daemon": [str(BIN / "dagster-daemon"), "run", *workspace],
        "webserver": [str(BIN / "dagster-webserver"), "-h", LOOPBACK, "-p", str(web), *workspace],
    }
    services: dict[str, Service] = {}
    try:
        for name, command in commands.items():
            services[name] = Service.start(name, command, env, logs)
            if name == "code-server":  # the webserver and daemon connect to it as they start
                _wait_for_code_server(services[name], grpc)
        webserver = services["webserver"]
        ui = DagsterUi(process=webserver.process, port=web, home=home, log_path=webserver.log_path, _log=webserver._log)
        try:
            ui.wait_until_ready(timeout=300)
        except UiError as exc:
            pytest.fail(f"{exc}\n" + "\n".join(s.log_tail() for s in services.values()))
        yield Profile(env, profile_root, services, ui, warehouse_url, reference, reference_url)
    finally:
        for service in reversed(services.values()):
            service.stop()


def _wait_for_code_server(service: Service, port: int, timeout: float = 300) -> None:
    check = [str(BIN / "dagster"), "api", "grpc-health-check", "--host", LOOPBACK, "--port", str(port)]
    deadline = time.monotonic() + timeout
    while subprocess.run(check, capture_output=True).returncode != 0:
        if service.process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the code server did not come up on port {port}\n{service.log_tail()}")
        time.sleep(1)


# --------------------------------------------------------------------------- the events


_ENGINE_EVENTS = """
query($runId: ID!, $after: String) {
  logsForRun(runId: $runId, afterCursor: $after, limit: 1000) {
    __typename
    ... on EventConnection {
      cursor
      hasMore
      events {
        __typename
        ... on MessageEvent { message stepKey eventType timestamp }
        ... on EngineEvent { metadataEntries { label ... on TextMetadataEntry { text } } }
      }
    }
  }
}
"""


def events(ui: DagsterUi, run_id: str) -> list[dict]:
    found: list[dict] = []
    cursor = None
    while True:
        answer = ui.graphql(_ENGINE_EVENTS, {"runId": run_id, "after": cursor})["logsForRun"]
        found.extend(answer["events"])
        if not answer["hasMore"] or answer["cursor"] == cursor:
            return found
        cursor = answer["cursor"]


def step_takings(run_events: list[dict]) -> list[tuple[str, str]]:
    """(step, worker) each time a worker took a step, in order."""
    taken = []
    for event in run_events:
        if event["__typename"] == "EngineEvent" and EXECUTING in (event.get("message") or ""):
            worker = {m["label"]: m.get("text") for m in event.get("metadataEntries") or []}.get("Celery worker")
            taken.append((event["stepKey"], worker))
    return taken


def finished_steps(run_events: list[dict]) -> set[str]:
    return {e["stepKey"] for e in run_events if e.get("eventType") in ("STEP_SUCCESS", "STEP_FAILURE")}


# --------------------------------------------------------------------------- the tests


def test_the_daily_job_runs_its_steps_on_both_workers_and_ends_as_an_in_process_run(profile: Profile) -> None:
    location = load_location(profile.ui)
    run_id = launch_run(profile.ui, location, DAILY_JOB, {"dagster/partition": D.isoformat()})
    status = wait_for_run(profile.ui, run_id, timeout=900)
    assert status == "SUCCESS", "\n".join(failures(_failure_events(profile, run_id))) + profile.logs()

    taken = step_takings(events(profile.ui, run_id))
    hosts = {worker.split("@")[0] for _, worker in taken if worker}
    assert hosts == set(WORKERS), taken  # (a) both workers ran steps
    assert len({step for step, _ in taken}) == len(taken)  # each step once: nothing was lost or repeated
    assert digests(profile.root, profile.warehouse_url) == profile.reference[D]  # (b)


def test_a_worker_process_killed_mid_step_has_the_step_run_again_and_the_run_ends_the_same(profile: Profile) -> None:
    location = load_location(profile.ui)
    run_id = launch_run(profile.ui, location, DAILY_JOB, {"dagster/partition": D2.isoformat()})
    kills, last_kill = 0, 0.0
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        run_events = events(profile.ui, run_id)
        taken = step_takings(run_events)
        if retried(taken) or any(e.get("eventType") in ("RUN_SUCCESS", "RUN_FAILURE") for e in run_events):
            break
        done = finished_steps(run_events)
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
    assert status == "SUCCESS", "\n".join(failures(_failure_events(profile, run_id))) + profile.logs()

    taken = step_takings(events(profile.ui, run_id))
    assert kills and retried(taken), (kills, taken)  # (c) the killed step was taken again
    assert digests(profile.root, profile.warehouse_url) == profile.reference[D2]


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


def _failure_events(profile: Profile, run_id: str) -> list[dict]:
    from tests.browser import run_events

    return run_events(profile.ui, run_id)
