"""Realistic variations of a person's details, for rows written without identifiers.

A partner system that holds no identifier for someone still types their name and date of
birth, and gets them slightly wrong in the usual ways: a spelling slip, a nickname,
forenames and surname swapped, one half of a double-barrelled surname, day and month of
birth transposed, no date of birth, accents and apostrophes lost.  Each such row carries
exactly one variation.  A variation is only kept if it leaves the truth unambiguous: it
must not become exactly someone else's details, neither as the generator's identity judge
normalises names nor as the pipeline's exact-details rule does (re-drawn otherwise).
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from pipelines.synth.identity import IdentityIndex
from pipelines.synth.model import Person
from pipelines.synth.names import cp1252_safe, first_forename, loose_key, nicknames_of, swapped_day_month

KINDS: tuple[str, ...] = (
    "spelling",
    "nickname",
    "forenames_swapped",
    "middle_as_first",
    "hyphen_part",
    "dob_transposed",
    "no_dob",
    "accents",
    "new_surname",
)
DECOY_KINDS: tuple[str, ...] = ("same_name_other_dob", "twin", "father_son", "common_name")

_VOWELS = "aeiou"
# Keys next to each other on a UK keyboard: the commonest substitution slip.
_NEIGHBOURS = {
    "b": "vn", "c": "xv", "d": "sf", "f": "dg", "g": "fh", "h": "gj", "j": "hk", "k": "jl", "l": "k",
    "m": "n", "n": "bm", "p": "o", "q": "w", "r": "et", "s": "ad", "t": "ry", "v": "cb", "w": "qe",
    "x": "zc", "y": "tu", "z": "x",
}  # fmt: skip
# Letters with no decomposition that a keyboard without them writes as a plain letter.
_PLAIN_LETTERS = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ß": "ss"})
# Irish and other particles: "Ó Briain" is one surname, not two halves.
_PARTICLES = frozenset({"o", "ó", "mac", "mc", "ní", "nic", "ua", "de", "da", "di", "van", "von", "le", "la"})
_MIN_SLIP_LETTERS = 4


@dataclass(frozen=True, slots=True)
class Variant:
    kind: str
    surname: str
    forenames: str
    dob: date | None
    certain: bool  # the judge's verdict: only a loss of accents can leave it certain


def vary(rng: random.Random, person: Person, index: IdentityIndex, *, cp1252: bool = False) -> Variant:
    """One variation of the person's details, drawn evenly among those that apply.

    `cp1252`: the row goes to a Windows-1252 feed, so the written name must encode.
    """
    kinds = ("new_surname",) if person.new_surname else applicable(person.surname, person.forenames, person.dob)
    for _ in range(12):
        kind = rng.choice(kinds)
        made = varied_details(rng, kind, person)
        if made is None:
            continue
        variant = checked(index, person, kind, *made, cp1252=cp1252)
        if variant is not None:
            return variant
    # Without a date of birth neither the judge nor the exact rule can match anyone.
    return Variant("no_dob", person.surname, person.forenames, None, False)


def nickname_variant(rng: random.Random, person: Person, index: IdentityIndex, *, cp1252: bool = False) -> Variant | None:
    """The person's first forename as one of its nicknames, if one keeps the truth unambiguous."""
    first = first_forename(person.forenames)
    options = list(nicknames_of(first))
    rng.shuffle(options)
    for nick in options:
        variant = checked(
            index, person, "nickname", person.surname, _replace_first(person.forenames, nick), person.dob, cp1252=cp1252
        )
        if variant is not None:
            return variant
    return None


@lru_cache(maxsize=65536)
def applicable(surname: str, forenames: str, dob: date) -> tuple[str, ...]:
    first = first_forename(forenames)
    kinds = []
    if _slippable(surname) or _slippable(first):
        kinds.append("spelling")
    if nicknames_of(first):
        kinds.append("nickname")
    kinds.append("forenames_swapped")
    if " " in forenames:
        kinds.append("middle_as_first")
    if surname_parts(surname):
        kinds.append("hyphen_part")
    if swapped_day_month(dob) is not None:
        kinds.append("dob_transposed")
    kinds.append("no_dob")
    if plain_text(surname, "") != surname or plain_text(forenames, "") != forenames:
        kinds.append("accents")
    return tuple(kinds)


