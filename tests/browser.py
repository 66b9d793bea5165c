"""The Dagster UI seen from outside, for tests/test_ui.py and scripts/screenshots.py.

- `DagsterUi.start()` runs `iom-hub ui` (webserver and daemon) on loopback in a process
  group of its own, `wait_until_ready()` waits until the code location is loaded, and
  `stop()` sends the command SIGTERM, as a terminal's Ctrl-C or a service manager would,
  and reports any process it started that is still there afterwards.
- `graphql()` and the functions below it speak the webserver's GraphQL API (the queries
  are written against the schema of the installed dagster-graphql).
- `Browser` photographs pages with headless Chromium: Debian's `chromium` package, driven
  by Playwright (from PyPI).  No browser is ever downloaded: Playwright is only ever
  pointed at the system's executable (`IOM_CHROMIUM`, or `chromium` on the PATH).

Nothing here is a pytest fixture and nothing here asserts: failures raise `UiError` with
what went wrong, so the same code serves the script.  Screenshots are artefacts, written
under `artefacts_dir()` (`IOM_ARTEFACTS_DIR`, default `build/artefacts/`, ignored by git),
never fixtures kept in the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
LOCATION = "iom_hub"  # workspace.yaml
TERMINAL_RUN_STATUSES = frozenset({"SUCCESS", "FAILURE", "CANCELED"})


class UiError(RuntimeError):
    """The UI did not start, answer or stop as expected; the message says how."""


def artefacts_dir() -> Path:
    """Where screenshots and other test artefacts go: $IOM_ARTEFACTS_DIR or build/artefacts/."""
    path = Path(os.environ.get("IOM_ARTEFACTS_DIR") or ROOT / "build" / "artefacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Nothing listens on the port: a server could bind it now (connections that have just
    closed, in TIME_WAIT, do not count, as they do not for a server's SO_REUSEADDR bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


# --------------------------------------------------------------------------- processes


@dataclass(frozen=True)
class Proc:
    """A process, identified by pid and start time (so a reused pid is not mistaken for it)."""

    pid: int
    start: int
    command: str

    def running(self) -> bool:
        stat = _stat(self.pid)
        return stat is not None and stat[3] == self.start and stat[2] != "Z"

    def __str__(self) -> str:
        return f"pid {self.pid}: {self.command[:160]}"


def _stat(pid: int) -> tuple[int, int, str, int] | None:
    """(ppid, pgid, state, start time) from /proc/<pid>/stat; None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # comm may hold spaces and parentheses
    return int(fields[1]), int(fields[2]), fields[0], int(fields[19])


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def _processes() -> Iterator[tuple[int, tuple[int, int, str, int]]]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[2] != "Z":
                yield int(entry.name), stat


def process_tree(root: int, *, descendants: bool = True) -> list[Proc]:
    """Every live process in the process group `root` and, with `descendants`, every one
    descended from the process `root` (root included).  Only while `root` itself is alive is
    its pid known to be it; its group id stays its own while any member is left."""
    table = dict(_processes())
    members = {pid for pid, (_, pgid, _, _) in table.items() if pgid == root}
    frontier = [root] if descendants else []
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _, _, _) in table.items() if ppid == parent and pid not in members]
        members.update(children)
        frontier.extend(children)
    if descendants and root in table:
        members.add(root)
    return [Proc(pid, table[pid][3], _command(pid)) for pid in sorted(members) if pid in table]


# --------------------------------------------------------------------------- the UI


