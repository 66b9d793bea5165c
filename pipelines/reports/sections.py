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

from pipelines import cjs_location as cjs
from pipelines.daily import reportable_records
from pipelines.event_links import link_every_event
from pipelines.membership import active_members, attach_members
from pipelines.reports.feed_status import FEED_COLUMNS, PROVIDER_COLUMNS, statuses
from pipelines.settings import HubConfig
from pipelines.store import register_in_force
from warehouse.schema import CJS_LOCATIONS

REVIEW_HORIZON_DAYS = 14


@dataclass(frozen=True)
class ReportFile:
    """One CSV of a division's report folder and its section of report.html.

    ``REPORT_FILES`` is the one list of them: the CSVs written, their columns (the
    contract's first, a few useful extras after), their row order, the sections of
    report.html in order with their titles, notes, counts and the feed each relies on.
    """

    section: str
    columns: tuple[str, ...]
    title: str
    note: str = ""
    order: tuple[str, ...] = ()  # stable row order (CONTRACT section 7)
    feed: str | None = None  # the feed the section relies on: it warns when that feed let it down
    count: str | None = None  # its label in the counts at the top of report.html
    status_column: bool = False  # a table of statuses (feeds, providers): colour the status
    # A section of people: the column whose date each must be reportable on (CONTRACT
    # section 4), or REPORT_DAY for members who must be ACTIVE on D itself (reviews).
    reportable_on: str | None = None
    every_division: bool = False  # the same rows in every division's folder, whoever manages them
    by_division: bool = False  # not people, but counts for the division (its managing_division rows)
    total_of: str | None = None  # a table of counts: its heading shows this column's sum, not the rows

    @property
    def filename(self) -> str:
        return f"{self.section}.csv"


REPORT_DAY = "report date"

REPORT_FILES: tuple[ReportFile, ...] = (
    ReportFile(
        "arrests",
        ("iom_id", "surname", "forenames", "managing_division", "custody_ref", "arrest_datetime", "arrest_division",
         "offence_description", "outcome", "outcome_datetime", "custody_suite", "next_court_date"),
        "Arrests yesterday",
        "Every cohort member arrested yesterday, whatever their division. A blank outcome is still pending.",
        order=("arrest_datetime", "custody_ref"), feed="arrests", count="arrests (all divisions)",
        reportable_on="arrest_datetime", every_division=True,
    ),
    ReportFile(
        "court_results",
        ("iom_id", "surname", "forenames", "court_code", "hearing_date", "urn", "offence_seq", "offence_title",
         "result_codes", "remand_status", "next_hearing_date", "court_name", "plea", "verdict", "result_texts"),
        "Court results yesterday", "One row per offence.",
        order=("court_code", "urn", "iom_id", "offence_seq"), feed="court_results", count="court results",
        reportable_on="hearing_date",
    ),
    ReportFile(
        "attendance",
        ("iom_id", "surname", "forenames", "agency", "record_id", "event_datetime", "appointment_type", "outcome"),
        "Appointments yesterday",
        order=("event_datetime", "agency", "record_id"), feed="attendance", count="appointments",
        reportable_on="event_datetime",
    ),
    ReportFile(
        "status_changes",
        ("iom_id", "surname", "forenames", "agency", "record_id", "status", "event_datetime"),
        "Status changes yesterday", "Housing, education, employment and treatment changes.",
        order=("event_datetime", "agency", "record_id"), feed="attendance", count="status changes",
        reportable_on="event_datetime",
    ),
    ReportFile(
        "releases",
        ("iom_id", "surname", "forenames", "noms_number", "prison_id", "release_date", "release_date_type",
         "accommodation_on_release", "prison_name"),
        "Prison releases in the next 30 days", "From the newest release schedule received.",
        order=("release_date", "iom_id", "noms_number"), feed="prison_releases", count="releases in 30 days",
        reportable_on="release_date",
    ),
    ReportFile(
        "reviews",
        ("iom_id", "surname", "forenames", "case_manager_agency", "next_review_due", "days_until_due"),
        "Case reviews due within 14 days", "Negative days are overdue.",
        order=("next_review_due", "iom_id"), feed="cohort", count="reviews due in 14 days",
        reportable_on=REPORT_DAY,
    ),
    ReportFile(
        "locations", ("location", "members", "changed_yesterday"),
        "Where the cohort is",
        "Members in the cohort yesterday, by where they were in the criminal justice system at the end of the day, "
        "as arrests, court results and release schedules show it.",
        by_division=True, total_of="members",
    ),
    ReportFile(
        "location_changes",
        ("iom_id", "surname", "forenames", "location", "since", "previous_location", "cause"),
        "Changed location yesterday", "Each move, with what showed it.",
        order=("since", "iom_id"), count="changed location", reportable_on="since",
    ),
    ReportFile(
        "feeds", tuple(FEED_COLUMNS), "Feeds", "Where each feed's data stands for this report.", status_column=True,
    ),
    ReportFile(
        "providers", tuple(PROVIDER_COLUMNS), "Providers",
        "Each expected agency and court, and whether it delivered for this report.", status_column=True,
    ),
)  # fmt: skip
SECTIONS: dict[str, ReportFile] = {f.section: f for f in REPORT_FILES}

