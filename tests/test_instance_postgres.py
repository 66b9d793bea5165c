"""The PostgreSQL instance profile (deploy/dagster-postgres.yaml) against a real PostgreSQL
server: run history, event logs and schedule/sensor state all land in PostgreSQL.

The server is tests/servers.py's `postgres_server` (it needs root and scripts/setup-system.sh:
skipped locally without them, a failure when CI=true).  Each test gets a database of its
own, and a DAGSTER_HOME holding nothing but that profile as its dagster.yaml.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import psycopg2
import pytest
import yaml

if TYPE_CHECKING:
    from tests.servers import PostgresServer

ROOT = Path(__file__).parents[1]
PROFILE = ROOT / "deploy" / "dagster-postgres.yaml"

# A code location of its own, small enough to load in a second: an asset with a check, the
# job that materialises it, and a sensor (off until turned on, as the hub's are) that
# requests one run of it.
TINY_DEFINITIONS = """
import dagster as dg


@dg.asset
def greeting() -> str:
    return "hello"


@dg.asset_check(asset=greeting, blocking=True)
def greeting_is_not_empty(greeting: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=bool(greeting))


# In process: the run worker is the only process a run needs (no process per step).
hello_job = dg.define_asset_job("hello_job", selection=[greeting], executor_def=dg.in_process_executor)


@dg.sensor(job=hello_job, minimum_interval_seconds=1, default_status=dg.DefaultSensorStatus.STOPPED)
def hello_sensor(context):
    return dg.RunRequest(run_key="once")


