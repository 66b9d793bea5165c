"""Where each member is in the criminal justice system (pipelines/cjs_location.py): every
rule, through real files, parsing, linking and the warehouse, on SQLite and PostgreSQL;
the report's "where the cohort is" sections; a backfill does not roll the table back."""

from __future__ import annotations

import csv
from datetime import date, datetime

import pandas as pd

from pipelines import cjs_location as cjs
from pipelines.identifiers import pnc_check_letter
from tests.builders import member
from tests.conftest import BOTH_WAREHOUSES

D = date(2026, 11, 20)
PNC = f"2012/0394773{pnc_check_letter(2012, 394773)}"
A = member("LDS-000001", "Ali", "Sam", "1990-01-01", niche_nominal_id="N1", noms_number="A1111AA", pnc_id=PNC)
B = member("LDS-000002", "Brown", "Jo", "1991-02-02", niche_nominal_id="N2")
C = member("LDS-000003", "Cole", "Ty", "1992-03-03", niche_nominal_id="N3", managing_division="NE")


def arrest(ref: str, niche: str, when: str, outcome: str = "", outcome_at: str = "") -> dict[str, str]:
    return {"custody_ref": ref, "niche_nominal_id": niche, "surname": "x", "forenames": "y", "arrest_datetime": when,
            "offence_description": "Theft", "outcome": outcome, "outcome_datetime": outcome_at}  # fmt: skip


def release(day: str, expiry: str, kind: str = "CRD") -> dict[str, str]:
    return {"noms_number": "A1111AA", "surname": "Ali", "forenames": "Sam", "prison_id": "LEI", "release_date": day,
            "release_date_type": kind, "licence_expiry_date": expiry}  # fmt: skip


def defendant(remand: str, results: list[str]) -> dict:
    return {"surname": "Ali", "forenames": "Sam", "pnc_id": PNC, "remand_status": remand,
            "offences": [{"seq": "1", "title": "Theft", "results": results}]}  # fmt: skip


def deliver(box) -> None:
    box.cohort(date(2026, 11, 1), [A, B, C])
    box.arrests("20261102_220000", [arrest("C1", "N1", "02/11/2026 10:00", "CHARGED_REMANDED", "02/11/2026 20:00")])
    box.court("B13HT", date(2026, 11, 3), [("U1", [defendant("PR", ["4004"])])])  # remanded again: no move
    box.court("B13HT", date(2026, 11, 5), [("U1", [defendant("NA", ["1002"])])])  # imprisonment
    box.releases(date(2026, 11, 9), [release("2026-11-12", "2026-11-16")])
    box.arrests("20261110_120000", [arrest("C4", "N2", "10/11/2026 10:00")])  # never an outcome
    # On licence, arrested and handed to the prison service: a recall.
    box.arrests("20261114_130000", [arrest("C2", "N1", "14/11/2026 08:00", "TRANSFERRED", "14/11/2026 12:00")])
    box.releases(date(2026, 11, 16), [release("2026-11-18", "2026-12-30", "PRRD")])
    box.arrests("20261116_120000", [arrest("C5", "N2", "16/11/2026 09:00", "NFA", "16/11/2026 11:00")])
    box.arrests("20261117_150000", [arrest("C6", "N3", "17/11/2026 10:00", "TRANSFERRED", "17/11/2026 14:00")])
    box.arrests("20261119_060000", [arrest("C3", "N1", "19/11/2026 01:00")])  # pending on D


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


