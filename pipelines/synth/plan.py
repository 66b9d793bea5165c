"""The deliberate mess: which files, dates and members carry each injected problem.

Deciding it all up front, in one place, keeps the feed generators simple and makes the
injected cases easy to find (truth["mess"] then says exactly where each landed).  The
cases that must bite a report (uncertain identities, boundary times, the correction, the
late file) sit on D-1 and involve members active throughout; broken rows that would turn
a feed's status to REJECTS sit mid-period, except one in the arrests of D-1 (so each
status value of feeds.csv is exercised without two of them competing for one feed).
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from pipelines.synth.model import Member, Person
from pipelines.synth.names import first_forename, nicknames_of, swapped_day_month
from pipelines.synth.population import World
from pipelines.synth.randomness import stream, weighted

# Where decoys turn up: (feed, weight).  Attendance rows go to agencies without their own
# identifiers for the person (probation and youth offending hold CRNs and YOS refs).
DECOY_FEEDS: list[tuple[str, float]] = [("court_results", 35), ("attendance", 40), ("arrests", 25)]
DECOY_AGENCIES = ("DIP", "HOUSING", "ETE", "NON_STATUTORY")

MIN_DAYS = 14


@dataclass(slots=True)
class MessPlan:
    first: date
    last: date
    skipped_snapshot: date
    cohort_broken_on: date
    late_arrival: datetime  # attendance_DIP of D-1
    corrected_arrival: datetime  # attendance_PROBATION of D-1, second version
    impossible_name: str
    impossible_source: date
    nickname: Member
    no_dob: Member
    swapped: Member
    conflict: tuple[Member, Member]  # (identifier of A, name and dob of B)
    wrong_check: Member
    boundary_appointments: tuple[Member, Member]
    offday_appointments: tuple[Member, Member]
    record_update: Member
    arrest_boundary: tuple[Member, Member]
    arrest_updated: Member
    arrest_pending: Member
    padded_niche: Member
    lowercase_iom: Member
    court_members: tuple[Member, ...]
    # (feed, channel, day) -> decoys seen there; channel is the agency for attendance
    decoy_events: dict[tuple[str, str, date], list[Person]]

    @property
    def d1(self) -> date:
        return self.last - timedelta(days=1)

    def mid(self, fraction: float) -> date:
        """A date well inside the period, away from D-1 and D."""
        span = (self.last - self.first).days
        return self.first + timedelta(days=min(span - 3, max(1, round(fraction * span))))


def make_plan(world: World) -> MessPlan:
    first, last = world.first, world.last
    if (last - first).days + 1 < MIN_DAYS:
        raise ValueError(f"the synthetic inbox needs at least {MIN_DAYS} days to place its mess")
    rng = stream(world.seed, "plan")
    d1 = last - timedelta(days=1)
    pick = _Picker(rng, world, d1)
    skipped = first + timedelta(days=(last - first).days // 2)
    impossible_name, source = _impossible_date_name(first, d1)
    return MessPlan(
        first=first,
        last=last,
        skipped_snapshot=skipped,
        cohort_broken_on=first + timedelta(days=(last - first).days // 3),
        late_arrival=datetime.combine(last, time(9, 40, 17)),
        corrected_arrival=datetime.combine(last, time(5, 31, 44)),
        impossible_name=impossible_name,
        impossible_source=source,
        nickname=pick(lambda m: bool(nicknames_of(first_forename(m.person.forenames)))),
        no_dob=pick(),
        swapped=pick(lambda m: swapped_day_month(m.person.dob) is not None and m.person.cp1252),
        conflict=(pick(), pick()),
        wrong_check=pick(lambda m: m.person.pnc is not None and m.person.cp1252),
        boundary_appointments=(pick(lambda m: m.person.crn is not None), pick(lambda m: m.person.crn is not None)),
        offday_appointments=(pick(), pick()),
        record_update=pick(),
        arrest_boundary=(pick(_arrestable), pick(_arrestable)),
        arrest_updated=pick(_arrestable),
        arrest_pending=pick(_arrestable),
        padded_niche=pick(lambda m: m.person.niche is not None and m.person.cp1252),
        lowercase_iom=pick(),
        court_members=tuple(pick(lambda m: m.person.pnc is not None) for _ in range(3)),
        decoy_events=_decoy_events(world),
    )


def _decoy_events(world: World) -> dict[tuple[str, str, date], list[Person]]:
    """Each decoy turns up a few times over the period, in court, at an agency or arrested
    (courts sit on the first sitting day on or after the date given here)."""
    rng = stream(world.seed, "decoy-events")
    days = world.days[:-1]  # a day's court results and attendance arrive the next morning
    weekdays = [day for day in days if day.weekday() < 5] or days
    events: dict[tuple[str, str, date], list[Person]] = {}
    for decoy in world.decoys:
        for _ in range(rng.randint(2, 4)):
            feed = weighted(rng, DECOY_FEEDS if decoy.cp1252 else DECOY_FEEDS[:2])
            channel = rng.choice(DECOY_AGENCIES) if feed == "attendance" else ""
            day = rng.choice(weekdays if feed == "attendance" else days)
            seen = events.setdefault((feed, channel, day), [])
            if decoy not in seen:
                seen.append(decoy)
    return events


def _arrestable(member: Member) -> bool:
    return member.person.cp1252 and (member.person.niche is not None or member.person.pnc is not None)


class _Picker:
    """Distinct adult members, active and at liberty from well before D-1 to D."""

    def __init__(self, rng: random.Random, world: World, d1: date) -> None:
        self._pool = [
            m
            for m in world.members
            if m.active_on(d1 - timedelta(days=7))
            and m.active_on(world.last)
            and m.person.custody_until is None
            and not m.person.young
            and len(m.placements) == 1
        ]
        rng.shuffle(self._pool)

    def __call__(self, wanted: Callable[[Member], bool] = lambda m: True) -> Member:
        for position, member in enumerate(self._pool):
            if wanted(member):
                return self._pool.pop(position)
        raise ValueError("not enough active members to place the deliberate cases; raise scale")


def _impossible_date_name(first: date, d1: date) -> tuple[str, date]:
    """A DIP file named for the 31st of a 30-day month (a typo for the 1st of the next).

    Its content is the real file of the month's last day, resent under a mistyped name.
    Without such a month in the period, day 00 of D-1's month is used instead.
    """
    day = d1 - timedelta(days=1)
    while day >= first:
        month_days = calendar.monthrange(day.year, day.month)[1]
        if day.day == month_days and month_days < 31:
            return f"attendance_DIP_{day.year:04d}{day.month:02d}{month_days + 1:02d}.csv", day
        day -= timedelta(days=1)
    source = d1 - timedelta(days=2)
    return f"attendance_DIP_{d1.year:04d}{d1.month:02d}00.csv", source
