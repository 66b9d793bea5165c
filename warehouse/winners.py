"""Which row wins (CONTRACT section 1), written once and rendered twice.

"Later" means the file whose name sorts later by its date, then its time, then the later
row within the file; each file counts in its newest version.  For a snapshot feed, one
file stands for each date: the feed's preferred format (``Feed.formats``), then the later
time and name.  The orders below are the rule; ``order_by`` renders one for the
pipeline's SQLAlchemy queries (pipelines/store.py), ``sort_files`` for the stages that
choose a file in pandas (the register in force, feeds.csv's newest file), and
``order_sql`` as SQL text for the analysts' views (warehouse/views.py, frozen in
migrations), so none of them can drift from the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd
import sqlalchemy as sa

from pipelines.feeds import FEEDS


@dataclass(frozen=True)
class SortKey:
    of: Literal["file", "row", "format"]  # a ledger column, a row-table column, or the format rank
    column: str = ""
    descending: bool = False


# Among rows with the same key: the newest file, then the later row in it.
LATER_ROW_FIRST = (
    SortKey("file", "file_date", descending=True),
    SortKey("file", "file_time", descending=True),
    SortKey("file", "name", descending=True),
    SortKey("row", "row_no", descending=True),
)
# The newest file first (the first three keys of the above).
NEWEST_FILE_FIRST = LATER_ROW_FIRST[:3]
# Among the links of one record, judged against several registers: the newest register's.
NEWEST_REGISTER_FIRST = (SortKey("file", "file_date", descending=True), SortKey("file", "id", descending=True))
# Among a snapshot feed's files of one date: the preferred format, then the later file.
FILE_OF_DATE_FIRST = (
    SortKey("format"),
    SortKey("file", "file_time", descending=True),
    SortKey("file", "name", descending=True),
)


def _format_rank(feed_name: str, name: sa.ColumnElement[str]) -> sa.ColumnElement[int]:
    formats = [f.value for f in FEEDS[feed_name].formats]
    return sa.case(*((sa.func.lower(name).like(f"%.{ext}"), i) for i, ext in enumerate(formats)), else_=len(formats))


def format_rank_sql(feed_name: str, file_alias: str = "f") -> str:
    formats = [f.value for f in FEEDS[feed_name].formats]
    cases = " ".join(f"WHEN lower({file_alias}.name) LIKE '%.{ext}' THEN {i}" for i, ext in enumerate(formats))
    return f"CASE {cases} ELSE {len(formats)} END"


def order_by(
    order: tuple[SortKey, ...],
    file_table: sa.FromClause,
    row_table: sa.FromClause | None = None,
    feed_name: str = "",
) -> list[sa.ColumnElement]:
    """The order as SQLAlchemy clauses over a ledger table (or alias) and a row table."""
    clauses: list[sa.ColumnElement] = []
    for key in order:
        if key.of == "format":
            expr: sa.ColumnElement = _format_rank(feed_name, file_table.c.name)
        else:
            table = file_table if key.of == "file" else row_table
            assert table is not None
            expr = table.c[key.column]
        clauses.append(expr.desc() if key.descending else expr.asc())
    return clauses


def order_sql(order: tuple[SortKey, ...], file_alias: str = "f", row_alias: str = "r", feed_name: str = "") -> str:
    """The same order as SQL text, for views."""
    parts = []
    for key in order:
        if key.of == "format":
            expr = format_rank_sql(feed_name, file_alias)
        else:
            expr = f"{file_alias if key.of == 'file' else row_alias}.{key.column}"
        parts.append(f"{expr} DESC" if key.descending else expr)
    return ", ".join(parts)


def sort_files(
    files: pd.DataFrame, order: tuple[SortKey, ...], feed_name: str, first: tuple[tuple[str, bool], ...] = ()
) -> pd.DataFrame:
    """Ledger rows (a frame of ``ingest_file``) sorted by ``first`` (column, ascending)
    then by the order, for the stages that choose among files in pandas."""
    formats = [f.value for f in FEEDS[feed_name].formats]
    ext = files["name"].str.rsplit(".", n=1).str[-1].str.lower()
    ranked = files.assign(_format=ext.map(lambda e: formats.index(e) if e in formats else len(formats)))
    keys = [*first, *(("_format" if k.of == "format" else k.column, not k.descending) for k in order)]
    ranked = ranked.sort_values([c for c, _ in keys], ascending=[a for _, a in keys], kind="stable")
    return ranked.drop(columns="_format")
