"""The warehouse's data dictionary: every table, view and column described once.

Feed columns are described where the feed is declared (``pipelines/feeds.py``: each
Column's description, personal-data kind and allowed values with their meanings); every
other table and every derived view column is described in ``REGISTRY`` below.  From
these one set of descriptions:

- ``docs/warehouse.md`` is generated (``python -m warehouse.dictionary``; ``--check``
  exits 1 when the file is stale), with the worked queries of ``WORKED_QUERIES``, which
  tests/test_worked_queries.py runs unchanged on SQLite and PostgreSQL;
- on PostgreSQL, ``apply_comments`` writes them as ``COMMENT ON`` the tables, views and
  columns, so a database client shows them too (``warehouse.db.upgrade`` calls it).

The objects and view columns are read from a migrated warehouse (``sa.inspect``), so the
dictionary describes what is really there; a column nobody described has an empty
description, which tests/test_dictionary.py refuses.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from pipelines.feeds import FEEDS, Column, Feed, FeedKind
from warehouse.pseudonymised import AGE_BANDS, OLDEST_BAND, pseudo_name, pseudonymised_views
from warehouse.schema import CJS_LOCATIONS, metadata
from warehouse.views import linked_view_name, views

DOC_PATH = Path(__file__).parents[1] / "docs" / "warehouse.md"


@dataclass(frozen=True)
class Col:
    """What the registry says about a column that no feed declares."""

    type: str
    text: str
    personal: str | None = None  # a pipelines.feeds.Personal value, where the column is personal data
    meanings: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Obj:
    text: str
    columns: dict[str, Col]
    based_on: str | None = None  # a view's other columns are described as this table's or view's


@dataclass(frozen=True)
class ColumnDoc:
    name: str
    type: str
    description: str
    personal: str | None = None
    meanings: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ObjectDoc:
    name: str
    kind: str  # "table" or "view"
    description: str
    columns: tuple[ColumnDoc, ...]


# --- Shared column descriptions ---------------------------------------------------------

IOM_ID = "identifier"  # personal data: the hub's key to a person
FILE_ID = Col("integer", "The file the row came from: ingest_file.id.")
LINK_METHODS = (
    ("identifier", "linked on a valid strong identifier held by exactly one member of the register"),
    ("details", "linked by the model on name, date of birth and postcode, scoring at or above link_at"),
    ("accepted", "linked because the hub accepted this pair on review"),
    ("review", "not linked: uncertain or conflicting, waiting on the review list (never in a report)"),
    ("none", "not linked: nobody in the cohort (most records: the feeds cover everyone, not only the cohort)"),
)
RAGS = (
    ("GREEN", "at or better than the green threshold"),
    ("AMBER", "at or better than the amber threshold, short of green"),
    ("RED", "worse than the amber threshold"),
    ("NO_DATA", "no figure: no register dated on or before the period's end, or a zero denominator"),
)
DEFAULT_KPIS = (
    ("review_in_date", "members active at the period's end whose next_review_due is on or after it (higher is better)"),
    ("plan_in_place", "members active at the period's end with a support plan agreed in the 183 days up to it (higher)"),
    ("appointment_compliance", "counted appointments ATTENDED or ACCEPTABLE_ABSENCE, of those and FAILED_TO_ATTEND (higher)"),
    ("arrests_per_100", "counted arrests (distinct custody_ref) per 100 members active at the period's end (lower)"),
    ("settled_on_release", "counted releases to SETTLED accommodation, of all counted releases (higher)"),
)
LOCATION_MEANINGS = (
    ("COMMUNITY", "in the community: not in custody"),
    ("POLICE_CUSTODY", "in police custody after an arrest"),
    ("REMANDED_IN_CUSTODY", "remanded in custody by a court until a later hearing"),
    ("IN_PRISON", "in prison"),
    ("ON_LICENCE", "released from prison on licence (supervised in the community)"),
    ("UNKNOWN", "not known from what the warehouse holds"),
)
assert tuple(v for v, _ in LOCATION_MEANINGS) == CJS_LOCATIONS  # one value set, described once

ROW_PROVENANCE = {
    "file_id": FILE_ID,
    "row_no": Col("integer", "The row's number within its file; with file_id, the row's key."),
    "location": Col("text", "Where the row is in its file: CSV line, sheet row or XML element path."),
    "local_date": Col(
        "date",
        "The row's local date: the date part of its timestamp (or its date) as the partner wrote it, never shifted "
        "by time zone. Reports and KPIs place the row in time by it.",
    ),
}

LINKED_COLUMNS = {
    "event_date": Col("date", "The date that places the record in time: its local date (for a release, its release_date)."),
    "event_month": Col("text", "event_date's calendar month, YYYY-MM."),
    "linked_iom_id": Col(
        "text",
        "The cohort member the record is linked to (empty when it is not linked): the stored link judged against the "
        "newest register snapshot that judged this record.",
        IOM_ID,
    ),
    "link_method": Col("text", "How the record was linked, or why not.", meanings=LINK_METHODS),
    "linked_with_register_of": Col("date", "The date of the register snapshot the link was judged against."),
    "managing_division": Col(
        "text",
        "The linked member's managing_division in the register in force on event_date (empty if they were not on it then).",
    ),
    "reportable": Col(
        "integer",
        "Whether the record counts (CONTRACT section 4): linked to a member ACTIVE or DESELECTED in the register in "
        "force on event_date whose active interval contains it.",
        meanings=(("1", "reportable: it counts"), ("0", "not reportable: not linked, or outside the member's interval")),
    ),
}

HISTORY_COLUMNS = {
    "valid_from": Col("date", "The first snapshot's date of this interval (inclusive): from when these attributes held."),
    "valid_to": Col(
        "date",
        "The date of the next snapshot, in which the member changed or was absent (exclusive); empty while the "
        "interval reaches the newest snapshot.",
    ),
    "snapshots": Col("integer", "How many snapshots the interval spans."),
}

TRAFFIC_LIGHT_COLUMNS = {
    "period": Col("text", "The calendar month, YYYY-MM."),
    "division": Col("text", "A division code, or ALL for the whole borough."),
    "kpi": Col("text", "The KPI (the list is configuration, config/hub.yaml); by default:", meanings=DEFAULT_KPIS),
    "period_start": Col("date", "The month's first day."),
    "period_end": Col(
        "date", "The month's last day, or the day before the report date for the month still running (E, CONTRACT 8)."
    ),
    "numerator": Col("integer", "The KPI's numerator; empty when NO_DATA for want of a register."),
    "denominator": Col("integer", "The KPI's denominator; empty when NO_DATA for want of a register."),
    "value": Col("decimal", "100 x numerator / denominator, rounded half-up to one decimal place; empty when NO_DATA."),
    "rag": Col("text", "Red/amber/green, taken on the unrounded value.", meanings=RAGS),
    "report_date": Col("date", "The report date of the run that computed the row."),
}

CJS_LOCATION_COLUMNS = {
    "iom_id": Col("text", "The cohort member.", IOM_ID),
    "started_at": Col("timestamp", "When the spell started, local wall clock (Europe/London)."),
    "ended_at": Col("timestamp", "When the next spell started (local wall clock); empty for the spell in force."),
    "location": Col("text", "Where the member was during the spell.", meanings=LOCATION_MEANINGS),
    "cause": Col("text", "The kind of event that put them there."),
    "feed": Col("text", "The feed of the row that did; empty for the default taken from the register."),
    "file_id": Col("integer", "The file of that row: ingest_file.id (empty for the register's default)."),
    "row_no": Col("integer", "That row's number within its file."),
    "as_of": Col("date", "The report date whose data the spell was derived from."),
}


# --- The registry: every object and column no feed describes --------------------------

REGISTRY: dict[str, Obj] = {
    "ingest_file": Obj(
        "The ledger: every version of every file (or ODBC read) the hub has taken in, loaded or rejected, with its "
        "counts. rows_in = rows_loaded + rows_quarantined for every file.",
        {
            "id": Col("integer", "The file version's number in the warehouse; what file_id elsewhere points at."),
            "feed": Col("text", "The feed: cohort, arrests, court_results, prison_releases or attendance."),
            "name": Col("text", "The file's name as delivered (for an ODBC read, the view and the day it was read)."),
            "file_date": Col("date", "The date in the file's name (the read's day for ODBC); empty when the name has none."),
            "file_time": Col("text", "The time in the name, HHMMSS (arrests only; empty otherwise)."),
            "size": Col("integer", "The file's size in bytes, as the inbox listed it."),
            "mtime": Col("number", "The file's modification time as the inbox listed it (seconds since 1970, UTC)."),
            "sha256": Col("text", "The SHA-256 digest of the file's bytes: the same bytes again change nothing."),
            "arrived_at": Col("timestamp", "When the file arrived: its modification time, local wall clock (empty for ODBC)."),
            "ingested_at": Col("timestamp", "When the hub loaded this version (UTC)."),
            "first_report_date": Col("date", "The report date of the run that first took this version in."),
            "version": Col("integer", "1 for the first delivery under this name, then 2, 3, ... for each correction."),
            "is_current": Col(
                "true/false",
                "Whether this is the newest version of the file; only current versions count.",
                meanings=(("true", "the newest version: its rows count"), ("false", "replaced by a correction")),
            ),
            "status": Col(
                "text",
                "Whether the file was loaded.",
                meanings=(("LOADED", "read; its good rows loaded"), ("REJECTED", "could not be read at all: rejected whole")),
            ),
            "reject_reason": Col("text", "Why the file was rejected (names the fault, never a value); empty if loaded."),
            "rows_in": Col("integer", "Rows the file held (1 for a rejected file with no countable rows)."),
            "rows_loaded": Col("integer", "Rows loaded into the feed's row table."),
            "rows_quarantined": Col("integer", "Rows quarantined (all of them for a rejected file)."),
            "drift_columns": Col("text", "Columns the file had that the feed does not know, comma-separated (ignored)."),
            "source": Col("text", "Where the file was read from: the inbox's location, or odbc: and the view."),
        },
    ),
    "quarantine": Obj(
        "Every row (or whole file) that was not loaded, with where it is and why. Reasons name lines, columns and "
        "rules, never values: open the partner's file at the line named.",
        {
            "id": Col("integer", "The entry's number."),
            "file_id": FILE_ID,
            "row_no": Col("integer", "The row's number within the file; empty when the whole file was rejected."),
            "location": Col("text", "CSV line, sheet row or XML element path; empty for a whole file."),
            "reason": Col("text", "Why: the column and the rule it broke, or why the file could not be read."),
        },
    ),
    "dq_finding": Obj(
        "Identifiers that failed their format or check letter: the row loaded, the identifier is treated as absent.",
        {
            "id": Col("integer", "The finding's number."),
            "file_id": FILE_ID,
            "row_no": Col("integer", "The row's number within the file."),
            "location": Col("text", "CSV line, sheet row or XML element path."),
            "column_name": Col("text", "The column that held the identifier."),
            "rule": Col("text", "The rule it failed (e.g. not a valid pnc_id (format or check letter))."),
        },
    ),
    "record_link": Obj(
        "Who each record is: one row per feed row and register snapshot that judged it, computed once and read by "
        "the reports and the traffic light alike.",
        {
            "register_id": Col("integer", "The register snapshot (cohort file, ingest_file.id) the record was judged against."),
            "feed": Col("text", "The record's feed."),
            "file_id": FILE_ID,
            "row_no": Col("integer", "The record's row within its file."),
            "subject": Col(
                "text",
                "Whom the row is about, as text (the feed's subject key, e.g. the custody_ref): what a review decision names.",
                "identifier",
            ),
            "iom_id": Col("text", "The member it is linked to; empty when not linked.", IOM_ID),
            "method": Col("text", "How it was linked, or why not.", meanings=LINK_METHODS),
            "reason": Col("text", "For a record on review, why (e.g. identifiers point at different members)."),
            "match_weight": Col("number", "The model's match weight (bits) for the linked member, where it has one."),
            "linker_version": Col("text", "The model and thresholds the link was computed with; another version is stale."),
        },
    ),
    "link_candidate": Obj(
        "For each record on review, the members it might be, with the model's evidence (no personal data).",
        {
            "register_id": Col("integer", "The register snapshot the record was judged against."),
            "feed": Col("text", "The record's feed."),
            "file_id": FILE_ID,
            "row_no": Col("integer", "The record's row within its file."),
            "iom_id": Col("text", "A member the record might be.", IOM_ID),
            "match_weight": Col("number", "The model's match weight for this member; empty where only an identifier points."),
            "evidence": Col("text", "The model's evidence, JSON [[comparison, level, weight], ...]."),
            "via": Col(
                "text",
                "Why the member is a candidate.",
                meanings=(("details", "the model's score on the personal details"), ("identifier", "an identifier")),
            ),
        },
    ),
    "link_decision": Obj(
        "The hub's review decisions, appended, never changed: who decided what, when and from where (the audit "
        "trail). The newest decision for a pair is in force.",
        {
            "id": Col("integer", "The decision's number, in the order made."),
            "feed": Col("text", "The feed of the records decided on."),
            "subject": Col("text", "Whom the records are about (record_link.subject).", "identifier"),
            "iom_id": Col("text", "The member the decision is about.", IOM_ID),
            "decision": Col(
                "text",
                "The decision.",
                meanings=(("accept", "the records are this member"), ("reject", "the records are not this member")),
            ),
            "decided_by": Col("text", "Who decided: the hub staff member's user name.", "identifier"),
            "decided_at": Col("timestamp", "When (UTC)."),
            "source": Col("text", "How: the command, or the review CSV file loaded."),
            "note": Col("text", "The reviewer's note, if any (free text).", "free text"),
        },
    ),
    "traffic_light": Obj(
        "The red/amber/green performance table (CONTRACT section 8): each month's KPIs per division and for ALL, as "
        "the latest run for that month computed them.",
        TRAFFIC_LIGHT_COLUMNS,
    ),
    "traffic_light_history": Obj(
        "The same figures as every run computed them, keyed also by report_date: a month restated by a later run keeps "
        "its earlier figures beside the report date that produced them.",
        TRAFFIC_LIGHT_COLUMNS,
    ),
    "traffic_light_input": Obj(
        "The pipeline's bookkeeping for traffic_light: a digest of what each month's rows were computed from (its end, "
        "the register at its end, the files that can change its events, the links and the KPI settings). A run "
        "recomputes only the months whose digest changed; the others keep their figures, marked with the run's report_date.",
        {
            "period": Col("text", "The month, YYYY-MM."),
            "digest": Col("text", "SHA-256 of the month's inputs (no personal data)."),
            "report_date": Col("date", "The latest run that computed the month or found its inputs unchanged."),
        },
    ),
    "file_event_span": Obj(
        "The pipeline's bookkeeping: for each file of an event feed, the first and last local date of its rows and of "
        "the rows of other files sharing a key with them, i.e. the dates the file can change (a correction moving an "
        "event changes both dates).",
        {
            "file_id": Col("integer", "The file (ingest_file.id)."),
            "feed": Col("text", "The feed."),
            "first_date": Col("date", "The earliest such local date; empty for a file without rows."),
            "last_date": Col("date", "The latest such local date; empty for a file without rows."),
        },
    ),
    "cjs_location": Obj(
        "Where each member is in the criminal justice system, as spells: one row per member and spell, derived from "
        "their linked events. The location at the end of day X is the spell with started_at before X+1 00:00 and "
        "ended_at empty or at or after it.",
        CJS_LOCATION_COLUMNS,
    ),
    "cjs_location_current": Obj("Each member's spell in force now in cjs_location (ended_at empty).", {}, "cjs_location"),
    "member_history": Obj(
        "The register as history: each member's attributes over each run of consecutive snapshots in which they were "
        "unchanged, valid_from (inclusive) to valid_to (exclusive, empty while current). The register in force on :d: "
        "WHERE valid_from <= :d AND (valid_to IS NULL OR valid_to > :d).",
        HISTORY_COLUMNS,
        "cohort_member",
    ),
    "member": Obj(
        "The register now: the members of the newest snapshot (member_history's current intervals).", {}, "member_history"
    ),
    "alembic_version": Obj(
        "Alembic's bookkeeping: the schema migration the warehouse is at.",
        {"version_num": Col("text", "The revision of the newest migration applied (e.g. 0006).")},
    ),
}


PSEUDONYM = Col(
    "text",
    "The member's pseudonym: a keyed hash of their iom_id, the same in every pseudonymised view and run, that "
    "cannot be turned back without the hub's key. Still personal data in law: do not publish it.",
)
PSEUDO_COLUMNS = {
    "pseudonym": PSEUDONYM,
    "age_band": Col(
        "text",
        "The person's age band on the event's date (the register: on valid_from), instead of the date of birth; "
        "empty when not known.",
        meanings=(*((label, f"aged {label}") for _, label in AGE_BANDS), (OLDEST_BAND, "aged 45 or over")),
    ),
    "postcode_district": Col("text", "The postcode's district (outward code, e.g. LS1 of LS1 4AP), instead of the postcode."),
    "release_postcode_district": Col(
        "text", "The release postcode's district (outward code, e.g. LS1 of LS1 4AP), instead of the postcode."
    ),
}
RETENTION_RULES = (
    ("after_deselection", "members deselected longer ago than the configured period: their register and linked rows"),
    ("non_cohort", "rows about someone never linked to any member, from files older than the configured period"),
)

PRIVACY: dict[str, Obj] = {
    "member_pseudonym": Obj(
        "Each member's pseudonym, for the pseudonymised views (kept here because SQLite cannot compute the keyed "
        "hash). Analysts read the pseudo_* views, never this table.",
        {"iom_id": Col("text", "The member.", IOM_ID), "pseudonym": PSEUDONYM},
    ),
    "erased_row": Obj(
        "Rows whose personal columns retention has erased (no personal data: where the row is and under which rule), "
        "so a rerun erases nothing more and linking keeps the row's stored link.",
        {
            "feed": Col("text", "The row's feed."),
            "file_id": FILE_ID,
            "row_no": Col("integer", "The row's number within its file."),
            "rule": Col("text", "The retention rule that erased it.", meanings=RETENTION_RULES),
            "erased_at": Col("timestamp", "When (UTC)."),
        },
    ),
    "erasure_log": Obj(
        "One row per retention rule and table of every erasure applied: what, when, under which rule, by whom; "
        "counts only, never who.",
        {
            "id": Col("integer", "The entry's number."),
            "erased_at": Col("timestamp", "When (UTC)."),
            "erased_by": Col("text", "Who ran the erasure: the hub staff member's user name.", "identifier"),
            "rule": Col("text", "The retention rule applied.", meanings=RETENTION_RULES),
            "table_name": Col("text", "The table whose rows were erased."),
            "rows": Col("integer", "How many rows were erased."),
            "people": Col("integer", "How many people those rows were about."),
            "as_of": Col("date", "The date the retention periods were counted back from."),
        },
    ),
    "audit_event": Obj(
        "The hub's own actions (review decisions, erasures), appended in the same transaction as the action: who, "
        "when, what. The detail names tables, rules, counts and ids, never personal data.",
        {
            "id": Col("integer", "The entry's number, in the order recorded."),
            "at": Col("timestamp", "When (UTC)."),
            "actor": Col("text", "Who: the hub staff member's user name.", "identifier"),
            "action": Col(
                "text",
                "What kind of action.",
                meanings=(("link_decision", "a linking review decision"), ("erasure", "a retention erasure")),
            ),
            "detail": Col("text", "What was done: tables, rules, counts and ids."),
        },
    ),
    "cjs_location_state": Obj(
        "The pipeline's bookkeeping for cjs_location: what its stored spells were derived from, so the next run "
        "derives again only from the earliest moment an input changed. One row; empty after an erasure or a run that "
        "read an ODBC stand-in (the next run derives in full).",
        {
            "id": Col("integer", "Always 1."),
            "as_of": Col("date", "The report date the spells were derived for."),
            "max_file_id": Col("integer", "The newest ledger entry (ingest_file.id) the derivation could see."),
            "max_decision_id": Col("integer", "The newest review decision (link_decision.id) it could see."),
            "max_erasure_id": Col("integer", "The newest erasure (erasure_log.id) it could see."),
            "linker_version": Col("text", "The linking model and thresholds it used (record_link.linker_version)."),
        },
    ),
    "cjs_location_subject": Obj(
        "The pipeline's bookkeeping for cjs_location: the member each linked subject's records counted for in the "
        "stored derivation, so a run finds the subjects whose member changed by comparison. Dropped with an erasure.",
        {
            "feed": Col("text", "The record's feed (arrests, court_results, prison_releases)."),
            "subject": Col("text", "Whom the records are about (record_link.subject).", "identifier"),
            "iom_id": Col("text", "The member they counted for.", IOM_ID),
        },
    ),
}
_PSEUDO_SOURCES = {
    pseudo_name("member_history"): "member_history",
    pseudo_name("member"): pseudo_name("member_history"),
    **{pseudo_name(f.current_view): linked_view_name(f.name) for f in FEEDS.values() if f.linked},
    pseudo_name("cjs_location"): "cjs_location",
    pseudo_name("traffic_light"): "traffic_light",
}
for _view, _source in _PSEUDO_SOURCES.items():
    PRIVACY[_view] = Obj(
        f"{_source} pseudonymised for analysts: no names, dates of birth, identifiers, postcodes or free text; a "
        "pseudonym instead of the member, an age band instead of the date of birth, a postcode district instead of "
        "a postcode" + ("; only rows linked to a member." if _source.startswith("linked_") else "."),
        PSEUDO_COLUMNS,
        _source,
    )


def _feed_objects() -> dict[str, Obj]:
    """Each feed's row table, current view and linked view, described from the feed."""
    out: dict[str, Obj] = {}
    for feed in FEEDS.values():
        out[feed.table] = Obj(f"Every row of every current version of the feed's files. {feed.description}", ROW_PROVENANCE)
        if feed.current_view not in REGISTRY:  # the register's current view is member
            out[feed.current_view] = Obj(_current_text(feed), {}, feed.table)
        if feed.linked:
            out[linked_view_name(feed.name)] = Obj(
                f"{feed.current_view} with the member each row is linked to, the member's division in the register "
                "in force on the row's date, and whether it is reportable. Start here to count a feed's events.",
                LINKED_COLUMNS,
                feed.current_view,
            )
    return out


