"""Criminal-justice careers: where each member truly is, and the events that move them.

Every member has a Timeline (pipelines.synth.model).  Before any feed is generated this
module plans the careers that hold a member for days or months, so that the feeds'
random arrests, hearings and appointments can keep clear of them:

- members serving a sentence at the world's start are IN_PRISON until their release;
- remands: an arrest charged and remanded (CHARGED_REMANDED) is heard at the adult
  court's next sitting, remanded in custody (PR; youths SA), and again every 3-10 days
  until a hearing bails them (CB) or sentences them;
- some adults holding a NOMS number are sentenced to imprisonment (1002): a custody
  released some weeks later, on licence to the end of the sentence, listed in every
  Monday release schedule from the next Monday;
- some members released on licence in the period are recalled: a NICHE arrest for
  breach of licence, TRANSFERRED to the prison service hours later, then listed again
  with a PRRD release date (a fixed-term recall of 14 or 28 days);
- a few arrests are never closed on NICHE: 96 hours on, the member's whereabouts are
  UNKNOWN.

The feeds write these events as ordinary rows, and truth["cjs_locations"] is what these
rules read from them (each change `[at, location, cause]`, up to D 00:00):
an arrest puts the member in POLICE_CUSTODY (`arrest`); its outcome makes them
REMANDED_IN_CUSTODY if CHARGED_REMANDED, IN_PRISON if TRANSFERRED while on licence
(`recall`; else UNKNOWN), else at liberty (`arrest_outcome`); an arrest still without an
outcome 96 hours on leaves them UNKNOWN (`no_outcome`); a hearing at 17:00 imprisons
(result 1002), remands (PR, SA) or frees them (`court`); a release schedule dated F
listing a release on or after F means IN_PRISON at F 00:00 (`release_schedule`); the
release date R in the newest schedule on or before R frees them at 09:00 (`release`);
the day after the licence expires, 00:00, ON_LICENCE becomes COMMUNITY
(`licence_expiry`).  At liberty is ON_LICENCE while the latest release's licence runs,
else COMMUNITY.
Members' arrests outside these careers are never remanded or transferred, and their
court hearings never remand in custody or imprison, so every custodial spell in the
data belongs to a career that ends as the feeds show.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta

from pipelines.synth.catalogue import OFFENCES, REMANDS, SENTENCES_ADULT, SENTENCES_YOUTH
from pipelines.synth.courts import ADULT_COURT, YOUTH_COURT, next_sitting
from pipelines.synth.model import (
    AT_LIBERTY,
    IN_PRISON,
    POLICE_CUSTODY,
    REMANDED,
    TRANSFERRED,
    UNKNOWN,
    Custody,
    Member,
    Person,
    ReleaseVersion,
    Timeline,
)
from pipelines.synth.plan import MessPlan
from pipelines.synth.population import PRISONS, SETTLED, WOMENS_PRISONS, World
from pipelines.synth.randomness import scaled, stream, weighted

REMAND_CAREERS = (14.0, 22.0)  # at scale 1 over 60 days (proportionally more for longer periods)
PERIOD_DAYS = 60
NOMS_SHARE = 0.7  # of remand careers given to members known to prisons (holding a NOMS number)
NEVER_CLOSED = (1.0, 3.0)
IMPRISONMENT_SHARE = 0.7  # of career sentences for adults holding a NOMS number
RECALL_SHARE = 0.5  # of members released on licence with time left to be recalled
SHORT_LICENCE_SHARE = 0.5  # of members released early in the period: short sentences, short licences
MAX_REMANDS = 3
MARGIN = timedelta(hours=2)  # kept clear around a spell, so events never share a moment
NO_OUTCOME_AFTER = timedelta(hours=96)
HEARING_AT = time(17, 0)
RELEASE_AT = time(9, 0)
RECALL_OFFENCE = ("CA03001", "Breach of licence conditions - recall to prison")
CAREER_OFFENCES = [entry for entry in OFFENCES if entry[0] != RECALL_OFFENCE[0]]
NON_CUSTODIAL_ADULT = [entry for entry in SENTENCES_ADULT if all(code != "1002" for code, _ in entry[0])]
IMPRISONMENT = [("1002", "Imprisonment")]
FAR = timedelta(days=3650)


@dataclass(slots=True)
class CareerArrest:
    """An arrest a career needs; arrests.build writes it like any other."""

    person: Person
    at: datetime
    outcome: str  # "" for a custody record never closed
    outcome_at: datetime | None
    offence: tuple[str, str] | None = None  # None: drawn like any arrest's


@dataclass(slots=True)
class CareerCase:
    """One prosecution: its URN is given at its first hearing and kept after."""

    person: Person
    offence: tuple[str, str]
    urn: str | None = None


@dataclass(slots=True)
class CareerHearing:
    case: CareerCase
    court: str
    day: date
    remand: str
    results: list[tuple[str, str]]
    next_hearing: tuple[date, str] | None


@dataclass(slots=True)
class Careers:
    arrests: list[CareerArrest] = field(default_factory=list)
    hearings: dict[tuple[str, date], list[CareerHearing]] = field(default_factory=lambda: defaultdict(list))


def plan_careers(world: World, plan: MessPlan) -> Careers:
    """Give every member a timeline and plan the careers (custodies join world.custodies)."""
    rng = stream(world.seed, "careers")
    careers = Careers()
    for member in world.members:
        member.person.timeline = Timeline()
    released: list[tuple[Member, Custody, date, date | None]] = []
    for custody in [c for c in world.custodies if c.person.iom_id]:
        timeline = _timeline(custody.person)
        timeline.start = IN_PRISON
        release = custody.versions[-1].release_date
        # No appointment or hearing on the day of release either (out at 09:00).
        timeline.hold(datetime.min, datetime.combine(release, RELEASE_AT) + MARGIN, custodial=True)
        if release + timedelta(days=20) <= world.last and rng.random() < SHORT_LICENCE_SHARE:
            _shorten_licence(rng, custody, release, world.last)
        seen = _release(world, custody)
        if seen is not None:
            released.append((world.member_of[custody.person.person_id], custody, *seen))
    reserved = _reserve_deliberate(world, plan)
    bookings = _Bookings(rng, world.custodies)
    pool = [m for m in world.members if _eligible(m, reserved)]
    rng.shuffle(pool)
    span = (world.last - world.first).days
    volume = world.scale * (span + 1) / PERIOD_DAYS
    wanted = scaled(rng, *REMAND_CAREERS, volume)
    while wanted > 0 and pool:
        # Those remanded are often known to prisons already.
        member = _take(pool, known_to_prisons=rng.random() < NOMS_SHARE)
        day = world.first + timedelta(days=rng.randint(1, max(1, span - 8)))
        custody = _remand_career(rng, world, careers, member, day, bookings)
        wanted -= 1
        if custody is not None:
            seen = _release(world, custody)
            if seen is not None:
                released.append((member, custody, *seen))
    for member, custody, release, expiry in released:
        if expiry is not None and expiry >= release and rng.random() < RECALL_SHARE:
            if member.person.person_id not in reserved and _arrestable(member.person):
                _recall(rng, world, careers, member, custody, release, expiry, bookings)
    for _ in range(scaled(rng, *NEVER_CLOSED, volume)):
        if pool:
            _never_closed(rng, world, careers, pool.pop())
    return careers


def record_arrest(person: Person, at: datetime, outcome: str, outcome_at: datetime | None) -> None:
    """An arrest as written in the feed, on the member's timeline (CONTRACT 3.2 outcomes)."""
    timeline = _timeline(person)
    timeline.change(at, POLICE_CUSTODY, "arrest")
    if not outcome or outcome_at is None:
        timeline.change(at + NO_OUTCOME_AFTER, UNKNOWN, "no_outcome")
    elif outcome == "CHARGED_REMANDED":
        timeline.change(outcome_at, REMANDED, "arrest_outcome")
    elif outcome == "TRANSFERRED":
        timeline.change(outcome_at, TRANSFERRED, "arrest_outcome")
    else:
        timeline.change(outcome_at, AT_LIBERTY, "arrest_outcome")


