"""`iom-hub backfill --from D1 --to D2` and `iom-hub catch-up`: a range of report dates as
ONE Dagster run of the daily job, recorded in DAGSTER_HOME like `iom-hub run`.

The range runs (test_backfill_then_catch_up_...) need the partitioned assets to take a
range in one run (BackfillPolicy.single_run(), context.partition_keys) and
division_reports to record `report_folders`."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from pipelines.cli import catch_up_dates, main
from pipelines.settings import today_in_london
from tests.builders import member
from tests.test_cli import hub_env, run_cli

FIRST = date(2025, 1, 1)  # IOM_FIRST_REPORT_DATE's default


def test_backfill_arguments_are_checked_before_anything_runs(tmp_path):
    env = {"IOM_INBOX": str(tmp_path), "DAGSTER_HOME": str(tmp_path / "dh"),
           "IOM_WAREHOUSE_URL": f"sqlite:///{tmp_path / 'warehouse.sqlite'}"}  # fmt: skip
    done = run_cli("backfill", "--from", "2026-11-23", "--to", "2026-11-20", env=env)
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["iom-hub: --from 2026-11-23 is after --to 2026-11-20"]
    tomorrow = today_in_london() + timedelta(days=1)
    done = run_cli("backfill", "--from", "2024-12-31", "--to", tomorrow.isoformat(), env=env)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"iom-hub: report date {d} is outside 2025-01-01 (IOM_FIRST_REPORT_DATE) to {today_in_london()} (today, Europe/London)"
        for d in ("2024-12-31", tomorrow)
    ]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "dh").exists()  # nothing was run


def test_catch_up_refuses_no_days(capsys):
    assert main(["catch-up", "--days", "0"]) == 2
    assert capsys.readouterr().err == "iom-hub: --days 0: give 1 or more\n"


def test_catch_up_runs_from_the_day_after_the_newest_report_to_today():
    today = date(2026, 12, 1)
    assert catch_up_dates(date(2026, 11, 27), today, FIRST, 7) == (date(2026, 11, 28), today)
    assert catch_up_dates(date(2026, 11, 30), today, FIRST, 7) == (today, today)
    assert catch_up_dates(today, today, FIRST, 7) is None  # up to date
    assert catch_up_dates(None, today, FIRST, 7) == (date(2026, 11, 25), today)  # never run: the last 7 days
    assert catch_up_dates(None, today, FIRST, 1) == (today, today)
    assert catch_up_dates(None, date(2025, 1, 3), FIRST, 7) == (FIRST, date(2025, 1, 3))  # not before the first date
    assert catch_up_dates(date(2024, 6, 1), date(2025, 1, 3), FIRST, 7) == (FIRST, date(2025, 1, 3))


# Needs the asset changes for a range in one run (see the module docstring).
def test_backfill_then_catch_up_each_one_run_then_nothing_to_catch_up(hub, tmp_path, monkeypatch):
    today = today_in_london()
    d1, d2 = today - timedelta(days=3), today - timedelta(days=2)
    hub.inbox.cohort(d1, [member("LDS-000001", "Zoë", "Ng-Smith", "1990-02-01")])
    env = hub_env(hub, tmp_path)

    done = run_cli("backfill", "--from", d1.isoformat(), "--to", d2.isoformat(), env=env)
    assert done.returncode == 3, done.stdout + done.stderr  # no arrests, court results, ...: feed warnings
    assert f"for report dates {d1} to {d2}: finished with feed warnings" in done.stdout.splitlines()[0]
    assert f"warning: {d1} arrests MISSING — no file dated the report date or the day before" in done.stdout
    assert f"warning: {d2} arrests MISSING — no file dated the report date or the day before" in done.stdout
    for day in (d1, d2):
        assert str(hub.reports_dir / day.isoformat() / "NW" / "report.html") in done.stdout
    assert "Zoë" not in done.stdout + done.stderr

    done = run_cli("catch-up", env=env)
    assert done.returncode == 3, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert (
        lines[0]
        == f"newest report date made: {d2}; catching up {d2 + timedelta(days=1)} to {today} (2 report date(s)) in one run"
    )
    assert f"for report dates {d2 + timedelta(days=1)} to {today}: finished with feed warnings" in lines[1]
    assert str(hub.reports_dir / today.isoformat() / "CH" / "report.html") in done.stdout
    assert str(hub.reports_dir / d2.isoformat() / "CH" / "report.html") not in done.stdout  # not this run's

    done = run_cli("catch-up", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"nothing to catch up: the reports are up to date (newest report date made: {today};")

    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    with dg.DagsterInstance.get() as instance:
        runs = sorted(instance.get_runs(), key=lambda r: r.tags["dagster/asset_partition_range_start"])
        materialised = instance.get_materialized_partitions(dg.AssetKey("division_reports"))
    assert [(r.job_name, r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
            for r in runs] == [("daily_pipeline", d1.isoformat(), d2.isoformat()),
                               ("daily_pipeline", (d2 + timedelta(days=1)).isoformat(), today.isoformat())]  # fmt: skip
    assert {d1.isoformat(), d2.isoformat(), today.isoformat()} <= materialised