@dataclass
class DagsterUi:
    """`iom-hub ui` running in its own process group; see the module docstring."""

    process: subprocess.Popen
    port: int
    home: Path
    log_path: Path
    _log: IO[bytes] = field(repr=False)
    seen: dict[tuple[int, int], Proc] = field(default_factory=dict, repr=False)

    @classmethod
    def start(
        cls,
        *,
        home: Path,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        demo: bool = False,
        port: int | None = None,
    ) -> DagsterUi:
        """Start `iom-hub ui` with DAGSTER_HOME=`home` and `env` on top of this process's
        environment; its output (and the webserver's and daemon's) goes to `log_path`.

        `python -m pipelines.cli` is the `iom-hub` console script: the same main(), taken
        from this checkout rather than from whichever one the virtualenv was built from."""
        port = port or free_port()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "ab")  # noqa: SIM115 - closed by stop()
        command = [sys.executable, "-m", "pipelines.cli", "ui", "--host", LOOPBACK, "--port", str(port)]
        if demo:
            command.append("--demo")
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **(env or {}), "DAGSTER_HOME": str(home), "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() can account for every child
        )
        return cls(process=process, port=port, home=home, log_path=log_path, _log=log)

    # ------------------------------------------------------------------ talking to it

    def url(self, path: str = "") -> str:
        return f"http://{LOOPBACK}:{self.port}/{path.lstrip('/')}"

    def log_tail(self, lines: int = 80) -> str:
        if not self._log.closed:
            self._log.flush()
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _request(self, path: str, body: dict | None = None, timeout: float = 60) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url(path), data=data, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None, timeout: float = 120) -> dict:
        """POST /graphql; the `data`, or UiError naming the GraphQL errors."""
        try:
            answer = self._request("graphql", {"query": query, "variables": dict(variables or {})}, timeout)
        except urllib.error.HTTPError as exc:
            raise UiError(f"GraphQL HTTP {exc.code}: {exc.read().decode(errors='replace')[:2000]}") from None
        if answer.get("errors"):
            raise UiError(f"GraphQL errors: {json.dumps(answer['errors'])[:2000]}")
        return answer["data"]

    def wait_until_ready(self, timeout: float = 300) -> None:
        """Until the webserver answers and every code location has finished loading."""
        deadline = time.monotonic() + timeout
        while True:
            self._remember_processes()
            if self.process.poll() is not None:
                raise UiError(f"iom-hub ui exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                self._request("server_info", timeout=10)
                entries = self.graphql(_LOAD_STATUS_QUERY, timeout=30)["workspaceOrError"]["locationEntries"]
                if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
                    return
            except (OSError, UiError, KeyError, TypeError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise UiError(f"the UI was not ready on port {self.port} within {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(1)

    # ------------------------------------------------------------------ stopping it

    def _remember_processes(self) -> list[Proc]:
        # Once the command has exited its pid may be reused: then only its group counts.
        current = process_tree(self.process.pid, descendants=self.process.poll() is None)
        for proc in current:
            self.seen[(proc.pid, proc.start)] = proc
        return current

    def processes(self) -> list[Proc]:
        """The processes it has running now: the command, webserver, daemon, code servers, runs."""
        return self._remember_processes()

    def stop(self, timeout: float = 60) -> list[Proc]:
        """SIGTERM to `iom-hub ui` only (it stops its own children), then wait until every
        process it ever had (seen by processes() or wait_until_ready()) and every process in
        its group has exited.  Returns the ones still there after `timeout` (they are then
        killed, so nothing is left behind either way); [] when it stopped cleanly.  Calling
        it again does nothing more."""
        if self._log.closed:
            return []
        self._remember_processes()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        left: list[Proc] = []
        while time.monotonic() < deadline:
            self._remember_processes()
            left = [proc for proc in self.seen.values() if proc.running()]
            if self.process.poll() is not None and not left:
                break
            time.sleep(0.2)
        if left or self.process.poll() is None:
            self._kill(left)
        self._log.close()
        return left

    def _kill(self, procs: Iterable[Proc]) -> None:
        for proc in procs:
            if proc.running():
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


_LOAD_STATUS_QUERY = """
query { workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus } } } }
"""

# --------------------------------------------------------------------------- GraphQL

_LOCATION_QUERY = """
query {
  workspaceOrError {
    __typename
    ... on PythonError { message }
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message stack }
          ... on RepositoryLocation {
            repositories {
              name
              jobs { name }
              schedules { name }
              sensors { name minIntervalSeconds sensorState { status } }
              assetNodes {
                assetKey { path }
                isPartitioned
                assetChecksOrError { __typename ... on AssetChecks { checks { name } } }
              }
            }
          }
        }
      }
    }
  }
}
"""


def key_string(path: Iterable[str]) -> str:
    """An asset key as `AssetKey.to_user_string()` writes it: ingest/arrests."""
    return "/".join(path)


@dataclass(frozen=True)
class Location:
    """What the UI's code location holds, as GraphQL reports it."""

    name: str
    repository: str
    assets: frozenset[str]
    checks: frozenset[tuple[str, str]]  # (asset key, check name)
    schedules: frozenset[str]
    sensors: dict[str, dict]  # name -> {"minIntervalSeconds", "sensorState": {"status"}}
    jobs: frozenset[str]
    partitioned: frozenset[str]

    def selector(self, **extra: str) -> dict[str, str]:
        return {"repositoryLocationName": self.name, "repositoryName": self.repository, **extra}


def load_location(ui: DagsterUi, name: str = LOCATION) -> Location:
    """The code location `name`; UiError with Dagster's own message if it failed to load."""
    workspace = ui.graphql(_LOCATION_QUERY)["workspaceOrError"]
    if workspace["__typename"] != "Workspace":
        raise UiError(f"workspace: {workspace}")
    entries = {entry["name"]: entry for entry in workspace["locationEntries"]}
    if name not in entries:
        raise UiError(f"no code location {name!r}; the workspace has {sorted(entries)}")
    loaded = entries[name]["locationOrLoadError"]
    if loaded is None or loaded["__typename"] != "RepositoryLocation":
        detail = "" if loaded is None else loaded.get("message", "") + "".join(loaded.get("stack") or [])
        raise UiError(f"code location {name!r} did not load ({entries[name]['loadStatus']}): {detail}")
    (repository,) = loaded["repositories"]
    checks = set()
    for node in repository["assetNodes"]:
        answer = node["assetChecksOrError"]
        if answer["__typename"] != "AssetChecks":
            raise UiError(f"asset checks of {key_string(node['assetKey']['path'])}: {answer['__typename']}")
        checks |= {(key_string(node["assetKey"]["path"]), check["name"]) for check in answer["checks"]}
    return Location(
        name=name,
        repository=repository["name"],
        assets=frozenset(key_string(node["assetKey"]["path"]) for node in repository["assetNodes"]),
        checks=frozenset(checks),
        schedules=frozenset(schedule["name"] for schedule in repository["schedules"]),
        sensors={sensor["name"]: sensor for sensor in repository["sensors"]},
        jobs=frozenset(job["name"] for job in repository["jobs"]),
        partitioned=frozenset(key_string(n["assetKey"]["path"]) for n in repository["assetNodes"] if n["isPartitioned"]),
    )


_LAUNCH = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on Error { message }
  }
}
"""


def launch_run(
    ui: DagsterUi, location: Location, job: str, tags: Mapping[str, str], run_config: Mapping[str, Any] | None = None
) -> str:
    """Launch (queue) a run of `job` with these tags and run config, as the UI's launchpad
    does; its id."""
    params = {
        "selector": location.selector(jobName=job),
        "runConfigData": dict(run_config or {}),
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
    }
    result = ui.graphql(_LAUNCH, {"params": params})["launchRun"]
    if result["__typename"] != "LaunchRunSuccess":
        raise UiError(f"launching {job} with {dict(tags)} failed: {json.dumps(result)[:2000]}")
    return result["run"]["runId"]


_RUNS = """
query($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    __typename
    ... on Runs { results { runId status jobName creationTime tags { key value } } }
    ... on Error { message }
  }
}
"""


def runs(ui: DagsterUi, *, tags: Mapping[str, str] | None = None, job: str | None = None, statuses=None) -> list[dict]:
    """Runs matching the filter, newest first: {runId, status, jobName, creationTime, tags: {k: v}}."""
    run_filter: dict[str, Any] = {}
    if tags:
        run_filter["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
    if job:
        run_filter["pipelineName"] = job
    if statuses:
        run_filter["statuses"] = list(statuses)
    answer = ui.graphql(_RUNS, {"filter": run_filter})["runsOrError"]
    if answer["__typename"] != "Runs":
        raise UiError(f"runs: {answer}")
    return [{**run, "tags": {t["key"]: t["value"] for t in run["tags"]}} for run in answer["results"]]


def run_status(ui: DagsterUi, run_id: str) -> str:
    (run,) = runs_by_id(ui, [run_id])
    return run["status"]


def runs_by_id(ui: DagsterUi, run_ids: list[str]) -> list[dict]:
    answer = ui.graphql(_RUNS, {"filter": {"runIds": run_ids}})["runsOrError"]
    if answer["__typename"] != "Runs":
        raise UiError(f"runs: {answer}")
    return answer["results"]


def wait_for_run(ui: DagsterUi, run_id: str, timeout: float = 900, poll: float = 2) -> str:
    """Poll until the run has finished (SUCCESS, FAILURE or CANCELED); its status."""
    deadline = time.monotonic() + timeout
    while True:
        status = run_status(ui, run_id)
        if status in TERMINAL_RUN_STATUSES:
            return status
        if time.monotonic() > deadline:
            raise UiError(f"run {run_id} still {status} after {timeout:.0f} s:\n{ui.log_tail()}")
        ui.processes()  # keep track of the run worker too, for stop()
        time.sleep(poll)


_EVENTS = """
query($runId: ID!, $after: String) {
  logsForRun(runId: $runId, afterCursor: $after, limit: 1000) {
    __typename
    ... on EventConnection {
      cursor
      hasMore
      events {
        __typename
        ... on MessageEvent { message stepKey eventType level timestamp }
        ... on EngineEvent { metadataEntries { label ... on TextMetadataEntry { text } } }
        ... on ExecutionStepFailureEvent { error { ...Error } }
        ... on RunFailureEvent { error { ...Error } }
        ... on AssetCheckEvaluationPlannedEvent { assetKey { path } checkName }
        ... on AssetMaterializationPlannedEvent { plannedKey: assetKey { path } }
        ... on MaterializationEvent { materialisedKey: assetKey { path } partition }
        ... on AssetCheckEvaluationEvent {
          evaluation { checkName assetKey { path } severity success partition description }
        }
      }
    }
    ... on Error { message }
  }
}
fragment Error on PythonError { className message stack cause { className message stack } }
"""


def run_events(ui: DagsterUi, run_id: str) -> list[dict]:
    """Every event of a run's event log, in order."""
    events: list[dict] = []
    cursor = None
    while True:
        answer = ui.graphql(_EVENTS, {"runId": run_id, "after": cursor})["logsForRun"]
        if answer["__typename"] != "EventConnection":
            raise UiError(f"events of run {run_id}: {answer}")
        events.extend(answer["events"])
        if not answer["hasMore"] or answer["cursor"] == cursor:
            return events
        cursor = answer["cursor"]


