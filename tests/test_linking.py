"""Linking records to cohort members (CONTRACT section 4) with the committed model.

The register is a few named members amid a seeded crowd of ordinary ones, so the term
frequencies (Smith is common, Thistlethwaite is not) are those of a real-sized register.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

import pandas as pd
import pytest

from pipelines.feeds import ATTENDANCE
from pipelines.identities import derived_identities
from pipelines.linkage.model import load_settings
from pipelines.linking import (
    ACCEPT,
    LINKED_BY_DECISION,
    LINKED_BY_DETAILS,
    LINKED_BY_ID,
    NOT_LINKED,
    REJECT,
    REVIEW,
    link_records,
)
from pipelines.settings import PROJECT_ROOT, load_hub_config
from pipelines.synth.names import draw_name

D = date(2026, 11, 20)
THRESHOLDS = load_hub_config(str(PROJECT_ROOT / "config" / "hub.yaml")).linking
ID_COLUMNS = ["iom_id", "pnc_id", "cro_number", "niche_nominal_id", "noms_number", "crn", "yos_ref", "postcode"]

# Identifiers are canonical here, as the register is stored after validation.
A = {
    "iom_id": "LDS-000001", "surname": "Ó Briain", "forenames": "Siobhán", "date_of_birth": date(1990, 1, 31),
    "pnc_id": "2012/0394773H", "cro_number": "029906/12J", "niche_nominal_id": "N100", "noms_number": "A1234BC",
    "crn": "X123456", "yos_ref": "Y-77", "postcode": "LS1 1AB",
}  # fmt: skip
B = {
    "iom_id": "LDS-000002", "surname": "Ng-Smith", "forenames": "Zoë", "date_of_birth": date(1995, 3, 7),
    "pnc_id": "1998/0012345J", "niche_nominal_id": "N200", "noms_number": "B2345CD", "crn": "X234567", "postcode": "LS6 2QE",
}  # fmt: skip
C = {"iom_id": "LDS-000003", "surname": "O'Neill", "forenames": "Liam", "date_of_birth": date(1988, 11, 2), "crn": "X345678",
     "postcode": "LS9 8AA"}  # fmt: skip
W = {"iom_id": "LDS-000004", "surname": "Thistlethwaite", "forenames": "William James", "date_of_birth": date(1985, 7, 12),
     "postcode": "LS8 1AA"}  # fmt: skip
# Two members with the same name and date of birth.
E = {"iom_id": "LDS-000005", "surname": "Khan", "forenames": "Ali", "date_of_birth": date(1992, 5, 20), "postcode": "LS7 1AA",
     "crn": "X555555"}  # fmt: skip
F = {"iom_id": "LDS-000006", "surname": "Khan", "forenames": "Ali", "date_of_birth": date(1992, 5, 20), "postcode": "LS11 5AA"}
# A twin of nobody in the crowd: Kowalczyk twins, only Marek is a member.
T = {"iom_id": "LDS-000007", "surname": "Kowalczyk", "forenames": "Marek", "date_of_birth": date(1999, 9, 21),
     "postcode": "LS12 3AB"}  # fmt: skip
S = {"iom_id": "LDS-000008", "surname": "Smith", "forenames": "John", "date_of_birth": date(1980, 2, 14), "postcode": "LS2 7UE"}
NAMED = (A, B, C, W, E, F, T, S)


def crowd(n: int = 500, seed: int = 5) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        surname, forenames = draw_name(rng, rng.choice("MF"))
        dob = date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 45))
        out.append({"iom_id": f"LDS-{100000 + i:06d}", "surname": surname, "forenames": forenames, "date_of_birth": dob,
                    "postcode": f"LS{rng.randrange(1, 29)} {rng.randrange(1, 10)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}"})  # fmt: skip
    return out


def members(*rows: dict) -> pd.DataFrame:
    full = [{**dict.fromkeys(ID_COLUMNS), "status": "ACTIVE", **r} for r in rows]
    return pd.DataFrame(full, columns=[*ID_COLUMNS, "surname", "forenames", "date_of_birth", "status"])


REGISTER = members(*NAMED, *crowd())


def records(*rows: dict, index=None) -> pd.DataFrame:
    cols = ["surname", "forenames", "date_of_birth", *ID_COLUMNS]
    return pd.DataFrame([{**dict.fromkeys(cols), **r} for r in rows], columns=cols, index=index)


def link(*rows: dict, register=REGISTER, decisions=None, index=None):
    return link_records(records(*rows, index=index), register, THRESHOLDS, decisions)


def link_one(register=REGISTER, decisions=None, **record) -> pd.Series:
    result = link(record, register=register, decisions=decisions)
    assert len(result.links) == 1
    row = result.links.iloc[0].copy()
    row["candidates"] = set(result.candidates["iom_id"])
    return row


def details(member: dict, **changes) -> dict:
    return {**{k: member[k] for k in ("surname", "forenames", "date_of_birth")}, **changes}


STRANGER = {"surname": "Doe", "forenames": "Jane", "date_of_birth": date(2000, 1, 1)}


@pytest.fixture(scope="module")
def batch(request: pytest.FixtureRequest):
    """Every parametrized case of this module linked in one call (the model's per-call
    cost is fixed); each test then reads its own record's outcome."""
    cases = []
    for item in request.session.items:
        if item.module is request.module and "batch" in item.fixturenames and hasattr(item, "callspec"):
            cases.append(_case_record(item.callspec.params))
    keys = [repr(sorted(c.items())) for c in cases]
    unique = dict(zip(keys, cases, strict=True))
    result = link(*unique.values(), index=list(unique))

    def outcome(record: dict) -> pd.Series:
        key = repr(sorted(record.items()))
        row = result.links.loc[key].copy()
        row["candidates"] = set(result.candidates.loc[result.candidates["rec"] == key, "iom_id"])
        return row

    return outcome


