"""What the quality suites look at: the report window of D and its recent history, read
from the warehouse with SQLAlchemy core (the same queries on SQLite and PostgreSQL).

Only what a suite needs leaves the warehouse, and nothing personal: an identifier comes
out as present (1) or absent (null), never its value; a coded column (an outcome, a remand
status) as its code, blank as ``BLANK``; a record's link as linked (1) or not (0). No name,
date of birth or identifier reaches Great Expectations, so none can reach its results,
Dagster's metadata or a log, whatever result format is asked for.

- An event feed's window is the rows of its files dated D-1 and D that were due by D
  (``window_dates``). Its volume is compared with the windows of the same weekday in the weeks
  before (courts and some agencies do not deliver at weekends); its rates and mixes with
  the rows of the files dated in the days before the window.
- A snapshot feed's window is the newest snapshot dated on or before D; it is compared
  with the snapshots before it.
- Links are the stored ones (``record_link``, the current linker version); a check never
  links anything itself. A history date whose run never stored its links has no share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa

from pipelines.daily import RELEASE_HORIZON_DAYS
from pipelines.feeds import FEEDS, FeedKind
from pipelines.store import snapshot_files
from warehouse.schema import ROW_TABLES, ingest_file, record_link

BLANK = "(blank)"  # a coded column left blank, as one more code: a mix gone blank is a shift too


@dataclass(frozen=True)
class FeedFrames:
    """A feed's report window and what it is compared with."""

    window: pd.DataFrame  # the rows the suite validates
    window_label: str
    recent: pd.DataFrame  # the same columns over the recent history (rates, mixes)
    recent_label: str
    earlier_counts: tuple[int, ...]  # row counts of comparable earlier windows (volume)
    earlier_label: str


@dataclass(frozen=True)
class LinkFrames:
    window: pd.DataFrame  # one row per record of D's window: linked 1 or 0
    earlier: pd.DataFrame  # per earlier report date: records, linked
    earlier_label: str


def _frame(engine: sa.Engine, query: sa.Select) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _loaded(feed_name: str) -> sa.ColumnElement[bool]:
    f = ingest_file
    return sa.and_(f.c.feed == feed_name, f.c.is_current, f.c.status == "LOADED")


def _presence(column: sa.Column) -> sa.Label:
    """1 where the identifier is there, null where not: the value itself never leaves."""
    return sa.case((column.is_not(None), 1), else_=None).label(column.name)


def _rows(engine: sa.Engine, feed_name: str, present: list[str], coded: list[str], where: sa.ColumnElement[bool]) -> pd.DataFrame:
    t, f = ROW_TABLES[feed_name], ingest_file
    query = (
        sa.select(*[_presence(t.c[c]) for c in present], *[t.c[c] for c in coded])
        .join(f, f.c.id == t.c.file_id)
        .where(_loaded(feed_name), where)
    )
    rows = _frame(engine, query)
    for c in present:
        rows[c] = pd.to_numeric(rows[c], errors="coerce")
    for c in coded:
        rows[c] = rows[c].astype(object).where(rows[c].notna(), BLANK)
    return rows.reindex(columns=[*present, *coded])


def _daily_counts(engine: sa.Engine, feed_name: str, first: date, last: date) -> tuple[pd.Series, date | None]:
    """(rows loaded per file date in [first, last], the feed's first file date ever)."""
    f = ingest_file
    per_day = (
        sa.select(f.c.file_date, sa.func.sum(f.c.rows_loaded).label("rows"))
        .where(_loaded(feed_name), f.c.file_date.between(first, last))
        .group_by(f.c.file_date)
    )
    started = sa.select(sa.func.min(f.c.file_date)).where(f.c.feed == feed_name, f.c.is_current)
    counts = _frame(engine, per_day)
    with engine.connect() as conn:
        first_ever = conn.execute(started).scalar()
    return pd.Series(counts["rows"].astype(int).to_numpy(), index=list(counts["file_date"]), dtype=int), first_ever


