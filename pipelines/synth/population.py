"""Builds the world's people: cohort members with their register histories, and the
several-times-larger crowd of other flagged nominals, defendants, prisoners and clients.

All counts are multiplied by `scale`; every step is a single pass over people, so a
national-volume world (scale 50-100) costs only proportionally more.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from pipelines.identifiers import format_cro, format_pnc
from pipelines.synth.clock import days_between
from pipelines.synth.identity import IdentityIndex
from pipelines.synth.model import Custody, Member, Person, Placement, ReleaseVersion
from pipelines.synth.names import (
    SURNAMES,
    cp1252_safe,
    draw_name,
    first_forename,
    loose_key,
    name_key,
    nicknames_of,
    swapped_day_month,
)
from pipelines.synth.randomness import scaled, stream, weighted
from pipelines.synth.variations import DECOY_KINDS, checked

TARGET_ACTIVE = 600
INITIAL_NOMINATED = 60
HISTORIC_DESELECTED = 120
OTHERS_PER_MEMBER = 5
OTHER_PRISONERS = 170
DECOYS = (60, 100)  # non-members deliberately close to a member, at scale 1
NEW_SURNAME_SHARE = 0.015  # members whose surname changed since they were registered

# (surname, forenames, gender): names common enough that sharing one proves nothing.
COMMON_NAMES: list[tuple[str, str, str]] = [
    ("Smith", "John", "M"),
    ("Smith", "James", "M"),
    ("Smith", "David", "M"),
    ("Smith", "Michael", "M"),
    ("Smith", "Sarah", "F"),
    ("Jones", "David", "M"),
    ("Jones", "Lee", "M"),
    ("Brown", "Michael", "M"),
    ("Taylor", "John", "M"),
    ("Williams", "Daniel", "M"),
    ("Wilson", "James", "M"),
    ("Khan", "Mohammed", "M"),
    ("Khan", "Imran", "M"),
    ("Hussain", "Mohammed", "M"),
    ("Ali", "Mohammed", "M"),
    ("Ahmed", "Mohammed", "M"),
]

DIVISION_WEIGHTS: list[tuple[str, float]] = [("CH", 40), ("NE", 32), ("NW", 28)]
DISTRICTS: dict[str, list[str]] = {
    "CH": ["LS1", "LS2", "LS3", "LS9", "LS10", "LS11", "LS12"],
    "NE": ["LS7", "LS8", "LS14", "LS15", "LS17", "LS25"],
    "NW": ["LS4", "LS5", "LS6", "LS13", "LS16", "LS18", "LS19", "LS28"],
}
# Non-members come from anywhere in West Yorkshire, not only Leeds.
OUT_OF_AREA = ["BD3", "BD5", "BD8", "WF1", "WF10", "HD1", "HX1", "LS26", "LS27"]
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

# Divisions differ in how well cases are managed, so the traffic lights are not all green.
REVIEW_SLIP = {"CH": 0.12, "NE": 0.30, "NW": 0.06}
PLAN_LAPSE = {"CH": 0.05, "NE": 0.12, "NW": 0.01}
ARREST_PROPENSITY = {"CH": 1.3, "NE": 1.0, "NW": 0.6}
RELIABILITY = {"CH": 0.84, "NE": 0.76, "NW": 0.9}
SETTLED = {"CH": 0.72, "NE": 0.62, "NW": 0.88}

PRISONS: list[tuple[tuple[str, str], float]] = [
    (("LEI", "HMP Leeds"), 55),
    (("WEI", "HMP Wealstun"), 10),
    (("MDI", "HMP Moorland"), 8),
    (("DNI", "HMP Doncaster"), 8),
    (("HLI", "HMP Hull"), 6),
    (("WDI", "HMP Wakefield"), 3),
    (("LHI", "HMP Lindholme"), 3),
]
WOMENS_PRISONS: list[tuple[tuple[str, str], float]] = [(("NHI", "HMP New Hall"), 80), (("AGI", "HMP Askham Grange"), 20)]
RELEASE_TYPES: list[tuple[str, float]] = [
    ("CRD", 45),
    ("HDCAD", 15),
    ("ARD", 10),
    ("PRRD", 8),
    ("PED", 8),
    ("CONFIRMED", 10),
    ("APD", 2),
    ("NPD", 1),
    ("SED", 1),
]
DESELECTION_REASONS = [
    "Reduced offending - no longer meets criteria",
    "Moved out of area",
    "Long-term custodial sentence",
    "Transferred to MAPPA management",
    "Completed programme",
]


@dataclass(slots=True)
class World:
    seed: int
    scale: float
    first: date
    last: date
    persons: list[Person]
    members: list[Member]  # in iom_id order
    member_of: dict[str, Member]  # by person_id
    others: list[Person]  # never on the register
    decoys: list[Person]  # never on the register; written only without identifiers
    custodies: list[Custody]
    index: IdentityIndex
    identifierless_share: float  # of members' court and attendance rows (half of that for arrests)

    @property
    def days(self) -> list[date]:
        return days_between(self.first, self.last)


def build_world(seed: int, first: date, last: date, scale: float, identifierless_share: float = 0.1) -> World:
    rng = stream(seed, "population")
    factory = _PeopleFactory(rng, first, last)
    members = _build_members(rng, factory, first, last, scale)
    custodies = _member_custodies(rng, members, first, last, factory.booking)
    others = [factory.make_other(young=rng.random() < 0.1) for _ in range(round(OTHERS_PER_MEMBER * len(members)))]
    for _ in range(round(OTHER_PRISONERS * scale)):
        prisoner = factory.make_other(young=False, prisoner=True)
        release = first + timedelta(days=rng.randint(-5, (last - first).days + 100))
        custodies.append(_custody(rng, prisoner, factory.booking(), release, first, last, settled=0.6))
        others.append(prisoner)
    decoys = _decoys(stream(seed, "decoys"), factory, members, first, scale)
    persons = [member.person for member in members] + others + decoys
    persons.sort(key=lambda person: person.person_id)
    index = IdentityIndex(persons, last)
    _new_surnames(stream(seed, "new-surnames"), members, index)
    return World(
        seed=seed,
        scale=scale,
        first=first,
        last=last,
        persons=persons,
        members=members,
        member_of={member.person.person_id: member for member in members},
        others=others,
        decoys=decoys,
        custodies=custodies,
        index=index,
        identifierless_share=identifierless_share,
    )


# --------------------------------------------------------------------------- people


class _IdAllocator:
    """Identifiers unique across everyone, so no two people can ever be confused by one."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def _claim(self, make: Callable[[], str]) -> str:
        while True:
            value = make()
            if value not in self._used:
                self._used.add(value)
                return value

    def pnc(self, year: int) -> tuple[str, tuple[int, int]]:
        rng = self._rng
        parts: list[int] = []

        def make() -> str:
            # Most serials are short enough to have leading zeros, so "without leading
            # zeros" is a real variant to write.
            serial = rng.randint(1, 999_999) if rng.random() < 0.9 else rng.randint(1_000_000, 9_999_999)
            parts[:] = [serial]
            return format_pnc(year, serial)

        value = self._claim(make)
        return value, (year, parts[0])

    def cro(self, year: int) -> str:
        return self._claim(lambda: format_cro(self._rng.randint(1, 999_999), year % 100))

    def noms(self) -> str:
        rng = self._rng
        return self._claim(
            lambda: (
                f"{rng.choice('AAAAG')}{rng.randint(0, 9999):04d}{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}"
                f"{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}"
            )
        )

    def crn(self) -> str:
        rng = self._rng
        return self._claim(lambda: f"{rng.choice('XDEFHJKLMNPRTV')}{rng.randint(100000, 999999)}")

    def niche(self) -> str:
        return self._claim(lambda: f"NN{self._rng.randint(100000, 999999)}")

    def yos_ref(self) -> str:
        return self._claim(lambda: f"YJ{self._rng.randint(100000, 999999)}")

    def booking(self) -> str:
        return self._claim(lambda: f"{self._rng.randint(1_000_000, 9_999_999)}")


