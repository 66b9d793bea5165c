"""Which dates a file of an event feed can change: the span of its rows' local dates and of
every row sharing a key with them.

Among the rows of one key the later file's wins (CONTRACT section 1), so a file entering
or leaving what a run reads can change what happened on its own rows' dates and on the
dates of the other rows of its keys: a correction that moves an event from May to June
changes both months.  Each file's span covers both, in both directions: when a file
arrives, its span takes in the dates of the older rows of its keys, and theirs take in
its dates.  So "the files whose span meets a month" changes whenever that month's winners
can, and a stage that keeps a result per month (the traffic light) recomputes only the
months whose set of files changed.

Spans are computed once per file, for the files that have none yet, with two grouped
joins on the key index: the cost is that of the new files' rows, not of the history.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from pipelines.feeds import FEEDS
from warehouse.schema import ROW_TABLES, file_event_span, ingest_file


def refresh_spans(engine: sa.Engine, feed_name: str) -> int:
    """Give every current file of ``feed_name`` that has no span one, and widen the spans
    of the files sharing keys with them; returns how many files were new."""
    t = ROW_TABLES[feed_name]
    key = FEEDS[feed_name].key
    with engine.begin() as conn:
        new_ids = [
            int(i)
            for i in conn.execute(
                sa.select(ingest_file.c.id).where(
                    ingest_file.c.feed == feed_name,
                    ingest_file.c.is_current,
                    ~sa.exists().where(file_event_span.c.file_id == ingest_file.c.id),
                )
            ).scalars()
        ]
        if not new_ids:
            return 0
        new = t.alias("new_row")
        other = t.alias("other_row")
        same_key = sa.and_(*(new.c[k] == other.c[k] for k in key))
        # The new files' spans: the dates of their own rows and of every row of their keys.
        own = conn.execute(
            sa.select(new.c.file_id, sa.func.min(other.c.local_date), sa.func.max(other.c.local_date))
            .join(other, same_key)
            .where(new.c.file_id.in_(new_ids))
            .group_by(new.c.file_id)
        ).all()
        # The files sharing a key with them take in the new rows' dates.
        widened = conn.execute(
            sa.select(other.c.file_id, sa.func.min(new.c.local_date), sa.func.max(new.c.local_date))
            .join(other, same_key)
            .where(new.c.file_id.in_(new_ids), other.c.file_id.not_in(new_ids))
            .group_by(other.c.file_id)
        ).all()
        spans = pd.DataFrame(own, columns=["file_id", "first_date", "last_date"])
        empty = sorted(set(new_ids) - set(spans["file_id"]))  # no rows: a span meeting no month
        rows = [*_records(spans), *({"file_id": i, "first_date": None, "last_date": None} for i in empty)]
        conn.execute(file_event_span.insert(), [{**r, "feed": feed_name} for r in rows])
        if widened:
            s = file_event_span
            first, last = sa.bindparam("first", type_=sa.Date), sa.bindparam("last", type_=sa.Date)
            conn.execute(
                s.update()
                .where(s.c.file_id == sa.bindparam("id"))
                .values(
                    first_date=sa.case((sa.or_(s.c.first_date.is_(None), s.c.first_date > first), first), else_=s.c.first_date),
                    last_date=sa.case((sa.or_(s.c.last_date.is_(None), s.c.last_date < last), last), else_=s.c.last_date),
                ),
                [{"id": int(i), "first": _date(a), "last": _date(b)} for i, a, b in widened],
            )
    return len(new_ids)


def _records(frame: pd.DataFrame) -> list[dict]:
    return [
        {"file_id": int(r.file_id), "first_date": _date(r.first_date), "last_date": _date(r.last_date)}
        for r in frame.itertuples()
    ]


def _date(value: object):
    return pd.Timestamp(value).date() if value is not None and not pd.isna(value) else None


def files_meeting(engine: sa.Engine, feed_name: str, start, end, file_ids: list[int]) -> list[int]:
    """Of ``file_ids`` (the files a run reads), those whose span meets [start, end]."""
    s = file_event_span
    q = sa.select(s.c.file_id).where(
        s.c.feed == feed_name, s.c.first_date <= end, s.c.last_date >= start, s.c.file_id.in_(file_ids)
    )
    with engine.connect() as conn:
        return sorted(int(i) for i in conn.execute(q).scalars())
