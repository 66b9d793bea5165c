"""Operating the hub through Dagster: a range of report dates as one run, the schedules,
and the checks on the products catching what they are there to catch."""

from __future__ import annotations

import csv
import shutil
import warnings
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from pipelines.synth import generate
from tests.builders import hub_settings

D = date(2026, 11, 23)
FIRST = D - timedelta(days=2)
DATES = [FIRST + timedelta(days=i) for i in range((D - FIRST).days + 1)]


def _instance() -> dg.DagsterInstance:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dg.DagsterInstance.ephemeral()


def _env(mp: pytest.MonkeyPatch, root: Path, inbox: Path) -> None:
    for k, v in hub_settings(root, inbox).items():
        mp.setenv(k, v)


def _products(root: Path) -> dict[str, object]:
    """Every report CSV, the last date's review list and the traffic-light table.

    An earlier date's review list also carries the traffic light's uncertain links as that
    date's run judged them; a range computes the traffic light once, for its last date
    (docs/design.md), so only the last date's list is the same either way.
    """
    out: dict[str, object] = {}
    for path in [*sorted((root / "reports").rglob("*.csv")), root / "review" / D.isoformat() / "review.csv"]:
        out[str(path.relative_to(root))] = path.read_bytes()
    engine = sa.create_engine(f"sqlite:///{root / 'warehouse.sqlite'}")
    with engine.connect() as conn:
        out["traffic_light"] = sorted(map(tuple, conn.execute(sa.text("select * from traffic_light"))))
    engine.dispose()
    return out


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ops")
    summary = generate(root / "synth", end_date=D, days=25, seed=5)
    return summary.inbox


@pytest.fixture(scope="module")
def day_by_day(tmp_path_factory, inbox):
    from pipelines.definitions import DAILY_JOB, defs

    root = tmp_path_factory.mktemp("day_by_day")
    with pytest.MonkeyPatch.context() as mp:
        _env(mp, root, inbox)
        instance = _instance()
        for d in DATES:
            assert defs.resolve_job_def(DAILY_JOB).execute_in_process(partition_key=d.isoformat(), instance=instance).success
    return root


def test_a_range_in_one_run_equals_the_days_one_by_one(tmp_path, inbox, day_by_day):
    from pipelines.definitions import DAILY_JOB, defs

    with pytest.MonkeyPatch.context() as mp:
        _env(mp, tmp_path, inbox)
        instance = _instance()
        result = defs.resolve_job_def(DAILY_JOB).execute_in_process(
            instance=instance,
            tags={"dagster/asset_partition_range_start": FIRST.isoformat(), "dagster/asset_partition_range_end": D.isoformat()},
        )
    assert result.success
    assert len(instance.get_runs()) == 1
    reports = next(
        e.event_specific_data.materialization
        for e in result.get_asset_materialization_events()
        if e.event_specific_data.materialization.asset_key == dg.AssetKey("division_reports")
    )
    assert len(reports.metadata["report_folders"].value.splitlines()) == len(DATES) * 3
    got, want = _products(tmp_path), _products(day_by_day)
    assert sorted(got) == sorted(want)
    assert any(k.endswith("attendance.csv") and v.count(b"\n") > 1 for k, v in want.items())  # not trivially empty
    for key in want:
        assert got[key] == want[key], key


def test_the_traffic_light_check_catches_a_missing_cell(tmp_path, inbox, day_by_day):
    from pipelines.checks.outputs import missing_cells
    from pipelines.settings import PROJECT_ROOT, load_hub_config

    config = load_hub_config(str(PROJECT_ROOT / "config" / "hub.yaml"))
    shutil.copy(day_by_day / "warehouse.sqlite", tmp_path / "warehouse.sqlite")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    expected, problems = missing_cells(engine, D, config)
    assert expected == 2 * 4 * 5 and problems == []  # October and November, three divisions and ALL, five KPIs
    with engine.begin() as conn:
        conn.execute(sa.text("delete from traffic_light where period = '2026-11' and division = 'NE' and kpi = 'plan_in_place'"))
    assert missing_cells(engine, D, config)[1] == ["2026-11 NE plan_in_place: missing"]
    engine.dispose()


