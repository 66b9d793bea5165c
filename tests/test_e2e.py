"""End to end: a generated inbox through the Dagster job, checked against the generator's
ground truth by an independent oracle (tests/oracle.py), plus re-runs and a correction."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import warnings
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from pipelines.synth import generate
from tests.builders import hub_settings
from tests.model_links import model_links
from tests.oracle import (
    Truth,
    expected_feeds,
    expected_providers,
    expected_reports,
    expected_traffic_light,
    project,
    read_csv,
)

D = date(2026, 11, 23)  # 60 days back takes in the autumn clock change (2026-10-25)
SECTIONS = ("arrests", "court_results", "attendance", "status_changes", "releases", "reviews", "feeds", "providers")


def run_job(report_date: date, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    from pipelines.definitions import DAILY_JOB, defs

    return defs.resolve_job_def(DAILY_JOB).execute_in_process(partition_key=report_date.isoformat(), instance=instance)


def judged(world) -> Truth:
    """The truth, with what the model linked so far (the oracle counts those it got right)."""
    truth = world["truth"]
    truth.model_links = model_links(world["engine"])
    return truth


def fingerprint(engine: sa.Engine, reports: Path) -> dict[str, object]:
    """Everything a run writes, minus the ledger's wall-clock ingestion time."""
    out: dict[str, object] = {}
    with engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            if table == "alembic_version":
                continue
            cols = [c["name"] for c in sa.inspect(conn).get_columns(table) if c["name"] != "ingested_at"]
            rows = conn.execute(sa.text(f"select {', '.join(cols)} from {table}")).fetchall()
            out[table] = sorted(map(repr, rows))
    for path in sorted(reports.rglob("*")):
        if path.is_file():
            out[str(path.relative_to(reports))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("e2e")
    summary = generate(root / "synth", end_date=D, days=60, seed=11)
    truth = Truth(json.loads(summary.truth.read_text(encoding="utf-8")))
    # The inbox first holds each corrected file's first version, as partners delivered it.
    inbox = root / "inbox"
    shutil.copytree(summary.inbox, inbox)
    for r in truth.raw["redeliveries"]:
        shutil.copy2(summary.out_dir / r["original"], inbox / r["feed"] / r["name"])
    env = hub_settings(root, inbox)
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            instance = dg.DagsterInstance.ephemeral()
        engine = sa.create_engine(env["IOM_WAREHOUSE_URL"])
        first = run_job(D, instance)
        before_correction = {
            div: {s: read_csv(root / "reports" / D.isoformat() / div / f"{s}.csv") for s in SECTIONS} for div in truth.divisions
        }
        for r in truth.raw["redeliveries"]:
            shutil.copy2(summary.inbox / r["feed"] / r["name"], inbox / r["feed"] / r["name"])
        second = run_job(D, instance)
        yield {
            "truth": truth, "root": root, "engine": engine, "instance": instance, "results": (first, second),
            "before_correction": before_correction, "reports": root / "reports", "summary": summary,
        }  # fmt: skip
        engine.dispose()


def test_runs_succeed_with_all_checks_passing(world):
    for result in world["results"]:
        assert result.success
        checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
        assert checks and all(c.passed for c in checks)


@pytest.mark.parametrize("section", ["arrests", "court_results", "attendance", "status_changes", "releases", "reviews"])
def test_report_sections_match_the_oracle(world, section):
    truth = judged(world)
    expected = expected_reports(truth, D)
    for division in truth.divisions:
        got = read_csv(world["reports"] / D.isoformat() / division / f"{section}.csv")
        want = expected[division][section]
        assert sorted(project(got, want)) == sorted(project(want, want)), f"{division}/{section}"


def test_every_model_link_is_the_right_person(world):
    truth = world["truth"]
    who = {(r["file"], str(r.get("line") or r.get("path"))): truth.person_iom(r["person_id"]) for r in truth.raw["records"]}
    links = model_links(world["engine"])
    assert links, "the model links some records that carry no identifier"
    wrong = {key: iom for key, iom in links.items() if who[key[1:]] != iom}
    assert not wrong, f"{len(wrong)} of {len(links)} model links are to the wrong person"


def test_sections_are_not_trivially_empty(world):
    expected = expected_reports(world["truth"], D)
    for section in ("arrests", "attendance", "releases", "reviews"):
        assert sum(len(expected[div][section]) for div in expected) > 0, section
    assert any(expected[div]["court_results"] or expected[div]["status_changes"] for div in expected)


def test_feeds_csv_matches_the_oracle(world):
    truth = world["truth"]
    want = expected_feeds(truth, D)
    for division in truth.divisions:
        got = read_csv(world["reports"] / D.isoformat() / division / "feeds.csv")
        assert [{k: r[k] for k in want[0]} for r in got] == want


def test_providers_csv_matches_the_oracle(world):
    truth = world["truth"]
    want = expected_providers(truth, D)
    assert {r["feed"] for r in want} == {"attendance", "court_results"}
    for division in truth.divisions:
        got = read_csv(world["reports"] / D.isoformat() / division / "providers.csv")
        assert [{k: r[k] for k in want[0]} for r in got] == want


def test_traffic_light_matches_the_oracle(world):
    want = expected_traffic_light(judged(world), D)
    with world["engine"].connect() as conn:
        rows = conn.execute(sa.text("select * from traffic_light")).mappings().all()
    got = {
        (r["period"], r["division"], r["kpi"]): (
            str(r["period_end"]), r["numerator"], r["denominator"],
            None if r["value"] is None else f"{float(r['value']):.1f}", r["rag"],
        )
        for r in rows
    }  # fmt: skip
    assert set(got) == set(want)
    for key in sorted(want):
        assert got[key] == want[key], key
    assert {v[4] for v in want.values()} >= {"GREEN", "RED"}  # the table exercises the thresholds


def test_every_input_row_is_loaded_or_quarantined(world):
    truth = world["truth"]
    with world["engine"].connect() as conn:
        ledger = {(r.feed, r.name): r for r in conn.execute(sa.text("select * from ingest_file where is_current")).fetchall()}
    for f in truth.raw["files"]:
        row = ledger[(f["feed"], f["name"])]
        assert row.rows_in == row.rows_loaded + row.rows_quarantined
        if f.get("rejected_whole"):
            assert row.status == "REJECTED"
        else:
            assert (row.rows_loaded + row.rows_quarantined, row.rows_quarantined) == (f["rows"], f["quarantined_rows"]), f["name"]


def test_quarantine_names_file_line_and_reason_without_personal_data(world):
    truth = world["truth"]
    with world["engine"].connect() as conn:
        entries = conn.execute(sa.text(
            "select f.name, q.location, q.reason from quarantine q join ingest_file f on f.id = q.file_id where f.is_current"
        )).fetchall()  # fmt: skip
    whole = {f["name"] for f in truth.raw["files"] if f.get("rejected_whole")}
    expected = {
        (r["file"], str(r.get("line") or r.get("path")))
        for r in truth.raw["records"]
        if r.get("quarantine") and r["file"] not in whole
    }
    got = {(e.name, e.location) for e in entries if e.location is not None}
    assert expected and expected <= got
    assert whole and whole <= {e.name for e in entries if e.location is None}
    names = {p["surname"] for p in truth.raw["persons"]} | {p["forenames"] for p in truth.raw["persons"]}
    for e in entries:
        assert e.reason and not any(n in e.reason for n in names if len(n) > 3)


def test_correction_changed_exactly_what_it_corrected(world):
    truth = world["truth"]
    corrected = {(r["feed"], r["name"]) for r in truth.raw["redeliveries"]}
    assert corrected, "the generator delivers at least one correction"
    with world["engine"].connect() as conn:
        versions = conn.execute(sa.text("select feed, name, version, is_current from ingest_file where version > 1")).fetchall()
    assert {(v.feed, v.name) for v in versions} == corrected
    corrected_keys = {
        r["fields"].get("custody_ref") or r["fields"].get("record_id")
        for r in truth.raw["records"]
        if (r["feed"], r["file"]) in corrected
    }
    changed = set()
    for division, sections in world["before_correction"].items():
        for section, rows in sections.items():
            if section == "feeds":
                continue
            now = read_csv(world["reports"] / D.isoformat() / division / f"{section}.csv")
            for row in {tuple(sorted(r.items())) for r in rows} ^ {tuple(sorted(r.items())) for r in now}:
                changed.add(dict(row).get("custody_ref") or dict(row).get("record_id"))
    assert changed, "the correction made a visible difference"
    assert changed <= corrected_keys | _original_keys(world)


def _original_keys(world) -> set[str]:
    out = set()
    for r in world["truth"].raw["redeliveries"]:
        path = world["summary"].out_dir / r["original"]
        text = path.read_bytes().decode("cp1252" if r["feed"] == "arrests" else "utf-8-sig")
        for row in csv.DictReader(text.splitlines()):
            out.add(row.get("custody_ref") or row.get("record_id"))
    return out


def test_running_the_same_day_again_changes_nothing(world):
    before = fingerprint(world["engine"], world["reports"])
    assert run_job(D, world["instance"]).success
    assert fingerprint(world["engine"], world["reports"]) == before


def test_a_past_date_rebuilds_from_files_dated_on_or_before_it(world):
    past = date(2026, 11, 5)  # a Thursday: the courts sat the day before
    assert run_job(past, world["instance"]).success
    expected = expected_reports(judged(world), past)
    assert any(expected[div]["court_results"] for div in expected)
    for division in world["truth"].divisions:
        for section in ("arrests", "court_results", "attendance", "status_changes", "releases", "reviews"):
            got = read_csv(world["reports"] / past.isoformat() / division / f"{section}.csv")
            want = expected[division][section]
            assert sorted(project(got, want)) == sorted(project(want, want)), f"{past} {division}/{section}"
    # The file whose name has no date counted in the first run (for D), not in this one.
    for name, want in (("feeds", expected_feeds(world["truth"], past, undated_counted=False)),
                       ("providers", expected_providers(world["truth"], past, undated_counted=False))):  # fmt: skip
        got = read_csv(world["reports"] / past.isoformat() / "CH" / f"{name}.csv")
        assert [{k: r[k] for k in want[0]} for r in got] == want, name


def test_where_each_member_is_matches_the_generators_careers(world):
    """cjs_location, derived from the delivered feeds, against where the generator put each
    member (remanded, sentenced, released on licence, recalled): the location at the end of
    every day, from the first release schedule (before it nobody can know who is inside;
    someone inside from the start is known to be from the first schedule listing them).
    A member may differ only where a record of theirs did not reach them (review, quarantine)."""
    from pipelines import cjs_location as cjs

    truth = world["truth"].raw
    engine = world["engine"]
    with engine.connect() as conn:
        spells = pd.read_sql(sa.text("SELECT * FROM cjs_location"), conn)
        arrests = pd.read_sql(
            sa.text("SELECT linked_iom_id, custody_ref FROM linked_arrest WHERE linked_iom_id IS NOT NULL"), conn
        )
        hearings = pd.read_sql(sa.text("SELECT linked_iom_id, court_code, hearing_date, urn FROM linked_court_result "
                                       "WHERE linked_iom_id IS NOT NULL"), conn)  # fmt: skip
        listed = pd.read_sql(sa.text("SELECT r.noms_number, MIN(f.file_date) AS first FROM prison_release_row r "
                                     "JOIN ingest_file f ON f.id = r.file_id GROUP BY r.noms_number"), conn)  # fmt: skip
    first_listed = {n: str(d) for n, d in zip(listed["noms_number"], listed["first"], strict=True)}
    assert set(spells["as_of"].astype(str)) == {D.isoformat()}
    first_schedule = min(f["file_date"] for f in truth["files"] if f["feed"] == "prison_releases")
    on_register = {}
    for day, entries in sorted(truth["registers"].items()):
        for entry in entries:
            on_register.setdefault(entry["iom_id"], day)
    iom_of = {p["person_id"]: p["iom_id"] for p in truth["persons"] if p["iom_id"]}
    noms_of = {p["iom_id"]: p["noms_number"] for p in truth["persons"] if p["iom_id"]}
    true_arrests: dict[str, set] = {}
    true_hearings: dict[str, set] = {}
    for r in truth["records"]:
        iom = iom_of.get(r["person_id"])
        if iom is None or r["quarantine"]:
            continue
        if r["feed"] == "arrests":
            true_arrests.setdefault(iom, set()).add(r["fields"]["custody_ref"])
        elif r["feed"] == "court_results":
            true_hearings.setdefault(iom, set()).add(r["file"])

    def end_of_day(changes: list, day: date) -> str:
        midnight = (day + timedelta(days=1)).isoformat()
        return [loc for at, loc, _ in changes if at < midnight][-1]

    compared, differ = 0, {}
    days = pd.date_range(max(first_schedule, truth["first_date"]), D - timedelta(days=1)).date
    for iom, changes in truth["cjs_locations"].items():
        mine = spells[spells["iom_id"] == iom]
        start = on_register.get(iom, "9999")
        if changes[0][1] != "COMMUNITY":  # inside from the start: known from the first file listing them, if any
            start = max(start, first_listed.get(noms_of[iom], "9999"))
        for day in days:
            if day.isoformat() < start:
                continue
            compared += 1
            got = cjs.location_at_end_of(mine, day)["location"].tolist()
            want = end_of_day([(at.replace("T", " "), loc, c) for at, loc, c in changes], day)
            if got != [want]:
                differ.setdefault(iom, (day, got, want))
    careers = {k for k, v in truth["cjs_locations"].items() if any(loc != "COMMUNITY" for _, loc, _ in v)}
    assert compared > 10_000 and len(careers) > 20  # the careers are there to be found
    for iom, (day, got, want) in differ.items():  # each difference is a record that did not reach its member
        linked_arrests = set(arrests.loc[arrests["linked_iom_id"] == iom, "custody_ref"])
        linked_files = {f"court_results_{c}_{str(h).replace('-', '')}.xml"
                        for c, h in hearings.loc[hearings["linked_iom_id"] == iom, ["court_code", "hearing_date"]].itertuples(index=False)}  # fmt: skip
        assert (linked_arrests != true_arrests.get(iom, set())) or (linked_files != true_hearings.get(iom, set())), (
            f"{iom} on {day}: derived {got}, generator {want}, though all its records were linked"
        )
    assert len(differ) <= 0.02 * len(truth["cjs_locations"]), f"{len(differ)} members differ"
