"""Two `iom-hub run` commands for the same day, started together on a new hub: before the
run lock both failed (a unique-constraint error on the ledger) and left Dagster's run
storage with two Alembic heads.  Now one runs and the other waits, and the hub stays usable."""

from __future__ import annotations

import subprocess
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from tests.conftest import BOTH_WAREHOUSES
from tests.test_cli import IOM_HUB, ROOT, D, every_feed_on_time, hub_env, run_cli


def test_two_runs_started_together_on_a_new_hub_both_succeed(hub, tmp_path: Path, monkeypatch):
    import os

    every_feed_on_time(hub.inbox)
    new_warehouse = f"sqlite:///{tmp_path / 'new-warehouse.sqlite'}"
    env = {**os.environ, **hub_env(hub, tmp_path), "IOM_WAREHOUSE_URL": new_warehouse}  # a new hub: no storage yet
    command = [str(IOM_HUB), "run", "--date", D.isoformat()]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
            for _ in range(2)]  # fmt: skip
    outputs = [r.communicate(timeout=900) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    assert all("Traceback" not in out + err for out, err in outputs)
    assert sum("waiting for it to finish" in err for _, err in outputs) <= 1
    # The hub is still usable: another run works, and each file is in the ledger once.
    third = run_cli("run", "--date", D.isoformat(), env={**hub_env(hub, tmp_path), "IOM_WAREHOUSE_URL": new_warehouse})
    assert third.returncode == 0, third.stdout + third.stderr
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    with dg.DagsterInstance.get() as instance:
        assert [r.status for r in instance.get_runs()] == [dg.DagsterRunStatus.SUCCESS] * 3
    engine = sa.create_engine(new_warehouse)
    with engine.connect() as conn:
        names = [r.name for r in conn.execute(sa.text("select name from ingest_file"))]
    engine.dispose()
    files = [p.name for p in hub.inbox.root.rglob("*") if p.is_file()]
    assert sorted(names) == sorted(files)


@BOTH_WAREHOUSES
def test_two_machines_running_the_same_day_on_one_warehouse_take_turns(hub, tmp_path: Path):
    """Two hubs with their own DAGSTER_HOME (two machines, or the UI's instance and a
    colleague's shell) sharing one warehouse: the second to reach it waits for the first
    (warehouse/lock.py), and both succeed with each file loaded once."""
    import os

    every_feed_on_time(hub.inbox)
    runs = []
    for machine in ("one", "two"):
        env = {**os.environ, **hub_env(hub, tmp_path), "DAGSTER_HOME": str(tmp_path / machine / "dagster_home"),
               "IOM_WAREHOUSE_URL": hub.engine.url.render_as_string(hide_password=False)}  # fmt: skip
        command = [str(IOM_HUB), "run", "--date", D.isoformat(), "--verbose"]
        runs.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT))
    outputs = [r.communicate(timeout=900)[0] for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    assert all("Traceback" not in out for out in outputs)
    waited = [out for out in outputs if "Another run is writing to the warehouse: waiting for it to finish." in out]
    assert len(waited) == 1  # started together, they overlapped: one waited for the other
    with hub.engine.connect() as conn:
        names = [r.name for r in conn.execute(sa.text("SELECT name FROM ingest_file"))]
    assert sorted(names) == sorted(p.name for p in hub.inbox.root.rglob("*") if p.is_file())