def failures(events: list[dict]) -> list[str]:
    """The step and run failures of a run, each with its error's deepest cause."""
    found = []
    for event in events:
        if event["__typename"] not in ("ExecutionStepFailureEvent", "RunFailureEvent"):
            continue
        error = event.get("error") or {}
        root = error.get("cause") or error
        detail = f"{root.get('className')}: {root.get('message', '').strip()}" if root else ""
        stack = "".join((root or {}).get("stack") or [])[-1500:]
        found.append(f"{event.get('stepKey') or 'run'}: {event['message']}\n{detail}\n{stack}".rstrip())
    return found


def materialisations(events: list[dict]) -> tuple[set[str], set[tuple[str, str | None]]]:
    """(the assets the run planned to materialise, the (asset, partition) it materialised)."""
    planned = {key_string(e["plannedKey"]["path"]) for e in events if e["__typename"] == "AssetMaterializationPlannedEvent"}
    done = {
        (key_string(e["materialisedKey"]["path"]), e["partition"]) for e in events if e["__typename"] == "MaterializationEvent"
    }
    return planned, done


def check_evaluations(events: list[dict]) -> tuple[set[tuple[str, str]], list[dict]]:
    """(the checks the run planned, the evaluations it recorded) from its events."""
    planned = {
        (key_string(e["assetKey"]["path"]), e["checkName"])
        for e in events
        if e["__typename"] == "AssetCheckEvaluationPlannedEvent"
    }
    evaluations = [
        {**e["evaluation"], "asset": key_string(e["evaluation"]["assetKey"]["path"])}
        for e in events
        if e["__typename"] == "AssetCheckEvaluationEvent"
    ]
    return planned, evaluations


