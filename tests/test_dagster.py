"""The Dagster wiring: definitions load cleanly, a run for a date goes through the job."""

from __future__ import annotations

import subprocess
import sys
import warnings
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from tests.builders import member

D = date(2026, 11, 23)


@pytest.fixture
def env(hub, monkeypatch):
    monkeypatch.setenv("IOM_INBOX", str(hub.inbox.root))
    monkeypatch.setenv("IOM_WAREHOUSE_URL", str(hub.engine.url))
    monkeypatch.setenv("IOM_REPORTS_DIR", str(hub.reports_dir))
    monkeypatch.setenv("IOM_REVIEW_DIR", str(hub.root / "review"))
    monkeypatch.setenv("IOM_SETTLE_SECONDS", "0")
    return hub


def test_definitions_load_without_deprecation_warnings():
    code = (
        "import warnings; warnings.simplefilter('error', DeprecationWarning);"
        "import pipelines.definitions as d; d.defs.resolve_job_def(d.DAILY_JOB);"
        "print(len(list(d.defs.resolve_asset_graph().get_all_asset_keys())))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1])
    assert int(out.stdout.strip()) == 5 + 4 + 3 + 1  # ingest, linked, outputs, the review page


def test_dagster_validates_the_workspace():
    root = Path(__file__).parents[1]
    dagster = Path(sys.executable).with_name("dagster")
    out = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"], capture_output=True, text=True, cwd=root
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_run_materialises_everything_with_counts_and_no_personal_data(env):
    hub = env
    hub.inbox.cohort(date(2026, 11, 22), [member("LDS-000001", "Ó Briain", "Siobhán", "1990-02-01", niche_nominal_id="NN77")])
    hub.inbox.arrests("20261122_230000", [
        {"custody_ref": "K1", "niche_nominal_id": "NN77", "surname": "Ó Briain", "forenames": "Siobhán",
         "arrest_datetime": "22/11/2026 10:00", "offence_description": "Theft"},
        {"custody_ref": "K2", "surname": "Zzyzx", "forenames": "Quentin", "arrest_datetime": "32/11/2026 10:00",
         "offence_description": "Theft"},
        {"custody_ref": "K3", "surname": "Brennan", "forenames": "Siobhán", "date_of_birth": "01/02/1990",
         "arrest_datetime": "22/11/2026 11:00", "offence_description": "Theft"},  # maybe her: for review
    ])  # fmt: skip
    from pipelines.definitions import DAILY_JOB, defs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def(DAILY_JOB).execute_in_process(partition_key=D.isoformat(), instance=instance)
    assert result.success
    materialisations = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]
    materialised = {m.asset_key.to_user_string() for m in materialisations}
    assert materialised == {
        "ingest/cohort", "ingest/arrests", "ingest/court_results", "ingest/prison_releases", "ingest/attendance",
        "linked/arrests", "linked/court_results", "linked/attendance", "linked/prison_releases",
        "division_reports", "report_delivery", "traffic_light", "link_review_page",
    }  # fmt: skip
    linked = next(m for m in materialisations if m.asset_key.to_user_string() == "linked/arrests").metadata
    assert {k: linked[k].value for k in ("records", "by_identifier", "by_details", "to_review", "not_linked")} == {
        "records": 2, "by_identifier": 1, "by_details": 0, "to_review": 1, "not_linked": 0,
    }  # fmt: skip
    review = next(m for m in materialisations if m.asset_key.to_user_string() == "link_review_page").metadata
    assert (review["pending_records"].value, review["pending_arrests"].value) == (1, 1)
    assert (hub.root / "review" / D.isoformat() / "review.html").exists()
    arrests = next(m for m in materialisations if m.asset_key.to_user_string() == "ingest/arrests")
    assert arrests.metadata["rows_loaded"].value == 2
    assert arrests.metadata["rows_quarantined"].value == 1
    checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert len(checks) == 10 and all(c.passed for c in checks)
    # Nothing personal anywhere in the run's record: metadata, logs, check results.
    records = instance.get_records_for_run(result.run_id).records
    text = "\n".join(str(r.event_log_entry) for r in records)
    for secret in ("Siobhán", "Briain", "Brennan", "Zzyzx", "Quentin", "NN77", "1990-02-01"):
        assert secret not in text
    assert (hub.reports_dir / D.isoformat() / "CH" / "report.html").exists()


def test_a_blocking_check_stops_the_reports(env, monkeypatch):
    hub = env
    hub.inbox.cohort(date(2026, 11, 22), [member("LDS-000001", "A", "B", "1990-02-01")])
    import pipelines.checks.reconciliation as rec

    real = rec.reconciliation_check

    def failing(engine, feed_name, report_date):
        result = real(engine, feed_name, report_date)
        return dg.AssetCheckResult(check_name=result.check_name, passed=feed_name != "cohort", metadata=result.metadata)

    monkeypatch.setattr("pipelines.assets.ingest.reconciliation_check", failing)
    from pipelines.definitions import DAILY_JOB, defs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def(DAILY_JOB).execute_in_process(
        partition_key=D.isoformat(), instance=instance, raise_on_error=False
    )
    assert not result.success
    assert not (hub.reports_dir / D.isoformat()).exists()