class _NameGuard:
    """Keeps every person's name and date of birth apart from everyone else's.

    Beyond exact (surname, forenames, dob) triples it also keeps (surname, dob),
    (surname, dob with day and month swapped) and (first forename, dob) unique, so a
    linker's fuzzy rules cannot join two different synthetic people by accident: the
    only near-misses in the data are the deliberate ones.
    """

    def __init__(self) -> None:
        self._surname_dob: set[tuple[str, date]] = set()
        self._forename_dob: set[tuple[str, date]] = set()

    def claim(self, surname: str, forenames: str, dob: date, *, twin: bool = False) -> bool:
        """`twin`: a deliberate decoy sharing surname and date of birth with a member;
        only its forename must be apart."""
        surname_key = name_key(surname)
        forename_key = name_key(first_forename(forenames))
        swapped = swapped_day_month(dob)
        if (forename_key, dob) in self._forename_dob:
            return False
        if not twin and (surname_key, dob) in self._surname_dob:
            return False
        if not twin and swapped is not None and (surname_key, swapped) in self._surname_dob:
            return False
        self._surname_dob.add((surname_key, dob))
        self._forename_dob.add((forename_key, dob))
        return True


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


class _PeopleFactory:
    def __init__(self, rng: random.Random, first: date, last: date) -> None:
        self._rng = rng
        self._first = first
        self._last = last
        self._ids = _IdAllocator(rng)
        self._names = _NameGuard()
        self._count = 0

    def booking(self) -> str:
        return self._ids.booking()

    def postcode(self, division: str | None) -> str:
        rng = self._rng
        district = rng.choice(DISTRICTS[division] if division else OUT_OF_AREA)
        return f"{district} {rng.randint(1, 9)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"

    def _dob(self, young: bool) -> date:
        rng = self._rng
        if young:
            # Under 18 throughout the period, old enough to be known to the YOS.
            oldest = _years_before(self._last, 18) + timedelta(days=1)
            youngest = _years_before(self._first, 14)
            return oldest + timedelta(days=rng.randint(0, max(0, (youngest - oldest).days)))
        years = 18 + int(42 * rng.random() ** 1.6)
        return _years_before(self._first, years) - timedelta(days=rng.randint(0, 364))

    def _person(self, young: bool, division: str | None) -> Person:
        rng = self._rng
        gender = weighted(rng, [("M", 86), ("F", 13), ("X", 0.5), ("U", 0.5)])
        while True:
            dob = self._dob(young)
            surname, forenames = draw_name(rng, gender)
            if self._names.claim(surname, forenames, dob):
                break
        self._count += 1
        home: str | None = division or weighted(rng, [*DIVISION_WEIGHTS, (None, 25.0)])
        return Person(
            person_id=f"P{self._count:06d}",
            surname=surname,
            forenames=forenames,
            dob=dob,
            gender=gender,
            postcode=self.postcode(home),
            division=home or "",
            young=young,
            cp1252=cp1252_safe(surname, forenames),
            propensity=rng.expovariate(1.0),
        )

    def _identifiers(self, person: Person, rates: dict[str, float]) -> None:
        rng = self._rng
        if rng.random() < rates["niche"]:
            person.niche = self._ids.niche()
        if rng.random() < rates["pnc"]:
            year = min(self._first.year, max(1986, person.dob.year + rng.randint(11, 24)))
            person.pnc, person.pnc_parts = self._ids.pnc(year)
            if rng.random() < rates["cro"]:
                person.cro = self._ids.cro(min(self._first.year, year + rng.randint(0, 3)))
        if rng.random() < rates["noms"]:
            person.noms = self._ids.noms()
        if not person.young and rng.random() < rates["crn"]:
            person.crn = self._ids.crn()
        if person.young and rng.random() < rates["yos"]:
            person.yos_ref = self._ids.yos_ref()

    def make_decoy(self, kind: str, target: Person | None, member_dobs: set[date]) -> Person | None:
        """A non-member close to `target` in the way `kind` says, or None if no draw fits.

        Decoys hold no identifiers: they reach the feeds only as rows without any.
        """
        rng = self._rng
        oldest, youngest = date(1935, 1, 1), _years_before(self._first, 18)
        gender = target.gender if target else "M"
        if kind == "twin" and target and rng.random() < 0.15:
            gender = "F" if target.gender == "M" else "M"
        postcode = self.postcode(weighted(rng, [*DIVISION_WEIGHTS, (None, 25.0)]))
        for _ in range(30):
            if kind == "same_name_other_dob" and target:
                surname, forenames = target.surname, target.forenames
                dob = target.dob + timedelta(days=rng.choice((-1, 1)) * rng.randint(3 * 365, 15 * 365))
            elif kind == "twin" and target:
                surname, dob = target.surname, target.dob
                _, forenames = draw_name(rng, gender)
                if _related(first_forename(forenames), first_forename(target.forenames)):
                    continue
            elif kind == "father_son" and target:
                surname, forenames = target.surname, target.forenames
                dob = target.dob - timedelta(days=rng.randint(20 * 365 + 5, 30 * 365 + 5))
                postcode = target.postcode
            elif kind == "common_name":
                surname, forenames, gender = rng.choice(COMMON_NAMES)
                dob = self._dob(young=False)
                if dob in member_dobs:
                    continue
            else:
                raise ValueError(f"decoy {kind} needs a member")
            if oldest <= dob <= youngest and self._names.claim(surname, forenames, dob, twin=kind == "twin"):
                break
        else:
            return None
        self._count += 1
        return Person(
            person_id=f"P{self._count:06d}",
            surname=surname,
            forenames=forenames,
            dob=dob,
            gender=gender,
            postcode=postcode,
            division="",
            young=False,
            cp1252=cp1252_safe(surname, forenames),
            propensity=rng.expovariate(1.0),
            decoy=kind,
            decoy_of=target.person_id if target else None,
        )

    def make_member(self, young: bool, division: str) -> Person:
        person = self._person(young, division)
        rates = {
            "niche": 0.97,
            "pnc": 0.8 if young else 0.97,
            "cro": 0.25 if young else 0.7,
            "noms": 0.05 if young else 0.4,
            "crn": 0.65,
            "yos": 1.0,
        }
        self._identifiers(person, rates)
        return person

    def make_other(self, young: bool, prisoner: bool = False) -> Person:
        person = self._person(young, None)
        rates = {
            "niche": 0.9,
            "pnc": 0.5 if young else 0.85,
            "cro": 0.1 if young else 0.5,
            "noms": 1.0 if prisoner else 0.12,
            "crn": 0.25,
            "yos": 0.6,
        }
        self._identifiers(person, rates)
        person.prisoner = prisoner
        return person


