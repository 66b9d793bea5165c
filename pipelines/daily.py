"""The records a daily report for date D considers, and their links to members."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa

from pipelines.feeds import FEEDS, LINKED_FEEDS, FeedKind
from pipelines.link_store import links_for
from pipelines.member_events import records_between, reportable_events
from pipelines.settings import LinkThresholds
from pipelines.store import register_in_force

RELEASE_HORIZON_DAYS = 30

__all__ = ["LINKED_FEEDS", "RELEASE_HORIZON_DAYS", "link_for_report", "reportable_records", "report_window_records"]


def report_window(feed_name: str, report_date: date) -> tuple[date, date]:
    """Yesterday for events; [D, D+30] for a schedule of what is coming (releases)."""
    if FEEDS[feed_name].kind is FeedKind.SNAPSHOT:
        return report_date, report_date + timedelta(days=RELEASE_HORIZON_DAYS)
    yesterday = report_date - timedelta(days=1)
    return yesterday, yesterday


def report_window_records(engine: sa.Engine, feed_name: str, report_date: date) -> pd.DataFrame:
    """Events of D-1 (as of D); for a snapshot of what is coming (releases), its items
    dated in [D, D+30] from the snapshot in force at D."""
    return records_between(engine, feed_name, report_date, *report_window(feed_name, report_date))


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
    return reportable_events(engine, feed_name, report_date, *report_window(feed_name, report_date), thresholds)