def _check_only(check: dg.AssetChecksDefinition, report_date: date, root: Path, inbox: Path) -> dg.AssetCheckEvaluation:
    from pipelines.definitions import defs

    job = dg.define_asset_job("just_the_check", selection=dg.AssetSelection.checks(check))
    one = dg.Definitions(assets=defs.assets, asset_checks=defs.asset_checks, jobs=[job], resources=defs.resources)
    with pytest.MonkeyPatch.context() as mp:
        _env(mp, root, inbox)
        result = one.resolve_job_def("just_the_check").execute_in_process(
            instance=_instance(), tags={"iom/report_date": report_date.isoformat()}, raise_on_error=False
        )
    failures = [str(e.event_specific_data.error.cause) for e in result.all_events if e.is_step_failure]
    evaluations = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert len(evaluations) == 1, failures
    return evaluations[0]


def test_the_report_checks_rerun_on_their_own_and_catch_tampering(tmp_path, inbox, day_by_day):
    from pipelines.checks.outputs import only_reportable_people, reports_complete

    shutil.copytree(day_by_day, tmp_path / "copy")
    root = tmp_path / "copy"
    assert _check_only(only_reportable_people, D, root, inbox).passed
    assert _check_only(reports_complete, D, root, inbox).passed
    # Someone outside the cohort added to a division's appointments; a section deleted.
    path = root / "reports" / D.isoformat() / "CH" / "attendance.csv"
    with path.open("a", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerow(["LDS-999999", "Nobody", "Someone", "PROBATION", "R1", "2026-11-22T10:00:00", "", "ATTENDED"])
    (root / "reports" / D.isoformat() / "NW" / "reviews.csv").unlink()
    tampered = _check_only(only_reportable_people, D, root, inbox)
    assert not tampered.passed
    assert "CH/attendance line" in tampered.metadata["problems"].value
    assert "Nobody" not in str(tampered.metadata)  # findings name the line, never the person
    incomplete = _check_only(reports_complete, D, root, inbox)
    assert not incomplete.passed and "NW: reviews.csv" in incomplete.metadata["problems"].value


def test_the_morning_schedule_asks_for_that_days_report_and_says_why():
    from pipelines.definitions import defs

    schedule = defs.resolve_schedule_def("morning_report")
    assert schedule.cron_schedule == "0 7 * * *" and schedule.execution_timezone == "Europe/London"
    # 07:00 in London on 1 July is 06:00 UTC: still the 1st's report.
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 7, 1, 6, 0, tzinfo=UTC), repository_def=defs.get_repository_def()
    )
    (request,) = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2026-07-01"
    assert request.tags["iom/requested_by"] == "schedule morning_report"
    assert "2026-07-01" in request.tags["iom/reason"]


def test_the_arrival_schedule_checks_the_feeds_after_they_are_due():
    from pipelines.definitions import SYNC_JOB, defs

    schedule = defs.resolve_schedule_def("feed_arrivals")
    assert schedule.job_name == SYNC_JOB
    assert schedule.cron_schedule == "5 6 * * *"  # every feed is due at 06:00 in config/hub.yaml
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 12, 1, 6, 5, tzinfo=UTC), repository_def=defs.get_repository_def()
    )
    (request,) = schedule.evaluate_tick(context).run_requests
    assert request.tags["iom/report_date"] == "2026-12-01"
    assert "06:00" in request.tags["iom/reason"]
    job = defs.resolve_job_def(SYNC_JOB)
    checks = {k.name for k in job.asset_layer.asset_graph.asset_check_keys}
    assert checks == {"rows_reconcile", "schema_valid", "on_time", "quality"}  # quality: the feeds' Great Expectations suites


