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
    monkeypatch.setenv("IOM_QUALITY_DIR", str(hub.root / "quality"))
    monkeypatch.setenv("IOM_SETTLE_SECONDS", "0")
    return hub


def test_definitions_load_without_deprecation_warnings():
    code = (
        "import warnings; warnings.simplefilter('error', DeprecationWarning);"
        "import pipelines.definitions as d; d.defs.resolve_job_def(d.DAILY_JOB);"
        "print(len(list(d.defs.resolve_asset_graph().get_all_asset_keys())))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1])
    # ledger and rows per feed, links, products (reports, delivery, traffic light, cjs_location,
    # member_pseudonyms), review list, data quality, conference packs, performance pack
    assert int(out.stdout.strip()) == 5 * 2 + 4 + 5 + 2 + 1 + 1


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
        "ledger/cohort", "ledger/arrests", "ledger/court_results", "ledger/prison_releases", "ledger/attendance",
        "cohort_member", "arrest_row", "court_result_row", "prison_release_row", "attendance_row",
        "record_link/arrests", "record_link/court_results", "record_link/attendance", "record_link/prison_releases",
        "division_reports", "delivered_reports", "traffic_light", "cjs_location", "member_pseudonyms", "review_list",
        "data_quality",
    }  # fmt: skip
    where = next(m for m in materialisations if m.asset_key.to_user_string() == "cjs_location").metadata
    # The member arrested on the 22nd (no outcome yet) is in police custody; counts only.
    assert (where["now_POLICE_CUSTODY"].value, where["written"].value) == (1, True)
    linked = next(m for m in materialisations if m.asset_key.to_user_string() == "record_link/arrests").metadata
    assert {k: linked[k].value for k in ("records", "by_identifier", "by_details", "to_review", "not_linked")} == {
        "records": 2, "by_identifier": 1, "by_details": 0, "to_review": 1, "not_linked": 0,
    }  # fmt: skip
    review = next(m for m in materialisations if m.asset_key.to_user_string() == "review_list").metadata
    assert (review["pending_records"].value, review["pending_arrests"].value) == (1, 1)
    assert (hub.root / "review" / D.isoformat() / "review.html").exists()
    arrests = next(m for m in materialisations if m.asset_key.to_user_string() == "ledger/arrests")
    assert arrests.metadata["rows_loaded"].value == 2
    assert arrests.metadata["rows_quarantined"].value == 1
    assert arrests.metadata["dagster/row_count"].value == 1  # one file in the ledger
    rows = next(m for m in materialisations if m.asset_key.to_user_string() == "arrest_row")
    assert rows.metadata["dagster/row_count"].value == 2
    quality = next(m for m in materialisations if m.asset_key.to_user_string() == "data_quality").metadata
    assert (quality["arrests_rows_quarantined"].value, quality["cohort_rows_quarantined"].value) == (1, 0)
    assert (hub.root / "quality" / D.isoformat() / "quality.html").exists()
    checks = {
        (e.event_specific_data.asset_key.to_user_string(), e.event_specific_data.check_name): e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    # rows_reconcile, schema_valid, on_time per feed; the products' three; Great Expectations'
    # quality per feed and link_share per linked feed.
    assert len(checks) == 5 * 3 + 3 + 5 + 4
    late = {asset for (asset, name), c in checks.items() if not c.passed}
    # Two feeds owed this report a file and never sent one: their on_time checks warn. Court
    # results never came either, but no court sits on Sunday: nothing was owed on a Monday.
    assert late == {"ledger/prison_releases", "ledger/attendance"}
    assert checks[("ledger/court_results", "on_time")].metadata["status"].value == "MISSING"
    assert all(checks[(a, "on_time")].severity == dg.AssetCheckSeverity.WARN for a in late)
    assert checks[("ledger/attendance", "on_time")].metadata["status"].value == "MISSING"
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

    def failing(engine, feed_name):
        result = real(engine, feed_name)
        return dg.AssetCheckResult(passed=feed_name != "cohort", metadata=result.metadata)

    monkeypatch.setattr("pipelines.checks.ingest.reconciliation_check", failing)
    from pipelines.definitions import DAILY_JOB, defs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def(DAILY_JOB).execute_in_process(
        partition_key=D.isoformat(), instance=instance, raise_on_error=False
    )
    assert not result.success
    assert not (hub.reports_dir / D.isoformat()).exists()
