"""court_results/court_results_<COURTCODE>_YYYYMMDD.xml (CONTRACT 3.3).

One file per court per sitting day, every defendant heard.  First appearances come from
the arrests charged earlier (so a member charged in the arrests feed turns up in court);
the rest of each list is trials, sentences and mentions of the wider population.

Members' custodial hearings (remanded in custody, imprisoned) are the careers'
(pipelines.synth.careers), heard on the days planned there and sharing one URN per case;
any other hearing of a member finds them free all day, bails rather than remands them
and never imprisons them, so a member is never held without the feeds saying so.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from pipelines.identifiers import IdKind
from pipelines.synth.catalogue import (
    COMMITTED_FOR_SENTENCE,
    DISMISSED,
    OFFENCES,
    REMANDS,
    SENT_FOR_TRIAL,
    SENTENCES_ADULT,
    SENTENCES_YOUTH,
    WITHDRAWN,
)
from pipelines.synth.clock import iso_date
from pipelines.synth.idforms import written_pnc
from pipelines.synth.model import AT_LIBERTY, Delivery, Person
from pipelines.synth.plan import MessPlan
from pipelines.synth.population import World
from pipelines.synth.randomness import scaled, stream, weighted
from pipelines.synth.variations import vary

if TYPE_CHECKING:
    from pipelines.synth.careers import CareerHearing

# code: (name, weekdays sitting, (low, high) random cases per sitting)
COURTS: dict[str, tuple[str, frozenset[int], tuple[float, float]]] = {
    "B13HT": ("Leeds Magistrates' Court", frozenset(range(6)), (14, 22)),  # Saturday remand court too
    "B13JT": ("Leeds Youth Court", frozenset({1, 3}), (3, 6)),
    "C13LS": ("Leeds Crown Court", frozenset(range(5)), (5, 9)),
}
ADULT_COURT, YOUTH_COURT, CROWN_COURT = "B13HT", "B13JT", "C13LS"


def sits(court: str, day: date) -> bool:
    return day.weekday() in COURTS[court][1]


def next_sitting(court: str, after: date) -> date:
    day = after + timedelta(days=1)
    while not sits(court, day):
        day += timedelta(days=1)
    return day


@dataclass(slots=True)
class Appearance:
    """A charged arrest's first hearing, scheduled by the arrests feed."""

    person: Person
    offence: tuple[str, str]
    remanded: bool


@dataclass(slots=True)
class _Offence:
    seq: str
    code: str
    title: str | None
    plea: str
    verdict: str | None
    results: list[tuple[str, str]]
    next_hearings: list[tuple[date, str]] = field(default_factory=list)
    quarantine: str | None = None


@dataclass(slots=True)
class _Defendant:
    person: Person
    surname: str
    forenames: str
    dob: date | None
    pnc: str
    cro: str
    postcode: str
    remand: str
    present: bool
    offences: list[_Offence]
    quarantine: str | None = None
    variation: str | None = None
    expect_certain: bool = True
    career: bool = False  # a hearing planned by pipelines.synth.careers


@dataclass(slots=True)
class _Case:
    urn: str
    defendants: list[_Defendant]


class _Pool:
    """People courts draw from, weighted by how often they offend (bisect: O(log n))."""

    def __init__(self, people: list[Person]) -> None:
        self.people = people
        self._cumulative = list(accumulate(max(0.05, p.propensity) for p in people))

    def draw(self, rng: random.Random, day: date) -> Person | None:
        if not self.people:
            return None
        for _ in range(4):
            person = self.people[bisect_left(self._cumulative, rng.random() * self._cumulative[-1])]
            if person.free_all_day(day):
                return person
        return None