def _current_text(feed: Feed) -> str:
    if feed.key and feed.event_date_column and feed.kind is FeedKind.EVENTS:
        return f"The {feed.name} rows in force now: for each key ({', '.join(feed.key)}), the latest row (CONTRACT section 1)."
    return (
        f"The {feed.name} rows in force: each item as the newest file dated on or before its {feed.event_date_column} lists it."
    )


OBJECTS: dict[str, Obj] = {**REGISTRY, **PRIVACY, **_feed_objects()}
FEED_OF_TABLE: dict[str, Feed] = {f.table: f for f in FEEDS.values()}

_PLAIN_TYPES = (
    (sa.Boolean, "true/false"),
    (sa.DateTime, "timestamp"),
    (sa.Date, "date"),
    (sa.Integer, "integer"),  # BigInteger is an Integer
    (sa.Float, "number"),
    (sa.Numeric, "decimal"),
    (sa.String, "text"),  # Text is a String
)


def plain_type(sql_type: sa.types.TypeEngine) -> str:
    """A column type in words a reader of either back end understands."""
    for cls, word in _PLAIN_TYPES:
        if isinstance(sql_type, cls):
            return word
    return str(sql_type).lower()


def _feed_column(feed: Feed, name: str) -> Column | None:
    return next((c for c in feed.columns if c.name == name), None)