defs = dg.Definitions(assets=[greeting], asset_checks=[greeting_is_not_empty], jobs=[hello_job], sensors=[hello_sensor])
"""


def test_the_profile_differs_from_dagster_yaml_only_in_its_storage() -> None:
    """The two profiles must not drift apart: the same queue, limits and UI settings."""
    default = yaml.safe_load((ROOT / "dagster.yaml").read_text(encoding="utf-8"))
    postgres = yaml.safe_load(PROFILE.read_text(encoding="utf-8"))
    assert "postgres" in postgres.pop("storage")
    default.pop("storage", None)  # absent: Dagster's SQLite files under DAGSTER_HOME
    assert postgres == default


@pytest.fixture
def pg_instance_home(postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """DAGSTER_HOME with the PostgreSQL profile, its DAGSTER_PG_* pointing at a fresh database."""
    database = f"dagster_{uuid.uuid4().hex[:12]}"
    server = postgres_server
    server.psql(f"CREATE DATABASE {database} OWNER {server.user} ENCODING 'UTF8' TEMPLATE template0", database="postgres")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PROFILE, home / "dagster.yaml")
    for name, value in {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": server.host,
        "DAGSTER_PG_PORT": str(server.port),
        "DAGSTER_PG_DB": database,
        "DAGSTER_PG_USER": server.user,
        "DAGSTER_PG_PASSWORD": server.password,
    }.items():
        monkeypatch.setenv(name, value)
    try:
        yield home
    finally:
        server.psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", database="postgres")


def query(sql: str, *params: object) -> list[tuple]:
    """SQL on the instance's database, straight through psycopg2 (not through Dagster)."""
    connection = psycopg2.connect(
        host=os.environ["DAGSTER_PG_HOST"],
        port=int(os.environ["DAGSTER_PG_PORT"]),
        dbname=os.environ["DAGSTER_PG_DB"],
        user=os.environ["DAGSTER_PG_USER"],
        password=os.environ["DAGSTER_PG_PASSWORD"],
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    finally:
        connection.close()


def event_types(run_id: str) -> set[str]:
    """The kinds of event the run's event log holds in PostgreSQL, by DagsterEventType name
    (the table stores their values: RUN_START is stored as PIPELINE_START)."""
    names = {event_type.value: event_type.name for event_type in dg.DagsterEventType}
    rows = query("SELECT DISTINCT dagster_event_type FROM event_logs WHERE run_id = %s", run_id)
    return {names.get(value, value) for (value,) in rows}


def tiny_definitions(folder: Path) -> dg.Definitions:
    path = folder / "tiny_defs.py"
    path.write_text(TINY_DEFINITIONS, encoding="utf-8")
    namespace: dict = {}
    exec(compile(TINY_DEFINITIONS, str(path), "exec"), namespace)
    return namespace["defs"]


def test_the_profile_keeps_runs_and_event_logs_in_postgresql(pg_instance_home: Path, tmp_path: Path) -> None:
    defs = tiny_definitions(tmp_path)
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.get_ref().schedule_storage).__name__ == "PostgresScheduleStorage"
        assert instance.get_ref().storage_data.class_name == "DagsterPostgresStorage"
        # The rest of the profile is the SQLite one's: no telemetry, no pop-up, one run at a time.
        assert not instance.telemetry_enabled and not instance.nux_enabled
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs == 1
        assert queue.tag_concurrency_limits == [
            {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
        ]

        result = defs.resolve_job_def("hello_job").execute_in_process(instance=instance)
        assert result.success
        run_id = result.run_id
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS

    # Read back with SQL, not through Dagster: the rows really are in PostgreSQL.
    assert query("SELECT status, pipeline_name FROM runs WHERE run_id = %s", run_id) == [("SUCCESS", "hello_job")]
    assert {"RUN_START", "ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION", "RUN_SUCCESS"} <= event_types(run_id)
    assert query("SELECT execution_status FROM asset_check_executions WHERE run_id = %s", run_id) == [("SUCCEEDED",)]
    # And no SQLite history beside it.
    assert not (pg_instance_home / "history").exists()


def test_the_daemon_on_postgresql_keeps_sensor_state_ticks_and_runs_there(pg_instance_home: Path, tmp_path: Path) -> None:
    """A sensor turned on (`dagster sensor start`), then the daemon on this profile evaluates
    it, queues its run and launches it: the sensor's state and tick (schedule storage), the
    run and its events are all in PostgreSQL."""
    tiny_definitions(tmp_path)
    target = ["-f", str(tmp_path / "tiny_defs.py"), "-d", str(tmp_path)]
    dagster = Path(sys.executable).with_name("dagster")
    started = subprocess.run(
        [str(dagster), "sensor", "start", "hello_sensor", *target], capture_output=True, text=True, cwd=pg_instance_home
    )
    assert started.returncode == 0, started.stdout + started.stderr
    daemon = Path(sys.executable).with_name("dagster-daemon")
    log_path = tmp_path / "daemon.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(daemon), "run", *target],
            cwd=pg_instance_home,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 300
        succeeded: list[tuple[str, str]] = []
        while time.monotonic() < deadline and not succeeded:
            assert process.poll() is None, log_path.read_text(errors="replace")
            time.sleep(1)
            try:
                succeeded = query("SELECT run_id, status FROM runs WHERE status = 'SUCCESS'")
            except psycopg2.Error:  # the tables are created on first use
                continue
        assert succeeded, f"no successful run within 300 s:\n{log_path.read_text(errors='replace')[-5000:]}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        finally:
            with contextlib.suppress(ProcessLookupError):  # its code server or a run worker, if still there
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    ((run_id, _),) = succeeded
    tags = dict(query("SELECT key, value FROM run_tags WHERE run_id = %s", run_id))
    assert tags["dagster/sensor_name"] == "hello_sensor"
    assert tags["dagster/run_key"] == "once"
    assert {"RUN_ENQUEUED", "RUN_START", "ASSET_CHECK_EVALUATION", "RUN_SUCCESS"} <= event_types(run_id)

    # Schedule storage: the sensor's state and the tick that requested the run.
    # (The bodies are Dagster's serialised records: looked for as text here, read by Dagster below.)
    states = query("SELECT instigator_type, status, instigator_body FROM instigators")
    assert [(kind, status) for kind, status, body in states if '"hello_sensor"' in body] == [("SENSOR", "RUNNING")], states
    ticks = query("SELECT type, status FROM job_ticks WHERE tick_body LIKE %s", f"%{run_id}%")
    assert ticks == [("SENSOR", "SUCCESS")], ticks

    with warnings.catch_warnings(), dg.DagsterInstance.get() as instance:
        warnings.simplefilter("ignore")
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
        assert [state.name for state in instance.all_instigator_state()] == ["hello_sensor"]
