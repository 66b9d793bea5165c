"""Read a feed file's bytes into a table of text cells, one row per input row.

Every row keeps where it came from (``__row__``: ordinal in the file; ``__loc__``: the
physical CSV line, spreadsheet row or XML element path) so quarantine entries can name it.
Nothing here judges values: that is validation's job.  A file that cannot be read at all
raises :class:`FileRejected`.

A file that cannot be trusted (too big, a zip bomb, an XML bomb) is refused before it
can exhaust memory or time: the limits below are checked on sizes the file declares
(the listing, the zip directory) before anything is read or unpacked.  Reasons name the
line, element or sheet row and never quote the file's contents (they may be personal data).
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time

import pandas as pd
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from pipelines.feeds import COURT_RESULTS, Feed, FileFormat

ROW = "__row__"
LOC = "__loc__"

MIB = 1 << 20
# The largest feed file read at all, checked on the listed size before reading.  Real
# deliveries are well under 10 MiB (a force-wide day of arrests, a region's releases);
# a CSV takes several times its size in memory once tabled, so this bounds a run's memory.
MAX_FILE_BYTES = 256 * MIB
# An .xlsx is a zip: the sizes its members declare once unpacked, and how much they may
# expand, are checked before openpyxl opens it.  Python's zipfile never inflates a member
# beyond its declared size, so the declaration bounds the work.  A real workbook's sheet
# compresses about 10-20 to 1; a bomb compresses 1000 to 1.
MAX_UNPACKED_BYTES = 512 * MIB
MAX_ZIP_RATIO = 200  # for members over 1 MiB once unpacked
MAX_ZIP_MEMBERS = 10_000
MAX_SHEET_ROW = 1_048_576  # Excel's last row: a row number beyond it is not a real sheet


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


def check_size(size: int) -> None:
    """Refuse a file too big to read safely; called on the listed size, before reading."""
    if size > MAX_FILE_BYTES:
        raise FileRejected(
            f"the file is {size / MIB:,.1f} MiB, over the {MAX_FILE_BYTES // MIB} MiB limit for a feed file; it was not read"
        )


def read_table(feed: Feed, name: str, data: bytes) -> RawTable:
    check_size(len(data))  # again on the bytes themselves: a listing may be stale
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
    """Trimmed, lower-cased names; a blank one is named by its position (it is not a feed
    column, so it is ignored and reported as drift), so two blanks are not a duplicate."""
    names = [c.strip().lower() for c in cells]
    names = [n or f"unnamed_{i}" for i, n in enumerate(names, start=1)]
    if len(set(names)) != len(names):
        raise FileRejected("the header names a column more than once")
    return names


def _frame(columns: list[str], rows: list[list[str]], positions: list[tuple[int, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns, dtype=object) if rows else pd.DataFrame(columns=columns, dtype=object)
    frame[ROW] = [p[0] for p in positions]
    frame[LOC] = [p[1] for p in positions]
    return frame


_UTF16_BOMS = {b"\xff\xfe": "UTF-16 (little-endian)", b"\xfe\xff": "UTF-16 (big-endian)"}
_UTF8_BOM = b"\xef\xbb\xbf"


def _line_count(data: bytes) -> int | None:
    """Rows a file held, as far as they can be counted without reading it (lines less the header)."""
    return max(data.count(b"\n") - 1, 0) or None


def _refuse_utf16(feed: Feed, data: bytes) -> None:
    """UTF-16 is no feed's encoding (CONTRACT section 1): say so plainly, rather than let a
    UTF-8 decode fail on byte 0 or Windows-1252 turn every other byte into NUL."""
    wanted = "Windows-1252" if feed.encoding == "cp1252" else "UTF-8"
    for bom, label in _UTF16_BOMS.items():
        if data.startswith(bom):
            raise FileRejected(
                f"the file is {label} text (byte-order mark); {feed.name} files must be {wanted}", rows=_line_count(data)
            )
    sample = data[:4096]
    if len(sample) >= 8 and sample.count(0) * 4 >= len(sample):
        raise FileRejected(
            f"the file looks like UTF-16 text (NUL bytes between characters); {feed.name} files must be {wanted}",
            rows=_line_count(data),
        )


def _decode(feed: Feed, data: bytes) -> str:
    _refuse_utf16(feed, data)
    encoding = feed.encoding
    if data.startswith(_UTF8_BOM):
        encoding = "utf-8-sig"  # a cp1252 feed may still arrive with a UTF-8 mark; the mark settles it
    elif encoding == "cp1252" and not data.isascii():
        encoding = _cp1252_or_utf8(data)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        shown = "UTF-8" if encoding.startswith("utf") else "Windows-1252"
        raise FileRejected(
            f"not valid {shown} text: byte {exc.start} (line {line}) cannot be decoded", rows=_line_count(data)
        ) from None


def _cp1252_or_utf8(data: bytes) -> str:
    """A Windows-1252 feed whose every non-ASCII byte is part of a UTF-8 sequence was
    written as UTF-8 (accented Windows-1252 letters followed by plain ones never form
    one), so it is read as UTF-8 and names survive.  UTF-8 sequences on some lines and
    bytes that are not UTF-8 on others cannot both be right: the file is refused."""
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    utf8_line = not_utf8_line = None
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8_line = utf8_line or number
        except UnicodeDecodeError:
            not_utf8_line = not_utf8_line or number
        if utf8_line and not_utf8_line:
            raise FileRejected(
                f"mixed encodings: line {utf8_line} is UTF-8 but line {not_utf8_line} is not"
                " (the file must be one encoding, Windows-1252)",
                rows=_line_count(data),
            )
    return "cp1252"


_DELIMITERS = (";", "\t", "|")


def _refuse_other_delimiter(columns: list[str], data: bytes) -> None:
    """A semicolon- or tab-separated file reads as one column: name the real fault."""
    if len(columns) == 1:
        for delimiter in _DELIMITERS:
            if delimiter in columns[0]:
                shown = "a tab" if delimiter == "\t" else f"'{delimiter}'"
                raise FileRejected(
                    f"the header row is one column holding {shown}: the file is not comma-separated",
                    rows=_line_count(data),
                )


def _read_csv(feed: Feed, data: bytes) -> RawTable:
    text = _decode(feed, data)
    # csv (not pandas) because it reports physical line numbers even when a quoted field
    # spans lines, and lets a ragged row be quarantined instead of failing the file.
    # strict: a quoted field cut off by the end of the file (a truncated upload) or text
    # after a closing quote is an error for that row, not a silently shortened value.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header_cells = next(reader)
    except StopIteration:
        raise FileRejected("the file is empty (no header row)", rows=None) from None
    except csv.Error as exc:
        raise FileRejected(f"the header row cannot be read as CSV: {exc}") from None
    columns = _header(header_cells)
    _refuse_other_delimiter(columns, data)
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
        if not "".join(cells).strip():  # all its cells blank (whitespace joined is whitespace)
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


def _refuse_zip_bomb(data: bytes) -> None:
    """Judge the archive by what its directory declares, before anything is inflated."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise FileRejected("not a readable .xlsx workbook (not a zip archive)") from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise FileRejected(f"the workbook holds {len(members):,} parts, over the limit of {MAX_ZIP_MEMBERS:,}; it was not opened")
    total = sum(m.file_size for m in members)
    if total > MAX_UNPACKED_BYTES:
        raise FileRejected(
            f"the workbook would unpack to {total / MIB:,.0f} MiB, over the {MAX_UNPACKED_BYTES // MIB} MiB limit"
            " (a zip bomb?); it was not opened"
        )
    for number, m in enumerate(members, start=1):
        # Part names are the sender's text: the part is named by its position only.
        if m.file_size > MIB and m.file_size > MAX_ZIP_RATIO * max(m.compress_size, 1):
            raise FileRejected(
                f"part {number} of the workbook expands {m.file_size / max(m.compress_size, 1):,.0f} to 1,"
                f" over the {MAX_ZIP_RATIO} to 1 limit (a zip bomb?); it was not opened"
            )