def _related(first: str, other: str) -> bool:
    """Forenames one could take for the other (the same, or a nickname of it)."""
    if loose_key(first) == loose_key(other):
        return True
    return first in nicknames_of(other) or other in nicknames_of(first)


def _decoys(rng: random.Random, factory: _PeopleFactory, members: list[Member], first: date, scale: float) -> list[Person]:
    """Non-members who look like members: same name, other dob; a twin; a father of the
    same name at the same address; a very common name.  Kinds come round in turn."""
    targets = [
        m.person
        for m in members
        if not m.person.young and m.selected_on is not None and (m.deselected_on is None or m.deselected_on >= first)
    ]
    rng.shuffle(targets)
    member_dobs = {m.person.dob for m in members}
    used: set[str] = set()
    decoys: list[Person] = []
    for number in range(scaled(rng, DECOYS[0], DECOYS[1], scale)):
        kind = DECOY_KINDS[number % len(DECOY_KINDS)]
        if kind == "common_name":
            decoy = factory.make_decoy(kind, None, member_dobs)
        else:
            decoy = None
            for target in targets:
                if target.person_id in used or (kind == "father_son" and target.gender != "M"):
                    continue
                decoy = factory.make_decoy(kind, target, member_dobs)
                if decoy is not None:
                    used.add(target.person_id)
                    break
        if decoy is not None:
            decoys.append(decoy)
    return decoys


