"""Retention of personal data (DPA 2018 Part 3): erasing what the hub no longer needs.

Two rules, their periods in ``config/hub.yaml`` (``retention:``):

- ``after_deselection``: members whose newest register entry has them DESELECTED, with
  ``deselected_on`` more than ``after_deselection_days`` before the as-of date: their
  register rows (every snapshot) and every row linked to them (and to no other member).
- ``non_cohort``: rows of linked feeds from files dated more than ``non_cohort_days``
  before the as-of date, about someone never linked to any member (no row with the same
  subject has a link with a member).

Erasing a row rewrites the columns the feed manifest flags ``Column.personal``: NULL
where the column may be empty; a required one gets ``ERASED`` (a date: 1900-01-01); a
personal column in the feed's key or subject (custody_ref, urn, noms_number) gets a keyed
marker ``ERASED-<hmac>`` of its value, so rows that were one event (a later row replacing
an earlier one) or one person stay so, and distinct arrests stay distinct in the traffic
light's counts.  The register's iom_id is kept: it is the hub's own member reference,
the stored links, the CJS spells and the pseudonyms hang on it, and the pseudonymised
views never show it.  Dates, outcomes, divisions and statuses stay, so the traffic
light's past months do not change.

Each erased row is recorded in ``erased_row`` (so a rerun erases nothing more, and
linking keeps its stored link rather than judging details that are gone; see
pipelines/link_store.py), and each (rule, table) applied in ``erasure_log`` and the audit
trail: counts only.  The stored links of erased rows stay; their ``record_link.subject``
(which carries the same identifiers) gets the keyed marker too.  Everything is set-based
SQL in one transaction: a failure leaves the warehouse as it was.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from pipelines import audit
from pipelines.feeds import FEEDS, LINKED_FEEDS, ColType, Column, Feed
from pipelines.settings import Retention
from warehouse.pseudonymised import ERASED_DATE, ERASED_TEXT
from warehouse.schema import (
    ROW_TABLES,
    cjs_location_state,
    cjs_location_subject,
    erased_row,
    erasure_log,
    ingest_file,
    record_link,
)
from warehouse.winners import NEWEST_FILE_FIRST, order_by

AFTER_DESELECTION = "after_deselection"
NON_COHORT = "non_cohort"
RULES = (NON_COHORT, AFTER_DESELECTION)
REGISTER = "cohort"
MARKER_PREFIX = "ERASED-"
MARKER_DIGITS = 16


@dataclass(frozen=True)
class Erasure:
    """What a rule erases (or would) in one table: counts only, never who."""

    rule: str
    feed: str
    table: str
    rows: int
    people: int


# --------------------------------------------------------------------------- which rows


def _not_erased(feed_name: str, t: sa.Table) -> sa.ColumnElement[bool]:
    return ~sa.exists().where(
        erased_row.c.feed == feed_name, erased_row.c.file_id == t.c.file_id, erased_row.c.row_no == t.c.row_no
    )


def expired_members(retention: Retention, as_of: date) -> sa.Select:
    """iom_ids whose newest register entry is DESELECTED longer ago than the period."""
    m, f = ROW_TABLES[REGISTER], ingest_file
    newest_first = order_by(NEWEST_FILE_FIRST, f)
    ranked = (
        sa.select(m.c.iom_id, m.c.status, m.c.deselected_on,
                  sa.func.row_number().over(partition_by=m.c.iom_id, order_by=newest_first).label("rn"))
        .join(f, f.c.id == m.c.file_id)
        .where(f.c.feed == REGISTER, f.c.is_current, f.c.status == "LOADED", f.c.file_date.is_not(None))
        .subquery()
    )  # fmt: skip
    cutoff = as_of - timedelta(days=retention.after_deselection_days)
    return sa.select(ranked.c.iom_id).where(ranked.c.rn == 1, ranked.c.status == "DESELECTED", ranked.c.deselected_on < cutoff)


def _links_of(feed_name: str, t: sa.Table | sa.Alias, link: sa.Table | sa.Alias = record_link) -> sa.ColumnElement[bool]:
    return sa.and_(link.c.feed == feed_name, link.c.file_id == t.c.file_id, link.c.row_no == t.c.row_no)


def _subject_linked(feed: Feed, t: sa.Table, which: sa.ColumnElement[bool] | None, link: sa.Alias) -> sa.Exists:
    """Some row about the same subject as t's row (itself included) has a link with a member
    matching ``which``: a superseded row, never linked itself, is its subject's all the same."""
    other = t.alias(f"same_subject_{link.name}")
    same_subject = sa.and_(*(other.c[k] == t.c[k] for k in feed.subject_key))
    member = link.c.iom_id.is_not(None) if which is None else which
    return sa.exists(sa.select(1).select_from(other.join(link, _links_of(feed.name, other, link))).where(same_subject, member))