def describe_column(obj_name: str, column: str, introspected_type: str = "") -> ColumnDoc:
    """The column's description: the object's own registry entry, the feed's column, then
    what the object is based on; an empty description when nobody describes it."""
    seen: set[str] = set()
    name: str | None = obj_name
    while name is not None and name not in seen:
        seen.add(name)
        obj = OBJECTS.get(name)
        if obj is None:
            break
        if column in obj.columns:
            c = obj.columns[column]
            return ColumnDoc(column, c.type, c.text, c.personal, c.meanings)
        feed = FEED_OF_TABLE.get(name)
        found = _feed_column(feed, column) if feed else None
        if found is not None:
            sql_type = metadata.tables[name].c[column].type
            personal = found.personal.value if found.personal else None
            return ColumnDoc(column, plain_type(sql_type), found.description, personal, found.meanings)
        name = obj.based_on
    return ColumnDoc(column, introspected_type, "")


def describe(inspector: sa.Inspector) -> list[ObjectDoc]:
    """Every table and view of a migrated warehouse, with its columns as described."""
    view_names = set(inspector.get_view_names())
    names = [
        *_ordered(view_names, [*views(), *pseudonymised_views()]),
        *_ordered(set(inspector.get_table_names()), list(metadata.tables)),
    ]
    docs = []
    for name in names:
        kind = "view" if name in view_names else "table"
        columns = tuple(
            describe_column(name, c["name"], plain_type(c["type"]) if not isinstance(c["type"], sa.types.NullType) else "")
            for c in inspector.get_columns(name)
        )
        obj = OBJECTS.get(name)
        docs.append(ObjectDoc(name, kind, obj.text if obj else "", columns))
    return docs


