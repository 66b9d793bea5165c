"""cohort/cohort_YYYYMMDD.csv: the full register as at each day (CONTRACT 3.1).

A member's row changes only on a handful of days (nomination, selection, deselection,
a review held, a plan agreed, a move), so rows are rendered once and re-rendered only on
those days: a snapshot is then a join of cached lines, linear in the register's size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time

from pipelines.synth.clock import iso_date
from pipelines.synth.csvio import csv_line
from pipelines.synth.model import Delivery, Member
from pipelines.synth.plan import MessPlan
from pipelines.synth.population import World
from pipelines.synth.randomness import stream
from pipelines.synth.truth import TruthWriter, dumps

COLUMNS = [
    "iom_id",
    "surname",
    "forenames",
    "date_of_birth",
    "gender",
    "pnc_id",
    "cro_number",
    "niche_nominal_id",
    "noms_number",
    "crn",
    "yos_ref",
    "postcode",
    "managing_division",
    "cohort_type",
    "strand",
    "status",
    "nominated_by",
    "case_manager_agency",
    "risk_level",
    "selected_on",
    "deselected_on",
    "deselection_reason",
    "support_plan_agreed_on",
    "next_review_due",
]


def snapshots(world: World, plan: MessPlan, truth: TruthWriter) -> Iterator[Delivery]:
    members = world.members
    changes: dict[date, list[int]] = defaultdict(list)
    for position, member in enumerate(members):
        for day in _change_days(member):
            if world.first < day <= world.last:
                changes[day].append(position)

    header = csv_line(COLUMNS)
    rendered: list[_Rendered | None] = [_render(m, world.first) for m in members]
    for day in world.days:
        if day != world.first:
            for position in changes.get(day, ()):
                rendered[position] = _render(members[position], day)
        if day == plan.skipped_snapshot:
            continue  # the case-management export failed that night
        rng = stream(world.seed, "cohort", day)
        present = [entry for entry in rendered if entry is not None]
        lines = [entry.line for entry in present]
        registers = [entry.register for entry in present]
        name = f"cohort_{day:%Y%m%d}.csv"
        notes: list[tuple[str, dict[str, object]]] = []
        quarantined = 0
        if day == plan.cohort_broken_on:
            nominated = [i for i, entry in enumerate(present) if entry.values["status"] == "NOMINATED"]
            if nominated:
                position = rng.choice(nominated)
                broken = present[position]
                lines[position] = csv_line([{**broken.values, "managing_division": ""}[c] for c in COLUMNS])
                del registers[position]
                quarantined = 1
                notes.append(
                    (
                        "broken_rows",
                        {
                            "file": name,
                            "line": position + 2,
                            "note": f"{broken.values['iom_id']} without managing_division; "
                            "left out of that day's register in truth",
                        },
                    )
                )
        truth.register(day, registers)
        arrived = datetime.combine(day, time(3, rng.randint(2, 40), rng.randint(0, 59)))
        payload = b"\xef\xbb\xbf" + (header + "".join(lines)).encode("utf-8")
        yield Delivery(
            feed="cohort",
            name=name,
            file_date=day,
            arrived=arrived,
            payload=payload,
            records=[],
            rows=len(lines),
            quarantined_rows=quarantined,
            notes=notes,
        )


@dataclass(frozen=True, slots=True)
class _Rendered:
    """A member's register row as at some day: its CSV line and its truth entry."""

    values: dict[str, str]
    line: str
    register: str


def _change_days(member: Member) -> set[date]:
    days = {member.nominated_on}
    days.update(d for d in (member.selection_seen, member.deselection_seen) if d is not None)
    days.update(p.seen for p in member.placements[1:])
    days.update(held for _, held in member.reviews if held is not None)
    days.update(member.plans)
    return days


def _render(member: Member, day: date) -> _Rendered | None:
    status = member.status(day)
    if status is None:
        return None
    person = member.person
    placement = member.placement(day)
    # A deselected member's review and plan dates stay as they were when they left.
    as_of = min(day, member.deselected_on) if status == "DESELECTED" and member.deselected_on else day
    on_cohort = status != "NOMINATED"
    review = member.next_review_due(as_of) if on_cohort else None
    plan = member.plan_agreed(as_of) if on_cohort else None
    deselected = status == "DESELECTED"
    values = {
        "iom_id": member.iom_id,
        "surname": person.surname,
        "forenames": person.forenames,
        "date_of_birth": iso_date(person.dob),
        "gender": person.gender,
        "pnc_id": person.pnc or "",
        "cro_number": person.cro or "",
        "niche_nominal_id": person.niche or "",
        "noms_number": person.noms or "",
        "crn": person.crn or "",
        "yos_ref": person.yos_ref or "",
        "postcode": placement.postcode,
        "managing_division": placement.division,
        "cohort_type": member.cohort_type,
        "strand": member.strand,
        "status": status,
        "nominated_by": member.nominated_by,
        "case_manager_agency": member.case_manager_agency or "",
        "risk_level": member.risk_level or "",
        "selected_on": iso_date(member.selected_on) if on_cohort else "",
        "deselected_on": iso_date(member.deselected_on) if deselected else "",
        "deselection_reason": member.deselection_reason if deselected else "",
        "support_plan_agreed_on": iso_date(plan),
        "next_review_due": iso_date(review),
    }
    entry = dumps(
        {
            "iom_id": member.iom_id,
            "person_id": person.person_id,
            "surname": person.surname,
            "forenames": person.forenames,
            "managing_division": placement.division,
            "status": status,
            "selected_on": values["selected_on"] or None,
            "deselected_on": values["deselected_on"] or None,
            "next_review_due": values["next_review_due"] or None,
            "support_plan_agreed_on": values["support_plan_agreed_on"] or None,
            "case_manager_agency": values["case_manager_agency"] or None,
        }
    )
    return _Rendered(values, csv_line([values[c] for c in COLUMNS]), entry)
