"""The sections of the daily report for date D, one table per CSV, per division.

Every person in every section is a reportable cohort member (CONTRACT section 4); names
and divisions come from the register in force at D.  Orders are stable so the same
inputs always give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from pipelines import cjs_location as cjs
from pipelines import traffic_light as tl
from pipelines.daily import RELEASE_HORIZON_DAYS, reportable_records
from pipelines.event_links import link_every_event
from pipelines.feeds import FEEDS, FeedKind
from pipelines.link_store import linker_version
from pipelines.membership import active_members, attach_members
from pipelines.priorities import PRIORITY_COLUMNS, priority_list
from pipelines.reports.feed_status import FEED_COLUMNS, PROVIDER_COLUMNS, statuses
from pipelines.settings import HubConfig, Kpi
from pipelines.store import ledger, register_in_force, snapshot_files
from warehouse.schema import CJS_LOCATIONS

REVIEW_HORIZON_DAYS = 14
LONDON = ZoneInfo("Europe/London")
NAME = "name"  # report.html only: "SURNAME, Forenames" in one column, first, for people


@dataclass(frozen=True)
class Apart:
    """Rows report.html shows apart, above the rest of their section, with a tile of their
    own: overdue reviews before those merely due, failed appointments before the rest."""

    title: str
    count: str
    rows: Callable[[pd.DataFrame], pd.Series]
    rest_title: str


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
    # report.html's columns, the ones that matter first (a phone shows each row as a card in
    # this order); any of the CSV's columns not named here follow.  The CSV keeps ``columns``.
    shown: tuple[str, ...] = ()
    apart: Apart | None = None

    @property
    def filename(self) -> str:
        return f"{self.section}.csv"

    @property
    def html_columns(self) -> tuple[str, ...]:
        first = tuple(self.shown)
        return first + tuple(c for c in self.columns if c not in first and not (NAME in first and c in ("surname", "forenames")))


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
        shown=(NAME, "iom_id", "arrest_datetime", "offence_description", "outcome", "managing_division"),
    ),
    ReportFile(
        "court_results",
        ("iom_id", "surname", "forenames", "court_code", "hearing_date", "urn", "offence_seq", "offence_title",
         "result_codes", "remand_status", "next_hearing_date", "court_name", "plea", "verdict", "result_texts"),
        "Court results yesterday", "One row per offence.",
        order=("court_code", "urn", "iom_id", "offence_seq"), feed="court_results", count="court results",
        reportable_on="hearing_date",
        shown=(NAME, "iom_id", "offence_title", "result_codes", "result_texts", "remand_status", "next_hearing_date"),
    ),
    ReportFile(
        "attendance",
        ("iom_id", "surname", "forenames", "agency", "record_id", "event_datetime", "appointment_type", "outcome"),
        "Appointments yesterday",
        order=("event_datetime", "agency", "record_id"), feed="attendance", count="appointments",
        reportable_on="event_datetime",
        shown=(NAME, "iom_id", "outcome", "event_datetime", "agency", "appointment_type"),
        apart=Apart("Failed to attend", "failed appointments", lambda f: f["outcome"] == "FAILED_TO_ATTEND",
                    "Other appointments"),
    ),
    ReportFile(
        "status_changes",
        ("iom_id", "surname", "forenames", "agency", "record_id", "status", "event_datetime"),
        "Status changes yesterday", "Housing, education, employment and treatment changes.",
        order=("event_datetime", "agency", "record_id"), feed="attendance", count="status changes",
        reportable_on="event_datetime", shown=(NAME, "iom_id", "status", "event_datetime", "agency"),
    ),
    ReportFile(
        "releases",
        ("iom_id", "surname", "forenames", "noms_number", "prison_id", "release_date", "release_date_type",
         "accommodation_on_release", "prison_name"),
        f"Prison releases in the next {RELEASE_HORIZON_DAYS} days", "From the newest release schedule received.",
        order=("release_date", "iom_id", "noms_number"), feed="prison_releases",
        count=f"releases in {RELEASE_HORIZON_DAYS} days", reportable_on="release_date",
        shown=(NAME, "iom_id", "release_date", "accommodation_on_release", "prison_name"),
    ),
    ReportFile(
        "reviews",
        ("iom_id", "surname", "forenames", "case_manager_agency", "next_review_due", "days_until_due"),
        f"Case reviews due within {REVIEW_HORIZON_DAYS} days", "Negative days are overdue.",
        order=("next_review_due", "iom_id"), feed="cohort", count=f"reviews due in {REVIEW_HORIZON_DAYS} days",
        reportable_on=REPORT_DAY, shown=(NAME, "iom_id", "days_until_due", "next_review_due", "case_manager_agency"),
        apart=Apart("Overdue", "overdue reviews", lambda f: pd.to_numeric(f["days_until_due"]) < 0,
                    f"Due within {REVIEW_HORIZON_DAYS} days"),
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
        shown=(NAME, "iom_id", "location", "previous_location", "since", "cause"),
    ),
    ReportFile(
        "priorities", PRIORITY_COLUMNS, "Priorities",
        "The division's members who most need attention now, by the partnership's score (config/hub.yaml, "
        "priority): each reason with its points. Rank 1 first.",
        order=("rank", "iom_id"), count="priority members", reportable_on=REPORT_DAY,
        shown=("rank", NAME, "iom_id", "score", "reasons", "risk_level"),
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
    # The division's traffic-light rows for the month of D-1 and the month before (tiles).
    performance: pd.DataFrame = field(default_factory=pd.DataFrame)
    files_used: tuple[str, ...] = ()  # the footer: the files this report read
    run_id: str | None = None  # the Dagster run that made it (footer link), when run by Dagster
    generated_at: datetime | None = None
    kpis: tuple[Kpi, ...] = ()  # the traffic light's matrix, for the tiles' better/worse


def files_used(engine: sa.Engine, report_date: date) -> tuple[str, ...]:
    """The files a report for D reads: each event feed's files dated D-1 or D (as feeds.csv
    counts them) and each snapshot feed's file in force at D."""
    names: list[str] = []
    for feed in FEEDS.values():
        if feed.kind is FeedKind.SNAPSHOT:
            files = snapshot_files(engine, feed.name, report_date)
            names += [str(files.iloc[-1]["name"])] if not files.empty else []
            continue
        files = ledger(engine, feed.name)
        dated = pd.to_datetime(files["file_date"]).dt.date
        window = (files["status"] == "LOADED") & dated.isin([report_date - timedelta(days=1), report_date])
        names += [str(n) for n in files.loc[window, "name"]]
    return tuple(names)


