"""Reading the warehouse as of a report date: the queries every later stage shares.

"As of D" means only current versions of files dated on or before D, so a report for a
past date can be rebuilt exactly whatever has arrived since (CONTRACT section 1).  The
one exception is a feed read over ODBC with nothing dated on or before D: the earliest
read after D stands in (CONTRACT section 3).  ``in_force`` is that rule, in one place;
every "as of" query here, feeds.csv and the review page use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
import sqlalchemy as sa

from pipelines.feeds import FEEDS
from warehouse.schema import ROW_TABLES, ingest_file
from warehouse.winners import FILE_OF_DATE_FIRST, LATER_ROW_FIRST, order_by, sort_files

ODBC_SOURCE_PREFIX = "odbc:"  # ledger.source of a read of a view (pipelines/ingest.py ingest_view)


@dataclass(frozen=True)
class InForce:
    """Which of a feed's current ledger entries a report for ``as_of`` may use: those dated
    on or before it, and ``stand_in`` (an ODBC read dated after it) when there is one."""

    feed: str
    as_of: date
    stand_in: int | None = None  # ledger id
    stand_in_date: date | None = None

    def mask(self, files: pd.DataFrame) -> pd.Series:
        """Ledger rows (of this feed) in force: a boolean Series aligned with ``files``."""
        dated = files["file_date"].map(lambda d: d is not None and not pd.isna(d) and d <= self.as_of).astype(bool)
        return dated | (files["id"] == self.stand_in) if self.stand_in is not None else dated

    def clause(self, table: sa.Table | sa.sql.Alias = ingest_file) -> sa.ColumnElement[bool]:
        """The same, as a condition on the ledger table (or an alias of it)."""
        dated = table.c.file_date <= self.as_of
        return sa.or_(dated, table.c.id == self.stand_in) if self.stand_in is not None else dated


# Values per IN list when a query names many keys: well inside SQLite's and PostgreSQL's
# bound-parameter limits.
IN_LIST_SIZE = 500


def in_lists(values: list) -> list[list]:
    """``values`` in slices of ``IN_LIST_SIZE``, one IN list each (none for no values)."""
    return [values[i : i + IN_LIST_SIZE] for i in range(0, len(values), IN_LIST_SIZE)]


def in_force(engine: sa.Engine, feed_name: str, as_of: date, *, stand_in: bool = True) -> InForce:
    """The rule choosing the ledger entries in force for report date ``as_of``.

    Files dated on or before D, as always.  A feed with no delivery at all dated on or
    before D (the first report after an outage of its view, or the first ever) that has
    reads over ODBC dated after D uses the earliest of them instead (CONTRACT section 3,
    amended); feeds.csv shows it LATE.  Inbox files never stand in: a file dated after D
    is for a later report.  ``stand_in=False`` asks for the plain rule (the traffic light's
    "register at E", CONTRACT section 8).
    """
    if not stand_in:
        return InForce(feed_name, as_of)
    f = ingest_file
    current = sa.and_(f.c.feed == feed_name, f.c.is_current)
    with engine.connect() as conn:
        if conn.execute(sa.select(f.c.id).where(current, f.c.file_date <= as_of).limit(1)).first() is not None:
            return InForce(feed_name, as_of)
        later = conn.execute(
            sa.select(f.c.id, f.c.file_date)
            .where(current, f.c.file_date > as_of, f.c.source.startswith(ODBC_SOURCE_PREFIX, autoescape=True))
            .order_by(f.c.file_date, f.c.id)
            .limit(1)
        ).first()
    if later is None:
        return InForce(feed_name, as_of)
    return InForce(feed_name, as_of, int(later.id), later.file_date)


def _frame(engine: sa.Engine, query: sa.Select) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def ledger(engine: sa.Engine, feed: str | None = None) -> pd.DataFrame:
    q = sa.select(ingest_file).where(ingest_file.c.is_current)
    if feed is not None:
        q = q.where(ingest_file.c.feed == feed)
    return _frame(engine, q.order_by(ingest_file.c.feed, ingest_file.c.file_date, ingest_file.c.file_time, ingest_file.c.name))


def snapshot_files(engine: sa.Engine, feed_name: str, as_of: date, *, stand_in: bool = True) -> pd.DataFrame:
    """The snapshot file in force for each file date up to ``as_of`` (one per date), or
    the ODBC read standing in for them (``in_force``).

    Where one date has several files, ``winners.FILE_OF_DATE_FIRST`` chooses (the feed's
    preferred format, then the later file).
    """
    files = ledger(engine, feed_name)
    files = files[in_force(engine, feed_name, as_of, stand_in=stand_in).mask(files)]
    files = files[(files["status"] == "LOADED") & files["file_date"].notna()]
    files = sort_files(files, FILE_OF_DATE_FIRST, feed_name, first=(("file_date", True),))
    return files.drop_duplicates("file_date", keep="first").reset_index(drop=True)


def rows_of_files(engine: sa.Engine, feed_name: str, file_ids: list[int]) -> pd.DataFrame:
    table = ROW_TABLES[feed_name]
    if not file_ids:
        return pd.DataFrame(columns=[c.name for c in table.columns])
    return _frame(engine, rows_query(feed_name, file_ids))


def rows_query(feed_name: str, file_ids: list[int]) -> sa.Select:
    """Every row of the given files, in file order (a register snapshot is one file)."""
    table = ROW_TABLES[feed_name]
    return sa.select(table).where(table.c.file_id.in_(file_ids)).order_by(table.c.file_id, table.c.row_no)


def snapshot_in_force(
    engine: sa.Engine, feed_name: str, as_of: date, *, stand_in: bool = True
) -> tuple[date | None, str | None, pd.DataFrame]:
    """(file date, file name, rows) of the newest snapshot dated on or before ``as_of``
    (or of the ODBC read standing in for it: its date is then after ``as_of``)."""
    files = snapshot_files(engine, feed_name, as_of, stand_in=stand_in)
    if files.empty:
        return None, None, rows_of_files(engine, feed_name, [])
    newest = files.iloc[-1]
    return newest["file_date"], newest["name"], rows_of_files(engine, feed_name, [int(newest["id"])])


def register_in_force(engine: sa.Engine, as_of: date, *, stand_in: bool = True) -> tuple[date | None, pd.DataFrame]:
    snapshot_date, _, rows = snapshot_in_force(engine, "cohort", as_of, stand_in=stand_in)
    return snapshot_date, rows


def events_as_of(
    engine: sa.Engine,
    feed_name: str,
    as_of: date,
    local_date_from: date | None = None,
    local_date_to: date | None = None,
) -> pd.DataFrame:
    """The winning row per key among files dated on or before ``as_of`` (``in_force``),
    dated in the window when one is given: ``events_query``'s rows."""
    return _frame(engine, events_query(engine, feed_name, as_of, local_date_from, local_date_to))


