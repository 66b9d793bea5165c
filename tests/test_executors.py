"""IOM_EXECUTOR: which Dagster executor runs the steps, and the plain messages when its
settings are unusable.  The Celery profile itself runs in tests/test_celery_profile.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipelines import executors
from tests.test_cli import run_cli

PG = "postgresql+psycopg2://iom@db.example:5432/iomhub"
BROKER = "redis://:s3cret-broker@redis.example:6379/0"
BACKEND = "redis://:s3cret-backend@redis.example:6379/1"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch):
    for name in (executors.SETTING, executors.BROKER, executors.BACKEND):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IOM_WAREHOUSE_URL", PG)
    return monkeypatch


def test_steps_run_in_process_unless_a_setting_says_otherwise(env):
    assert executors.executor_from_environment() is dg.in_process_executor
    env.setenv(executors.SETTING, " ")
    assert executors.executor_from_environment() is dg.in_process_executor


def test_each_setting_chooses_its_dagster_executor(env):
    env.setenv(executors.SETTING, "celery")
    env.setenv(executors.BROKER, BROKER)
    env.setenv(executors.BACKEND, BACKEND)
    assert executors.executor_from_environment().name == "celery"
    env.setenv(executors.SETTING, "k8s")
    assert executors.executor_from_environment().name == "k8s"
    # What a dead worker process does to its step is tested for real in tests/test_celery_profile.py.


def test_the_workers_run_with_the_executors_settings():
    # In a process of its own, as a worker imports it: the app is made at import.
    code = (
        "import json; from pipelines.celery_app import app; from pipelines.executors import celery_settings;"
        "print(json.dumps({'broker': app.conf.broker_url, 'backend': app.conf.result_backend,"
        "'settings': {k: app.conf[k] for k in celery_settings()}, 'tasks': sorted(app.tasks)}))"
    )
    env = {**os.environ, executors.SETTING: "celery", executors.BROKER: BROKER, executors.BACKEND: BACKEND}
    done = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    app = json.loads(done.stdout)
    assert (app["broker"], app["backend"]) == (BROKER, BACKEND)
    assert app["settings"] == json.loads(json.dumps(executors.celery_settings()))
    assert "execute_plan" in app["tasks"]  # dagster-celery's step task


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({executors.SETTING: "threads"}, "IOM_EXECUTOR: 'threads' is not one of in_process, celery, k8s"),
        ({executors.SETTING: "celery", "IOM_WAREHOUSE_URL": "sqlite:///w.sqlite"}, "set IOM_WAREHOUSE_URL to a PostgreSQL"),
        ({executors.SETTING: "k8s", "IOM_WAREHOUSE_URL": "sqlite:///w.sqlite"}, "the SQLite warehouse takes one writer"),
        ({executors.SETTING: "celery", executors.BROKER: BROKER}, "IOM_EXECUTOR=celery needs IOM_CELERY_BACKEND"),
        ({executors.SETTING: "celery"}, "needs IOM_CELERY_BROKER and IOM_CELERY_BACKEND"),
    ],
)
def test_unusable_executor_settings_get_one_plain_line(env, settings, message):
    for name, value in settings.items():
        env.setenv(name, value)
    problem = executors.executor_problem()
    assert problem is not None and message in problem
    with pytest.raises(executors.ExecutorSettingError, match=message.replace("(", r"\(").replace(".", r"\.")):
        executors.executor_from_environment()


def test_the_cli_refuses_an_unusable_executor_before_running(tmp_path: Path):
    home = {"DAGSTER_HOME": str(tmp_path / "home"), "IOM_DATA_DIR": str(tmp_path / "data")}
    run = run_cli("run", "--date", "2026-11-23", env={**home, "IOM_EXECUTOR": "threads"}, timeout=120)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "iom-hub: IOM_EXECUTOR: 'threads' is not one of in_process, celery, k8s" in run.stderr
    assert "Traceback" not in run.stderr

    worker = run_cli("worker", env={**home, "IOM_EXECUTOR": ""}, timeout=120)
    assert worker.returncode == 2, worker.stdout + worker.stderr
    assert "a worker runs the steps of runs made with IOM_EXECUTOR=celery" in worker.stderr
    assert "Traceback" not in worker.stderr
