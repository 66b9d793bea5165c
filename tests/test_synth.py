"""Tests of the synthetic inbox generator (pipelines.synth).

They read the generated files the way an independent consumer would (csv, ElementTree,
openpyxl), so they check the files against truth.json rather than the generator against
itself.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
import unicodedata
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import yaml

from pipelines.identifiers import IdKind, normalise, normalise_cro, normalise_pnc
from pipelines.synth import SynthSummary, generate

END = date(2026, 11, 20)
LONDON = ZoneInfo("Europe/London")
CONFIG = Path(__file__).resolve().parents[1] / "config" / "hub.yaml"

PATTERNS: dict[str, re.Pattern[str]] = {
    "cohort": re.compile(r"^cohort_(?P<d>\d{8})\.csv$"),
    "arrests": re.compile(r"^niche_arrests_(?P<d>\d{8})_(?P<t>\d{6})\.csv$"),
    "court_results": re.compile(r"^court_results_[A-Z0-9]+_(?P<d>\d{8})\.xml$"),
    "prison_releases": re.compile(r"^prison_releases_(?P<d>\d{8})\.(xlsx|csv)$"),
    "attendance": re.compile(r"^attendance_(PROBATION|YOS|DIP|HOUSING|ETE|NON_STATUTORY)_(?P<d>\d{8})\.csv$"),
}
KEY_COLUMN = {"arrests": "custody_ref", "attendance": "record_id", "prison_releases": "noms_number"}
KEY_FIELD = KEY_COLUMN


Truth = dict[str, Any]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[SynthSummary, Truth]:
    summary = generate(tmp_path_factory.mktemp("synth"), end_date=END)
    return summary, json.loads(summary.truth.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def truth(world: tuple[SynthSummary, Truth]) -> Truth:
    return world[1]


@pytest.fixture(scope="module")
def inbox(world: tuple[SynthSummary, Truth]) -> Path:
    return world[0].inbox


def _tree(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(path.relative_to(root)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _text(feed: str, payload: bytes) -> str:
    return payload.decode("cp1252" if feed == "arrests" else "utf-8-sig")


def _csv_rows(feed: str, payload: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(_text(feed, payload), newline="")))


def _key(text: str) -> str:
    bare = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return "".join(c for c in bare.casefold() if c.isalnum())


def _triple(surname: str, forenames: str, dob: str) -> tuple[str, str, str]:
    return _key(surname), _key(forenames), dob


# --------------------------------------------------------------------------- determinism


def test_same_arguments_give_identical_bytes_and_mtimes(tmp_path: Path) -> None:
    args = {"end_date": END, "days": 21, "scale": 0.3}
    generate(tmp_path / "a", seed=7, **args)
    time.sleep(1.1)  # so anything stamped with the wall clock (zip members, say) would differ
    generate(tmp_path / "b", seed=7, **args)
    generate(tmp_path / "c", seed=8, **args)
    first, second, other = _tree(tmp_path / "a"), _tree(tmp_path / "b"), _tree(tmp_path / "c")
    assert first == second
    assert first != other
    # Regenerating into a used folder replaces the generator's own output completely.
    generate(tmp_path / "c", seed=7, **args)
    assert _tree(tmp_path / "c") == first


def test_summary(world: tuple[SynthSummary, Truth]) -> None:
    summary, truth = world
    assert summary.end_date == END and summary.first_date == END - timedelta(days=59)
    assert summary.files == len(truth["files"])
    for feed, rows in summary.rows_per_feed.items():
        assert rows == sum(f["rows"] for f in truth["files"] if f["feed"] == feed)


# --------------------------------------------------------------------------- inbox layout


def test_inbox_holds_only_contract_folders_and_names(inbox: Path, truth: Truth) -> None:
    assert {p.name for p in inbox.iterdir()} == set(PATTERNS)
    misnamed = []
    for folder in inbox.iterdir():
        assert folder.is_dir()
        for path in folder.iterdir():
            assert path.is_file() and not path.name.startswith(".")
            match = PATTERNS[folder.name].match(path.name)
            assert match, path
            try:
                datetime.strptime(
                    match["d"] + (match.groupdict().get("t") or ""), "%Y%m%d%H%M%S" if match.groupdict().get("t") else "%Y%m%d"
                )
            except ValueError:
                misnamed.append(path.name)
    rejected = [f["name"] for f in truth["files"] if f["rejected_whole"]]
    assert misnamed == rejected and len(rejected) == 1
    assert misnamed[0].startswith("attendance_DIP_")


def test_every_truth_file_exists_and_nothing_else(inbox: Path, truth: Truth) -> None:
    listed = {(f["feed"], f["name"]) for f in truth["files"]}
    present = {(p.parent.name, p.name) for p in inbox.rglob("*") if p.is_file()}
    assert listed == present


def test_arrival_times_and_lateness(inbox: Path, truth: Truth) -> None:
    due = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["feeds"]
    late = []
    for entry in truth["files"]:
        path = inbox / entry["feed"] / entry["name"]
        arrived = datetime.fromisoformat(entry["arrived"])
        assert int(path.stat().st_mtime) == int(arrived.replace(tzinfo=LONDON).timestamp())
        if entry["file_date"] is None:
            continue
        spec = due[entry["feed"]]["due"]
        deadline = datetime.combine(
            date.fromisoformat(entry["file_date"]) + timedelta(days=spec["days_after"]),
            datetime.strptime(spec["time"], "%H:%M").time(),
        )
        assert entry["late"] == (arrived > deadline), entry
        if entry["late"]:
            late.append(entry)
    assert 1 <= len(late) <= 2
    assert all(e["file_date"] == (END - timedelta(days=1)).isoformat() for e in late)


def test_one_cohort_snapshot_is_missing_mid_period(inbox: Path, truth: Truth) -> None:
    dates = sorted(date.fromisoformat(f["file_date"]) for f in truth["files"] if f["feed"] == "cohort")
    first = date.fromisoformat(truth["first_date"])
    expected = [first + timedelta(days=i) for i in range(60)]
    missing = sorted(set(expected) - set(dates))
    assert len(missing) == 1 and first + timedelta(days=10) < missing[0] < END - timedelta(days=10)
    assert sorted(truth["registers"]) == [d.isoformat() for d in dates]


def test_prison_releases_formats(inbox: Path) -> None:
    names = sorted(p.name for p in (inbox / "prison_releases").iterdir())
    by_date: dict[str, set[str]] = {}
    for name in names:
        stem, suffix = name.rsplit(".", 1)
        by_date.setdefault(stem, set()).add(suffix)
    assert sum(kinds == {"xlsx", "csv"} for kinds in by_date.values()) == 1
    assert sum(kinds == {"csv"} for kinds in by_date.values()) == 1
    for name in names:
        if name.endswith(".xlsx"):
            book = openpyxl.load_workbook(inbox / "prison_releases" / name, read_only=True)
            assert book.sheetnames[1] == "Notes"
            first_data = next(book.worksheets[0].iter_rows(min_row=2, max_row=2, values_only=True))
            assert isinstance(first_data[8], datetime)  # release_date is a real Excel date


# --------------------------------------------------------------------------- encodings


def test_arrests_are_cp1252_with_accented_names(inbox: Path) -> None:
    names: set[str] = set()
    not_utf8 = 0
    for path in (inbox / "arrests").iterdir():
        payload = path.read_bytes()
        assert not payload.startswith(b"\xef\xbb\xbf")
        rows = _csv_rows("arrests", payload)
        names.update(f"{row[4]} {row[3]}" for row in rows[1:])
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError:
            not_utf8 += 1
    assert any(any(ord(c) > 127 for c in name) for name in names)
    assert any("'" in name for name in names)
    assert not_utf8 > 0


def test_other_csvs_are_utf8_with_and_without_bom(inbox: Path) -> None:
    boms = Counter()
    for path in inbox.rglob("*.csv"):
        if path.parent.name != "arrests":
            payload = path.read_bytes()
            payload.decode("utf-8")
            boms[payload.startswith(b"\xef\xbb\xbf")] += 1
    assert boms[True] and boms[False]


# --------------------------------------------------------------------------- truth vs files


def test_record_counts_match_file_contents(inbox: Path, truth: Truth) -> None:
    records_per_file = Counter(r["file"] for r in truth["records"])
    quarantined_per_file = Counter(r["file"] for r in truth["records"] if r["quarantine"])
    for entry in truth["files"]:
        feed, name = entry["feed"], entry["name"]
        payload = (inbox / feed / name).read_bytes()
        if name.endswith(".csv"):
            text = _text(feed, payload)
            rows = _csv_rows(feed, payload)
            assert len(rows) - 1 == entry["rows"] == len(text.splitlines()) - 1, name
        elif name.endswith(".xml"):
            root = ElementTree.fromstring(payload)
            assert len(root.findall("./Case/Defendant/Offence")) == entry["rows"], name
        else:
            sheet = openpyxl.load_workbook(io.BytesIO(payload), read_only=True).worksheets[0]
            assert sum(1 for row in sheet.iter_rows(values_only=True) if any(v is not None for v in row)) - 1 == entry["rows"]
        if feed == "cohort":
            assert name not in records_per_file
            assert len(truth["registers"][entry["file_date"]]) == entry["rows"] - entry["quarantined_rows"]
        else:
            assert records_per_file[name] == entry["rows"], name
            assert quarantined_per_file[name] == entry["quarantined_rows"], name


def test_records_point_at_their_rows(inbox: Path, truth: Truth) -> None:
    cache: dict[str, Any] = {}
    for record in truth["records"]:
        feed, name = record["feed"], record["file"]
        path = inbox / feed / name
        if name not in cache:
            if name.endswith(".csv"):
                cache[name] = _csv_rows(feed, path.read_bytes())
            elif name.endswith(".xml"):
                cache[name] = ElementTree.fromstring(path.read_bytes())
            else:
                cache[name] = list(openpyxl.load_workbook(path, read_only=True).worksheets[0].iter_rows(values_only=True))
        content = cache[name]
        if feed == "court_results":
            indices = [int(i) for i in re.findall(r"\[(\d+)\]", record["path"])]
            case = content.findall("Case")[indices[0] - 1]
            offence = case.findall("Defendant")[indices[1] - 1].findall("Offence")[indices[2] - 1]
            assert case.get("urn") == record["fields"]["urn"]
            assert offence.get("title") == record["fields"]["offence_title"]
            hearings = [h.get("date") for h in offence.findall("NextHearing")]
            assert record["fields"]["next_hearing_date"] == (min(hearings) if hearings else None)
            continue
        header, row = content[0], content[record["line"] - 1]
        value = row[list(header).index(KEY_COLUMN[feed])]
        assert (value or None) == record["fields"][KEY_FIELD[feed]], (name, record["line"])


def test_names_are_canonical_except_the_uncertain_cases(inbox: Path, truth: Truth) -> None:
    persons = {p["person_id"]: p for p in truth["persons"]}
    rows: dict[str, list[list[str]]] = {}
    for record in truth["records"]:
        if record["feed"] not in ("arrests", "attendance") or record["identity"] == "uncertain":
            continue
        name = record["file"]
        if name not in rows:
            rows[name] = _csv_rows(record["feed"], (inbox / record["feed"] / name).read_bytes())
        header, row = rows[name][0], rows[name][record["line"] - 1]
        person = persons[record["person_id"]]
        assert row[header.index("surname")] == person["surname"]
        assert row[header.index("forenames")] == person["forenames"]


def test_certain_identities_are_really_certain(inbox: Path, truth: Truth) -> None:
    """Re-derive CONTRACT section 4's strong links from the rows themselves."""
    persons = {p["person_id"]: p for p in truth["persons"]}
    holder: dict[tuple[str, str], str] = {}
    for person in truth["persons"]:
        for kind in ("iom_id", "niche_nominal_id", "noms_number", "crn", "yos_ref", "pnc_id", "cro_number"):
            if person[kind]:
                holder[(kind, person[kind])] = person["person_id"]
    by_name = {_triple(p["surname"], p["forenames"], p["date_of_birth"]): p["person_id"] for p in truth["persons"]}
    columns = {
        "arrests": {"niche_nominal_id": IdKind.NICHE_NOMINAL_ID, "pnc_id": IdKind.PNC_ID},
        "attendance": {"iom_id": IdKind.IOM_ID, "pnc_id": IdKind.PNC_ID},
    }
    rows: dict[str, list[list[str]]] = {}
    uncertain = []
    for record in truth["records"]:
        feed, name = record["feed"], record["file"]
        if feed not in columns:
            continue
        if name not in rows:
            rows[name] = _csv_rows(feed, (inbox / feed / name).read_bytes())
        header, row = rows[name][0], rows[name][record["line"] - 1]
        value = dict(zip(header, row, strict=True))
        if feed == "arrests":
            dob = datetime.strptime(value["date_of_birth"], "%d/%m/%Y").date().isoformat() if value["date_of_birth"] else ""
        else:
            dob = value["date_of_birth"]
        kinds = dict(columns[feed])
        if value.get("agency") == "PROBATION":
            kinds["agency_ref"] = IdKind.CRN
        elif value.get("agency") == "YOS":
            kinds["agency_ref"] = IdKind.YOS_REF
        pointed = set()
        for column, kind in kinds.items():
            canonical = normalise(kind, value[column], END)
            if canonical:
                pointed.add(holder.get((str(kind), canonical)))
        named = by_name.get(_triple(value["surname"], value["forenames"], dob)) if dob else None
        pid = record["person_id"]
        certain = (pointed == {pid} and named in (None, pid)) or (not pointed and named == pid)
        assert (record["identity"] == "certain") == certain, (name, record["line"])
        if not certain:
            uncertain.append(record)
        assert persons[pid]
    # nickname, day/month swap, identifier conflict, name without date of birth
    assert len(uncertain) >= 4
    # They are placed where they matter: in files of D-1 (or D's overnight arrests).
    dates = {re.search(r"_(\d{8})", r["file"]).group(1) for r in uncertain}  # type: ignore[union-attr]
    assert dates <= {f"{END - timedelta(days=1):%Y%m%d}", f"{END:%Y%m%d}"}


