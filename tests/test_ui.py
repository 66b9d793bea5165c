"""The Dagster UI as the hub's operators use it: `iom-hub ui` (webserver and daemon) on
loopback, on a small synthetic inbox, driven through the webserver's GraphQL API.

The tests run in order on one UI (a module-scoped fixture; `--dist loadfile` keeps them on
one worker): the code location loads with everything `pipelines.definitions.defs` declares;
the daily job, launched for a report date, succeeds with its checks passing; a sensor,
turned on, requests a run for a file dropped in the inbox; the asset graph is photographed
in headless Chromium (an artefact under build/artefacts/, never kept in the repository);
and stopping `iom-hub ui` stops every process it started.  About three and a half minutes
on two idle cores (most of it the UI loading the code location, and the run), five to six
beside the rest of the suite.

Deselect with `-m "not ui"`.  Only the screenshot needs anything beyond the virtualenv (the
Debian package chromium, from scripts/setup-system.sh): without it that test is skipped
locally and fails when CI=true.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from tests.browser import (
    Browser,
    DagsterUi,
    Location,
    UiError,
    artefacts_dir,
    browser_problem,
    cancel_runs,
    check_evaluations,
    failures,
    launch_run,
    load_location,
    materialisations,
    png_size,
    port_is_free,
    run_events,
    runs,
    sensor_dry_run,
    sensor_ticks,
    set_sensor_cursor,
    start_sensor,
    wait_for_run,
)

pytestmark = pytest.mark.ui

ROOT = Path(__file__).parents[1]
DAILY_JOB = "daily_pipeline"
PARTITION_TAG = "dagster/partition"
SENSOR_TAG = "dagster/sensor_name"
ARRESTS_FILE = re.compile(r"niche_arrests_(\d{8})_(\d{6})\.csv")


@dataclass
class UiHub:
    ui: DagsterUi
    location: Location | None
    inbox: Path
    report_date: date
    env: dict[str, str]
    daily_run: str | None = None


@pytest.fixture(scope="module")
def hub_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiHub]:
    """`iom-hub ui` on a 14-day synthetic inbox ending today (the report date), with its own
    warehouse, reports, review folder and DAGSTER_HOME (holding the project's dagster.yaml)."""
    from pipelines.settings import OPTIONAL, today_in_london
    from pipelines.synth import generate

    root = tmp_path_factory.mktemp("ui")
    report_date = today_in_london()
    summary = generate(root / "box", end_date=report_date, days=14, seed=7, scale=0.2)
    home = root / "dagster_home"
    home.mkdir()
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {
        **{name: "" for name in OPTIONAL},  # no outbox, ODBC or SFTP from the developer's shell
        "IOM_DATA_DIR": str(root / "data"),
        "IOM_INBOX": str(summary.inbox),
        "IOM_WAREHOUSE_URL": f"sqlite:///{root / 'warehouse.sqlite'}",
        "IOM_REPORTS_DIR": str(root / "reports"),
        "IOM_REVIEW_DIR": str(root / "review"),
        "IOM_QUALITY_DIR": str(root / "quality"),
        "IOM_CONFIG": str(ROOT / "config" / "hub.yaml"),
        "IOM_SETTLE_SECONDS": "0",
        "IOM_FIRST_REPORT_DATE": summary.first_date.isoformat(),
    }
    ui = DagsterUi.start(home=home, log_path=root / "iom-hub-ui.log", env=env)
    try:
        ui.wait_until_ready(timeout=600)
        yield UiHub(
            ui=ui, location=None, inbox=Path(summary.inbox), report_date=report_date, env={**env, "DAGSTER_HOME": str(home)}
        )
    finally:
        ui.stop()  # nothing to do if the last test stopped it


def test_the_code_location_loads_with_every_asset_check_sensor_and_schedule(hub_ui: UiHub) -> None:
    from pipelines.definitions import defs

    repository = defs.get_repository_def()
    graph = repository.asset_graph
    try:
        location = load_location(hub_ui.ui)
    except UiError as exc:
        pytest.fail(f"{exc}\n{hub_ui.ui.log_tail()}")
    hub_ui.location = location
    assert location.assets == {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert location.checks == {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}
    assert set(location.sensors) == {sensor.name for sensor in repository.sensor_defs}
    assert location.schedules == {schedule.name for schedule in repository.schedule_defs}
    assert DAILY_JOB in location.jobs
    assert location.checks and location.sensors  # nothing vacuous

    # The instance is the project's dagster.yaml: no first-visit pop-up, one run at a time,
    # and never two for the same report date.
    settings = hub_ui.ui.graphql("{ shouldShowNux instance { runQueueConfig { maxConcurrentRuns tagConcurrencyLimitsYaml } } }")
    assert settings["shouldShowNux"] is False
    queue = settings["instance"]["runQueueConfig"]
    assert queue["maxConcurrentRuns"] == 1
    assert "dagster/partition" in queue["tagConcurrencyLimitsYaml"]
    assert "applyLimitPerUniqueValue: true" in queue["tagConcurrencyLimitsYaml"]


def test_the_daily_job_launched_for_a_report_date_succeeds_with_its_checks_passing(hub_ui: UiHub) -> None:
    location = hub_ui.location or load_location(hub_ui.ui)
    partition = hub_ui.report_date.isoformat()
    run_id = launch_run(hub_ui.ui, location, DAILY_JOB, {PARTITION_TAG: partition})
    status = wait_for_run(hub_ui.ui, run_id, timeout=900)
    events = run_events(hub_ui.ui, run_id)
    assert status == "SUCCESS", "\n\n".join(failures(events)) or hub_ui.ui.log_tail()
    hub_ui.daily_run = run_id

    planned_assets, materialised = materialisations(events)
    assert planned_assets and {asset for asset, _ in materialised} == planned_assets
    assert {p for asset, p in materialised if asset in location.partitioned} == {partition}

    planned_checks, evaluations = check_evaluations(events)
    assert planned_checks and planned_checks <= location.checks
    assert {(e["asset"], e["checkName"]) for e in evaluations} == planned_checks  # every check ran
    failed = [e for e in evaluations if not e["success"] and e["severity"] != "WARN"]
    assert not failed, failed


def test_a_sensor_turned_on_requests_a_run_for_a_file_dropped_in_the_inbox(hub_ui: UiHub) -> None:
    from pipelines.settings import today_in_london

    ui = hub_ui.ui
    location = hub_ui.location or load_location(ui)
    sensor = "arrests_arrivals"
    assert sensor in location.sensors, sorted(location.sensors)
    assert location.sensors[sensor]["sensorState"]["status"] == "STOPPED"  # off until switched on

    # The sensor has not run yet, so its first tick would take every file already in the
    # inbox for new and request a run for each report date they touch.  Its cursor is set
    # to what it sees now (its own evaluation, by a dry run that launches nothing), so only
    # the file dropped below is new to it.
    now_seen = sensor_dry_run(ui, location, sensor)
    assert now_seen["runRequests"], now_seen["skipReason"]
    set_sensor_cursor(ui, location, sensor, now_seen["cursor"])

    folder = hub_ui.inbox / "arrests"
    latest = max((m.groups(), p) for p in folder.iterdir() if (m := ARRESTS_FILE.fullmatch(p.name)))
    (day, hhmmss), source = latest
    # The same day's notifications again, delivered a second later (or, at 23:59:59, a second earlier).
    stamp = datetime.strptime(day + hhmmss, "%Y%m%d%H%M%S")
    later = stamp + timedelta(seconds=1) if hhmmss != "235959" else stamp - timedelta(seconds=1)
    dropped = folder / f"niche_arrests_{later:%Y%m%d_%H%M%S}.csv"
    assert not dropped.exists()
    shutil.copyfile(source, dropped)
    settled = time.time() - 120  # written a while ago: complete, not still arriving
    os.utime(dropped, (settled, settled))

    assert start_sensor(ui, location, sensor) == "RUNNING"
    # The daemon evaluates a sensor that has never ticked at its next pass (seconds), not
    # after the sensor's minimum interval.
    deadline = time.monotonic() + 300
    requested: list[dict] = []
    while not requested and time.monotonic() < deadline:
        time.sleep(2)
        requested = runs(ui, tags={SENSOR_TAG: sensor})
    assert requested, f"no run requested by {sensor} within 300 s; ticks: {sensor_ticks(ui, location, sensor)}\n{ui.log_tail()}"

    # The tick that requested it is recorded as a success once it has submitted all its runs.
    deadline = time.monotonic() + 120
    while True:
        ticks = sensor_ticks(ui, location, sensor)
        done = [tick for tick in ticks if tick["status"] == "SUCCESS" and tick["runIds"]]
        if done:
            break
        assert time.monotonic() < deadline, ticks
        time.sleep(2)
    requested = runs(ui, tags={SENSOR_TAG: sensor})
    run_ids = [run["runId"] for run in requested]
    assert sorted(run_ids) == sorted(done[0]["runIds"]), (requested, ticks)
    # Stop them (a full run each is not the point here) before going on.
    cancel_runs(ui, run_ids, timeout=300)

    file_date = datetime.strptime(day, "%Y%m%d").date()
    today = today_in_london()
    partitions = {run["tags"].get(PARTITION_TAG) for run in requested}
    assert partitions and partitions <= {d.isoformat() for d in (file_date, file_date + timedelta(days=1), today) if d <= today}
    assert all(run["tags"].get("dagster/run_key", "").startswith("arrests:") for run in requested)


def test_a_cli_run_and_a_ui_run_for_the_same_day_at_once_take_turns_and_both_succeed(hub_ui: UiHub) -> None:
    """The data team's morning: someone launches the day from the UI while a colleague
    types `iom-hub run` for it.  The second to reach the warehouse waits for the first
    (warehouse/lock.py); both succeed; Dagster's storage and the warehouse stay whole."""
    import sqlalchemy as sa

    ui = hub_ui.ui
    location = hub_ui.location or load_location(ui)
    partition = hub_ui.report_date.isoformat()
    cli = subprocess.Popen([str(Path(sys.executable).with_name("iom-hub")), "run", "--date", partition, "--verbose"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                           env={**os.environ, **hub_ui.env})  # fmt: skip
    run_id = launch_run(ui, location, DAILY_JOB, {PARTITION_TAG: partition})
    out, _ = cli.communicate(timeout=900)
    status = wait_for_run(ui, run_id, timeout=900)
    events = run_events(ui, run_id)
    assert cli.returncode in (0, 3), out  # 3: the generated inbox has late files
    assert status == "SUCCESS", "\n\n".join(failures(events)) or ui.log_tail()
    waited = "Another run is writing to the warehouse: waiting for it to finish."
    assert waited in out or any(waited in (e.get("message") or "") for e in events)

    engine = sa.create_engine(hub_ui.env["IOM_WAREHOUSE_URL"])
    with engine.connect() as conn:
        twice = conn.execute(sa.text("SELECT name FROM ingest_file WHERE is_current GROUP BY feed, name HAVING count(*) > 1"))
        assert twice.fetchall() == []
    engine.dispose()
    # Dagster's storage is still usable: the runs are listed, the CLI's among them.
    assert {r["runId"] for r in runs(ui, job=DAILY_JOB)} >= {run_id}


def test_a_screenshot_of_the_asset_graph(hub_ui: UiHub, capsys: pytest.CaptureFixture[str]) -> None:
    problem = browser_problem()
    if problem:
        from tests.servers import skip_or_fail

        skip_or_fail(f"no headless browser for the UI screenshot: {problem}", "run scripts/setup-system.sh as root")
    location = hub_ui.location or load_location(hub_ui.ui)
    path = artefacts_dir() / "asset-graph.png"
    path.unlink(missing_ok=True)
    with Browser(hub_ui.ui.url(), width=1600, height=1000) as browser:
        browser.asset_graph(path, labels={asset.rsplit("/", 1)[-1] for asset in location.assets})
    assert png_size(path) == (1600, 1000)
    assert path.stat().st_size > 40_000  # a drawn graph, not a blank page
    with capsys.disabled():
        print(f"\nasset graph screenshot: {path}")


def test_stopping_the_ui_stops_the_webserver_the_daemon_and_all_their_children(hub_ui: UiHub) -> None:
    ui = hub_ui.ui
    running = ui.processes()
    commands = " ".join(proc.command for proc in running)
    assert "dagster-webserver" in commands and "dagster-daemon" in commands, commands
    assert not port_is_free(ui.port)

    left = ui.stop(timeout=90)
    assert not left, "still running after SIGTERM to iom-hub ui:\n" + "\n".join(map(str, left))
    assert ui.process.returncode == 0, ui.log_tail()
    assert port_is_free(ui.port)
    assert len(ui.seen) >= 4  # the command, webserver, daemon and their code servers were all watched
