"""Declarative description of every feed in CONTRACT section 3.

Each feed is described once here: its file-name pattern, format, encoding, columns with
their types and rules, its key and how its rows supersede each other.  Parsing,
validation (pandera schemas built from these specs), loading and reporting are shared
code driven by these descriptions; nothing downstream branches on a feed's name for
anything this module can say.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import pandas as pd

from pipelines.identifiers import IdKind


class ColType(StrEnum):
    TEXT = "text"
    DATE = "date"
    DATETIME = "datetime"  # local wall clock, no offset; a bare date is allowed where noted
    ENUM = "enum"
    IDENTIFIER = "identifier"
    DIVISION = "division"  # a division code from the hub's configuration (CONTRACT section 6)


class FileFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    XML = "xml"


class Personal(StrEnum):
    """Which kind of personal data a column holds (DPA 2018 Part 3): the pseudonymised
    views leave these out or coarsen them, the data dictionary flags them."""

    NAME = "name"
    DATE_OF_BIRTH = "date of birth"
    IDENTIFIER = "identifier"  # a number or reference that leads to a person in some system
    POSTCODE = "postcode"
    FREE_TEXT = "free text"  # may name or describe a person


class FeedKind(StrEnum):
    SNAPSHOT = "snapshot"  # each file is complete as at its date; the newest one in force wins
    EVENTS = "events"  # rows are events with a key; a later row with the same key replaces it


@dataclass(frozen=True)
class Column:
    name: str
    type: ColType = ColType.TEXT
    required: bool = False
    values: tuple[str, ...] = ()
    id_kind: IdKind | None = None
    date_only_allowed: bool = False  # a DATETIME column that may hold a bare date
    not_after_file_date: bool = False  # a date (of birth, of an arrest) cannot be later than its file
    description: str = ""
    meanings: tuple[tuple[str, str], ...] = ()  # (value, what it means) for every allowed value
    personal: Personal | None = None

    def __post_init__(self) -> None:
        if self.meanings and not self.values:  # a value set described once, with its meanings
            object.__setattr__(self, "values", tuple(v for v, _ in self.meanings))


@dataclass(frozen=True)
class RowRule:
    """A rule across columns.  ``check`` returns True for rows that pass."""

    name: str
    check: Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class DerivedIdentifier:
    """An identity carried in a general column only under a condition, e.g. an
    attendance row's agency_ref is the CRN for PROBATION and the yos_ref for YOS."""

    source: str
    when_column: str
    when_value: str
    kind: IdKind


@dataclass(frozen=True)
class Feed:
    name: str
    kind: FeedKind
    # Named groups: date (YYYYMMDD), optional time (HHMMSS), optional ext and partner.
    file_pattern: re.Pattern[str]
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    # In order of preference: where one date has files in two formats, the first is used.
    formats: tuple[FileFormat, ...] = (FileFormat.CSV,)
    encoding: str = "utf-8-sig"  # utf-8-sig reads UTF-8 with or without a BOM
    date_format: str = "%Y-%m-%d"
    datetime_formats: tuple[str, ...] = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")
    row_rules: tuple[RowRule, ...] = ()
    event_date_column: str | None = None  # whose local date places the row in time
    derived_identifiers: tuple[DerivedIdentifier, ...] = ()
    # Whom a row is about, for linking: every row with the same values is the same
    # person's, so a review decision on one holds for all (a defendant's offences).
    subject_key: tuple[str, ...] = ()
    # The warehouse: the table holding every row of every current file version, the view
    # of the rows in force now, and (for a feed also read over ODBC) the partner's view.
    table: str = ""
    current_view: str = ""
    odbc_view: str | None = None
    linked: bool = False  # its rows are linked to cohort members (CONTRACT section 4)
    description: str = ""

    def __post_init__(self) -> None:
        if self.linked and not self.subject_key:
            raise ValueError(f"feed {self.name}: a linked feed needs a subject_key (whom a row is about)")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def reportable_on(self) -> str | None:
        """The stored column whose date must fall in a member's active interval
        (CONTRACT section 4): an event's local date, a scheduled item's own date."""
        if self.event_date_column is None:
            return None
        return "local_date" if self.kind is FeedKind.EVENTS else self.event_date_column

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def _id(name: str, kind: IdKind | None = None, **kw: object) -> Column:
    kind = kind or IdKind(name)
    personal = Personal.POSTCODE if kind is IdKind.POSTCODE else Personal.IDENTIFIER
    return Column(name, ColType.IDENTIFIER, id_kind=kind, personal=personal, **kw)  # type: ignore[arg-type]


def _dob(**kw: object) -> Column:
    return Column("date_of_birth", ColType.DATE, not_after_file_date=True, personal=Personal.DATE_OF_BIRTH, **kw)  # type: ignore[arg-type]


def _blank(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype("string").str.strip() == "")


DIVISION_COLUMN_VALUES: tuple[str, ...] = ()  # divisions are configuration (hub.yaml), checked at load
AGENCIES = ("POLICE", "PROBATION", "YOS", "DIP", "NON_STATUTORY")
PERSON_COLUMNS = (
    Column("surname", required=True, personal=Personal.NAME),
    Column("forenames", required=True, personal=Personal.NAME),
)