# --------------------------------------------------------------------------- the register


def test_register_identifiers_are_canonical_and_valid(inbox: Path) -> None:
    for path in sorted((inbox / "cohort").iterdir()):
        for row in csv.DictReader(io.StringIO(_text("cohort", path.read_bytes()), newline="")):
            if row["pnc_id"]:
                assert normalise_pnc(row["pnc_id"], END) == row["pnc_id"], row["pnc_id"]
            if row["cro_number"]:
                assert normalise_cro(row["cro_number"]) == row["cro_number"], row["cro_number"]
            for column, kind in (("iom_id", IdKind.IOM_ID), ("noms_number", IdKind.NOMS_NUMBER), ("crn", IdKind.CRN)):
                if row[column]:
                    assert normalise(kind, row[column], END) == row[column]


def test_about_600_active_members_at_end_date(inbox: Path, truth: Truth) -> None:
    register = truth["registers"][END.isoformat()]
    statuses = Counter(entry["status"] for entry in register)
    assert 570 <= statuses["ACTIVE"] <= 630
    assert statuses["NOMINATED"] > 20 and statuses["DESELECTED"] > 60
    assert {e["managing_division"] for e in register} == {"CH", "NE", "NW"}
    rows = list(csv.DictReader(io.StringIO(_text("cohort", (inbox / "cohort" / f"cohort_{END:%Y%m%d}.csv").read_bytes()))))
    assert Counter(r["status"] for r in rows) == statuses


