"""Write a division's report folder: report.html and one CSV per section.

The folder is published whole or not at all (pipelines/reports/publish.py), so a reader
(or the delivery step) never sees half a report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from pipelines.alerts import ui_url
from pipelines.reports.formats import DATE_ONLY_ALLOWED, cell, person, readable, readable_in
from pipelines.reports.needs_action import needs_action, row_anchor
from pipelines.reports.publish import VOLATILE_END, VOLATILE_START, csv_bytes, publish_folder
from pipelines.reports.sections import NAME, REPORT_FILES, DailyReport, ReportFile
from pipelines.reports.tiles import tiles
from pipelines.reports.workbook import workbook_bytes

__all__ = ["CSV_FILES", "DATE_ONLY_ALLOWED", "cell", "readable", "render_html", "write_report"]

# section -> CSV file name, from the one declaration of the report's files.
CSV_FILES = {f.section: f.filename for f in REPORT_FILES}

_env = Environment(
    loader=PackageLoader("pipelines.reports", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def section_csv(frame: pd.DataFrame) -> bytes:
    return csv_bytes(frame.columns, ([cell(v) for v in row] for row in frame.itertuples(index=False, name=None)))


def write_report(reports_dir: Path, report: DailyReport) -> tuple[Path, bool]:
    """The division's folder for D, and whether its content changed (PublishError if it
    cannot be written: the folder is then as it was)."""
    final = reports_dir / report.report_date.isoformat() / report.division
    files = {filename: section_csv(report.sections[section]) for section, filename in CSV_FILES.items()}
    files["report.html"] = render_html(report).encode("utf-8")
    # The same sections for Excel: a sheet each, real dates (the CSVs stay the contract's).
    files["report.xlsx"] = workbook_bytes({f.section: report.sections[f.section] for f in REPORT_FILES})
    return final, publish_folder(final, files)


# What a section says when the feed it relies on let it down ({feed}: the feed in words).
FEED_WARNING = {
    "MISSING": "No {feed} file has arrived for this report: this section cannot be complete.",
    "STALE": "The newest {feed} file is out of date: this section may be wrong.",
    "PARTIAL": "No {feed} file {missing}: this section may be missing entries.",
    "REJECTS": "Some {feed} rows were rejected as invalid: this section may be missing entries.",
    "LATE": "A {feed} file arrived late.",
}


def _day(text: str) -> str:
    day = date.fromisoformat(text)
    return f"{day.day} {day:%b}"


def missing_in_words(providers: pd.DataFrame, feed: str) -> str:
    """ "from PROBATION for 22 Nov", "from B13JT (Leeds Youth Court) and C13LS (Leeds Crown
    Court) for 20 Nov": the feed's MISSING providers and the dates they owed, in plain words."""
    if providers.empty:
        return ""
    missing = providers[(providers["feed"] == feed) & (providers["status"] == "MISSING")]
    by_dates: dict[str, list[str]] = {}
    for row in missing.itertuples(index=False):
        label = f"{row.provider} ({row.provider_name})" if row.provider_name else str(row.provider)
        dates = " or ".join(_day(d) for d in str(row.due_for).split(";") if d)
        by_dates.setdefault(dates, []).append(label)
    parts = []
    for dates, labels in by_dates.items():
        who = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
        parts.append(f"from {who}" + (f" for {dates}" if dates else ""))
    return "; nor ".join(parts)


def feed_alerts(feeds: pd.DataFrame, providers: pd.DataFrame) -> list[str]:
    """One plain sentence per feed that is not OK, for the top of the report."""
    alerts = []
    for row in feeds[feeds["status"] != "OK"].itertuples(index=False):
        words = str(row.feed).replace("_", " ").capitalize()
        details = [d for d in str(row.detail or "").split("; ") if d]
        if row.status == "PARTIAL":  # the providers and the dates they owed, in words
            rest = [d for d in details if not d.startswith("no file from ")]
            details = [f"no file {missing_in_words(providers, row.feed)}", *rest]
        alerts.append(f"{words} is {row.status}" + (f": {'; '.join(details)}" if details else ""))
    return alerts


@dataclass(frozen=True)
class Row:
    anchor: str
    cells: tuple[tuple[str, str, str], ...]  # (column label, text, css class)


@dataclass(frozen=True)
class Table:
    """One section of report.html as people read it: columns that matter first, readable
    values, rows that need action apart, "—" where the feed it relies on did not arrive."""

    file: ReportFile
    count: str
    warning: str
    groups: tuple[tuple[str | None, tuple[Row, ...]], ...]
    missing: bool  # the feed it relies on did not arrive: "—", not "none"