def _case_record(params: dict) -> dict:
    if "record" in params:
        return params["record"]
    if "column" in params:
        return {**STRANGER, params["column"]: params["value"]}
    return {"surname": params["surname"], "forenames": params["forenames"], "date_of_birth": params["expected"]["date_of_birth"]}


def test_the_committed_model_was_trained_for_this_declaration():
    model = load_settings()  # raises if model.json and pipelines/linkage/model.py disagree
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if not level.get("is_null_level"):
                assert 0 < level["m_probability"] <= 1 and 0 < level["u_probability"] <= 1


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
def test_each_strong_identifier_links(batch, column, value, expected):
    row = batch({**STRANGER, column: value})  # details that fit nobody: the identifier alone links
    assert (row["method"], row["iom_id"]) == (LINKED_BY_ID, expected)


def test_identifier_links_even_without_date_of_birth():
    row = link_one(surname="Someone", forenames="Else", date_of_birth=None, crn="X123456")
    assert (row["method"], row["iom_id"]) == (LINKED_BY_ID, "LDS-000001")


def test_identifier_held_by_two_members_is_not_an_identity():
    register = members({**A, "niche_nominal_id": "N999"}, {**B, "niche_nominal_id": "N999"}, C, *crowd())
    alone = link_one(register, **STRANGER, niche_nominal_id="N999")
    assert alone["iom_id"] is None and alone["method"] != LINKED_BY_ID
    with_details = link_one(register, **details(A), niche_nominal_id="N999")
    assert (with_details["method"], with_details["iom_id"]) == (LINKED_BY_DETAILS, "LDS-000001")


def test_identifier_no_member_holds_is_ignored():
    row = link_one(**STRANGER, crn="X999999")
    assert (row["method"], row["iom_id"]) == (NOT_LINKED, None)


# --------------------------------------------------------------------------- rule 2: exact and near


@pytest.mark.parametrize(
    "surname, forenames, expected",
    [
        ("Ó Briain", "Siobhán", A), ("O BRIAIN", "SIOBHAN", A), ("ó briain", "siobhán", A),
        ("Ng Smith", "Zoe", B), ("NG-SMITH", "ZOË", B),
        ("ONeill", "Liam", C), ("O’Neill", "Liam", C), ("O'NEILL", "  liam ", C), ("O Neill", "Liam", C),
    ],
)  # fmt: skip
def test_case_accents_apostrophes_and_hyphens_do_not_make_another_person(batch, surname, forenames, expected):
    row = batch({"surname": surname, "forenames": forenames, "date_of_birth": expected["date_of_birth"]})
    assert (row["method"], row["iom_id"]) == (LINKED_BY_DETAILS, expected["iom_id"])


