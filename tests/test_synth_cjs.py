"""The synthetic world's criminal-justice careers and truth["cjs_locations"].

The rules the pipeline will use to place a member (remanded, in prison, on licence...)
are applied here, independently of the generator, to the rows as written (truth records
plus the licence expiry read from the release files); the result must be exactly the
truth the generator recorded.  The other tests check the careers are there and coherent.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from pipelines.synth import SynthSummary, generate

END = date(2026, 11, 20)
LOCATIONS = {"COMMUNITY", "POLICE_CUSTODY", "REMANDED_IN_CUSTODY", "IN_PRISON", "ON_LICENCE", "UNKNOWN"}
CAUSES = {"arrest", "arrest_outcome", "court", "release_schedule", "release", "licence_expiry", "recall", "no_outcome"}
HELD = {"POLICE_CUSTODY", "REMANDED_IN_CUSTODY", "IN_PRISON"}
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")

Truth = dict[str, Any]
Event = tuple[datetime, int, str, Any]  # (at, order within the moment, kind, detail)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[SynthSummary, Truth]:
    summary = generate(tmp_path_factory.mktemp("synth-cjs"), end_date=END)
    return summary, json.loads(summary.truth.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def truth(world: tuple[SynthSummary, Truth]) -> Truth:
    return world[1]


@pytest.fixture(scope="module")
def members(truth: Truth) -> dict[str, str]:
    """person_id -> iom_id."""
    return {p["person_id"]: p["iom_id"] for p in truth["persons"] if p["iom_id"]}


def _ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")


def _bounds(truth: Truth) -> tuple[datetime, datetime]:
    return (
        datetime.combine(date.fromisoformat(truth["first_date"]), time(0)),
        datetime.combine(date.fromisoformat(truth["end_date"]), time(0)),
    )


def _location_at(entries: list[list[str]], moment: datetime, *, before: bool = False) -> str:
    """The truth location at `moment` (just before it, with `before`)."""
    current = entries[0][1]
    for at, location, _ in entries:
        when = _ts(at)
        if when > moment or (before and when == moment):
            break
        current = location
    return current


def _records(truth: Truth, feed: str, members: dict[str, str]) -> list[dict[str, Any]]:
    return [r for r in truth["records"] if r["feed"] == feed and r["person_id"] in members and not r["quarantine"]]


def _final_arrests(truth: Truth, members: dict[str, str]) -> list[dict[str, Any]]:
    """Each member arrest as its latest row states it (files sort by extraction time)."""
    latest: dict[str, dict[str, Any]] = {}
    for record in sorted(_records(truth, "arrests", members), key=lambda r: (r["file"], r["line"])):
        latest[record["fields"]["custody_ref"]] = record
    return list(latest.values())


def _release_files(truth: Truth) -> dict[date, str]:
    """The file used for each schedule date: the .xlsx where both exist."""
    used: dict[date, str] = {}
    files = [f for f in truth["files"] if f["feed"] == "prison_releases" and f["file_date"]]
    for entry in sorted(files, key=lambda f: (f["file_date"], f["name"].endswith(".xlsx"))):
        if not entry["rejected_whole"]:
            used[date.fromisoformat(entry["file_date"])] = entry["name"]
    return used


def _licence_expiries(inbox: Path, name: str) -> list[str | None]:
    """licence_expiry_date of each row of a release file, by line (header is line 1)."""
    path = inbox / "prison_releases" / name
    if name.endswith(".xlsx"):
        rows = [list(r) for r in openpyxl.load_workbook(path, read_only=True).worksheets[0].iter_rows(values_only=True)]
    else:
        rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    column = [str(h) for h in rows[0]].index("licence_expiry_date")
    return [None, None] + [(str(r[column]) if r[column] not in (None, "") else None) for r in rows[1:]]


def _schedules(truth: Truth, inbox: Path, members: dict[str, str]) -> dict[date, dict[str, list[tuple[date, str | None, str]]]]:
    """file date -> person_id -> [(release_date, licence_expiry_date, release_date_type)]."""
    files = _release_files(truth)
    by_name = {name: day for day, name in files.items()}
    expiries = {name: _licence_expiries(inbox, name) for name in files.values()}
    out: dict[date, dict[str, list[tuple[date, str | None, str]]]] = {day: defaultdict(list) for day in files}
    for record in _records(truth, "prison_releases", members):
        if record["file"] in by_name:
            fields = record["fields"]
            listing = (
                date.fromisoformat(fields["release_date"]),
                expiries[record["file"]][record["line"]],
                fields["release_date_type"],
            )
            out[by_name[record["file"]]][record["person_id"]].append(listing)
    return out


def _events(truth: Truth, inbox: Path, members: dict[str, str]) -> dict[str, list[Event]]:
    """Every location event the feeds show, per member (rules 1-6)."""
    events: dict[str, list[Event]] = defaultdict(list)
    pending: list[tuple[str, datetime]] = []
    for record in _final_arrests(truth, members):
        fields, person = record["fields"], record["person_id"]
        at = _ts(fields["arrest_datetime"])
        events[person].append((at, 1, "arrest", None))
        if fields["outcome"]:
            events[person].append((_ts(fields["outcome_datetime"]), 1, "outcome", fields["outcome"]))
        else:
            pending.append((person, at))
    hearings: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in _records(truth, "court_results", members):
        hearings[(record["person_id"], record["fields"]["hearing_date"])].append(record["fields"])
    for (person, day), rows in hearings.items():
        if any("1002" in row["result_codes"] for row in rows):
            effect = "IN_PRISON"
        elif any(row["remand_status"] in ("PR", "SA") for row in rows):
            effect = "REMANDED_IN_CUSTODY"
        else:
            effect = "LIBERTY"
        events[person].append((datetime.combine(date.fromisoformat(day), time(17, 0)), 1, "court", effect))
    schedules = _schedules(truth, inbox, members)
    file_dates = sorted(schedules)
    for day, listed in schedules.items():
        for person, listings in listed.items():
            if any(release >= day for release, _, _ in listings):
                events[person].append((datetime.combine(day, time(0)), 0, "schedule", None))
    releases: set[tuple[str, date, str | None]] = set()
    for listed in schedules.values():
        for person, listings in listed.items():
            for release, _, _ in listings:
                newest = [d for d in file_dates if d <= release]
                if newest:
                    for again, expiry, _ in schedules[newest[-1]].get(person, []):
                        if again == release:
                            releases.add((person, release, expiry))
    for person, release, expiry in releases:
        events[person].append((datetime.combine(release, time(9, 0)), 1, "release", expiry))
    for person, at in pending:  # rule 3: nothing else within 96 hours
        limit = at + timedelta(hours=96)
        if not any(at < when < limit for when, _, _, _ in events[person]):
            events[person].append((limit, 1, "no_outcome", None))
    return events


def _derive(start: str, events: list[Event], first: datetime, horizon: datetime) -> list[list[str]]:
    """The location rules applied to one member's events (rules 1-8)."""
    out = [[first.strftime("%Y-%m-%dT%H:%M:%S"), start, "start"]]
    current, expiry = start, None

    def move(at: datetime, location: str, cause: str) -> None:
        nonlocal current
        if location != current:
            out.append([at.strftime("%Y-%m-%dT%H:%M:%S"), location, cause])
            current = location

    def expire(until: datetime) -> None:
        if current == "ON_LICENCE" and expiry is not None:
            ends = datetime.combine(expiry + timedelta(days=1), time(0))
            if ends <= min(until, horizon):
                move(ends, "COMMUNITY", "licence_expiry")

    for at, _, kind, detail in sorted(events, key=lambda e: (e[0], e[1], e[2])):
        if not first <= at <= horizon:
            continue
        expire(at)
        if kind == "release":
            expiry = date.fromisoformat(detail) if detail else None
        on_licence = expiry is not None and expiry >= at.date()
        liberty = "ON_LICENCE" if on_licence else "COMMUNITY"
        if kind == "arrest":
            move(at, "POLICE_CUSTODY", "arrest")
        elif kind == "outcome":
            if detail == "CHARGED_REMANDED":
                move(at, "REMANDED_IN_CUSTODY", "arrest_outcome")
            elif detail == "TRANSFERRED":
                move(at, *(("IN_PRISON", "recall") if on_licence else ("UNKNOWN", "arrest_outcome")))
            else:
                move(at, liberty, "arrest_outcome")
        elif kind == "court":
            move(at, liberty if detail == "LIBERTY" else detail, "court")
        elif kind == "schedule":
            move(at, "IN_PRISON", "release_schedule")
        elif kind == "release":
            move(at, liberty, "release")
        else:
            move(at, "UNKNOWN", "no_outcome")
    expire(horizon)
    return out