def _ordered(present: set[str], preferred: list[str]) -> list[str]:
    """``present`` in the order of ``preferred``, then any others by name."""
    return [n for n in preferred if n in present] + sorted(present - set(preferred))


def migrated_docs() -> list[ObjectDoc]:
    """The dictionary of a freshly migrated SQLite warehouse (what the migrations make)."""
    from warehouse.db import make_engine, upgrade  # warehouse.db imports this module

    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'dictionary.sqlite'}")
        try:
            upgrade(engine)
            return describe(sa.inspect(engine))
        finally:
            engine.dispose()


# --- PostgreSQL comments -----------------------------------------------------------------


def comment_text(column: ColumnDoc) -> str:
    """A column's comment: its description, personal-data kind and allowed values."""
    parts = [column.description]
    if column.personal:
        parts.append(f"Personal data: {column.personal}.")
    if column.meanings:
        parts.append("Values: " + "; ".join(f"{v} = {m}" for v, m in column.meanings) + ".")
    return " ".join(parts)


def _literal(text: str) -> str:
    # COMMENT takes a literal, not a bound parameter (a utility statement); standard
    # conforming strings (PostgreSQL's default) need only quotes doubled.
    return "'" + text.replace("'", "''") + "'"


_EXISTING_COMMENTS = sa.text(
    "SELECT c.relname, NULL AS attname, obj_description(c.oid, 'pg_class') AS comment FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v') "
    "UNION ALL SELECT c.relname, a.attname, col_description(c.oid, a.attnum) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid "
    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v') AND a.attnum > 0 AND NOT a.attisdropped"
)