COHORT = Feed(
    name="cohort",
    kind=FeedKind.SNAPSHOT,
    table="cohort_member",
    current_view="member",  # the register now (warehouse/history.py)
    odbc_view="iom_cohort",
    file_pattern=re.compile(r"^cohort_(?P<date>\d{8})\.(?P<ext>csv)$"),
    key=("iom_id",),
    columns=(
        _id("iom_id", required=True),
        *PERSON_COLUMNS,
        _dob(required=True),
        Column("gender", ColType.ENUM, values=("M", "F", "X", "U")),
        _id("pnc_id"),
        _id("cro_number"),
        _id("niche_nominal_id"),
        _id("noms_number"),
        _id("crn"),
        _id("yos_ref"),
        _id("postcode"),
        Column("managing_division", ColType.DIVISION, required=True),
        Column("cohort_type", ColType.ENUM, required=True, values=("IOM", "PPO")),
        Column("strand", ColType.ENUM, required=True, values=("REHAB_RESETTLE", "PREVENT_DETER", "CATCH_CONVICT")),
        Column("status", ColType.ENUM, required=True, values=("NOMINATED", "ACTIVE", "DESELECTED")),
        Column("nominated_by", ColType.ENUM, values=AGENCIES),
        Column("case_manager_agency", ColType.ENUM, values=AGENCIES),
        Column("risk_level", ColType.ENUM, values=("HIGH", "MEDIUM", "LOW")),
        Column("selected_on", ColType.DATE),
        Column("deselected_on", ColType.DATE),
        Column("deselection_reason", personal=Personal.FREE_TEXT),
        Column("support_plan_agreed_on", ColType.DATE),
        Column("next_review_due", ColType.DATE),
    ),
    row_rules=(
        RowRule(
            "selected_on is required when status is ACTIVE or DESELECTED",
            lambda df: ~(df["status"].isin(["ACTIVE", "DESELECTED"]) & _blank(df["selected_on"])),
        ),
        RowRule(
            "deselected_on is required when status is DESELECTED",
            lambda df: ~((df["status"] == "DESELECTED") & _blank(df["deselected_on"])),
        ),
        RowRule(
            "deselected_on is before selected_on",
            lambda df: (
                ~(pd.to_datetime(df["deselected_on"], errors="coerce") < pd.to_datetime(df["selected_on"], errors="coerce"))
            ),
        ),
        RowRule(
            "selected_on is after the snapshot's date",
            lambda df: ~(pd.to_datetime(df["selected_on"], errors="coerce") > pd.to_datetime(df["__file_date__"])),
        ),
        RowRule(
            "iom_id is not unique within the snapshot",
            # Within a snapshot: several files may be validated together.
            lambda df: (
                ~df.assign(_id=df["iom_id"].astype("string").str.strip().str.upper()).duplicated(
                    subset=["__file__", "_id"], keep=False
                )
                | _blank(df["iom_id"])
            ),
        ),
    ),
)

ARREST_OUTCOMES = (
    "CHARGED", "CHARGED_REMANDED", "BAILED", "RUI", "NFA", "CAUTION",
    "CONDITIONAL_CAUTION", "COMMUNITY_RESOLUTION", "TRANSFERRED",
)  # fmt: skip

ARRESTS = Feed(
    name="arrests",
    kind=FeedKind.EVENTS,
    table="arrest_row",
    current_view="arrest",
    odbc_view="iom_arrest_notifications",
    linked=True,
    file_pattern=re.compile(r"^niche_arrests_(?P<date>\d{8})_(?P<time>\d{6})\.(?P<ext>csv)$"),
    key=("custody_ref",),
    subject_key=("custody_ref",),
    encoding="cp1252",
    date_format="%d/%m/%Y",
    datetime_formats=("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S"),
    event_date_column="arrest_datetime",
    columns=(
        Column("custody_ref", required=True, personal=Personal.IDENTIFIER),
        _id("niche_nominal_id"),
        _id("pnc_id"),
        *PERSON_COLUMNS,
        _dob(),
        Column("arrest_datetime", ColType.DATETIME, required=True, not_after_file_date=True),
        Column("arrest_division"),
        Column("custody_suite"),
        Column("offence_code"),
        Column("offence_description", required=True),
        Column("outcome", ColType.ENUM, values=ARREST_OUTCOMES),
        Column("outcome_datetime", ColType.DATETIME),
        Column("next_court_date", ColType.DATE),
    ),
)

REMAND_STATUSES = ("CB", "UB", "PR", "LA", "SA", "NA")

