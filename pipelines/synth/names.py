"""Name pools and the name normalisation used to keep identities apart.

The pools mix West Yorkshire, Irish, South Asian, Eastern European and West African
names, with the accents, apostrophes and hyphens real registers hold (a few double-barrelled
surnames among them).  A few names are outside Windows-1252 (Polish, Czech): those people
never appear in the NICHE arrests feed, which is cp1252.  Nicknames come from the
`nicknames` package.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import date
from functools import lru_cache

from nicknames import NickNamer

# (name, weight); weights make Smith commoner than Sørensen, as in a real register.
MALE_FORENAMES: list[tuple[str, float]] = [
    ("James", 5),
    ("John", 4),
    ("Robert", 3),
    ("Michael", 4),
    ("David", 4),
    ("Daniel", 4),
    ("Thomas", 3),
    ("Christopher", 3),
    ("Matthew", 3),
    ("Ryan", 4),
    ("Liam", 4),
    ("Connor", 3),
    ("Jake", 3),
    ("Kyle", 3),
    ("Jordan", 3),
    ("Dean", 2),
    ("Lee", 3),
    ("Craig", 2),
    ("Wayne", 2),
    ("Darren", 2),
    ("Jamie", 3),
    ("Callum", 2),
    ("Reece", 2),
    ("Bradley", 2),
    ("Nathan", 2),
    ("Joshua", 2),
    ("Mohammed", 3),
    ("Imran", 2),
    ("Tariq", 1),
    ("Adeel", 1),
    ("Kamran", 1),
    ("Bilal", 1),
    ("Seán", 1),
    ("Ciarán", 1),
    ("Éamonn", 1),
    ("Pádraig", 1),
    ("José", 1),
    ("André", 1),
    ("Noël", 0.5),
    ("Tomasz", 1),
    ("Piotr", 1),
    ("Krzysztof", 0.5),
    ("Marek", 0.5),
    ("Kwame", 0.5),
    ("Chinedu", 0.5),
    ("Tendai", 0.5),
    ("Mihai", 0.5),
    ("Andrei", 0.5),
    ("Patrick", 2),
    ("Anthony", 3),
    ("Stephen", 2),
    ("William", 2),
    ("Joseph", 2),
    ("Kevin", 2),
    ("Paul", 2),
    ("Mark", 2),
    ("Gary", 2),
    ("Shane", 1),
    ("Ross", 1),
    ("Łukasz", 0.4),
    ("Paweł", 0.4),
]
FEMALE_FORENAMES: list[tuple[str, float]] = [
    ("Sarah", 3),
    ("Laura", 2),
    ("Emma", 2),
    ("Rebecca", 2),
    ("Samantha", 2),
    ("Nicola", 2),
    ("Lisa", 2),
    ("Donna", 2),
    ("Tracey", 2),
    ("Joanne", 2),
    ("Kelly", 2),
    ("Stacey", 2),
    ("Gemma", 2),
    ("Leanne", 2),
    ("Jade", 2),
    ("Chantelle", 1),
    ("Shannon", 1),
    ("Amy", 2),
    ("Siobhán", 1),
    ("Zoë", 1),
    ("Niamh", 1),
    ("Aoife", 1),
    ("Róisín", 1),
    ("Chloë", 1),
    ("Renée", 0.5),
    ("Agnieszka", 0.5),
    ("Aisha", 1),
    ("Nadia", 1),
    ("Fatima", 1),
    ("Elizabeth", 1),
    ("Margaret", 1),
    ("Katherine", 1),
    ("Jennifer", 1),
    ("Danielle", 2),
    ("Małgorzata", 0.3),
]
SURNAMES: list[tuple[str, float]] = [
    ("Smith", 8),
    ("Jones", 5),
    ("Taylor", 4),
    ("Brown", 4),
    ("Williams", 4),
    ("Wilson", 3),
    ("Johnson", 3),
    ("Davies", 3),
    ("Robinson", 3),
    ("Wright", 3),
    ("Thompson", 3),
    ("Evans", 2),
    ("Walker", 3),
    ("White", 2),
    ("Roberts", 2),
    ("Green", 2),
    ("Hall", 2),
    ("Wood", 2),
    ("Jackson", 2),
    ("Clarke", 2),
    ("Harrison", 2),
    ("Hughes", 2),
    ("Ward", 2),
    ("Turner", 2),
    ("Hill", 2),
    ("Moore", 2),
    ("Cooper", 2),
    ("Kelly", 2),
    ("Lee", 2),
    ("Marshall", 2),
    ("Atkinson", 2),
    ("Barker", 2),
    ("Holmes", 2),
    ("Hirst", 2),
    ("Sykes", 2),
    ("Haigh", 1),
    ("Crowther", 1),
    ("Greenwood", 2),
    ("Ackroyd", 1),
    ("Firth", 1),
    ("O'Neill", 2),
    ("O'Brien", 2),
    ("O'Connor", 1),
    ("O'Reilly", 1),
    ("McDonald", 2),
    ("McGuinness", 1),
    ("Ó Briain", 0.5),
    ("Mac Giolla Phádraig", 0.3),
    ("D'Arcy", 0.5),
    ("Ng-Smith", 0.5),
    ("Khan", 3),
    ("Hussain", 3),
    ("Ahmed", 2),
    ("Ali", 2),
    ("Akhtar", 1),
    ("Iqbal", 1),
    ("Mahmood", 1),
    ("Shah", 1),
    ("Patel", 1),
    ("Kowalski", 1),
    ("Nowak", 1),
    ("Kowalczyk", 0.5),
    ("Müller", 0.5),
    ("Sørensen", 0.3),
    ("Núñez", 0.3),
    ("García", 0.5),
    ("Horváth", 0.5),
    ("Kovács", 0.5),
    ("Mensah", 0.5),
    ("Okafor", 0.5),
    ("Adeyemi", 0.5),
    ("Popescu", 0.5),
    ("Brown-Lewis", 0.5),
    ("Smith-Jones", 0.5),
    ("Khan-Ahmed", 0.5),
    ("Taylor Wood", 0.4),
    ("Hall-Greenwood", 0.4),
    ("Hussain-Shah", 0.3),
    ("Fitzgerald", 1),
    ("Doherty", 1),
    ("Gallagher", 1),
    ("Byrne", 1),
    ("Ryan", 1),
    ("Wiśniewski", 0.3),
    ("Dvořák", 0.2),
]


@lru_cache(maxsize=65536)
def name_key(text: str) -> str:
    """Case-folded, accent-free, letters and digits only.

    Stricter than any sensible linker's normalisation (it also drops spaces), so names
    kept apart under this key stay apart under the pipeline's.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return "".join(char for char in bare.casefold() if char.isalnum())