def generate(
    world: World,
    plan: MessPlan,
    appearances: dict[tuple[str, date], list[Appearance]],
    careers: dict[tuple[str, date], list[CareerHearing]],
) -> Iterator[Delivery]:
    members = [m.person for m in world.members]
    others = [p for p in world.others if not p.prisoner]
    pools = {
        "adult_members": _Pool([p for p in members if not p.young]),
        "adult_others": _Pool([p for p in others if not p.young]),
        "young_members": _Pool([p for p in members if p.young]),
        "young_others": _Pool([p for p in others if p.young]),
    }
    urns = _Urns(stream(world.seed, "urns"))
    decoys = _decoy_sittings(world, plan)
    # Each special case lands on the first sitting of its court on or after its date
    # whose list can carry it (small worlds can have empty lists).
    pending = _special_days(plan)
    for day in world.days[:-1]:  # a day's results arrive the next morning: none yet for D
        for court in COURTS:
            if not sits(court, day):
                continue
            rng = stream(world.seed, "court", court, day)
            cases = _list_for(
                rng, world, court, day, appearances.get((court, day), []), pools, urns, decoys.get((court, day), [])
            )
            cases.extend(_career_cases(world, court, day, careers.get((court, day), []), urns))
            if careers.get((court, day)):
                rng.shuffle(cases)
            hearing_day = day
            notes: list[tuple[str, dict[str, object]]] = []
            name = f"court_results_{court}_{day:%Y%m%d}.xml"

            if _take(pending, "members", court, day):
                cases.extend(_member_cases(rng, world, plan, day, urns))
                notes.append(
                    (
                        "court_members_on_d1",
                        {"file": name, "note": "cohort members heard on D-1: " + ", ".join(m.iom_id for m in plan.court_members)},
                    )
                )
            # Broken rows never hide a career's hearing (the truth must stay readable).
            plain = [n for n, case in enumerate(cases, start=1) if not case.defendants[0].career]
            if plain and _take(pending, "no_title", court, day):
                defendant = cases[plain[0] - 1].defendants[0]
                offence = defendant.offences[-1]
                offence.title, offence.quarantine = None, "Offence without title"
                notes.append(
                    (
                        "broken_rows",
                        {
                            "file": name,
                            "path": _path(plain[0], 1, len(defendant.offences)),
                            "note": "Offence without title",
                        },
                    )
                )
            if plain and _take(pending, "no_surname", court, day):
                defendant = cases[plain[-1] - 1].defendants[0]
                defendant.surname, defendant.quarantine = "", "Defendant without surname"
                notes.append(
                    (
                        "broken_rows",
                        {
                            "file": name,
                            "path": f"/CourtResults/Case[{plain[-1]}]/Defendant[1]",
                            "note": "Defendant without surname: each of its offences quarantined",
                        },
                    )
                )
            if _has_next_hearing(cases) and _take(pending, "double_next", court, day):
                _force_double_next(cases, name, notes)
            moved_to = day - timedelta(days=1 if day.weekday() else 3)
            if _all_free(cases, moved_to) and _take(pending, "moved_hearing", court, day):
                hearing_day = moved_to
                notes.append(
                    (
                        "hearing_date_differs_from_file_name",
                        {
                            "file": name,
                            "note": f"hearing_date attribute is {hearing_day.isoformat()}: that, not the "
                            "file name, dates the hearing",
                        },
                    )
                )
            yield _delivery(world, rng, court, day, hearing_day, name, cases, notes)


def _all_free(cases: list[_Case], day: date) -> bool:
    """Whether every defendant could have been heard, at liberty, on `day` instead."""
    return all(not d.career and d.person.free_all_day(day) for case in cases for d in case.defendants)


