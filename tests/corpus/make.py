"""Bytes for the corpus: rows written as each feed writes them, then broken on purpose.

Everything is generated when a case runs; nothing binary is committed.  The people are
few and fixed, so a test can check that no message ever repeats their details.
"""

from __future__ import annotations

import csv
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from xml.sax.saxutils import quoteattr

from pipelines.feeds import FEEDS

FILE_DAY = "20261122"  # every corpus file is dated the day before the report date
MIB = 1 << 20


# ---------------------------------------------------------------------------- people


@dataclass(frozen=True)
class Person:
    surname: str
    forenames: str
    dob: str  # ISO
    iom_id: str
    pnc_id: str = ""
    noms_number: str = ""

    @property
    def uk_dob(self) -> str:
        y, m, d = self.dob.split("-")
        return f"{d}/{m}/{y}"

    def personal_values(self) -> set[str]:
        """What must never appear in a message: names, dates of birth, identifiers."""
        values = {self.surname, self.forenames, self.dob, self.uk_dob, self.iom_id, self.pnc_id, self.noms_number}
        return {v for v in values if v}


SIOBHAN = Person("Ó Briain", "Siobhán", "1990-01-31", "LDS-000101", pnc_id="2012/0394773H", noms_number="A1234BC")
ZOE = Person("Ng-Smith", "Zoë", "1995-03-07", "LDS-000102", noms_number="B2345CD")
LIAM = Person("O'Brien", "Liam", "1988-07-14", "LDS-000103", noms_number="C3456DE")
BOBBY = Person("Robert'); DROP TABLE members;--", "Bobby", "1979-05-05", "LDS-000104", noms_number="D4567EF")
LAYLA = Person("حداد", "ليلى", "1992-02-02", "LDS-000105")  # right-to-left
JO = Person("Smith 😀", "Jo 🙂", "1993-03-03", "LDS-000106")  # emoji
TRIO = (SIOBHAN, ZOE, LIAM)


def crowd(n: int) -> list[Person]:
    return [Person(f"Crowdson{i:03d}", f"Crowdie{i:03d}", f"1980-01-{i % 28 + 1:02d}", f"LDS-{200 + i:06d}") for i in range(n)]


PEOPLE = (SIOBHAN, ZOE, LIAM, BOBBY, LAYLA, JO, *crowd(30))


# ---------------------------------------------------------------------------- rows


def member(p: Person, **over: str) -> dict[str, str]:
    row = {
        "iom_id": p.iom_id, "surname": p.surname, "forenames": p.forenames, "date_of_birth": p.dob,
        "pnc_id": p.pnc_id, "noms_number": p.noms_number, "managing_division": "CH", "cohort_type": "IOM",
        "strand": "REHAB_RESETTLE", "status": "ACTIVE", "selected_on": "2026-01-05", "case_manager_agency": "PROBATION",
    }  # fmt: skip
    return row | over


def arrest(p: Person, ref: str, **over: str) -> dict[str, str]:
    row = {
        "custody_ref": ref, "pnc_id": p.pnc_id, "surname": p.surname, "forenames": p.forenames,
        "date_of_birth": p.uk_dob, "arrest_datetime": "21/11/2026 22:15", "arrest_division": "CH",
        "custody_suite": "Elland Road", "offence_description": "Theft from a shop", "outcome": "CHARGED",
    }  # fmt: skip
    return row | over


def appointment(p: Person, record_id: str, **over: str) -> dict[str, str]:
    row = {
        "agency": "PROBATION", "record_id": record_id, "record_type": "APPOINTMENT", "iom_id": p.iom_id,
        "surname": p.surname, "forenames": p.forenames, "date_of_birth": p.dob,
        "event_datetime": "2026-11-21T10:00", "appointment_type": "Supervision", "outcome": "ATTENDED",
    }  # fmt: skip
    return row | over


def release(p: Person, **over: object) -> dict[str, object]:
    row = {
        "noms_number": p.noms_number, "surname": p.surname, "forenames": p.forenames, "date_of_birth": p.dob,
        "prison_id": "LEI", "prison_name": "HMP Leeds", "release_date": "2026-12-01", "release_date_type": "CRD",
        "accommodation_on_release": "SETTLED",
    }  # fmt: skip
    return row | over


# ---------------------------------------------------------------------------- CSV


def csv_text(feed: str, rows: Iterable[dict[str, object]], *, columns: list[str] | None = None, newline: str = "\n") -> str:
    columns = columns or FEEDS[feed].column_names
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else str(row.get(c)) for c in columns])
    return buffer.getvalue()


def csv_file(feed: str, rows: Iterable[dict[str, object]], *, encoding: str | None = None, **kw: object) -> bytes:
    return csv_text(feed, rows, **kw).encode(encoding or FEEDS[feed].encoding)  # type: ignore[arg-type]


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


# ---------------------------------------------------------------------------- court XML


def defendant(p: Person, offences: int = 1, **attrs: str) -> dict[str, object]:
    return {"surname": p.surname, "forenames": p.forenames, "dob": p.dob, "pnc_id": p.pnc_id, **attrs, "offences": offences}


def court_xml(cases: list[tuple[str, list[dict[str, object]]]], *, root: str = "CourtResults",
              court: str = 'court_code="B13HT" hearing_date="2026-11-21"', encoding: str = "UTF-8") -> str:  # fmt: skip
    parts = [f'<?xml version="1.0" encoding="{encoding}"?>', f"<{root} {court}>"]
    for urn, defendants in cases:
        parts.append(f'  <Case urn="{urn}">')
        for d in defendants:
            attrs = " ".join(f"{k}={quoteattr(str(v))}" for k, v in d.items() if k != "offences" and v != "")
            parts.append(f"    <Defendant {attrs}>")
            for seq in range(1, int(d["offences"]) + 1):  # type: ignore[call-overload]
                parts.append(f'      <Offence seq="{seq}" title="Theft from a shop"><Result code="1116"/></Offence>')
            parts.append("    </Defendant>")
        parts.append("  </Case>")
    parts.append(f"</{root}>")
    return "\n".join(parts) + "\n"