def comment_statements(docs: Iterable[ObjectDoc], existing: dict[tuple[str, str | None], str | None]) -> list[str]:
    """COMMENT statements for every described object and column whose comment differs."""
    quote = sa.dialects.postgresql.dialect().identifier_preparer.quote
    out = []
    for obj in docs:
        if obj.description and existing.get((obj.name, None)) != obj.description:
            out.append(f"COMMENT ON {obj.kind.upper()} {quote(obj.name)} IS {_literal(obj.description)}")
        for col in obj.columns:
            text = comment_text(col)
            if col.description and existing.get((obj.name, col.name)) != text:
                out.append(f"COMMENT ON COLUMN {quote(obj.name)}.{quote(col.name)} IS {_literal(text)}")
    return out


def annotate_metadata() -> None:
    """Give the SQLAlchemy tables the comments apply_comments writes, so comparing the
    models with a migrated PostgreSQL warehouse (tests/test_migrations.py, autogenerate)
    finds the comments agreeing rather than a difference to migrate."""
    for table in metadata.tables.values():
        obj = OBJECTS.get(table.name)
        table.comment = obj.text if obj else None
        for column in table.columns:
            doc = describe_column(table.name, column.name)
            column.comment = comment_text(doc) if doc.description else None


def apply_comments(conn: sa.Connection) -> int:
    """Write the descriptions as PostgreSQL comments (no-op elsewhere); returns how many changed.

    Comments are documentation, not schema: they are kept out of the migrations (which
    freeze the schema) and rewritten from the current descriptions after every upgrade,
    only where they differ, so running it again changes nothing."""
    if conn.dialect.name != "postgresql":
        return 0
    existing = {(r.relname, r.attname): r.comment for r in conn.execute(_EXISTING_COMMENTS)}
    statements = comment_statements(describe(sa.inspect(conn)), existing)
    for statement in statements:
        conn.execute(sa.text(statement.replace(":", "\\:")))  # a colon in a description is not a parameter
    return len(statements)