def _deselected_rows(feed: Feed, t: sa.Table, expired: sa.Select) -> sa.ColumnElement[bool]:
    if feed.name == REGISTER:
        return t.c.iom_id.in_(expired)
    # Aliases: the people count joins record_link itself, which must not correlate in here.
    mine, theirs = record_link.alias("expired_link"), record_link.alias("other_link")
    to_expired = _subject_linked(feed, t, mine.c.iom_id.in_(expired), mine)
    # A subject also linked (by another register) to someone still kept is theirs too: kept.
    to_others = _subject_linked(feed, t, sa.and_(theirs.c.iom_id.is_not(None), theirs.c.iom_id.not_in(expired)), theirs)
    return sa.and_(to_expired, ~to_others)


def _non_cohort_rows(feed: Feed, t: sa.Table, retention: Retention, as_of: date) -> sa.ColumnElement[bool]:
    cutoff = as_of - timedelta(days=retention.non_cohort_days)
    old = t.c.file_id.in_(sa.select(ingest_file.c.id).where(ingest_file.c.file_date < cutoff))
    # Never linked: no row about the same subject (this one included) has a link with a member.
    return sa.and_(old, ~_subject_linked(feed, t, None, record_link.alias("subject_link")))


def _targets(retention: Retention, as_of: date) -> Iterator[tuple[str, Feed, sa.Table, sa.ColumnElement[bool]]]:
    """(rule, feed, table, condition on the table's rows) for every rule and table, in order."""
    # non_cohort first: it compares subjects' values, which after_deselection rewrites in
    # the rows it erases; after_deselection reads only the links.  So the dry run, which
    # counts both on the data as it is, counts what apply erases.
    for name in LINKED_FEEDS:
        t = ROW_TABLES[name]
        yield NON_COHORT, FEEDS[name], t, sa.and_(_non_cohort_rows(FEEDS[name], t, retention, as_of), _not_erased(name, t))
    expired = expired_members(retention, as_of)
    for name in (REGISTER, *LINKED_FEEDS):
        t = ROW_TABLES[name]
        yield AFTER_DESELECTION, FEEDS[name], t, sa.and_(_deselected_rows(FEEDS[name], t, expired), _not_erased(name, t))


# --------------------------------------------------------------------------- counting


def _people(conn: sa.Connection, rule: str, feed: Feed, t: sa.Table, where: sa.ColumnElement[bool], expired: sa.Select) -> int:
    if feed.name == REGISTER:
        return conn.execute(sa.select(sa.func.count(sa.distinct(t.c.iom_id))).where(where)).scalar_one()
    if rule == AFTER_DESELECTION:  # the members the rows are linked to
        q = sa.select(sa.func.count(sa.distinct(record_link.c.iom_id))).select_from(t.join(record_link, _links_of(feed.name, t)))
        return conn.execute(q.where(where, record_link.c.iom_id.in_(expired))).scalar_one()
    # Not in the cohort: a person is a subject (whom a row is about, pipelines/feeds.py).
    subjects = sa.select(*(t.c[k] for k in feed.subject_key)).where(where).distinct().subquery()
    return conn.execute(sa.select(sa.func.count()).select_from(subjects)).scalar_one()


def _count(conn: sa.Connection, rule: str, feed: Feed, t: sa.Table, where: sa.ColumnElement[bool], expired: sa.Select) -> Erasure:
    rows = conn.execute(sa.select(sa.func.count()).select_from(t).where(where)).scalar_one()
    people = _people(conn, rule, feed, t, where, expired) if rows else 0
    return Erasure(rule, feed.name, t.name, rows, people)


def plan(engine: sa.Engine, retention: Retention, as_of: date) -> list[Erasure]:
    """What ``apply`` would erase as of this date: the dry run (nothing is written)."""
    expired = expired_members(retention, as_of)
    with engine.connect() as conn:
        return [_count(conn, rule, feed, t, where, expired) for rule, feed, t, where in _targets(retention, as_of)]


# --------------------------------------------------------------------------- erasing


def marker(key: bytes, column: str, value: str) -> str:
    """The keyed stand-in for an erased identifier: equal values stay equal, nothing more."""
    digest = hmac.new(key, f"{column}\0{value}".encode(), hashlib.sha256).hexdigest()
    return MARKER_PREFIX + digest[:MARKER_DIGITS]


def _kept(feed: Feed) -> set[str]:
    """The register's key, iom_id: personal, but kept (see the module's docstring)."""
    return set(feed.key) if feed.name == REGISTER else set()