def court_file(*defendants: dict[str, object], **kw: str) -> bytes:
    return court_xml([("13AA1234526", list(defendants))], **kw).encode()


def entity_bomb() -> bytes:
    """Billion laughs: ten levels of ten, 10**9 copies once expanded."""
    levels = ['<!ENTITY l0 "lol">'] + [f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)]
    return _with_dtd("\n".join(levels), "&l9;")


def quadratic_bomb() -> bytes:
    """One 50,000-character entity used 20,000 times: a gigabyte from a megabyte."""
    return _with_dtd(f'<!ENTITY big "{"x" * 50_000}">', "&big;" * 20_000)


def external_entity() -> bytes:
    return _with_dtd('<!ENTITY e SYSTEM "file:///etc/passwd">', "&e;")


def _with_dtd(declarations: str, use: str) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE CourtResults [\n{declarations}\n]>\n'
        f'<CourtResults court_code="B13HT" hearing_date="2026-11-21"><Case urn="U1">'
        f'<Defendant surname="Ng-Smith" forenames="Zoë"><Offence seq="1" title="T"><Plea>{use}</Plea></Offence>'
        f"</Defendant></Case></CourtResults>\n"
    ).encode()


# ---------------------------------------------------------------------------- XLSX

RELEASE_COLUMNS = [
    "noms_number", "surname", "forenames", "date_of_birth", "prison_id", "prison_name", "release_date",
    "release_date_type", "accommodation_on_release",
]  # fmt: skip


@dataclass
class Sheet:
    title: str
    rows: list[list[object]]
    state: str = "visible"
    merged: tuple[str, ...] = ()
    formats: dict[str, str] = field(default_factory=dict)  # cell -> number format


def release_rows(*rows: dict[str, object], columns: list[str] = RELEASE_COLUMNS) -> list[list[object]]:
    return [list(columns), *([r.get(c) for c in columns] for r in rows)]


def as_dates(row: dict[str, object]) -> dict[str, object]:
    """A spreadsheet holds dates as dates: every ISO date text becomes a date cell."""
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    return {k: date.fromisoformat(v) if isinstance(v, str) and iso.match(v) else v for k, v in row.items()}


def xlsx(*sheets: Sheet) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for s in sheets:
        ws = wb.create_sheet(s.title)
        for row in s.rows:
            ws.append(row)
        for cells in s.merged:
            ws.merge_cells(cells)
        for cell, fmt in s.formats.items():
            ws[cell].number_format = fmt
        ws.sheet_state = s.state
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def patch_sheet(data: bytes, edit: Callable[[str], str], part: str = "xl/worksheets/sheet1.xml") -> bytes:
    """Rewrite one part of a workbook, as another program might have written it."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == part:
                content = edit(content.decode()).encode()
            target.writestr(info.filename, content)
    return out.getvalue()


def cache_formula(value: str) -> Callable[[str], str]:
    """Give the first formula without a value a cached one, as Excel saves it."""
    return lambda xml: re.sub(r"(<f>[^<]*</f>)<v ?/>", rf"\1<v>{value}</v>", xml, count=1)


def zip_bomb(unpacked: int = 1024 * MIB, *, declared: int | None = None) -> bytes:
    """A real workbook whose sheet inflates to ``unpacked`` bytes of blanks (1 MiB of
    deflate per GiB).  ``declared`` makes the zip directory lie about that size."""
    parts = {n: zipfile.ZipFile(io.BytesIO(xlsx(Sheet("Releases", release_rows())))).read(n) for n in _XLSX_PARTS}
    head, tail = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>',
        b"</sheetData></worksheet>",
    )
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b" " * MIB
    first = deflate.compress(head) + deflate.flush(zlib.Z_FULL_FLUSH)
    # After a full flush every identical chunk deflates to the same bytes: build them once.
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    count = (unpacked - len(head) - len(tail)) // MIB
    body = first + block * count + deflate.compress(tail) + deflate.flush()
    crc = zlib.crc32(head)
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + count * MIB + len(tail)
    if declared is not None:  # a liar: the directory's size and CRC describe only the start
        crc, size = zlib.crc32((head + chunk)[:declared]), declared
    members = [(n, zlib.crc32(c), _deflate(c), len(c)) for n, c in parts.items()]
    members.append(("xl/worksheets/sheet1.xml", crc, body, size))
    return _zip(members)


_XLSX_PARTS = ("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml")


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def _zip(members: list[tuple[str, int, bytes, int]]) -> bytes:
    """A zip archive from already-deflated members (zipfile would inflate-check nothing,
    but cannot be handed deflated bytes)."""
    out, directory = io.BytesIO(), io.BytesIO()
    for name, crc, body, size in members:
        encoded, offset = name.encode(), out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(body), size, len(encoded), 0))
        out.write(encoded + body)
        directory.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(body), size,
                                    len(encoded), 0, 0, 0, 0, 0, offset) + encoded)  # fmt: skip
    start = out.tell()
    out.write(directory.getvalue())
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(directory.getvalue()), start, 0))
    return out.getvalue()


# ---------------------------------------------------------------------------- huge files


@dataclass(frozen=True)
class Sparse:
    """A file of ``size`` bytes that begins with ``head``: written sparse, never held."""

    size: int
    head: bytes