def surname_parts(surname: str) -> tuple[str, ...]:
    """The two halves of a hyphenated or double-barrelled surname, else ()."""
    if "-" in surname:
        parts = surname.split("-")
    elif " " in surname:
        parts = surname.split(" ")
        if parts[0].casefold() in _PARTICLES:
            return ()
    else:
        return ()
    if len(parts) != 2 or any(len(loose_key(part)) < 2 for part in parts):
        return ()
    return tuple(parts)


def plain_text(text: str, apostrophe: str) -> str:
    """Accents dropped (Siobhán -> Siobhan, Łukasz -> Lukasz), apostrophes replaced."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_PLAIN_LETTERS))
    bare = unicodedata.normalize("NFC", "".join(char for char in decomposed if not unicodedata.combining(char)))
    return bare.replace("'", apostrophe)


def checked(
    index: IdentityIndex,
    person: Person,
    kind: str,
    surname: str,
    forenames: str,
    dob: date | None,
    *,
    cp1252: bool,
) -> Variant | None:
    if (surname, forenames, dob) == (person.surname, person.forenames, person.dob):
        return None
    if cp1252 and not cp1252_safe(surname, forenames):
        return None
    certain = index.variant_verdict(person.person_id, surname, forenames, dob)
    if certain is None or (certain and kind != "accents"):
        return None
    return Variant(kind, surname, forenames, dob, certain)


def varied_details(rng: random.Random, kind: str, person: Person) -> tuple[str, str, date | None] | None:
    """(surname, forenames, dob) with the one variation `kind` (of KINDS), or None where it
    cannot be made.  Reads the person's surname, forenames, dob and, for "new_surname",
    new_surname; unchecked (see `checked`), and may leave the details unchanged."""
    surname, forenames, dob = person.surname, person.forenames, person.dob
    if kind == "spelling":
        first = first_forename(forenames)
        targets = [part for part, text in (("surname", surname), ("forename", first)) if _slippable(text)]
        if not targets:
            return None
        if rng.choice(targets) == "surname":
            slipped = _slip(rng, surname)
            return (slipped, forenames, dob) if slipped else None
        slipped = _slip(rng, first)
        return (surname, _replace_first(forenames, slipped), dob) if slipped else None
    if kind == "nickname":
        options = nicknames_of(first_forename(forenames))
        return (surname, _replace_first(forenames, rng.choice(options)), dob) if options else None
    if kind == "forenames_swapped":
        return forenames, surname, dob
    if kind == "middle_as_first":
        names = forenames.split(" ")
        return (surname, " ".join([names[1], names[0], *names[2:]]), dob) if len(names) > 1 else None
    if kind == "hyphen_part":
        parts = surname_parts(surname)
        return (rng.choice(parts), forenames, dob) if parts else None
    if kind == "dob_transposed":
        swapped = swapped_day_month(dob)
        return (surname, forenames, swapped) if swapped else None
    if kind == "no_dob":
        return surname, forenames, None
    if kind == "accents":
        apostrophe = rng.choice(("\u2019", ""))
        return plain_text(surname, apostrophe), plain_text(forenames, apostrophe), dob
    if kind == "new_surname":
        return (person.new_surname, forenames, dob) if person.new_surname else None
    raise ValueError(f"unknown variation {kind}")


def _replace_first(forenames: str, first: str) -> str:
    rest = forenames.split(" ", 1)[1:]
    return " ".join([first, *rest])


def _slippable(name: str) -> bool:
    return sum(char.isalpha() for char in name) >= _MIN_SLIP_LETTERS


def _slip(rng: random.Random, name: str) -> str | None:
    """One typing slip past the first letter: a letter substituted (a neighbouring key, or
    another vowel), two letters transposed, one dropped or one doubled."""
    positions = [i for i in range(1, len(name)) if name[i].isascii() and name[i].isalpha()]
    if not positions:
        return None
    operation = rng.choice(("substitute", "transpose", "drop", "double"))
    if operation == "transpose":
        pairs = [i for i in positions if i + 1 in positions and name[i].lower() != name[i + 1].lower()]
        if pairs:
            i = rng.choice(pairs)
            return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        operation = "substitute"
    i = rng.choice(positions)
    char = name[i]
    if operation == "drop":
        return name[:i] + name[i + 1 :]
    if operation == "double":
        return name[:i] + char.lower() + name[i:]
    lower = char.lower()
    options = [v for v in _VOWELS if v != lower] if lower in _VOWELS else list(_NEIGHBOURS.get(lower, ""))
    if not options:
        return None
    new = rng.choice(options)
    return name[:i] + (new.upper() if char.isupper() else new) + name[i + 1 :]