@pytest.mark.parametrize(
    "variation, record, member",
    [
        ("spelling slip in the surname", details(W, surname="Thistlethwaight"), W),
        ("spelling slip in the forename", details(W, forenames="Wiliam James"), W),
        ("nickname", details(W, forenames="Bill"), W),
        ("middle name first", details(W, forenames="James William"), W),
        ("forenames and surname swapped", details(W, surname="William James", forenames="Thistlethwaite"), W),
        ("day and month of birth transposed", details(W, date_of_birth=date(1985, 12, 7)), W),
        ("one part of a double surname", details(B, surname="Smith"), B),
        ("accent dropped, apostrophe typographic", details(C, surname="O’Neill"), C),
        ("date of birth as text", details(B, date_of_birth="1995-03-07"), B),
    ],
)
def test_one_usual_variation_still_links(batch, variation, record, member):
    row = batch(record)
    assert (row["method"], row["iom_id"]) == (LINKED_BY_DETAILS, member["iom_id"]), variation
    assert row["match_weight"] >= THRESHOLDS.link_at


def test_a_stranger_is_nobody():
    row = link_one(**STRANGER)
    assert (row["method"], row["iom_id"]) == (NOT_LINKED, None)
    assert row["candidates"] == set()


# --------------------------------------------------------------------------- decoys: never linked


@pytest.mark.parametrize(
    "decoy, record",
    [
        ("twin: same surname and date of birth, another forename", details(T, forenames="Tomasz")),
        ("father: same full name and address, born 26 years earlier", {**details(W, date_of_birth=date(1959, 3, 2)), "postcode": W["postcode"]}),
        ("namesake with another date of birth", details(A, date_of_birth=date(1971, 6, 30))),
        ("a common name, another date of birth", details(S, date_of_birth=date(1991, 8, 3))),
    ],
)  # fmt: skip
def test_near_namesakes_are_never_linked(batch, decoy, record):
    row = batch(record)
    assert row["method"] in (REVIEW, NOT_LINKED), decoy
    assert row["iom_id"] is None


def test_a_changed_surname_goes_to_review_not_into_a_report():
    row = link_one(surname="Brennan", forenames="Siobhán", date_of_birth=A["date_of_birth"], postcode=A["postcode"])
    assert (row["method"], row["iom_id"]) == (REVIEW, None)
    assert "LDS-000001" in row["candidates"]


def test_common_name_without_date_of_birth_is_not_certain():
    row = link_one(surname="Smith", forenames="John", date_of_birth=None)
    assert row["iom_id"] is None


# --------------------------------------------------------------------------- rule 3 (conflicts)


def test_two_identifiers_pointing_at_different_members_go_to_review():
    row = link_one(**STRANGER, pnc_id="2012/0394773H", noms_number="B2345CD")  # A's PNC, B's NOMS
    assert (row["method"], row["iom_id"]) == (REVIEW, None)
    assert row["candidates"] == {"LDS-000001", "LDS-000002"}
    assert "identifiers" in row["reason"]


def test_identifier_against_personal_details_of_another_member_goes_to_review():
    row = link_one(**details(B), crn="X123456")  # B's details, A's CRN
    assert (row["method"], row["iom_id"]) == (REVIEW, None)
    assert row["candidates"] == {"LDS-000001", "LDS-000002"}


def test_identifier_settles_details_that_fit_two_members():
    row = link_one(**details(E), crn="X555555")  # E's CRN; the details fit E and F
    assert (row["method"], row["iom_id"]) == (LINKED_BY_ID, "LDS-000005")


def test_details_fitting_two_members_go_to_review():
    row = link_one(**details(E))
    assert (row["method"], row["iom_id"]) == (REVIEW, None)
    assert row["candidates"] == {"LDS-000005", "LDS-000006"}


def test_details_of_a_member_whose_identifier_differs_go_to_review():
    # A's details, but a valid CRN that is not A's (nobody's): two people, not one.
    row = link_one(**details(A), crn="X999999")
    assert (row["method"], row["iom_id"]) == (REVIEW, None)
    assert row["candidates"] == {"LDS-000001"}


# --------------------------------------------------------------------------- decisions


def test_an_accepted_pair_links_and_a_rejected_one_never_does():
    record = details(A, surname="Brennan")  # on review by itself
    accepted = link_one(**record, decisions=pd.DataFrame({"rec": [0], "iom_id": ["LDS-000001"], "decision": [ACCEPT]}))
    assert (accepted["method"], accepted["iom_id"]) == (LINKED_BY_DECISION, "LDS-000001")
    rejected = link_one(
        **details(W, forenames="Bill"), decisions=pd.DataFrame({"rec": [0], "iom_id": ["LDS-000004"], "decision": [REJECT]})
    )
    assert rejected["iom_id"] is None and "LDS-000004" not in rejected["candidates"]
    # Rejecting the member an identifier points at holds too.
    by_id = link_one(
        **STRANGER, crn="X345678", decisions=pd.DataFrame({"rec": [0], "iom_id": ["LDS-000003"], "decision": [REJECT]})
    )
    assert by_id["iom_id"] is None