LISTS = frozenset({"result_codes", "result_texts"})  # ";"-joined in the CSV; "; " reads better
LABELS = {
    "iom_id": "IOM id", NAME: "Name", "days_until_due": "Days until due", "urn": "URN", "event_datetime": "When",
    "arrest_datetime": "Arrested", "outcome_datetime": "Outcome at", "next_review_due": "Review due",
    "accommodation_on_release": "Accommodation", "since": "Since",
}  # fmt: skip


def label(column: str) -> str:
    return LABELS.get(column) or column.replace("_", " ").capitalize()


def _people_frame(f: ReportFile, frame: pd.DataFrame) -> pd.DataFrame:
    """The section's columns in report.html's order, NAME made from surname and forenames."""
    names = [person(s, n) for s, n in zip(frame.get("surname", []), frame.get("forenames", []), strict=True)]
    shown = frame.assign(**{NAME: names}) if NAME in f.shown else frame
    return shown.reindex(columns=list(f.html_columns))


def _text(column: str, value: object, report_date: date) -> str:
    text = readable_in(column, value, report_date)
    return text.replace(";", "; ") if column in LISTS else text


def _rows(f: ReportFile, frame: pd.DataFrame, report_date: date, status_column: int | None) -> tuple[Row, ...]:
    people = _people_frame(f, frame)
    rows = []
    for index, values in zip(people.index, people.itertuples(index=False, name=None), strict=True):
        cells = tuple(
            (label(c), _text(c, v, report_date), f"status status-{v}" if i == status_column else "")
            for i, (c, v) in enumerate(zip(people.columns, values, strict=True))
        )
        rows.append(Row(row_anchor(f.section, int(index)), cells))
    return tuple(rows)


def _count(f: ReportFile, frame: pd.DataFrame) -> int:
    return int(pd.to_numeric(frame[f.total_of]).sum()) if f.total_of and not frame.empty else len(frame)


def _table(f: ReportFile, frame: pd.DataFrame, report_date: date, state: str, providers: pd.DataFrame) -> Table:
    missing = state == "MISSING"
    warning = ""
    if state != "OK":
        words = missing_in_words(providers, f.feed) if state == "PARTIAL" else ""
        warning = FEED_WARNING[state].format(feed=str(f.feed).replace("_", " "), missing=words)
    status_column = f.html_columns.index("status") if f.status_column else None
    if f.apart is not None and not frame.empty:
        apart = f.apart.rows(frame).fillna(False).astype(bool)
        groups = (
            (f.apart.title, _rows(f, frame[apart], report_date, status_column)),
            (f.apart.rest_title, _rows(f, frame[~apart], report_date, status_column)),
        )
    else:
        groups = ((None, _rows(f, frame, report_date, status_column)),)
    count = "—" if missing else str(_count(f, frame))
    return Table(f, count, warning, groups, missing)


def _tiles(tables: list[Table]) -> list[tuple[str, str, str]]:
    """The counts at the top: (link, count, label); a section with rows apart has two."""
    out = []
    for t in tables:
        if not t.file.count:
            continue
        if t.file.apart is not None:
            first, rest = (len(rows) for _, rows in t.groups) if len(t.groups) == 2 else (0, 0)
            out.append((f"#{t.file.section}", "—" if t.missing else str(first), t.file.apart.count))
            out.append((f"#{t.file.section}", "—" if t.missing else str(rest), t.file.count))
        else:
            out.append((f"#{t.file.section}", t.count, t.file.count))
    return out


def run_link(run_id: str | None) -> str | None:
    return f"{ui_url()}/runs/{run_id}" if run_id else None


def render_html(report: DailyReport) -> str:
    feeds, providers = report.sections["feeds"], report.sections["providers"]
    status = dict(zip(feeds["feed"], feeds["status"], strict=True))
    tables = [
        _table(f, report.sections[f.section], report.report_date, status.get(f.feed, "OK") if f.feed else "OK", providers)
        for f in REPORT_FILES
    ]
    generated = report.generated_at
    return _env.get_template("report.html.j2").render(
        report=report,
        tables=tables,
        tiles=_tiles(tables),
        actions=needs_action(report),
        performance=tiles(report.performance, report.kpis, report.division),
        alerts=feed_alerts(feeds, providers),
        generated=f"{generated:%a %-d %b %Y %H:%M}" if generated else "",
        run_link=run_link(report.run_id),
        volatile=(VOLATILE_START, VOLATILE_END),
    )
