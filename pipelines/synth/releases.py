"""prison_releases/prison_releases_YYYYMMDD.xlsx (CONTRACT 3.4): the weekly schedule.

Each Monday's workbook lists releases from its date over the next 90 days, as the
prisons know them that week: later files move some dates and fill in accommodation.
The workbook is written through openpyxl's writer with fixed document properties and
zip timestamps, so the same world gives the same bytes.

A custody begun in the period (a prison sentence or a recall, pipelines.synth.careers)
is listed from the first Monday after it began until its release; recalls carry the
release date type PRRD.  Broken rows are put on other people's lines than members', so
every member's release stays readable from the newest file on or before it.
"""

from __future__ import annotations

import io
import os
import random
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

from pipelines.identifiers import IdKind
from pipelines.synth.clock import iso_date
from pipelines.synth.csvio import csv_records, render_csv
from pipelines.synth.identity import identifierless
from pipelines.synth.idforms import written_pnc
from pipelines.synth.model import Custody, Delivery, ReleaseVersion, Row
from pipelines.synth.plan import MessPlan
from pipelines.synth.population import PRISONS, WOMENS_PRISONS, World
from pipelines.synth.randomness import stream

COLUMNS = [
    "noms_number",
    "booking_id",
    "pnc_id",
    "surname",
    "forenames",
    "date_of_birth",
    "prison_id",
    "prison_name",
    "release_date",
    "release_date_type",
    "accommodation_on_release",
    "release_postcode",
    "licence_expiry_date",
]
PRISON_NAMES = dict(code_name for code_name, _ in PRISONS + WOMENS_PRISONS)
HORIZON = timedelta(days=90)


@dataclass(slots=True)
class _Line:
    """A schedule row: typed cells for the workbook, plus the truth row."""

    cells: list[object]
    row: Row


