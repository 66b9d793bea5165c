"""The production profile's processes on one machine, started as docs/scaling.md tells an
operator to start them: a gRPC code server, Celery workers (`iom-hub worker`), the daemon
and the webserver, each its own process in its own process group, with its output in a
log file.  Used by tests/test_celery_profile.py and benchmarks/profiles.py.

The caller gives the environment: the hub's settings with a PostgreSQL warehouse,
IOM_EXECUTOR=celery and the Redis URLs, and a DAGSTER_HOME holding
deploy/dagster-postgres.yaml with DAGSTER_PG_* set (``profile_environment``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tests.browser import DagsterUi, Proc, UiError, process_tree

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent
LOOPBACK = "127.0.0.1"
EXECUTING = " in celery worker"  # dagster-celery's engine event when a worker takes a step


class ProfileError(RuntimeError):
    """A process of the profile did not start; the message holds the logs' tails."""


@dataclass
class Service:
    """One process of the profile, in its own process group, its output in a log file."""

    name: str
    process: subprocess.Popen
    log_path: Path
    _log: IO[bytes] = field(repr=False)
    seen: dict[tuple[int, int], Proc] = field(default_factory=dict, repr=False)

    @classmethod
    def start(cls, name: str, command: list[str], env: dict[str, str], logs: Path) -> Service:
        log_path = logs / f"{name}.log"
        log = open(log_path, "ab")  # noqa: SIM115 - closed by stop()
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
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
        if not self._log.closed:
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
class Processes:
    services: dict[str, Service]
    ui: DagsterUi

    def logs(self) -> str:
        return "\n".join(s.log_tail() for s in self.services.values())

    def stop(self, order: Sequence[str] | None = None) -> dict[str, list[Proc]]:
        """Stop each (the webserver first, the code server last); what each left running."""
        names = order or list(reversed(self.services))
        return {name: self.services[name].stop() for name in names}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def profile_environment(
    base: dict[str, str], *, home: Path, warehouse_url: str, dagster_pg: dict[str, str], broker: str, backend: str
) -> dict[str, str]:
    """``base`` with the profile's settings; ``home`` gets deploy/dagster-postgres.yaml."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_bytes((ROOT / "deploy" / "dagster-postgres.yaml").read_bytes())
    return {
        **base,
        "IOM_WAREHOUSE_URL": warehouse_url,
        "DAGSTER_HOME": str(home),
        **{f"DAGSTER_PG_{k.upper()}": v for k, v in dagster_pg.items()},
        "IOM_EXECUTOR": "celery",
        "IOM_CELERY_BROKER": broker,
        "IOM_CELERY_BACKEND": backend,
        "PYTHONUNBUFFERED": "1",
    }


def start_processes(env: dict[str, str], logs: Path, workers: Sequence[str], concurrency: int = 1) -> Processes:
    """The code server, the workers, the daemon and the webserver, ready for runs."""
    logs.mkdir(parents=True, exist_ok=True)
    grpc, web = free_port(), free_port()
    env = {**env, "IOM_CODE_SERVER_HOST": LOOPBACK, "IOM_CODE_SERVER_PORT": str(grpc)}
    workspace = ["-w", str(ROOT / "deploy" / "workspace.yaml")]
    code_server = [str(BIN / "dagster"), "code-server", "start", "-m", "pipelines.definitions",
                   "--location-name", "iom_hub", "-h", LOOPBACK, "-p", str(grpc)]  # fmt: skip
    commands = {
        "code-server": code_server,
        **{name: [str(BIN / "iom-hub"), "worker", "--name", name, "--concurrency", str(concurrency)] for name in workers},
        "daemon": [str(BIN / "dagster-daemon"), "run", *workspace],
        "webserver": [str(BIN / "dagster-webserver"), "-h", LOOPBACK, "-p", str(web), *workspace],
    }
    services: dict[str, Service] = {}
    try:
        for name, command in commands.items():
            services[name] = Service.start(name, command, env, logs)
            if name == "code-server":  # the webserver and the daemon connect to it as they start
                _wait_for_code_server(services[name], grpc)
        webserver = services["webserver"]
        ui = DagsterUi(process=webserver.process, port=web, home=Path(env["DAGSTER_HOME"]), log_path=webserver.log_path,
                       _log=webserver._log)  # fmt: skip
        ui.wait_until_ready(timeout=300)
    except (UiError, ProfileError) as exc:
        tails = "\n".join(s.log_tail() for s in services.values())
        for service in reversed(services.values()):
            service.stop()
        raise ProfileError(f"{exc}\n{tails}") from None
    return Processes(services, ui)


def _wait_for_code_server(service: Service, port: int, timeout: float = 300) -> None:
    check = [str(BIN / "dagster"), "api", "grpc-health-check", "--host", LOOPBACK, "--port", str(port)]
    deadline = time.monotonic() + timeout
    while subprocess.run(check, capture_output=True).returncode != 0:
        if service.process.poll() is not None or time.monotonic() > deadline:
            raise ProfileError(f"the code server did not come up on port {port}")
        time.sleep(1)


# --------------------------------------------------------------------------- a run's events
# (tests.browser.run_events: every event, with timestamps and engine events' metadata)


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
