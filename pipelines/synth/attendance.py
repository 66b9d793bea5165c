"""attendance/attendance_<AGENCY>_YYYYMMDD.csv (CONTRACT 3.5): appointments and status
changes reported by the partner agencies.

Each agency has a caseload (mostly cohort members, some of its other clients), seen on
a weekly or fortnightly rhythm.  People are bucketed by that rhythm once, so a day's
appointments are a dictionary look-up rather than a scan of every caseload.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from pipelines.identifiers import IdKind
from pipelines.synth.catalogue import APPOINTMENT_TYPES, STATUS_CHANGES
from pipelines.synth.clock import iso_date, iso_ts, truth_ts
from pipelines.synth.csvio import csv_notes, csv_records, render_csv
from pipelines.synth.idforms import written_pnc
from pipelines.synth.model import AGENCIES, Delivery, Member, Person, Row
from pipelines.synth.plan import MessPlan
from pipelines.synth.population import World
from pipelines.synth.randomness import scaled, stream, weighted
from pipelines.synth.variations import Variant, nickname_variant, vary

COLUMNS = [
    "agency",
    "record_id",
    "record_type",
    "iom_id",
    "agency_ref",
    "pnc_id",
    "surname",
    "forenames",
    "date_of_birth",
    "event_datetime",
    "appointment_type",
    "outcome",
    "status",
]
DRIFT_COLUMN = "keyworker_notes"


@dataclass(frozen=True, slots=True)
class _Style:
    """How each agency's system writes its export."""

    record_prefix: str
    seconds: bool
    bom: bool
    crlf: bool
    status_as_date: bool
    daily: bool  # delivers at weekends too
    show_iom: float
    member_share: float  # share of members on the caseload
    others_ratio: float  # other clients per member client
    cadences: tuple[int, ...]


STYLES: dict[str, _Style] = {
    "PROBATION": _Style("NDL", True, False, False, False, True, 0.85, 1.0, 0.18, (7, 7, 7, 14)),
    "YOS": _Style("YJB", False, True, False, False, True, 0.9, 1.0, 0.4, (7,)),
    "DIP": _Style("DIP-", False, False, False, False, True, 0.75, 0.35, 0.15, (7,)),
    "HOUSING": _Style("HSG", True, True, True, True, False, 0.55, 0.2, 0.2, (14,)),
    "ETE": _Style("ETE", False, False, False, True, False, 0.6, 0.15, 0.1, (7, 14)),
    "NON_STATUTORY": _Style("NSP", False, True, True, True, False, 0.7, 0.15, 0.05, (14,)),
}


@dataclass(slots=True)
class _Client:
    person: Person
    member: Member | None
    ref: str
    slot: int  # usual appointment time, minutes past midnight


class _Agency:
    def __init__(self, name: str, world: World, rng: random.Random) -> None:
        self.name = name
        self.style = STYLES[name]
        self.clients: list[_Client] = []
        self.buckets: dict[tuple[int, int], list[_Client]] = defaultdict(list)
        self._next_record = rng.randint(10_000, 90_000)
        recent = world.first - timedelta(days=180)
        member_clients = [
            m
            for m in world.members
            if (m.deselected_on is None or m.deselected_on >= recent) and self._eligible(m.person, rng, member=True)
        ]
        others = [p for p in world.others if not p.prisoner and self._eligible(p, rng, member=False)]
        rng.shuffle(others)
        wanted_others = round(len(member_clients) * self.style.others_ratio)
        for member in member_clients:
            self._add(rng, member.person, member)
        for person in others[:wanted_others]:
            self._add(rng, person, None)

    def _eligible(self, person: Person, rng: random.Random, *, member: bool) -> bool:
        if self.name == "PROBATION":
            return person.crn is not None
        if self.name == "YOS":
            return person.yos_ref is not None
        if person.young:
            return False
        return rng.random() < self.style.member_share if member else True

    def _add(self, rng: random.Random, person: Person, member: Member | None) -> None:
        if self.name == "PROBATION":
            ref = person.crn or ""
        elif self.name == "YOS":
            ref = person.yos_ref or ""
        else:
            ref = f"{self.style.record_prefix[:3]}{rng.randint(100000, 999999)}C"
        client = _Client(person, member, ref, rng.choice(range(9 * 60, 16 * 60 + 45, 15)))
        self.clients.append(client)
        cadence = rng.choice(self.style.cadences)
        start = date(2000, 1, 3) + timedelta(days=rng.choice([d for d in range(cadence) if d % 7 < 5]))
        self.buckets[(cadence, start.toordinal() % cadence)].append(client)

    def due_on(self, day: date) -> list[_Client]:
        if day.weekday() >= 5:
            return []
        ordinal = day.toordinal()
        due = [c for cadence in set(self.style.cadences) for c in self.buckets.get((cadence, ordinal % cadence), [])]
        return [c for c in due if c.person.at_liberty(day)]

    def record_id(self) -> str:
        self._next_record += 1
        return f"{self.style.record_prefix}{self._next_record:08d}"


