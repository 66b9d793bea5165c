"""Every record of every linked feed linked, as the traffic light links its months.

The daily reports link yesterday's records (register at D) and the traffic light each
month's arrests, appointments and releases (register at the month's end E, E = D-1 for
the month in progress); a court result of last month, or a release file's listing,
was never linked, so the analysts' ``linked_*`` views and the members' CJS locations
would miss it.  This links every record of a month against that month's register at E,
the same register as the traffic light, so what the traffic light linked is read back,
not linked again, and a report date D only ever uses registers dated on or before D.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pandas as pd
import sqlalchemy as sa

from pipelines.feeds import FEEDS, LINKED_FEEDS, FeedKind
from pipelines.link_store import links_for
from pipelines.settings import LinkThresholds
from pipelines.store import earliest_file_date, events_as_of, register_in_force, rows_of_files, snapshot_files
from pipelines.traffic_light import periods


def _records(engine: sa.Engine, feed_name: str, as_of: date, start: date, end: date) -> pd.DataFrame:
    """An event feed's winning rows dated in the period; a schedule's rows of every file
    dated in it (each file's listing says who is in prison: pipelines/cjs_location.py)."""
    feed = FEEDS[feed_name]
    if feed.kind is FeedKind.EVENTS:
        return events_as_of(engine, feed_name, as_of, start, end)
    files = snapshot_files(engine, feed_name, as_of, stand_in=False)
    dated = pd.to_datetime(files["file_date"]).dt.date
    return rows_of_files(engine, feed_name, [int(i) for i in files["id"][(dated >= start) & (dated <= end)]])


def link_every_event(engine: sa.Engine, as_of: date, thresholds: LinkThresholds) -> Counter[str]:
    """Store a link for every linked feed's record as of D, month by month against the
    register at the month's end; returns records per feed and method."""
    counts: Counter[str] = Counter()
    first = earliest_file_date(engine, as_of)
    for period in periods(first, as_of) if first is not None else []:
        _, register = register_in_force(engine, period.end, stand_in=False)
        for feed_name in LINKED_FEEDS:
            records = _records(engine, feed_name, as_of, period.start, period.end)
            links = links_for(engine, feed_name, records, register, thresholds, as_of)
            counts.update(f"{feed_name}_{m}" for m in links["method"])
    return counts
