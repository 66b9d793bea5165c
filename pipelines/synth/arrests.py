"""arrests/niche_arrests_YYYYMMDD_HHMMSS.csv (CONTRACT 3.2): NICHE custody notifications.

Windows-1252, UK dates.  NICHE is extracted two to four times a day; each extraction
lists arrests opened since the last one and outcomes decided since (an "outcome update":
the whole row again, same custody_ref, now with an outcome).  Arrests are generated per
day, then each is placed in the extraction that would first have seen it.

Members' arrests follow their criminal-justice careers (pipelines.synth.careers): the
careers' own arrests (charged and remanded, recalled to prison, never closed) are added
as they were planned; any other arrest of a member happens only while they are free (not
in police custody, remanded or in prison, nor due in court), is never remanded or
transferred, and is always delivered, so each member's timeline can be read back from
the rows.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import accumulate

from pipelines.identifiers import IdKind
from pipelines.synth.careers import MARGIN, Careers, record_arrest
from pipelines.synth.catalogue import ARREST_OUTCOMES, OFFENCES
from pipelines.synth.clock import autumn_change, spring_change, truth_ts, uk_date, uk_ts
from pipelines.synth.courts import ADULT_COURT, YOUTH_COURT, Appearance, next_sitting
from pipelines.synth.csvio import csv_notes, csv_records, render_csv
from pipelines.synth.idforms import written_pnc, wrong_check_letter
from pipelines.synth.model import Delivery, Member, Person, Row
from pipelines.synth.names import swapped_day_month
from pipelines.synth.plan import MessPlan
from pipelines.synth.population import World
from pipelines.synth.randomness import scaled, stream, weighted
from pipelines.synth.variations import vary

COLUMNS = [
    "custody_ref",
    "niche_nominal_id",
    "pnc_id",
    "surname",
    "forenames",
    "date_of_birth",
    "arrest_datetime",
    "arrest_division",
    "custody_suite",
    "offence_code",
    "offence_description",
    "outcome",
    "outcome_datetime",
    "next_court_date",
]
LEEDS_SUITE = ("EL", "Elland Road")
OTHER_SUITES = [("TH", "Trafalgar House (Bradford)"), ("HV", "Havertop (Wakefield)"), ("HF", "Huddersfield")]
HOUR_WEIGHTS = [2, 1.5, 1, 0.7, 0.5, 0.5, 0.8, 1.5, 2, 2.5, 3, 3, 3, 3, 3.5, 4, 4, 4, 4, 4, 3.5, 3, 3, 2.5]
# Extraction slots after the overnight run: (start, end) minutes past midnight.
DAY_SLOTS = [(7 * 60, 8 * 60 + 50), (12 * 60 + 30, 14 * 60 + 30), (18 * 60, 20 * 60), (22 * 60 + 30, 23 * 60 + 45)]


@dataclass(slots=True)
class _Arrest:
    ref: str
    person: Person
    at: datetime
    division: str
    suite: str
    offence: tuple[str, str]
    outcome: str
    outcome_at: datetime
    next_court: date | None = None
    niche: str = ""
    pnc: str = ""
    dob: date | None = None
    surname: str = ""  # as written
    forenames: str = ""
    variation: str | None = None
    expect_certain: bool = True
    note: tuple[str, str] | None = None
    closed_only: bool = False  # reaches NICHE only once its outcome is known
    career: bool = False  # planned by pipelines.synth.careers: its court hearings come from there
    never_closed: bool = False  # no outcome is ever recorded
    notified: datetime | None = None
    updated: datetime | None = None


@dataclass(slots=True)
class ArrestFeed:
    deliveries: Iterator[Delivery]
    appearances: list[tuple[str, date, Appearance]]
    outcome_updates: int  # arrests whose outcome came in a later file than the arrest


class _Pool:
    def __init__(self, people: list[Person]) -> None:
        self.people = people
        self._cumulative = list(accumulate(max(0.05, p.propensity) for p in people))

    def draw(self, rng: random.Random) -> Person:
        return self.people[bisect_left(self._cumulative, rng.random() * self._cumulative[-1])]


class _Refs:
    """Custody references: suite, year, running number (as NICHE numbers them)."""

    def __init__(self, rng: random.Random) -> None:
        self._next = {code: rng.randint(1000, 5000) for code in ("EL", "TH", "HV", "HF")}

    def next(self, suite_code: str, at: datetime) -> str:
        self._next[suite_code] += 1
        return f"{suite_code}/{at.year % 100:02d}/{self._next[suite_code]:06d}"


def build(world: World, plan: MessPlan, careers: Careers) -> ArrestFeed:
    rng = stream(world.seed, "arrests")
    times = _extraction_times(world, plan)
    refs = _Refs(rng)
    members = _Pool([m.person for m in world.members if m.person.cp1252])
    others = _Pool([p for p in world.others if p.cp1252 and not p.prisoner])
    arrests: list[_Arrest] = []
    # The day before the window is simulated too but not delivered, so the first files
    # carry what NICHE would really hold: late notifications and outcome updates of
    # arrests whose first row predates the inbox.
    for day in [world.first - timedelta(days=1), *world.days[:-1]]:
        day_rng = stream(world.seed, "arrests", day)
        for pool, low, high in ((members, 1.5, 3.0), (others, 20, 28)):
            for _ in range(scaled(day_rng, low, high, world.scale)):
                person = pool.draw(day_rng)
                if person.at_liberty(day):
                    arrest = _arrest(day_rng, world, refs, person, _arrest_time(day_rng, day), vary_details=True)
                    if _fits(world, arrest):
                        arrests.append(arrest)
        for decoy in plan.decoy_events.get(("arrests", "", day), []):
            arrests.append(_arrest(day_rng, world, refs, decoy, _arrest_time(day_rng, day)))
    arrests.extend(_deliberate(rng, world, plan, refs))
    arrests.extend(_career_arrests(world, careers, refs))
    for arrest in arrests:
        _schedule(rng, arrest, times)
    placed = [a for a in arrests if a.notified is not None]
    for arrest in placed:
        if arrest.person.timeline is not None:
            outcome = "" if arrest.never_closed else arrest.outcome
            record_arrest(arrest.person, arrest.at, outcome, None if arrest.never_closed else arrest.outcome_at)
    appearances = _appearances(placed, world.last - timedelta(days=1))
    updates = sum(a.updated is not None for a in placed)
    return ArrestFeed(_deliveries(world, plan, placed, times), appearances, updates)


def _fits(world: World, arrest: _Arrest) -> bool:
    """A member's random arrest only while they are free, and its custody spell then
    keeps other arrests and hearings away (before the period: wholly before it)."""
    timeline = arrest.person.timeline
    if timeline is None:
        return True
    start, end = arrest.at - MARGIN, arrest.outcome_at + MARGIN
    if arrest.at.date() < world.first and end >= datetime.combine(world.first, time(0)):
        return False
    if not timeline.free(start, end):
        return False
    timeline.hold(arrest.at, arrest.outcome_at)
    if arrest.next_court is not None:
        timeline.hearings.append(datetime.combine(arrest.next_court, time(17, 0)))
    return True


def _career_arrests(world: World, careers: Careers, refs: _Refs) -> list[_Arrest]:
    """The careers' arrests, with their planned outcomes and offences."""
    rng = stream(world.seed, "career-arrests")
    made = []
    for planned in careers.arrests:
        outcome_at = planned.outcome_at or planned.at + timedelta(days=3650)
        arrest = _arrest(
            rng, world, refs, planned.person, planned.at, planned.outcome or "RUI", outcome_at - planned.at, career=True
        )
        arrest.career, arrest.never_closed = True, not planned.outcome
        if planned.offence is not None:
            arrest.offence = planned.offence
        made.append(arrest)
    return made