# Kept for readers of the old names: both derived from REPORT_FILES.
SECTION_COLUMNS: dict[str, list[str]] = {f.section: list(f.columns) for f in REPORT_FILES}
SECTION_ORDER: dict[str, list[str]] = {f.section: list(f.order) for f in REPORT_FILES if f.order}


@dataclass
class DailyReport:
    report_date: date
    register_date: date | None
    division: str
    division_name: str
    sections: dict[str, pd.DataFrame]


def _shape(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    columns = list(SECTIONS[name].columns)
    if frame.empty:
        return pd.DataFrame(columns=columns)
    out = frame.reindex(columns=columns)
    order = list(SECTIONS[name].order)
    if order:
        # Natural order for offence seq ("2" before "10"), then text for everything else.
        keys = {c: (pd.to_numeric(out[c], errors="coerce") if c == "offence_seq" else out[c].astype(str)) for c in order}
        out = out.assign(**{f"_k{i}": keys[c] for i, c in enumerate(order)})
        out = out.sort_values([f"_k{i}" for i in range(len(order))], kind="stable").drop(
            columns=[f"_k{i}" for i in range(len(order))]
        )
    return out.reset_index(drop=True)


def where_the_cohort_is(
    engine: sa.Engine, report_date: date, register: pd.DataFrame, config: HubConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(counts by division and location at the end of D-1, the moves of D-1) for members in
    the cohort on D-1 (reportable that day), from the locations as the data stood on D."""
    yesterday = report_date - timedelta(days=1)
    # The links D's locations need, judged by registers dated on or before D: stored by the
    # cjs_location asset for the run's date, but a range in one run reports earlier dates too.
    link_every_event(engine, report_date, config.linking)
    spells = cjs.derive(engine, report_date)
    previous = spells.groupby("iom_id")["location"].shift() if not spells.empty else spells.get("location")
    spells = spells.assign(previous_location=previous, day=pd.to_datetime(spells["started_at"]).dt.date)
    at_end = attach_members(cjs.location_at_end_of(spells, yesterday).assign(day=yesterday), register, "day")
    moved = attach_members(spells[spells["day"] == yesterday], register, "day")
    moved = moved.assign(since=pd.to_datetime(moved["started_at"])) if not moved.empty else moved
    grid = pd.MultiIndex.from_product([list(config.divisions), CJS_LOCATIONS], names=["managing_division", "location"])
    members = at_end.groupby(["managing_division", "location"]).size() if not at_end.empty else pd.Series(dtype=int)
    changed = moved.groupby(["managing_division", "location"]).size() if not moved.empty else pd.Series(dtype=int)
    counts = pd.DataFrame(
        {"members": members.reindex(grid, fill_value=0), "changed_yesterday": changed.reindex(grid, fill_value=0)}
    )
    return counts.reset_index(), moved


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

    # After the window's links above: the locations read them.
    locations, moves = where_the_cohort_is(engine, report_date, register, config)
    status = statuses(engine, report_date, config)  # feeds.csv and providers.csv, judged together
    appointments = attendance[attendance["record_type"] == "APPOINTMENT"]
    changes = attendance[attendance["record_type"] == "STATUS_CHANGE"]

    def of(division: str, frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["managing_division"] == division] if not frame.empty else frame

    content = {
        "arrests": arrests,
        "court_results": court,
        "attendance": appointments,
        "status_changes": changes,
        "releases": releases,
        "reviews": reviews,
        "locations": locations,
        "location_changes": moves,
        "feeds": status.feeds,  # the same in every division
        "providers": status.providers,
    }
    reports = []
    for division, division_name in config.divisions.items():
        # Sections of people hold the division's members, but for those shown to every division.
        sections = {
            f.section: _shape(f.section, of(division, content[f.section])
                              if (f.reportable_on or f.by_division) and not f.every_division else content[f.section])
            for f in REPORT_FILES
        }  # fmt: skip
        reports.append(DailyReport(report_date, register_date, division, division_name, sections))
    return reports
