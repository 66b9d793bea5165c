"""Identifier rules of CONTRACT section 2: normalisation and check letters.

Each rule is written once.  Normalisation is vectorised over a pandas Series
(:func:`normalise_series`; national volumes come later); the scalar functions used by the
synthetic generator and the tests (:func:`normalise`, :func:`normalise_pnc`,
:func:`normalise_cro`, :func:`normalise_postcode`) are thin wrappers that run it on a
one-element Series.  The check-letter arithmetic is written once for plain integers and
integer arrays alike, and each canonical layout once, as the function that writes it; the
check-letter and formatting helpers the generator uses are those same functions.
An identifier that fails its rule normalises to ``None``: it is then a data-quality
finding, never an identity.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import TypeVar

import pandas as pd

CHECK_ALPHABET = "ZABCDEFGHJKLMNPQRTUVWXY"
_LETTERS = pd.Index(list(CHECK_ALPHABET)).to_numpy()  # indexable by an integer array
_PNC_SERIAL_WIDTH = 7
_CRO_SERIAL_WIDTH = 6


class IdKind(StrEnum):
    IOM_ID = "iom_id"
    PNC_ID = "pnc_id"
    CRO_NUMBER = "cro_number"
    NOMS_NUMBER = "noms_number"
    CRN = "crn"
    NICHE_NOMINAL_ID = "niche_nominal_id"
    YOS_REF = "yos_ref"
    POSTCODE = "postcode"


# PNC ID, groups: long year, short year, serial, check letter.  Written with the slash
# (2012/0394773H, 12/394773H), or without it as prison and probation systems do: twelve
# characters are the long form (20120394773H), fewer the short form, two year digits then
# the serial (12394773H, 0273319Z, 033Y).  An eleven-character value would be a short form
# with an eight-digit serial, and so matches neither.
_PNC = re.compile(
    r"""^(?:
        (\d{4})(?=/|\d{7}[A-Z]$)       # long year: a slash follows, or exactly seven digits and the letter
      | (\d{2})(?=/|\d{1,7}[A-Z]$)     # short year: a slash follows, or one to seven digits and the letter
    )/?(\d{1,7})([A-Z])$""",
    re.VERBOSE | re.ASCII,
)
# CRO number, groups: serial and year of the ordinary form NNNNNN/YYC; year and serial of
# the form issued on fingerprints, SFYY/NNNNNNC; the check letter.
_CRO = re.compile(r"^(?:(\d{1,6})/(\d{2})|SF(\d{2})/(\d{1,6}))([A-Z])$", re.ASCII)
_NOMS = re.compile(r"^[A-Z][0-9]{4}[A-Z]{2}$")
_CRN = re.compile(r"^[A-Z][0-9]{6}$")
_IOM = re.compile(r"^[A-Z]{3}-[0-9]{6}$")
# BS 7666 shape: outward code (area, district) and inward code (sector digit, unit letters).
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})$")


# What a valid identifier looks like once normalised (the warehouse's schema check uses these).
CANONICAL: dict[IdKind, str] = {
    IdKind.IOM_ID: _IOM.pattern,
    IdKind.PNC_ID: r"^[0-9]{4}/[0-9]{7}[A-Z]$",
    IdKind.CRO_NUMBER: r"^(?:[0-9]{6}/[0-9]{2}|SF[0-9]{2}/[0-9]{1,6})[A-Z]$",
    IdKind.NOMS_NUMBER: _NOMS.pattern,
    IdKind.CRN: _CRN.pattern,
    IdKind.POSTCODE: r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$",
}


# --------------------------------------------------------------------------- check letters and layouts

_N = TypeVar("_N")  # an int, or an integer array or Series


def _check_index(year: _N, serial: _N, width: int | _N) -> _N:
    """Position in CHECK_ALPHABET of the check letter: ``int(YY + serial in `width` digits) mod 23``.

    YY is the year's last two digits.  The serial is zero-padded to ``width`` digits (7 for a
    PNC ID, 6 for a CRO number; a fingerprint CRO number's ``width`` is the number of digits
    it was written with).  Works on plain integers and on integer arrays alike.
    """
    return ((year % 100) * 10**width + serial) % 23  # type: ignore[return-value]


def _pnc_layout(year: int, serial: int, letter: str) -> str:
    return f"{year:04d}/{serial:0{_PNC_SERIAL_WIDTH}d}{letter}"


def _cro_layout(serial: int, year: int, letter: str) -> str:
    return f"{serial:0{_CRO_SERIAL_WIDTH}d}/{year % 100:02d}{letter}"


def _fingerprint_cro_layout(year_text: str, serial_text: str, letter: str) -> str:
    return f"SF{year_text}/{serial_text}{letter}"  # the serial exactly as written


def check_letter(digits: str) -> str:
    """``CHECK_ALPHABET[int(digits) mod 23]``."""
    return CHECK_ALPHABET[_check_index(0, int(digits), 0)]


def pnc_check_letter(year: int, serial: int) -> str:
    return CHECK_ALPHABET[_check_index(year, serial, _PNC_SERIAL_WIDTH)]


def cro_check_letter(year2: int, serial: int) -> str:
    return CHECK_ALPHABET[_check_index(year2, serial, _CRO_SERIAL_WIDTH)]


def format_pnc(year: int, serial: int) -> str:
    return _pnc_layout(year, serial, pnc_check_letter(year, serial))


def format_cro(serial: int, year2: int) -> str:
    return _cro_layout(serial, year2, cro_check_letter(year2, serial))


# --------------------------------------------------------------------------- normalisation, vectorised


def normalise_series(kind: IdKind, values: pd.Series, report_date: date | None = None) -> pd.Series:
    """Normalise a column; blank stays blank (None), invalid becomes None too.

    ``report_date`` matters to PNC IDs only: short-form years pivot on it.  Use
    :func:`invalid_mask` to tell blank and invalid apart for data-quality findings.
    """
    cleaned = values.astype("string").str.strip().str.upper()  # CONTRACT section 2: trimmed, upper-cased
    return _RULES[IdKind(kind)](cleaned, report_date)


def invalid_mask(values: pd.Series, normalised: pd.Series) -> pd.Series:
    """True where a value was given but is not a valid identifier."""
    given = values.astype("string").str.strip().fillna("") != ""
    return given & normalised.isna()


# Each rule takes the trimmed, upper-cased values ("string" Series; a blank one is "" or
# NA) and returns an object Series: the canonical form, or None.  The string work is
# pandas'; the arithmetic runs on the arrays of the rows whose shape matched.


def _column(values: pd.Series, keep: object = None) -> pd.Series:
    """``values`` as an object Series, None where missing (and where ``keep`` is False)."""
    out = values.to_numpy(dtype=object, na_value=None)
    if keep is not None:
        out[~keep] = None  # type: ignore[operator]
    return pd.Series(out, index=values.index, dtype=object)


def _opaque(cleaned: pd.Series, _report_date: date | None) -> pd.Series:
    return _column(cleaned, (cleaned != "").to_numpy(dtype=bool, na_value=False))


def _shape(pattern: re.Pattern[str]) -> Callable[[pd.Series, date | None], pd.Series]:
    def rule(cleaned: pd.Series, _report_date: date | None) -> pd.Series:
        return _column(cleaned, cleaned.str.fullmatch(pattern.pattern).to_numpy(dtype=bool, na_value=False))

    return rule


def _postcode(cleaned: pd.Series, _report_date: date | None) -> pd.Series:
    parts = cleaned.str.extract(_POSTCODE.pattern)
    return _column(parts[0] + " " + parts[1])


def _pnc(cleaned: pd.Series, report_date: date | None) -> pd.Series:
    parts = cleaned.str.extract(_PNC.pattern, flags=_PNC.flags).to_numpy(dtype=object, na_value=None)
    found = pd.notna(parts[:, 3])
    out = parts[:, 3].copy()  # None where nothing matched; filled in below
    if found.any():
        long_year, short_year, serial_text, letter = parts[found].T
        short = pd.notna(short_year)
        year_text = long_year.copy()
        year_text[short] = short_year[short]
        year, serial = year_text.astype("int64"), serial_text.astype("int64")
        if short.any():
            if report_date is None:
                raise ValueError("a short-form PNC ID needs the report date its year pivots on")
            # YY above the report date's two-digit year is 19YY, else 20YY.
            year = year + short * (2000 - 100 * (year > report_date.year % 100))
        expected = _LETTERS[_check_index(year, serial, _PNC_SERIAL_WIDTH)]
        out[found] = [
            _pnc_layout(y, s, e) if e == g else None
            for y, s, e, g in zip(year.tolist(), serial.tolist(), expected.tolist(), letter.tolist(), strict=True)
        ]
    return pd.Series(out, index=cleaned.index, dtype=object)


def _cro(cleaned: pd.Series, _report_date: date | None) -> pd.Series:
    extracted = cleaned.str.extract(_CRO.pattern, flags=_CRO.flags)
    parts = extracted.to_numpy(dtype=object, na_value=None)
    found = pd.notna(parts[:, 4])
    out = parts[:, 4].copy()  # None where nothing matched; filled in below
    if found.any():
        serial_text, year_text, fp_year, fp_serial, letter = parts[found].T
        fingerprint = pd.notna(fp_year)
        year_text[fingerprint] = fp_year[fingerprint]
        serial_text[fingerprint] = fp_serial[fingerprint]
        year, serial = year_text.astype("int64"), serial_text.astype("int64")
        # A fingerprint number's serial counts, and stays, exactly as written (not padded).
        width = extracted[3].str.len().fillna(_CRO_SERIAL_WIDTH).to_numpy(dtype="int64")[found]
        expected = _LETTERS[_check_index(year, serial, width)]
        out[found] = [
            None if e != g else _fingerprint_cro_layout(yt, st, e) if fp else _cro_layout(s, y, e)
            for yt, st, y, s, fp, e, g in zip(
                year_text.tolist(), serial_text.tolist(), year.tolist(), serial.tolist(),
                fingerprint.tolist(), expected.tolist(), letter.tolist(), strict=True,
            )
        ]  # fmt: skip
    return pd.Series(out, index=cleaned.index, dtype=object)


_RULES: dict[IdKind, Callable[[pd.Series, date | None], pd.Series]] = {
    IdKind.IOM_ID: _shape(_IOM),
    IdKind.PNC_ID: _pnc,
    IdKind.CRO_NUMBER: _cro,
    IdKind.NOMS_NUMBER: _shape(_NOMS),
    IdKind.CRN: _shape(_CRN),
    IdKind.NICHE_NOMINAL_ID: _opaque,
    IdKind.YOS_REF: _opaque,
    IdKind.POSTCODE: _postcode,
}
_DATED = frozenset({IdKind.PNC_ID})  # the rules that read the report date


# --------------------------------------------------------------------------- scalar wrappers


def normalise(kind: IdKind, value: object, report_date: date | None) -> str | None:
    """One value through :func:`normalise_series` (as a one-element Series).

    The generator asks about the same few thousand values over and over, so answers are
    remembered; a value that cannot be (unhashable) is simply worked out each time.
    """
    kind = IdKind(kind)
    if kind not in _DATED:
        report_date = None  # one remembered answer whatever date is given
    try:
        return _normalise_remembered(kind, value, report_date)
    except TypeError:
        return _normalise_one(kind, value, report_date)


def normalise_pnc(value: object, report_date: date) -> str | None:
    """Canonical ``YYYY/NNNNNNNC`` or None.  Short-form years pivot on the report date."""
    return normalise(IdKind.PNC_ID, value, report_date)


def normalise_cro(value: object) -> str | None:
    """Canonical ``NNNNNN/YYC`` (or ``SFYY/NNNNNNC``, serial as written) or None."""
    return normalise(IdKind.CRO_NUMBER, value, None)


def normalise_postcode(value: object) -> str | None:
    return normalise(IdKind.POSTCODE, value, None)


@lru_cache(maxsize=1 << 16, typed=True)
def _normalise_remembered(kind: IdKind, value: object, report_date: date | None) -> str | None:
    return _normalise_one(kind, value, report_date)


def _normalise_one(kind: IdKind, value: object, report_date: date | None) -> str | None:
    result = normalise_series(kind, pd.Series([value], dtype=object), report_date).iloc[0]
    return None if result is None else str(result)