def _extraction_times(world: World, plan: MessPlan) -> list[datetime]:
    times = []
    for day in [world.first - timedelta(days=1), *world.days]:
        rng = stream(world.seed, "arrests-files", day)
        times.append(datetime.combine(day, time(2, rng.randint(5, 55), rng.randint(0, 59))))
        if day == world.last:
            continue  # the report runs on D's morning: only the overnight extraction is in
        if day == plan.d1:
            # The deliberate D-1 cases need a midday and an evening extraction.
            slots = DAY_SLOTS[1:3] + rng.sample([DAY_SLOTS[0], DAY_SLOTS[3]], rng.randint(0, 1))
        else:
            slots = rng.sample(DAY_SLOTS, rng.randint(1, 3))
        for start, end in sorted(slots):
            minute = rng.randint(start, end)
            times.append(datetime.combine(day, time(minute // 60, minute % 60, rng.randint(0, 59))))
    return sorted(times)


def _arrest_time(rng: random.Random, day: date) -> datetime:
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS, k=1)[0]
    if hour == 1 and day in (autumn_change(day.year), spring_change(day.year)):
        hour = 3  # the changeover hour is reserved for the deliberate case
    return datetime.combine(day, time(hour, rng.randint(0, 59)))


def _arrest(
    rng: random.Random,
    world: World,
    refs: _Refs,
    person: Person,
    at: datetime,
    outcome: str | None = None,
    outcome_after: timedelta | None = None,
    *,
    vary_details: bool = False,
    career: bool = False,
) -> _Arrest:
    member = world.member_of.get(person.person_id)
    home = member.placement(at.date()).division if member else person.division
    roll = rng.random()
    if roll < 0.75 and home:
        division = home
    elif roll < 0.9:
        division = rng.choice(("CH", "NE", "NW"))
    else:
        division = ""  # arrested elsewhere in West Yorkshire
    suite_code, suite = LEEDS_SUITE if division else rng.choice(OTHER_SUITES)
    code, title, _ = rng.choices(OFFENCES, weights=[w for _, _, w in OFFENCES], k=1)[0]
    outcome = outcome or weighted(rng, ARREST_OUTCOMES)
    if member is not None and not career:
        # Remands in custody and transfers to prison are the careers' (pipelines.synth.careers).
        outcome = {"CHARGED_REMANDED": "CHARGED", "TRANSFERRED": "RUI"}.get(outcome, outcome)
    if outcome_after is None:
        hours = {"RUI": (2, 10), "NFA": (2, 14), "CHARGED_REMANDED": (14, 30)}.get(outcome, (3, 24))
        outcome_after = timedelta(minutes=rng.randint(hours[0] * 60, hours[1] * 60))
    outcome_at = at + outcome_after
    arrest = _Arrest(
        ref=refs.next(suite_code, at),
        person=person,
        at=at,
        division=division,
        suite=suite,
        offence=(code, title),
        outcome=outcome,
        outcome_at=outcome_at,
        dob=person.dob,
        surname=person.surname,
        forenames=person.forenames,
        expect_certain=person.decoy is None,
    )
    if outcome == "CHARGED":
        court = YOUTH_COURT if person.young else ADULT_COURT
        arrest.next_court = next_sitting(court, outcome_at.date() + timedelta(days=rng.randint(6, 27)))
    elif outcome == "CHARGED_REMANDED":
        arrest.next_court = next_sitting(ADULT_COURT, outcome_at.date())
    if member is not None and vary_details and rng.random() < world.identifierless_share / 2:
        # A member booked in without identifiers, with one variation of their details.
        variant = vary(rng, person, world.index, cp1252=True)
        arrest.surname, arrest.forenames, arrest.dob = variant.surname, variant.forenames, variant.dob
        arrest.variation, arrest.expect_certain = variant.kind, variant.certain
        return arrest
    # Identifiers as NICHE holds them; without any, the date of birth is always there.
    if person.niche and rng.random() < 0.92:
        arrest.niche = person.niche
    if person.pnc and rng.random() < 0.7:
        arrest.pnc = written_pnc(rng, person, at.date(), world.last)
    if member is not None and not (arrest.niche or arrest.pnc):
        # Members' rows without identifiers are the varied ones above.
        arrest.niche = person.niche or ""
        if not arrest.niche and person.pnc:
            arrest.pnc = written_pnc(rng, person, at.date(), world.last)
    if (arrest.niche or arrest.pnc) and rng.random() < 0.03:
        arrest.dob = None  # optional in NICHE; identified by the identifiers instead
    return arrest


def _deliberate(rng: random.Random, world: World, plan: MessPlan, refs: _Refs) -> list[_Arrest]:
    d1 = plan.d1
    made: list[_Arrest] = []

    def add(
        member: Member,
        at: datetime,
        note: tuple[str, str],
        *,
        outcome: str | None = None,
        outcome_after: timedelta | None = None,
        niche: str | None = None,
        pnc: str | None = None,
        dob: date | None | bool = True,
        expect_certain: bool = True,
    ) -> None:
        """One deliberate arrest; identifiers given here replace what NICHE would hold."""
        arrest = _arrest(rng, world, refs, member.person, at, outcome, outcome_after)
        if niche is not None:
            arrest.niche = niche
        if pnc is not None:
            arrest.pnc = pnc
        if not isinstance(dob, bool):
            arrest.dob = dob
        arrest.note, arrest.expect_certain = note, expect_certain
        made.append(arrest)

    first, second = plan.arrest_boundary
    add(first, datetime.combine(d1, time(0, 0)), ("boundary_times", f"{first.iom_id} arrested at D-1 00:00"))
    add(second, datetime.combine(d1, time(23, 59)), ("boundary_times", f"{second.iom_id} arrested at D-1 23:59"))
    add(
        plan.arrest_updated,
        datetime.combine(d1, time(9, 12)),
        ("outcome_updates", f"{plan.arrest_updated.iom_id}: pending at first, outcome in a later file"),
        outcome="CHARGED",
        outcome_after=timedelta(hours=7, minutes=20),
    )
    add(
        plan.arrest_pending,
        datetime.combine(d1, time(15, 20)),
        ("pending_at_d", f"{plan.arrest_pending.iom_id}: still pending when D's report runs"),
        outcome="RUI",
        outcome_after=timedelta(days=3),
    )
    swapped = plan.swapped.person
    add(
        plan.swapped,
        datetime.combine(d1, time(17, 45)),
        ("uncertain_identities", f"{plan.swapped.iom_id}: no identifiers, day and month of birth swapped"),
        niche="",
        pnc="",
        dob=swapped_day_month(swapped.dob),
        expect_certain=False,
    )
    made[-1].variation = "dob_transposed"
    wrong = plan.wrong_check.person
    assert wrong.pnc is not None
    add(
        plan.wrong_check,
        datetime.combine(d1, time(11, 5)),
        (
            "invalid_check_letters",
            f"{plan.wrong_check.iom_id}: PNC with a wrong check letter and no other "
            "identifier; exact name and date of birth make it certain",
        ),
        niche="",
        pnc=wrong_check_letter(wrong.pnc),
    )
    padded = plan.padded_niche.person
    add(
        plan.padded_niche,
        datetime.combine(d1, time(13, 40)),
        ("identifier_case_whitespace", f"{plan.padded_niche.iom_id}: niche id in lower case with spaces"),
        niche=f"  {(padded.niche or '').lower()} ",
        pnc="",
    )
    # A non-member with a wrong check letter, mid-period, still certain by niche id.
    other = next(p for p in world.others if p.pnc and p.niche and p.cp1252 and not p.prisoner)
    mid = plan.mid(0.45)
    arrest = _arrest(rng, world, refs, other, datetime.combine(mid, time(16, 10)))
    arrest.niche, arrest.pnc = other.niche or "", wrong_check_letter(other.pnc or "")
    arrest.note = ("invalid_check_letters", "non-member: PNC with a wrong check letter, identified by niche id")
    made.append(arrest)

    made.extend(_dst_arrests(rng, world, plan, refs))
    return made


def _dst_arrests(rng: random.Random, world: World, plan: MessPlan, refs: _Refs) -> list[_Arrest]:
    """01:30 on a changeover day: repeated in autumn, non-existent in spring."""
    pool = [p for p in world.others if p.cp1252 and p.niche and not p.prisoner]
    made = []
    found = False
    for year in range(world.first.year, world.last.year + 1):
        for day, kind in (
            (autumn_change(year), "autumn (01:30 happens twice)"),
            (spring_change(year), "spring (01:30 does not exist)"),
        ):
            if world.first <= day <= plan.d1:
                arrest = _arrest(rng, world, refs, rng.choice(pool), datetime.combine(day, time(1, 30)))
                arrest.note = ("dst", f"arrest_datetime 01:30 on the {kind} changeover day {day.isoformat()}")
                made.append(arrest)
                found = True
    if not found:
        year = world.first.year if autumn_change(world.first.year) < world.first else world.first.year - 1
        day = autumn_change(year)
        arrest = _arrest(
            rng,
            world,
            refs,
            rng.choice(pool),
            datetime.combine(day, time(1, 30)),
            outcome="NFA",
            outcome_after=timedelta(hours=5),
        )
        arrest.note = (
            "dst",
            f"a late-recorded arrest at 01:30 on the autumn changeover day {day.isoformat()} "
            "(before the period; 01:30 happened twice that night)",
        )
        arrest.outcome_at = datetime.combine(plan.mid(0.5), time(7, 0))
        arrest.closed_only = True
        made.append(arrest)
    return made


def _schedule(rng: random.Random, arrest: _Arrest, times: list[datetime]) -> None:
    """Place the arrest in the extraction that first sees it, and its outcome in the next.

    A member's arrest is always placed (pending, if its outcome comes after the last
    extraction), so that their timeline never holds an arrest the feed does not show.
    """
    if arrest.never_closed:
        arrest.notified = _first_after(times, arrest.at + timedelta(minutes=rng.randint(15, 240)))
    elif arrest.closed_only or (arrest.note is None and rng.random() < 0.4):
        # Some custody records reach NICHE only once closed: one row, outcome known.
        arrest.notified = _first_after(times, arrest.outcome_at + timedelta(minutes=rng.randint(10, 90)))
    else:
        lag = timedelta(minutes=rng.randint(15, 240) if arrest.note is None else 15)
        arrest.notified = _first_after(times, arrest.at + lag)
        if arrest.notified is not None and arrest.notified < arrest.outcome_at:
            arrest.updated = _first_after(times, arrest.outcome_at)
    if arrest.notified is None and arrest.person.timeline is not None:
        arrest.notified = _first_after(times, arrest.at)
        if arrest.notified is not None and arrest.notified < arrest.outcome_at and not arrest.never_closed:
            arrest.updated = _first_after(times, arrest.outcome_at)


def _first_after(times: list[datetime], moment: datetime) -> datetime | None:
    position = bisect_left(times, moment)
    return times[position] if position < len(times) else None


def _appearances(arrests: list[_Arrest], last_court_day: date) -> list[tuple[str, date, Appearance]]:
    """Charged arrests are heard at their next court date, if it is inside the period."""
    out = []
    for arrest in arrests:
        if arrest.career or arrest.next_court is None or arrest.next_court > last_court_day:
            continue
        timeline = arrest.person.timeline
        heard = datetime.combine(arrest.next_court, time(17, 0))
        if timeline is not None and not timeline.free(heard - MARGIN, heard + MARGIN, hearings=False):
            continue  # the member is held elsewhere that day: the case is adjourned unheard
        # Only charges the police system has actually recorded reach the court list.
        recorded = arrest.updated or (arrest.notified if arrest.notified and arrest.notified >= arrest.outcome_at else None)
        if recorded is None:
            continue
        court = YOUTH_COURT if arrest.person.young and arrest.outcome == "CHARGED" else ADULT_COURT
        out.append((court, arrest.next_court, Appearance(arrest.person, arrest.offence, arrest.outcome == "CHARGED_REMANDED")))
    return out


def _row(world: World, arrest: _Arrest, final: bool) -> Row:
    person = arrest.person
    values = {
        "custody_ref": arrest.ref,
        "niche_nominal_id": arrest.niche,
        "pnc_id": arrest.pnc,
        "surname": arrest.surname,
        "forenames": arrest.forenames,
        "date_of_birth": uk_date(arrest.dob),
        "arrest_datetime": uk_ts(arrest.at),
        "arrest_division": arrest.division,
        "custody_suite": arrest.suite,
        "offence_code": arrest.offence[0],
        "offence_description": arrest.offence[1],
        "outcome": arrest.outcome if final else "",
        "outcome_datetime": uk_ts(arrest.outcome_at) if final else "",
        "next_court_date": uk_date(arrest.next_court) if final else "",
    }
    ids = {IdKind.NICHE_NOMINAL_ID: arrest.niche, IdKind.PNC_ID: arrest.pnc}
    judged, certain, identifierless = world.index.assess(ids, arrest.surname, arrest.forenames, arrest.dob)
    # A decoy written without identifiers is never certain, whatever its details.
    identity = "certain" if certain and judged == person.person_id and person.decoy is None else "uncertain"
    if (identity == "certain") != arrest.expect_certain:
        raise AssertionError(f"arrest {arrest.ref}: identity {identity}, meant otherwise")
    fields: dict[str, object] = {
        "custody_ref": arrest.ref,
        "arrest_datetime": truth_ts(arrest.at),
        "arrest_division": arrest.division or None,
        "offence_description": arrest.offence[1],
        "outcome": arrest.outcome if final else None,
        "outcome_datetime": truth_ts(arrest.outcome_at) if final else None,
    }
    return Row(
        values,
        person.person_id,
        identity,
        fields,
        note=arrest.note if not final or arrest.updated is None else None,
        variation=arrest.variation,
        identifierless=identifierless,
    )


def _deliveries(world: World, plan: MessPlan, arrests: list[_Arrest], times: list[datetime]) -> Iterator[Delivery]:
    files: dict[datetime, list[tuple[datetime, str, Row]]] = defaultdict(list)
    for arrest in arrests:
        assert arrest.notified is not None
        first_final = arrest.updated is None and arrest.notified >= arrest.outcome_at
        files[arrest.notified].append((arrest.at, arrest.ref, _row(world, arrest, first_final)))
        if arrest.updated is not None:
            row = _row(world, arrest, True)
            if arrest.note and arrest.note[0] == "outcome_updates":
                row.note = ("outcome_updates", f"{arrest.note[1]} (this is the update row)")
            files[arrest.updated].append((arrest.outcome_at, arrest.ref, row))
    breaks = _breaks(plan)
    for moment in times:
        if moment.date() < world.first:
            continue  # simulated, not delivered
        rows = [row for _, _, row in sorted(files.get(moment, []), key=lambda item: (item[0], item[1]))]
        name = f"niche_arrests_{moment:%Y%m%d_%H%M%S}.csv"
        for kind, day in list(breaks.items()):
            # A file without a suitable row passes the break on to the next file.
            if day <= moment.date() and _break(rows, kind, world):
                del breaks[kind]
        rng = stream(world.seed, "arrests-arrival", moment)
        arrived = moment + timedelta(minutes=rng.randint(2, 9), seconds=rng.randint(0, 59))
        yield Delivery(
            feed="arrests",
            name=name,
            file_date=moment.date(),
            arrived=arrived,
            payload=render_csv(COLUMNS, rows, encoding="cp1252", crlf=True),
            records=csv_records("arrests", name, rows),
            rows=len(rows),
            quarantined_rows=sum(row.quarantine is not None for row in rows),
            notes=csv_notes(name, rows),
        )


def _breaks(plan: MessPlan) -> dict[str, date]:
    return {
        "impossible_date": plan.d1,
        "missing_custody_ref": plan.mid(0.35),
        "bad_outcome": plan.mid(0.6),
        "missing_description": plan.mid(0.75),
    }


def _break(rows: list[Row], kind: str, world: World) -> bool:
    """Break one plain non-member row with a final outcome; False if the file has none."""
    for row in rows:
        if row.note is None and row.quarantine is None and row.person_id not in world.member_of and row.values["outcome"]:
            break
    else:
        return False
    if kind == "impossible_date":
        clock = row.values["arrest_datetime"][-5:]
        row.values["arrest_datetime"] = f"31/02/{world.last.year} {clock}"
        row.fields["arrest_datetime"] = None
        row.quarantine = "impossible date in arrest_datetime"
    elif kind == "missing_custody_ref":
        row.values["custody_ref"] = ""
        row.fields["custody_ref"] = None
        row.quarantine = "missing required custody_ref"
    elif kind == "bad_outcome":
        row.values["outcome"] = "CHARGED & REMANDED"
        row.fields["outcome"] = "CHARGED & REMANDED"
        row.quarantine = "outcome not in the allowed set"
    else:
        row.values["offence_description"] = ""
        row.fields["offence_description"] = None
        row.quarantine = "missing required offence_description"
    row.note = ("broken_rows", row.quarantine)
    return True