@lru_cache(maxsize=65536)
def loose_key(text: str) -> str:
    """The pipeline linker's name normalisation (pipelines.linking.normalise_name) for
    one value: case-folded, decomposed, letters a-z only.  Looser than name_key where
    letters do not decompose (ł, ø): those drop out altogether."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if "a" <= char <= "z")


@lru_cache(maxsize=1)
def _nicknamer() -> NickNamer:
    return NickNamer()


@lru_cache(maxsize=4096)
def nicknames_of(forename: str) -> tuple[str, ...]:
    """Nicknames of a forename (from the `nicknames` package), capitalised, sorted."""
    own = forename.casefold()
    found = _nicknamer().nicknames_of(own)
    return tuple(sorted(nick.capitalize() for nick in found if nick.isascii() and nick.isalpha() and nick != own))


def cp1252_safe(*texts: str) -> bool:
    try:
        for text in texts:
            text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def first_forename(forenames: str) -> str:
    return forenames.split(" ", 1)[0]


def draw_name(rng: random.Random, gender: str) -> tuple[str, str]:
    """(surname, forenames); a quarter of people carry a middle name."""
    pool = FEMALE_FORENAMES if gender == "F" else MALE_FORENAMES
    if gender in ("X", "U"):
        pool = MALE_FORENAMES + FEMALE_FORENAMES
    first = _pick(rng, pool)
    forenames = first
    if rng.random() < 0.25:
        middle = _pick(rng, pool)
        if middle != first:
            forenames = f"{first} {middle}"
    return _pick(rng, SURNAMES), forenames


def swapped_day_month(value: date) -> date | None:
    """The date with day and month transposed, when that is a different real date."""
    if value.day > 12 or value.day == value.month:
        return None
    return value.replace(month=value.day, day=value.month)


def _pick(rng: random.Random, table: list[tuple[str, float]]) -> str:
    return rng.choices([name for name, _ in table], weights=[w for _, w in table], k=1)[0]
