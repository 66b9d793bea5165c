"""Personal data stays where it belongs: in the warehouse and the reports, never in Dagster's
run storage, event log, metadata or compute logs, nor on the console; and only cohort
members in the reports, even beside strangers who share a member's name or birthday."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from pipelines.synth import generate
from tests.builders import hub_settings, member
from tests.test_cli import IOM_HUB, ROOT
from tests.test_reports import arrest

D = date(2026, 11, 23)
IDENTIFIERS = ("pnc_id", "cro_number", "niche_nominal_id", "noms_number", "crn", "yos_ref", "agency_ref", "iom_id")


def personal_values(inbox: Path) -> set[str]:
    """Names, dates of birth (as each feed writes them, and ISO) and identifiers in the CSV
    feeds.  Short values are left out: "Lee" or "M" occur in ordinary text."""
    values: set[str] = set()
    for path in inbox.rglob("*.csv"):
        encoding = "cp1252" if path.parent.name == "arrests" else "utf-8-sig"
        with path.open(encoding=encoding, newline="") as fh:
            for row in csv.DictReader(fh):
                for column in ("surname", "forenames", "date_of_birth", "postcode", *IDENTIFIERS):
                    value = (row.get(column) or "").strip()
                    if len(value) >= 5 or (column == "iom_id" and value):
                        values.add(value)
    return values


def occurrences(text: str, values: set[str]) -> list[str]:
    # Whole words only, case-sensitive: a surname "Wood" is not found inside "Woodhouse Lane".
    found = []
    for value in values:  # a plain substring search first: the word-boundary regex only where it is there
        if value in text and re.search(rf"(?<![\w/-]){re.escape(value)}(?![\w/-])", text):
            found.append(value)
    return sorted(found)


def scan_tree(root: Path, values: set[str]) -> dict[str, list[str]]:
    hits = {}
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="replace")
            if found := occurrences(text, values):
                hits[str(path.relative_to(root))] = found[:5]
    return hits


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory):
    """A generated inbox, with a file that breaks the contract in ways that carry personal
    data (a bad date beside a name, a damaged XML file), run twice through `iom-hub run`."""
    root = tmp_path_factory.mktemp("leaks")
    inbox = generate(root / "synth", end_date=D, days=14, seed=21, scale=0.2).inbox
    cohort = sorted((inbox / "cohort").glob("cohort_*.csv"))[-1]
    with cohort.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows[0]["date_of_birth"] = "31/02/1990"  # a row quarantined beside a real member's name
    with cohort.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    court = sorted((inbox / "court_results").glob("*.xml"))[-1]
    court.write_bytes(court.read_bytes()[:-200])  # not well-formed: rejected whole
    env = {
        **os.environ,
        **hub_settings(root, inbox),
        "IOM_FIRST_REPORT_DATE": "2026-01-01",
        "DAGSTER_HOME": str(root / "dagster_home"),
    }
    consoles = []
    for verbose in ([], ["--verbose"]):
        done = subprocess.run([str(IOM_HUB), "run", "--date", D.isoformat(), *verbose], capture_output=True, text=True,
                              env=env, cwd=ROOT, timeout=900)  # fmt: skip
        assert done.returncode in (0, 3), done.stdout + done.stderr
        consoles.append(done.stdout + done.stderr)
    yield root, inbox, consoles
    shutil.rmtree(root, ignore_errors=True)


def test_the_scan_would_find_personal_data_where_it_belongs(ran):
    root, inbox, _ = ran
    values = personal_values(inbox)
    assert len(values) > 100
    assert scan_tree(root / "reports", values)  # the reports do name members: the scan can see them


def test_no_personal_data_in_dagster_storage_event_log_metadata_or_compute_logs(ran):
    root, inbox, _ = ran
    home = root / "dagster_home"
    assert any(home.rglob("*.db")) or any(home.rglob("*.sqlite"))
    assert scan_tree(home, personal_values(inbox)) == {}


def test_no_personal_data_on_the_hub_only_data_quality_page(ran):
    root, inbox, _ = ran
    pages = list((root / "quality").rglob("quality.html"))
    assert pages and "not a valid date" in pages[0].read_text(encoding="utf-8")
    assert scan_tree(root / "quality", personal_values(inbox)) == {}


def test_no_personal_data_on_the_console(ran):
    _, inbox, consoles = ran
    values = personal_values(inbox)
    assert "REJECTS" in consoles[0]  # the bad rows were reported, without saying whose they were
    assert [occurrences(text, values) for text in consoles] == [[], []]


def test_strangers_who_share_a_members_name_or_birthday_never_appear(hub):
    """Force-wide arrests of people who are not in the cohort: one with a member's name but
    another date of birth, one with a member's date of birth but another name."""
    siobhan = member("LDS-000001", "Ó Briain", "Siobhán", "1990-02-01", niche_nominal_id="NN1")
    hub.inbox.cohort(date(2026, 11, 22), [siobhan])
    namesake = {"surname": "Ó Briain", "forenames": "Siobhán", "date_of_birth": "14/07/1972"}
    birthday = {"surname": "Okafor", "forenames": "Grace", "date_of_birth": "01/02/1990"}
    hub.inbox.arrests("20261122_230000", [
        arrest("K1", siobhan, "22/11/2026 10:00"),
        arrest("K2", namesake, "22/11/2026 11:00", date_of_birth=namesake["date_of_birth"]),
        arrest("K3", birthday, "22/11/2026 12:00", date_of_birth=birthday["date_of_birth"]),
    ])  # fmt: skip
    hub.run(D)
    for division in ("CH", "NE", "NW"):
        assert [r["custody_ref"] for r in hub.report(D, division, "arrests")] == ["K1"]
        html = (hub.reports_dir / D.isoformat() / division / "report.html").read_text(encoding="utf-8")
        assert "K2" not in html and "K3" not in html and "Okafor" not in html