def _career_cases(world: World, court: str, day: date, hearings: list[CareerHearing], urns: _Urns) -> list[_Case]:
    """The careers' hearings on this list: remands, bail and sentences as planned."""
    rng = stream(world.seed, "career-court", court, day)
    cases = []
    for hearing in hearings:
        case = hearing.case
        if case.urn is None:
            case.urn = urns.next(day)
        defendant = _defendant(rng, world, court, day, case.person, "first", case.offence, False, vary_details=False)
        defendant.remand, defendant.career = hearing.remand, True
        defendant.present = not (hearing.remand == "PR" and rng.random() < 0.3)  # else by video link
        offence = defendant.offences[0]
        offence.results = list(hearing.results)
        offence.next_hearings = [hearing.next_hearing] if hearing.next_hearing else []
        offence.verdict = None
        if hearing.next_hearing is None:  # sentenced: on a guilty plea, or found guilty
            offence.plea = "GUILTY" if rng.random() < 0.7 else "NOT GUILTY"
            offence.verdict = "GUILTY" if offence.plea == "NOT GUILTY" else None
        cases.append(_Case(case.urn, [defendant]))
    return cases


def _decoy_sittings(world: World, plan: MessPlan) -> dict[tuple[str, date], list[Person]]:
    """Decoys heard at the adult court's first sitting on or after their planned date
    (or the last one before, near the end of the period)."""
    last_day = world.last - timedelta(days=1)
    sittings: dict[tuple[str, date], list[Person]] = defaultdict(list)
    for (feed, _, day), people in sorted(plan.decoy_events.items(), key=lambda item: item[0]):
        if feed != "court_results":
            continue
        sitting = day
        while not sits(ADULT_COURT, sitting):
            sitting += timedelta(days=1)
        while sitting > last_day or not sits(ADULT_COURT, sitting):
            sitting -= timedelta(days=1)
        sittings[(ADULT_COURT, sitting)].extend(people)
    return sittings


def _take(pending: dict[str, tuple[str, date]], kind: str, court: str, day: date) -> bool:
    """True once: for the first file of the case's court on or after its date."""
    target = pending.get(kind)
    if target is None or target[0] != court or target[1] > day:
        return False
    del pending[kind]
    return True


def _special_days(plan: MessPlan) -> dict[str, tuple[str, date]]:
    def on_or_after(court: str, day: date) -> tuple[str, date]:
        while not sits(court, day):
            day += timedelta(days=1)
        return court, day

    def on_or_before(court: str, day: date) -> tuple[str, date]:
        while not sits(court, day):
            day -= timedelta(days=1)
        return court, day

    return {
        "members": on_or_before(ADULT_COURT, plan.d1),
        "no_title": on_or_after(ADULT_COURT, plan.mid(0.4)),
        "no_surname": on_or_after(CROWN_COURT, plan.mid(0.55)),
        "double_next": on_or_after(ADULT_COURT, plan.mid(0.5)),
        "moved_hearing": on_or_after(CROWN_COURT, plan.mid(0.7)),
    }


class _Urns:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def next(self, day: date) -> str:
        rng = self._rng
        letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
        while True:
            # Police force 13 (West Yorkshire), unit letters, serial, year of charge.
            urn = f"13{rng.choice(letters)}{rng.choice(letters)}{rng.randint(10000, 99999)}{day.year % 100:02d}"
            if urn not in self._used:
                self._used.add(urn)
                return urn


def _list_for(
    rng: random.Random,
    world: World,
    court: str,
    day: date,
    first_appearances: list[Appearance],
    pools: dict[str, _Pool],
    urns: _Urns,
    decoys: list[Person],
) -> list[_Case]:
    cases = [
        _Case(urns.next(day), [_defendant(rng, world, court, day, a.person, "first", a.offence, a.remanded)])
        for a in first_appearances
    ]
    for decoy in decoys:
        stage = weighted(rng, [("trial", 30), ("sentence", 40), ("mention", 30)])
        cases.append(_Case(urns.next(day), [_defendant(rng, world, court, day, decoy, stage, None, False)]))
    low, high = COURTS[court][2]
    if day.weekday() == 5:
        low, high = 2, 5
    youth = court == YOUTH_COURT
    for _ in range(scaled(rng, low, high, world.scale)):
        member_share = 0.15 if youth else 0.08
        kind = ("young" if youth else "adult") + ("_members" if rng.random() < member_share else "_others")
        people = []
        for _ in range(weighted(rng, [(1, 85), (2, 12), (3, 3)])):
            person = pools[kind].draw(rng, day) or pools[kind.replace("members", "others")].draw(rng, day)
            if person is not None and person not in people:
                people.append(person)
            kind = ("young" if youth else "adult") + "_others"  # co-defendants are rarely in the cohort
        if people:
            stage = weighted(rng, [("trial", 30), ("sentence", 40), ("mention", 30)])
            cases.append(_Case(urns.next(day), [_defendant(rng, world, court, day, p, stage, None, False) for p in people]))
    rng.shuffle(cases)
    return cases


