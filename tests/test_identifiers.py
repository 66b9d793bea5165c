"""Identifier rules (CONTRACT section 2).

Check letters are computed by hand below with the alphabet
``ZABCDEFGHJKLMNPQRTUVWXY`` (index 0 = Z, 1 = A, ... 8 = H, 9 = J, 11 = L, 20 = W, 21 = X):

- PNC 2012/0394773H: int("12" + "0394773") = 120394773 = 23 * 5234555 + 8   -> index 8  -> H
- PNC ..26/0394773W: 260394773 = 23 * 11321511 + 20                          -> index 20 -> W
- PNC ..27/0394773L: 270394773 = 23 * 11756294 + 11                          -> index 11 -> L
- PNC 1998/0012345J: 980012345 = 23 * 42609232 + 9                           -> index 9  -> J
- CRO 029906/12J:    int("12" + "029906") = 12029906 = 23 * 523039 + 9       -> index 9  -> J
- CRO 012345/85X:    85012345 = 23 * 3696188 + 21                            -> index 21 -> X

The contract's examples and the Ministry of Justice person-record service's published
examples (index 15 = Q, 18 = U, 22 = Y, 3 = C, 2 = B):

- PNC 2008/0056560Z: int("08" + "0056560") = 80056560 = 23 * 3480720 + 0    -> index 0  -> Z  valid
- PNC 20120052494Q:  120052494 = 23 * 5219673 + 15                           -> index 15 -> Q  valid
- PNC 1981/0154257C: 810154257 = 23 * 35224098 + 3                           -> index 3  -> C  valid
- PNC 20030011985?:  30011985 = 23 * 1304868 + 21                            -> index 21 -> X  (so ...Z invalid, ...X valid)
- PNC 2001/0171310?: 10171310 = 23 * 442230 + 20                             -> index 20 -> W  (so ...S invalid)
- PNC 81/34U:        810000034 = 23 * 35217392 + 18                         -> index 18 -> U  (81 > 26 -> 1981)
- PNC 033Y:          int("03" + "0000003") = 30000003 = 23 * 1304347 + 22   -> index 22 -> Y  (03 <= 26 -> 2003)
- PNC 0273319Z:      int("02" + "0073319") = 20073319 = 23 * 872753 + 0     -> index 0  -> Z  (02 <= 26 -> 2002)
- CRO 65656/91H:     int("91" + "065656") = 91065656 = 23 * 3959376 + 8     -> index 8  -> H  valid
- CRO 85227/65G:     int("65" + "085227") = 65085227 = 23 * 2829792 + 11    -> index 11 -> L  (so ...G invalid)

CRO numbers issued on fingerprints take the serial exactly as written, not padded:

- CRO SF83/50058Z:   int("83" + "50058") = 8350058 = 23 * 363046 + 0        -> index 0  -> Z  valid
- CRO SF05/482703J:  int("05" + "482703") = 5482703 = 23 * 238378 + 9      -> index 9  -> J  valid
- CRO SF83/050058?:  int("83" + "050058") = 83050058 = 23 * 3610872 + 2     -> index 2  -> B  (so SF83/050058Z invalid)
"""

from __future__ import annotations

import re
from datetime import date

import pandas as pd
import pytest

from pipelines.identifiers import (
    CANONICAL,
    IdKind,
    cro_check_letter,
    format_cro,
    format_pnc,
    invalid_mask,
    normalise,
    normalise_cro,
    normalise_pnc,
    normalise_postcode,
    normalise_series,
    pnc_check_letter,
)

D2026 = date(2026, 11, 20)  # report date: two-digit year 26
ALPHABET = "ZABCDEFGHJKLMNPQRTUVWXY"


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
        "20120394773H",
        "12394773h",
        "27394773L",
        "2012394773H",
        "junk",
        "",
        "  ",
        None,
        float("nan"),
    ],
    IdKind.CRO_NUMBER: [
        "029906/12J",
        "29906/12j",
        "029906/12K",
        "12345/85X",
        "sf83/50058z",
        "SF83/050058Z",
        "x",
        "",
        None,
        float("nan"),
    ],
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


# --------------------------------------------------------------------------- published examples

# (value, canonical or None) for PNC IDs, report date in 2026 (two-digit year 26).
PNC_EXAMPLES = [
    ("2008/0056560Z", "2008/0056560Z"),  # 80056560 mod 23 = 0 -> Z
    ("20120052494Q", "2012/0052494Q"),  # slashless long form; 120052494 mod 23 = 15 -> Q
    ("1981/0154257C", "1981/0154257C"),  # 810154257 mod 23 = 3 -> C
    ("20030011985Z", None),  # 30011985 mod 23 = 21 -> X, not Z
    ("2001/0171310S", None),  # 10171310 mod 23 = 20 -> W, not S
    ("1923/1234567AA", None),  # two letters
    ("81/34U", "1981/0000034U"),  # 81 > 26 -> 1981; 810000034 mod 23 = 18 -> U
    ("033Y", "2003/0000003Y"),  # slashless short form, one-digit serial; 30000003 mod 23 = 22 -> Y
    ("20030011985X", "2003/0011985X"),  # 30011985 mod 23 = 21 -> X
    ("0273319Z", "2002/0073319Z"),  # slashless short form; 20073319 mod 23 = 0 -> Z
    ("12394773H", "2012/0394773H"),  # the contract's slashless short form
    ("20120394773H", "2012/0394773H"),  # the contract's slashless long form
]
CRO_EXAMPLES = [
    ("65656/91H", "065656/91H"),  # 91065656 mod 23 = 8 -> H
    ("85227/65G", None),  # 65085227 mod 23 = 11 -> L, not G
    ("SF83/50058Z", "SF83/50058Z"),  # as written: 8350058 mod 23 = 0 -> Z
    ("SF05/482703J", "SF05/482703J"),  # 5482703 mod 23 = 9 -> J
]


