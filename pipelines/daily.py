"""The records a daily report for date D considers, and their links to members."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa

from pipelines.feeds import FEEDS, LINKED_FEEDS, FeedKind
from pipelines.link_store import linked_members, links_for
from pipelines.settings import LinkThresholds
from pipelines.store import events_as_of, register_in_force, snapshot_in_force

RELEASE_HORIZON_DAYS = 30

__all__ = ["LINKED_FEEDS", "RELEASE_HORIZON_DAYS", "link_for_report", "reportable_records", "report_window_records"]


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


def link_for_report(engine: sa.Engine, feed_name: str, report_date: date, thresholds: LinkThresholds) -> Counter[str]:
    """Link the window's records to the register in force at D (stored once; reused on
    re-runs) and count them by method."""
    records = report_window_records(engine, feed_name, report_date)
    _, register = register_in_force(engine, report_date)
    links = links_for(engine, feed_name, records, register, thresholds, report_date)
    counts = Counter({"records": len(records)})
    counts.update(links["method"].tolist())
    return counts


def reportable_records(engine: sa.Engine, feed_name: str, report_date: date, thresholds: LinkThresholds) -> pd.DataFrame:
    """The window's records that may appear in the report for D, with their members."""
    records = report_window_records(engine, feed_name, report_date)
    _, register = register_in_force(engine, report_date)
    return linked_members(engine, feed_name, records, register, thresholds, report_date)
