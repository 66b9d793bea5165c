"""The query plans of the warehouse's "as of" reads, on the back end at hand.

The daily run's cost follows the day only if these reads use their indexes: a date
window's keys by ``local_date``, the winners among those keys by the feed's key index,
a snapshot's rows by ``file_id``.  ``python -m benchmarks.volume`` records the plans
after its "day on history" run, on each back end; run this module on any warehouse:

    python -m benchmarks.plans --url sqlite:///data/warehouse.sqlite --date 2026-11-23
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta

import sqlalchemy as sa

from pipelines.store import events_query, rows_query, snapshot_files

WINDOW_DAYS = 30  # the priority list's window: the longest a daily report reads


def queries(engine: sa.Engine, report_date: date) -> dict[str, sa.Select]:
    """The reads a day's run makes on history, by what they are for."""
    start = report_date - timedelta(days=WINDOW_DAYS)
    out: dict[str, sa.Select] = {
        f"{feed} winners in a {WINDOW_DAYS}-day window": events_query(engine, feed, report_date, start, report_date)
        for feed in ("arrests", "court_results", "attendance")
    }
    register = snapshot_files(engine, "cohort", report_date, stand_in=False)
    if not register.empty:
        out["the register as at D (one snapshot)"] = rows_query("cohort", [int(register.iloc[-1]["id"])])
    return out


def explain(engine: sa.Engine, report_date: date) -> dict[str, list[str]]:
    """Each query's plan as the back end prints it, one line per step."""
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    plans = {}
    with engine.connect() as conn:
        for name, query in queries(engine, report_date).items():
            sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
            rows = conn.execute(sa.text(prefix + sql)).all()
            # SQLite: (id, parent, notused, detail); PostgreSQL: one text column.
            plans[name] = [str(r[-1]) for r in rows]
    return plans


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plans", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the warehouse, as a SQLAlchemy URL")
    parser.add_argument("--date", required=True, type=date.fromisoformat, help="the report date, YYYY-MM-DD")
    args = parser.parse_args(argv)
    engine = sa.create_engine(args.url)
    try:
        for name, lines in explain(engine, args.date).items():
            print(f"{name}:")
            print("\n".join(f"    {line}" for line in lines))
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