def generate(world: World, plan: MessPlan) -> Iterator[Delivery]:
    dates = [day for day in world.days if day.weekday() == 0]
    both = dates[-1] if len(dates) >= 2 else None
    csv_only = (dates[1] if len(dates) >= 3 else dates[0]) if len(dates) >= 2 else None
    middle = [d for d in dates if d not in (both, csv_only)]
    broken = {middle[len(middle) // 2]: "no_noms"} if middle else {}
    if len(middle) >= 2:
        broken[middle[0]] = "text_release_date"
    for day in dates:
        rng = stream(world.seed, "releases", day)
        lines = _lines(world, rng, day, day)
        notes: list[tuple[str, dict[str, object]]] = []
        arrived = datetime.combine(day, time(3, rng.randint(15, 45), rng.randint(0, 59)))
        if day == csv_only:
            name = f"prison_releases_{day:%Y%m%d}.csv"
            _break(world, lines, "impossible_release_date", notes, name, day)
            notes.append(("prison_csv_only", {"file": name, "note": "this week came as CSV only"}))
            yield _delivery(name, day, arrived, lines, notes)
            continue
        name = f"prison_releases_{day:%Y%m%d}.xlsx"
        if day in broken:
            _break(world, lines, broken[day], notes, name, day)
        if day == both:
            csv_name = f"prison_releases_{day:%Y%m%d}.csv"
            early = _lines(world, rng, day, day - timedelta(days=4))[:-1]
            _differ(early, lines, day)
            csv_notes = [
                (
                    "prison_xlsx_and_csv",
                    {
                        "file": csv_name,
                        "note": f"an earlier extract sent alongside {name} (one row fewer, one "
                        "accommodation different); the xlsx is the one used",
                    },
                )
            ]
            yield _delivery(csv_name, day, arrived - timedelta(minutes=31), early, csv_notes)
        yield _delivery(name, day, arrived, lines, notes)


def _lines(world: World, rng: random.Random, day: date, known_at: date) -> list[_Line]:
    """The schedule for file `day` as the prisons knew it at `known_at`."""
    lines = []
    for custody in world.custodies:
        version = custody.as_of(known_at)
        if day < custody.listed_from or not day <= version.release_date <= day + HORIZON:
            continue
        lines.append(_line(world, rng, custody, day, version))
    lines.sort(key=lambda line: (str(line.cells[8]), str(line.cells[0])))
    return lines


def _line(world: World, rng: random.Random, custody: Custody, day: date, version: ReleaseVersion) -> _Line:
    person = custody.person
    pnc = written_pnc(rng, person, day, world.last) if person.pnc and rng.random() < 0.7 else ""
    cells: list[object] = [
        person.noms,
        custody.booking_id,
        pnc or None,
        person.surname,
        person.forenames,
        person.dob,
        custody.prison_id,
        PRISON_NAMES[custody.prison_id],
        version.release_date,
        version.date_type,
        version.accommodation,
        version.release_postcode,
        iso_date(version.licence_expiry) or None,
    ]
    ids = {IdKind.NOMS_NUMBER: person.noms, IdKind.PNC_ID: pnc}
    judged, certain, no_ids = world.index.assess(ids, person.surname, person.forenames, person.dob)
    if (judged, certain) != (person.person_id, True):
        raise AssertionError(f"release row for {person.person_id} not certainly identified")
    fields = {
        "noms_number": person.noms,
        "prison_id": custody.prison_id,
        "release_date": version.release_date.isoformat(),
        "release_date_type": version.date_type,
        "accommodation_on_release": version.accommodation,
    }
    row = Row(_text(cells), person.person_id, "certain", fields, identifierless=no_ids)
    return _Line(cells, row)


def _text(cells: list[object]) -> dict[str, str]:
    return {
        column: (cell.isoformat() if isinstance(cell, date) else "" if cell is None else str(cell))
        for column, cell in zip(COLUMNS, cells, strict=True)
    }


def _break(world: World, lines: list[_Line], kind: str, notes: list[tuple[str, dict[str, object]]], name: str, day: date) -> None:
    others = [n for n, line in enumerate(lines) if line.row.person_id not in world.member_of]
    if not others:
        return
    position = next((n for n in others if n >= len(lines) // 3), others[-1])
    line = lines[position]
    if kind == "no_noms":
        line.cells[0] = None
        line.row.fields["noms_number"] = None
        line.row.quarantine = "missing required noms_number"
        line.row.identifierless = identifierless({IdKind.PNC_ID: str(line.cells[2] or "")}, day)
    elif kind == "text_release_date":
        line.cells[8] = "TBC"
        line.row.fields["release_date"] = None
        line.row.quarantine = "release_date is not a date"
    else:
        line.cells[8] = f"{day.year}-02-30"
        line.row.fields["release_date"] = None
        line.row.quarantine = "impossible release_date"
    line.row.values = _text(line.cells)
    notes.append(("broken_rows", {"file": name, "line": position + 2, "note": line.row.quarantine}))


def _differ(early: list[_Line], final: list[_Line], day: date) -> None:
    """Make sure the CSV disagrees with the workbook on a near release."""
    for line in early:
        release = line.cells[8]
        if isinstance(release, date) and day <= release <= day + timedelta(days=30):
            other = "TEMPORARY" if line.cells[10] == "SETTLED" else "SETTLED"
            line.cells[10] = other
            line.row.fields["accommodation_on_release"] = other
            line.row.values = _text(line.cells)
            return


def _delivery(
    name: str, day: date, arrived: datetime, lines: list[_Line], notes: list[tuple[str, dict[str, object]]]
) -> Delivery:
    """The same rows as a workbook (.xlsx) or as CSV, as the file name says."""
    rows = [line.row for line in lines]
    payload = _workbook(day, lines) if name.endswith(".xlsx") else render_csv(COLUMNS, rows, bom=True, crlf=True)
    return Delivery(
        feed="prison_releases",
        name=name,
        file_date=day,
        arrived=arrived,
        payload=payload,
        records=csv_records("prison_releases", name, rows),
        rows=len(rows),
        quarantined_rows=sum(r.quarantine is not None for r in rows),
        notes=notes,
    )


class _FixedTimeZip(zipfile.ZipFile):
    """A zip whose members all carry one timestamp (openpyxl would stamp "now")."""

    stamp: tuple[int, int, int, int, int, int] = (1980, 1, 1, 0, 0, 0)

    def writestr(
        self,
        zinfo_or_arcname: str | zipfile.ZipInfo,
        data: str | bytes,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            info = zipfile.ZipInfo(zinfo_or_arcname, date_time=self.stamp)
            info.compress_type = self.compression
            info.external_attr = 0o600 << 16
            zinfo_or_arcname = info
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(
        self,
        filename: str | os.PathLike[str],
        arcname: str | None = None,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        # Worksheets arrive as temporary files, which would lend the zip their mtimes.
        with open(filename, "rb") as handle:
            self.writestr(arcname or os.path.basename(filename), handle.read(), compress_type, compresslevel)


def _workbook(day: date, lines: list[_Line]) -> bytes:
    made = datetime.combine(day, time(3, 0))
    book = Workbook()
    sheet = book.active
    sheet.title = "Releases"
    sheet.append(COLUMNS)
    for line in lines:
        sheet.append(line.cells)
    for column in ("F", "I"):
        for cell in sheet[column][1:]:
            if isinstance(cell.value, datetime | date):
                cell.number_format = "dd/mm/yyyy"
    notes = book.create_sheet("Notes")
    notes.append(["Weekly release schedule – OMU extract. Not part of the data feed."])
    notes.append(["Do not forward outside the IOM partnership."])
    notes.append(["Extract run", made])
    notes.append([])
    notes.append(["Rows", len(lines), "Checked by", "OMU admin"])
    book.properties.creator = "OMU release planning"
    book.properties.created = made
    book.properties.modified = made
    buffer = io.BytesIO()
    archive = _FixedTimeZip(buffer, "w", zipfile.ZIP_DEFLATED)
    archive.stamp = (day.year, day.month, day.day, 3, 0, 0)
    ExcelWriter(book, archive).save()
    return buffer.getvalue()
