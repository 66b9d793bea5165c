"""Read a feed file's bytes into a table of text cells, one row per input row.

Every row keeps where it came from (``__row__``: ordinal in the file; ``__loc__``: the
physical CSV line, spreadsheet row or XML element path) so quarantine entries can name it.
Nothing here judges values: that is validation's job.  A file that cannot be read at all
raises :class:`FileRejected`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time

import pandas as pd
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from pipelines.feeds import Feed, FileFormat

ROW = "__row__"
LOC = "__loc__"


class FileRejected(Exception):
    """The whole file is quarantined.  ``rows`` counts the rows it held, if countable."""

    def __init__(self, reason: str, rows: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rows = rows


@dataclass
class RawTable:
    frame: pd.DataFrame  # text cells ('' for blank), plus ROW and LOC
    columns: list[str]  # header as delivered (normalised to lower case)
    bad_rows: list[tuple[int, str, str]] = field(default_factory=list)  # (row, loc, reason)

    @property
    def rows_in(self) -> int:
        return len(self.frame) + len(self.bad_rows)


def read_table(feed: Feed, name: str, data: bytes) -> RawTable:
    ext = name.rsplit(".", 1)[-1].lower()
    fmt = FileFormat(ext) if ext in {f.value for f in FileFormat} else None
    if fmt is None or fmt not in feed.formats:
        raise FileRejected(f"{feed.name} files must be {', '.join(feed.formats)}, not .{ext}")
    if fmt is FileFormat.CSV:
        return _read_csv(feed, data)
    if fmt is FileFormat.XLSX:
        return _read_xlsx(data)
    return _read_court_xml(data)


def _header(cells: list[str]) -> list[str]:
    return [c.strip().lower() for c in cells]


def _frame(columns: list[str], rows: list[list[str]], positions: list[tuple[int, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns, dtype=object) if rows else pd.DataFrame(columns=columns, dtype=object)
    frame[ROW] = [p[0] for p in positions]
    frame[LOC] = [p[1] for p in positions]
    return frame


def _read_csv(feed: Feed, data: bytes) -> RawTable:
    encoding = feed.encoding
    # A cp1252 feed may still arrive with a UTF-8 byte-order mark; the mark settles it.
    if data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileRejected(
            f"not valid {encoding} text: byte {exc.start} (line {line}) cannot be decoded",
            rows=max(data.count(b"\n") - 1, 0) or None,
        ) from None
    # csv (not pandas) because it reports physical line numbers even when a quoted field
    # spans lines, and lets a ragged row be quarantined instead of failing the file.
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header_cells = next(reader)
    except StopIteration:
        raise FileRejected("the file is empty (no header row)", rows=None) from None
    except csv.Error as exc:
        raise FileRejected(f"the header row cannot be read as CSV: {exc}") from None
    columns = _header(header_cells)
    if len(set(columns)) != len(columns):
        raise FileRejected("the header names a column more than once")
    rows: list[list[str]] = []
    positions: list[tuple[int, str]] = []
    bad: list[tuple[int, str, str]] = []
    ordinal = 0
    while True:
        start_line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            ordinal += 1
            bad.append((ordinal, str(start_line), f"the row cannot be read as CSV: {exc}"))
            continue
        if not cells or all(c.strip() == "" for c in cells):
            continue  # blank line: not a row
        ordinal += 1
        if len(cells) != len(columns):
            bad.append((ordinal, str(start_line), f"the row has {len(cells)} fields but the header has {len(columns)}"))
            continue
        rows.append(cells)
        positions.append((ordinal, str(start_line)))
    return RawTable(_frame(columns, rows, positions), columns, bad)


def _cell_text(value: object) -> str:
    # Spreadsheet cells arrive typed; render them as the feed's text formats would.
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d") if value.time() == time(0) else value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(data: bytes) -> RawTable:
    from openpyxl import load_workbook  # imported here: only this path needs it

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise FileRejected(f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        sheet = workbook.worksheets[0]  # later sheets are not part of the feed
        it = sheet.iter_rows(values_only=True)
        try:
            header_cells = next(it)
        except StopIteration:
            raise FileRejected("the first sheet is empty (no header row)") from None
        columns = _header([_cell_text(c) for c in header_cells])
        while columns and columns[-1] == "":
            columns.pop()
        rows, positions = [], []
        ordinal = 0
        for number, values in enumerate(it, start=2):
            cells = [_cell_text(v) for v in values[: len(columns)]]
            if all(c.strip() == "" for c in cells) and all(v is None for v in values[len(columns) :]):
                continue
            ordinal += 1
            cells += [""] * (len(columns) - len(cells))
            rows.append(cells)
            positions.append((ordinal, str(number)))
        return RawTable(_frame(columns, rows, positions), columns)
    finally:
        workbook.close()


_COURT_COLUMNS = [
    "court_code", "court_name", "hearing_date", "urn", "defendant_index", "surname", "forenames",
    "date_of_birth", "pnc_id", "cro_number", "postcode", "remand_status", "present", "offence_seq",
    "offence_code", "offence_title", "plea", "verdict", "result_codes", "result_texts",
    "next_hearing_date", "next_hearing_court",
]  # fmt: skip


def _read_court_xml(data: bytes) -> RawTable:
    """Flatten court results to one row per offence, the feed's unit of a result."""
    try:
        root = fromstring(data, forbid_dtd=True)  # no DTDs at all: no entities, no bombs
    except DefusedXmlException as exc:
        raise FileRejected(f"unsafe XML refused ({type(exc).__name__})") from None
    except ParseError as exc:
        raise FileRejected(f"not well-formed XML: {exc}") from None
    if root.tag != "CourtResults":
        raise FileRejected(f"the root element is <{root.tag}>, not <CourtResults>")
    court_code = (root.get("court_code") or "").strip()
    hearing_date = (root.get("hearing_date") or "").strip()
    rows, positions = [], []
    bad: list[tuple[int, str, str]] = []
    ordinal = 0
    for ci, case in enumerate(root.findall("Case"), start=1):
        for di, defendant in enumerate(case.findall("Defendant"), start=1):
            offences = defendant.findall("Offence")
            dpath = f"/CourtResults/Case[{ci}]/Defendant[{di}]"
            if not offences:
                ordinal += 1
                bad.append((ordinal, dpath, "the defendant has no <Offence>"))
                continue
            for oi, offence in enumerate(offences, start=1):
                ordinal += 1
                results = offence.findall("Result")
                hearings = sorted((h.get("date") or "", h.get("court_code") or "") for h in offence.findall("NextHearing"))
                # The earliest next hearing counts; malformed dates sort last so a good one wins.
                hearings.sort(key=lambda h: (len(h[0]) != 10, h[0]))
                rows.append(
                    [
                        court_code,
                        root.get("court_name") or "",
                        hearing_date,
                        case.get("urn") or "",
                        str(di),
                        defendant.get("surname") or "",
                        defendant.get("forenames") or "",
                        defendant.get("dob") or "",
                        defendant.get("pnc_id") or "",
                        defendant.get("cro_number") or "",
                        defendant.get("postcode") or "",
                        defendant.get("remand_status") or "",
                        defendant.get("present") or "",
                        offence.get("seq") or "",
                        offence.get("code") or "",
                        offence.get("title") or "",
                        (offence.findtext("Plea") or "").strip(),
                        (offence.findtext("Verdict") or "").strip(),
                        ";".join((r.get("code") or "").strip() for r in results),
                        ";".join((r.get("text") or "").strip() for r in results),
                        hearings[0][0] if hearings else "",
                        hearings[0][1] if hearings else "",
                    ]
                )
                positions.append((ordinal, f"{dpath}/Offence[{oi}]"))
    if not court_code or not hearing_date:
        raise FileRejected(
            "<CourtResults> lacks the required court_code or hearing_date attribute",
            rows=ordinal or None,
        )
    return RawTable(_frame(_COURT_COLUMNS, rows, positions), list(_COURT_COLUMNS), bad)
