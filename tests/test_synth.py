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
    args: dict[str, Any] = {"end_date": END, "days": 21, "scale": 0.3, "identifierless_share": 0.3}
    generate(tmp_path / "a", seed=7, **args)
    time.sleep(1.1)  # so anything stamped with the wall clock (zip members, say) would differ
    generate(tmp_path / "b", seed=7, **args)
    generate(tmp_path / "c", seed=8, **args)
    first, second, other = _tree(tmp_path / "a"), _tree(tmp_path / "b"), _tree(tmp_path / "c")
    assert first == second
    assert first != other
    generate(tmp_path / "d", seed=7, **{**args, "identifierless_share": 0.1})
    assert _tree(tmp_path / "d") != first
    # Regenerating into a used folder replaces the generator's own output completely.
    generate(tmp_path / "c", seed=7, **args)
    assert _tree(tmp_path / "c") == first


def test_identifierless_share_must_be_a_fraction(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="identifierless_share"):
        generate(tmp_path, end_date=END, days=21, scale=0.3, identifierless_share=1.5)


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


def test_every_provider_written_is_configured_and_delivers_on_its_days(truth: Truth) -> None:
    """config/hub.yaml's providers match what the generator writes, so the demo's feeds are OK."""
    weekdays = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    configured = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["providers"]
    days = {
        (feed, code): set(range(7)) if spec["days"] == "daily" else {weekdays.index(d) for d in spec["days"]}
        for feed, entries in configured.items()
        for code, spec in entries.items()
    }
    delivered = set()
    for entry in truth["files"]:
        if entry["feed"] not in configured or entry["file_date"] is None:
            continue
        code = entry["name"].rsplit("_", 1)[0].removeprefix(f"{entry['feed']}_")  # <feed>_<PROVIDER>_YYYYMMDD.ext
        day = date.fromisoformat(entry["file_date"])
        assert (entry["feed"], code) in days, entry["name"]
        assert day.weekday() in days[(entry["feed"], code)], f"{entry['name']} is dated a day its provider does not deliver"
        delivered.add((entry["feed"], code, day))
    d1 = END - timedelta(days=1)  # every provider delivers for the demo's D-1
    assert {(f, c, d1) for (f, c), ds in days.items() if d1.weekday() in ds} <= delivered
    assert {(f, c) for f, c, _ in delivered} == set(days)


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


def test_names_are_canonical_except_the_varied_and_uncertain_cases(inbox: Path, truth: Truth) -> None:
    persons = {p["person_id"]: p for p in truth["persons"]}
    rows: dict[str, list[list[str]]] = {}
    for record in truth["records"]:
        if record["feed"] not in ("arrests", "attendance") or record["identity"] == "uncertain":
            continue
        if record["variation"] is not None:
            assert record["variation"] == "accents"  # the only variation normalisation undoes
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
        if persons[pid]["decoy"]:
            certain = certain and bool(pointed)  # a decoy is never certain on its details alone
        assert (record["identity"] == "certain") == certain, (name, record["line"])
        if not certain:
            uncertain.append(record)
    # The deliberate cases (nickname, day/month swap, identifier conflict, name without
    # date of birth) are uncertain and placed where they matter: in files of D-1 (or D's
    # overnight arrests).
    deliberate = {(e["file"], e["line"]) for e in truth["mess"]["uncertain_identities"]}
    assert len(deliberate) >= 4
    assert deliberate <= {(r["file"], r["line"]) for r in uncertain}
    dates = {re.search(r"_(\d{8})", name).group(1) for name, _ in deliberate}  # type: ignore[union-attr]
    assert dates <= {f"{END - timedelta(days=1):%Y%m%d}", f"{END:%Y%m%d}"}
    # Everything else uncertain is a variation of a member's details or a decoy.
    for record in uncertain:
        if (record["file"], record["line"]) not in deliberate:
            assert record["variation"] or persons[record["person_id"]]["decoy"], record


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


# --------------------------------------------------------------------------- identifierless rows, variations, decoys

MEMBER_FEEDS = ("court_results", "attendance")
VARIATIONS = (
    "spelling",
    "nickname",
    "forenames_swapped",
    "middle_as_first",
    "hyphen_part",
    "dob_transposed",
    "no_dob",
    "accents",
    "new_surname",
)
DECOYS = ("same_name_other_dob", "twin", "father_son", "common_name")


@pytest.fixture(scope="module")
def half(tmp_path_factory: pytest.TempPathFactory) -> tuple[SynthSummary, Truth]:
    """A world where half of the members' court and attendance rows carry no identifier."""
    summary = generate(tmp_path_factory.mktemp("synth-half"), end_date=END, identifierless_share=0.5)
    return summary, json.loads(summary.truth.read_text(encoding="utf-8"))