def _new_surnames(rng: random.Random, members: list[Member], index: IdentityIndex) -> None:
    """A few members have married or changed their name: feeds that hold no identifier
    for them write the new surname, the register still has the old one."""
    pool = [m.person for m in members if m.selected_on is not None and m.deselected_on is None]
    rng.shuffle(pool)
    surnames = sorted({name for name, _ in SURNAMES if cp1252_safe(name)})
    wanted = round(NEW_SURNAME_SHARE * len(members))
    for person in pool:
        if wanted <= 0:
            break
        new = rng.choice(surnames)
        if loose_key(new) == loose_key(person.surname):
            continue
        if checked(index, person, "new_surname", new, person.forenames, person.dob, cp1252=False) is None:
            continue
        person.new_surname = new
        wanted -= 1


# --------------------------------------------------------------------------- members


def _build_members(rng: random.Random, factory: _PeopleFactory, first: date, last: date, scale: float) -> list[Member]:
    window = days_between(first, last)
    conferences = [day for day in window if day.weekday() == 2]  # weekly case conference

    nominees: list[Member] = []
    for _ in range(round(INITIAL_NOMINATED * scale)):
        nominees.append(_new_member(rng, factory, first - timedelta(days=rng.randint(1, 70))))
    for day in window:
        if day.weekday() < 5:
            for _ in range(scaled(rng, 0.3, 0.6, scale)):
                nominees.append(_new_member(rng, factory, day))

    # Case conferences select from the nominees and deselect from the active cohort; the
    # register shows a decision a day or two later (data entry lag).
    net_change = 0
    deselections: list[tuple[date, date]] = []
    for conference in conferences:
        ready = [m for m in nominees if m.selected_on is None and m.nominated_on <= conference - timedelta(days=10)]
        rng.shuffle(ready)
        for member in ready[: scaled(rng, 1.5, 3.5, scale)]:
            _select(rng, member, conference, conference + timedelta(days=rng.choice((0, 0, 0, 1, 2))), last)
            net_change += member.selection_seen is not None and member.selection_seen <= last
        for _ in range(scaled(rng, 1.0, 2.5, scale)):
            seen = conference + timedelta(days=rng.choice((0, 0, 1, 2)))
            deselections.append((conference, seen))
            net_change -= seen <= last

    actives: list[Member] = []
    for _ in range(max(0, round(TARGET_ACTIVE * scale) - net_change)):
        selected = first - timedelta(days=1 + int(1100 * rng.random() ** 1.5))
        member = _new_member(rng, factory, selected - timedelta(days=rng.randint(10, 60)))
        _select(rng, member, selected, selected, last)
        actives.append(member)

    candidates = list(actives)
    rng.shuffle(candidates)
    for (conference, seen), member in zip(deselections, candidates, strict=False):
        _deselect(rng, member, conference, seen)

    historic: list[Member] = []
    for _ in range(round(HISTORIC_DESELECTED * scale)):
        selected = first - timedelta(days=rng.randint(200, 1800))
        member = _new_member(rng, factory, selected - timedelta(days=rng.randint(10, 60)))
        _select(rng, member, selected, selected, last)
        deselected = min(first - timedelta(days=1), selected + timedelta(days=rng.randint(120, 900)))
        _deselect(rng, member, deselected, deselected)
        member.person.propensity *= 0.3  # deselected because their offending fell
        historic.append(member)

    # A few members move house to another division mid-period.
    movers = [m for m in candidates[len(deselections) :] if m.deselected_on is None]
    for member in movers[: scaled(rng, 1.0, 2.0, scale)]:
        old = member.placements[0].division
        new = rng.choice([division for division, _ in DIVISION_WEIGHTS if division != old])
        postcode = factory.postcode(new)
        member.placements.append(Placement(rng.choice(window[1:] or window), new, postcode))
        member.person.division, member.person.postcode = new, postcode

    members = historic + actives + nominees
    members.sort(key=lambda m: (m.nominated_on, m.person.person_id))
    for number, member in enumerate(members, start=1):
        member.iom_id = f"LDS-{number:06d}"
        member.person.iom_id = member.iom_id
    return members