def _member_cases(rng: random.Random, world: World, plan: MessPlan, day: date, urns: _Urns) -> list[_Case]:
    stages = ["sentence", "trial", "mention"]
    return [
        _Case(
            urns.next(day),
            [_defendant(rng, world, ADULT_COURT, day, member.person, stages[i % 3], None, False, vary_details=False)],
        )
        for i, member in enumerate(plan.court_members)
    ]


def _defendant(
    rng: random.Random,
    world: World,
    court: str,
    day: date,
    person: Person,
    stage: str,
    offence: tuple[str, str] | None,
    remanded: bool,
    *,
    vary_details: bool = True,
) -> _Defendant:
    count = 1 if offence else weighted(rng, [(1, 65), (2, 25), (3, 10)])
    picked = [offence] if offence else []
    while len(picked) < count:
        code, title, _ = rng.choices(OFFENCES, weights=[w for _, _, w in OFFENCES], k=1)[0]
        if (code, title) not in picked:
            picked.append((code, title))
    youth = person.young
    remand = "NA"
    disposal = weighted(rng, [("adjourn", 45), ("sentence", 40), ("end", 15)])
    if stage == "sentence":
        disposal = "sentence"
    elif stage == "first" and remanded:
        disposal = "adjourn"
    if disposal == "adjourn":
        if remanded or rng.random() < 0.2:
            remand = ("SA" if rng.random() < 0.3 else "LA") if youth else "PR"
        else:
            remand = "CB" if rng.random() < 0.75 else "UB"
    sentence = weighted(rng, SENTENCES_YOUTH if youth else SENTENCES_ADULT)
    if person.iom_id is not None:
        # Members are held only by their careers (pipelines.synth.careers): bailed here instead.
        remand = "CB" if remand in ("PR", "SA") else remand
        if any(code == "1002" for code, _ in sentence):
            sentence = weighted(rng, [entry for entry in SENTENCES_ADULT if entry[0] != sentence])
    offences = []
    for seq, (code, title) in enumerate(picked, start=1):
        plea = weighted(rng, [("GUILTY", 50.0), ("NOT GUILTY", 35.0), ("NO PLEA", 15.0)])
        verdict = None
        next_hearings: list[tuple[date, str]] = []
        if disposal == "sentence":
            if plea == "NOT GUILTY":
                verdict = "GUILTY"
            results = list(sentence)
            if court != CROWN_COURT and not youth and rng.random() < 0.06:
                results = [COMMITTED_FOR_SENTENCE]
                next_hearings.append((next_sitting(CROWN_COURT, day + timedelta(days=rng.randint(14, 35))), CROWN_COURT))
        elif disposal == "end":
            # A case ends without sentence only after acquittal or when the CPS withdraws.
            plea = "NOT GUILTY" if plea == "GUILTY" else plea
            verdict = "NOT GUILTY" if plea == "NOT GUILTY" else None
            results = [DISMISSED if verdict else WITHDRAWN]
        else:
            results = [REMANDS[remand]]
            target = court
            if court == ADULT_COURT and plea == "NO PLEA" and rng.random() < 0.4:
                results.insert(0, SENT_FOR_TRIAL)
                target = CROWN_COURT
            gap = rng.randint(3, 10) if remand in ("PR", "SA") else rng.randint(14, 56)
            next_hearings.append((next_sitting(target, day + timedelta(days=gap)), target))
            if rng.random() < 0.01:  # a listing clerk's duplicate: the earliest counts
                next_hearings.append((next_hearings[0][0] + timedelta(days=rng.randint(7, 21)), target))
        offences.append(_Offence(str(seq), code, title, plea, verdict, results, next_hearings))
    member = person.iom_id is not None
    surname, forenames, dob = person.surname, person.forenames, person.dob
    pnc = cro = ""
    variant = None
    if member and vary_details and rng.random() < world.identifierless_share:
        # Written without identifiers, with one variation of the personal details.
        variant = vary(rng, person, world.index)
        surname, forenames, dob = variant.surname, variant.forenames, variant.dob
    else:
        pnc = written_pnc(rng, person, day, world.last) if person.pnc and rng.random() < 0.85 else ""
        cro = person.cro if person.cro and rng.random() < 0.45 else ""
        if member and not (pnc or cro):
            # A member's result carries an identifier whenever the court holds one: rows
            # without any are the varied ones above.
            pnc = written_pnc(rng, person, day, world.last) if person.pnc else ""
            cro = "" if pnc else person.cro or ""
        if (pnc or cro) and rng.random() < 0.05:
            dob = None
    return _Defendant(
        person=person,
        surname=surname,
        forenames=forenames,
        dob=dob,
        pnc=pnc,
        cro=cro,
        postcode=person.postcode if rng.random() < 0.8 else "",
        remand=remand,
        present=not (remand == "PR" and rng.random() < 0.3),
        offences=offences,
        variation=variant.kind if variant else None,
        expect_certain=variant.certain if variant else person.decoy is None,
    )