COURT_RESULTS = Feed(
    name="court_results",
    kind=FeedKind.EVENTS,
    table="court_result_row",
    current_view="court_result",
    linked=True,
    file_pattern=re.compile(r"^court_results_(?P<partner>[A-Za-z0-9]+)_(?P<date>\d{8})\.(?P<ext>xml)$"),
    formats=(FileFormat.XML,),
    encoding="utf-8",  # the XML declaration may say otherwise; the parser honours it
    key=("court_code", "hearing_date", "urn", "defendant_index", "offence_seq"),
    subject_key=("court_code", "hearing_date", "urn", "defendant_index"),
    event_date_column="hearing_date",
    columns=(
        Column("court_code", required=True),
        Column("court_name"),
        Column("hearing_date", ColType.DATE, required=True),
        Column("urn", required=True, personal=Personal.IDENTIFIER),
        Column("defendant_index", required=True),
        *PERSON_COLUMNS,
        _dob(),
        _id("pnc_id"),
        _id("cro_number"),
        _id("postcode"),
        Column("remand_status", ColType.ENUM, values=REMAND_STATUSES),
        Column("present"),
        Column("offence_seq", required=True),
        Column("offence_code"),
        Column("offence_title", required=True),
        Column("plea"),
        Column("verdict"),
        Column("result_codes"),
        Column("result_texts"),
        Column("next_hearing_date", ColType.DATE),
        Column("next_hearing_court"),
    ),
)

PRISON_RELEASES = Feed(
    name="prison_releases",
    kind=FeedKind.SNAPSHOT,
    table="prison_release_row",
    current_view="prison_release",
    linked=True,
    file_pattern=re.compile(r"^prison_releases_(?P<date>\d{8})\.(?P<ext>xlsx|csv)$"),
    formats=(FileFormat.XLSX, FileFormat.CSV),
    key=("noms_number", "release_date"),
    subject_key=("noms_number",),
    event_date_column="release_date",
    columns=(
        _id("noms_number", required=True),
        Column("booking_id", personal=Personal.IDENTIFIER),
        _id("pnc_id"),
        *PERSON_COLUMNS,
        _dob(),
        Column("prison_id", required=True),
        Column("prison_name"),
        Column("release_date", ColType.DATE, required=True),
        Column(
            "release_date_type",
            ColType.ENUM,
            values=("CRD", "ARD", "HDCAD", "PRRD", "PED", "APD", "NPD", "SED", "CONFIRMED"),
        ),
        Column("accommodation_on_release", ColType.ENUM, values=("SETTLED", "TEMPORARY", "NFA", "UNKNOWN")),
        _id("release_postcode", IdKind.POSTCODE),
        Column("licence_expiry_date", ColType.DATE),
    ),
)

ATTENDANCE_AGENCIES = ("PROBATION", "YOS", "DIP", "HOUSING", "ETE", "NON_STATUTORY")

ATTENDANCE = Feed(
    name="attendance",
    kind=FeedKind.EVENTS,
    table="attendance_row",
    current_view="attendance_record",
    linked=True,
    file_pattern=re.compile(r"^attendance_(?P<partner>[A-Z_]+)_(?P<date>\d{8})\.(?P<ext>csv)$"),
    key=("agency", "record_id"),
    subject_key=("agency", "record_id"),
    event_date_column="event_datetime",
    derived_identifiers=(
        DerivedIdentifier("agency_ref", "agency", "PROBATION", IdKind.CRN),
        DerivedIdentifier("agency_ref", "agency", "YOS", IdKind.YOS_REF),
    ),
    columns=(
        Column("agency", ColType.ENUM, required=True, values=ATTENDANCE_AGENCIES),
        Column("record_id", required=True),
        Column("record_type", ColType.ENUM, required=True, values=("APPOINTMENT", "STATUS_CHANGE")),
        _id("iom_id"),
        Column("agency_ref", personal=Personal.IDENTIFIER),
        _id("pnc_id"),
        *PERSON_COLUMNS,
        _dob(),
        Column("event_datetime", ColType.DATETIME, required=True, date_only_allowed=True),
        Column("appointment_type"),
        Column(
            "outcome",
            ColType.ENUM,
            values=("ATTENDED", "FAILED_TO_ATTEND", "ACCEPTABLE_ABSENCE", "RESCHEDULED", "CANCELLED"),
        ),
        Column(
            "status",
            ColType.ENUM,
            values=(
                "HOUSED",
                "LOST_ACCOMMODATION",
                "EDUCATION_STARTED",
                "EMPLOYMENT_STARTED",
                "ETE_ENDED",
                "TREATMENT_STARTED",
                "TREATMENT_COMPLETED",
                "TREATMENT_DROPPED",
            ),
        ),  # fmt: skip
    ),
    row_rules=(
        RowRule(
            "outcome is required for an APPOINTMENT",
            lambda df: ~((df["record_type"] == "APPOINTMENT") & _blank(df["outcome"])),
        ),
        RowRule(
            "status is required for a STATUS_CHANGE",
            lambda df: ~((df["record_type"] == "STATUS_CHANGE") & _blank(df["status"])),
        ),
    ),
)

FEEDS: dict[str, Feed] = {f.name: f for f in (COHORT, ARRESTS, COURT_RESULTS, PRISON_RELEASES, ATTENDANCE)}
LINKED_FEEDS = tuple(f.name for f in FEEDS.values() if f.linked)  # the feeds whose rows are linked to members
ODBC_VIEWS = {f.name: f.odbc_view for f in FEEDS.values() if f.odbc_view}
EVENT_FEEDS = tuple(f for f in FEEDS.values() if f.kind is FeedKind.EVENTS)