def _shape(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    columns = list(SECTIONS[name].columns)
    if frame.empty:
        return pd.DataFrame(columns=columns)
    out = frame.reindex(columns=columns)
    order = list(SECTIONS[name].order)
    if order:
        # Natural order for numbers ("2" before "10"), then text for everything else.
        numeric = ("offence_seq", "rank")
        keys = {c: (pd.to_numeric(out[c], errors="coerce") if c in numeric else out[c].astype(str)) for c in order}
        out = out.assign(**{f"_k{i}": keys[c] for i, c in enumerate(order)})
        out = out.sort_values([f"_k{i}" for i in range(len(order))], kind="stable").drop(
            columns=[f"_k{i}" for i in range(len(order))]
        )
    out = out.reset_index(drop=True)
    if "rank" in columns:  # a ranking shown to one division counts from 1 within it
        out["rank"] = range(1, len(out) + 1)
    return out


def where_the_cohort_is(
    engine: sa.Engine, report_date: date, register: pd.DataFrame, config: HubConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(counts by division and location at the end of D-1, the moves of D-1) for members in
    the cohort on D-1 (reportable that day), from the locations as the data stood on D."""
    yesterday = report_date - timedelta(days=1)
    # The links D's locations need, judged by registers dated on or before D: stored by the
    # cjs_location asset for the run's date, but a range in one run reports earlier dates too.
    link_every_event(engine, report_date, config.linking)
    # The stored spells when the cjs_location asset derived them for D and nothing changed
    # since (one cheap check); derived from the earliest change, or in full, otherwise.
    spells, _ = cjs.refresh(engine, report_date, linker_version(config.linking))
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


def build_reports(engine: sa.Engine, report_date: date, config: HubConfig, *, run_id: str | None = None) -> list[DailyReport]:
    register_date, register = register_in_force(engine, report_date)
    generated_at = datetime.now(LONDON).replace(microsecond=0)

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
        "priorities": priority_list(engine, report_date, config, register),
        "feeds": status.feeds,  # the same in every division
        "providers": status.providers,
    }
    performance = tl.figures(engine, report_date, config, last_periods=2)  # this month and last, as of D
    used = files_used(engine, report_date)
    reports = []
    for division, division_name in config.divisions.items():
        # Sections of people hold the division's members, but for those shown to every division.
        sections = {
            f.section: _shape(f.section, of(division, content[f.section])
                              if (f.reportable_on or f.by_division) and not f.every_division else content[f.section])
            for f in REPORT_FILES
        }  # fmt: skip
        own = performance[performance["division"] == division] if not performance.empty else performance
        reports.append(
            DailyReport(
                report_date,
                register_date,
                division,
                division_name,
                sections,
                own,
                used,
                run_id,
                generated_at,
                tuple(config.kpis),
            )
        )
    return reports
