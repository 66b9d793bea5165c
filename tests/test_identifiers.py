"""Identifier rules (CONTRACT section 2).

Check letters are computed by hand below with the alphabet
``ZABCDEFGHJKLMNPQRTUVWXY`` (index 0 = Z, 1 = A, ... 8 = H, 9 = J, 11 = L, 20 = W, 21 = X):

- PNC 2012/0394773H: int("12" + "0394773") = 120394773 = 23 * 5234555 + 8   -> index 8  -> H
- PNC ..26/0394773W: 260394773 = 23 * 11321511 + 20                          -> index 20 -> W
- PNC ..27/0394773L: 270394773 = 23 * 11756294 + 11                          -> index 11 -> L
- PNC 1998/0012345J: 980012345 = 23 * 42609232 + 9                           -> index 9  -> J
- CRO 029906/12J:    int("12" + "029906") = 12029906 = 23 * 523039 + 9       -> index 9  -> J
- CRO 012345/85X:    85012345 = 23 * 3696188 + 21                            -> index 21 -> X
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipelines.identifiers import (
    IdKind,
    cro_check_letter,
    invalid_mask,
    normalise,
    normalise_cro,
    normalise_pnc,
    normalise_postcode,
    normalise_series,
    pnc_check_letter,
)

D2026 = date(2026, 11, 20)  # report date: two-digit year 26


# --------------------------------------------------------------------------- check letters


def test_pnc_check_letter_hand_computed():
    assert pnc_check_letter(2012, 394773) == "H"  # 120394773 mod 23 = 8 -> H
    assert pnc_check_letter(1998, 12345) == "J"  # 980012345 mod 23 = 9 -> J
    # Only the last two digits of the year count: 1912 and 2012 share the letter.
    assert pnc_check_letter(1912, 394773) == "H"


def test_cro_check_letter_hand_computed():
    assert cro_check_letter(12, 29906) == "J"  # 12029906 mod 23 = 9 -> J
    assert cro_check_letter(85, 12345) == "X"  # 85012345 mod 23 = 21 -> X


# --------------------------------------------------------------------------- PNC


@pytest.mark.parametrize(
    "given",
    [
        "2012/0394773H",  # long form, canonical already
        "2012/394773H",  # long form, serial without leading zeros
        "12/0394773H",  # short form, 12 <= 26 -> 2012
        "12/394773H",  # short form, serial without leading zeros
        "  2012/0394773h\t",  # whitespace and lower case
        " 12/394773h ",
    ],
)
def test_pnc_forms_normalise_to_long_form(given):
    assert normalise_pnc(given, D2026) == "2012/0394773H"


def test_pnc_short_form_pivot_boundary():
    # Report year 2026 -> two-digit year 26.  YY above 26 -> 19YY, else 20YY.
    assert normalise_pnc("26/0394773W", D2026) == "2026/0394773W"  # 26 is not above 26
    assert normalise_pnc("27/0394773L", D2026) == "1927/0394773L"  # 27 is above 26
    assert normalise_pnc("98/12345J", D2026) == "1998/0012345J"
    # The pivot moves with the report date, not today's date.
    assert normalise_pnc("27/0394773L", date(2027, 1, 1)) == "2027/0394773L"
    assert normalise_pnc("26/0394773W", date(2025, 12, 31)) == "1926/0394773W"


def test_pnc_long_form_never_pivots():
    assert normalise_pnc("1912/0394773H", D2026) == "1912/0394773H"
    assert normalise_pnc("1927/0394773L", D2026) == "1927/0394773L"


@pytest.mark.parametrize(
    "given",
    [
        "2012/0394773J",  # wrong check letter (H expected)
        "12/0394773G",  # wrong check letter in short form
        "2012/0394773",  # no check letter
        "2012-0394773H",  # wrong separator
        "201/0394773H",  # three-digit year
        "2012/12345678H",  # eight-digit serial
        "",
        "   ",
        None,
        float("nan"),
    ],
)
def test_pnc_invalid_is_none(given):
    assert normalise_pnc(given, D2026) is None


# --------------------------------------------------------------------------- CRO


@pytest.mark.parametrize(
    "given, expected",
    [
        ("029906/12J", "029906/12J"),
        ("29906/12J", "029906/12J"),  # serial without leading zeros
        (" 029906/12j ", "029906/12J"),
        ("12345/85X", "012345/85X"),
    ],
)
def test_cro_valid(given, expected):
    assert normalise_cro(given) == expected


@pytest.mark.parametrize("given", ["029906/12K", "029906/2012J", "029906-12J", "1234567/12J", ""])
def test_cro_invalid(given):
    assert normalise_cro(given) is None


# --------------------------------------------------------------------------- other formats


@pytest.mark.parametrize(
    "kind, given, expected",
    [
        (IdKind.NOMS_NUMBER, "A1234BC", "A1234BC"),
        (IdKind.NOMS_NUMBER, " a1234bc ", "A1234BC"),
        (IdKind.NOMS_NUMBER, "A1234B", None),
        (IdKind.NOMS_NUMBER, "A12345C", None),
        (IdKind.NOMS_NUMBER, "1234ABC", None),
        (IdKind.CRN, "X123456", "X123456"),
        (IdKind.CRN, " x123456 ", "X123456"),
        (IdKind.CRN, "X12345", None),
        (IdKind.CRN, "X1234567", None),
        (IdKind.CRN, "XX12345", None),
        (IdKind.IOM_ID, "LDS-000123", "LDS-000123"),
        (IdKind.IOM_ID, "lds-000123 ", "LDS-000123"),
        (IdKind.IOM_ID, "LDS000123", None),
        (IdKind.IOM_ID, "LDS-00123", None),
        (IdKind.IOM_ID, "LD-000123", None),
        (IdKind.NICHE_NOMINAL_ID, " n-77/a ", "N-77/A"),
        (IdKind.NICHE_NOMINAL_ID, "   ", None),
        (IdKind.YOS_REF, "yos 12", "YOS 12"),
        (IdKind.YOS_REF, "", None),
        (IdKind.PNC_ID, "12/394773h", "2012/0394773H"),
        (IdKind.CRO_NUMBER, "29906/12j", "029906/12J"),
    ],
)
def test_normalise_by_kind(kind, given, expected):
    assert normalise(kind, given, D2026) == expected


@pytest.mark.parametrize(
    "given, expected",
    [
        ("ls1 1ab", "LS1 1AB"),
        ("LS11AB", "LS1 1AB"),  # no space -> one space
        ("  ls6   2qe ", "LS6 2QE"),  # several spaces -> one
        ("sw1a1aa", "SW1A 1AA"),
        ("M1 1AE", "M1 1AE"),
        ("LS1", None),
        ("not a postcode", None),
        ("", None),
    ],
)
def test_postcode_normalisation(given, expected):
    assert normalise_postcode(given) == expected


# --------------------------------------------------------------------------- vectorised twin

MIXED = {
    IdKind.PNC_ID: [
        "2012/0394773H",
        "12/394773h",
        " 27/0394773L ",
        "26/0394773W",
        "2012/0394773J",
        "junk",
        "",
        "  ",
        None,
        float("nan"),
    ],
    IdKind.CRO_NUMBER: ["029906/12J", "29906/12j", "029906/12K", "12345/85X", "x", "", None, float("nan")],
    IdKind.NOMS_NUMBER: ["A1234BC", " a1234bc", "A1234B", "", None, float("nan"), 12345],
    IdKind.CRN: ["X123456", "x123456 ", "X12345", "", None, float("nan")],
    IdKind.IOM_ID: ["LDS-000123", "lds-000123", "LDS000123", "  ", None, float("nan")],
    IdKind.NICHE_NOMINAL_ID: [" n1 ", "N1", "", "   ", None, float("nan"), 12345],
    IdKind.YOS_REF: ["yos 12", "", None, float("nan"), 7],
    IdKind.POSTCODE: ["ls1 1ab", "LS11AB", " ls6  2qe ", "LS1", "", None, float("nan")],
}


@pytest.mark.parametrize("kind", list(MIXED))
def test_normalise_series_agrees_with_scalar(kind):
    values = MIXED[kind]
    series = pd.Series(values, dtype=object, index=range(100, 100 + len(values)))
    got = normalise_series(kind, series, D2026)
    assert list(got.index) == list(series.index)
    expected = [normalise(kind, v, D2026) for v in values]
    assert [None if pd.isna(v) else v for v in got] == expected


def test_normalise_series_pivot_matches_scalar_at_boundary():
    values = pd.Series(["26/0394773W", "27/0394773L"])
    assert list(normalise_series(IdKind.PNC_ID, values, D2026)) == ["2026/0394773W", "1927/0394773L"]


def test_scalar_treats_pandas_missing_markers_as_blank():
    # Values taken from a pandas "string" column arrive as pd.NA; they are blank, not text.
    for kind in (IdKind.NICHE_NOMINAL_ID, IdKind.YOS_REF, IdKind.CRN, IdKind.POSTCODE):
        assert normalise(kind, pd.NA, D2026) is None


def test_invalid_mask_distinguishes_blank_from_invalid():
    values = pd.Series(["LDS-000001", "", None, "   ", "LDS-1", float("nan"), "lds-000002"], dtype=object)
    normalised = normalise_series(IdKind.IOM_ID, values, D2026)
    assert list(invalid_mask(values, normalised)) == [False, False, False, False, True, False, False]


def test_invalid_mask_for_check_letter_failure():
    values = pd.Series(["2012/0394773H", "2012/0394773J", ""], dtype=object)
    normalised = normalise_series(IdKind.PNC_ID, values, D2026)
    assert list(invalid_mask(values, normalised)) == [False, True, False]