# --------------------------------------------------------------------------- tests


def test_cjs_locations_are_well_formed(truth: Truth) -> None:
    locations = truth["cjs_locations"]
    on_registers = {entry["iom_id"] for register in truth["registers"].values() for entry in register}
    assert set(locations) == on_registers
    first, horizon = _bounds(truth)
    for iom_id, entries in locations.items():
        assert entries[0][0] == first.strftime("%Y-%m-%dT%H:%M:%S") and entries[0][2] == "start", iom_id
        assert entries[0][1] in ("COMMUNITY", "IN_PRISON"), iom_id
        for (at, location, _), (later, next_location, next_cause) in zip(entries, entries[1:], strict=False):
            assert STAMP.match(later) and next_location in LOCATIONS and next_cause in CAUSES, (iom_id, later)
            assert at <= later and location != next_location, (iom_id, later)
        assert _ts(entries[-1][0]) <= horizon, iom_id


def test_every_kind_of_career_is_present(truth: Truth) -> None:
    changes: dict[str, int] = defaultdict(int)
    for entries in truth["cjs_locations"].values():
        for _, location, cause in entries[1:]:
            changes[f"{cause}:{location}"] += 1
    assert changes["arrest_outcome:REMANDED_IN_CUSTODY"] >= 5
    assert changes["court:IN_PRISON"] >= 2
    assert changes["release:ON_LICENCE"] >= 5
    assert changes["recall:IN_PRISON"] >= 2
    assert changes["licence_expiry:COMMUNITY"] >= 1
    assert changes["no_outcome:UNKNOWN"] >= 1
    assert sum(entries[0][1] == "IN_PRISON" for entries in truth["cjs_locations"].values()) >= 10
    assert truth["mess"]["cjs_careers"]["recall:IN_PRISON"] == changes["recall:IN_PRISON"]


