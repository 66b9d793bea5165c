"""Identifier rules of CONTRACT section 2: normalisation and check letters.

Every function here is vectorised over a pandas Series (national volumes come later),
with a scalar twin used by the synthetic generator and the tests.  An identifier that
fails its rule normalises to ``None``: it is then a data-quality finding, never an identity.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum

import pandas as pd

CHECK_ALPHABET = "ZABCDEFGHJKLMNPQRTUVWXY"


class IdKind(StrEnum):
    IOM_ID = "iom_id"
    PNC_ID = "pnc_id"
    CRO_NUMBER = "cro_number"
    NOMS_NUMBER = "noms_number"
    CRN = "crn"
    NICHE_NOMINAL_ID = "niche_nominal_id"
    YOS_REF = "yos_ref"
    POSTCODE = "postcode"


_PNC = re.compile(r"^(\d{2}|\d{4})/(\d{1,7})([A-Z])$")
_CRO = re.compile(r"^(\d{1,6})/(\d{2})([A-Z])$")
_NOMS = re.compile(r"^[A-Z][0-9]{4}[A-Z]{2}$")
_CRN = re.compile(r"^[A-Z][0-9]{6}$")
_IOM = re.compile(r"^[A-Z]{3}-[0-9]{6}$")
# BS 7666 shape: outward code (area, district) and inward code (sector digit, unit letters).
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})$")


# What a valid identifier looks like once normalised (the warehouse's schema check uses these).
CANONICAL: dict[IdKind, str] = {
    IdKind.IOM_ID: _IOM.pattern,
    IdKind.PNC_ID: r"^[0-9]{4}/[0-9]{7}[A-Z]$",
    IdKind.CRO_NUMBER: r"^[0-9]{6}/[0-9]{2}[A-Z]$",
    IdKind.NOMS_NUMBER: _NOMS.pattern,
    IdKind.CRN: _CRN.pattern,
    IdKind.POSTCODE: r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$",
}


def check_letter(digits: str) -> str:
    return CHECK_ALPHABET[int(digits) % 23]


def pnc_check_letter(year: int, serial: int) -> str:
    return check_letter(f"{year % 100:02d}{serial:07d}")


def cro_check_letter(year2: int, serial: int) -> str:
    return check_letter(f"{year2 % 100:02d}{serial:06d}")


def format_pnc(year: int, serial: int) -> str:
    return f"{year:04d}/{serial:07d}{pnc_check_letter(year, serial)}"


def format_cro(serial: int, year2: int) -> str:
    return f"{serial:06d}/{year2 % 100:02d}{cro_check_letter(year2, serial)}"


def normalise_pnc(value: object, report_date: date) -> str | None:
    """Canonical ``YYYY/NNNNNNNC`` or None.  Short-form years pivot on the report date."""
    text = _clean(value)
    if text is None or (m := _PNC.match(text)) is None:
        return None
    year_text, serial_text, letter = m.groups()
    if len(year_text) == 2:
        yy = int(year_text)
        year = (1900 if yy > report_date.year % 100 else 2000) + yy
    else:
        year = int(year_text)
    serial = int(serial_text)
    if pnc_check_letter(year, serial) != letter:
        return None
    return format_pnc(year, serial)


def normalise_cro(value: object) -> str | None:
    text = _clean(value)
    if text is None or (m := _CRO.match(text)) is None:
        return None
    serial_text, year_text, letter = m.groups()
    serial, yy = int(serial_text), int(year_text)
    if cro_check_letter(yy, serial) != letter:
        return None
    return format_cro(serial, yy)


def normalise_postcode(value: object) -> str | None:
    text = _clean(value)
    if text is None or (m := _POSTCODE.match(text)) is None:
        return None
    return f"{m.group(1)} {m.group(2)}"


def _normalise_pattern(pattern: re.Pattern[str]):
    def normalise(value: object) -> str | None:
        text = _clean(value)
        return text if text is not None and pattern.match(text) else None

    return normalise


def _normalise_opaque(value: object) -> str | None:
    return _clean(value)


def _clean(value: object) -> str | None:
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    text = str(value).strip().upper()
    return text or None


_SCALAR = {
    IdKind.IOM_ID: _normalise_pattern(_IOM),
    IdKind.NOMS_NUMBER: _normalise_pattern(_NOMS),
    IdKind.CRN: _normalise_pattern(_CRN),
    IdKind.NICHE_NOMINAL_ID: _normalise_opaque,
    IdKind.YOS_REF: _normalise_opaque,
    IdKind.CRO_NUMBER: normalise_cro,
    IdKind.POSTCODE: normalise_postcode,
}


def normalise(kind: IdKind, value: object, report_date: date) -> str | None:
    if kind is IdKind.PNC_ID:
        return normalise_pnc(value, report_date)
    return _SCALAR[kind](value)


def normalise_series(kind: IdKind, values: pd.Series, report_date: date) -> pd.Series:
    """Normalise a column; blank stays blank (None), invalid becomes None too.

    Use :func:`invalid_mask` to tell the two apart for data-quality findings.
    """
    cleaned = values.astype("string").str.strip().str.upper()
    cleaned = cleaned.mask(cleaned == "")
    if kind in (IdKind.NICHE_NOMINAL_ID, IdKind.YOS_REF):
        return cleaned.astype(object).where(cleaned.notna(), None)
    pattern = {
        IdKind.IOM_ID: _IOM,
        IdKind.NOMS_NUMBER: _NOMS,
        IdKind.CRN: _CRN,
    }.get(kind)
    if pattern is not None:
        ok = cleaned.str.fullmatch(pattern.pattern).fillna(False).astype(bool)
        return cleaned.astype(object).where(ok, None)
    if kind is IdKind.POSTCODE:
        parts = cleaned.str.extract(_POSTCODE.pattern)
        joined = parts[0] + " " + parts[1]
        return joined.astype(object).where(joined.notna(), None)
    if kind is IdKind.PNC_ID:
        parts = cleaned.str.extract(_PNC.pattern)
        year = pd.to_numeric(parts[0], errors="coerce")
        short = parts[0].str.len() == 2
        pivot = report_date.year % 100
        year = year.mask(short & (year > pivot), year + 1900).mask(short & (year <= pivot), year + 2000)
        serial = pd.to_numeric(parts[1], errors="coerce")
        return _with_check_letter(year, serial, parts[2], 7, lambda y, s: f"{int(y):04d}/{int(s):07d}")
    if kind is IdKind.CRO_NUMBER:
        parts = cleaned.str.extract(_CRO.pattern)
        serial = pd.to_numeric(parts[0], errors="coerce")
        year = pd.to_numeric(parts[1], errors="coerce")
        return _with_check_letter(year, serial, parts[2], 6, lambda y, s: f"{int(s):06d}/{int(y) % 100:02d}")
    raise ValueError(f"unknown identifier kind {kind}")


def _with_check_letter(year: pd.Series, serial: pd.Series, letter: pd.Series, width: int, fmt) -> pd.Series:
    present = year.notna() & serial.notna()
    out = pd.Series([None] * len(year), index=year.index, dtype=object)
    if not present.any():
        return out
    y = year[present].astype("int64")
    s = serial[present].astype("int64")
    expected_idx = ((y % 100) * (10**width) + s) % 23
    expected = expected_idx.map(lambda i: CHECK_ALPHABET[i])
    ok = expected == letter[present]
    good = ok[ok].index
    out.loc[good] = [fmt(a, b) + c for a, b, c in zip(y[good], s[good], letter[good], strict=True)]
    return out


def invalid_mask(values: pd.Series, normalised: pd.Series) -> pd.Series:
    """True where a value was given but is not a valid identifier."""
    given = values.astype("string").str.strip().fillna("") != ""
    return given & normalised.isna()