def members_on_register(world: World, plan: MessPlan) -> list[Member]:
    """Members on at least one register snapshot written (status is never lost again)."""
    written = [day for day in world.days if day != plan.skipped_snapshot]
    return [m for m in world.members if written and m.nominated_on <= written[-1]]


# --------------------------------------------------------------------------- careers


def _remand_career(
    rng: random.Random, world: World, careers: Careers, member: Member, day: date, bookings: _Bookings
) -> Custody | None:
    """Arrested, charged and remanded; remanded at each hearing until bailed or sentenced."""
    person = member.person
    timeline = _timeline(person)
    at = datetime.combine(day, time(rng.randint(6, 22), rng.randint(0, 59)))
    outcome_at = at + timedelta(minutes=rng.randint(14 * 60, 30 * 60))
    offence = rng.choices(CAREER_OFFENCES, weights=[w for _, _, w in CAREER_OFFENCES], k=1)[0][:2]
    case = CareerCase(person, (offence[0], offence[1]))
    remand = "SA" if person.young else "PR"
    last_court_day = world.last - timedelta(days=1)
    hearings: list[CareerHearing] = []
    court, hearing_day = ADULT_COURT, next_sitting(ADULT_COURT, outcome_at.date())
    custody: Custody | None = None
    end = datetime.combine(world.last, time(0)) + FAR  # still remanded when the data ends
    while hearing_day <= last_court_day:
        if not hearings or (len(hearings) < MAX_REMANDS and rng.random() < 0.25):
            # Youths come back before the youth court once the weekend remand court is past.
            target = YOUTH_COURT if person.young else ADULT_COURT
            again = next_sitting(target, hearing_day + timedelta(days=rng.randint(3, 10)))
            hearings.append(CareerHearing(case, court, hearing_day, remand, [REMANDS[remand]], (again, target)))
            court, hearing_day = target, again
            continue
        heard = datetime.combine(hearing_day, HEARING_AT)
        if rng.random() < 0.35:
            bail_to = next_sitting(court, hearing_day + timedelta(days=rng.randint(14, 56)))
            hearings.append(CareerHearing(case, court, hearing_day, "CB", [REMANDS["CB"]], (bail_to, court)))
            end = heard
        elif not person.young and person.noms and rng.random() < IMPRISONMENT_SHARE:
            hearings.append(CareerHearing(case, court, hearing_day, "NA", list(IMPRISONMENT), None))
            custody = _sentence(rng, world, member, hearing_day, bookings)
            end = datetime.combine(custody.versions[-1].release_date, RELEASE_AT)
        else:
            sentence = weighted(rng, SENTENCES_YOUTH if person.young else NON_CUSTODIAL_ADULT)
            hearings.append(CareerHearing(case, court, hearing_day, "NA", list(sentence), None))
            end = heard
        break
    if not timeline.free(at - MARGIN, end + MARGIN):
        return None
    timeline.hold(at - MARGIN, outcome_at)
    timeline.hold(outcome_at, end + MARGIN, custodial=True)
    careers.arrests.append(CareerArrest(person, at, "CHARGED_REMANDED", outcome_at, case.offence))
    for hearing in hearings:
        careers.hearings[(hearing.court, hearing.day)].append(hearing)
        timeline.change(datetime.combine(hearing.day, HEARING_AT), _hearing_location(hearing), "court")
    if custody is not None:
        world.custodies.append(custody)
    return custody