EXPECTED = {
    "LDS-000001": [
        (at("2026-11-01 00:00"), "COMMUNITY", "register"),
        (at("2026-11-02 10:00"), "POLICE_CUSTODY", "arrest"),
        (at("2026-11-02 20:00"), "REMANDED_IN_CUSTODY", "arrest_outcome"),
        (at("2026-11-05 17:00"), "IN_PRISON", "court"),
        (at("2026-11-12 09:00"), "ON_LICENCE", "release"),
        (at("2026-11-14 08:00"), "POLICE_CUSTODY", "arrest"),
        (at("2026-11-14 12:00"), "IN_PRISON", "arrest_outcome"),  # recall; the first licence's expiry no longer applies
        (at("2026-11-18 09:00"), "ON_LICENCE", "release"),
        (at("2026-11-19 01:00"), "POLICE_CUSTODY", "arrest"),  # pending, under 96 hours at the end of D
    ],
    "LDS-000002": [
        (at("2026-11-01 00:00"), "COMMUNITY", "register"),
        (at("2026-11-10 10:00"), "POLICE_CUSTODY", "arrest"),
        (at("2026-11-14 10:00"), "UNKNOWN", "no_outcome"),
        (at("2026-11-16 09:00"), "POLICE_CUSTODY", "arrest"),
        (at("2026-11-16 11:00"), "COMMUNITY", "arrest_outcome"),
    ],
    "LDS-000003": [
        (at("2026-11-01 00:00"), "COMMUNITY", "register"),
        (at("2026-11-17 10:00"), "POLICE_CUSTODY", "arrest"),
        (at("2026-11-17 14:00"), "UNKNOWN", "arrest_outcome"),  # transferred, not on licence
    ],
}


def stored(hub) -> dict[str, list[tuple[datetime, str, str]]]:
    rows = hub.query("SELECT iom_id, started_at, ended_at, location, cause, as_of FROM cjs_location ORDER BY iom_id, started_at")
    out: dict[str, list] = {}
    for r in rows:
        out.setdefault(r.iom_id, []).append((pd.Timestamp(r.started_at).to_pydatetime(), r.location, r.cause))
    return out


