"""Where a run's steps execute: chosen by IOM_EXECUTOR, never by a code edit.

* ``in_process`` (the default): every step in the run's own process.  On one machine
  with the SQLite warehouse this is the fastest: starting a process and importing the
  pipeline for each of some thirty steps costs more than most steps.
* ``celery``: each step is a task on a Celery queue (dagster-celery), run by whichever
  worker (`iom-hub worker`) takes it; independent steps (each feed's sync and linking,
  the products) run on several workers at once.  The broker and result backend are
  IOM_CELERY_BROKER and IOM_CELERY_BACKEND (Redis URLs, secrets: environment only).
  Needs the PostgreSQL warehouse and a Dagster instance every worker reaches
  (deploy/dagster-postgres.yaml).
* ``k8s``: each step is a Kubernetes Job (dagster-k8s), for a deployment on the official
  Helm chart (deploy/helm/values.yaml); same needs as ``celery``.

Both ``celery`` and this module's worker app (pipelines/celery_app.py) take their
settings from ``celery_settings()``, so what the executor sends and what the workers
run agree.
"""

from __future__ import annotations

import os

import dagster as dg

SETTING = "IOM_EXECUTOR"
BROKER = "IOM_CELERY_BROKER"
BACKEND = "IOM_CELERY_BACKEND"
CHOICES = ("in_process", "celery", "k8s")
DISTRIBUTED = ("celery", "k8s")
QUEUE = "dagster"  # dagster-celery's queue (its make_app routes every task there)

# A Redis broker hands an unacknowledged task to another worker after this long; it must
# be longer than any step takes, or a long step would run twice.  A worker process that
# dies is noticed at once (task_reject_on_worker_lost): this is only for a lost machine.
VISIBILITY_TIMEOUT_SECONDS = 4 * 3600


class ExecutorSettingError(ValueError):
    """IOM_EXECUTOR or what it needs is not set usably; the message names the setting."""


def executor_name() -> str:
    return os.environ.get(SETTING, "").strip() or "in_process"


def executor_problem() -> str | None:
    """What is wrong with the executor settings, in one line (None: nothing)."""
    name = executor_name()
    if name not in CHOICES:
        return f"{SETTING}: {name!r} is not one of {', '.join(CHOICES)}"
    if name in DISTRIBUTED and os.environ.get("IOM_WAREHOUSE_URL", "").startswith("sqlite"):
        return (
            f"{SETTING}={name} runs steps in several processes at once, and the SQLite warehouse takes one writer: "
            "set IOM_WAREHOUSE_URL to a PostgreSQL database (postgresql+psycopg2://...)"
        )
    if name == "celery":
        missing = [v for v in (BROKER, BACKEND) if not os.environ.get(v, "").strip()]
        if missing:
            return f"{SETTING}=celery needs {' and '.join(missing)} (e.g. redis://:PASSWORD@HOST:6379/0)"
    return None


def celery_settings() -> dict:
    """The Celery settings of both the executor and the workers (Celery's lowercase names)."""
    return {
        # A step's task is acknowledged when it ends, not when it starts, and handed back to
        # the queue if the worker process running it dies (killed, out of memory): another
        # worker runs the step again.  Steps are idempotent (re-running a day changes nothing).
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # One step at a time per worker process: the queue keeps the rest for idle workers.
        "worker_prefetch_multiplier": 1,
        "broker_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS},
        "result_backend_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS},
        # A worker started before Redis is up waits for it instead of exiting.
        "broker_connection_retry_on_startup": True,
        # Dagster's step logs keep their own handlers; Celery would reroute the root logger.
        "worker_hijack_root_logger": False,
    }


def executor_from_environment() -> dg.ExecutorDefinition:
    """The executor IOM_EXECUTOR names, configured from the environment at run time."""
    if (problem := executor_problem()) is not None:
        raise ExecutorSettingError(problem)
    name = executor_name()
    if name == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured(
            {"broker": {"env": BROKER}, "backend": {"env": BACKEND}, "config_source": celery_settings()},
            name="celery",
        )
    if name == "k8s":
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor
    return dg.in_process_executor
