"""The warehouse rows of the report window conform to the feed's typed schema.

Validation already quarantined bad input; this re-checks what actually landed, typed,
so a defect in loading (or a hand edit of the warehouse) stops the line before reports.
"""

from __future__ import annotations

import warnings
from datetime import date, timedelta
from functools import cache

import dagster as dg
import pandas as pd
import pandera.pandas as pa
import sqlalchemy as sa

from pipelines.feeds import ColType, Feed
from pipelines.identifiers import CANONICAL
from warehouse.schema import ROW_TABLES, ingest_file


@cache
def typed_schema(feed: Feed) -> pa.DataFrameSchema:
    columns = {}
    for col in feed.columns:
        checks = []
        if col.type is ColType.ENUM:
            checks.append(pa.Check.isin(list(col.values)))
        if col.type is ColType.IDENTIFIER and col.id_kind in CANONICAL:
            checks.append(pa.Check.str_matches(CANONICAL[col.id_kind]))
        if col.type is ColType.DATETIME:
            checks.append(pa.Check(lambda s: pd.to_datetime(s, errors="coerce").notna(), name="is a timestamp"))
        columns[col.name] = pa.Column(object, nullable=not col.required, checks=checks)
    return pa.DataFrameSchema(columns)


def schema_check(engine: sa.Engine, feed: Feed, report_dates: list[date]) -> dg.AssetCheckResult:
    """The rows of the report windows (D-1 and D) of the run's report dates."""
    table = ROW_TABLES[feed.name]
    window = sorted({d - timedelta(days=k) for d in report_dates for k in (0, 1)})
    q = (
        sa.select(table)
        .join(ingest_file, ingest_file.c.id == table.c.file_id)
        .where(ingest_file.c.is_current, ingest_file.c.file_date.in_(window))
    )
    with engine.connect() as conn:
        result = conn.execute(q)
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    failures = 0
    summary = "none"
    if not frame.empty:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                typed_schema(feed).validate(frame.astype(object).where(frame.notna(), None), lazy=True)
            except pa.errors.SchemaErrors as exc:
                cases = exc.failure_cases
                failures = len(cases)
                # Column and rule only: the failing values may be personal data.
                summary = "; ".join(sorted({f"{c}: {k}" for c, k in zip(cases["column"], cases["check"], strict=True)}))[:2000]
    return dg.AssetCheckResult(
        passed=failures == 0,
        metadata={"rows_checked": len(frame), "failures": failures, "failed_rules": summary},
    )
