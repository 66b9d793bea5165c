"""The synthetic world's people, memberships, custodies and generated rows."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, datetime

DIVISIONS: tuple[str, ...] = ("CH", "NE", "NW")
AGENCIES: tuple[str, ...] = ("PROBATION", "YOS", "DIP", "HOUSING", "ETE", "NON_STATUTORY")


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

    def at_liberty(self, day: date) -> bool:
        return self.custody_until is None or day >= self.custody_until

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