def _hearing_location(hearing: CareerHearing) -> str:
    """CONTRACT-level reading of a hearing: imprisonment, else remanded in custody or not."""
    if any(code == "1002" for code, _ in hearing.results):
        return IN_PRISON
    return REMANDED if hearing.remand in ("PR", "SA") else AT_LIBERTY


def _sentence(rng: random.Random, world: World, member: Member, day: date, bookings: _Bookings) -> Custody:
    """A short sentence: released after serving part of it, on licence for the rest."""
    person = member.person
    served = rng.randint(10, 42)
    listed_from = _next_monday(day)
    release = max(day + timedelta(days=served), listed_from)
    licence_expiry = release + timedelta(days=rng.randint(7, served + 7))
    prison_id, _ = weighted(rng, WOMENS_PRISONS if person.gender == "F" else PRISONS)
    version = _version(rng, member, release, weighted(rng, [("CRD", 70), ("CONFIRMED", 30)]), licence_expiry)
    return Custody(person, prison_id, bookings.next(), [version], listed_from=listed_from)


def _recall(
    rng: random.Random,
    world: World,
    careers: Careers,
    member: Member,
    custody: Custody,
    release: date,
    expiry: date,
    bookings: _Bookings,
) -> None:
    """Licence revoked: arrested, handed to the prison service, back out after a fixed term."""
    earliest = release + timedelta(days=3)
    latest = min(expiry - timedelta(days=1), world.last - timedelta(days=3))
    if earliest > latest:
        return
    person = member.person
    timeline = _timeline(person)
    day = earliest + timedelta(days=rng.randint(0, (latest - earliest).days))
    at = datetime.combine(day, time(rng.randint(6, 21), rng.randint(0, 59)))
    outcome_at = at + timedelta(minutes=rng.randint(120, 360))
    listed_from = _next_monday(outcome_at.date())
    back = max(outcome_at.date() + timedelta(days=rng.choice((14, 28))), listed_from)
    out_at = datetime.combine(back, RELEASE_AT)
    if not timeline.free(at - MARGIN, out_at + MARGIN):
        return
    timeline.hold(at - MARGIN, outcome_at)
    timeline.hold(outcome_at, out_at + MARGIN, custodial=True)
    careers.arrests.append(CareerArrest(person, at, "TRANSFERRED", outcome_at, RECALL_OFFENCE))
    # A fixed-term recall does not extend the licence: released after it has expired, free.
    version = _version(rng, member, back, "PRRD", expiry)
    recall = Custody(person, custody.prison_id, bookings.next(), [version], listed_from=listed_from)
    world.custodies.append(recall)
    _release(world, recall)