def test_a_decision_on_someone_not_in_the_register_changes_nothing():
    row = link_one(**STRANGER, decisions=pd.DataFrame({"rec": [0], "iom_id": ["LDS-999999"], "decision": [ACCEPT]}))
    assert (row["method"], row["iom_id"]) == (NOT_LINKED, None)


# --------------------------------------------------------------------------- many records at once


def test_batch_gives_the_same_answers_as_one_by_one_and_keeps_the_index():
    rows = [
        {**STRANGER, "crn": "X345678"},  # C by identifier
        details(A, surname="O BRIAIN", forenames="SIOBHAN"),  # A by details
        details(E),  # review
        STRANGER,  # none
        details(W, forenames="Bill"),  # W by details (nickname)
        {**STRANGER, "pnc_id": "2012/0394773H", "noms_number": "B2345CD"},  # review
    ]
    index = [40, 10, 30, 20, 60, 50]
    batch = link(*rows, index=index).links
    assert list(batch.index) == index
    assert list(batch["method"]) == [LINKED_BY_ID, LINKED_BY_DETAILS, REVIEW, NOT_LINKED, LINKED_BY_DETAILS, REVIEW]
    assert list(batch["iom_id"]) == ["LDS-000003", "LDS-000001", None, None, "LDS-000004", None]
    again = link(*rows, index=index).links
    pd.testing.assert_frame_equal(batch, again)  # deterministic, weights included
    for i, row in zip(index, rows, strict=True):
        single = link_one(**row)
        assert (batch.loc[i, "method"], batch.loc[i, "iom_id"]) == (single["method"], single["iom_id"])


def test_empty_records_or_register():
    assert len(link(register=REGISTER).links) == 0
    out = link(STRANGER, register=members()).links
    assert list(out["method"]) == [NOT_LINKED]


def test_evidence_names_comparisons_and_weights_never_personal_data():
    result = link(details(A, surname="Brennan"))
    assert not result.candidates.empty
    for evidence in result.candidates["evidence"].dropna():
        parsed = json.loads(evidence)
        assert {c for c, _, _ in parsed} == {"surname", "forenames", "date_of_birth", "postcode"}
        for value in ("Brennan", "Siobh", "1990", "LS1"):
            assert value not in evidence


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
    out = link_records(recs, REGISTER, THRESHOLDS).links.iloc[0]
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


def test_attendance_iom_id_and_agency_ref_agree_or_go_to_review():
    recs = attendance_records({"agency": "PROBATION", "agency_ref": "X123456", "iom_id": "LDS-000001", **STRANGER})
    out = link_records(recs, REGISTER, THRESHOLDS).links.iloc[0]
    assert (out["method"], out["iom_id"]) == (LINKED_BY_ID, "LDS-000001")
    recs = attendance_records({"agency": "PROBATION", "agency_ref": "X123456", "iom_id": "LDS-000002", **STRANGER})
    result = link_records(recs, REGISTER, THRESHOLDS)
    assert result.links.iloc[0]["method"] == REVIEW
    assert set(result.candidates["iom_id"]) == {"LDS-000001", "LDS-000002"}


def test_training_floors_every_probability_and_keeps_each_comparison_a_distribution():
    from pipelines.linkage.training import M_FLOOR, U_FLOOR, with_floors

    model = {"comparisons": [{"comparison_levels": [
        {"is_null_level": True},
        {"m_probability": 0.98, "u_probability": 0.01},
        {"m_probability": None, "u_probability": 0.0},  # a level the data never showed
        {"m_probability": 1e-30, "u_probability": 0.99},
    ]}]}  # fmt: skip
    levels = with_floors(model)["comparisons"][0]["comparison_levels"][1:]
    for name, floor in (("m_probability", M_FLOOR), ("u_probability", U_FLOOR)):
        values = [level[name] for level in levels]
        assert abs(sum(values) - 1) < 1e-9
        assert min(values) >= floor * 0.97  # floored, then renormalised