def _has_next_hearing(cases: list[_Case]) -> bool:
    return any(o.next_hearings for c in cases for d in c.defendants for o in d.offences)


def _force_double_next(cases: list[_Case], name: str, notes: list[tuple[str, dict[str, object]]]) -> None:
    for case_no, case in enumerate(cases, start=1):
        for defendant_no, defendant in enumerate(case.defendants, start=1):
            for offence_no, offence in enumerate(defendant.offences, start=1):
                if len(offence.next_hearings) == 1:
                    first_date, target = offence.next_hearings[0]
                    # Listed later first in document order, so "earliest" is not "first".
                    offence.next_hearings.insert(0, (first_date + timedelta(days=14), target))
                    notes.append(
                        (
                            "double_next_hearing",
                            {
                                "file": name,
                                "path": _path(case_no, defendant_no, offence_no),
                                "note": f"two NextHearing elements; the earliest ({first_date.isoformat()}) counts",
                            },
                        )
                    )
                    return


def _path(case: int, defendant: int, offence: int) -> str:
    return f"/CourtResults/Case[{case}]/Defendant[{defendant}]/Offence[{offence}]"


def _attr(name: str, value: str) -> str:
    return f' {name}="{escape(value, {chr(34): "&quot;"})}"'


def _delivery(
    world: World,
    rng: random.Random,
    court: str,
    day: date,
    hearing_day: date,
    name: str,
    cases: list[_Case],
    notes: list[tuple[str, dict[str, object]]],
) -> Delivery:
    court_name = COURTS[court][0]
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f"<CourtResults{_attr('court_code', court)}{_attr('court_name', court_name)}"
        f"{_attr('hearing_date', hearing_day.isoformat())}>\n",
    ]
    records: list[dict[str, object]] = []
    quarantined = 0
    for case_no, case in enumerate(cases, start=1):
        out.append(f"  <Case{_attr('urn', case.urn)}>\n")
        for defendant_no, defendant in enumerate(case.defendants, start=1):
            attrs = _attr("surname", defendant.surname) + _attr("forenames", defendant.forenames)
            if defendant.dob:
                attrs += _attr("dob", defendant.dob.isoformat())
            if defendant.pnc:
                attrs += _attr("pnc_id", defendant.pnc)
            if defendant.cro:
                attrs += _attr("cro_number", defendant.cro)
            if defendant.postcode:
                attrs += _attr("postcode", defendant.postcode)
            attrs += _attr("remand_status", defendant.remand) + _attr("present", "true" if defendant.present else "false")
            out.append(f"    <Defendant{attrs}>\n")
            ids = {IdKind.PNC_ID: defendant.pnc, IdKind.CRO_NUMBER: defendant.cro}
            person_id, certain, identifierless = world.index.assess(ids, defendant.surname, defendant.forenames, defendant.dob)
            # A decoy written without identifiers is never certain, whatever its details.
            who = defendant.person
            identity = "certain" if (person_id, certain) == (who.person_id, True) and who.decoy is None else "uncertain"
            if (identity == "certain") != defendant.expect_certain and defendant.quarantine is None:
                raise AssertionError(f"court defendant identity {identity}, meant otherwise: {defendant}")
            for offence_no, offence in enumerate(defendant.offences, start=1):
                title = _attr("title", offence.title) if offence.title is not None else ""
                out.append(f"      <Offence{_attr('seq', offence.seq)}{_attr('code', offence.code)}{title}>\n")
                out.append(f"        <Plea>{escape(offence.plea)}</Plea>\n")
                if offence.verdict:
                    out.append(f"        <Verdict>{escape(offence.verdict)}</Verdict>\n")
                for code, text in offence.results:
                    out.append(f"        <Result{_attr('code', code)}{_attr('text', text)}/>\n")
                for when, target in offence.next_hearings:
                    out.append(f"        <NextHearing{_attr('date', when.isoformat())}{_attr('court_code', target)}/>\n")
                out.append("      </Offence>\n")
                quarantine = defendant.quarantine or offence.quarantine
                quarantined += quarantine is not None
                records.append(
                    {
                        "feed": "court_results",
                        "file": name,
                        "path": _path(case_no, defendant_no, offence_no),
                        "person_id": defendant.person.person_id,
                        "identity": identity,
                        "variation": defendant.variation,
                        "identifierless": identifierless,
                        "quarantine": quarantine,
                        "fields": {
                            "court_code": court,
                            "hearing_date": hearing_day.isoformat(),
                            "urn": case.urn,
                            "defendant_index": defendant_no,
                            "offence_seq": int(offence.seq),
                            "offence_title": offence.title,
                            "result_codes": [code for code, _ in offence.results],
                            "remand_status": defendant.remand,
                            "next_hearing_date": iso_date(min(d for d, _ in offence.next_hearings))
                            if offence.next_hearings
                            else None,
                        },
                    }
                )
            timeline = defendant.person.timeline
            seen = any((defendant.quarantine or o.quarantine) is None for o in defendant.offences)
            if timeline is not None and not defendant.career and seen:
                # Heard at liberty: no change, except for a member whose whereabouts were unknown.
                timeline.change(datetime.combine(hearing_day, time(17, 0)), AT_LIBERTY, "court")
            out.append("    </Defendant>\n")
        out.append("  </Case>\n")
    out.append("</CourtResults>\n")
    # Results are sent overnight, after the court's day is closed.
    arrived = datetime.combine(day + timedelta(days=1), time(4, rng.randint(5, 55), rng.randint(0, 59)))
    return Delivery(
        feed="court_results",
        name=name,
        file_date=day,
        arrived=arrived,
        payload="".join(out).encode("utf-8"),
        records=records,
        rows=len(records),
        quarantined_rows=quarantined,
        notes=notes,
    )


def by_court_day(items: list[tuple[str, date, Appearance]]) -> dict[tuple[str, date], list[Appearance]]:
    grouped: dict[tuple[str, date], list[Appearance]] = defaultdict(list)
    for court, day, appearance in items:
        grouped[(court, day)].append(appearance)
    return grouped
