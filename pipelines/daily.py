"""The records a daily report for date D considers, and their links to members."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa

from pipelines.feeds import FEEDS, FeedKind
from pipelines.identities import derived_identities
from pipelines.linking import REVIEW, link_records
from pipelines.store import events_as_of, register_in_force, snapshot_in_force
from warehouse.schema import link_review, record_link

RELEASE_HORIZON_DAYS = 30
LINKED_FEEDS = ("arrests", "court_results", "attendance", "prison_releases")


def report_window_records(engine: sa.Engine, feed_name: str, report_date: date) -> pd.DataFrame:
    """Events of D-1 (as of D); for a snapshot of what is coming (releases), its items
    dated in [D, D+30] from the snapshot in force at D."""
    feed = FEEDS[feed_name]
    if feed.kind is FeedKind.SNAPSHOT:
        _, _, rows = snapshot_in_force(engine, feed_name, report_date)
        if rows.empty:
            return rows
        due = pd.to_datetime(rows[feed.event_date_column]).dt.date
        return rows[(due >= report_date) & (due <= report_date + timedelta(days=RELEASE_HORIZON_DAYS))]
    yesterday = report_date - timedelta(days=1)
    return events_as_of(engine, feed_name, report_date, yesterday, yesterday)


@dataclass(frozen=True)
class LinkCounts:
    records: int
    linked: int
    review: int


def link_for_report(engine: sa.Engine, feed_name: str, report_date: date) -> LinkCounts:
    """Link the window's records to the register in force at D and store the outcome.

    Replaces whatever an earlier run for D stored, in one transaction.
    """
    feed = FEEDS[feed_name]
    records = report_window_records(engine, feed_name, report_date).reset_index(drop=True)
    _, register = register_in_force(engine, report_date)
    if not records.empty:
        records, _ = derived_identities(feed, records, report_date)
    links = link_records(records, register)
    base = pd.DataFrame({"report_date": report_date, "feed": feed_name, "file_id": records.get("file_id"),
                         "row_no": records.get("row_no")}, index=records.index)  # fmt: skip
    link_rows = base.assign(iom_id=links["iom_id"], method=links["method"])
    review = links["method"] == REVIEW
    review_rows = base[review].assign(
        location=records.loc[review, "location"] if review.any() else None,
        reason=links.loc[review, "reason"],
        candidate_iom_ids=links.loc[review, "candidates"],
    )
    with engine.begin() as conn:
        for table in (record_link, link_review):
            conn.execute(table.delete().where(table.c.report_date == report_date, table.c.feed == feed_name))
        for table, frame in ((record_link, link_rows), (link_review, review_rows)):
            if not frame.empty:
                conn.execute(table.insert(), frame.astype(object).where(frame.notna(), None).to_dict("records"))
    return LinkCounts(len(records), int(links["iom_id"].notna().sum()), int(review.sum()))


def linked_report_records(engine: sa.Engine, feed_name: str, report_date: date) -> pd.DataFrame:
    """The window's records with the iom_id stored for D (linked ones only)."""
    records = report_window_records(engine, feed_name, report_date)
    q = sa.select(record_link.c.file_id, record_link.c.row_no, record_link.c.iom_id).where(
        record_link.c.report_date == report_date, record_link.c.feed == feed_name, record_link.c.iom_id.is_not(None)
    )
    with engine.connect() as conn:
        links = pd.DataFrame(conn.execute(q).fetchall(), columns=["file_id", "row_no", "iom_id"])
    if records.empty or links.empty:
        return records.iloc[0:0].assign(iom_id=None)
    records = records.drop(columns=[c for c in ("iom_id",) if c in records])
    return records.merge(links, on=["file_id", "row_no"], how="inner")