_SENSOR_DRY_RUN = """
mutation($selector: SensorSelector!, $cursor: String) {
  sensorDryRun(selectorData: $selector, cursor: $cursor) {
    __typename
    ... on DryRunInstigationTick {
      evaluationResult { cursor skipReason runRequests { runKey tags { key value } } error { message stack } }
    }
    ... on Error { message }
  }
}
"""

_SET_SENSOR_CURSOR = """
mutation($selector: SensorSelector!, $cursor: String) {
  setSensorCursor(sensorSelector: $selector, cursor: $cursor) {
    __typename
    ... on Sensor { name }
    ... on Error { message }
  }
}
"""

_START_SENSOR = """
mutation($selector: SensorSelector!) {
  startSensor(sensorSelector: $selector) {
    __typename
    ... on Sensor { name sensorState { status } }
    ... on Error { message }
  }
}
"""

_SENSOR_TICKS = """
query($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor {
      sensorState { status ticks(limit: 10) { status timestamp skipReason runIds error { message } } }
    }
    ... on Error { message }
  }
}
"""


def sensor_dry_run(ui: DagsterUi, location: Location, sensor: str, cursor: str | None = None) -> dict:
    """Evaluate a sensor now, launching nothing: {cursor, skipReason, runRequests, error}."""
    answer = ui.graphql(_SENSOR_DRY_RUN, {"selector": location.selector(sensorName=sensor), "cursor": cursor})
    tick = answer["sensorDryRun"]
    if tick["__typename"] != "DryRunInstigationTick" or tick["evaluationResult"] is None:
        raise UiError(f"dry run of {sensor}: {tick}")
    result = tick["evaluationResult"]
    if result["error"]:
        raise UiError(f"dry run of {sensor} failed: {result['error']['message']}")
    return result


