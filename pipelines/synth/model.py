"""The synthetic world's people, memberships, custodies and generated rows."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

DIVISIONS: tuple[str, ...] = ("CH", "NE", "NW")
AGENCIES: tuple[str, ...] = ("PROBATION", "YOS", "DIP", "HOUSING", "ETE", "NON_STATUTORY")

# Where a member is in the criminal justice system (truth["cjs_locations"]).
COMMUNITY, POLICE_CUSTODY, REMANDED, IN_PRISON, ON_LICENCE, UNKNOWN = (
    "COMMUNITY",
    "POLICE_CUSTODY",
    "REMANDED_IN_CUSTODY",
    "IN_PRISON",
    "ON_LICENCE",
    "UNKNOWN",
)
# Placeholders resolved when the timeline is read, because they depend on the licence in
# force at that moment: back at liberty (ON_LICENCE or COMMUNITY), and handed to the
# prison service by the police (IN_PRISON when on licence, a recall; else UNKNOWN).
AT_LIBERTY, TRANSFERRED = "AT_LIBERTY", "TRANSFERRED"


@dataclass(slots=True)
class Timeline:
    """A member's true criminal-justice whereabouts, and when they are not free.

    `changes` are (at, seq, location, cause, licence_expiry) with a release's licence
    expiry; `held` are the closed intervals the member is unavailable for any other arrest
    (police custody, remand, prison, and the moments reserved for the deliberate cases);
    `custodial` the part of them spent remanded or in prison (no appointments then);
    `hearings` the court dates a member bailed to court must be free for.
    """

    start: str = COMMUNITY
    changes: list[tuple[datetime, int, str, str, date | None]] = field(default_factory=list)
    held: list[tuple[datetime, datetime]] = field(default_factory=list)
    custodial: list[tuple[datetime, datetime]] = field(default_factory=list)
    hearings: list[datetime] = field(default_factory=list)

    def free(self, start: datetime, end: datetime, *, hearings: bool = True) -> bool:
        if any(low <= end and start <= high for low, high in self.held):
            return False
        return not (hearings and any(start <= moment <= end for moment in self.hearings))

    def hold(self, start: datetime, end: datetime, *, custodial: bool = False) -> None:
        self.held.append((start, end))
        if custodial:
            self.custodial.append((start, end))

    def in_custody_on(self, day: date) -> bool:
        """Remanded or in prison at any time of `day`."""
        start, end = datetime.combine(day, time(0)), datetime.combine(day, time(23, 59, 59))
        return any(low <= end and start <= high for low, high in self.custodial)

    def change(self, at: datetime, location: str, cause: str, licence_expiry: date | None = None) -> None:
        self.changes.append((at, len(self.changes), location, cause, licence_expiry))

    def locations(self, first: datetime, horizon: datetime) -> list[list[str]]:
        """[at, location, cause] change points from `first` to `horizon` (both included).

        "At liberty" is ON_LICENCE while the latest release's licence runs (to the end of
        its expiry date), else COMMUNITY; a licence ending turns ON_LICENCE into COMMUNITY.
        """
        out = [[_ts(first), self.start, "start"]]
        current, expiry = self.start, None

        def expire(until: datetime) -> None:
            nonlocal current
            if current == ON_LICENCE and expiry is not None:
                ends = datetime.combine(expiry + timedelta(days=1), time(0))
                if ends <= min(until, horizon):
                    out.append([_ts(ends), COMMUNITY, "licence_expiry"])
                    current = COMMUNITY

        for at, _, location, cause, licence in sorted(self.changes, key=lambda change: (change[0], change[1])):
            if at > horizon:
                break
            if at < first:
                continue
            expire(at)
            if cause == "release":
                expiry = licence
            on_licence = expiry is not None and expiry >= at.date()
            if location == AT_LIBERTY:
                location = ON_LICENCE if on_licence else COMMUNITY
            elif location == TRANSFERRED:
                location, cause = (IN_PRISON, "recall") if on_licence else (UNKNOWN, cause)
            if location != current:
                out.append([_ts(at), location, cause])
                current = location
        expire(horizon)
        return out


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(slots=True)
class Person:
    person_id: str
    surname: str
    forenames: str
    dob: date
    gender: str
    postcode: str
    division: str
    young: bool
    pnc: str | None = None
    pnc_parts: tuple[int, int] | None = None  # (year, serial), for the short written forms
    cro: str | None = None
    niche: str | None = None
    noms: str | None = None
    crn: str | None = None
    yos_ref: str | None = None
    iom_id: str | None = None
    custody_until: date | None = None  # in prison before this date
    prisoner: bool = False
    propensity: float = 1.0  # relative chance of being arrested / in court
    reliability: float = 0.85  # chance of attending an appointment
    cp1252: bool = True
    decoy: str | None = None  # a non-member deliberately close to a member: which kind
    decoy_of: str | None = None  # that member's person_id (None for common names)
    new_surname: str | None = None  # a member's changed surname, used where no identifier is written
    timeline: Timeline | None = None  # members only (pipelines.synth.careers)

    def at_liberty(self, day: date) -> bool:
        """Not serving a sentence, nor remanded or in prison at any time of `day`."""
        if self.custody_until is not None and day < self.custody_until:
            return False
        return self.timeline is None or not self.timeline.in_custody_on(day)

    def free_all_day(self, day: date) -> bool:
        """At liberty and in no police custody all day (a court can hear them at liberty)."""
        if not self.at_liberty(day):
            return False
        start = datetime.combine(day, time(0))
        return self.timeline is None or self.timeline.free(start, start + timedelta(days=1), hearings=False)

    def truth(self) -> dict[str, object]:
        return {
            "person_id": self.person_id,
            "iom_id": self.iom_id,
            "surname": self.surname,
            "forenames": self.forenames,
            "date_of_birth": self.dob.isoformat(),
            "pnc_id": self.pnc,
            "cro_number": self.cro,
            "niche_nominal_id": self.niche,
            "noms_number": self.noms,
            "crn": self.crn,
            "yos_ref": self.yos_ref,
            "postcode": self.postcode,
            "decoy": self.decoy,
            "decoy_of": self.decoy_of,
        }


@dataclass(slots=True)
class Placement:
    """Where a member is managed from `seen` (the first snapshot showing it) onward."""

    seen: date
    division: str
    postcode: str


@dataclass(slots=True)
class Member:
    person: Person
    iom_id: str
    nominated_on: date
    nominated_by: str
    cohort_type: str
    strand: str
    risk_level: str | None
    case_manager_agency: str | None
    placements: list[Placement]
    selected_on: date | None = None
    selection_seen: date | None = None  # the register is updated a day or two after conference
    deselected_on: date | None = None
    deselection_seen: date | None = None
    deselection_reason: str = ""
    reviews: list[tuple[date, date | None]] = field(default_factory=list)  # (due, held)
    plans: list[date] = field(default_factory=list)

    def status(self, day: date) -> str | None:
        """Status in the snapshot dated `day`, or None when not on the register yet."""
        if self.deselection_seen is not None and day >= self.deselection_seen:
            return "DESELECTED"
        if self.selection_seen is not None and day >= self.selection_seen:
            return "ACTIVE"
        if day >= self.nominated_on:
            return "NOMINATED"
        return None

    def active_on(self, day: date) -> bool:
        """Active interval as the register at `day` states it (and contains `day`)."""
        return self.status(day) == "ACTIVE" and self.selected_on is not None and self.selected_on <= day

    def placement(self, day: date) -> Placement:
        current = self.placements[0]
        for placement in self.placements[1:]:
            if placement.seen <= day:
                current = placement
        return current

    def next_review_due(self, day: date) -> date | None:
        for due, held in self.reviews:
            if held is None or held > day:
                return due
        return None

    def plan_agreed(self, day: date) -> date | None:
        position = bisect.bisect_right(self.plans, day)
        return self.plans[position - 1] if position else None


@dataclass(slots=True)
class ReleaseVersion:
    """What the prison reports about one release from `effective` (a file date) onward."""

    effective: date
    release_date: date
    date_type: str
    accommodation: str
    release_postcode: str | None
    licence_expiry: date | None


@dataclass(slots=True)
class Custody:
    person: Person
    prison_id: str
    booking_id: str
    versions: list[ReleaseVersion]
    listed_from: date = date.min  # a sentence passed in the period is scheduled from the next Monday

    def as_of(self, file_date: date) -> ReleaseVersion:
        current = self.versions[0]
        for version in self.versions[1:]:
            if version.effective <= file_date:
                current = version
        return current


@dataclass(slots=True)
class Row:
    """One data row as written, with what the truth says about it."""

    values: dict[str, str]
    person_id: str
    identity: str
    fields: dict[str, object]
    quarantine: str | None = None
    note: tuple[str, str] | None = None  # (mess category, what was done) for truth["mess"]
    variation: str | None = None  # the variation of personal details written (variations.KINDS)
    identifierless: bool = False  # no valid strong identifier, as written


@dataclass(slots=True)
class Delivery:
    """One inbox file, ready to write."""

    feed: str
    name: str
    file_date: date | None
    arrived: datetime
    payload: bytes
    records: list[dict[str, object]]
    rows: int
    quarantined_rows: int
    rejected_whole: bool = False
    original: tuple[bytes, datetime] | None = None  # first version of a corrected file
    notes: list[tuple[str, dict[str, object]]] = field(default_factory=list)
