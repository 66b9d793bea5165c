"""Write a division's report folder: report.html and one CSV per section.

The folder is published whole or not at all (pipelines/reports/publish.py), so a reader
(or the delivery step) never sees half a report.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from pipelines.feeds import FEEDS
from pipelines.reports.publish import csv_bytes, publish_folder
from pipelines.reports.sections import REPORT_FILES, DailyReport, ReportFile

# section -> CSV file name, from the one declaration of the report's files.
CSV_FILES = {f.section: f.filename for f in REPORT_FILES}

_env = Environment(
    loader=PackageLoader("pipelines.reports", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def cell(value: object) -> str:
    """One text form per type: ISO dates, ISO timestamps with seconds, blank for none."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# Timestamp columns a feed may fill with a bare date (a status change): midnight there is a date.
DATE_ONLY_ALLOWED = {c.name for f in FEEDS.values() for c in f.columns if c.date_only_allowed}


def readable(value: object, report_date: date, *, midnight_is_a_date: bool = False) -> str:
    """A value as a person reads it on report.html (the CSVs keep ``cell``'s ISO forms):
    "Mon 30 Nov 09:12", a date "Mon 30 Nov", the year only when it is not the report's."""
    if isinstance(value, (pd.Timestamp, datetime)) and not pd.isna(value):
        day = _weekday_day(value.date(), report_date)
        midnight = (value.hour, value.minute, value.second) == (0, 0, 0)
        return day if midnight and midnight_is_a_date else f"{day} {value:%H:%M}"
    if isinstance(value, date) and not isinstance(value, datetime):
        return _weekday_day(value, report_date)
    return cell(value)


def _weekday_day(day: date, report_date: date) -> str:
    text = f"{day:%a} {day.day} {day:%b}"
    return text if day.year == report_date.year else f"{text} {day.year}"


def section_csv(frame: pd.DataFrame) -> bytes:
    return csv_bytes(frame.columns, ([cell(v) for v in row] for row in frame.itertuples(index=False, name=None)))


def write_report(reports_dir: Path, report: DailyReport) -> tuple[Path, bool]:
    """The division's folder for D, and whether its content changed (PublishError if it
    cannot be written: the folder is then as it was)."""
    final = reports_dir / report.report_date.isoformat() / report.division
    files = {filename: section_csv(report.sections[section]) for section, filename in CSV_FILES.items()}
    files["report.html"] = render_html(report).encode("utf-8")
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


def _readable(frame: pd.DataFrame, report_date: date) -> pd.DataFrame:
    if frame.empty:
        return frame
    return frame.apply(lambda col: col.map(lambda v: readable(v, report_date, midnight_is_a_date=col.name in DATE_ONLY_ALLOWED)))


def _count(f: ReportFile, frame: pd.DataFrame) -> int:
    return int(pd.to_numeric(frame[f.total_of]).sum()) if f.total_of and not frame.empty else len(frame)


def render_html(report: DailyReport) -> str:
    sections = {name: _readable(frame, report.report_date) for name, frame in report.sections.items()}
    feeds, providers = report.sections["feeds"], report.sections["providers"]
    status = dict(zip(feeds["feed"], feeds["status"], strict=True))
    warnings = {}
    for f in REPORT_FILES:
        state = status.get(f.feed, "OK") if f.feed else "OK"
        if state != "OK":
            missing = missing_in_words(providers, f.feed) if state == "PARTIAL" else ""
            warnings[f.section] = FEED_WARNING[state].format(feed=f.feed.replace("_", " "), missing=missing)
    return _env.get_template("report.html.j2").render(
        report=report,
        files=REPORT_FILES,
        sections=sections,
        alerts=feed_alerts(feeds, providers),
        warnings=warnings,
        counts={f.section: _count(f, report.sections[f.section]) for f in REPORT_FILES},
        status_index={f.section: f.columns.index("status") for f in REPORT_FILES if f.status_column},
    )