@dataclass(slots=True)
class _Once:
    """Cases that happen once, in the first file that qualifies."""

    replaced_record_id: str | None = None  # the D-2 DIP row the D-1 file replaces
    drift_file: str | None = None
    lowercase_file: str | None = None


def generate(world: World, plan: MessPlan) -> Iterator[Delivery]:
    agencies = {name: _Agency(name, world, stream(world.seed, "caseload", name)) for name in AGENCIES}
    carried: dict[str, list[Row]] = defaultdict(list)
    once = _Once()
    breaks = {kind: (agency, _on(plan, fraction)) for kind, (agency, fraction) in _BREAKS.items()}
    for day in world.days[:-1]:  # a day's file arrives the next morning: none yet for D
        for name, agency in agencies.items():
            rng = stream(world.seed, "attendance", name, day)
            rows = carried.pop(name, []) + _day_rows(rng, world, plan, agency, day)
            rows.extend(_deliberate_rows(rng, world, plan, agency, day, once))
            if (name, day) == ("PROBATION", plan.d1):
                rows.extend(_enough_for_correction(rng, world, agency, day, rows))
            delivers = agency.style.daily or (day.weekday() < 5 and (rng.random() < 0.88 or day == plan.d1))
            if not delivers:
                # The agency missed a day: those rows come with its next file.
                carried[name] = rows
                continue
            file_name = f"attendance_{name}_{day:%Y%m%d}.csv"
            header = list(COLUMNS)
            notes: list[tuple[str, dict[str, object]]] = []
            _break_rows(breaks, name, day, rows)
            if name == "ETE" and day >= plan.mid(0.45) and once.drift_file is None:
                once.drift_file = file_name
                header.append(DRIFT_COLUMN)
                if rows:
                    rows[0].values[DRIFT_COLUMN] = "Referred by case manager; CSCS card funded"
                notes.append(("schema_drift", {"file": file_name, "note": f"extra column {DRIFT_COLUMN}; rows are fine"}))
            if name == "HOUSING" and day >= plan.mid(0.3) and once.lowercase_file is None:
                once.lowercase_file = file_name
                rows.append(_lowercase_iom_row(rng, world, plan, agency, day))
            arrived = datetime.combine(day + timedelta(days=1), time(4, rng.randint(0, 50), rng.randint(0, 59)))
            if (name, day) == ("DIP", plan.d1):
                arrived = plan.late_arrival
                notes.append(("late_files", {"file": file_name, "note": f"arrived {truth_ts(arrived)}, after its due time"}))
            style = agency.style
            payload = render_csv(header, rows, bom=style.bom, crlf=style.crlf)
            original = None
            if (name, day) == ("PROBATION", plan.d1):
                corrected, correction_notes = _correct(rng, world, agency, day, rows, file_name)
                original = (payload, arrived)
                rows = corrected
                payload = render_csv(header, rows, bom=style.bom, crlf=style.crlf)
                arrived = plan.corrected_arrival
                notes.extend(correction_notes)
            delivery = Delivery(
                feed="attendance",
                name=file_name,
                file_date=day,
                arrived=arrived,
                payload=payload,
                records=csv_records("attendance", file_name, rows),
                rows=len(rows),
                quarantined_rows=sum(r.quarantine is not None for r in rows),
                original=original,
                notes=notes + csv_notes(file_name, rows),
            )
            yield delivery
            if (name, day) == ("DIP", plan.impossible_source):
                yield _impossible_copy(plan, delivery, rows, header, style)