def test_membership_changes_during_the_period(truth: Truth) -> None:
    registers = truth["registers"]
    first, last = registers[min(registers)], registers[max(registers)]
    before = {e["iom_id"]: e["status"] for e in first}
    after = {e["iom_id"]: e["status"] for e in last}
    assert any(before.get(i) != "ACTIVE" and s == "ACTIVE" for i, s in after.items())
    assert any(before.get(i) == "ACTIVE" and s == "DESELECTED" for i, s in after.items())


def test_non_cohort_names_never_collide_with_members(truth: Truth) -> None:
    members = {_triple(p["surname"], p["forenames"], p["date_of_birth"]) for p in truth["persons"] if p["iom_id"]}
    others = [_triple(p["surname"], p["forenames"], p["date_of_birth"]) for p in truth["persons"] if not p["iom_id"]]
    assert len(others) > 3 * len(members)
    assert not members.intersection(others)
    assert len(set(others)) == len(others)


def test_identifiers_never_shared(truth: Truth) -> None:
    for kind in ("pnc_id", "cro_number", "niche_nominal_id", "noms_number", "crn", "yos_ref"):
        values = [p[kind] for p in truth["persons"] if p[kind]]
        assert len(values) == len(set(values)), kind


# --------------------------------------------------------------------------- the mess