def _new_member(rng: random.Random, factory: _PeopleFactory, nominated_on: date) -> Member:
    young = rng.random() < 0.05
    division = weighted(rng, DIVISION_WEIGHTS)
    person = factory.make_member(young, division)
    if young:
        strand = weighted(rng, [("PREVENT_DETER", 80), ("REHAB_RESETTLE", 20)])
        manager: str | None = "YOS"
        nominated_by = weighted(rng, [("YOS", 70), ("POLICE", 30)])
    else:
        strand = weighted(rng, [("REHAB_RESETTLE", 55), ("CATCH_CONVICT", 30), ("PREVENT_DETER", 15)])
        if person.crn:
            manager = weighted(rng, [("PROBATION", 70), ("POLICE", 15), ("DIP", 10), ("NON_STATUTORY", 5)])
        else:
            manager = weighted(rng, [("POLICE", 60), ("DIP", 25), ("NON_STATUTORY", 15)])
        nominated_by = weighted(rng, [("POLICE", 50), ("PROBATION", 25), ("DIP", 15), ("NON_STATUTORY", 10)])
    if rng.random() < 0.02:
        manager = None
    risk: str | None = weighted(rng, [("HIGH", 25.0), ("MEDIUM", 50.0), ("LOW", 20.0), (None, 5.0)])
    person.propensity *= ARREST_PROPENSITY[division] * (1.8 if risk == "HIGH" else 1.0)
    person.reliability = min(0.98, max(0.4, rng.gauss(RELIABILITY[division], 0.08)))
    return Member(
        person=person,
        iom_id="",
        nominated_on=nominated_on,
        nominated_by=nominated_by,
        cohort_type=weighted(rng, [("IOM", 80), ("PPO", 20)]),
        strand=strand,
        risk_level=risk,
        case_manager_agency=manager,
        placements=[Placement(date.min, division, person.postcode)],
    )


