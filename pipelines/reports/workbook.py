"""Spreadsheets for people who work in Excel: one workbook, a sheet per table (openpyxl).

Each sheet has a bold header row that stays frozen while scrolling, an autofilter, column
widths that fit the content, and dates and timestamps as real Excel dates (so they sort
and filter as dates), not text.  The bytes are deterministic for the same tables: the
workbook's created/modified times are fixed, so a re-run that changes nothing rewrites
nothing (pipelines/reports/publish.py).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from datetime import date, datetime

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

FIXED_TIME = datetime(2000, 1, 1)  # properties' created/modified: same tables, same bytes
DATE_FORMAT = "ddd dd mmm yyyy"
DATETIME_FORMAT = "ddd dd mmm yyyy hh:mm"
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def sheet_title(name: str) -> str:
    """An Excel-safe sheet name (at most 31 characters, none of []:*?/\\)."""
    return _BAD_SHEET_CHARS.sub(" ", name.replace("_", " ")).strip()[:31] or "Sheet"


def _excel_value(value: object) -> object:
    """Dates and timestamps as Python dates (Excel dates), numbers as numbers, blanks empty."""
    if value is None or (not isinstance(value, (str, list, tuple)) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().replace(tzinfo=None)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return value.item()
    if isinstance(value, (date, int, float, str)):
        return value
    return str(value)


def workbook_bytes(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """One .xlsx with a sheet per entry (name -> table), in the mapping's order."""
    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for name, frame in sheets.items():
        sheet = book.create_sheet(sheet_title(name))
        sheet.append([str(c) for c in frame.columns])
        for cell in sheet[1]:
            cell.font = bold
        for row in frame.itertuples(index=False, name=None):
            sheet.append([_excel_value(v) for v in row])
        for column_cells in sheet.iter_cols(min_row=2):
            for cell in column_cells:
                if isinstance(cell.value, datetime):
                    midnight = (cell.value.hour, cell.value.minute, cell.value.second) == (0, 0, 0)
                    cell.number_format = DATE_FORMAT if midnight else DATETIME_FORMAT
                elif isinstance(cell.value, date):
                    cell.number_format = DATE_FORMAT
        sheet.freeze_panes = "A2"  # the header stays while scrolling
        if len(frame.columns):
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(frame.columns))}{max(1, len(frame) + 1)}"
        for index, column in enumerate(frame.columns, start=1):
            longest = max([len(str(column)), *(len(str(v)) for v in frame[column].head(500))], default=8)
            sheet.column_dimensions[get_column_letter(index)].width = min(60, max(10, longest + 2))
    if not book.sheetnames:
        book.create_sheet("Empty")
    book.properties.created = book.properties.modified = FIXED_TIME
    buffer = io.BytesIO()
    book.save(buffer)
    return _fixed_zip_times(buffer.getvalue())


def _fixed_zip_times(data: bytes) -> bytes:
    """The same workbook stamped FIXED_TIME throughout (openpyxl stamps "now")."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=FIXED_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            body = src.read(item.filename)
            if item.filename == "docProps/core.xml":  # openpyxl stamps "modified" as it saves
                body = _MODIFIED.sub(rb"\g<1>2000-01-01T00:00:00Z\g<2>", body)
            dst.writestr(info, body)
    return out.getvalue()
