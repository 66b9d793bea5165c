"""Rows in = rows loaded + rows quarantined, for every current file of a feed."""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

from warehouse.schema import ROW_TABLES, ingest_file, quarantine


def reconciliation_check(engine: sa.Engine, feed_name: str) -> dg.AssetCheckResult:
    rows = ROW_TABLES[feed_name]
    loaded = sa.select(sa.func.count()).where(rows.c.file_id == ingest_file.c.id).scalar_subquery()
    held = sa.select(sa.func.count()).where(quarantine.c.file_id == ingest_file.c.id).scalar_subquery()
    q = sa.select(
        ingest_file.c.id, ingest_file.c.status, ingest_file.c.rows_in, ingest_file.c.rows_loaded,
        ingest_file.c.rows_quarantined, loaded.label("in_table"), held.label("quarantine_entries"),
    ).where(ingest_file.c.feed == feed_name, ingest_file.c.is_current)  # fmt: skip
    with engine.connect() as conn:
        files = conn.execute(q).fetchall()
    problems = []
    for f in files:
        if f.rows_in != f.rows_loaded + f.rows_quarantined:
            problems.append(f"file id {f.id}: {f.rows_in} in != {f.rows_loaded} loaded + {f.rows_quarantined} quarantined")
        if f.in_table != f.rows_loaded:
            problems.append(f"file id {f.id}: ledger says {f.rows_loaded} loaded, warehouse holds {f.in_table}")
        expected_entries = 1 if f.status == "REJECTED" else f.rows_quarantined
        if f.quarantine_entries != expected_entries:
            problems.append(f"file id {f.id}: {f.quarantine_entries} quarantine entries, expected {expected_entries}")
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={
            "files_checked": len(files),
            "rows_in": sum(f.rows_in for f in files),
            "rows_loaded": sum(f.rows_loaded for f in files),
            "rows_quarantined": sum(f.rows_quarantined for f in files),
            "problems": "; ".join(problems[:20]) or "none",
        },
    )