class _Rows:
    """Records' rows as written: names, date of birth and identifiers, read from the files."""

    def __init__(self, inbox: Path) -> None:
        self._inbox = inbox
        self._files: dict[str, Any] = {}

    def _content(self, feed: str, name: str) -> Any:
        if name not in self._files:
            path = self._inbox / feed / name
            if name.endswith(".xml"):
                self._files[name] = ElementTree.fromstring(path.read_bytes())
            elif name.endswith(".xlsx"):
                self._files[name] = list(openpyxl.load_workbook(path, read_only=True).worksheets[0].iter_rows(values_only=True))
            else:
                self._files[name] = _csv_rows(feed, path.read_bytes())
        return self._files[name]

    def __call__(self, record: dict[str, Any]) -> dict[str, Any]:
        feed, content = record["feed"], self._content(record["feed"], record["file"])
        if feed == "court_results":
            case, defendant, _ = (int(i) for i in re.findall(r"\[(\d+)\]", record["path"]))
            element = content.findall("Case")[case - 1].findall("Defendant")[defendant - 1]
            value = {k: element.get(k) or "" for k in ("surname", "forenames", "dob", "pnc_id", "cro_number", "postcode")}
            dob = value["dob"]
            ids = {IdKind.PNC_ID: value["pnc_id"], IdKind.CRO_NUMBER: value["cro_number"]}
        else:
            header = [str(h) for h in content[0]]
            cells = content[record["line"] - 1]
            value = {h: "" if c is None else c for h, c in zip(header, cells, strict=True)}
            dob = value["date_of_birth"]
            if isinstance(dob, datetime):
                dob = dob.date().isoformat()
            elif feed == "arrests" and dob:
                dob = datetime.strptime(dob, "%d/%m/%Y").date().isoformat()
            if feed == "arrests":
                ids = {IdKind.NICHE_NOMINAL_ID: value["niche_nominal_id"], IdKind.PNC_ID: value["pnc_id"]}
            elif feed == "prison_releases":
                ids = {IdKind.NOMS_NUMBER: str(value["noms_number"]), IdKind.PNC_ID: str(value["pnc_id"])}
            else:
                ids = {IdKind.IOM_ID: value["iom_id"], IdKind.PNC_ID: value["pnc_id"]}
                if value["agency"] in ("PROBATION", "YOS"):
                    ids[IdKind.CRN if value["agency"] == "PROBATION" else IdKind.YOS_REF] = value["agency_ref"]
        return {"surname": value["surname"], "forenames": value["forenames"], "dob": str(dob or ""), "ids": ids}


def _members(truth: Truth) -> set[str]:
    return {p["person_id"] for p in truth["persons"] if p["iom_id"]}


def _member_share(truth: Truth, feeds: tuple[str, ...]) -> float:
    members = _members(truth)
    records = [r for r in truth["records"] if r["feed"] in feeds and r["person_id"] in members]
    return sum(r["identifierless"] for r in records) / len(records)


def test_truth_identifierless_agrees_with_the_written_rows(world: tuple[SynthSummary, Truth]) -> None:
    summary, truth = world
    rows = _Rows(summary.inbox)
    kinds = Counter()
    for record in truth["records"]:
        written = rows(record)
        valid = [kind for kind, raw in written["ids"].items() if raw and normalise(kind, raw, END)]
        assert record["identifierless"] == (not valid), (record["file"], record.get("line") or record.get("path"))
        kinds[(record["feed"], record["identifierless"])] += 1
    for feed in ("arrests", "court_results", "attendance"):
        assert kinds[(feed, True)] and kinds[(feed, False)], feed


@pytest.mark.parametrize(("which", "share"), [("world", 0.1), ("half", 0.5)])
def test_identifierless_share_of_member_rows_follows_the_parameter(which: str, share: float, request) -> None:
    _, truth = request.getfixturevalue(which)
    assert truth["identifierless_share"] == share
    assert abs(_member_share(truth, MEMBER_FEEDS) - share) < 0.03
    assert abs(_member_share(truth, ("arrests",)) - share / 2) < 0.1
    # Members' rows without identifiers are (nearly all) the varied ones, and every varied
    # row is without identifiers.
    members = _members(truth)
    bare = [r for r in truth["records"] if r["feed"] in MEMBER_FEEDS and r["person_id"] in members and r["identifierless"]]
    assert sum(r["variation"] is not None for r in bare) >= 0.95 * len(bare)
    assert all(r["identifierless"] for r in truth["records"] if r["variation"])
    assert not any(r["variation"] for r in truth["records"] if r["person_id"] not in members)


def test_every_variation_kind_occurs_at_half_share(half: tuple[SynthSummary, Truth]) -> None:
    _, truth = half
    counts = Counter(r["variation"] for r in truth["records"] if r["variation"])
    assert set(counts) == set(VARIATIONS)
    assert {kind: counts[kind] for kind in VARIATIONS} == truth["mess"]["variations"]
    # Kinds that apply to everyone come in roughly equal shares.
    common = [counts[kind] for kind in ("spelling", "forenames_swapped", "no_dob")]
    assert max(common) < 1.5 * min(common)