def events_query(
    engine: sa.Engine,
    feed_name: str,
    as_of: date,
    local_date_from: date | None = None,
    local_date_to: date | None = None,
) -> sa.Select:
    """The query of ``events_as_of`` (benchmarks/plans.py explains it on both back ends).

    "Later" is ``winners.LATER_ROW_FIRST`` (CONTRACT section 1).  The date window is applied after choosing winners, so a
    correction that moves an event out of the window takes it out.  Only the keys with a
    row in the window are ranked (a key without one cannot have its winner there), so a
    window costs what is in it, not the whole history.
    """
    feed = FEEDS[feed_name]
    t = ROW_TABLES[feed_name]
    f = ingest_file
    rows: sa.FromClause = t
    window = [
        *([t.c.local_date >= local_date_from] if local_date_from is not None else []),
        *([t.c.local_date <= local_date_to] if local_date_to is not None else []),
    ]
    if window:
        keys = sa.select(*[t.c[k] for k in feed.key]).where(*window).distinct().subquery("keys_in_window")
        rows = t.join(keys, sa.and_(*(t.c[k] == keys.c[k] for k in feed.key)))  # key columns are required: never null
    rank = (
        sa.func.row_number()
        .over(
            partition_by=[t.c[k] for k in feed.key],
            order_by=order_by(LATER_ROW_FIRST, f, t),
        )
        .label("rank")
    )
    ranked = (
        sa.select(t, f.c.name.label("file_name"), rank)
        .select_from(rows)
        .join(f, f.c.id == t.c.file_id)
        .where(f.c.is_current, f.c.status == "LOADED", in_force(engine, feed_name, as_of).clause(f))
        .subquery()
    )
    q = sa.select(*[c for c in ranked.c if c.name != "rank"]).where(ranked.c.rank == 1)
    if local_date_from is not None:
        q = q.where(ranked.c.local_date >= local_date_from)
    if local_date_to is not None:
        q = q.where(ranked.c.local_date <= local_date_to)
    return q.order_by(ranked.c.local_date, *[ranked.c[k] for k in feed.key])


def earliest_file_date(engine: sa.Engine, as_of: date) -> date | None:
    q = sa.select(sa.func.min(ingest_file.c.file_date)).where(ingest_file.c.file_date <= as_of)
    with engine.connect() as conn:
        return conn.execute(q).scalar()
