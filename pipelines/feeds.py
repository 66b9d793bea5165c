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
AGENCY_MEANINGS = (
    ("POLICE", "the police (West Yorkshire Police)"),
    ("PROBATION", "the Probation Service"),
    ("YOS", "the Youth Offending Service"),
    ("DIP", "the Drug Interventions Programme"),
    ("NON_STATUTORY", "a non-statutory (voluntary or community sector) provider"),
)
AGENCIES = tuple(v for v, _ in AGENCY_MEANINGS)
PERSON_COLUMNS = (
    Column(
        "surname",
        required=True,
        personal=Personal.NAME,
        description="The person's surname as the sending system holds it, stored as written (accents kept). Reports "
        "always show the register's name, never a feed's.",
    ),
    Column(
        "forenames",
        required=True,
        personal=Personal.NAME,
        description="The person's forenames as the sending system holds it, stored as written (accents kept).",
    ),
)
# Identifiers carried by several feeds, described once (CONTRACT section 2).  Every
# identifier is stored trimmed, upper-cased and in its canonical form; one that fails its
# format or check letter is stored empty and recorded in dq_finding (the row still loads).
PNC_ID_TEXT = (
    "Police National Computer ID, stored in its long form YYYY/NNNNNNNC (e.g. 2012/0394773H) whatever form it "
    "came in (short YY/..., with or without the slash). Empty if not given or not valid."
)
CRO_NUMBER_TEXT = (
    "Criminal Records Office number, NNNNNN/YYC (e.g. 029906/12J), or SFYY/NNNNNNC for one issued on fingerprints "
    "alone. Empty if not given or not valid."
)
NICHE_NOMINAL_ID_TEXT = "The person's nominal (person record) id in NICHE, the police records system. Empty if not given."
NOMS_NUMBER_TEXT = "Prison (NOMS) number, one letter, four digits, two letters (e.g. A1234BC). Empty if not given or not valid."
POSTCODE_TEXT = "UK postcode, upper case with one space (e.g. LS1 4AP). Empty if not given or not a valid postcode."
DOB_TEXT = "Date of birth; cannot be after the file's date."