def set_sensor_cursor(ui: DagsterUi, location: Location, sensor: str, cursor: str | None) -> None:
    answer = ui.graphql(_SET_SENSOR_CURSOR, {"selector": location.selector(sensorName=sensor), "cursor": cursor})
    if answer["setSensorCursor"]["__typename"] != "Sensor":
        raise UiError(f"setting the cursor of {sensor}: {answer}")


def start_sensor(ui: DagsterUi, location: Location, sensor: str) -> str:
    """Turn a sensor on, as its switch in the UI does; its status afterwards (RUNNING)."""
    answer = ui.graphql(_START_SENSOR, {"selector": location.selector(sensorName=sensor)})["startSensor"]
    if answer["__typename"] != "Sensor":
        raise UiError(f"starting {sensor}: {answer}")
    return answer["sensorState"]["status"]


def sensor_ticks(ui: DagsterUi, location: Location, sensor: str) -> list[dict]:
    answer = ui.graphql(_SENSOR_TICKS, {"selector": location.selector(sensorName=sensor)})["sensorOrError"]
    if answer["__typename"] != "Sensor":
        raise UiError(f"ticks of {sensor}: {answer}")
    return answer["sensorState"]["ticks"]


_TERMINATE = """
mutation($runIds: [String!]!) {
  terminateRuns(runIds: $runIds) {
    __typename
    ... on TerminateRunsResult { terminateRunResults { __typename ... on TerminateRunFailure { message } } }
    ... on Error { message }
  }
}
"""


def cancel_runs(ui: DagsterUi, run_ids: list[str], timeout: float = 300) -> dict[str, str]:
    """Terminate runs, as the UI's Terminate button does, and wait until they have ended;
    their final statuses.  A queued run is cancelled at once; a started one is interrupted.
    A run caught between the two (STARTING) cannot be terminated yet, so this asks again
    until it can."""
    deadline = time.monotonic() + timeout
    while True:
        statuses = {run["runId"]: run["status"] for run in runs_by_id(ui, run_ids)}
        live = [run_id for run_id, status in statuses.items() if status not in TERMINAL_RUN_STATUSES]
        if not live:
            return statuses
        if time.monotonic() > deadline:
            raise UiError(f"runs not ended {timeout:.0f} s after asking to terminate them: {statuses}\n{ui.log_tail()}")
        terminable = [run_id for run_id in live if statuses[run_id] in ("QUEUED", "STARTED")]
        if terminable:
            answer = ui.graphql(_TERMINATE, {"runIds": terminable})["terminateRuns"]
            if answer["__typename"] != "TerminateRunsResult":
                raise UiError(f"terminating {terminable}: {answer}")
        ui.processes()
        time.sleep(3)