annotate_metadata()  # on import: upgrade() imports this module before it writes the comments


# --- Worked queries ----------------------------------------------------------------------


@dataclass(frozen=True)
class WorkedQuery:
    key: str
    title: str
    question: str
    sql: str
    params: dict[str, str]  # an example value for each :name
    reading: str


WORKED_QUERIES: tuple[WorkedQuery, ...] = (
    WorkedQuery(
        "active_on",
        "Who was active on 1 March",
        "Which members were active on a date, and in which division? Active means ACTIVE in the register in force on "
        "that date (the newest snapshot dated on or before it) with selected_on on or before it, as the traffic light "
        "counts members active at a period's end.",
        "SELECT managing_division, iom_id, selected_on\n"
        "FROM member_history\n"
        "WHERE valid_from <= :d AND (valid_to IS NULL OR valid_to > :d)\n"
        "  AND status = 'ACTIVE' AND selected_on <= :d\n"
        "ORDER BY managing_division, iom_id",
        {"d": "2026-03-01"},
        "One row per member active on :d, with the division that managed them on that date (not today's). Count "
        "the rows per managing_division for the numbers; join member_history again on iom_id and the same date "
        "condition for names or other attributes. No rows: no register snapshot was dated on or before :d.",
    ),
    WorkedQuery(
        "arrests_by_division_month",
        "Arrests per division per month over the last year",
        "How many arrests of cohort members were there in each division in each month of the last twelve? An arrest "
        "counts as the traffic light counts it: linked to a member whose active interval contains the arrest's local "
        "date, in the division that managed them on that date.",
        "SELECT managing_division, event_month, COUNT(DISTINCT custody_ref) AS arrests\n"
        "FROM linked_arrest\n"
        "WHERE reportable = 1 AND event_date >= :first_day AND event_date <= :last_day\n"
        "GROUP BY managing_division, event_month\n"
        "ORDER BY managing_division, event_month",
        {"first_day": "2025-12-01", "last_day": "2026-11-30"},
        "One row per division and month (YYYY-MM) with at least one arrest; a month missing from the answer had "
        "none. Each arrest counts once (distinct custody_ref), with its latest outcome, in the division of the "
        "register in force on the arrest date, wherever the arrest was made. Only records the hub has linked count: "
        "one waiting on the review list does not, until it is decided.",
    ),
    WorkedQuery(
        "in_prison_at_month_end",
        "How many members were in prison at each month end",
        "How many members were in prison, and how many remanded in custody, at the end of each month? The location "
        "at the end of a day X is the cjs_location spell that started before X+1 00:00 and had not ended by then. "
        "The months are those of the traffic light: the end of one month is the start (00:00) of the next.",
        "WITH months AS (SELECT DISTINCT period, period_start FROM traffic_light),\n"
        "month_ends AS (\n"
        "  SELECT LAG(period) OVER (ORDER BY period_start) AS month, period_start AS ends_at FROM months\n"
        ")\n"
        "SELECT m.month,\n"
        "  COUNT(DISTINCT CASE WHEN c.location = 'IN_PRISON' THEN c.iom_id END) AS in_prison,\n"
        "  COUNT(DISTINCT CASE WHEN c.location = 'REMANDED_IN_CUSTODY' THEN c.iom_id END) AS remanded_in_custody\n"
        "FROM month_ends m\n"
        "LEFT JOIN cjs_location c ON c.started_at < m.ends_at AND (c.ended_at IS NULL OR c.ended_at >= m.ends_at)\n"
        "WHERE m.month IS NOT NULL\n"
        "GROUP BY m.month\n"
        "ORDER BY m.month",
        {},
        "One row per complete month (YYYY-MM) of the traffic light, the month still running left out: how many "
        "members were IN_PRISON and how many REMANDED_IN_CUSTODY at its last moment. A spell that ends exactly at "
        "midnight still counts for the day before. For another date, compare started_at and ended_at with the day "
        "after it written as 'YYYY-MM-DD' (midnight). cjs_location is derived from the linked events as of its "
        "as_of date.",
    ),
    WorkedQuery(
        "review_in_date_moves",
        "How did review_in_date move",
        "How did a KPI (here review_in_date) move month by month, for the borough (ALL) and each division, and how "
        "did later runs restate a month?",
        "SELECT period, division, report_date, period_end, numerator, denominator, value, rag\n"
        "FROM traffic_light_history\n"
        "WHERE kpi = :kpi\n"
        "ORDER BY period, division, report_date",
        {"kpi": "review_in_date"},
        "One row per month, division (ALL first) and run that computed it. A month computed by several runs appears "
        "once for each report_date: the month still running when its first report was made ends on the day before "
        "that report (period_end), and the run after the month's end restates it in full. The row with the latest "
        "report_date for a month is the one traffic_light holds. value is a percentage; NO_DATA rows have none.",
    ),
)
WORKED: dict[str, WorkedQuery] = {q.key: q for q in WORKED_QUERIES}


