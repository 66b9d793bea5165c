"""Linking records to cohort members (CONTRACT section 4)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipelines.feeds import ATTENDANCE
from pipelines.identities import derived_identities
from pipelines.linking import LINKED_BY_DETAILS, LINKED_BY_ID, NOT_LINKED, REVIEW, link_records

D = date(2026, 11, 20)

ID_COLUMNS = ["iom_id", "pnc_id", "cro_number", "niche_nominal_id", "noms_number", "crn", "yos_ref", "postcode"]


def members(*rows: dict) -> pd.DataFrame:
    full = [{**dict.fromkeys(ID_COLUMNS), "status": "ACTIVE", **r} for r in rows]
    return pd.DataFrame(full, columns=[*ID_COLUMNS, "surname", "forenames", "date_of_birth", "status"])


# Identifiers are canonical here, as the register is stored after validation.
A = {
    "iom_id": "LDS-000001", "surname": "Ó Briain", "forenames": "Siobhán", "date_of_birth": date(1990, 1, 31),
    "pnc_id": "2012/0394773H",  # 120394773 mod 23 = 8 -> H
    "cro_number": "029906/12J",  # 12029906 mod 23 = 9 -> J
    "niche_nominal_id": "N100", "noms_number": "A1234BC", "crn": "X123456", "yos_ref": "Y-77", "postcode": "LS1 1AB",
}  # fmt: skip
B = {
    "iom_id": "LDS-000002", "surname": "Ng-Smith", "forenames": "Zoë", "date_of_birth": date(1995, 3, 7),
    "pnc_id": "1998/0012345J",  # 980012345 mod 23 = 9 -> J
    "niche_nominal_id": "N200", "noms_number": "B2345CD", "crn": "X234567", "postcode": "LS6 2QE",
}  # fmt: skip
C = {
    "iom_id": "LDS-000003",
    "surname": "O'Neill",
    "forenames": "Liam",
    "date_of_birth": date(1988, 11, 2),
    "crn": "X345678",
    "postcode": "LS9 8AA",
}
DM = {
    "iom_id": "LDS-000004",
    "surname": "Smith",
    "forenames": "Robert",
    "date_of_birth": date(1985, 7, 12),
    "postcode": "LS8 1AA",
}
# Two members with the same name and date of birth, told apart only by postcode.
E = {
    "iom_id": "LDS-000005",
    "surname": "Khan",
    "forenames": "Ali",
    "date_of_birth": date(1992, 5, 20),
    "postcode": "LS7 1AA",
    "crn": "X555555",
}
F = {"iom_id": "LDS-000006", "surname": "Khan", "forenames": "Ali", "date_of_birth": date(1992, 5, 20), "postcode": "LS11 5AA"}

REGISTER = members(A, B, C, DM, E, F)


def records(*rows: dict, index=None) -> pd.DataFrame:
    cols = ["surname", "forenames", "date_of_birth", *ID_COLUMNS]
    return pd.DataFrame([{**dict.fromkeys(cols), **r} for r in rows], columns=cols, index=index)


def link_one(register=REGISTER, **record) -> pd.Series:
    out = link_records(records(record), register)
    assert len(out) == 1
    return out.iloc[0]


def candidates(row) -> set[str]:
    return set(filter(None, row["candidates"].split(";")))


STRANGER = {"surname": "Doe", "forenames": "Jane", "date_of_birth": date(2000, 1, 1)}


# --------------------------------------------------------------------------- rule 1


@pytest.mark.parametrize(
    "column, value, expected",
    [
        ("iom_id", "LDS-000002", "LDS-000002"),
        ("niche_nominal_id", "N100", "LDS-000001"),
        ("noms_number", "B2345CD", "LDS-000002"),
        ("crn", "X345678", "LDS-000003"),
        ("yos_ref", "Y-77", "LDS-000001"),
        ("pnc_id", "1998/0012345J", "LDS-000002"),
        ("cro_number", "029906/12J", "LDS-000001"),
    ],
)
def test_each_strong_identifier_links(column, value, expected):
    # Personal details that fit nobody: the identifier alone links.
    row = link_one(**STRANGER, **{column: value})
    assert row["method"] == LINKED_BY_ID
    assert row["iom_id"] == expected


def test_identifier_links_even_without_date_of_birth():
    row = link_one(surname="Someone", forenames="Else", date_of_birth=None, crn="X123456")
    assert (row["method"], row["iom_id"]) == (LINKED_BY_ID, "LDS-000001")


def test_identifier_and_matching_details_link():
    row = link_one(**{k: A[k] for k in ("surname", "forenames", "date_of_birth")}, pnc_id="2012/0394773H")
    assert (row["method"], row["iom_id"]) == (LINKED_BY_ID, "LDS-000001")


def test_identifier_held_by_two_members_is_not_an_identity():
    register = members({**A, "niche_nominal_id": "N999"}, {**B, "niche_nominal_id": "N999"}, C)
    alone = link_one(register, **STRANGER, niche_nominal_id="N999")
    assert alone["iom_id"] is None
    assert alone["method"] != LINKED_BY_ID
    # With A's personal details the record links to A on those, not on the shared identifier.
    with_details = link_one(
        register, surname="Ó Briain", forenames="Siobhán", date_of_birth=date(1990, 1, 31), niche_nominal_id="N999"
    )
    assert (with_details["method"], with_details["iom_id"]) == (LINKED_BY_DETAILS, "LDS-000001")


def test_identifier_no_member_holds_is_ignored():
    row = link_one(**STRANGER, crn="X999999")
    assert (row["method"], row["iom_id"]) == (NOT_LINKED, None)


# --------------------------------------------------------------------------- rule 2 (exact)


@pytest.mark.parametrize(
    "surname, forenames, expected",
    [
        ("Ó Briain", "Siobhán", "LDS-000001"),
        ("O BRIAIN", "SIOBHAN", "LDS-000001"),  # case and accents
        ("ó briain", "siobhán", "LDS-000001"),
        ("Ng Smith", "Zoe", "LDS-000002"),  # hyphen as space, no diaeresis
        ("NG-SMITH", "ZOË", "LDS-000002"),
        ("ONeill", "Liam", "LDS-000003"),  # apostrophe dropped
        ("O’Neill", "Liam", "LDS-000003"),  # typographic apostrophe
        ("O'NEILL", "  liam ", "LDS-000003"),
        ("O Neill", "Liam", "LDS-000003"),  # apostrophe written as a space
    ],
)
def test_exact_normalised_name_and_dob_links(surname, forenames, expected):
    dob = {m["iom_id"]: m["date_of_birth"] for m in (A, B, C)}[expected]
    row = link_one(surname=surname, forenames=forenames, date_of_birth=dob)
    assert (row["method"], row["iom_id"]) == (LINKED_BY_DETAILS, expected)


def test_date_of_birth_as_text_links():
    row = link_one(surname="Ng-Smith", forenames="Zoë", date_of_birth="1995-03-07")
    assert (row["method"], row["iom_id"]) == (LINKED_BY_DETAILS, "LDS-000002")


def test_no_match_is_none():
    row = link_one(**STRANGER)
    assert row["method"] == NOT_LINKED
    assert row["iom_id"] is None
    assert row["candidates"] == ""


# --------------------------------------------------------------------------- rule 3 (conflicts)


def test_two_identifiers_pointing_at_different_members_go_to_review():
    row = link_one(**STRANGER, pnc_id="2012/0394773H", noms_number="B2345CD")  # A's PNC, B's NOMS
    assert row["method"] == REVIEW
    assert row["iom_id"] is None
    assert candidates(row) == {"LDS-000001", "LDS-000002"}
    assert row["candidates"] == "LDS-000001;LDS-000002"
    assert "identifiers" in row["reason"]


def test_identifier_against_personal_details_of_another_member_goes_to_review():
    row = link_one(surname="Ng-Smith", forenames="Zoë", date_of_birth=date(1995, 3, 7), crn="X123456")  # B's details, A's CRN
    assert row["method"] == REVIEW
    assert row["iom_id"] is None
    assert candidates(row) == {"LDS-000001", "LDS-000002"}


def test_identifier_against_details_fitting_two_other_members_goes_to_review():
    # A's CRN, but the name and date of birth fit E and F (not A): identifier and details disagree.
    row = link_one(surname="Khan", forenames="Ali", date_of_birth=date(1992, 5, 20), crn="X123456")
    assert row["method"] == REVIEW
    assert row["iom_id"] is None
    assert "LDS-000001" in candidates(row)


def test_identifier_settles_details_that_fit_two_members():
    # E's CRN, details fit E and F: the identifier agrees with one of them.
    row = link_one(surname="Khan", forenames="Ali", date_of_birth=date(1992, 5, 20), crn="X555555")
    assert (row["method"], row["iom_id"]) == (LINKED_BY_ID, "LDS-000005")


def test_details_fitting_two_members_go_to_review():
    row = link_one(surname="Khan", forenames="Ali", date_of_birth=date(1992, 5, 20))
    assert row["method"] == REVIEW
    assert row["iom_id"] is None
    assert candidates(row) == {"LDS-000005", "LDS-000006"}


def test_postcode_settles_details_fitting_two_members():
    row = link_one(surname="Khan", forenames="Ali", date_of_birth=date(1992, 5, 20), postcode="LS11 5AA")
    assert (row["method"], row["iom_id"]) == (LINKED_BY_DETAILS, "LDS-000006")


def test_postcode_fitting_neither_leaves_it_in_review():
    row = link_one(surname="Khan", forenames="Ali", date_of_birth=date(1992, 5, 20), postcode="LS2 7UE")
    assert row["method"] == REVIEW
    assert candidates(row) == {"LDS-000005", "LDS-000006"}


# --------------------------------------------------------------------------- near matches: review, never linked


@pytest.mark.parametrize(
    "record, expected, why",
    [
        # Day and month transposed: B was born 7 March 1995; the record says 3 July.
        ({"surname": "Ng-Smith", "forenames": "Zoë", "date_of_birth": date(1995, 7, 3)}, "LDS-000002", "transposed"),
        # A different (nickname) forename, same surname and date of birth.
        ({"surname": "Smith", "forenames": "Bob", "date_of_birth": date(1985, 7, 12)}, "LDS-000004", "surname"),
        # Forenames and surname swapped.
        ({"surname": "Liam", "forenames": "O'Neill", "date_of_birth": date(1988, 11, 2)}, "LDS-000003", "swapped"),
        # No date of birth at all.
        ({"surname": "O Briain", "forenames": "Siobhan", "date_of_birth": None}, "LDS-000001", "date of birth"),
    ],
)
def test_near_matches_go_to_review_never_linked(record, expected, why):
    row = link_one(**record)
    assert row["method"] == REVIEW
    assert row["iom_id"] is None
    assert candidates(row) == {expected}
    assert why in row["reason"]


def test_dob_off_by_a_year_and_other_name_is_not_a_candidate():
    row = link_one(surname="Smyth", forenames="Roberta", date_of_birth=date(1986, 7, 12))
    assert row["method"] == NOT_LINKED


# --------------------------------------------------------------------------- many records at once


def test_batch_gives_the_same_answers_as_one_by_one_and_keeps_the_index():
    rows = [
        {**STRANGER, "crn": "X345678"},  # C by identifier
        {"surname": "O BRIAIN", "forenames": "SIOBHAN", "date_of_birth": date(1990, 1, 31)},  # A by details
        {"surname": "Khan", "forenames": "Ali", "date_of_birth": date(1992, 5, 20)},  # review
        STRANGER,  # none
        {"surname": "Ng-Smith", "forenames": "Zoë", "date_of_birth": date(1995, 7, 3)},  # review
        {**STRANGER, "pnc_id": "2012/0394773H", "noms_number": "B2345CD"},  # review
    ]
    index = [40, 10, 30, 20, 60, 50]
    batch = link_records(records(*rows, index=index), REGISTER)
    assert list(batch.index) == index
    assert list(batch["method"]) == [LINKED_BY_ID, LINKED_BY_DETAILS, REVIEW, NOT_LINKED, REVIEW, REVIEW]
    assert list(batch["iom_id"]) == ["LDS-000003", "LDS-000001", None, None, None, None]
    for i, row in zip(index, rows, strict=True):
        single = link_one(**row)
        assert batch.loc[i, "method"] == single["method"]
        assert batch.loc[i, "candidates"] == single["candidates"]


def test_empty_records_or_register():
    assert len(link_records(records(), REGISTER)) == 0
    out = link_records(records(STRANGER), members())
    assert list(out["method"]) == [NOT_LINKED]


# --------------------------------------------------------------------------- attendance agency_ref


def attendance_records(*rows: dict) -> pd.DataFrame:
    cols = ["agency", "agency_ref", "iom_id", "pnc_id", "surname", "forenames", "date_of_birth"]
    frame = pd.DataFrame([{**dict.fromkeys(cols), **r} for r in rows], columns=cols)
    with_ids, _ = derived_identities(ATTENDANCE, frame, D)  # as the pipeline does before linking
    return with_ids


@pytest.mark.parametrize(
    "agency, agency_ref, expected",
    [
        ("PROBATION", "X123456", "LDS-000001"),  # agency_ref is A's CRN
        ("PROBATION", "x234567", "LDS-000002"),  # trimmed/upper-cased first
        ("YOS", "Y-77", "LDS-000001"),  # agency_ref is A's yos_ref
        ("DIP", "X123456", None),  # not an identity for DIP
        ("HOUSING", "Y-77", None),
        ("ETE", "X345678", None),
        ("YOS", "X234567", None),  # B's CRN is not a yos_ref
        ("PROBATION", "Y-77", None),  # A's yos_ref is not a CRN
    ],
)
def test_attendance_agency_ref_is_crn_for_probation_and_yos_ref_for_yos(agency, agency_ref, expected):
    recs = attendance_records({"agency": agency, "agency_ref": agency_ref, **STRANGER})
    out = link_records(recs, REGISTER).iloc[0]
    assert out["iom_id"] == expected
    assert out["method"] == (LINKED_BY_ID if expected else NOT_LINKED)


def test_attendance_invalid_probation_agency_ref_is_flagged_and_not_an_identity():
    frame = pd.DataFrame(
        [
            {"agency": "PROBATION", "agency_ref": "NOT-A-CRN"},
            {"agency": "DIP", "agency_ref": "NOT-A-CRN"},
            {"agency": "YOS", "agency_ref": "anything"},
        ]
    )
    out, invalid = derived_identities(ATTENDANCE, frame, D)
    assert list(invalid) == [True, False, False]
    assert [None if pd.isna(v) else v for v in out["crn"]] == [None, None, None]
    assert [None if pd.isna(v) else v for v in out["yos_ref"]] == [None, None, "ANYTHING"]


def test_attendance_iom_id_outranks_nothing_but_agrees():
    # iom_id and PROBATION agency_ref both say A: linked by identifier.
    recs = attendance_records({"agency": "PROBATION", "agency_ref": "X123456", "iom_id": "LDS-000001", **STRANGER})
    out = link_records(recs, REGISTER).iloc[0]
    assert (out["method"], out["iom_id"]) == (LINKED_BY_ID, "LDS-000001")
    # iom_id says B, the CRN says A: review.
    recs = attendance_records({"agency": "PROBATION", "agency_ref": "X123456", "iom_id": "LDS-000002", **STRANGER})
    out = link_records(recs, REGISTER).iloc[0]
    assert out["method"] == REVIEW
    assert candidates(out) == {"LDS-000001", "LDS-000002"}