def test_truth_is_what_the_rules_read_from_the_rows(world: tuple[SynthSummary, Truth], members: dict[str, str]) -> None:
    summary, truth = world
    first, horizon = _bounds(truth)
    events = _events(truth, summary.inbox, members)
    by_iom = {iom_id: person for person, iom_id in members.items()}
    wrong = {}
    for iom_id, entries in truth["cjs_locations"].items():
        derived = _derive(entries[0][1], events.get(by_iom[iom_id], []), first, horizon)
        if derived != entries:
            wrong[iom_id] = (entries, derived)
    assert not wrong, next(iter(wrong.items()))


def test_members_are_arrested_and_heard_only_when_free(truth: Truth, members: dict[str, str]) -> None:
    first, horizon = _bounds(truth)
    locations = truth["cjs_locations"]
    for record in _final_arrests(truth, members):
        at = _ts(record["fields"]["arrest_datetime"])
        if first <= at <= horizon:
            before = _location_at(locations[members[record["person_id"]]], at, before=True)
            assert before not in HELD, (record["fields"]["custody_ref"], before)
    # While held, a member is heard only in the case that holds them.
    held_in: dict[str, set[str]] = defaultdict(set)
    for record in sorted(_records(truth, "court_results", members), key=lambda r: r["fields"]["hearing_date"]):
        fields = record["fields"]
        entries = locations[members[record["person_id"]]]
        heard = datetime.combine(date.fromisoformat(fields["hearing_date"]), time(17, 0))
        before = _location_at(entries, heard, before=True)
        assert before not in ("POLICE_CUSTODY", "IN_PRISON"), (record["file"], record["path"], before)
        if before == "REMANDED_IN_CUSTODY":
            spell = next(at for at, location, _ in reversed(entries) if _ts(at) < heard and location == before)
            held_in[f"{record['person_id']}@{spell}"].add(fields["urn"])
    assert held_in and all(len(urns) == 1 for urns in held_in.values())