def test_the_monthly_schedules_make_the_conference_packs_for_that_day_and_last_months_performance_pack():
    from pipelines.definitions import CONFERENCE_PACKS_JOB, PERFORMANCE_PACK_JOB, defs

    # 08:00 in London on 1 December is 08:00 UTC; on 1 July it is 07:00 UTC.
    for when, day, month in ((datetime(2026, 12, 1, 8, 0, tzinfo=UTC), "2026-12-01", "2026-11"),
                             (datetime(2026, 7, 1, 7, 0, tzinfo=UTC), "2026-07-01", "2026-06")):  # fmt: skip
        context = dg.build_schedule_context(scheduled_execution_time=when, repository_def=defs.get_repository_def())
        packs = defs.resolve_schedule_def("monthly_packs")
        assert packs.job_name == CONFERENCE_PACKS_JOB and packs.cron_schedule == "0 8 1 * *"
        (request,) = packs.evaluate_tick(context).run_requests
        assert request.partition_key == day
        performance = defs.resolve_schedule_def("monthly_performance_pack")
        assert performance.job_name == PERFORMANCE_PACK_JOB
        (request,) = performance.evaluate_tick(context).run_requests
        assert request.partition_key == month and month in request.tags["iom/reason"]


def test_the_packs_day_must_be_in_every_month(tmp_path):
    from pipelines.settings import PROJECT_ROOT, ConfigError, load_hub_config

    text = (PROJECT_ROOT / "config" / "hub.yaml").read_text(encoding="utf-8")
    (tmp_path / "late.yaml").write_text(text.replace("packs: {day: 1,", "packs: {day: 31,"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"late.yaml: schedule: packs: day must be 1 to 28"):
        load_hub_config(str(tmp_path / "late.yaml"))


def test_an_asset_backfill_from_the_ui_gives_the_traffic_light_its_last_date():
    """Dagster runs the unpartitioned traffic light of a UI backfill in a run of its own,
    tagged only with the backfill: it must still be computed for the backfill's last date."""
    import time

    from dagster._core.execution.backfill import PartitionBackfill

    from pipelines.definitions import defs
    from pipelines.partitions import run_report_date, run_report_dates

    instance = _instance()
    keys = [dg.AssetKey("division_reports"), dg.AssetKey("traffic_light")]
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id="bf1", asset_graph=defs.resolve_asset_graph(), partition_names=[d.isoformat() for d in DATES],
        asset_selection=keys, backfill_timestamp=time.time(), tags={}, dynamic_partitions_store=instance,
        all_partitions=False, title=None, description=None, run_config=None,
    )  # fmt: skip
    instance.add_backfill(backfill)
    assert run_report_dates({"dagster/backfill": "bf1"}, instance) == DATES
    assert run_report_date({"dagster/backfill": "bf1"}, instance) == D
    # A run with no date of its own (materialised alone) is for today's report.
    from pipelines.settings import today_in_london

    assert run_report_dates({"dagster/backfill": "unknown"}, instance) == [today_in_london()]
    assert run_report_dates({}) == [today_in_london()]


def test_the_report_time_is_configuration(tmp_path):
    from pipelines.schedules import morning_report
    from pipelines.settings import PROJECT_ROOT, ConfigError, load_hub_config

    text = (PROJECT_ROOT / "config" / "hub.yaml").read_text(encoding="utf-8")
    assert 'report_at: "07:00"' in text
    (tmp_path / "early.yaml").write_text(text.replace('report_at: "07:00"', 'report_at: "06:30"'), encoding="utf-8")
    config = load_hub_config(str(tmp_path / "early.yaml"))
    assert morning_report("daily_pipeline", config.report_at).cron_schedule == "30 6 * * *"
    (tmp_path / "bad.yaml").write_text(text.replace('report_at: "07:00"', 'report_at: "7am"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml: schedule: report_at '7am' is not a time"):
        load_hub_config(str(tmp_path / "bad.yaml"))