def _never_closed(rng: random.Random, world: World, careers: Careers, member: Member) -> None:
    """An arrest whose custody record is never closed: NICHE shows it pending for ever."""
    span = (world.last - world.first).days
    day = world.first + timedelta(days=rng.randint(1, max(1, span - 6)))
    at = datetime.combine(day, time(rng.randint(8, 22), rng.randint(0, 59)))
    timeline = _timeline(member.person)
    if timeline.free(at - MARGIN, at + NO_OUTCOME_AFTER + MARGIN):
        timeline.hold(at - MARGIN, at + NO_OUTCOME_AFTER + MARGIN)
        careers.arrests.append(CareerArrest(member.person, at, "", None))


def _shorten_licence(rng: random.Random, custody: Custody, release: date, last: date) -> None:
    """A short sentence: the licence ends a few weeks after release (the end of the sentence),
    mostly within the period."""
    expiry = release + timedelta(days=rng.randint(10, min(35, max(10, (last - release).days - 2))))
    for version in custody.versions:
        if version.licence_expiry is not None:
            version.licence_expiry = expiry


def _release(world: World, custody: Custody) -> tuple[date, date | None] | None:
    """The release the schedule shows (in the newest file on or before its date), if in the
    period: the member is back at liberty at 09:00 that day."""
    release = custody.versions[-1].release_date
    newest_file = release - timedelta(days=release.weekday())
    if release > world.last or newest_file < max(world.first, custody.listed_from):
        return None
    version = custody.as_of(newest_file)
    if version.release_date != release:
        raise AssertionError(f"release of {custody.person.person_id} not in the schedule dated {newest_file}")
    _timeline(custody.person).change(datetime.combine(release, RELEASE_AT), AT_LIBERTY, "release", version.licence_expiry)
    return release, version.licence_expiry


def _version(rng: random.Random, member: Member, release: date, date_type: str, licence_expiry: date | None) -> ReleaseVersion:
    placement = member.placement(release)
    settled = SETTLED[placement.division]
    accommodation = weighted(rng, [("SETTLED", settled), ("TEMPORARY", (1 - settled) * 0.6), ("NFA", (1 - settled) * 0.4)])
    return ReleaseVersion(
        effective=date.min,
        release_date=release,
        date_type=date_type,
        accommodation=accommodation,
        release_postcode=placement.postcode if accommodation in ("SETTLED", "TEMPORARY") else None,
        licence_expiry=licence_expiry,
    )


# --------------------------------------------------------------------------- helpers


def _reserve_deliberate(world: World, plan: MessPlan) -> set[str]:
    """The deliberate cases' members stay out of careers; those arrested or heard on D-1
    are kept clear of other arrests around it, so the planned rows stay as planned."""
    reserved: set[str] = set()
    for spec in fields(plan):
        value = getattr(plan, spec.name)
        for member in value if isinstance(value, tuple) else (value,):
            if isinstance(member, Member):
                reserved.add(member.person.person_id)
    held_from = datetime.combine(plan.d1, time(0)) - MARGIN
    arrested = [*plan.arrest_boundary, plan.arrest_updated, plan.arrest_pending, plan.swapped, plan.wrong_check]
    for member in [*arrested, plan.padded_niche]:
        _timeline(member.person).hold(held_from, held_from + FAR)
    for member in plan.court_members:  # heard at the last sitting on or before D-1
        _timeline(member.person).hold(held_from - timedelta(days=3), held_from + FAR)
    return reserved


def _eligible(member: Member, reserved: set[str]) -> bool:
    person = member.person
    return (
        member.selected_on is not None
        and member.deselected_on is None
        and person.person_id not in reserved
        and _arrestable(person)
        and _timeline(person).start != IN_PRISON
    )


def _take(pool: list[Member], *, known_to_prisons: bool) -> Member:
    """The last member of the pool who holds a NOMS number (or not), else the last one."""
    for position in range(len(pool) - 1, -1, -1):
        if (pool[position].person.noms is not None) == known_to_prisons:
            return pool.pop(position)
    return pool.pop()


def _arrestable(person: Person) -> bool:
    """Written by NICHE (Windows-1252) with an identifier, so the arrest is certainly theirs."""
    return person.cp1252 and (person.niche is not None or person.pnc is not None)


def _timeline(person: Person) -> Timeline:
    if person.timeline is None:
        raise AssertionError(f"{person.person_id} has no timeline (not a member)")
    return person.timeline


def _next_monday(day: date) -> date:
    return day + timedelta(days=7 - day.weekday())


class _Bookings:
    """Prison booking numbers unique across every custody."""

    def __init__(self, rng: random.Random, custodies: list[Custody]) -> None:
        self._rng = rng
        self._used = {c.booking_id for c in custodies}

    def next(self) -> str:
        while True:
            booking = f"{self._rng.randint(1_000_000, 9_999_999)}"
            if booking not in self._used:
                self._used.add(booking)
                return booking