def test_redeliveries_hold_a_different_first_version(world: tuple[SynthSummary, Truth]) -> None:
    summary, truth = world
    assert truth["redeliveries"]
    for entry in truth["redeliveries"]:
        original = summary.out_dir / entry["original"]
        current = summary.inbox / entry["feed"] / entry["name"]
        assert original.name == current.name and original.read_bytes() != current.read_bytes()
        assert original.stat().st_mtime < current.stat().st_mtime
    corrected = [f for f in truth["files"] if f["corrected"]]
    assert [f["name"] for f in corrected] == [e["name"] for e in truth["redeliveries"]]


def test_every_kind_of_mess_is_present(truth: Truth) -> None:
    mess = truth["mess"]
    for category in (
        "boundary_times",
        "broken_rows",
        "corrected_files",
        "dst",
        "impossible_file_name",
        "invalid_check_letters",
        "late_files",
        "outcome_updates",
        "schema_drift",
        "uncertain_identities",
        "prison_xlsx_and_csv",
        "prison_csv_only",
        "double_next_hearing",
    ):
        assert mess.get(category), category
    quarantined_feeds = {r["feed"] for r in truth["records"] if r["quarantine"]}
    assert quarantined_feeds == {"arrests", "court_results", "prison_releases", "attendance"}
    assert any(f["feed"] == "cohort" and f["quarantined_rows"] for f in truth["files"])
    members = {p["person_id"] for p in truth["persons"] if p["iom_id"]}
    for feed in ("arrests", "court_results", "attendance", "prison_releases"):
        people = {r["person_id"] for r in truth["records"] if r["feed"] == feed}
        assert people - members and people & members, feed


def test_arrest_outcome_updates_and_pending(truth: Truth) -> None:
    by_ref: dict[str, list[dict[str, Any]]] = {}
    for record in truth["records"]:
        if record["feed"] == "arrests" and record["fields"]["custody_ref"]:
            by_ref.setdefault(record["fields"]["custody_ref"], []).append(record)
    updated = [rows for rows in by_ref.values() if len(rows) > 1]
    assert updated
    assert all(rows[0]["fields"]["outcome"] is None and rows[-1]["fields"]["outcome"] for rows in updated)
    stamps = {
        r["fields"]["arrest_datetime"][11:16]
        for r in truth["records"]
        if r["feed"] == "arrests" and r["fields"]["arrest_datetime"]
    }
    assert {"00:00", "23:59", "01:30"} <= stamps
