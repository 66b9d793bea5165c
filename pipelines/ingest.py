"""Bring a feed's new and corrected files from an inbox into the warehouse.

Per file, in one transaction: the ledger entry, its rows, its quarantine entries and its
data-quality findings, and (for a correction) the retirement of the previous version's
rows.  A crash leaves each file either wholly in or wholly out; re-running finds the same
bytes already in the ledger and changes nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from pipelines.feeds import Feed
from pipelines.filenames import FileName, is_in_progress, parse_name
from pipelines.parsing import LOC, MAX_FILE_BYTES, ROW, FileRejected, RawTable, check_size, read_table
from pipelines.sources.base import Inbox, InboxFile
from pipelines.sources.odbc import ViewRead
from pipelines.validation import Validated, validate_files
from warehouse.bulk import insert_frame
from warehouse.schema import ROW_TABLES, dq_finding, ingest_file, quarantine

LONDON = ZoneInfo("Europe/London")


@dataclass
class IngestOutcome:
    """Counts for run metadata: never names, dates of birth or identifiers."""

    feed: str
    files_listed: int = 0
    files_in_progress: int = 0
    files_not_ready: int = 0
    files_unchanged: int = 0
    files_loaded: int = 0
    files_corrected: int = 0
    files_rejected: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    findings: int = 0
    drift_columns: set[str] = field(default_factory=set)


# A file to load: as listed, its name, its bytes, their sha256, the current version if any.
Arrival = tuple[InboxFile, FileName, bytes, str, dict | None]


def local_wall_clock(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, LONDON).replace(tzinfo=None, microsecond=0)


def ready_files(
    inbox: Inbox,
    feed: str,
    settle_seconds: float,
    *,
    now: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[InboxFile], int, int]:
    """Files whose size and modification time have stopped changing.

    Returns (ready files, uploads in progress ignored, files not ready yet).  A file
    modified within the settle interval is listed again after it; only if it is unchanged
    then is it ready.  Anything else waits for the next run.
    """
    listed = inbox.list_files(feed)
    in_progress = [f for f in listed if is_in_progress(f.name)]
    candidates = [f for f in listed if not is_in_progress(f.name)]
    recent = [f for f in candidates if now() - f.mtime < settle_seconds]
    if not recent:
        return candidates, len(in_progress), 0
    sleep(settle_seconds)
    relisted = {f.name: f for f in inbox.list_files(feed)}
    ready = [f for f in candidates if f not in recent or relisted.get(f.name) == f]
    return ready, len(in_progress), len(candidates) - len(ready)


def ingest_feed(
    engine: sa.Engine,
    inbox: Inbox,
    feed: Feed,
    report_date: date,
    *,
    settle_seconds: float,
    divisions: frozenset[str] | None = None,
) -> IngestOutcome:
    """Load the feed's new and corrected files that are ready, whatever their date.

    The ledger mirrors the inbox; a report for D reads only files dated on or before D
    (pipelines/store.py).  ``report_date`` is the run's, recorded as the report that first
    saw each file (a file whose name carries no date counts in that report's feeds.csv).
    ``divisions``, the configured division codes, are checked where a feed carries one.
    """
    outcome = IngestOutcome(feed.name)
    files, outcome.files_in_progress, outcome.files_not_ready = ready_files(inbox, feed.name, settle_seconds)
    outcome.files_listed = len(files) + outcome.files_in_progress + outcome.files_not_ready
    current = _current_versions(engine, feed.name)
    batch: list[Arrival] = []
    for f in sorted(files, key=lambda f: f.name):
        name = parse_name(feed, f.name)
        known = current.get(f.name)
        if known is not None and known["size"] == f.size and known["mtime"] == f.mtime:
            outcome.files_unchanged += 1
            continue
        data, sha = _read(inbox, f)
        if known is not None and known["sha256"] == sha:
            _touch(engine, known["id"], f)  # same bytes, new listing: nothing else changes
            outcome.files_unchanged += 1
            continue
        if batch and _batch_bytes(batch) + len(data) > BATCH_BYTES:
            # Loaded before more is read: a backlog's bytes are never all held at once.
            _load_batch(engine, inbox, feed, batch, report_date, outcome, divisions)
            batch = []
        batch.append((f, name, data, sha, known))
    if batch:
        _load_batch(engine, inbox, feed, batch, report_date, outcome, divisions)
    return outcome


def _read(inbox: Inbox, f: InboxFile) -> tuple[bytes, str]:
    """The file's bytes and their sha256; a file listed as too big is never read (it could
    exhaust memory), so it is known by its size instead and refused in _load_batch."""
    if f.size > MAX_FILE_BYTES:
        return b"", hashlib.sha256(f"unread: {f.size} bytes".encode()).hexdigest()
    data = inbox.read_bytes(f)
    return data, hashlib.sha256(data).hexdigest()


# New files are validated together (per-file overheads dominate for small files) but in
# batches of bounded size, so a first run over a large backlog does not hold it all at
# once: a batch's frames take several times its bytes (the ×50 benchmark's register peaked
# at 4.5 GiB with 256 MiB batches; docs/scaling.md).
BATCH_BYTES = 64 << 20


def _batch_bytes(batch: list[Arrival]) -> int:
    return sum(len(arrival[2]) for arrival in batch)


def _load_batch(
    engine: sa.Engine,
    inbox: Inbox,
    feed: Feed,
    batch: list[Arrival],
    report_date: date,
    outcome: IngestOutcome,
    divisions: frozenset[str] | None,
) -> None:
    tables: dict[str, tuple[RawTable, date | None]] = {}
    problems: dict[str, FileRejected] = {}
    for f, name, data, _, _ in batch:
        try:
            check_size(f.size)
            table = read_table(feed, f.name, data)
        except FileRejected as exc:
            problems[f.name] = FileRejected(name.problem) if name.problem else exc  # the name is the first fault
            continue
        if name.problem is not None:
            # Rejected whole, but its rows are still counted (CONTRACT section 7, feeds.csv).
            problems[f.name] = FileRejected(name.problem, rows=table.rows_in or None)
            continue
        tables[f.name] = (table, name.file_date)
    validated = {**validate_files(feed, tables, divisions), **problems}
    for f, name, _, sha, known in batch:
        _load_file(engine, inbox.location, feed, f, name, sha, known, validated[f.name], report_date, outcome)
        inbox.mark_ingested(f)  # only once the file is committed


def ingest_view(
    engine: sa.Engine,
    feed: Feed,
    read: ViewRead,
    report_date: date,
    source: str,
    divisions: frozenset[str] | None = None,
) -> IngestOutcome:
    """Load one read of an ODBC view as that day's delivery of the feed."""
    outcome = IngestOutcome(feed.name, files_listed=1)
    known = _current_versions(engine, feed.name).get(read.name)
    if known is not None and known["sha256"] == read.sha256:
        outcome.files_unchanged = 1
        return outcome
    pseudo = InboxFile(feed.name, read.name, read.rows, time.time())
    name = FileName(read.name, read.read_on, "", "odbc", "", None)
    result = validate_files(feed, {read.name: (read.table, read.read_on)}, divisions)[read.name]
    _load_file(engine, source, feed, pseudo, name, read.sha256, known, result, report_date, outcome)
    return outcome


