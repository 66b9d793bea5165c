"""Retention (DPA 2018 Part 3): what is erased, what stays, and that the pipeline and
the traffic light's past months are unchanged by an erasure."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from pipelines import retention
from pipelines import traffic_light as tl
from pipelines.cli import main
from pipelines.settings import PROJECT_ROOT, ConfigError, Retention, load_hub_config
from tests.builders import member
from tests.conftest import BOTH_WAREHOUSES

KEY = "r" * 40
D = date(2026, 4, 1)
PERIODS = Retention(after_deselection_days=10, non_cohort_days=30)
# Gone: deselected 2026-03-15, more than 10 days before D.  Kept: still active.
GONE = member("LDS-000001", "Thistlethwaite", "Siobhán", "1990-02-01", niche_nominal_id="N1", pnc_id="2012/0394773H",
              postcode="LS1 4AB")  # fmt: skip
GONE_LATER = {**GONE, "status": "DESELECTED", "deselected_on": "2026-03-15", "deselection_reason": "moved to Wakefield"}
KEPT = member("LDS-000002", "Quigley", "William", "1985-07-12", niche_nominal_id="N2", managing_division="NE")
SECRETS = ("Thistlethwaite", "Siobhán", "1990-02-01", "N1", "2012/0394773H", "LS1 4AB", "Wakefield", "K1", "K9", "Nobody")


def arrest(ref: str, niche: str, when: str, surname: str = "x", outcome: str = "") -> dict[str, str]:
    return {"custody_ref": ref, "niche_nominal_id": niche, "surname": surname, "forenames": "y", "arrest_datetime": when,
            "offence_description": "Theft", "outcome": outcome}  # fmt: skip


@pytest.fixture
def warehouse(hub, monkeypatch):
    box = hub.inbox
    box.cohort(date(2026, 1, 31), [GONE, KEPT])
    box.cohort(date(2026, 3, 31), [GONE_LATER, KEPT])
    box.arrests("20260210_080000", [
        arrest("K1", "N1", "05/02/2026 10:00"), arrest("K2", "N2", "06/02/2026 10:00"),
        arrest("K9", "N999", "07/02/2026 10:00", surname="Nobody"),  # never a member
    ])  # fmt: skip
    box.arrests("20260211_080000", [arrest("K1", "N1", "05/02/2026 10:00", outcome="CHARGED")])  # K1 again, updated
    box.attendance("PROBATION", date(2026, 2, 20), [
        {"record_id": "A1", "record_type": "APPOINTMENT", "iom_id": "LDS-000001", "surname": "x", "forenames": "y",
         "event_datetime": "2026-02-12T10:00", "outcome": "ATTENDED"},
    ])  # fmt: skip
    hub.run(D)
    monkeypatch.setenv("IOM_PSEUDONYM_KEY", KEY)
    monkeypatch.setenv("IOM_WAREHOUSE_URL", hub.engine.url.render_as_string(hide_password=False))
    return hub


def config():
    return load_hub_config(str(PROJECT_ROOT / "config" / "hub.yaml"))


def light(hub) -> list[tuple]:
    rows = tl.compute(hub.engine, D, config())
    return sorted(tuple(r) for r in rows.drop(columns=["report_date"]).itertuples(index=False))


def counts(erasures) -> dict[tuple[str, str], tuple[int, int]]:
    return {(e.rule, e.table): (e.rows, e.people) for e in erasures if e.rows}


@BOTH_WAREHOUSES
def test_dry_run_and_apply_agree_and_a_rerun_erases_nothing(warehouse):
    planned = retention.plan(warehouse.engine, PERIODS, D)
    assert counts(planned) == {
        ("non_cohort", "arrest_row"): (1, 1),
        ("after_deselection", "cohort_member"): (2, 1),  # both snapshots
        ("after_deselection", "arrest_row"): (2, 1),  # K1 and its update
        ("after_deselection", "attendance_row"): (1, 1),
    }
    assert warehouse.query("SELECT COUNT(*) FROM erased_row")[0][0] == 0  # the dry run wrote nothing
    applied = retention.apply(warehouse.engine, PERIODS, D, "j.bloggs", KEY.encode())
    assert counts(applied) == counts(planned)
    assert counts(retention.plan(warehouse.engine, PERIODS, D)) == {}
    assert counts(retention.apply(warehouse.engine, PERIODS, D, "j.bloggs", KEY.encode())) == {}
    log = warehouse.query("SELECT rule, table_name, rows, people, erased_by FROM erasure_log ORDER BY id")
    assert [tuple(r) for r in log] == [(r, t, n, p, "j.bloggs") for (r, t), (n, p) in counts(planned).items()]
    assert len(warehouse.query("SELECT * FROM audit_event WHERE action = 'erasure'")) == 4


@BOTH_WAREHOUSES
def test_personal_columns_are_erased_and_the_rest_stays(warehouse):
    retention.apply(warehouse.engine, PERIODS, D, "j.bloggs", KEY.encode())
    gone = warehouse.query("SELECT * FROM cohort_member WHERE iom_id = 'LDS-000001'")
    assert len(gone) == 2
    for r in gone:
        assert (r.surname, r.forenames, str(r.date_of_birth)[:10]) == ("ERASED", "ERASED", "1900-01-01")
        assert r.pnc_id is None and r.niche_nominal_id is None and r.postcode is None and r.deselection_reason is None
        assert (r.managing_division, r.strand) == ("CH", "REHAB_RESETTLE")  # not personal: kept
    kept = warehouse.query("SELECT surname, niche_nominal_id FROM cohort_member WHERE iom_id = 'LDS-000002'")
    assert {tuple(r) for r in kept} == {("Quigley", "N2")}
    arrests = warehouse.query("SELECT custody_ref, surname, niche_nominal_id, outcome, local_date FROM arrest_row")
    refs = sorted(r.custody_ref for r in arrests)
    assert "K2" in refs and "K1" not in refs and "K9" not in refs
    markers = [r for r in refs if r.startswith("ERASED-")]
    assert len(markers) == 3 and len(set(markers)) == 2  # K1's two rows stay one arrest, K9 another
    assert sorted(r.outcome or "" for r in warehouse.query("SELECT outcome FROM arrest")) == ["", "", "CHARGED"]
    every = " ".join(str(v) for t in ("cohort_member", "arrest_row", "attendance_row", "record_link", "link_candidate",
                                      "quarantine", "erasure_log", "audit_event", "cjs_location_subject") for r in warehouse.query(f"SELECT * FROM {t}")
                     for v in r if not str(v).startswith("LDS-000002"))  # fmt: skip
    assert [s for s in SECRETS if s in every] == []


@BOTH_WAREHOUSES
def test_links_and_the_traffic_light_are_unchanged_and_the_pipeline_runs_on(warehouse):
    before_light = light(warehouse)
    links = "SELECT feed, file_id, row_no, register_id, iom_id, method FROM record_link ORDER BY 1, 2, 3, 4"
    before_links = [tuple(r) for r in warehouse.query(links)]
    before_reports = warehouse.report(D, "NE", "arrests")
    retention.apply(warehouse.engine, PERIODS, D, "j.bloggs", KEY.encode())
    assert light(warehouse) == before_light
    assert [tuple(r) for r in warehouse.query(links)] == before_links
    warehouse.run(D)  # the whole pipeline again, after the erasure
    assert [tuple(r) for r in warehouse.query(links)] == before_links
    assert light(warehouse) == before_light
    assert warehouse.report(D, "NE", "arrests") == before_reports
    erased = warehouse.query("SELECT COUNT(*) FROM erased_row")[0][0]
    assert erased == 6


@BOTH_WAREHOUSES
def test_the_command_dry_run_then_apply_without_personal_data(warehouse, capsys, tmp_path: Path):
    raw = yaml.safe_load((PROJECT_ROOT / "config" / "hub.yaml").read_text(encoding="utf-8"))
    raw["retention"] = {"after_deselection_days": 10, "non_cohort_days": 30}
    (tmp_path / "hub.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    import os

    os.environ["IOM_CONFIG"] = str(tmp_path / "hub.yaml")
    try:
        assert main(["retention", "--date", D.isoformat()]) == 0
        dry = capsys.readouterr().out
        assert main(["retention", "--date", D.isoformat(), "--apply", "--by", "j.bloggs"]) == 0
        done = capsys.readouterr().out
    finally:
        os.environ["IOM_CONFIG"] = str(PROJECT_ROOT / "config" / "hub.yaml")
    assert "dry run" in dry and "after_deselection: cohort_member: would erase 2 row(s) of 1 people" in dry
    assert "after_deselection: cohort_member: erased 2 row(s) of 1 people" in done and "6 row(s) erased by j.bloggs" in done
    assert [s for s in SECRETS if s in dry + done] == []


def test_apply_needs_the_key_and_says_so(monkeypatch, capsys):
    monkeypatch.setenv("IOM_PSEUDONYM_KEY", "")
    assert main(["retention", "--apply", "--by", "x"]) == 2
    assert "IOM_PSEUDONYM_KEY: not set" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"after_deselection_days": -1}, "retention: after_deselection_days must be a whole number of days"),
        ({"non_cohort_days": "a year"}, "retention: non_cohort_days must be a whole number of days"),
        ({"keep_forever": True}, "retention: unknown key keep_forever"),
        ("six years", "retention: must be a mapping"),
    ],
)
def test_bad_retention_settings_are_named(tmp_path: Path, section, message):
    raw = yaml.safe_load((PROJECT_ROOT / "config" / "hub.yaml").read_text(encoding="utf-8"))
    raw["retention"] = section
    path = tmp_path / "hub.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_hub_config(str(path))


def test_the_shipped_configuration_keeps_six_years_and_one_year():
    assert config().retention == Retention(after_deselection_days=2190, non_cohort_days=365)


@BOTH_WAREHOUSES
def test_each_review_decision_is_audited_in_its_transaction_without_the_subject(warehouse):
    from pipelines.review import Decision, DecisionError, record_decisions

    record_decisions(warehouse.engine, [Decision("arrests", "K2", "LDS-000002", "reject")], "j.bloggs", "iom-hub review")
    with pytest.raises(DecisionError):  # refused whole: neither the decision nor its audit entry
        record_decisions(warehouse.engine, [Decision("arrests", "K2", "LDS-000002", "accept"),
                                            Decision("arrests", "NO-SUCH", "LDS-000002", "accept")], "j.bloggs", "x")  # fmt: skip
    decision_id = warehouse.query("SELECT id FROM link_decision")[0][0]
    audit = [tuple(r) for r in warehouse.query("SELECT actor, action, detail FROM audit_event")]
    assert audit == [("j.bloggs", "link_decision", f"reject arrests decision {decision_id} (iom-hub review)")]
