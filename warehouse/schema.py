"""The cohort warehouse's tables (SQLAlchemy Core).  Alembic migrations create them.

Feed row tables are derived from the declarative feed descriptions so a column added to a
feed is one edit there plus a migration; ``tests/test_migrations.py`` proves the
migrations and these definitions agree.  Every query in the project is written against
these objects so it runs on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import sqlalchemy as sa

from pipelines.feeds import FEEDS, ColType, Feed

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# The ledger: every file version ever ingested, loaded or rejected.
ingest_file = sa.Table(
    "ingest_file",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("feed", sa.String(32), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("file_date", sa.Date),  # null when the name carries no valid date
    sa.Column("file_time", sa.String(6), nullable=False, server_default=""),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mtime", sa.Float, nullable=False),  # as the transport listed it
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("arrived_at", sa.DateTime),  # local wall clock of the file's modification time
    sa.Column("ingested_at", sa.DateTime, nullable=False),  # UTC
    sa.Column("first_report_date", sa.Date, nullable=False),  # the run that first saw it
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("is_current", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # LOADED or REJECTED
    sa.Column("reject_reason", sa.Text),
    sa.Column("rows_in", sa.Integer, nullable=False),
    sa.Column("rows_loaded", sa.Integer, nullable=False),
    sa.Column("rows_quarantined", sa.Integer, nullable=False),
    sa.Column("drift_columns", sa.Text),
    sa.Column("source", sa.String(255), nullable=False),
    sa.UniqueConstraint("feed", "name", "version", name="uq_ingest_file_version"),
    sa.Index("ix_ingest_file_feed_date", "feed", "file_date"),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("file_id", sa.ForeignKey("ingest_file.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("row_no", sa.Integer),  # null when the whole file is quarantined
    sa.Column("location", sa.String(255)),  # CSV line, sheet row or XML element path
    sa.Column("reason", sa.Text, nullable=False),
)

dq_finding = sa.Table(
    "dq_finding",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("file_id", sa.ForeignKey("ingest_file.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("row_no", sa.Integer, nullable=False),
    sa.Column("location", sa.String(255), nullable=False),
    sa.Column("column_name", sa.String(64), nullable=False),
    sa.Column("rule", sa.Text, nullable=False),
)

_SQL_TYPES = {
    ColType.TEXT: sa.Text,
    ColType.DATE: sa.Date,
    ColType.DATETIME: sa.DateTime,
    ColType.ENUM: lambda: sa.String(32),
    ColType.IDENTIFIER: lambda: sa.String(64),
    ColType.DIVISION: sa.Text,
}


def _row_table(feed: Feed, table_name: str) -> sa.Table:
    columns = [
        sa.Column("file_id", sa.ForeignKey("ingest_file.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("row_no", sa.Integer, primary_key=True),
        sa.Column("location", sa.String(255), nullable=False),
        *(sa.Column(c.name, _SQL_TYPES[c.type](), nullable=not c.required) for c in feed.columns),
    ]
    if feed.event_date_column:
        columns.append(sa.Column("local_date", sa.Date, nullable=False, index=True))
    indexes = [sa.Index(f"ix_{table_name}_key", *feed.key)] if feed.key else []
    return sa.Table(table_name, metadata, *columns, *indexes)


# Every row of every current file version, so any past report date can be rebuilt exactly.
ROW_TABLES: dict[str, sa.Table] = {f.name: _row_table(f, f.table) for f in FEEDS.values()}

# Linking: who each record is, judged against one register snapshot (the cohort file
# it was linked with), computed once and read by the reports and the traffic light alike.
record_link = sa.Table(
    "record_link",
    metadata,
    sa.Column("register_id", sa.ForeignKey("ingest_file.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("feed", sa.String(32), primary_key=True),
    sa.Column("file_id", sa.ForeignKey("ingest_file.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("row_no", sa.Integer, primary_key=True),
    sa.Column("subject", sa.String(255), nullable=False),  # whom the row is about: what a review decision names
    sa.Column("iom_id", sa.String(16)),  # null when not linked
    sa.Column("method", sa.String(32), nullable=False),  # identifier, details, accepted; or review, none
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("match_weight", sa.Float),  # the model's score for the linked member, where it has one
    sa.Column("linker_version", sa.String(16), nullable=False),  # model and thresholds it was computed with
    sa.Index("ix_record_link_subject", "feed", "subject"),
)

# The members a record on review might be, with the model's evidence (no personal data).
link_candidate = sa.Table(
    "link_candidate",
    metadata,
    sa.Column("register_id", sa.Integer, primary_key=True),
    sa.Column("feed", sa.String(32), primary_key=True),
    sa.Column("file_id", sa.Integer, primary_key=True),
    sa.Column("row_no", sa.Integer, primary_key=True),
    sa.Column("iom_id", sa.String(16), primary_key=True),
    sa.Column("match_weight", sa.Float),  # null for a member only an identifier points at
    sa.Column("evidence", sa.Text),  # JSON [[comparison, level, weight], ...]
    sa.Column("via", sa.String(16), nullable=False),  # details or identifier
    sa.ForeignKeyConstraint(
        ["register_id", "feed", "file_id", "row_no"],
        ["record_link.register_id", "record_link.feed", "record_link.file_id", "record_link.row_no"],
        ondelete="CASCADE",
    ),
)

# The hub's review decisions: append-only, the audit trail of who decided what and when.
link_decision = sa.Table(
    "link_decision",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("feed", sa.String(32), nullable=False),
    sa.Column("subject", sa.String(255), nullable=False),
    sa.Column("iom_id", sa.String(16), nullable=False),
    sa.Column("decision", sa.String(8), nullable=False),  # accept or reject
    sa.Column("decided_by", sa.String(128), nullable=False),
    sa.Column("decided_at", sa.DateTime, nullable=False),  # UTC
    sa.Column("source", sa.String(255), nullable=False),  # the command, or the CSV file loaded
    sa.Column("note", sa.Text),
    sa.Index("ix_link_decision_subject", "feed", "subject"),
)


def _traffic_light_columns(*, report_date_in_key: bool) -> list[sa.Column]:
    return [
        sa.Column("period", sa.String(7), primary_key=True),
        sa.Column("division", sa.String(16), primary_key=True),
        sa.Column("kpi", sa.String(64), primary_key=True),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("numerator", sa.Integer),
        sa.Column("denominator", sa.Integer),
        sa.Column("value", sa.Numeric(6, 1)),
        sa.Column("rag", sa.String(8), nullable=False),
        sa.Column("report_date", sa.Date, nullable=False, primary_key=report_date_in_key),  # the run that wrote the row
    ]


# CONTRACT section 8: each month's figures as the latest run for it computed them.
traffic_light = sa.Table("traffic_light", metadata, *_traffic_light_columns(report_date_in_key=False))
# Each month's figures as every run computed them: a restated month keeps its earlier
# values beside the report date that produced them (performance leads' history).
traffic_light_history = sa.Table("traffic_light_history", metadata, *_traffic_light_columns(report_date_in_key=True))

# For each event file, the local dates its rows, and the rows of other files sharing a key
# with them, fall between (pipelines/file_spans.py): the months a file can change.  Null
# dates for a file with no rows.
file_event_span = sa.Table(
    "file_event_span",
    metadata,
    sa.Column("file_id", sa.ForeignKey("ingest_file.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("feed", sa.String(32), nullable=False),
    sa.Column("first_date", sa.Date),
    sa.Column("last_date", sa.Date),
)

# The digest of what each period's traffic_light rows were computed from: a run recomputes
# a month only when its digest changes (pipelines/traffic_light.py month_inputs).
traffic_light_input = sa.Table(
    "traffic_light_input",
    metadata,
    sa.Column("period", sa.String(7), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("report_date", sa.Date, nullable=False),  # the run that computed the period
)

# Where each member is in the criminal justice system (pipelines/cjs_location.py): one row
# per spell, derived from the linked events as the warehouse held them on ``as_of``.
CJS_LOCATIONS = ("COMMUNITY", "POLICE_CUSTODY", "REMANDED_IN_CUSTODY", "IN_PRISON", "ON_LICENCE", "UNKNOWN")
cjs_location = sa.Table(
    "cjs_location",
    metadata,
    sa.Column("iom_id", sa.String(16), primary_key=True),
    sa.Column("started_at", sa.DateTime, primary_key=True),  # local wall clock
    sa.Column("ended_at", sa.DateTime),  # the next spell's start; null for the spell in force
    sa.Column("location", sa.String(24), nullable=False),
    sa.Column("cause", sa.String(32), nullable=False),  # the kind of event that put them there
    sa.Column("feed", sa.String(32)),  # the feed of the row that did, null for the register's default
    sa.Column("file_id", sa.Integer),
    sa.Column("row_no", sa.Integer),
    sa.Column("as_of", sa.Date, nullable=False),  # the report date whose data this was derived from
)

# --------------------------------------------------------------------------- privacy (issue 9)

# A stable pseudonym per member for the pseudonymised views (warehouse/pseudonymised.py): a
# keyed hash of iom_id computed by the pipeline, because SQLite has no HMAC.  Analysts
# never read this table, only the views that join it.
member_pseudonym = sa.Table(
    "member_pseudonym",
    metadata,
    sa.Column("iom_id", sa.String(16), primary_key=True),
    sa.Column("pseudonym", sa.String(32), nullable=False, unique=True),
)

# Rows whose personal columns retention has erased (pipelines/retention.py): so a rerun
# erases nothing more, and linking keeps their stored links instead of re-judging details
# that are gone.  No personal data: where the row is and under which rule.
erased_row = sa.Table(
    "erased_row",
    metadata,
    sa.Column("feed", sa.String(32), primary_key=True),
    sa.Column("file_id", sa.ForeignKey("ingest_file.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("row_no", sa.Integer, primary_key=True),
    sa.Column("rule", sa.String(32), nullable=False),
    sa.Column("erased_at", sa.DateTime, nullable=False),  # UTC
)

# One row per (rule, table) of every erasure applied: what, when, under which rule, by whom.
erasure_log = sa.Table(
    "erasure_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("erased_at", sa.DateTime, nullable=False),  # UTC
    sa.Column("erased_by", sa.String(128), nullable=False),
    sa.Column("rule", sa.String(32), nullable=False),
    sa.Column("table_name", sa.String(64), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("people", sa.Integer, nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),  # the date the retention periods were counted back from
)

# Append-only audit trail of the hub's own actions (review decisions, erasures): who, when,
# what; the detail never holds personal data (it names tables, rules, counts, decision ids).
audit_event = sa.Table(
    "audit_event",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime, nullable=False),  # UTC
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
)

# --------------------------------------------------------------------------- cjs_location state (issue 11)

# What the stored cjs_location spells were derived from (pipelines/cjs_location.py refresh):
# the report date and the newest ledger entry, review decision and erasure then, and the
# linker version; a run re-derives only from the earliest moment an input changed since.
cjs_location_state = sa.Table(
    "cjs_location_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # always 1: one derivation at a time
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("max_file_id", sa.Integer, nullable=False),
    sa.Column("max_decision_id", sa.Integer, nullable=False),
    sa.Column("max_erasure_id", sa.Integer, nullable=False),
    sa.Column("linker_version", sa.String(16), nullable=False),
)

# The member each linked subject's records counted for in that derivation, so a run finds
# the subjects whose member changed (a newer register, a review decision) by comparison.
cjs_location_subject = sa.Table(
    "cjs_location_subject",
    metadata,
    sa.Column("feed", sa.String(32), primary_key=True),
    sa.Column("subject", sa.String(255), primary_key=True),
    sa.Column("iom_id", sa.String(16), nullable=False),
)
