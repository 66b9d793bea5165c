"""The register as history: `member_history` (SCD type 2) and `member`, as SQL views.

The register is delivered as full snapshots (CONTRACT 3.1), every one kept in
`cohort_member`.  Analysts ask "who was on the register on 1 March, and in which
division": `member_history` answers it in one query.  Each row is one member's attributes
over an interval of snapshots in which they were present with those attributes unchanged:
`valid_from` (the first such snapshot's date, inclusive) to `valid_to` (the date of the
next snapshot, where they changed or were absent; exclusive; NULL while current).

    SELECT * FROM member_history
    WHERE valid_from <= '2026-03-01' AND (valid_to IS NULL OR valid_to > '2026-03-01')

is the register in force on 1 March (the newest snapshot dated on or before it).  `member`
is the register now.  Plain SQL (window functions, no date arithmetic) that SQLite and
PostgreSQL both run; warehouse/views.py lists them with the other analyst views, the
migrations freeze the text these functions write, and a test checks they still agree.
"""

from __future__ import annotations

from warehouse.schema import ROW_TABLES
from warehouse.winners import FILE_OF_DATE_FIRST, order_sql

PROVENANCE = ("file_id", "row_no", "location")  # where a snapshot row came from, not an attribute


def snapshot_files_sql(feed_name: str) -> str:
    """The snapshot file that stands for each file date: current, loaded, dated; then
    ``winners.FILE_OF_DATE_FIRST`` (as pipelines.store.snapshot_files)."""
    order = order_sql(FILE_OF_DATE_FIRST, feed_name=feed_name)
    return (
        "SELECT id, file_date FROM (SELECT f.id, f.file_date, ROW_NUMBER() OVER (PARTITION BY f.file_date "
        f"ORDER BY {order}) AS rn FROM ingest_file f "
        f"WHERE f.feed = '{feed_name}' AND f.is_current AND f.status = 'LOADED' AND f.file_date IS NOT NULL) s "
        "WHERE rn = 1"
    )


def attribute_columns() -> list[str]:
    return [c.name for c in ROW_TABLES["cohort"].columns if c.name not in (*PROVENANCE, "iom_id")]


def member_history_sql() -> str:
    attrs = attribute_columns()
    # The attributes as one comparable text (NULL-safe on both back ends without IS DISTINCT FROM).
    key = " || '|' || ".join(f"COALESCE(CAST(m.{c} AS TEXT), '')" for c in attrs)
    firsts = ", ".join(f"MIN({c}) AS {c}" for c in attrs)  # equal within an interval: any row's value
    return (
        "WITH snaps AS (SELECT id, file_date, ROW_NUMBER() OVER (ORDER BY file_date) AS seq, "
        f"LEAD(file_date) OVER (ORDER BY file_date) AS next_date FROM ({snapshot_files_sql('cohort')}) s), "
        f"present AS (SELECT m.iom_id, s.seq, s.file_date, s.next_date, {', '.join('m.' + c for c in attrs)}, "
        f"{key} AS attr_key FROM cohort_member m JOIN snaps s ON s.id = m.file_id), "
        # An interval starts where the member was not in the snapshot before, or was there otherwise.
        "marked AS (SELECT p.*, CASE WHEN LAG(seq) OVER w = seq - 1 AND LAG(attr_key) OVER w = attr_key THEN 0 ELSE 1 END "
        "AS starts FROM present p WINDOW w AS (PARTITION BY iom_id ORDER BY seq)), "
        "numbered AS (SELECT m.*, SUM(starts) OVER (PARTITION BY iom_id ORDER BY seq ROWS UNBOUNDED PRECEDING) AS interval_no "
        "FROM marked m) "
        "SELECT iom_id, MIN(file_date) AS valid_from, "
        "CASE WHEN MAX(seq) = (SELECT MAX(seq) FROM snaps) THEN NULL ELSE MAX(next_date) END AS valid_to, "
        f"COUNT(*) AS snapshots, {firsts} FROM numbered GROUP BY iom_id, interval_no"
    )


def member_sql() -> str:
    return "SELECT * FROM member_history WHERE valid_to IS NULL"