# --- The document ------------------------------------------------------------------------

INTRODUCTION = """\
# The cohort warehouse: a data dictionary

Generated by `python -m warehouse.dictionary` from the feed descriptions
(`pipelines/feeds.py`), the schema and the registry in `warehouse/dictionary.py`; do not edit
by hand (`python -m warehouse.dictionary --check` says whether it is up to date). On
PostgreSQL the same descriptions are the tables', views' and columns' comments.

## For performance leads

**What it holds.** Everything partners deliver to the IOM hub, kept whole: every cohort
register snapshot, every arrest notification, court result, prison release schedule and
agency attendance record, each row with the file it came from; which cohort member each
record is (or why none); the hub's review decisions; and the monthly red/amber/green
performance table with every run's figures. Files arrive daily; the warehouse keeps every
version, so any past report can be rebuilt exactly.

**Personal data.** This is criminal-offence personal data (DPA 2018 Part 3). Every row about a
person is personal data; the *personal data* column below flags the columns that name,
identify or describe a person directly (name, date of birth, identifier, postcode, free
text). Select only the columns a question needs; counts need none of them.

**SQLite and PostgreSQL.** The warehouse is an SQLite file by default and PostgreSQL in
production; the tables, views and queries are the same on both. In SQLite, dates are stored
as ISO text (`YYYY-MM-DD`) and timestamps as `YYYY-MM-DD HH:MM:SS.ffffff`, so compare them with
text written the same way (`'2026-03-01'`), which PostgreSQL also accepts for its date and
timestamp columns; avoid date arithmetic, which the two write differently. Timestamps are
local wall-clock time (Europe/London) as partners wrote them, except the hub's own
`ingested_at` and `decided_at` (UTC).

**As at a date.** The register is delivered as full snapshots; the register *in force* on a
date is the newest snapshot dated on or before it. `member_history` holds each member's
attributes over intervals: `valid_from` (inclusive) to `valid_to` (exclusive, empty while
current), so the register on `:d` is
`WHERE valid_from <= :d AND (valid_to IS NULL OR valid_to > :d)`. Feed rows are placed in time
by their local date (`local_date`, `event_date`): the date as written, never shifted.

**Where to start.** Use the views: `member_history` and `member` for the register;
`linked_arrest`, `linked_court_result`, `linked_attendance_record` and `linked_prison_release`
to count events (each row with its member, the member's division on the event's date and
`reportable` = 1 when it counts, as the reports and the traffic light count it); `arrest`,
`court_result`, `attendance_record` and `prison_release` for the rows in force;
`traffic_light` and `traffic_light_history` for the KPIs; `cjs_location` and
`cjs_location_current` for where members are. The `*_row` tables and the linking tables are
for checking and audit.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _column_row(col: ColumnDoc) -> str:
    text = col.description
    if col.meanings:
        text += " Values: " + "; ".join(f"`{v}` {m}" for v, m in col.meanings) + "."
    return f"| `{col.name}` | {col.type} | {col.personal or ''} | {_cell(text)} |"


def render_object(obj: ObjectDoc) -> list[str]:
    lines = [f"### `{obj.name}` ({obj.kind})", "", obj.description, ""]
    lines += ["| column | type | personal data | description |", "|---|---|---|---|"]
    lines += [_column_row(c) for c in obj.columns]
    return [*lines, ""]


def render_query(n: int, q: WorkedQuery) -> list[str]:
    lines = [f"### {n}. {q.title}", "", f"**Question.** {q.question}", "", "```sql", q.sql, "```", ""]
    if q.params:
        example = ", ".join(f"`:{k}` = `'{v}'`" for k, v in q.params.items())
        lines += [f"Parameters, for example: {example}.", ""]
    return [*lines, f"**Reading the answer.** {q.reading}", ""]


def render(docs: list[ObjectDoc]) -> str:
    lines = [INTRODUCTION, "## Worked queries", ""]
    lines.append("Each is one statement that runs unchanged on SQLite and PostgreSQL; `:name` is a parameter.")
    lines.append("")
    for n, q in enumerate(WORKED_QUERIES, start=1):
        lines += render_query(n, q)
    for kind, heading in (("view", "Views"), ("table", "Tables")):
        lines += [f"## {heading}", ""]
        for obj in docs:
            if obj.kind == kind:
                lines += render_object(obj)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m warehouse.dictionary", description="Write docs/warehouse.md.")
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/warehouse.md is not what would be written")
    parser.add_argument("--out", type=Path, default=DOC_PATH)
    args = parser.parse_args(argv)
    text = render(migrated_docs())
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: run python -m warehouse.dictionary", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
