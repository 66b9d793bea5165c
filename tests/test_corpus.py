"""The bad-input corpus through the real ingest path (issue 8: nothing lost, nothing leaked).

Each case of ``tests/corpus/cases.py`` is delivered as a real file into a real folder
inbox and ingested into a real SQLite warehouse, exactly as a run does.  Every case then
checks the ledger (status, rows loaded and quarantined, rows in = loaded + quarantined),
each quarantine entry's location and reason, the findings, the values that loaded, and
that no message repeats anyone's personal details.  Files that cannot be trusted (bombs,
a 2 GiB file) are ingested in a child process under a memory ceiling, timed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from pipelines.checks.reconciliation import reconciliation_check
from pipelines.feeds import FEEDS, FileFormat
from pipelines.ingest import ingest_feed
from pipelines.parsing import FileRejected, read_table
from pipelines.settings import PROJECT_ROOT, load_hub_config
from pipelines.sources import LocalInbox
from pipelines.validation import validate
from tests.corpus.cases import CASES, PERSONAL, Case, Content
from tests.corpus.make import Sparse
from warehouse.schema import ROW_TABLES, dq_finding, ingest_file, quarantine

D = date(2026, 11, 23)  # the report date; every corpus file is dated the day before
DIVISIONS = frozenset(load_hub_config(str(PROJECT_ROOT / "config" / "hub.yaml")).divisions)
ARRIVED = datetime(2026, 11, 22, 5, 0).timestamp()  # long settled

# The child's address space: imports take about 450 MiB of it; a bomb that got through
# (a gigabyte inflated, a 2 GiB file read) cannot fit, so it fails fast instead of
# taking the machine with it.  Its peak resident memory must stay far below what reading
# any of these files would need, and it must finish well within the time limit.
CHILD_ADDRESS_SPACE = 1536 << 20
CHILD_PEAK_MIB = 600
CHILD_SECONDS = 60


def write(folder: Path, name: str, content: Content) -> None:
    path = folder / name
    if isinstance(content, Sparse):
        with path.open("wb") as fh:  # a hole, not 2 GiB of disk
            fh.write(content.head)
            fh.truncate(content.size)
    else:
        path.write_bytes(content)
    os.utime(path, (ARRIVED, ARRIVED))


def deliver(root: Path, case: Case) -> Content:
    folder = root / case.feed
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in (case.before() if case.before else {}).items():
        write(folder, name, data)
    content = case.build()
    write(folder, case.name, content)
    return content


CHILD = """
import json, resource, sys, time
limit = int(sys.argv[5])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from datetime import date
from pathlib import Path
from pipelines.feeds import FEEDS
from pipelines.ingest import ingest_feed
from pipelines.sources import LocalInbox
from warehouse.db import make_engine
engine = make_engine(sys.argv[2])
started = time.perf_counter()
ingest_feed(engine, LocalInbox(Path(sys.argv[1])), FEEDS[sys.argv[3]], date.fromisoformat(sys.argv[4]),
            settle_seconds=0, divisions=frozenset(sys.argv[6].split(",")))
print(json.dumps({"seconds": time.perf_counter() - started,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def ingest_in_child(hub, case: Case) -> dict[str, float]:  # type: ignore[no-untyped-def]
    url = hub.engine.url.render_as_string(hide_password=False)
    args = [str(hub.inbox.root), url, case.feed, D.isoformat(), str(CHILD_ADDRESS_SPACE), ",".join(sorted(DIVISIONS))]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, timeout=CHILD_SECONDS * 2, cwd=PROJECT_ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def exception_texts(case: Case, content: Content) -> list[str]:
    """Parse and validate the file directly, as ingest does, keeping any refusal's text."""
    if isinstance(content, Sparse):
        return []
    feed = FEEDS[case.feed]
    try:
        if case.name.rsplit(".", 1)[-1] not in {f.value for f in FileFormat}:
            return []
        validate(feed, read_table(feed, case.name, content), D, DIVISIONS)
    except FileRejected as exc:
        return [str(exc)]
    return []


def shown(value: object) -> object:
    return str(value) if isinstance(value, date | datetime) else value


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_corpus_case(hub, case: Case) -> None:
    content = deliver(hub.inbox.root, case)
    if case.untrusted:
        run = ingest_in_child(hub, case)
        assert run["seconds"] < CHILD_SECONDS, f"refused, but only after {run['seconds']:.0f} s"
        assert run["peak_mib"] < CHILD_PEAK_MIB, f"peak memory {run['peak_mib']:.0f} MiB"
        texts = []
    else:
        ingest_feed(hub.engine, LocalInbox(hub.inbox.root), FEEDS[case.feed], D, settle_seconds=0, divisions=DIVISIONS)
        texts = exception_texts(case, content)

    expect = case.expect
    with hub.engine.connect() as conn:
        (f,) = conn.execute(sa.select(ingest_file).where(ingest_file.c.name == case.name, ingest_file.c.is_current)).all()
        entries = conn.execute(
            sa.select(quarantine).where(quarantine.c.file_id == f.id).order_by(quarantine.c.row_no, quarantine.c.id)
        ).all()
        findings = conn.execute(sa.select(dq_finding.c.rule).where(dq_finding.c.file_id == f.id)).scalars().all()
        table = ROW_TABLES[case.feed]
        stored = {
            column: tuple(shown(v) for v in conn.execute(
                sa.select(table.c[column]).where(table.c.file_id == f.id).order_by(table.c.row_no)).scalars())
            for column in expect.stored
        }  # fmt: skip

    # Nothing lost: every row is loaded or quarantined, at the level the case demands.
    assert (f.status, f.rows_loaded, f.rows_quarantined) == (expect.status, expect.loaded, expect.quarantined)
    assert f.rows_in == f.rows_loaded + f.rows_quarantined
    assert reconciliation_check(hub.engine, case.feed).passed
    if expect.status == "REJECTED":
        assert expect.reject in f.reject_reason
        assert [(e.row_no, e.location, e.reason) for e in entries] == [(None, None, f.reject_reason)]
    else:
        assert f.reject_reason is None
        # Each entry names where (line, sheet row or element path) and, in its reason,
        # the column and the rule; the ledger row names the file.
        assert [(e.location, fragment in e.reason) for e, (_, fragment) in zip(entries, expect.bad, strict=False)] == [
            (where, True) for where, _ in expect.bad
        ], [(e.location, e.reason) for e in entries]
        assert len(entries) == len(expect.bad)
    assert len(findings) == expect.findings
    assert stored == expect.stored
    assert (f.drift_columns or "") == expect.drift

    # Nothing leaked: no message carries a name, a date of birth or an identifier.
    messages = [f.reject_reason or "", *(e.reason for e in entries), *(e.location or "" for e in entries), *findings, *texts]
    leaks = {value for value in PERSONAL for message in messages if value in message}
    assert not leaks, f"personal data in messages: {sorted(leaks)!r}"


def test_the_corpus_covers_every_feed_and_format() -> None:
    assert len(CASES) >= 45
    assert len({c.id for c in CASES}) == len(CASES)
    covered = {(c.feed, c.name.rsplit(".", 1)[-1]) for c in CASES}
    wanted = {(name, fmt.value) for name, feed in FEEDS.items() for fmt in feed.formats}
    assert wanted <= covered
    assert {c.expect.status for c in CASES} == {"LOADED", "REJECTED"}
    assert any(c.untrusted for c in CASES)
