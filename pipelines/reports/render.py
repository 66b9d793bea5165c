"""Write a division's report folder: report.html and one CSV per section.

The folder is written beside its final place and renamed into it, so a reader (or the
delivery step) never sees half a report.
"""

from __future__ import annotations

import csv
import os
import shutil
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from pipelines.reports.sections import DailyReport

CSV_FILES = {
    "arrests": "arrests.csv",
    "court_results": "court_results.csv",
    "attendance": "attendance.csv",
    "status_changes": "status_changes.csv",
    "releases": "releases.csv",
    "reviews": "reviews.csv",
    "feeds": "feeds.csv",
}

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


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(frame.columns)
        writer.writerows([cell(v) for v in row] for row in frame.itertuples(index=False, name=None))


def write_report(reports_dir: Path, report: DailyReport) -> Path:
    final = reports_dir / report.report_date.isoformat() / report.division
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.parent / f".{report.division}.writing-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    for section, filename in CSV_FILES.items():
        _write_csv(staging / filename, report.sections[section])
    (staging / "report.html").write_text(render_html(report), encoding="utf-8")
    retired = final.parent / f".{report.division}.old-{os.getpid()}"
    if final.exists():
        final.rename(retired)
    staging.rename(final)
    if retired.exists():
        shutil.rmtree(retired)
    return final


# The feed each section relies on, so a section can say when its feed let it down.
SECTION_FEED = {
    "arrests": "arrests",
    "court_results": "court_results",
    "attendance": "attendance",
    "status_changes": "attendance",
    "releases": "prison_releases",
    "reviews": "cohort",
}

FEED_WARNING = {
    "MISSING": "No {feed} file has arrived for this report: this section cannot be complete.",
    "STALE": "The newest {feed} file is out of date: this section may be wrong.",
    "REJECTS": "Some {feed} rows were rejected as invalid: this section may be missing entries.",
    "LATE": "A {feed} file arrived late.",
}


def render_html(report: DailyReport) -> str:
    sections = {name: frame.map(cell) if not frame.empty else frame for name, frame in report.sections.items()}
    feeds = report.sections["feeds"]
    problems = feeds[feeds["status"] != "OK"]
    status = dict(zip(feeds["feed"], feeds["status"], strict=True))
    warnings = {
        section: FEED_WARNING[status[feed]].format(feed=feed.replace("_", " "))
        for section, feed in SECTION_FEED.items()
        if status.get(feed, "OK") != "OK"
    }
    return _env.get_template("report.html.j2").render(
        report=report,
        sections=sections,
        problems=problems.to_dict("records"),
        warnings=warnings,
        counts={name: len(frame) for name, frame in report.sections.items()},
    )
