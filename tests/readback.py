"""The text a person could read in any product file, for tests that look for names in them:
CSV and HTML as written, a workbook's cells, a PDF through pdftotext (poppler-utils)."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import openpyxl


def text_of(path: Path) -> str:
    if path.suffix == ".xlsx":
        book = openpyxl.load_workbook(io.BytesIO(path.read_bytes()), read_only=True)
        return "\n".join(
            "\t".join("" if v is None else str(v) for v in row)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
        )
    if path.suffix == ".pdf":
        return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return path.read_text(encoding="utf-8")
