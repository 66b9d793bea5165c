"""Who appears in the daily report, and where (CONTRACT sections 4 and 7)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tests.builders import member
from tests.conftest import BOTH_WAREHOUSES

pytestmark = BOTH_WAREHOUSES

D = date(2026, 11, 23)  # report date; "yesterday" is 2026-11-22


def arrest(ref: str, who: dict[str, str], when: str, outcome: str = "", **extra: str) -> dict[str, str]:
    return {
        "custody_ref": ref, "niche_nominal_id": who.get("niche_nominal_id", ""), "surname": who["surname"],
        "forenames": who["forenames"], "arrest_datetime": when, "offence_description": "Theft", "outcome": outcome,
        **extra,
    }  # fmt: skip


A = member("LDS-000001", "Ó Briain", "Siobhán", "1990-02-01", niche_nominal_id="NN1", next_review_due="2026-12-07",
           support_plan_agreed_on="2026-10-01", noms_number="A1234BC")  # fmt: skip
B = member("LDS-000002", "Smith", "John", "1985-03-04", niche_nominal_id="NN2", managing_division="NE",
           status="DESELECTED", selected_on="2025-01-01", deselected_on="2026-11-22")  # fmt: skip
C = member("LDS-000003", "Jones", "Amy", "1991-05-06", niche_nominal_id="NN3", managing_division="NW",
           status="DESELECTED", selected_on="2025-01-01", deselected_on="2026-11-21")  # fmt: skip
N = member("LDS-000004", "Nominee", "Nina", "1999-09-09", niche_nominal_id="NN4", status="NOMINATED", selected_on="")
S = member("LDS-000005", "Starter", "Sam", "2000-01-01", niche_nominal_id="NN5", managing_division="NW",
           selected_on="2026-11-23", next_review_due="2026-12-08", noms_number="B1234CD")  # fmt: skip
OVERDUE = member("LDS-000006", "Overdue", "Olga", "1980-06-06", next_review_due="2026-11-01")
OUTSIDER = {"surname": "Random", "forenames": "Person", "niche_nominal_id": "NN999"}


@pytest.fixture
def scenario(hub):
    box = hub.inbox
    box.cohort(date(2026, 11, 22), [A, B, C, N, OVERDUE])
    box.cohort(date(2026, 11, 23), [A, B, C, N, S, OVERDUE])  # in force at D: S joins on D
    # A register dated after D must not be used for D (it moves A to NE).
    box.cohort(date(2026, 11, 24), [{**A, "managing_division": "NE"}, B, C, N, S, OVERDUE])
    box.arrests("20261122_230000", [
        arrest("K0", A, "21/11/2026 23:59"),
        arrest("K1", A, "22/11/2026 00:00"),
        arrest("K2", A, "22/11/2026 23:59", "BAILED"),
        arrest("K3", B, "22/11/2026 12:00", "NFA"),
        arrest("K4", C, "22/11/2026 12:00"),
        arrest("K5", N, "22/11/2026 12:00"),
        arrest("K6", S, "22/11/2026 12:00"),
        arrest("K7", OUTSIDER, "22/11/2026 12:00"),
    ])  # fmt: skip
    box.arrests("20261123_060000", [
        arrest("K1", A, "22/11/2026 00:00", "CHARGED", outcome_datetime="22/11/2026 09:00"),
        arrest("K8", A, "23/11/2026 00:01"),
    ])  # fmt: skip
    box.arrests("20261124_060000", [arrest("K9", A, "22/11/2026 13:00")])
    box.attendance("PROBATION", date(2026, 11, 22), [
        {"record_id": "P1", "record_type": "APPOINTMENT", "iom_id": "LDS-000001", "surname": "x", "forenames": "y",
         "event_datetime": "2026-11-22T10:00", "outcome": "ATTENDED"},
        {"record_id": "P2", "record_type": "STATUS_CHANGE", "agency_ref": "", "iom_id": "LDS-000001", "surname": "x",
         "forenames": "y", "event_datetime": "2026-11-22", "status": "HOUSED"},
        {"record_id": "P3", "record_type": "APPOINTMENT", "iom_id": "LDS-000001", "surname": "x", "forenames": "y",
         "event_datetime": "2026-11-21T10:00", "outcome": "ATTENDED"},
        {"record_id": "P4", "record_type": "APPOINTMENT", "iom_id": "LDS-000003", "surname": "x", "forenames": "y",
         "event_datetime": "2026-11-22T10:00", "outcome": "FAILED_TO_ATTEND"},
    ])  # fmt: skip
    box.releases(date(2026, 11, 20), [
        {"noms_number": "A1234BC", "surname": "Ó Briain", "forenames": "Siobhán", "prison_id": "LEI", "release_date": d,
         "accommodation_on_release": "SETTLED"}
        for d in ("2026-11-22", "2026-11-23", "2026-12-23", "2026-12-24")
    ] + [{"noms_number": "B1234CD", "surname": "Starter", "forenames": "Sam", "prison_id": "LEI",
          "release_date": "2026-11-30"}])  # fmt: skip
    box.releases(date(2026, 11, 24), [
        {"noms_number": "A1234BC", "surname": "Ó Briain", "forenames": "Siobhán", "prison_id": "LEI", "release_date": "2026-11-25"}
    ])  # fmt: skip
    hub.run(D)
    return hub


def test_arrests_are_every_reportable_members_arrests_of_yesterday_in_every_division(scenario):
    for division in ("CH", "NE", "NW"):
        rows = scenario.report(D, division, "arrests")
        assert [r["custody_ref"] for r in rows] == ["K1", "K3", "K2"]
    k1, k3, k2 = scenario.report(D, "NW", "arrests")
    assert (k1["outcome"], k2["outcome"], k3["outcome"]) == ("CHARGED", "BAILED", "NFA")
    assert k1["arrest_datetime"] == "2026-11-22T00:00:00"
    # Names and division come from the register in force at D, not the feed or a later register.
    assert (k1["surname"], k1["forenames"], k1["managing_division"]) == ("Ó Briain", "Siobhán", "CH")
    assert k3["managing_division"] == "NE"


def test_pending_outcome_is_blank(hub):
    hub.inbox.cohort(date(2026, 11, 22), [A])
    hub.inbox.arrests("20261122_230000", [arrest("K1", A, "22/11/2026 10:00")])
    hub.run(D)
    assert hub.report(D, "CH", "arrests")[0]["outcome"] == ""


def test_division_sections_hold_only_that_divisions_members(scenario):
    ch_attendance = scenario.report(D, "CH", "attendance")
    assert [r["record_id"] for r in ch_attendance] == ["P1"]
    assert scenario.report(D, "NW", "attendance") == []  # C was deselected before D-1
    changes = scenario.report(D, "CH", "status_changes")
    assert [(r["record_id"], r["status"]) for r in changes] == [("P2", "HOUSED")]


def test_releases_window_is_d_to_d_plus_30_from_newest_file_on_or_before_d(scenario):
    rows = scenario.report(D, "CH", "releases")
    assert [r["release_date"] for r in rows] == ["2026-11-23", "2026-12-23"]
    nw = scenario.report(D, "NW", "releases")
    assert [(r["iom_id"], r["release_date"]) for r in nw] == [("LDS-000005", "2026-11-30")]


def test_reviews_due_within_14_days_including_overdue(scenario):
    rows = scenario.report(D, "CH", "reviews")
    assert [(r["iom_id"], r["days_until_due"]) for r in rows] == [("LDS-000006", "-22"), ("LDS-000001", "14")]
    assert scenario.report(D, "NW", "reviews") == []  # S is due on D+15


def test_nobody_outside_the_cohort_appears_anywhere(scenario):
    allowed = {"LDS-000001", "LDS-000002", "LDS-000005", "LDS-000006"}
    for division in ("CH", "NE", "NW"):
        for section in ("arrests", "court_results", "attendance", "status_changes", "releases", "reviews"):
            for row in scenario.report(D, division, section):
                assert row["iom_id"] in allowed
                assert "Random" not in row.values()
        html = (scenario.reports_dir / D.isoformat() / division / "report.html").read_text(encoding="utf-8")
        assert "Random" not in html and "Nominee" not in html and "Jones" not in html


def test_feeds_csv_statuses(scenario):
    feeds = {r["feed"]: r for r in scenario.report(D, "CH", "feeds")}
    assert list(feeds) == ["cohort", "arrests", "court_results", "prison_releases", "attendance"]
    assert feeds["court_results"]["status"] == "MISSING"
    assert feeds["court_results"]["newest_file"] == ""
    assert feeds["arrests"] == {
        **feeds["arrests"], "status": "OK", "newest_file": "niche_arrests_20261123_060000.csv",
        "rows_loaded": "10", "rows_quarantined": "0",
    }  # fmt: skip
    assert feeds["prison_releases"]["status"] == "OK"
    assert feeds["prison_releases"]["newest_file"] == "prison_releases_20261120.csv"
    assert feeds["cohort"]["newest_file"] == "cohort_20261123.csv"
    html = (scenario.reports_dir / D.isoformat() / "CH" / "report.html").read_text(encoding="utf-8")
    assert "court_results" in html and "MISSING" in html and 'role="alert"' in html
    assert "No court results file has arrived for this report" in html


def test_feed_statuses_stale_late_rejects(hub):
    hub.inbox.cohort(date(2026, 11, 15), [A])  # 8 days old at D
    hub.inbox.arrests("20261122_230000", [arrest("K1", A, "22/11/2026 10:00")], arrived=datetime(2026, 11, 23, 9, 40))
    hub.inbox.attendance("DIP", date(2026, 11, 22), [{"record_id": "1", "record_type": "APPOINTMENT", "surname": "a",
                                                      "forenames": "b", "event_datetime": "bad"}])  # fmt: skip
    for agency in ("PROBATION", "YOS"):  # the other agencies due for a Sunday, with nothing to report
        hub.inbox.attendance(agency, date(2026, 11, 22), [])
    (hub.inbox.root / "court_results").mkdir()
    (hub.inbox.root / "court_results" / "court_results_B13HT_20261122.xml").write_bytes(b"<not xml")
    hub.run(D)
    feeds = {r["feed"]: r for r in hub.report(D, "CH", "feeds")}
    assert feeds["cohort"]["status"] == "STALE"
    assert feeds["arrests"]["status"] == "LATE"
    assert feeds["attendance"]["status"] == "REJECTS"
    assert (feeds["attendance"]["rows_loaded"], feeds["attendance"]["rows_quarantined"]) == ("0", "1")
    assert feeds["court_results"]["status"] == "REJECTS"
    assert feeds["court_results"]["rows_quarantined"] == "1"  # nothing countable: the file counts as 1
    assert feeds["prison_releases"]["status"] == "MISSING"


def test_report_for_a_past_date_ignores_files_dated_later(scenario):
    before = {s: scenario.report(D, "CH", s) for s in ("arrests", "releases", "attendance")}
    scenario.run(date(2026, 11, 24))
    scenario.run(D)  # rebuild D after later files arrived and were loaded
    assert {s: scenario.report(D, "CH", s) for s in before} == before


def test_uncertain_match_goes_to_review_not_report(hub):
    hub.inbox.cohort(date(2026, 11, 22), [A])
    # A's forename and date of birth under another surname, no identifiers: maybe A, maybe not.
    hub.inbox.arrests("20261122_230000", [
        {**arrest("K1", {"surname": "Brennan", "forenames": "Siobhán"}, "22/11/2026 10:00"), "date_of_birth": "01/02/1990"}
    ])  # fmt: skip
    hub.run(D)
    assert hub.report(D, "CH", "arrests") == []
    review = hub.query(
        "select l.feed, l.subject, l.reason, c.iom_id, c.via from record_link l join link_candidate c"
        " on c.register_id = l.register_id and c.feed = l.feed and c.file_id = l.file_id and c.row_no = l.row_no"
        " where l.method = 'review'"
    )
    assert [(r.feed, r.subject, r.iom_id, r.via) for r in review] == [("arrests", "K1", "LDS-000001", "details")]


def test_one_variation_of_a_members_details_reaches_the_report(hub):
    hub.inbox.cohort(date(2026, 11, 22), [A])
    # A's details with the day and month of birth transposed, no identifiers.
    hub.inbox.arrests("20261122_230000", [
        {**arrest("K1", {"surname": "Ó Briain", "forenames": "Siobhán"}, "22/11/2026 10:00"), "date_of_birth": "02/01/1990"}
    ])  # fmt: skip
    hub.run(D)
    assert [r["custody_ref"] for r in hub.report(D, "CH", "arrests")] == ["K1"]
    (link,) = hub.query("select method, match_weight from record_link where feed = 'arrests'")
    assert link.method == "details" and link.match_weight > 0


def test_a_pnc_written_without_its_slash_links_court_and_probation_records(hub):
    # Prison and probation systems write 2012/0394773H as 20120394773H or 12394773H; with
    # only that, an initial and no date of birth, the record is still the member's.
    hub.inbox.cohort(date(2026, 11, 22), [{**A, "pnc_id": "2012/0394773H"}])
    hub.inbox.attendance("PROBATION", date(2026, 11, 22), [
        {"record_id": "P1", "record_type": "APPOINTMENT", "pnc_id": "20120394773H", "surname": "O BRIAIN", "forenames": "S",
         "event_datetime": "2026-11-22T10:00", "outcome": "ATTENDED"},
    ])  # fmt: skip
    hub.inbox.court("B13HT", date(2026, 11, 22), [("13AA1234526", [
        {"surname": "O Briain", "forenames": "S", "pnc_id": "12394773H", "offences": [{"seq": 1, "title": "Theft", "results": ["1116"]}]},
    ])])  # fmt: skip
    hub.run(D)
    assert [r["record_id"] for r in hub.report(D, "CH", "attendance")] == ["P1"]
    assert [r["urn"] for r in hub.report(D, "CH", "court_results")] == ["13AA1234526"]
    methods = {r.method for r in hub.query("select method from record_link where feed in ('attendance', 'court_results')")}
    assert methods == {"identifier"}