def _current_versions(engine: sa.Engine, feed: str) -> dict[str, dict]:
    q = sa.select(ingest_file).where(ingest_file.c.feed == feed, ingest_file.c.is_current)
    with engine.connect() as conn:
        return {r.name: dict(r._mapping) for r in conn.execute(q)}


def _touch(engine: sa.Engine, file_id: int, f: InboxFile) -> None:
    with engine.begin() as conn:
        conn.execute(ingest_file.update().where(ingest_file.c.id == file_id).values(size=f.size, mtime=f.mtime))


def _load_file(
    engine: sa.Engine,
    source: str,
    feed: Feed,
    f: InboxFile,
    name: FileName,
    sha: str,
    previous: dict | None,
    result: Validated | FileRejected,
    report_date: date,
    outcome: IngestOutcome,
) -> None:
    rejected = result if isinstance(result, FileRejected) else None
    validated = result if isinstance(result, Validated) else None
    ledger = {
        "feed": feed.name,
        "name": f.name,
        "file_date": name.file_date,
        "file_time": name.file_time,
        "size": f.size,
        "mtime": f.mtime,
        "sha256": sha,
        # A view has no arrival time of its own: it is read when the run reads it.
        "arrived_at": local_wall_clock(f.mtime) if name.ext != "odbc" else None,
        "ingested_at": datetime.now(UTC).replace(tzinfo=None, microsecond=0),
        "first_report_date": report_date,
        "version": (previous["version"] + 1) if previous else 1,
        "is_current": True,
        "source": source,
    }
    if rejected is not None:
        counted = rejected.rows if rejected.rows else 1
        ledger |= {
            "status": "REJECTED",
            "reject_reason": rejected.reason,
            "rows_in": counted,
            "rows_loaded": 0,
            "rows_quarantined": counted,
        }
    else:
        assert validated is not None
        ledger |= {
            "status": "LOADED",
            "rows_in": validated.rows_in,
            "rows_loaded": len(validated.rows),
            "rows_quarantined": len(validated.quarantined),
            "drift_columns": ",".join(validated.drift) or None,
        }

    with engine.begin() as conn:
        if previous is not None:
            # A correction replaces what the earlier version contributed.
            conn.execute(ingest_file.update().where(ingest_file.c.id == previous["id"]).values(is_current=False))
            conn.execute(ROW_TABLES[feed.name].delete().where(ROW_TABLES[feed.name].c.file_id == previous["id"]))
        file_id = conn.execute(ingest_file.insert().values(**ledger)).inserted_primary_key[0]
        if rejected is not None:
            conn.execute(quarantine.insert().values(file_id=file_id, row_no=None, location=None, reason=rejected.reason))
        else:
            assert validated is not None
            _bulk_insert(conn, ROW_TABLES[feed.name], validated.rows.rename(columns={ROW: "row_no", LOC: "location"}), file_id)
            _bulk_insert(conn, quarantine, validated.quarantined.rename(columns={ROW: "row_no", LOC: "location"}), file_id)
            _bulk_insert(
                conn,
                dq_finding,
                validated.findings.rename(columns={ROW: "row_no", LOC: "location", "column": "column_name"}),
                file_id,
            )

    if rejected is not None:
        outcome.files_rejected += 1
        outcome.rows_quarantined += ledger["rows_quarantined"]
        return
    assert validated is not None
    outcome.files_loaded += 1
    outcome.files_corrected += previous is not None
    outcome.rows_loaded += ledger["rows_loaded"]
    outcome.rows_quarantined += ledger["rows_quarantined"]
    outcome.findings += len(validated.findings)
    outcome.drift_columns.update(validated.drift)


def _bulk_insert(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame, file_id: int) -> None:
    """One bulk load per table per file, in the file's transaction (warehouse/bulk.py)."""
    if frame.empty:
        return
    columns = [c.name for c in table.columns if c.name in frame.columns]
    insert_frame(conn, table, frame[columns].assign(file_id=file_id))