# --------------------------------------------------------------------------- rows


def _day_rows(rng: random.Random, world: World, plan: MessPlan, agency: _Agency, day: date) -> list[Row]:
    rows: list[Row] = []
    name = agency.name
    due = agency.due_on(day)
    if day.weekday() >= 5:
        # Weekend reporting and drop-ins only, at the agencies open at weekends.
        weekend = agency.style.daily and agency.clients
        picks = [rng.choice(agency.clients) for _ in range(scaled(rng, 0.5, 3.0, world.scale))] if weekend else []
        due = [c for c in picks if c.person.at_liberty(day)]
    for client in due:
        when = datetime.combine(day, time(client.slot // 60, client.slot % 60)) + timedelta(
            minutes=rng.choice((0, 0, 0, 15, -15))
        )
        rows.append(_appointment(rng, world, agency, client, when, _outcome(rng, client), vary_details=True))
    changes = STATUS_CHANGES.get(name)
    if changes and agency.clients and day.weekday() < 5:
        for _ in range(scaled(rng, 0.5, 2.5, world.scale)):
            client = rng.choice(agency.clients)
            if client.person.at_liberty(day):
                rows.append(_status_change(rng, world, agency, client, day, weighted(rng, changes), vary_details=True))
    for decoy in plan.decoy_events.get(("attendance", name, day), []):
        # Someone the agency sees without any identifier, who looks like a member.
        client = _Client(decoy, None, "", rng.choice(range(9 * 60, 16 * 60 + 45, 15)))
        when = datetime.combine(day, time(client.slot // 60, client.slot % 60))
        rows.append(_appointment(rng, world, agency, client, when, _outcome(rng, client)))
    rows.sort(key=lambda r: (r.values["event_datetime"], r.values["record_id"]))
    return rows


def _outcome(rng: random.Random, client: _Client) -> str:
    attend = client.person.reliability if client.member else 0.8
    miss = 1 - attend
    return weighted(
        rng,
        [
            ("ATTENDED", attend),
            ("FAILED_TO_ATTEND", miss * 0.6),
            ("ACCEPTABLE_ABSENCE", miss * 0.25),
            ("RESCHEDULED", miss * 0.1),
            ("CANCELLED", miss * 0.05),
        ],
    )


_NO_IDS = {"iom_id": "", "agency_ref": "", "pnc_id": ""}


def _identifiers(
    rng: random.Random,
    world: World,
    agency: _Agency,
    client: _Client,
    day: date,
    *,
    vary_details: bool,
) -> tuple[dict[str, str], Variant | None]:
    """The identifier columns, and for a member written without any, the one variation
    of their personal details the row carries."""
    person, member = client.person, client.member
    if person.decoy is not None:
        return dict(_NO_IDS), None
    if member is not None and vary_details and rng.random() < world.identifierless_share:
        return dict(_NO_IDS), vary(rng, person, world.index)
    shown = dict(_NO_IDS)
    if member is not None and member.nominated_on <= day and rng.random() < agency.style.show_iom:
        shown["iom_id"] = member.iom_id
    if rng.random() < (0.97 if agency.name in ("PROBATION", "YOS") else 0.8):
        shown["agency_ref"] = client.ref
    if person.pnc and rng.random() < (0.3 if agency.name == "DIP" else 0.1):
        shown["pnc_id"] = written_pnc(rng, person, day, world.last)
    own_ref = agency.name in ("PROBATION", "YOS") and shown["agency_ref"]
    if member is not None and not (shown["iom_id"] or shown["pnc_id"] or own_ref):
        # A member's row carries an identifier whenever the agency holds one: rows
        # without any are the varied ones above.
        if member.nominated_on <= day:
            shown["iom_id"] = member.iom_id
        elif person.pnc:
            shown["pnc_id"] = written_pnc(rng, person, day, world.last)
        elif agency.name in ("PROBATION", "YOS"):
            shown["agency_ref"] = client.ref
    return shown, None


def _ids_for_judge(agency: str, values: dict[str, str]) -> dict[IdKind, str | None]:
    ids: dict[IdKind, str | None] = {IdKind.IOM_ID: values["iom_id"], IdKind.PNC_ID: values["pnc_id"]}
    if agency == "PROBATION":
        ids[IdKind.CRN] = values["agency_ref"]
    elif agency == "YOS":
        ids[IdKind.YOS_REF] = values["agency_ref"]
    return ids


def _finish(
    world: World,
    agency: _Agency,
    person: Person,
    values: dict[str, str],
    dob: date | None,
    fields: dict[str, object],
    *,
    expect_certain: bool = True,
    variant: Variant | None = None,
    note: tuple[str, str] | None = None,
) -> Row:
    if variant is not None:
        values["surname"], values["forenames"], dob = variant.surname, variant.forenames, variant.dob
        expect_certain = variant.certain
    else:
        values["surname"], values["forenames"] = person.surname, person.forenames
    values["date_of_birth"] = iso_date(dob)
    ids = _ids_for_judge(agency.name, values)
    judged, certain, identifierless = world.index.assess(ids, values["surname"], values["forenames"], dob)
    # A decoy written without identifiers is never certain, whatever its details.
    identity = "certain" if certain and judged == person.person_id and person.decoy is None else "uncertain"
    if (identity == "certain") != (expect_certain and person.decoy is None):
        raise AssertionError(f"{agency.name} row {values['record_id']}: identity {identity}, meant otherwise")
    return Row(
        values,
        person.person_id,
        identity,
        fields,
        note=note,
        variation=variant.kind if variant else None,
        identifierless=identifierless,
    )


def _dob_for(rng: random.Random, agency: _Agency, values: dict[str, str], person: Person) -> date | None:
    strong = values["iom_id"] or values["pnc_id"] or (agency.name in ("PROBATION", "YOS") and values["agency_ref"])
    return None if strong and rng.random() < 0.05 else person.dob


def _appointment(
    rng: random.Random,
    world: World,
    agency: _Agency,
    client: _Client,
    when: datetime,
    outcome: str,
    *,
    appointment_type: str | None = None,
    record_id: str | None = None,
    note: tuple[str, str] | None = None,
    vary_details: bool = False,
) -> Row:
    shown, variant = _identifiers(rng, world, agency, client, when.date(), vary_details=vary_details)
    values = {
        "agency": agency.name,
        "record_id": record_id or agency.record_id(),
        "record_type": "APPOINTMENT",
        **shown,
        "event_datetime": iso_ts(when, seconds=agency.style.seconds),
        "appointment_type": appointment_type or rng.choice(APPOINTMENT_TYPES[agency.name]),
        "outcome": outcome,
        "status": "",
    }
    fields = _fields(values, when)
    dob = _dob_for(rng, agency, values, client.person)
    return _finish(world, agency, client.person, values, dob, fields, variant=variant, note=note)


def _status_change(
    rng: random.Random,
    world: World,
    agency: _Agency,
    client: _Client,
    day: date,
    status: str,
    *,
    vary_details: bool = False,
) -> Row:
    moment: date | datetime = day
    if not agency.style.status_as_date:
        moment = datetime.combine(day, time(rng.randint(9, 16), rng.choice((0, 15, 30, 45))))
    text = iso_date(moment) if not isinstance(moment, datetime) else iso_ts(moment, seconds=agency.style.seconds)
    shown, variant = _identifiers(rng, world, agency, client, day, vary_details=vary_details)
    values = {
        "agency": agency.name,
        "record_id": agency.record_id(),
        "record_type": "STATUS_CHANGE",
        **shown,
        "event_datetime": text,
        "appointment_type": "",
        "outcome": "",
        "status": status,
    }
    dob = _dob_for(rng, agency, values, client.person)
    return _finish(world, agency, client.person, values, dob, _fields(values, moment), variant=variant)


def _fields(values: dict[str, str], moment: date | datetime | None) -> dict[str, object]:
    stamp: str | None
    if moment is None:
        stamp = None
    elif isinstance(moment, datetime):
        stamp = truth_ts(moment)
    else:
        stamp = moment.isoformat()
    return {
        "agency": values["agency"],
        "record_id": values["record_id"] or None,
        "record_type": values["record_type"],
        "event_datetime": stamp,
        "appointment_type": values["appointment_type"] or None,
        "outcome": values["outcome"] or None,
        "status": values["status"] or None,
    }


def _client_for(agency: _Agency, member: Member, rng: random.Random) -> _Client:
    """The member as this agency knows them, or as a new referral."""
    for client in agency.clients:
        if client.member is member:
            return client
    ref = member.person.crn if agency.name == "PROBATION" else member.person.yos_ref if agency.name == "YOS" else None
    return _Client(member.person, member, ref or f"{agency.style.record_prefix[:3]}{rng.randint(100000, 999999)}R", 10 * 60)


# --------------------------------------------------------------------------- deliberate cases


def _deliberate_rows(
    rng: random.Random,
    world: World,
    plan: MessPlan,
    agency: _Agency,
    day: date,
    once: _Once,
) -> list[Row]:
    rows: list[Row] = []
    name, d1 = agency.name, plan.d1
    if name == "DIP" and day == d1 - timedelta(days=1):
        client = _client_for(agency, plan.record_update, rng)
        row = _appointment(
            rng,
            world,
            agency,
            client,
            datetime.combine(day, time(11, 0)),
            "FAILED_TO_ATTEND",
            appointment_type="Keyworker session",
        )
        once.replaced_record_id = row.values["record_id"]
        rows.append(row)
    if day != d1:
        return rows
    if name == "PROBATION":
        first, second = (_client_for(agency, m, rng) for m in plan.boundary_appointments)
        rows.append(
            _appointment(
                rng,
                world,
                agency,
                first,
                datetime.combine(day, time(0, 0)),
                "ATTENDED",
                appointment_type="Approved premises curfew check",
                note=("boundary_times", f"{plan.boundary_appointments[0].iom_id}: appointment at D-1 00:00"),
            )
        )
        rows.append(
            _appointment(
                rng,
                world,
                agency,
                second,
                datetime.combine(day, time(23, 59)),
                "FAILED_TO_ATTEND",
                appointment_type="Approved premises curfew check",
                note=("boundary_times", f"{plan.boundary_appointments[1].iom_id}: appointment at D-1 23:59"),
            )
        )
        holder, named = plan.conflict
        values = {
            "agency": name,
            "record_id": agency.record_id(),
            "record_type": "APPOINTMENT",
            "iom_id": holder.iom_id,
            "agency_ref": "",
            "pnc_id": "",
            "event_datetime": iso_ts(datetime.combine(day, time(14, 30)), seconds=True),
            "appointment_type": "Supervision",
            "outcome": "ATTENDED",
            "status": "",
        }
        rows.append(
            _finish(
                world,
                agency,
                named.person,
                values,
                named.person.dob,
                _fields(values, datetime.combine(day, time(14, 30))),
                expect_certain=False,
                note=(
                    "uncertain_identities",
                    f"iom_id of {holder.iom_id} with the exact name and date of "
                    f"birth of {named.iom_id} (person_id is the named person)",
                ),
            )
        )
    elif name == "DIP":
        nick = plan.nickname.person
        nickname = nickname_variant(rng, nick, world.index)
        if nickname is None:
            raise ValueError(f"no nickname of {plan.nickname.iom_id} keeps the truth unambiguous")
        rows.append(
            _bare_row(
                rng,
                world,
                agency,
                nick,
                day,
                time(10, 30),
                nickname,
                ("uncertain_identities", f"{plan.nickname.iom_id}: nickname {nickname.forenames!r}, no identifiers"),
            )
        )
        no_dob = plan.no_dob.person
        rows.append(
            _bare_row(
                rng,
                world,
                agency,
                no_dob,
                day,
                time(15, 0),
                Variant("no_dob", no_dob.surname, no_dob.forenames, None, False),
                ("uncertain_identities", f"{plan.no_dob.iom_id}: name only, no date of birth, no identifiers"),
            )
        )
        early, late = (_client_for(agency, m, rng) for m in plan.offday_appointments)
        rows.append(
            _appointment(
                rng,
                world,
                agency,
                early,
                datetime.combine(day - timedelta(days=1), time(16, 0)),
                "ATTENDED",
                appointment_type="Drug test",
                note=("off_day_events", f"{plan.offday_appointments[0].iom_id}: D-2 appointment recorded late, in the D-1 file"),
            )
        )
        rows.append(
            _appointment(
                rng,
                world,
                agency,
                late,
                datetime.combine(day + timedelta(days=1), time(9, 30)),
                "CANCELLED",
                appointment_type="Keyworker session",
                note=(
                    "off_day_events",
                    f"{plan.offday_appointments[1].iom_id}: appointment on D, cancelled in advance, in the D-1 file",
                ),
            )
        )
        client = _client_for(agency, plan.record_update, rng)
        rows.append(
            _appointment(
                rng,
                world,
                agency,
                client,
                datetime.combine(day - timedelta(days=1), time(11, 0)),
                "ACCEPTABLE_ABSENCE",
                appointment_type="Keyworker session",
                record_id=once.replaced_record_id,
                note=(
                    "record_replaced",
                    f"{plan.record_update.iom_id}: replaces the D-2 row with the "
                    "same record_id (FAILED_TO_ATTEND -> ACCEPTABLE_ABSENCE)",
                ),
            )
        )
        rows.append(_status_change(rng, world, agency, client, day, "TREATMENT_STARTED"))
    return rows


def _bare_row(
    rng: random.Random,
    world: World,
    agency: _Agency,
    person: Person,
    day: date,
    at: time,
    variant: Variant,
    note: tuple[str, str],
) -> Row:
    when = datetime.combine(day, at)
    values = {
        "agency": agency.name,
        "record_id": agency.record_id(),
        "record_type": "APPOINTMENT",
        "iom_id": "",
        "agency_ref": "",
        "pnc_id": "",
        "event_datetime": iso_ts(when, seconds=agency.style.seconds),
        "appointment_type": "Keyworker session",
        "outcome": "ATTENDED",
        "status": "",
    }
    return _finish(world, agency, person, values, variant.dob, _fields(values, when), variant=variant, note=note)


def _lowercase_iom_row(rng: random.Random, world: World, plan: MessPlan, agency: _Agency, day: date) -> Row:
    member = plan.lowercase_iom
    when = datetime.combine(day, time(13, 15))
    values = {
        "agency": agency.name,
        "record_id": agency.record_id(),
        "record_type": "APPOINTMENT",
        "iom_id": f" {member.iom_id.lower()}",
        "agency_ref": "",
        "pnc_id": "",
        "event_datetime": iso_ts(when, seconds=agency.style.seconds),
        "appointment_type": "Housing options interview",
        "outcome": "ATTENDED",
        "status": "",
    }
    return _finish(
        world,
        agency,
        member.person,
        values,
        member.person.dob,
        _fields(values, when),
        note=("identifier_case_whitespace", f"{member.iom_id} written in lower case with a leading space"),
    )


def _plain_member_rows(world: World, rows: list[Row]) -> list[int]:
    return [
        i
        for i, r in enumerate(rows)
        if r.note is None
        and r.person_id in world.member_of
        and r.identity == "certain"
        and r.values["record_type"] == "APPOINTMENT"
        and r.quarantine is None
    ]


def _enough_for_correction(rng: random.Random, world: World, agency: _Agency, day: date, rows: list[Row]) -> list[Row]:
    """Extra appointments when D-1 is quiet (a weekend), so the correction has rows to touch."""
    present = {r.person_id for r in rows}
    extra: list[Row] = []
    wanted = 3 - len(_plain_member_rows(world, rows))
    for client in agency.clients:
        if wanted <= 0:
            break
        if client.member is not None and client.person.person_id not in present and client.person.at_liberty(day):
            when = datetime.combine(day, time(client.slot // 60, client.slot % 60))
            extra.append(
                _appointment(rng, world, agency, client, when, _outcome(rng, client), appointment_type="Weekend reporting")
            )
            present.add(client.person.person_id)
            wanted -= 1
    return extra


def _correct(
    rng: random.Random,
    world: World,
    agency: _Agency,
    day: date,
    rows: list[Row],
    file_name: str,
) -> tuple[list[Row], list[tuple[str, dict[str, object]]]]:
    """The corrected redelivery: one outcome changed, one row withdrawn, one row added."""
    plain = _plain_member_rows(world, rows)
    if len(plain) < 2:
        raise ValueError("too few probation appointments on D-1 to build the correction; raise scale")
    changed_at, dropped_at = plain[0], plain[-1]
    corrected = list(rows)
    before = rows[changed_at]
    after_outcome = "ACCEPTABLE_ABSENCE" if before.values["outcome"] == "FAILED_TO_ATTEND" else "FAILED_TO_ATTEND"
    corrected[changed_at] = replace(
        before,
        values={**before.values, "outcome": after_outcome},
        fields={**before.fields, "outcome": after_outcome},
        note=("corrected_files", f"outcome {before.values['outcome']} -> {after_outcome}"),
    )
    dropped = rows[dropped_at]
    del corrected[dropped_at]
    present = {r.person_id for r in rows}
    newcomer = next(
        c
        for c in agency.clients
        if c.member is not None and c.person.person_id not in present and c.member.active_on(day) and c.person.at_liberty(day)
    )
    added = _appointment(
        rng,
        world,
        agency,
        newcomer,
        datetime.combine(day, time(16, 30)),
        "ATTENDED",
        appointment_type="Home visit",
        note=("corrected_files", "row added by the correction"),
    )
    corrected.append(added)
    notes: list[tuple[str, dict[str, object]]] = [
        (
            "corrected_files",
            {
                "file": file_name,
                "note": f"redelivered with different bytes: record {before.values['record_id']} outcome changed, "
                f"record {dropped.values['record_id']} withdrawn, record {added.values['record_id']} added",
            },
        )
    ]
    return corrected, notes


def _impossible_copy(plan: MessPlan, source: Delivery, rows: list[Row], header: list[str], style: _Style) -> Delivery:
    name = plan.impossible_name
    reason = "file name carries an impossible date"
    records = csv_records("attendance", name, [replace(r, quarantine=reason) for r in rows])
    return Delivery(
        feed="attendance",
        name=name,
        file_date=None,
        arrived=source.arrived + timedelta(minutes=47),
        payload=source.payload,
        records=records,
        rows=len(rows),
        quarantined_rows=len(rows),
        rejected_whole=True,
        notes=[
            (
                "impossible_file_name",
                {"file": name, "note": f"a resend of {source.name} under a mistyped date; quarantined whole"},
            )
        ],
    )


# --------------------------------------------------------------------------- broken rows


def _break_rows(breaks: dict[str, tuple[str, date]], agency: str, day: date, rows: list[Row]) -> None:
    """Break the rows planned for this agency from this day on; a file without a
    suitable row passes the break on to the agency's next file."""
    for kind, (who, when) in list(breaks.items()):
        if who != agency or day < when:
            continue
        wanted_type = "STATUS_CHANGE" if kind == "no_status" else "APPOINTMENT"
        target = next(
            (r for r in rows if r.note is None and r.quarantine is None and r.values["record_type"] == wanted_type), None
        )
        if target is None:
            continue
        del breaks[kind]
        if kind == "no_outcome":
            target.values["outcome"], target.fields["outcome"] = "", None
            target.quarantine = "APPOINTMENT without outcome"
        elif kind == "bad_outcome":
            target.values["outcome"], target.fields["outcome"] = "DNA", "DNA"
            target.quarantine = "outcome not in the allowed set"
        elif kind == "impossible_date":
            target.values["event_datetime"] = f"{day.year}-02-30T10:00:00"
            target.fields["event_datetime"] = None
            target.quarantine = "impossible date in event_datetime"
        elif kind == "no_record_id":
            target.values["record_id"], target.fields["record_id"] = "", None
            target.quarantine = "missing required record_id"
        else:
            target.values["status"], target.fields["status"] = "", None
            target.quarantine = "STATUS_CHANGE without status"
        target.note = ("broken_rows", target.quarantine)


# kind: (agency, fraction of the period); the first file on or after that date carries it.
_BREAKS: dict[str, tuple[str, float]] = {
    "no_outcome": ("PROBATION", 0.25),
    "bad_outcome": ("DIP", 0.4),
    "impossible_date": ("PROBATION", 0.55),
    "no_record_id": ("DIP", 0.65),
    "no_status": ("DIP", 0.8),
}


def _on(plan: MessPlan, fraction: float) -> date:
    day = plan.mid(fraction)
    while day.weekday() >= 5 and day > plan.first:  # weekday events; stay clear of D-1
        day -= timedelta(days=1)
    return day