def _first_visible_sheet(workbook):  # type: ignore[no-untyped-def]
    """The feed's sheet: the first one a person opening the workbook sees (hidden sheets
    hold lookups and old copies); the first of all if every one is hidden."""
    sheets = workbook.worksheets
    if not sheets:
        raise FileRejected("the workbook has no worksheet")
    return next((ws for ws in sheets if ws.sheet_state == "visible"), sheets[0])


def _read_xlsx(data: bytes) -> RawTable:
    from openpyxl import load_workbook  # imported here: only this path needs it

    _refuse_zip_bomb(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise FileRejected(f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        return _read_sheet(_first_visible_sheet(workbook))
    except FileRejected:
        raise
    except Exception as exc:  # a part that is damaged (bad CRC, bad XML) shows only when read
        raise FileRejected(f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    finally:
        workbook.close()


def _read_sheet(sheet) -> RawTable:  # type: ignore[no-untyped-def]
    from openpyxl.cell.cell import ERROR_CODES

    # A declared dimension (A1:XFD1048576) would pad every row to 16,384 cells and add a
    # million blank rows: read only the cells the sheet holds.
    sheet.reset_dimensions()
    header_cells = next(sheet.iter_rows(max_row=1, values_only=True), None)
    names = [_cell_text(c) for c in header_cells or ()]
    while names and names[-1].strip() == "":
        names.pop()
    if not names:
        raise FileRejected("the sheet is empty (no header row)")
    columns = _header(names)
    rows, positions = [], []
    bad: list[tuple[int, str, str]] = []
    ordinal = 0
    # Cells right of the header's last column are under no column: not part of the feed.
    for number, values in enumerate(sheet.iter_rows(min_row=2, max_col=len(columns), values_only=True), start=2):
        if number > MAX_SHEET_ROW:
            raise FileRejected(f"the sheet has rows beyond row {MAX_SHEET_ROW:,}, Excel's last: not a real worksheet")
        cells = [_cell_text(v) for v in values]
        if not "".join(cells).strip():
            continue  # blank row: not a row
        ordinal += 1
        cells_of = zip(columns, values, strict=False)
        errors = [f"{col}: the cell holds a spreadsheet error ({v})" for col, v in cells_of if v in ERROR_CODES]
        if errors:
            bad.append((ordinal, str(number), "; ".join(errors)))
            continue
        rows.append(cells + [""] * (len(columns) - len(cells)))
        positions.append((ordinal, str(number)))
    return RawTable(_frame(columns, rows, positions), columns, bad)


_COURT_COLUMNS = COURT_RESULTS.column_names


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
                row = {
                    "court_code": court_code,
                    "court_name": root.get("court_name") or "",
                    "hearing_date": hearing_date,
                    "urn": case.get("urn") or "",
                    "defendant_index": str(di),
                    "surname": defendant.get("surname") or "",
                    "forenames": defendant.get("forenames") or "",
                    "date_of_birth": defendant.get("dob") or "",
                    "pnc_id": defendant.get("pnc_id") or "",
                    "cro_number": defendant.get("cro_number") or "",
                    "postcode": defendant.get("postcode") or "",
                    "remand_status": defendant.get("remand_status") or "",
                    "present": defendant.get("present") or "",
                    "offence_seq": offence.get("seq") or "",
                    "offence_code": offence.get("code") or "",
                    "offence_title": offence.get("title") or "",
                    "plea": (offence.findtext("Plea") or "").strip(),
                    "verdict": (offence.findtext("Verdict") or "").strip(),
                    "result_codes": ";".join((r.get("code") or "").strip() for r in results),
                    "result_texts": ";".join((r.get("text") or "").strip() for r in results),
                    "next_hearing_date": hearings[0][0] if hearings else "",
                    "next_hearing_court": hearings[0][1] if hearings else "",
                }
                rows.append([row[c] for c in _COURT_COLUMNS])  # a column the feed adds must be read here
                positions.append((ordinal, f"{dpath}/Offence[{oi}]"))
    if not court_code or not hearing_date:
        raise FileRejected(
            "<CourtResults> lacks the required court_code or hearing_date attribute",
            rows=ordinal or None,
        )
    return RawTable(_frame(_COURT_COLUMNS, rows, positions), list(_COURT_COLUMNS), bad)