def test_variations_are_written_as_their_kind_says(half: tuple[SynthSummary, Truth]) -> None:
    summary, truth = half
    rows = _Rows(summary.inbox)
    persons = {p["person_id"]: p for p in truth["persons"]}
    by_details = {_triple(p["surname"], p["forenames"], p["date_of_birth"]): p["person_id"] for p in truth["persons"]}
    registered = {(e["iom_id"], e["surname"]) for register in truth["registers"].values() for e in register}
    for record in truth["records"]:
        kind = record["variation"]
        if kind is None:
            continue
        person, written = persons[record["person_id"]], rows(record)
        surname, forenames, dob = person["surname"], person["forenames"], person["date_of_birth"]
        got = (written["surname"], written["forenames"], written["dob"])
        assert got != (surname, forenames, dob), record
        where = (record["file"], record.get("line") or record.get("path"))
        if kind == "no_dob":
            assert got == (surname, forenames, ""), where
        elif kind == "dob_transposed":
            year, month, day = dob.split("-")
            assert got == (surname, forenames, f"{year}-{day}-{month}"), where
        elif kind == "forenames_swapped":
            assert got == (forenames, surname, dob), where
        elif kind == "middle_as_first":
            first, middle, *rest = forenames.split(" ")
            assert got == (surname, " ".join([middle, first, *rest]), dob), where
        elif kind == "hyphen_part":
            assert written["surname"] in re.split(r"[- ]", surname) and got[1:] == (forenames, dob), where
        elif kind == "nickname":
            assert written["surname"] == surname and written["dob"] == dob, where
            assert written["forenames"].split(" ")[1:] == forenames.split(" ")[1:], where
        elif kind == "spelling":
            assert written["dob"] == dob and (written["surname"] == surname) != (written["forenames"] == forenames), where
        elif kind == "accents":
            assert all(char.isascii() or char == "\u2019" for char in got[0] + got[1]) and got[2] == dob, where
        elif kind == "new_surname":
            assert written["forenames"] == forenames and written["dob"] == dob and written["surname"] != surname, where
            assert (person["iom_id"], surname) in registered  # the register keeps the old surname
        # Never exactly someone else's details: the truth stays unambiguous.
        assert by_details.get(_triple(*got)) in (None, person["person_id"]), where
        assert record["identity"] == ("certain" if by_details.get(_triple(*got)) else "uncertain"), where


def test_decoys_of_every_kind_look_like_members_but_are_not(half: tuple[SynthSummary, Truth]) -> None:
    _, truth = half
    persons = {p["person_id"]: p for p in truth["persons"]}
    members = _members(truth)
    on_register = {e["person_id"] for register in truth["registers"].values() for e in register}
    decoys = [p for p in truth["persons"] if p["decoy"]]
    assert 60 <= len(decoys) <= 100
    assert Counter(p["decoy"] for p in decoys) == Counter(truth["mess"]["decoys"])
    assert set(truth["mess"]["decoys"]) == set(DECOYS) and all(truth["mess"]["decoys"].values())
    member_details = {_triple(persons[m]["surname"], persons[m]["forenames"], persons[m]["date_of_birth"]) for m in members}
    member_dobs = {persons[m]["date_of_birth"] for m in members}
    for decoy in decoys:
        assert decoy["iom_id"] is None and decoy["person_id"] not in on_register
        assert not any(decoy[k] for k in ("pnc_id", "cro_number", "niche_nominal_id", "noms_number", "crn", "yos_ref"))
        assert _triple(decoy["surname"], decoy["forenames"], decoy["date_of_birth"]) not in member_details
        dob = date.fromisoformat(decoy["date_of_birth"])
        if decoy["decoy"] == "common_name":
            assert decoy["decoy_of"] is None and decoy["date_of_birth"] not in member_dobs
            continue
        assert decoy["decoy_of"] in members
        member = persons[decoy["decoy_of"]]
        member_dob = date.fromisoformat(member["date_of_birth"])
        if decoy["decoy"] == "same_name_other_dob":
            assert (decoy["surname"], decoy["forenames"]) == (member["surname"], member["forenames"])
            assert abs((dob - member_dob).days) > 365
        elif decoy["decoy"] == "twin":
            assert (decoy["surname"], dob) == (member["surname"], member_dob)
            assert _key(decoy["forenames"].split(" ")[0]) != _key(member["forenames"].split(" ")[0])
        else:
            assert (decoy["surname"], decoy["forenames"], decoy["postcode"]) == (
                member["surname"],
                member["forenames"],
                member["postcode"],
            )
            assert 20 * 365 <= (member_dob - dob).days <= 31 * 365
    # They turn up a few times each, in every event feed, never with an identifier and
    # never certainly identified.
    records = [r for r in truth["records"] if persons[r["person_id"]]["decoy"]]
    assert {r["feed"] for r in records} == {"court_results", "attendance", "arrests"}
    assert len({r["person_id"] for r in records}) >= 0.9 * len(decoys)
    assert all(r["identifierless"] and r["identity"] == "uncertain" and r["variation"] is None for r in records)
    assert sum(truth["mess"]["decoy_records"].values()) == len(records)