# --------------------------------------------------------------------------- the browser


def find_chromium() -> str | None:
    """The system's Chromium: $IOM_CHROMIUM, else `chromium` (Debian) on the PATH."""
    for candidate in (os.environ.get("IOM_CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


def browser_problem() -> str | None:
    """Why screenshots cannot be taken here, or None when they can."""
    if find_chromium() is None:
        return "no Chromium (Debian package chromium, installed by scripts/setup-system.sh; or set IOM_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (a dev dependency: scripts/setup.sh)"
    return None


# Chromium switches: no first-run work, nothing fetched from the network but the page itself.
CHROMIUM_ARGS = (
    "--no-sandbox",  # as root (CI), Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


class Browser:
    """One headless Chromium with one tab, for photographing the UI at `base_url`.

    A fresh profile each time (Playwright's own temporary one), so what is photographed is
    what a first-time visitor sees, nothing remembered from an earlier session."""

    def __init__(self, base_url: str, *, width: int = 1600, height: int = 1000, executable: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.viewport = {"width": width, "height": height}
        self.executable = executable or find_chromium()
        if self.executable is None:
            raise UiError(browser_problem() or "no Chromium")

    def __enter__(self) -> Browser:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=self.executable, headless=True, args=list(CHROMIUM_ARGS)
            )
            self._context = self._browser.new_context(
                viewport=self.viewport, locale="en-GB", timezone_id="Europe/London", device_scale_factor=1
            )
            self._context.set_default_timeout(60_000)
            self.page = self._context.new_page()
        except BaseException:
            self._playwright.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._context.close()
            self._browser.close()
        finally:
            self._playwright.stop()

    def open(self, path: str, *, wait_for_text: Iterable[str] = (), timeout: float = 60) -> None:
        """Load a page of the UI and wait until each text is visible on it, then a little more
        (the UI fills in statuses and timestamps after its first paint)."""
        self.page.goto(f"{self.base_url}/{path.lstrip('/')}", wait_until="domcontentloaded")
        for text in wait_for_text:
            self.page.get_by_text(text, exact=True).first.wait_for(state="visible", timeout=timeout * 1000)
        self.settle()

    def settle(self, seconds: float = 1.5, timeout: float = 30) -> None:
        """Let the page finish filling itself in: the network quiet (the UI polls, so that
        may never come, and that is fine) and no loading spinner left, then a moment more."""
        try:
            self.page.wait_for_load_state("networkidle", timeout=10_000)
        except Exception:
            pass
        spinners = self.page.locator("[class*='Spinner_spinner'], .bp5-spinner")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(spinners.nth(i).is_visible() for i in range(spinners.count())):
            self.page.wait_for_timeout(250)
        self.page.wait_for_timeout(seconds * 1000)

    def screenshot(self, path: Path, *, full_page: bool = False) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def shot(self, path: Path, page: str, *, wait_for_text: Iterable[str] = (), full_page: bool = False) -> Path:
        """open() then screenshot(): one page, photographed once it shows the texts."""
        self.open(page, wait_for_text=wait_for_text)
        return self.screenshot(path, full_page=full_page)

    # ------------------------------------------------------------------ the asset graph

    def asset_graph(self, path: Path, labels: Iterable[str], timeout: float = 90) -> Path:
        """The global asset lineage (/asset-groups) with every group open, laid out across
        or down the page (whichever shows it larger), the whole graph fitted in the window,
        photographed once every label (the last part of each asset key, as the graph shows
        it) is on screen."""
        labels = sorted(set(labels))
        page = self.page
        page.goto(f"{self.base_url}/asset-groups", wait_until="domcontentloaded")
        viewport = page.locator("[data-svg-viewport]").first
        viewport.wait_for(state="visible", timeout=timeout * 1000)
        self.settle(1)
        self._expand_all_groups()
        sidebar = page.get_by_role("button", name="panel_show_right", exact=True)
        if sidebar.count():  # the asset tree beside the graph: the graph gets the room instead
            sidebar.first.click()
            self.settle(0.5)
        self._best_orientation()
        self._fit_graph()
        missing = self._wait_for_labels(labels, timeout)
        if missing:
            failed = self.screenshot(path.with_name(f"{path.stem}.failed.png"))
            raise UiError(f"the asset graph does not show {missing} after {timeout:.0f} s (as it was: {failed})")
        self.settle(1)
        return self.screenshot(path)

    def _graph_menu(self, item: str) -> bool:
        """Choose an item of the graph's settings menu (the gear by the zoom slider; its
        keyboard shortcuts only toggle); False if the menu has no such item now."""
        page = self.page
        settings = page.locator("#zoom-slider-container button:has([aria-label=settings])")
        if not settings.count():
            return False
        settings.first.click()
        entry = page.get_by_role("menuitem").filter(has_text=item)
        try:
            entry.first.wait_for(state="visible", timeout=10_000)
        except Exception:
            page.keyboard.press("Escape")
            return False
        entry.first.click()
        menu = page.get_by_role("menuitem")
        for close in (lambda: page.keyboard.press("Escape"), lambda: settings.first.click()):
            page.wait_for_timeout(300)
            if not any(menu.nth(i).is_visible() for i in range(menu.count())):
                break
            close()  # some items leave the menu open
        self.settle(1)
        return True

    def _expand_all_groups(self) -> None:
        self._graph_menu("Expand all groups")  # absent with one group, or when already expanded

    def _fit_scale(self) -> float:
        """The scale at which the whole graph (as laid out now) would fit the viewport."""
        viewport = self.page.locator("[data-svg-viewport]").first.bounding_box()
        graph = self.page.locator("[data-svg-viewport] svg").first
        try:
            width, height = float(graph.get_attribute("width") or 0), float(graph.get_attribute("height") or 0)
        except ValueError:
            return 0
        if viewport is None or not width or not height:
            return 0
        return min(viewport["width"] / width, viewport["height"] / height)

    def _best_orientation(self) -> None:
        """Lay the graph out across or down the page, whichever shows it larger."""
        across = self._fit_scale()
        if not self._graph_menu("vertical orientation"):
            return
        if self._fit_scale() < across:
            self._graph_menu("horizontal orientation")

    def _fit_graph(self, margin: float = 0.94) -> None:
        """Zoom out (ctrl + wheel, as a person would) until the graph fits, then centre it."""
        page = self.page
        viewport = page.locator("[data-svg-viewport]").first.bounding_box()
        graph = page.locator("[data-svg-viewport] svg").first
        if viewport is None or not graph.count():
            return
        cx, cy = viewport["x"] + viewport["width"] / 2, viewport["y"] + viewport["height"] / 2
        page.mouse.move(cx, cy)
        for _ in range(80):
            box = graph.bounding_box()
            if box is None or (box["width"] <= viewport["width"] * margin and box["height"] <= viewport["height"] * margin):
                break
            page.keyboard.down("Control")
            page.mouse.wheel(0, 40)
            page.keyboard.up("Control")
            page.wait_for_timeout(120)
        for _ in range(30):
            box = graph.bounding_box()
            if box is None:
                break
            dx, dy = box["x"] + box["width"] / 2 - cx, box["y"] + box["height"] / 2 - cy
            if abs(dx) < 4 and abs(dy) < 4:
                break
            page.mouse.wheel(dx, dy)
            page.wait_for_timeout(120)

    def _wait_for_labels(self, labels: list[str], timeout: float) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            missing = [label for label in labels if not self.page.get_by_text(label, exact=True).count()]
            if not missing or time.monotonic() > deadline:
                return missing
            self.page.wait_for_timeout(500)


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG file; UiError if it is not one."""
    header = path.read_bytes()[:24]
    if header[:8] != b"\x89PNG\r\n\x1a\n" or header[12:16] != b"IHDR":
        raise UiError(f"{path} is not a PNG file")
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