def window_dates(report_date: date, days_after: int) -> tuple[date, date]:
    """The file dates of report D's window that were due by D: D-1 and D, less those due
    later (a file dated F is due on F + days_after, config/hub.yaml). Judging only what was
    due compares like with like: an earlier window's files have all arrived by now, but the
    file dated D of a feed due the day after is rarely there when D's report runs."""
    last = report_date - timedelta(days=days_after)
    return min(report_date - timedelta(days=1), last), last


def event_frames(
    engine: sa.Engine,
    feed_name: str,
    report_date: date,
    days_after: int,
    columns: tuple[list[str], list[str]],
    weeks: int,
    days: int,
) -> FeedFrames:
    """``columns``: (identifier columns, coded columns) the suite looks at."""
    f = ingest_file
    present, coded = columns
    first, last = window_dates(report_date, days_after)
    window = _rows(engine, feed_name, present, coded, f.c.file_date.between(first, last))
    recent_from, recent_to = first - timedelta(days=days), first - timedelta(days=1)
    recent = _rows(engine, feed_name, present, coded, f.c.file_date.between(recent_from, recent_to))
    counts, first_ever = _daily_counts(engine, feed_name, first - timedelta(days=7 * weeks), last)
    # The same weekday's windows, only from when the feed existed: a Monday with no court
    # file is normal when every Monday has none, and a feed's first weeks are no baseline.
    span = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    earlier = [[d - timedelta(days=7 * k) for d in span] for k in range(1, weeks + 1)]
    earlier = [dates for dates in earlier if first_ever is not None and first_ever <= dates[0]]
    earlier_counts = tuple(int(sum(counts.get(d, 0) for d in dates)) for dates in earlier)
    shown = f"{first}" if first == last else f"{first} and {last}"
    return FeedFrames(
        window=window,
        window_label=f"files dated {shown} (due by the report date)",
        recent=recent,
        recent_label=f"files dated {recent_from} to {recent_to}",
        earlier_counts=earlier_counts,
        earlier_label=f"windows of the same weekday in the {weeks} weeks before",
    )


def snapshot_frames(
    engine: sa.Engine, feed_name: str, report_date: date, columns: tuple[list[str], list[str]], snapshots: int
) -> FeedFrames:
    present, coded = columns
    files = snapshot_files(engine, feed_name, report_date)
    f = ingest_file
    if files.empty:
        empty = _rows(engine, feed_name, present, coded, sa.false())
        return FeedFrames(empty, "no snapshot on or before the report date", empty, "none", (), "earlier snapshots")
    newest, earlier = files.iloc[-1], files.iloc[:-1].tail(snapshots)
    window = _rows(engine, feed_name, present, coded, f.c.id == int(newest["id"]))
    if earlier.empty:
        recent, recent_label = _rows(engine, feed_name, present, coded, sa.false()), "no earlier snapshot"
    else:
        previous = earlier.iloc[-1]
        recent = _rows(engine, feed_name, present, coded, f.c.id == int(previous["id"]))
        recent_label = f"the previous snapshot, dated {previous['file_date']}"
    return FeedFrames(
        window=window,
        window_label=f"the snapshot dated {newest['file_date']}",
        recent=recent,
        recent_label=recent_label,
        earlier_counts=tuple(int(n) for n in earlier["rows_loaded"]),
        earlier_label=f"snapshot(s) before it (up to {snapshots})",
    )


def _in_force_by_date(files: pd.DataFrame, dates: pd.DatetimeIndex, name: str) -> pd.DataFrame:
    """For each report date, the id of the newest of ``files`` dated on or before it."""
    left = pd.DataFrame({"report_date": dates})
    if files.empty:
        return left.assign(**{name: pd.NA}).dropna()
    right = pd.DataFrame({"file_date": pd.to_datetime(files["file_date"]), name: files["id"].astype(int)})
    right = right.sort_values("file_date")
    joined = pd.merge_asof(left, right, left_on="report_date", right_on="file_date", direction="backward")
    return joined.dropna(subset=[name]).astype({name: int}).drop(columns="file_date")


