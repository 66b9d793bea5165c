"""Validating raw feed tables against the contract (CONTRACT sections 1-3)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pandas as pd
import pytest

from pipelines.feeds import ARRESTS, ATTENDANCE, COHORT, COURT_RESULTS
from pipelines.parsing import LOC, ROW, FileRejected, read_table
from pipelines.validation import LOCAL_DATE, validate

SNAPSHOT = date(2026, 11, 20)


def csv_bytes(columns: list[str], rows: list[dict], encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return buf.getvalue().encode(encoding)


def run(feed, name, columns, rows, file_date, encoding="utf-8"):
    raw = read_table(feed, name, csv_bytes(columns, rows, encoding))
    return raw, validate(feed, raw, file_date)


# --------------------------------------------------------------------------- cohort

COHORT_COLUMNS = COHORT.column_names


def member(**over) -> dict:
    row = {
        "iom_id": "LDS-000001",
        "surname": "Ó Briain",
        "forenames": "Siobhán",
        "date_of_birth": "1990-01-31",
        "gender": "F",
        "pnc_id": "2012/0394773H",  # 120394773 mod 23 = 8 -> H
        "cro_number": "029906/12J",  # 12029906 mod 23 = 9 -> J
        "niche_nominal_id": "N100",
        "noms_number": "A1234BC",
        "crn": "X123456",
        "yos_ref": "",
        "postcode": "ls1 1ab",
        "managing_division": "CH",
        "cohort_type": "IOM",
        "strand": "REHAB_RESETTLE",
        "status": "ACTIVE",
        "nominated_by": "POLICE",
        "case_manager_agency": "PROBATION",
        "risk_level": "HIGH",
        "selected_on": "2026-01-05",
        "deselected_on": "",
        "deselection_reason": "",
        "support_plan_agreed_on": "2026-01-10",
        "next_review_due": "2026-12-01",
    }
    row.update(over)
    return row


def cohort(rows, columns=COHORT_COLUMNS, file_date=SNAPSHOT):
    return run(COHORT, "cohort_20261120.csv", columns, rows, file_date)


def reasons(v) -> list[str]:
    return list(v.quarantined["reason"])


def assert_counts(raw, v):
    assert v.rows_in == raw.rows_in == len(v.rows) + len(v.quarantined)


def test_good_cohort_row_loads_typed_and_normalised():
    raw, v = cohort([member()])
    assert len(v.quarantined) == 0 and len(v.findings) == 0 and v.drift == []
    row = v.rows.iloc[0]
    assert row["surname"] == "Ó Briain" and row["forenames"] == "Siobhán"
    assert row["date_of_birth"] == date(1990, 1, 31)
    assert row["selected_on"] == date(2026, 1, 5)
    assert row["deselected_on"] is None
    assert row["postcode"] == "LS1 1AB"
    assert row["pnc_id"] == "2012/0394773H"
    assert row[LOC] == "2"
    assert_counts(raw, v)


def test_required_value_missing():
    raw, v = cohort([member(), member(iom_id="LDS-000002", surname="  ")])
    assert len(v.rows) == 1 and v.rows.iloc[0]["iom_id"] == "LDS-000001"
    assert list(v.quarantined[LOC]) == ["3"]
    (reason,) = reasons(v)
    assert "surname" in reason and "required" in reason
    assert_counts(raw, v)


@pytest.mark.parametrize(
    "column, bad",
    [
        ("date_of_birth", "31/01/1990"),  # UK style is not this feed's format
        ("date_of_birth", "1990-02-31"),  # impossible date
        ("next_review_due", "2026-13-01"),
        ("support_plan_agreed_on", "yesterday"),
    ],
)
def test_bad_dates_quarantined_without_the_value(column, bad):
    raw, v = cohort([member(**{column: bad})])
    assert len(v.rows) == 0
    (reason,) = reasons(v)
    assert column in reason and "date" in reason
    assert bad not in reason
    assert "Briain" not in reason and "Siobh" not in reason
    assert_counts(raw, v)


@pytest.mark.parametrize(
    "column, bad",
    [("status", "RETIRED"), ("gender", "Q"), ("cohort_type", "MAPPA"), ("risk_level", "EXTREME"), ("nominated_by", "COUNCIL")],
)
def test_enum_outside_the_set(column, bad):
    raw, v = cohort([member(**{column: bad})])
    assert len(v.rows) == 0
    (reason,) = reasons(v)
    assert column in reason
    assert ": not one of" in reason
    assert bad not in reason
    assert_counts(raw, v)


def test_enum_blank_optional_is_fine():
    _, v = cohort([member(gender="", risk_level="", nominated_by="")])
    assert len(v.rows) == 1 and len(v.quarantined) == 0


@pytest.mark.parametrize("status", ["ACTIVE", "DESELECTED"])
def test_selected_on_required_for_active_and_deselected(status):
    raw, v = cohort([member(status=status, selected_on="", deselected_on="2026-06-01" if status == "DESELECTED" else "")])
    assert len(v.rows) == 0
    assert any("selected_on" in r and "required" in r for r in reasons(v))
    assert_counts(raw, v)


def test_nominated_needs_no_selected_on():
    _, v = cohort([member(status="NOMINATED", selected_on="")])
    assert len(v.rows) == 1 and len(v.quarantined) == 0


def test_deselected_on_required_when_deselected():
    _, v = cohort([member(status="DESELECTED", deselected_on="")])
    assert len(v.rows) == 0
    (reason,) = reasons(v)
    assert "deselected_on" in reason and "required" in reason


def test_deselected_on_before_selected_on():
    raw, v = cohort(
        [
            member(status="DESELECTED", selected_on="2026-05-01", deselected_on="2026-04-30"),
            member(iom_id="LDS-000002", status="DESELECTED", selected_on="2026-05-01", deselected_on="2026-05-01"),
        ]
    )
    assert list(v.rows["iom_id"]) == ["LDS-000002"]  # same day is fine
    (reason,) = reasons(v)
    assert "deselected_on" in reason and "selected_on" in reason and "before" in reason
    assert "2026-04-30" not in reason and "2026-05-01" not in reason
    assert_counts(raw, v)


def test_selected_on_after_snapshot_date():
    raw, v = cohort(
        [
            member(selected_on="2026-11-21"),  # the day after the snapshot
            member(iom_id="LDS-000002", selected_on="2026-11-20"),  # the snapshot's own date
        ]
    )
    assert list(v.rows["iom_id"]) == ["LDS-000002"]
    (reason,) = reasons(v)
    assert "selected_on" in reason and "after" in reason
    assert "2026-11-21" not in reason
    assert_counts(raw, v)


def test_duplicate_iom_id_quarantines_both_rows():
    raw, v = cohort(
        [
            member(iom_id="LDS-000001"),
            member(iom_id="LDS-000002", surname="Ng-Smith", forenames="Zoë"),
            member(iom_id="lds-000001 ", surname="O'Neill", forenames="Liam"),  # same id once trimmed/upper-cased
        ]
    )
    assert list(v.rows["iom_id"]) == ["LDS-000002"]
    assert list(v.quarantined[LOC]) == ["2", "4"]
    for reason in reasons(v):
        assert "iom_id" in reason and "unique" in reason
        assert "LDS-000001" not in reason
    assert_counts(raw, v)


def test_several_failures_on_one_row_quarantine_it_once():
    raw, v = cohort([member(surname="", status="RETIRED", date_of_birth="1990-02-31")])
    assert len(v.quarantined) == 1
    (reason,) = reasons(v)
    assert "surname" in reason and "status" in reason and "date_of_birth" in reason
    assert_counts(raw, v)


def test_unknown_extra_column_is_drift_and_rows_still_load():
    columns = [*COHORT_COLUMNS, "favourite_colour"]
    raw, v = cohort([member(favourite_colour="blue")], columns=columns)
    assert v.drift == ["favourite_colour"]
    assert len(v.rows) == 1 and len(v.quarantined) == 0
    assert "favourite_colour" not in v.rows.columns


def test_missing_optional_column_is_fine():
    columns = [c for c in COHORT_COLUMNS if c != "risk_level"]
    _, v = cohort([member()], columns=columns)
    assert len(v.rows) == 1
    assert v.rows.iloc[0]["risk_level"] is None


def test_missing_required_column_rejects_file():
    columns = [c for c in COHORT_COLUMNS if c != "managing_division"]
    raw = read_table(COHORT, "cohort_20261120.csv", csv_bytes(columns, [member(), member(iom_id="LDS-000002")]))
    with pytest.raises(FileRejected) as exc:
        validate(COHORT, raw, SNAPSHOT)
    assert "managing_division" in exc.value.reason
    assert exc.value.rows == 2


def test_invalid_identifier_is_null_with_finding_but_row_loads():
    raw, v = cohort(
        [
            member(pnc_id="2012/0394773J", noms_number="A1234B"),  # wrong check letter (H), short NOMS
            member(iom_id="LDS-000002", pnc_id="", noms_number=""),  # blank: no finding
        ]
    )
    assert len(v.rows) == 2 and len(v.quarantined) == 0
    first = v.rows.iloc[0]
    assert first["pnc_id"] is None and first["noms_number"] is None
    assert first["crn"] == "X123456"  # the valid ones are kept
    findings = v.findings.sort_values("column")
    assert list(findings["column"]) == ["noms_number", "pnc_id"]
    assert list(findings[LOC]) == ["2", "2"]
    for rule in findings["rule"]:
        assert "2012/0394773J" not in rule and "A1234B" not in rule
    assert_counts(raw, v)


def test_all_rows_bad_still_counts():
    raw = read_table(
        COHORT,
        "cohort_20261120.csv",
        csv_bytes(COHORT_COLUMNS, [member(surname=""), member(status="X")]) + b"ragged,row\n",
    )
    v = validate(COHORT, raw, SNAPSHOT)
    assert len(v.rows) == 0
    assert len(v.quarantined) == 3
    assert list(v.quarantined[ROW]) == [1, 2, 3]
    assert_counts(raw, v)


# --------------------------------------------------------------------------- attendance

ATT_COLUMNS = ATTENDANCE.column_names


def att(**over) -> dict:
    row = {
        "agency": "PROBATION",
        "record_id": "R1",
        "record_type": "APPOINTMENT",
        "iom_id": "LDS-000001",
        "agency_ref": "X123456",
        "pnc_id": "",
        "surname": "Ng-Smith",
        "forenames": "Zoë",
        "date_of_birth": "1995-03-07",
        "event_datetime": "2026-11-19T10:30",
        "appointment_type": "Supervision",
        "outcome": "ATTENDED",
        "status": "",
    }
    row.update(over)
    return row


def attendance(rows, file_date=date(2026, 11, 19), agency="PROBATION"):
    return run(ATTENDANCE, f"attendance_{agency}_20261119.csv", ATT_COLUMNS, rows, file_date)


def test_appointment_without_outcome_and_status_change_without_status():
    raw, v = attendance(
        [
            att(record_id="R1", outcome=""),
            att(record_id="R2", record_type="STATUS_CHANGE", outcome="", status=""),
            att(record_id="R3", record_type="STATUS_CHANGE", outcome="", status="HOUSED"),
            att(record_id="R4"),
        ]
    )
    assert list(v.rows["record_id"]) == ["R3", "R4"]
    assert list(v.quarantined[LOC]) == ["2", "3"]
    r1, r2 = reasons(v)
    assert "outcome" in r1 and "APPOINTMENT" in r1
    assert "status" in r2 and "STATUS_CHANGE" in r2
    assert_counts(raw, v)


def test_probation_agency_ref_not_a_crn_is_a_finding():
    raw, v = attendance(
        [
            att(record_id="R1", agency_ref="NOT-A-CRN"),
            att(record_id="R2", agency_ref="x123456"),  # valid once upper-cased
            att(record_id="R3", agency="DIP", agency_ref="NOT-A-CRN"),  # not an identity for DIP
            att(record_id="R4", agency="YOS", agency_ref="YOS/77"),  # any text is a YOS ref
        ]
    )
    assert len(v.rows) == 4 and len(v.quarantined) == 0
    assert list(v.findings["column"]) == ["agency_ref"]
    assert list(v.findings[LOC]) == ["2"]
    assert "NOT-A-CRN" not in v.findings.iloc[0]["rule"]
    assert_counts(raw, v)


@pytest.mark.parametrize(
    "stamp, expected_date, hour",
    [
        ("2026-03-29T01:30", date(2026, 3, 29), 1),  # skipped spring hour in Europe/London
        ("2026-10-25T01:30", date(2026, 10, 25), 1),  # repeated autumn hour
        ("2026-10-25T01:30:00", date(2026, 10, 25), 1),
        ("2026-03-29T00:30", date(2026, 3, 29), 0),
        ("2026-11-19T23:59", date(2026, 11, 19), 23),
    ],
)
def test_dst_edge_timestamps_load_with_local_date_as_written(stamp, expected_date, hour):
    raw, v = attendance([att(event_datetime=stamp)])
    assert len(v.rows) == 1 and len(v.quarantined) == 0
    row = v.rows.iloc[0]
    assert row[LOCAL_DATE] == expected_date
    assert pd.Timestamp(row["event_datetime"]).hour == hour
    assert pd.Timestamp(row["event_datetime"]).minute == int(stamp[14:16])
    assert_counts(raw, v)


def test_dst_both_hours_in_one_file():
    raw, v = attendance(
        [att(record_id="R1", event_datetime="2026-03-29T01:30"), att(record_id="R2", event_datetime="2026-10-25T01:30")]
    )
    assert list(v.rows[LOCAL_DATE]) == [date(2026, 3, 29), date(2026, 10, 25)]
    assert len(v.quarantined) == 0


def test_event_datetime_may_be_a_bare_date():
    raw, v = attendance([att(record_type="STATUS_CHANGE", outcome="", status="TREATMENT_STARTED", event_datetime="2026-11-18")])
    assert len(v.rows) == 1 and len(v.quarantined) == 0
    assert v.rows.iloc[0][LOCAL_DATE] == date(2026, 11, 18)


@pytest.mark.parametrize("bad", ["2026-11-19 10:30:00Z", "19/11/2026 10:30", "2026-02-30T10:00", "2026-11-19T25:00"])
def test_bad_event_datetime_quarantined(bad):
    raw, v = attendance([att(event_datetime=bad)])
    assert len(v.rows) == 0
    (reason,) = reasons(v)
    assert "event_datetime" in reason and "timestamp" in reason
    assert bad not in reason


# --------------------------------------------------------------------------- arrests (cp1252, UK dates)

ARR_COLUMNS = ARRESTS.column_names


def arrest(**over) -> dict:
    row = {
        "custody_ref": "CUS-1",
        "niche_nominal_id": "N100",
        "pnc_id": "12/394773h",  # short form, lower case; 12 <= 26 -> 2012; letter H
        "surname": "Ó Briain",
        "forenames": "Siobhán",
        "date_of_birth": "31/01/1990",
        "arrest_datetime": "19/11/2026 14:05",
        "arrest_division": "CH",
        "custody_suite": "Elland Road",
        "offence_code": "TH68010",
        "offence_description": "Theft from a shop",
        "outcome": "",
        "outcome_datetime": "",
        "next_court_date": "",
    }
    row.update(over)
    return row


def arrests(rows):
    return run(ARRESTS, "niche_arrests_20261120_063000.csv", ARR_COLUMNS, rows, date(2026, 11, 20), encoding="cp1252")


def test_arrests_uk_dates_and_cp1252_names():
    raw, v = arrests([arrest(), arrest(custody_ref="CUS-2", outcome="charged", arrest_datetime="29/03/2026 01:30")])
    assert len(v.rows) == 2 and len(v.quarantined) == 0
    first, second = v.rows.iloc[0], v.rows.iloc[1]
    assert first["surname"] == "Ó Briain" and first["forenames"] == "Siobhán"
    assert first["date_of_birth"] == date(1990, 1, 31)
    assert pd.Timestamp(first["arrest_datetime"]) == pd.Timestamp(datetime(2026, 11, 19, 14, 5))
    assert first[LOCAL_DATE] == date(2026, 11, 19)
    assert first["pnc_id"] == "2012/0394773H"
    assert first["outcome"] is None  # pending
    assert second["outcome"] == "CHARGED"
    assert second[LOCAL_DATE] == date(2026, 3, 29)
    assert_counts(raw, v)


@pytest.mark.parametrize(
    "column, bad",
    [
        ("date_of_birth", "1990-01-31"),  # ISO is not this feed's date format
        ("date_of_birth", "31/02/1990"),  # impossible
        ("arrest_datetime", "2026-11-19T14:05"),
        ("arrest_datetime", "31/11/2026 14:05"),
        ("outcome", "ARRESTED"),
    ],
)
def test_arrests_bad_values(column, bad):
    raw, v = arrests([arrest(**{column: bad}), arrest(custody_ref="CUS-2")])
    assert list(v.rows["custody_ref"]) == ["CUS-2"]
    (reason,) = reasons(v)
    assert column in reason
    assert bad not in reason
    assert_counts(raw, v)


# --------------------------------------------------------------------------- court results


def test_court_results_validate_and_keep_counts():
    xml = (
        '<CourtResults court_code="B13HT" hearing_date="2026-11-19">'
        '<Case urn="U1">'
        '<Defendant surname="Ng-Smith" forenames="Zoë" remand_status="CB" pnc_id="2012/0394773J">'
        '<Offence seq="1" title="Theft"/></Defendant>'
        '<Defendant surname="" forenames="Liam"><Offence seq="1" title="Theft"/></Defendant>'
        '<Defendant surname="Khan" forenames="Ali" remand_status="ZZ"><Offence seq="1" title="Theft"/></Defendant>'
        '<Defendant surname="Smith" forenames="Rob"/>'
        "</Case></CourtResults>"
    ).encode()
    raw = read_table(COURT_RESULTS, "court_results_B13HT_20261119.xml", xml)
    v = validate(COURT_RESULTS, raw, date(2026, 11, 19))
    assert list(v.rows["surname"]) == ["Ng-Smith"]
    assert v.rows.iloc[0][LOCAL_DATE] == date(2026, 11, 19)
    assert v.rows.iloc[0]["pnc_id"] is None
    assert list(v.findings["column"]) == ["pnc_id"]
    locs = list(v.quarantined[LOC])
    assert locs == [
        "/CourtResults/Case[1]/Defendant[2]/Offence[1]",
        "/CourtResults/Case[1]/Defendant[3]/Offence[1]",
        "/CourtResults/Case[1]/Defendant[4]",
    ]
    assert "surname" in reasons(v)[0]
    assert "remand_status" in reasons(v)[1] and "ZZ" not in reasons(v)[1]
    assert_counts(raw, v)
    assert v.rows_in == 4


# --------------------------------------------------------------------------- bad input (issue 8)


def test_invalid_required_identifier_quarantines_the_row_instead_of_failing_the_load():
    raw, v = cohort([member(), member(iom_id="LDS-12")])
    assert len(v.rows) == 1 and v.findings.empty
    assert reasons(v) == ["iom_id: not a valid iom_id, and it is required"]
    assert_counts(raw, v)


def test_control_characters_quarantine_the_row_but_newlines_in_a_field_do_not():
    raw, v = cohort([member(surname="Ng\x00Smith"), member(iom_id="LDS-000002", deselection_reason="two\nlines\ttab")])
    assert list(v.quarantined[LOC]) == ["2"]
    assert reasons(v) == ["surname: contains a control character"]
    assert list(v.rows["deselection_reason"]) == ["two\nlines\ttab"]
    assert_counts(raw, v)


def test_born_after_the_file_date_is_quarantined_but_1899_loads():
    raw, v = cohort([member(date_of_birth="2026-11-21"), member(iom_id="LDS-000002", date_of_birth="1899-12-31")])
    assert reasons(v) == ["date_of_birth is after the file's date"]
    assert [str(d) for d in v.rows["date_of_birth"]] == ["1899-12-31"]
    assert_counts(raw, v)
