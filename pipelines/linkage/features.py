"""The columns the linkage model compares, derived from a person's details.

Both sides (the register and the records to link) go through the same function, so a
name is never normalised one way for members and another way for records.
"""

from __future__ import annotations

from functools import cache

import pandas as pd
from nicknames import NickNamer

# Short particles are not a surname part of their own: "Mac" in "Mac Giolla Phádraig"
# or "O" in "O Briain" would otherwise match every other Mac or O.
_PARTICLES = frozenset({"mac", "mc", "van", "von", "der", "den", "del", "de", "da", "di", "la", "le", "al", "el", "bin"})

FEATURE_COLUMNS = (
    "unique_id",
    "surname",
    "surname_parts",
    "forename1",
    "given",
    "forenames_all",
    "forename_names",
    "dob",
    "dob_swapped",
    "postcode",
)


def _folded(values: pd.Series) -> pd.Series:
    """Case-folded, accent-free text with apostrophes dropped (``O’Neill`` is ``oneill``)."""
    text = values.astype("string").fillna("").str.casefold().str.normalize("NFKD")
    text = text.str.replace(r"[\u0300-\u036f]", "", regex=True)  # combining accents
    return text.str.replace(r"['’`‘]", "", regex=True)


def name_tokens(values: pd.Series) -> pd.Series:
    """Each name split into lower-case letter runs: ``Ng-Smith`` -> [ng, smith]."""
    return _folded(values).str.findall(r"[a-z]+")


def normalise_name(values: pd.Series) -> pd.Series:
    """One name as one token: case, accents, apostrophes, hyphens and spaces do not make
    another person (``O'Neill``, ``O Neill`` and ``oneill``; ``Ng-Smith`` and ``Ng Smith``)."""
    joined = name_tokens(values).str.join("")
    return joined.where(joined != "", None).astype(object)


@cache
def _canonical_lookup() -> dict[str, tuple[str, ...]]:
    """Nickname -> the full names it is short for, from the `nicknames` package's list."""
    return {nick: tuple(sorted(full)) for nick, full in NickNamer().canonical_lookup.items()}


def _name_family(forename: object) -> list[str] | None:
    if not isinstance(forename, str) or not forename:
        return None
    return sorted({forename, *_canonical_lookup().get(forename, ())})


def _unique_map(values: pd.Series, fn) -> pd.Series:
    """Apply ``fn`` once per distinct value (names repeat a lot)."""
    distinct = pd.Series(values.dropna().unique())
    table = dict(zip(distinct, distinct.map(fn), strict=True))
    return values.map(table).where(values.notna(), None)


def person_features(details: pd.DataFrame, unique_id: pd.Series) -> pd.DataFrame:
    """The model's input columns for people with surname, forenames, date_of_birth and
    (optionally) postcode; ``unique_id`` names each row."""
    surname_tokens = name_tokens(details["surname"])
    forename_tokens = name_tokens(details["forenames"])
    out = pd.DataFrame(index=details.index)
    out["unique_id"] = unique_id.astype(str).to_numpy()
    out["surname"] = surname_tokens.str.join("").replace("", None)
    out["surname_parts"] = surname_tokens.map(
        lambda parts: sorted({p for p in parts if len(p) > 1 and p not in _PARTICLES}) or None
    )
    out["forename1"] = forename_tokens.str[0]
    out["given"] = forename_tokens.str.join("").replace("", None)  # all forenames as one token, like surname
    out["forenames_all"] = forename_tokens.map(lambda parts: sorted(set(parts)) or None)
    out["forename_names"] = _unique_map(out["forename1"], _name_family)
    dob = (
        pd.to_datetime(details["date_of_birth"], errors="coerce")
        if "date_of_birth" in details
        else pd.Series(pd.NaT, index=details.index)
    )
    out["dob"] = dob.dt.strftime("%Y-%m-%d").where(dob.notna(), None)
    swappable = dob.notna() & (dob.dt.day <= 12) & (dob.dt.day != dob.dt.month)
    swapped = (
        dob.dt.year.astype("Int64").astype("string")
        + "-"
        + dob.dt.day.map("{:02.0f}".format)
        + "-"
        + dob.dt.month.map("{:02.0f}".format)
    )
    out["dob_swapped"] = swapped.where(swappable, None).astype(object)
    postcode = details["postcode"] if "postcode" in details else pd.Series(None, index=details.index, dtype=object)
    out["postcode"] = postcode.astype(object).where(postcode.notna(), None)
    return out.astype(object).where(out.notna(), None)