COHORT = Feed(
    name="cohort",
    kind=FeedKind.SNAPSHOT,
    table="cohort_member",
    current_view="member",  # the register now (warehouse/history.py)
    odbc_view="iom_cohort",
    file_pattern=re.compile(r"^cohort_(?P<date>\d{8})\.(?P<ext>csv)$"),
    key=("iom_id",),
    description="The IOM cohort register: everyone nominated to, managed on or deselected from the cohort, one row per "
    "person. Each delivery is a full snapshot as at its date, from cohort/cohort_YYYYMMDD.csv or read from the "
    "case-management database's view iom_cohort over ODBC (then dated the day it was read). Every snapshot is kept, "
    "so the register can be seen as at any date.",
    columns=(
        _id(
            "iom_id",
            required=True,
            description="The hub's own reference for the person: three letters, a hyphen, six digits (e.g. LDS-000123); "
            "unique within a snapshot. Every record linked to a member points at it.",
        ),
        *PERSON_COLUMNS,
        _dob(required=True, description=DOB_TEXT),
        Column(
            "gender",
            ColType.ENUM,
            description="Gender as recorded on the register.",
            meanings=(("M", "male"), ("F", "female"), ("X", "neither male nor female (recorded as X)"), ("U", "not known")),
        ),
        _id("pnc_id", description=PNC_ID_TEXT),
        _id("cro_number", description=CRO_NUMBER_TEXT),
        _id("niche_nominal_id", description=NICHE_NOMINAL_ID_TEXT),
        _id("noms_number", description=NOMS_NUMBER_TEXT),
        _id(
            "crn",
            description="Probation case reference number (CRN), a letter and six digits (e.g. X123456). Empty if "
            "not given or not valid.",
        ),
        _id("yos_ref", description="The person's reference in the Youth Offending Service's system. Empty if not given."),
        _id("postcode", description="Home postcode. " + POSTCODE_TEXT),
        Column(
            "managing_division",
            ColType.DIVISION,
            required=True,
            description="The police division that manages the member, a code from the hub's configuration (by default CH "
            "City & Holbeck, NE North East Leeds, NW North West Leeds). Decides whose division report they appear in.",
        ),
        Column(
            "cohort_type",
            ColType.ENUM,
            required=True,
            description="Which scheme the member is managed under.",
            meanings=(("IOM", "Integrated Offender Management"), ("PPO", "Prolific and other Priority Offender")),
        ),
        Column(
            "strand",
            ColType.ENUM,
            required=True,
            description="The strand of management the case conference chose.",
            meanings=(
                ("REHAB_RESETTLE", "rehabilitate and resettle: support to stop offending"),
                ("PREVENT_DETER", "prevent and deter: steering the person away from offending"),
                ("CATCH_CONVICT", "catch and convict: enforcement for those who carry on offending"),
            ),
        ),
        Column(
            "status",
            ColType.ENUM,
            required=True,
            description="Where the person stands with the cohort on the snapshot's date.",
            meanings=(
                ("NOMINATED", "put forward by an agency but not yet taken onto the cohort: not a member, never in a report"),
                ("ACTIVE", "on the cohort now, since selected_on"),
                ("DESELECTED", "taken off the cohort on deselected_on; events between selected_on and deselected_on still count"),
            ),
        ),
        Column(
            "nominated_by",
            ColType.ENUM,
            description="The agency that nominated the person for the cohort.",
            meanings=AGENCY_MEANINGS,
        ),
        Column(
            "case_manager_agency",
            ColType.ENUM,
            description="The agency of the member's case manager.",
            meanings=AGENCY_MEANINGS,
        ),
        Column(
            "risk_level",
            ColType.ENUM,
            description="The member's risk level as recorded on the register.",
            meanings=(("HIGH", "high risk"), ("MEDIUM", "medium risk"), ("LOW", "low risk")),
        ),
        Column(
            "selected_on",
            ColType.DATE,
            description="The date the member was taken onto the cohort: the start of their active interval. Required "
            "when ACTIVE or DESELECTED; not after the snapshot's date.",
        ),
        Column(
            "deselected_on",
            ColType.DATE,
            description="The date the member was taken off the cohort: the last day of their active interval. Required "
            "when DESELECTED; not before selected_on.",
        ),
        Column(
            "deselection_reason",
            personal=Personal.FREE_TEXT,
            description="Why the member was deselected, in the case manager's words (free text: may name or describe people).",
        ),
        Column(
            "support_plan_agreed_on",
            ColType.DATE,
            description="The date the member's current support plan was agreed (the plan_in_place KPI: within the 183 "
            "days up to the period's end).",
        ),
        Column(
            "next_review_due",
            ColType.DATE,
            description="The date the member's next case review is due (the review_in_date KPI and reviews.csv).",
        ),
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

ARREST_OUTCOME_MEANINGS = (
    ("CHARGED", "charged with an offence"),
    ("CHARGED_REMANDED", "charged and kept in police custody to go before a court"),
    ("BAILED", "released on police bail while enquiries continue, not yet charged"),
    ("RUI", "released under investigation: released without bail while enquiries continue"),
    ("NFA", "no further action: released without charge"),
    ("CAUTION", "given a simple caution"),
    ("CONDITIONAL_CAUTION", "given a conditional caution (a caution with conditions to keep to)"),
    ("COMMUNITY_RESOLUTION", "dealt with by a community resolution (an informal out-of-court disposal)"),
    ("TRANSFERRED", "handed over to another force or agency to deal with"),
)
ARREST_OUTCOMES = tuple(v for v, _ in ARREST_OUTCOME_MEANINGS)

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
    description="NICHE arrest notifications: one row per arrest (custody record) of any flagged nominal in the force "
    "area, not only this cohort. From arrests/niche_arrests_YYYYMMDD_HHMMSS.csv (Windows-1252, UK dates DD/MM/YYYY, "
    "stored as ISO dates), or read from NICHE's view iom_arrest_notifications over ODBC. A later row with the same "
    "custody_ref replaces the earlier one whole (e.g. when the outcome is known).",
    columns=(
        Column(
            "custody_ref",
            required=True,
            personal=Personal.IDENTIFIER,
            description="The custody record's reference in NICHE (e.g. EL/26/002306): the arrest's key.",
        ),
        _id("niche_nominal_id", description=NICHE_NOMINAL_ID_TEXT),
        _id("pnc_id", description=PNC_ID_TEXT),
        *PERSON_COLUMNS,
        _dob(description=DOB_TEXT),
        Column(
            "arrest_datetime",
            ColType.DATETIME,
            required=True,
            not_after_file_date=True,
            description="When the person was arrested, local time (Europe/London) as NICHE wrote it; its date is the "
            "arrest's local date.",
        ),
        Column(
            "arrest_division",
            description="The division code where the arrest was made (may differ from the "
            "member's managing division; not checked against the configuration).",
        ),
        Column("custody_suite", description="The custody suite the person was taken to, as NICHE names it."),
        Column("offence_code", description="The offence's code as NICHE records it."),
        Column("offence_description", required=True, description="The offence the person was arrested for, in words."),
        Column(
            "outcome",
            ColType.ENUM,
            description="What happened after the arrest; empty while it is pending.",
            meanings=ARREST_OUTCOME_MEANINGS,
        ),
        Column("outcome_datetime", ColType.DATETIME, description="When the outcome was recorded, local time."),
        Column("next_court_date", ColType.DATE, description="The date the person is due at court next, if charged."),
    ),
)

REMAND_STATUS_MEANINGS = (
    ("CB", "conditional bail: released until the next hearing with conditions"),
    ("UB", "unconditional bail: released until the next hearing without conditions"),
    ("PR", "remanded in custody (held in prison until the next hearing)"),
    ("LA", "remanded to local authority accommodation (a youth)"),
    ("SA", "remanded to secure accommodation (a youth)"),
    ("NA", "not applicable: no remand decision at this hearing"),
)
REMAND_STATUSES = tuple(v for v, _ in REMAND_STATUS_MEANINGS)

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
    description="Results of court hearings: one row per offence of each defendant heard, every defendant not only this "
    "cohort. From court_results/court_results_<COURTCODE>_YYYYMMDD.xml, one file per court per sitting day. A row's "
    "key is court, hearing date, case (URN), the defendant's position in the case and the offence number; a later row "
    "with the same key replaces it.",
    columns=(
        Column("court_code", required=True, description="The court's code (e.g. B13HT)."),
        Column("court_name", description="The court's name (e.g. Leeds Magistrates' Court)."),
        Column(
            "hearing_date",
            ColType.DATE,
            required=True,
            description="The date of the hearing (from the file's hearing_date, not its name): the result's date.",
        ),
        Column("urn", required=True, personal=Personal.IDENTIFIER, description="The case's unique reference number (URN)."),
        Column(
            "defendant_index",
            required=True,
            description="The defendant's position within the case (1 for the first defendant listed): tells co-defendants apart.",
        ),
        *PERSON_COLUMNS,
        _dob(description=DOB_TEXT),
        _id("pnc_id", description=PNC_ID_TEXT),
        _id("cro_number", description=CRO_NUMBER_TEXT),
        _id("postcode", description="The defendant's postcode as the court has it. " + POSTCODE_TEXT),
        Column(
            "remand_status",
            ColType.ENUM,
            description="What the court decided about the defendant until the next hearing.",
            meanings=REMAND_STATUS_MEANINGS,
        ),
        Column("present", description="Whether the defendant was in court, as the court wrote it (e.g. true or false)."),
        Column("offence_seq", required=True, description="The offence's number within the defendant's charges (1, 2, ...)."),
        Column("offence_code", description="The offence's code (e.g. TH68010)."),
        Column("offence_title", required=True, description="The offence in words (e.g. Theft from a shop)."),
        Column("plea", description="The plea entered, as the court wrote it (e.g. GUILTY)."),
        Column("verdict", description="The verdict, as the court wrote it."),
        Column("result_codes", description="The result codes (CJS result codes) given for the offence, joined with ';'."),
        Column("result_texts", description="The results in words, in the same order as result_codes, joined with ';'."),
        Column(
            "next_hearing_date",
            ColType.DATE,
            description="The date of the next hearing for this offence (the earliest, if several were given).",
        ),
        Column("next_hearing_court", description="The code of the court for the next hearing."),
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
    description="The prison release schedule: one row per scheduled release. From "
    "prison_releases/prison_releases_YYYYMMDD.xlsx (first sheet) or .csv (the .xlsx is used if both exist). Each file "
    "lists releases from its date onward and supersedes earlier files for the dates it covers: a release is as the "
    "newest file dated on or before its release_date lists it.",
    columns=(
        _id("noms_number", required=True, description=NOMS_NUMBER_TEXT.replace(" Empty if not given or not valid.", "")),
        Column("booking_id", personal=Personal.IDENTIFIER, description="The prison system's booking (custody period) id."),
        _id("pnc_id", description=PNC_ID_TEXT),
        *PERSON_COLUMNS,
        _dob(description=DOB_TEXT),
        Column("prison_id", required=True, description="The prison's code (e.g. LEI for HMP Leeds)."),
        Column("prison_name", description="The prison's name."),
        Column("release_date", ColType.DATE, required=True, description="The date the person is due to be released."),
        Column(
            "release_date_type",
            ColType.ENUM,
            description="What kind of date release_date is (the sentence calculation it comes from).",
            meanings=(
                ("CRD", "conditional release date: automatic release on licence part-way through the sentence"),
                ("ARD", "automatic release date: automatic release of a shorter sentence"),
                (
                    "HDCAD",
                    "home detention curfew approved date: early release on a curfew (electronic tag) approved for this date",
                ),
                ("PRRD", "post-recall release date: release after a recall to prison"),
                ("PED", "parole eligibility date: the earliest date the Parole Board may release; release not certain"),
                ("APD", "approved parole date: release the Parole Board has approved"),
                ("NPD", "non-parole date: the release date if parole is not granted"),
                ("SED", "sentence expiry date: the end of the sentence"),
                ("CONFIRMED", "a release date the prison has confirmed"),
            ),
        ),
        Column(
            "accommodation_on_release",
            ColType.ENUM,
            description="The accommodation the person is going to on release (the settled_on_release KPI).",
            meanings=(
                ("SETTLED", "settled accommodation: a stable home"),
                ("TEMPORARY", "temporary accommodation"),
                ("NFA", "no fixed abode: nowhere to live on release"),
                ("UNKNOWN", "not known"),
            ),
        ),
        _id(
            "release_postcode",
            IdKind.POSTCODE,
            description="The postcode of the address the person is released to. " + POSTCODE_TEXT,
        ),
        Column(
            "licence_expiry_date", ColType.DATE, description="The date the person's licence (supervision after release) ends."
        ),
    ),
)

ATTENDANCE_AGENCY_MEANINGS = (
    ("PROBATION", "the Probation Service"),
    ("YOS", "the Youth Offending Service"),
    ("DIP", "the Drug Interventions Programme"),
    ("HOUSING", "a housing provider"),
    ("ETE", "an education, training and employment provider"),
    ("NON_STATUTORY", "a non-statutory (voluntary or community sector) provider"),
)
ATTENDANCE_AGENCIES = tuple(v for v, _ in ATTENDANCE_AGENCY_MEANINGS)

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
    description="Agency attendance and status changes: each appointment with its outcome, and each change in a "
    "person's circumstances (housing, education, training or employment, treatment). From "
    "attendance/attendance_<AGENCY>_YYYYMMDD.csv, one file per agency per day. A later row with the same agency and "
    "record_id replaces the earlier one whole.",
    columns=(
        Column(
            "agency",
            ColType.ENUM,
            required=True,
            description="The agency that sent the record.",
            meanings=ATTENDANCE_AGENCY_MEANINGS,
        ),
        Column("record_id", required=True, description="The agency's own reference for the record, unique within the agency."),
        Column(
            "record_type",
            ColType.ENUM,
            required=True,
            description="Whether the row is an appointment or a change of status.",
            meanings=(
                ("APPOINTMENT", "an appointment with the agency, with its outcome"),
                ("STATUS_CHANGE", "a change in the person's circumstances, in status"),
            ),
        ),
        _id("iom_id", description="The hub's IOM id for the person, if the agency recorded it (e.g. LDS-000123)."),
        Column(
            "agency_ref",
            personal=Personal.IDENTIFIER,
            description="The person's reference in the agency's system: the CRN for PROBATION, the YOS reference for "
            "YOS; for other agencies it is not used to identify the person.",
        ),
        _id("pnc_id", description=PNC_ID_TEXT),
        *PERSON_COLUMNS,
        _dob(description=DOB_TEXT),
        Column(
            "event_datetime",
            ColType.DATETIME,
            required=True,
            date_only_allowed=True,
            description="The appointment's date and time, local time; for a status change the date (or date and time) "
            "it changed. Its date is the record's local date.",
        ),
        Column("appointment_type", description="The kind of appointment, in the agency's words."),
        Column(
            "outcome",
            ColType.ENUM,
            description="How the appointment went; required for an APPOINTMENT. The appointment_compliance KPI counts "
            "ATTENDED and ACCEPTABLE_ABSENCE out of those three and FAILED_TO_ATTEND.",
            meanings=(
                ("ATTENDED", "the person attended"),
                ("FAILED_TO_ATTEND", "the person did not attend, without an acceptable reason"),
                ("ACCEPTABLE_ABSENCE", "the person did not attend, for a reason the agency accepted"),
                ("RESCHEDULED", "the appointment was moved to another time (not counted for compliance)"),
                ("CANCELLED", "the appointment was cancelled (not counted for compliance)"),
            ),
        ),
        Column(
            "status",
            ColType.ENUM,
            description="The new status; required for a STATUS_CHANGE.",
            meanings=(
                ("HOUSED", "moved into accommodation"),
                ("LOST_ACCOMMODATION", "lost their accommodation"),
                ("EDUCATION_STARTED", "started education or training"),
                ("EMPLOYMENT_STARTED", "started employment"),
                ("ETE_ENDED", "education, training or employment ended"),
                ("TREATMENT_STARTED", "started treatment (e.g. for drugs or alcohol)"),
                ("TREATMENT_COMPLETED", "completed treatment"),
                ("TREATMENT_DROPPED", "left treatment before completing it"),
            ),
        ),
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
