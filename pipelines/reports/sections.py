"""The sections of the daily report for date D, one table per CSV, per division.

Every person in every section is a reportable cohort member (CONTRACT section 4); names
and divisions come from the register in force at D.  Orders are stable so the same
inputs always give the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa

from pipelines.daily import reportable_records
from pipelines.membership import active_members
from pipelines.reports.feed_status import feed_status
from pipelines.settings import HubConfig
from pipelines.store import register_in_force

REVIEW_HORIZON_DAYS = 14

# CSV name -> columns, in order.  The contract's columns come first; a few useful
# extras follow them.
SECTION_COLUMNS: dict[str, list[str]] = {
    "arrests": [
        "iom_id", "surname", "forenames", "managing_division", "custody_ref", "arrest_datetime",
        "arrest_division", "offence_description", "outcome", "outcome_datetime", "custody_suite", "next_court_date",
    ],
    "court_results": [
        "iom_id", "surname", "forenames", "court_code", "hearing_date", "urn", "offence_seq", "offence_title",
        "result_codes", "remand_status", "next_hearing_date", "court_name", "plea", "verdict", "result_texts",
    ],
    "attendance": ["iom_id", "surname", "forenames", "agency", "record_id", "event_datetime", "appointment_type", "outcome"],
    "status_changes": ["iom_id", "surname", "forenames", "agency", "record_id", "status", "event_datetime"],
    "releases": [
        "iom_id", "surname", "forenames", "noms_number", "prison_id", "release_date", "release_date_type",
        "accommodation_on_release", "prison_name",
    ],
    "reviews": ["iom_id", "surname", "forenames", "case_manager_agency", "next_review_due", "days_until_due"],
    "feeds": ["feed", "status", "newest_file", "rows_loaded", "rows_quarantined", "detail"],
}  # fmt: skip

SECTION_ORDER: dict[str, list[str]] = {
    "arrests": ["arrest_datetime", "custody_ref"],
    "court_results": ["court_code", "urn", "iom_id", "offence_seq"],
    "attendance": ["event_datetime", "agency", "record_id"],
    "status_changes": ["event_datetime", "agency", "record_id"],
    "releases": ["release_date", "iom_id", "noms_number"],
    "reviews": ["next_review_due", "iom_id"],
}


@dataclass
class DailyReport:
    report_date: date
    register_date: date | None
    division: str
    division_name: str
    sections: dict[str, pd.DataFrame]


def _shape(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    columns = SECTION_COLUMNS[name]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    out = frame.reindex(columns=columns)
    order = SECTION_ORDER.get(name)
    if order:
        # Natural order for offence seq ("2" before "10"), then text for everything else.
        keys = {c: (pd.to_numeric(out[c], errors="coerce") if c == "offence_seq" else out[c].astype(str)) for c in order}
        out = out.assign(**{f"_k{i}": keys[c] for i, c in enumerate(order)})
        out = out.sort_values([f"_k{i}" for i in range(len(order))], kind="stable").drop(
            columns=[f"_k{i}" for i in range(len(order))]
        )
    return out.reset_index(drop=True)


def build_reports(engine: sa.Engine, report_date: date, config: HubConfig) -> list[DailyReport]:
    register_date, register = register_in_force(engine, report_date)

    arrests, court, attendance, releases = (
        reportable_records(engine, f, report_date, config.linking)
        for f in ("arrests", "court_results", "attendance", "prison_releases")
    )

    active = active_members(register, report_date)
    horizon = pd.Timestamp(report_date + timedelta(days=REVIEW_HORIZON_DAYS))
    due = pd.to_datetime(active["next_review_due"]) if not active.empty else pd.Series(dtype="datetime64[ns]")
    reviews = active[due.notna() & (due <= horizon)].copy() if not active.empty else active
    if not reviews.empty:
        reviews["days_until_due"] = (pd.to_datetime(reviews["next_review_due"]) - pd.Timestamp(report_date)).dt.days

    feeds = feed_status(engine, report_date, config)
    appointments = attendance[attendance["record_type"] == "APPOINTMENT"]
    changes = attendance[attendance["record_type"] == "STATUS_CHANGE"]

    def of(division: str, frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["managing_division"] == division] if not frame.empty else frame

    reports = []
    for division, division_name in config.divisions.items():
        reports.append(
            DailyReport(
                report_date,
                register_date,
                division,
                division_name,
                {
                    "arrests": _shape("arrests", arrests),  # every member's arrests, in every division
                    "court_results": _shape("court_results", of(division, court)),
                    "attendance": _shape("attendance", of(division, appointments)),
                    "status_changes": _shape("status_changes", of(division, changes)),
                    "releases": _shape("releases", of(division, releases)),
                    "reviews": _shape("reviews", of(division, reviews)),
                    "feeds": feeds,
                },
            )
        )
    return reports