def test_no_appointment_while_remanded_or_in_prison(truth: Truth, members: dict[str, str]) -> None:
    locations = truth["cjs_locations"]
    first, horizon = _bounds(truth)
    for record in _records(truth, "attendance", members):
        if record["fields"]["record_type"] == "APPOINTMENT":
            at = _ts(record["fields"]["event_datetime"])
            if first <= at <= horizon:
                where = _location_at(locations[members[record["person_id"]]], at)
                assert where not in ("REMANDED_IN_CUSTODY", "IN_PRISON"), (record["file"], record["line"], where)


def test_imprisonment_is_followed_by_prison_and_the_schedule(world: tuple[SynthSummary, Truth], members: dict[str, str]) -> None:
    summary, truth = world
    schedules = _schedules(truth, summary.inbox, members)
    sentenced = 0
    for record in _records(truth, "court_results", members):
        if "1002" not in record["fields"]["result_codes"]:
            continue
        sentenced += 1
        day = date.fromisoformat(record["fields"]["hearing_date"])
        entries = truth["cjs_locations"][members[record["person_id"]]]
        assert _location_at(entries, datetime.combine(day, time(17, 0))) == "IN_PRISON"
        later = [d for d in sorted(schedules) if d > day]
        release = None
        for file_date in later:  # listed every Monday from the next until released
            if release is not None and file_date > release:
                break
            listings = schedules[file_date].get(record["person_id"], [])
            assert listings, (record["person_id"], file_date)
            release = listings[0][0]
    assert sentenced >= 2


def test_recalls_are_transfers_then_prrd_listings(world: tuple[SynthSummary, Truth], members: dict[str, str]) -> None:
    summary, truth = world
    schedules = _schedules(truth, summary.inbox, members)
    last = date.fromisoformat(truth["end_date"])
    recalls = 0
    for record in _final_arrests(truth, members):
        fields = record["fields"]
        if fields["outcome"] != "TRANSFERRED":
            continue
        recalls += 1
        assert "licence" in fields["offence_description"].lower()
        outcome_at = _ts(fields["outcome_datetime"])
        entries = truth["cjs_locations"][members[record["person_id"]]]
        assert _location_at(entries, outcome_at, before=True) == "POLICE_CUSTODY"
        assert _location_at(entries, outcome_at) == "IN_PRISON"
        assert [e for e in entries if e[0] == fields["outcome_datetime"]][0][2] == "recall"
        monday = outcome_at.date() + timedelta(days=7 - outcome_at.date().weekday())
        if monday <= last:
            listings = schedules[monday].get(record["person_id"], [])
            assert any(kind == "PRRD" and release >= monday for release, _, kind in listings), record["person_id"]
    assert recalls >= 2


def test_releases_lead_to_licence_or_community(world: tuple[SynthSummary, Truth], members: dict[str, str]) -> None:
    summary, truth = world
    schedules = _schedules(truth, summary.inbox, members)
    first, horizon = _bounds(truth)
    file_dates = sorted(schedules)
    released = 0
    for file_date, listed in schedules.items():
        for person, listings in listed.items():
            for release, expiry, _ in listings:
                newest = max(d for d in file_dates if d <= release)
                out = datetime.combine(release, time(9, 0))
                if newest != file_date or out > horizon:
                    continue
                released += 1
                where = _location_at(truth["cjs_locations"][members[person]], out)
                on_licence = expiry is not None and date.fromisoformat(expiry) >= release
                assert where == ("ON_LICENCE" if on_licence else "COMMUNITY"), (person, release)
    assert released >= 5
