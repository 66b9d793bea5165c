"""What happened to the cohort between two dates, as the data stood on date D.

Every product that looks at members over a stretch of time (the daily report's
yesterday, the case-conference pack's "since the last review", the priority list's last
30 days, the exit criteria's last months) asks the same question: the records of a feed
dated in [start, end], from files dated on or before D, linked to members of the register
in force at D, only where the member's active interval holds the record's date (CONTRACT
section 4).  This is the one place that answers it.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import sqlalchemy as sa

from pipelines.feeds import FEEDS, FeedKind
from pipelines.link_store import linked_members
from pipelines.settings import LinkThresholds
from pipelines.store import events_as_of, register_in_force, rows_of_files, snapshot_files, snapshot_in_force


def records_between(engine: sa.Engine, feed_name: str, as_of: date, start: date, end: date) -> pd.DataFrame:
    """An event feed's winning rows with local date in [start, end]; for a schedule (releases),
    the items dated in [start, end] of the snapshot in force at ``as_of``."""
    feed = FEEDS[feed_name]
    if feed.kind is FeedKind.EVENTS:
        return events_as_of(engine, feed_name, as_of, start, end)
    _, _, rows = snapshot_in_force(engine, feed_name, as_of)
    if rows.empty:
        return rows
    day = pd.to_datetime(rows[feed.event_date_column]).dt.date
    return rows[(day >= start) & (day <= end)]


def reportable_events(
    engine: sa.Engine,
    feed_name: str,
    as_of: date,
    start: date,
    end: date,
    thresholds: LinkThresholds,
    register: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The records of ``records_between`` that may be shown about a cohort member on D,
    with the member's iom_id, names and managing_division from the register in force at D
    (pass ``register`` when the caller already holds it).  Links are stored once and reused."""
    if register is None:
        _, register = register_in_force(engine, as_of)
    rows = records_between(engine, feed_name, as_of, start, end)
    return linked_members(engine, feed_name, rows, register, thresholds, as_of)


def releases_as_listed(engine: sa.Engine, start: date, end: date, as_of: date) -> pd.DataFrame:
    """Releases dated in [start, end], each from the newest file dated on or before its date
    (and on or before ``as_of``): what happened, as against what a schedule says is coming.

    A later file that no longer lists a release (moved or cancelled) is what speaks for
    that date: the older file's row does not come back.
    """
    files = snapshot_files(engine, "prison_releases", min(end, as_of))
    if files.empty:
        return pd.DataFrame()
    days = pd.DataFrame({"release_date": pd.date_range(start, end, freq="D")})
    in_force = pd.merge_asof(
        days,
        files[["id", "file_date"]].assign(file_date=pd.to_datetime(files["file_date"])).sort_values("file_date"),
        left_on="release_date",
        right_on="file_date",
        direction="backward",
    ).dropna(subset=["id"])
    if in_force.empty:
        return pd.DataFrame()
    rows = rows_of_files(engine, "prison_releases", sorted({int(i) for i in in_force["id"]}))
    rows = rows.assign(_day=pd.to_datetime(rows["release_date"]))
    wanted = in_force.assign(id=in_force["id"].astype(int))[["id", "release_date"]]
    kept = rows.merge(wanted, left_on=["file_id", "_day"], right_on=["id", "release_date"], suffixes=("", "_w"))
    return kept.drop(columns=["_day", "id", "release_date_w"])
