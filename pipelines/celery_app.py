"""The Celery app a hub worker runs (`iom-hub worker`): dagster-celery's step task, with
the broker, result backend and settings the executor uses (pipelines/executors.py).

Started as ``celery -A pipelines.celery_app worker``; the broker URL stays in the
environment and is never written to a file (dagster-celery's own ``worker start -y``
writes its settings into DAGSTER_HOME).
"""

from __future__ import annotations

import os

from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from pipelines.executors import BACKEND, BROKER, celery_settings
from pipelines.settings import apply_environment_defaults

apply_environment_defaults()

# As dagster-celery's own worker command builds it (retries are decided by the run's
# executor, which sends them with each task).
app = make_app(
    CeleryExecutor.for_cli(
        broker=os.environ.get(BROKER) or None, backend=os.environ.get(BACKEND) or None, config_source=celery_settings()
    ).app_args()
)
execute_plan = create_task(app)
