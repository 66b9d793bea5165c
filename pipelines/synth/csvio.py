"""CSV rendering shared by the CSV feeds, and the truth records of CSV rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from pipelines.synth.model import Row


def render_csv(
    header: Sequence[str],
    rows: Sequence[Row],
    *,
    encoding: str = "utf-8",
    bom: bool = False,
    crlf: bool = False,
) -> bytes:
    """The file's bytes.  Values never hold line breaks, so CSV line n is row n - 1.

    Raises UnicodeEncodeError if a value cannot be written in `encoding`: the arrests
    feed must never silently lose an accent.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(header)
    for row in rows:
        values = [row.values.get(column, "") for column in header]
        for value in values:
            if "\n" in value or "\r" in value:
                raise ValueError(f"line break in CSV value {value!r}")
        writer.writerow(values)
    text = buffer.getvalue()
    payload = text.encode(encoding, errors="strict")
    return (b"\xef\xbb\xbf" + payload) if bom else payload


def csv_line(values: Sequence[str], *, crlf: bool = False) -> str:
    """One CSV line, for callers that cache lines between files."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n" if crlf else "\n").writerow(values)
    return buffer.getvalue()


def csv_records(feed: str, name: str, rows: Sequence[Row]) -> list[dict[str, object]]:
    """Truth records; the header is physical line 1."""
    return [
        {
            "feed": feed,
            "file": name,
            "line": number,
            "person_id": row.person_id,
            "identity": row.identity,
            "variation": row.variation,
            "identifierless": row.identifierless,
            "quarantine": row.quarantine,
            "fields": row.fields,
        }
        for number, row in enumerate(rows, start=2)
    ]


def csv_notes(name: str, rows: Sequence[Row]) -> list[tuple[str, dict[str, object]]]:
    return [
        (row.note[0], {"file": name, "line": number, "note": row.note[1]})
        for number, row in enumerate(rows, start=2)
        if row.note is not None
    ]