@pytest.mark.parametrize("given, expected", PNC_EXAMPLES)
def test_published_pnc_examples(given, expected):
    assert normalise_pnc(given, D2026) == expected


@pytest.mark.parametrize("given, expected", CRO_EXAMPLES)
def test_published_cro_examples(given, expected):
    assert normalise_cro(given) == expected


def test_hand_computed_check_letters_of_the_examples():
    # The comments above, recomputed; the expected letters are the documented ones.
    assert [ALPHABET[int(d) % 23] for d in ("080056560", "120052494", "810154257", "030011985", "010171310")] == list("ZQCXW")
    assert [ALPHABET[int(d) % 23] for d in ("810000034", "030000003", "020073319")] == list("UYZ")
    assert [ALPHABET[int(d) % 23] for d in ("91065656", "65085227", "8350058", "5482703", "83050058")] == list("HLZJB")
    assert pnc_check_letter(2003, 11985) == "X"
    assert cro_check_letter(65, 85227) == "L"


# --------------------------------------------------------------------------- PNC without the slash


@pytest.mark.parametrize(
    "given, expected",
    [
        ("20120394773H", "2012/0394773H"),  # twelve characters: the long form, never pivots
        ("19270394773L", "1927/0394773L"),
        ("120394773H", "2012/0394773H"),  # fewer: two year digits, then the serial (zeros kept)
        ("12394773H", "2012/0394773H"),  # ... or without leading zeros
        ("27394773L", "1927/0394773L"),  # short form pivots like 27/394773L: 27 > 26 -> 1927
        (" 12394773h ", "2012/0394773H"),
        ("2012394773H", None),  # eleven characters: a short form with an eight-digit serial
        ("201203947730H", None),  # thirteen characters
        ("2Y", None),  # no serial at all
        ("12394773J", None),  # wrong check letter (H expected)
    ],
)
def test_pnc_without_slash(given, expected):
    assert normalise_pnc(given, D2026) == expected


def test_pnc_without_slash_short_form_pivots_on_report_date():
    assert normalise_pnc("27394773L", date(2027, 1, 1)) == "2027/0394773L"
    assert normalise_pnc("26394773W", date(2025, 12, 31)) == "1926/0394773W"
    assert normalise_pnc("19270394773L", date(2027, 1, 1)) == "1927/0394773L"  # long form: no pivot


# --------------------------------------------------------------------------- CRO issued on fingerprints


@pytest.mark.parametrize(
    "given, expected",
    [
        ("SF83/50058Z", "SF83/50058Z"),  # serial kept as written, not padded to 050058
        (" sf05/482703j ", "SF05/482703J"),
        ("SF83/050058B", "SF83/050058B"),  # a leading zero written is part of the number: 83050058 -> B
        ("SF83/050058Z", None),  # ... so Z is wrong for it
        ("SF83/50058B", None),  # and B wrong without it
        ("SF05/4827031J", None),  # seven-digit serial
        ("SF5/482703J", None),  # one-digit year
        ("SF05-482703J", None),
    ],
)
def test_cro_issued_on_fingerprints(given, expected):
    assert normalise_cro(given) == expected


def test_canonical_patterns_accept_every_canonical_form():
    pnc = [normalise_pnc(v, D2026) for v, _ in PNC_EXAMPLES] + [format_pnc(1998, 12345)]
    cro = [normalise_cro(v) for v, _ in CRO_EXAMPLES] + [format_cro(29906, 12), "SF83/050058B"]
    for kind, values in ((IdKind.PNC_ID, pnc), (IdKind.CRO_NUMBER, cro)):
        for value in filter(None, values):
            assert re.match(CANONICAL[kind], value), (kind, value)
    assert not re.match(CANONICAL[IdKind.CRO_NUMBER], "SF83/50058")
    assert not re.match(CANONICAL[IdKind.CRO_NUMBER], "65656/91H")  # canonical is padded


def test_scalar_wrapper_agrees_with_vectorised_on_all_examples():
    values = [v for v, _ in PNC_EXAMPLES + CRO_EXAMPLES] + ["", None, float("nan"), "junk"]
    series = pd.Series(values, dtype=object, index=range(7, 7 + len(values)))
    for kind in (IdKind.PNC_ID, IdKind.CRO_NUMBER):
        got = normalise_series(kind, series, D2026)
        assert list(got.index) == list(series.index)
        assert list(got) == [normalise(kind, v, D2026) for v in values], kind
    pnc = normalise_series(IdKind.PNC_ID, series, D2026)
    assert list(pnc.iloc[: len(PNC_EXAMPLES)]) == [e for _, e in PNC_EXAMPLES]
    cro = normalise_series(IdKind.CRO_NUMBER, series, D2026)
    assert list(cro.iloc[len(PNC_EXAMPLES) : len(PNC_EXAMPLES) + len(CRO_EXAMPLES)]) == [e for _, e in CRO_EXAMPLES]
    # A PNC is never a CRO number and the other way round.
    assert pnc.iloc[len(PNC_EXAMPLES) :].isna().all() and cro.iloc[: len(PNC_EXAMPLES)].isna().all()


def test_normalise_series_keeps_a_repeated_index():
    values = pd.Series(["12394773H", "x", "SF83/50058Z", "033Y"], index=[5, 5, 5, 5], dtype=object)
    assert list(normalise_series(IdKind.PNC_ID, values, D2026)) == ["2012/0394773H", None, None, "2003/0000003Y"]
    assert list(normalise_series(IdKind.CRO_NUMBER, values, D2026)) == [None, None, "SF83/50058Z", None]