def _select(rng: random.Random, member: Member, selected_on: date, seen: date, last: date) -> None:
    member.selected_on, member.selection_seen = selected_on, seen
    division = member.placements[0].division
    cadence = 56 if member.risk_level == "HIGH" else 91
    horizon = last + timedelta(days=200)
    neglected_after = rng.randint(1, 12) if rng.random() < 0.02 else None  # reviews stop being held
    due = selected_on + timedelta(days=rng.randint(21, 35))
    while due <= horizon:
        held: date | None
        if neglected_after is not None and len(member.reviews) >= neglected_after:
            member.reviews.append((due, None))
            break
        if rng.random() < REVIEW_SLIP[division]:
            held = due + timedelta(days=rng.randint(3, 60))
        else:
            held = due - timedelta(days=rng.randint(0, 12))
        member.reviews.append((due, held))
        due = held + timedelta(days=cadence)
    if rng.random() < 0.01:
        return  # support plan never agreed
    lapsing = rng.random() < PLAN_LAPSE[division]
    plan = selected_on + timedelta(days=rng.randint(7, 40))
    while plan <= horizon:
        member.plans.append(plan)
        plan += timedelta(days=rng.randint(190, 300) if lapsing else rng.randint(140, 181))


def _deselect(rng: random.Random, member: Member, on: date, seen: date) -> None:
    member.deselected_on, member.deselection_seen = on, seen
    member.deselection_reason = rng.choice(DESELECTION_REASONS)


# --------------------------------------------------------------------------- custody


def _member_custodies(
    rng: random.Random,
    members: list[Member],
    first: date,
    last: date,
    booking: Callable[[], str],
) -> list[Custody]:
    """Some active members are serving sentences; the release schedule lists them."""
    custodies = []
    for member in members:
        person = member.person
        if member.selected_on is None or member.deselected_on is not None or not person.noms or person.young:
            continue
        if rng.random() >= 0.17:  # about 40% hold a NOMS number, so ~7% of actives inside
            continue
        roll = rng.random()
        if roll < 0.3:
            release = first + timedelta(days=rng.randint(3, max(3, (last - first).days - 1)))
        elif roll < 0.7:
            release = last + timedelta(days=rng.randint(0, 45))
        else:
            release = last + timedelta(days=rng.randint(46, 150))
        # A release needs a schedule dated on or before it to be seen (weekly, on Mondays).
        release = max(release, first + timedelta(days=-first.weekday() % 7))
        settled = SETTLED[member.placements[0].division]
        custodies.append(_custody(rng, person, booking(), release, first, last, settled, member.placements[0].postcode))
    return custodies


def _custody(
    rng: random.Random,
    person: Person,
    booking: str,
    release: date,
    first: date,
    last: date,
    settled: float,
    home_postcode: str | None = None,
) -> Custody:
    """A release with the versions the weekly schedule shows over time."""
    person.custody_until = release
    (prison_id, _name) = weighted(rng, WOMENS_PRISONS if person.gender == "F" else PRISONS)
    date_type = weighted(rng, RELEASE_TYPES)
    outcome = weighted(rng, [("SETTLED", settled), ("TEMPORARY", (1 - settled) * 0.6), ("NFA", (1 - settled) * 0.4)])
    licence_days = None if date_type == "SED" else rng.randint(90, 720)
    # Accommodation is often unknown until a few weeks before release.
    known_from = release - timedelta(days=rng.randint(5, 40)) if rng.random() < 0.55 else date.min
    # Some release dates move (parole decisions, HDC approval, added days).
    moved: tuple[date, date, str] | None = None
    if rng.random() < 0.2:
        change = first + timedelta(days=rng.randint(0, max(0, (last - first).days)))
        old_release = release + timedelta(days=rng.choice((-1, 1)) * rng.randint(7, 40))
        if min(old_release, release) - change >= timedelta(days=7):
            moved = (change, old_release, weighted(rng, RELEASE_TYPES))
    points = sorted({date.min, known_from, *((moved[0],) if moved else ())})
    versions = []
    for point in points:
        when, kind = (moved[1], moved[2]) if moved and point < moved[0] else (release, date_type)
        accommodation = outcome if point >= known_from else "UNKNOWN"
        versions.append(
            ReleaseVersion(
                effective=point,
                release_date=when,
                date_type=kind,
                accommodation=accommodation,
                release_postcode=(home_postcode or person.postcode) if accommodation in ("SETTLED", "TEMPORARY") else None,
                licence_expiry=when + timedelta(days=licence_days) if licence_days else None,
            )
        )
    return Custody(person, prison_id, booking, versions)
