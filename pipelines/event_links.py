"""Every record of every linked feed linked, as the traffic light links its months.

The daily reports link yesterday's records (register at D) and the traffic light each
month's arrests, appointments and releases (register at the month's end E, E = D-1 for
the month in progress); a court result of last month, or a release file's listing,
was never linked, so the analysts' ``linked_*`` views and the members' CJS locations
would miss it.  This links every record of a month against that month's register at E,
the same register as the traffic light, so what the traffic light linked is read back,
not linked again, and a report date D only ever uses registers dated on or before D.

A day's run costs what is new, not the history: for each month and feed one anti-join
on ``record_link`` (``link_store.has_no_link``) finds the rows of files in force that
have no link against the month's register yet; a month with none is not read at all,
and otherwise only the days those rows are dated on are ranked for their winners.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pandas as pd
import sqlalchemy as sa

from pipelines.feeds import FEEDS, LINKED_FEEDS, FeedKind
from pipelines.link_store import has_no_link, linker_version, links_for
from pipelines.settings import LinkThresholds
from pipelines.store import earliest_file_date, events_query, in_force, rows_of_files, snapshot_files
from pipelines.traffic_light import Period, periods
from warehouse.schema import ROW_TABLES, ingest_file

UNLINKED_COLUMNS = ["file_id", "row_no", "local_date"]


def _schedule_files(engine: sa.Engine, feed_name: str, as_of: date, period: Period) -> list[int]:
    """A schedule's files dated in the period (each file's listing says who is in prison:
    pipelines/cjs_location.py)."""
    files = snapshot_files(engine, feed_name, as_of, stand_in=False)
    dated = pd.to_datetime(files["file_date"]).dt.date
    return [int(i) for i in files["id"][(dated >= period.start) & (dated <= period.end)]]


def _unlinked(engine: sa.Engine, feed_name: str, as_of: date, period: Period, register_id: int, version: str) -> pd.DataFrame:
    """(file_id, row_no, local_date) of the rows the period's records are drawn from that
    have no usable link against ``register_id``: every row dated in the period of a file in
    force (an event feed), or every row of the period's schedule files.  A superset of the records
    ``links_for`` would compute, since each record is one of these rows."""
    t = ROW_TABLES[feed_name]
    q = sa.select(t.c.file_id, t.c.row_no, t.c.local_date).where(has_no_link(register_id, feed_name, t, version))
    if FEEDS[feed_name].kind is FeedKind.EVENTS:
        f = ingest_file
        q = q.join(f, f.c.id == t.c.file_id).where(
            f.c.is_current,
            f.c.status == "LOADED",
            in_force(engine, feed_name, as_of).clause(f),
            t.c.local_date >= period.start,
            t.c.local_date <= period.end,
        )
    else:
        file_ids = _schedule_files(engine, feed_name, as_of, period)
        if not file_ids:
            return pd.DataFrame(columns=UNLINKED_COLUMNS)
        q = q.where(t.c.file_id.in_(file_ids))
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).fetchall(), columns=UNLINKED_COLUMNS)


def _day_runs(days: pd.Series) -> list[tuple[date, date]]:
    """The distinct days as runs of consecutive days: [(first, last), ...] in order."""
    unique = pd.Series(sorted(set(pd.to_datetime(days)))) if not days.empty else pd.Series(dtype="datetime64[ns]")
    run = (unique.diff() != pd.Timedelta(days=1)).cumsum()
    bounds = unique.groupby(run).agg(["min", "max"])
    return [(a.date(), b.date()) for a, b in zip(bounds["min"], bounds["max"], strict=True)]


def _records(
    engine: sa.Engine, feed_name: str, as_of: date, period: Period, unlinked: pd.DataFrame, register_id: int, version: str
) -> pd.DataFrame:
    """The period's records that have no usable link against ``register_id``, in the order
    of the whole period's records: an event feed's winning rows dated in it (winners
    chosen over every file in force, as ``events_as_of`` does; only the days ``unlinked``
    rows are dated on are asked for, which holds every such winner), a schedule's rows of
    the period's files among ``unlinked``."""
    if FEEDS[feed_name].kind is not FeedKind.EVENTS:
        rows = rows_of_files(engine, feed_name, sorted({int(i) for i in unlinked["file_id"]}))
        return rows.merge(unlinked[["file_id", "row_no"]].astype("int64").drop_duplicates(), on=["file_id", "row_no"])
    keys = FEEDS[feed_name].key
    frames = []
    with engine.connect() as conn:
        for start, end in _day_runs(unlinked["local_date"]):
            # The anti-join on the winners, in SQL: a row that lost to a later one (an arrest's
            # pending row, a corrected record) is never linked, and is not read either.
            winners = events_query(engine, feed_name, as_of, start, end).subquery("winners")
            q = sa.select(winners).where(has_no_link(register_id, feed_name, winners, version))
            result = conn.execute(q.order_by(winners.c.local_date, *[winners.c[k] for k in keys]))
            frames.append(pd.DataFrame(result.fetchall(), columns=list(result.keys())))
    found = [f for f in frames if not f.empty]  # an empty frame would loosen the others' dtypes
    return pd.concat(found, ignore_index=True) if len(found) > 1 else (found or frames)[0]


def _register_file(engine: sa.Engine, end: date) -> int | None:
    """The register snapshot at E (dated on or before it: no stand-in), as
    ``register_in_force(engine, end, stand_in=False)`` chooses it."""
    files = snapshot_files(engine, "cohort", end, stand_in=False)
    return None if files.empty else int(files.iloc[-1]["id"])


def link_every_event(engine: sa.Engine, as_of: date, thresholds: LinkThresholds) -> Counter[str]:
    """Store a link for every linked feed's record as of D, month by month against the
    register at the month's end; returns the records linked now, per feed and method
    (none when every record already had its link)."""
    counts: Counter[str] = Counter()
    first = earliest_file_date(engine, as_of)
    version = linker_version(thresholds)
    for period in periods(first, as_of) if first is not None else []:
        register_id = _register_file(engine, period.end)
        if register_id is None:
            continue  # no register at E: nobody to link to (links_for stores nothing)
        register: pd.DataFrame | None = None
        for feed_name in LINKED_FEEDS:
            unlinked = _unlinked(engine, feed_name, as_of, period, register_id, version)
            if unlinked.empty:
                continue
            records = _records(engine, feed_name, as_of, period, unlinked, register_id, version)
            if records.empty:
                continue  # only rows that are not (or no longer) a winner: nothing to link
            if register is None:
                register = rows_of_files(engine, "cohort", [register_id])
            links = links_for(engine, feed_name, records, register, thresholds, as_of)
            counts.update(f"{feed_name}_{m}" for m in links["method"])
    return counts
