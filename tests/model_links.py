"""What the pipeline's model linked, read from the warehouse, for the oracle (tests/oracle.py)."""

from __future__ import annotations

import sqlalchemy as sa

from pipelines.feeds import LINKED_FEEDS
from warehouse.schema import ROW_TABLES


def model_links(engine: sa.Engine) -> dict[tuple[str, str, str], str]:
    """(register date, file, location) -> iom_id for every record the model (or a review
    decision) linked, against each register it was judged by."""
    out = {}
    with engine.connect() as conn:
        for feed in LINKED_FEEDS:
            table = ROW_TABLES[feed].name
            rows = conn.execute(sa.text(
                f"select reg.file_date, f.name, r.location, l.iom_id from record_link l "
                f"join ingest_file reg on reg.id = l.register_id join ingest_file f on f.id = l.file_id "
                f"join {table} r on r.file_id = l.file_id and r.row_no = l.row_no "
                f"where l.feed = :feed and l.method in ('details', 'accepted')"
            ), {"feed": feed})  # fmt: skip
            out.update({(str(reg_date)[:10], name, loc): iom for reg_date, name, loc, iom in rows})
    return out