def read(path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@BOTH_WAREHOUSES
def test_every_rule_through_the_pipeline_and_the_report_says_where_the_cohort_is(hub):
    deliver(hub.inbox)
    hub.run(D)
    assert stored(hub) == EXPECTED
    spells = hub.query("SELECT iom_id, started_at, ended_at, as_of FROM cjs_location ORDER BY iom_id, started_at")
    for this, following in zip(spells, spells[1:], strict=False):  # each spell ends where the next starts
        if this.iom_id == following.iom_id:
            assert pd.Timestamp(this.ended_at) == pd.Timestamp(following.started_at)
    assert {str(r.as_of) for r in spells} == {D.isoformat()}
    current = hub.query("SELECT iom_id, location FROM cjs_location_current ORDER BY iom_id")
    assert [tuple(r) for r in current] == [("LDS-000001", "POLICE_CUSTODY"), ("LDS-000002", "COMMUNITY"),
                                           ("LDS-000003", "UNKNOWN")]  # fmt: skip

    ch = hub.reports_dir / D.isoformat() / "CH"
    counts = {r["location"]: (r["members"], r["changed_yesterday"]) for r in read(ch / "locations.csv")}
    assert counts == {"COMMUNITY": ("1", "0"), "POLICE_CUSTODY": ("1", "1"), "REMANDED_IN_CUSTODY": ("0", "0"),
                      "IN_PRISON": ("0", "0"), "ON_LICENCE": ("0", "0"), "UNKNOWN": ("0", "0")}  # fmt: skip
    moves = read(ch / "location_changes.csv")
    assert [(m["iom_id"], m["surname"], m["location"], m["since"], m["previous_location"], m["cause"]) for m in moves] == [
        ("LDS-000001", "Ali", "POLICE_CUSTODY", "2026-11-19T01:00:00", "ON_LICENCE", "arrest")
    ]
    ne = {r["location"]: r["members"] for r in read(hub.reports_dir / D.isoformat() / "NE" / "locations.csv")}
    assert ne["UNKNOWN"] == "1" and read(hub.reports_dir / D.isoformat() / "NE" / "location_changes.csv") == []


@BOTH_WAREHOUSES
def test_a_backfill_reports_the_past_as_it_was_and_leaves_the_table_alone(hub):
    deliver(hub.inbox)
    hub.run(D)
    before = stored(hub)
    hub.run(date(2026, 11, 15))  # the day after the recall, as the data stood then
    assert stored(hub) == before  # the analysts' table is not rolled back to 15 November
    ch = hub.reports_dir / "2026-11-15" / "CH"
    moves = [(m["iom_id"], m["location"], m["cause"]) for m in read(ch / "location_changes.csv")]
    assert moves == [("LDS-000001", "POLICE_CUSTODY", "arrest"), ("LDS-000002", "UNKNOWN", "no_outcome"),
                     ("LDS-000001", "IN_PRISON", "arrest_outcome")]  # fmt: skip
    counts = {r["location"]: r["members"] for r in read(ch / "locations.csv")}
    assert (counts["IN_PRISON"], counts["UNKNOWN"]) == ("1", "1")  # A recalled; B's arrest of the 10th unresolved
    hub.run(D)  # re-running the day changes nothing
    assert stored(hub) == before


def test_an_expiry_applies_only_on_licence_and_a_timeout_only_to_an_unresolved_arrest():
    """The two conditional rules, on frames: a licence expiring while recalled changes
    nothing; a 96-hour timeout after a later event is void."""
    ev = pd.DataFrame(
        [
            ("M", at("2026-01-01 00:00"), "register", "COMMUNITY", None, None, None),
            ("M", at("2026-01-02 09:00"), "release", cjs.LIBERTY, "prison_releases", 1, 1),
            ("M", at("2026-01-05 08:00"), "arrest", "POLICE_CUSTODY", "arrests", 2, 1),
            ("M", at("2026-01-05 09:00"), "arrest_outcome", "TRANSFERRED", "arrests", 2, 1),
            ("M", at("2026-01-11 00:00"), "licence_expiry", "COMMUNITY", "prison_releases", None, None),
            ("N", at("2026-01-01 00:00"), "register", "COMMUNITY", None, None, None),
            ("N", at("2026-01-03 10:00"), "arrest", "POLICE_CUSTODY", "arrests", 3, 1),
            ("N", at("2026-01-04 10:00"), "court", cjs.LIBERTY, "court_results", 4, 1),
            ("N", at("2026-01-07 10:00"), "no_outcome", "UNKNOWN", "arrests", 3, 1),
        ],
        columns=cjs.EVENT_COLUMNS,
    )
    licences = pd.DataFrame({"iom_id": ["M"], "at": [at("2026-01-02 09:00")], "licence_until": [pd.Timestamp("2026-01-10")]})
    got = cjs.spells(cjs.resolve(ev, licences))
    assert [(r.iom_id, r.location) for r in got.itertuples()] == [
        ("M", "COMMUNITY"), ("M", "ON_LICENCE"), ("M", "POLICE_CUSTODY"), ("M", "IN_PRISON"),
        ("N", "COMMUNITY"), ("N", "POLICE_CUSTODY"), ("N", "COMMUNITY"),
    ]  # fmt: skip


def test_the_first_register_snapshot_does_not_undo_an_earlier_sentence():
    """Rule 8 is where a member starts, "before any of that": sent to prison a week before
    the hub's first snapshot of them, they are in prison, not in the community."""
    ev = pd.DataFrame(
        [
            ("M", at("2026-01-03 17:00"), "court", cjs.IN_PRISON, "court_results", 1, 1),
            ("M", at("2026-01-10 00:00"), "register", "COMMUNITY", None, None, None),
            ("N", at("2026-01-10 00:00"), "register", "COMMUNITY", None, None, None),
            ("N", at("2026-01-12 10:00"), "arrest", "POLICE_CUSTODY", "arrests", 2, 1),
        ],
        columns=cjs.EVENT_COLUMNS,
    )
    kept = cjs._register_only_first(ev)
    got = cjs.spells(cjs.resolve(kept, pd.DataFrame(columns=["iom_id", "at", "licence_until"])))
    assert [(r.iom_id, r.location) for r in got.itertuples()] == [
        ("M", "IN_PRISON"), ("N", "COMMUNITY"), ("N", "POLICE_CUSTODY"),
    ]  # fmt: skip