def _keyed(feed: Feed) -> set[str]:
    """Personal columns whose equality the warehouse relies on: the key and the subject."""
    return {c for c in (*feed.key, *feed.subject_key) if c not in _kept(feed) and _column(feed, c).personal is not None}


def _column(feed: Feed, name: str) -> Column:
    return next(c for c in feed.columns if c.name == name)


def _fixed_value(column: Column) -> object:
    if not column.required:
        return None
    return date.fromisoformat(ERASED_DATE) if column.type is ColType.DATE else ERASED_TEXT


_MAP_META = sa.MetaData()
# Old value -> marker, for one column at a time: a temporary table so the update is one
# statement however many values there are.
_MARKERS = sa.Table(
    "retention_marker", _MAP_META, sa.Column("old_value", sa.Text, primary_key=True), sa.Column("new_value", sa.Text),
    prefixes=["TEMPORARY"],
)  # fmt: skip


def _remap(conn: sa.Connection, key: bytes, column: sa.Column, name: str, marked: sa.ColumnElement[bool]) -> None:
    """Replace ``column``'s values on the marked rows by their keyed markers (named ``name``)."""
    values = conn.execute(sa.select(column).where(marked, column.is_not(None)).distinct()).scalars().all()
    if not values:
        return
    _MARKERS.create(conn)
    try:
        conn.execute(_MARKERS.insert(), [{"old_value": str(v), "new_value": marker(key, name, str(v))} for v in values])
        new = sa.select(_MARKERS.c.new_value).where(_MARKERS.c.old_value == column).scalar_subquery()
        conn.execute(column.table.update().where(marked, column.is_not(None)).values({column.name: new}))
    finally:
        _MARKERS.drop(conn)


def _just_marked(feed_name: str, t: sa.Table | sa.Alias, rule: str, at: datetime) -> sa.ColumnElement[bool]:
    return sa.exists().where(
        erased_row.c.feed == feed_name, erased_row.c.file_id == t.c.file_id, erased_row.c.row_no == t.c.row_no,
        erased_row.c.rule == rule, erased_row.c.erased_at == at,
    )  # fmt: skip


def _erase(
    conn: sa.Connection, key: bytes, rule: str, feed: Feed, t: sa.Table, where: sa.ColumnElement[bool], at: datetime
) -> None:
    """Mark the rows, then rewrite their personal columns and their links' subjects."""
    picked = sa.select(sa.literal(feed.name), t.c.file_id, t.c.row_no, sa.literal(rule), sa.literal(at, sa.DateTime)).where(where)
    conn.execute(erased_row.insert().from_select(["feed", "file_id", "row_no", "rule", "erased_at"], picked))
    marked = _just_marked(feed.name, t, rule, at)
    keyed = _keyed(feed)
    for name in sorted(keyed):
        _remap(conn, key, t.c[name], name, marked)
    skip = keyed | _kept(feed)
    fixed = {c.name: _fixed_value(c) for c in feed.columns if c.personal is not None and c.name not in skip}
    conn.execute(t.update().where(marked).values(fixed))
    if feed.linked and keyed:  # the subject is made of the key's values: the same marker
        _remap(conn, key, record_link.c.subject, "subject", _just_marked(feed.name, record_link, rule, at))


def apply(engine: sa.Engine, retention: Retention, as_of: date, erased_by: str, key: bytes) -> list[Erasure]:
    """Erase what ``plan`` lists, log it (erasure_log, audit_event); one transaction."""
    if not erased_by.strip():
        raise ValueError("who erases is blank: pass --by NAME")
    at = audit.utc_now()
    expired = expired_members(retention, as_of)
    done = []
    with engine.begin() as conn:
        for rule, feed, t, where in _targets(retention, as_of):
            counted = _count(conn, rule, feed, t, where, expired)
            done.append(counted)
            if not counted.rows:
                continue
            _erase(conn, key, rule, feed, t, where, at)
            conn.execute(erasure_log.insert().values(
                erased_at=at, erased_by=erased_by.strip(), rule=rule, table_name=t.name,
                rows=counted.rows, people=counted.people, as_of=as_of,
            ))  # fmt: skip
            detail = f"rule {rule} as of {as_of}: {t.name} {counted.rows} rows, {counted.people} people"
            audit.record(conn, erased_by.strip(), audit.ERASURE, detail, at=at)
        if any(c.rows for c in done):
            # The CJS derivation's bookkeeping keeps subjects as they were: drop it with the
            # rows, so nothing erased outlives the transaction (the next run derives in full).
            conn.execute(cjs_location_subject.delete())
            conn.execute(cjs_location_state.delete())
    return done