def _stored_links(
    engine: sa.Engine, feed_name: str, version: str, where: sa.ColumnElement[bool], *columns: sa.Column
) -> pd.DataFrame:
    t, links, f = ROW_TABLES[feed_name], record_link, ingest_file
    linked = sa.case((links.c.iom_id.is_not(None), 1), else_=0).label("linked")
    query = (
        sa.select(links.c.register_id, links.c.file_id, linked, *columns)
        .join(t, sa.and_(t.c.file_id == links.c.file_id, t.c.row_no == links.c.row_no))
        .join(f, f.c.id == links.c.file_id)
        .where(links.c.feed == feed_name, links.c.linker_version == version, _loaded(feed_name), where)
    )
    return _frame(engine, query)


def link_frames(engine: sa.Engine, feed_name: str, report_date: date, version: str, days: int) -> LinkFrames:
    """The window's records of D and of each of the ``days`` report dates before it, each
    with its stored link to the register in force at that date."""
    dates = pd.date_range(report_date - timedelta(days=days), report_date, freq="D")
    wanted = _in_force_by_date(snapshot_files(engine, "cohort", report_date), dates, "register_id")
    records = _window_links(engine, feed_name, report_date, version, dates, wanted)
    today = records["report_date"] == pd.Timestamp(report_date)
    earlier = records[~today].groupby("report_date")["linked"].agg(records="size", linked="sum").reset_index()
    return LinkFrames(
        window=records.loc[today, ["linked"]].astype(float).reset_index(drop=True),
        earlier=earlier,
        earlier_label=f"the {days} report dates before",
    )


def _window_links(
    engine: sa.Engine, feed_name: str, report_date: date, version: str, dates: pd.DatetimeIndex, wanted: pd.DataFrame
) -> pd.DataFrame:
    """(report_date, linked) for every record of each date's report window with a stored link."""
    feed, t, f = FEEDS[feed_name], ROW_TABLES[feed_name], ingest_file
    registers = [int(r) for r in wanted["register_id"].unique()]
    if not registers:
        return pd.DataFrame({"report_date": pd.Series(dtype="datetime64[ns]"), "linked": pd.Series(dtype=int)})
    on_register = record_link.c.register_id.in_(registers)
    if feed.kind is FeedKind.EVENTS:
        # The window of report date d is the events of d-1 in files dated on or before d.
        span = t.c.local_date.between(dates[0].date() - timedelta(days=1), report_date - timedelta(days=1))
        links = _stored_links(engine, feed_name, version, sa.and_(on_register, span), t.c.local_date, f.c.file_date)
        links["report_date"] = pd.to_datetime(links["local_date"]) + pd.Timedelta(days=1)
        links = links.merge(wanted, on=["report_date", "register_id"])
        links = links[pd.to_datetime(links["file_date"]) <= links["report_date"]]
    else:
        # A schedule's window is its items dated in [d, d+30] from the schedule in force at d.
        schedules = _in_force_by_date(snapshot_files(engine, feed_name, report_date), dates, "file_id")
        wanted = wanted.merge(schedules, on="report_date")
        ids = [int(i) for i in wanted["file_id"].unique()]
        links = _stored_links(engine, feed_name, version, sa.and_(on_register, f.c.id.in_(ids)), t.c[feed.event_date_column])
        links = links.merge(wanted, on=["file_id", "register_id"])
        due = pd.to_datetime(links[feed.event_date_column])
        links = links[(due >= links["report_date"]) & (due <= links["report_date"] + pd.Timedelta(days=RELEASE_HORIZON_DAYS))]
    return links[["report_date", "linked"]].astype({"linked": int}).reset_index(drop=True)
