"""Volume benchmark: the whole pipeline, through Dagster as a user runs it, at several
sizes of synthetic inbox, on SQLite and on PostgreSQL (docs/scaling.md).

    .venv/bin/python -m benchmarks.volume                     # every size, SQLite (PostgreSQL if --postgres-url)
    .venv/bin/python -m benchmarks.volume --sizes leeds,wy --backends sqlite,postgresql \\
        --postgres-url postgresql+psycopg2://user:pass@127.0.0.1:5432/postgres
    .venv/bin/python -m benchmarks.volume --sizes leeds --backfill-days 365   # and a 365-day backfill
    .venv/bin/python -m benchmarks.volume --smoke             # tiny, SQLite only: what CI runs

It writes ``<out>/volume.json`` (one record per size and back end, with the machine) and
``<out>/volume.md`` (the tables), and prints the markdown.  A benchmark reports, it does
not fail: a goal not met is a "not met" in the table, and the exit status is still 0.

For each size the inbox is generated once (``iom-hub synth --seed 7 --scale S``, newest
file dated D = 2026-11-23).  For each back end, each measured run is ``iom-hub run`` (or
``backfill``) as a subprocess with the hub's environment, on a fresh warehouse (an SQLite
file, or a new PostgreSQL database on the ``--postgres-url`` server) and a fresh
DAGSTER_HOME:

* first run: ``run --date D`` on the whole inbox: wall time, peak memory, the time of each
  stage read from the run's event log in DAGSTER_HOME, rows per feed from the warehouse's
  ledger, rows per second, the warehouse's size on disk;
* day on the history: ``run --date D-1`` on an inbox of every file dated before D-1 (the
  history, timed but not the figure), then the files dated D-1 and D are added and
  ``run --date D`` is timed;
* the same day on an empty warehouse: an inbox of only the files dated D-1 and D (and the
  newest cohort snapshot and release schedule dated on or before D), ``run --date D``;
* bare load: every file of the inbox read once, nothing validated: the CSVs with DuckDB
  (``read_csv``, ``all_varchar``; the arrests files, Windows-1252, decoded by Python and
  handed to DuckDB as UTF-8, because DuckDB's CSV reader knows no Windows-1252 without
  its ``encodings`` extension), the court XML with defusedxml (Offence elements counted),
  the workbooks with openpyxl (read-only, values only, first sheet);
* backfill (``--backfill-days N``): ``backfill --from D-N+1 --to D`` on an inbox of N days
  (at least the generator's 14), against ``run --date D`` on the same inbox.

Peak memory is the largest resident set of the run's process tree, from the rusage that
``os.wait4`` returns for the child when it exits (what GNU ``/usr/bin/time -v`` reports
as "Maximum resident set size", read the same way): the pipeline runs its steps in one
process (``in_process_executor``), so that is the run's peak.  To say which stage holds
it, the child's resident set (``VmRSS`` in ``/proc/<pid>/status``) is also sampled every
0.2 s and each sample put to the step running at its time.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from benchmarks import plans
from pipelines.feeds import FEEDS
from pipelines.filenames import is_in_progress, parse_name
from pipelines.settings import PROJECT_ROOT


@dataclass(frozen=True)
class Size:
    name: str
    scale: float
    label: str


# The sizes (names and --scale in one table): the issue's Leeds, West Yorkshire x5,
# national x20 and x50 for memory; the smoke size is CI's.
SIZES = {
    "leeds": Size("leeds", 1.0, "Leeds (the generator's one-district hub)"),
    "wy": Size("wy", 5.0, "West Yorkshire (x5)"),
    "national": Size("national", 20.0, "national (x20)"),
    "memory": Size("memory", 50.0, "x50, for memory"),
}
SMOKE = Size("smoke", 0.1, "smoke test (x0.1)")
SMOKE_DAYS = 14  # the generator's minimum (pipelines.synth.plan.MIN_DAYS)
SMOKE_BACKFILL_DAYS = 3
MIN_SYNTH_DAYS = 14
END_DATE = date(2026, 11, 23)
SEED = 7
BACKENDS = ("sqlite", "postgresql")
FEED_NAMES = tuple(FEEDS)  # cohort, arrests, court_results, prison_releases, attendance


@dataclass(frozen=True)
class Goal:
    key: str
    label: str
    limit: float
    unit: str
    at_size: str  # the size the issue sets the goal for


# The issue's goals on this 2-core machine (each row of the tables says met or not met;
# the goal is the issue's at `at_size`, and shown at the other sizes for the curve).
GOALS = (
    Goal("first_run_vs_bare", "whole first run within 3x the bare load", 3.0, "x", "national"),
    Goal(
        "day_on_history_vs_empty_day",
        "a day's run on the history within 1.2x the same day on an empty warehouse",
        1.2,
        "x",
        "national",
    ),
    Goal("peak_memory", "peak memory under 4 GB (4096 MiB)", 4096.0, "MiB", "memory"),
    Goal("backfill_vs_one_day", "a 365-day backfill within 15x one day", 15.0, "x", "backfill"),
)
GOAL_BY_KEY = {g.key: g for g in GOALS}
OK_EXITS = (0, 3)  # succeeded; succeeded with feed warnings (the synthetic inbox is messy on purpose)

# Stages of a run, from its step keys (the run's event log).  In order of the graph.
STAGES = (
    *(f"ingest {feed}" for feed in FEED_NAMES),
    "ingest checks",  # schema_valid, rows_reconcile, on_time
    "quality checks",  # the Great Expectations suites (<table>_quality)
    "link",  # record_link/<feed> and its link_share check
    "traffic light",
    "cjs_location",
    "reports",  # division_reports, its checks, delivered_reports
    "other steps",  # member_pseudonyms, review_list, data_quality, anything new
)
# The wall time no step accounts for, in three parts, from the wall clock at the process's
# start and exit and the timestamps of the run's first and last events.
OUTSIDE = (
    "start-up",  # process start to the run's first event: imports, preflight, Dagster instance, migrations
    "between steps",  # first to last event, less the steps: Dagster's own work (events, resources, planning)
    "wind-down",  # last event to the process's exit: the outcome read back and printed
)


def stage_of(step_key: str) -> str:
    """The stage a step belongs to, from its key."""
    if m := re.fullmatch(r"sync_(\w+)", step_key):
        if m.group(1) in FEEDS:
            return f"ingest {m.group(1)}"
    if step_key.startswith("record_link"):
        return "link"
    if step_key.endswith("_quality") and step_key != "data_quality":
        return "quality checks"
    if step_key.endswith(("_schema_valid", "_rows_reconcile", "_on_time")):
        return "ingest checks"
    if step_key.startswith("traffic_light"):
        return "traffic light"
    if step_key.startswith("cjs_location"):
        return "cjs_location"
    if step_key.startswith(("division_reports", "delivered_reports")):
        return "reports"
    return "other steps"


# --- running the hub -------------------------------------------------------------------


def _hub_command() -> list[str]:
    script = Path(sys.executable).with_name("iom-hub")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pipelines.cli"]


def hub_environment(root: Path, inbox: Path, warehouse_url: str, home: Path) -> dict[str, str]:
    """The environment of a hub whose outputs are under `root`: the parent's, without any
    IOM_ or DAGSTER_ setting of its own, plus the hub's (tests/builders.py hub_settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IOM_", "DAGSTER_"))}
    env |= {
        "IOM_INBOX": str(inbox),
        "IOM_WAREHOUSE_URL": warehouse_url,
        "IOM_REPORTS_DIR": str(root / "reports"),
        "IOM_REVIEW_DIR": str(root / "review"),
        "IOM_QUALITY_DIR": str(root / "quality"),
        "IOM_SETTLE_SECONDS": "0",
        "IOM_CONFIG": str(PROJECT_ROOT / "config" / "hub.yaml"),
        # A production hub has its pseudonym key, so member_pseudonyms does its work: this one
        # is for generated data only, made afresh each benchmark, never kept.
        "IOM_PSEUDONYM_KEY": _BENCH_KEY,
        "DAGSTER_HOME": str(home),
    }
    return env


_BENCH_KEY = secrets.token_hex(32)


@dataclass
class Exited:
    started_at: float  # time.time() when the process was started
    wall_seconds: float
    exit_status: int
    peak_rss_mib: float
    stdout: Path
    stderr: Path
    rss_samples: list[tuple[float, float]]  # (time.time(), MiB) of the child, every RSS_SAMPLE_SECONDS

    def tail(self, lines: int = 15) -> str:
        text = self.stdout.read_text(errors="replace").splitlines() + self.stderr.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def run_measured(command: list[str], env: dict[str, str], cwd: Path, log: str) -> Exited:
    """Run a command, its output to `<cwd>/<log>.out|.err`; wall time, exit status and the
    peak resident set of its process tree (os.wait4's rusage of the child)."""
    cwd.mkdir(parents=True, exist_ok=True)
    out, err = cwd / f"{log}.out", cwd / f"{log}.err"
    samples: list[tuple[float, float]] = []
    done = threading.Event()
    with out.open("wb") as fo, err.open("wb") as fe:
        started_at, start = time.time(), time.perf_counter()
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL)
        sampler = threading.Thread(target=_sample_rss, args=(proc.pid, samples, done), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Exited(started_at, wall, proc.returncode, usage.ru_maxrss / 1024, out, err, samples)  # ru_maxrss: KiB


RSS_SAMPLE_SECONDS = 0.2


def _sample_rss(pid: int, samples: list[tuple[float, float]], done: threading.Event) -> None:
    """The child's resident set (VmRSS), sampled until it exits: which stage holds the peak."""
    status = Path(f"/proc/{pid}/status")
    while not done.is_set():
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    samples.append((time.time(), int(line.split()[1]) / 1024))
                    break
        except (OSError, ValueError, IndexError):
            pass  # not there (yet, or any more), or not Linux: no samples
        done.wait(RSS_SAMPLE_SECONDS)


class BenchmarkError(RuntimeError):
    pass


def _check(exited: Exited, what: str, ok: tuple[int, ...] = OK_EXITS) -> None:
    if exited.exit_status not in ok:
        raise BenchmarkError(f"{what} exited {exited.exit_status} (logs {exited.stdout}, {exited.stderr}):\n{exited.tail()}")


@contextmanager
def _dagster_home(home: Path) -> Iterator[None]:
    before = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = before


def step_times(home: Path, run_id: str | None) -> tuple[str, dict[str, tuple[float, float]], tuple[float, float]]:
    """Each step's interval in the run (its first STEP_START to its last STEP_SUCCESS or
    STEP_FAILURE), from the event log in DAGSTER_HOME, and the timestamps of the run's
    first and last events; the newest run when no id is given."""
    import dagster as dg

    with _dagster_home(home), dg.DagsterInstance.get() as instance:
        if run_id is None:
            (run,) = instance.get_runs(limit=1)
            run_id = run.run_id
        started: dict[str, float] = {}
        ended: dict[str, float] = {}
        stamps: list[float] = []
        for entry in instance.all_logs(run_id):
            stamps.append(entry.timestamp)
            event = entry.dagster_event
            if event is None or entry.step_key is None:
                continue
            if event.event_type_value == "STEP_START":
                started.setdefault(entry.step_key, entry.timestamp)
            elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
                ended[entry.step_key] = entry.timestamp
    return run_id, {key: (started[key], ended[key]) for key in started if key in ended}, (min(stamps), max(stamps))


def stage_times(steps: dict[str, float]) -> dict[str, float]:
    stages = dict.fromkeys(STAGES, 0.0)
    for key, seconds in steps.items():
        stages[stage_of(key)] += seconds
    return stages


_RUN_ID = re.compile(r"^run ([0-9a-f-]{36}) for ", re.MULTILINE)


def hub_run(args: list[str], env: dict[str, str], cwd: Path, log: str, warehouse: Warehouse, report_date: date) -> dict:
    """One `iom-hub run`/`backfill` measured: every figure of it."""
    exited = run_measured([*_hub_command(), *args], env, cwd, log)
    _check(exited, f"iom-hub {' '.join(args)}")
    found = _RUN_ID.search(exited.stdout.read_text(errors="replace"))
    run_id, intervals, (first_event, last_event) = step_times(Path(env["DAGSTER_HOME"]), found.group(1) if found else None)
    steps = {key: end - begin for key, (begin, end) in intervals.items()}
    stages = stage_times(steps)
    steps_seconds = sum(stages.values())
    outside = dict(
        zip(
            OUTSIDE,
            (
                first_event - exited.started_at,
                (last_event - first_event) - steps_seconds,
                exited.started_at + exited.wall_seconds - last_event,
            ),
            strict=True,
        )
    )
    # The largest sampled resident set while each stage's steps ran (and outside them).
    memory = dict.fromkeys([*STAGES, *OUTSIDE], 0.0)
    for at, mib in exited.rss_samples:
        key = next((stage_of(k) for k, (b, e) in intervals.items() if b <= at <= e), None)
        if key is None:
            key = OUTSIDE[0] if at < first_event else OUTSIDE[2] if at > last_event else OUTSIDE[1]
        memory[key] = max(memory[key], mib)
    rows, rows_in, new_rows = ledger_rows(warehouse.url, report_date)
    return {
        "command": f"iom-hub {' '.join(args)}",
        "run_id": run_id,
        "exit_status": exited.exit_status,
        "wall_seconds": exited.wall_seconds,
        "peak_rss_mib": exited.peak_rss_mib,
        "sampled_rss_mib_by_stage": memory,
        "rss_samples": len(exited.rss_samples),
        "steps": dict(sorted(steps.items())),
        "stages": stages,
        "steps_seconds": steps_seconds,
        "outside_steps_seconds": exited.wall_seconds - steps_seconds,
        "outside_steps": outside,
        "rows_per_feed": rows,
        "rows_in_per_feed": rows_in,
        "new_rows_per_feed": new_rows,
        "feed_rows": sum(rows.values()),
        "rows_per_second": sum(rows.values()) / exited.wall_seconds if exited.wall_seconds > 0 else None,
        "warehouse": warehouse.shown,
        "warehouse_url": warehouse.url if warehouse.backend == "sqlite" else warehouse.shown,
        "warehouse_bytes": warehouse.size_bytes(),
        "logs": [str(exited.stdout), str(exited.stderr)],
    }


# --- warehouses ------------------------------------------------------------------------


def ledger_rows(url: str, report_date: date) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """From the ledger (ingest_file, current versions): rows loaded per feed, rows read per
    feed, and rows loaded by the files this report date's run saw first."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                sa.text(
                    "SELECT feed, SUM(rows_loaded), SUM(rows_in), "
                    "SUM(CASE WHEN first_report_date = :d THEN rows_loaded ELSE 0 END) "
                    "FROM ingest_file WHERE is_current GROUP BY feed"
                ),
                {"d": report_date.isoformat()},
            ).all()
    finally:
        engine.dispose()
    by_feed = {row[0]: row for row in found}

    def pick(i: int) -> dict[str, int]:
        return {f: int(by_feed[f][i] or 0) if f in by_feed else 0 for f in FEED_NAMES}

    return pick(1), pick(2), pick(3)


@dataclass
class Warehouse:
    backend: str
    url: str  # with its password: never printed or written (`shown` is)
    shown: str
    admin_url: str | None = None
    database: str | None = None

    def size_bytes(self) -> int:
        if self.backend == "sqlite":
            path = Path(sa.make_url(self.url).database or "")
            return sum(p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one())
        finally:
            engine.dispose()

    def drop(self) -> None:
        if self.backend == "sqlite":
            path = Path(sa.make_url(self.url).database or "")
            for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                p.unlink(missing_ok=True)
        elif self.admin_url and self.database:
            engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
            try:
                with engine.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
            finally:
                engine.dispose()


class Warehouses:
    """Fresh, empty warehouses: SQLite files, or new databases on a PostgreSQL server."""

    def __init__(self, backend: str, postgres_url: str | None) -> None:
        self.backend = backend
        self.postgres_url = postgres_url
        self.made: list[Warehouse] = []

    def fresh(self, folder: Path, tag: str) -> Warehouse:
        if self.backend == "sqlite":
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / "warehouse.sqlite"
            path.unlink(missing_ok=True)
            url = f"sqlite:///{path}"
            warehouse = Warehouse("sqlite", url, url)
        else:
            assert self.postgres_url is not None
            name = f"iom_bench_{re.sub(r'[^a-z0-9]+', '_', tag.lower())}_{secrets.token_hex(3)}"[:63]
            admin = sa.make_url(self.postgres_url)
            engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
            try:
                with engine.connect() as conn:
                    conn.execute(sa.text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
            finally:
                engine.dispose()
            url = admin.set(database=name)
            warehouse = Warehouse(
                "postgresql",
                url.render_as_string(hide_password=False),
                url.render_as_string(hide_password=True),
                admin.render_as_string(hide_password=False),
                name,
            )
        self.made.append(warehouse)
        return warehouse


def postgres_version(url: str) -> str:
    """The server's version, once the role is known to be able to make each run's database:
    a plain message naming the setting otherwise, before any size is generated."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            version = str(conn.execute(sa.text("SHOW server_version")).scalar_one())
            role = conn.execute(sa.text("SELECT current_user")).scalar_one()
            may = conn.execute(sa.text("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user")).scalar()
    except sa.exc.SQLAlchemyError as error:
        raise SystemExit(f"--postgres-url: cannot connect ({type(error.orig or error).__name__})") from None
    finally:
        engine.dispose()
    if not may:
        raise SystemExit(f"--postgres-url: role {role} may not CREATE DATABASE (each run gets one): ALTER ROLE {role} CREATEDB")
    return version


# --- inboxes ---------------------------------------------------------------------------


def generate_inbox(folder: Path, scale: float, days: int, end: date) -> dict:
    """`iom-hub synth` as a subprocess; the inbox and what it holds."""
    folder.mkdir(parents=True, exist_ok=True)
    args = [
        "synth",
        "--out",
        str(folder),
        "--end-date",
        end.isoformat(),
        "--days",
        str(days),
        "--seed",
        str(SEED),
        "--scale",
        f"{scale:g}",
    ]
    exited = run_measured(
        [*_hub_command(), *args], {k: v for k, v in os.environ.items() if not k.startswith("IOM_")}, folder, "synth"
    )
    _check(exited, "iom-hub synth", ok=(0,))
    inbox = folder / "inbox"
    files = list(inbox_files(inbox))
    return {
        "command": f"iom-hub {' '.join(args)}",
        "inbox": str(inbox),
        "days": days,
        "scale": scale,
        "end_date": end.isoformat(),
        "files": len(files),
        "bytes": sum(p.stat().st_size for _, p in files),
        "generate_seconds": exited.wall_seconds,
        "generate_peak_rss_mib": exited.peak_rss_mib,
    }


def inbox_files(inbox: Path) -> Iterator[tuple[str, Path]]:
    """(feed, path) of every file in each feed's folder (not its subfolders)."""
    for feed in FEED_NAMES:
        folder = inbox / feed
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.is_file() and not is_in_progress(path.name):
                    yield feed, path


def file_date(feed: str, path: Path) -> date | None:
    return parse_name(FEEDS[feed], path.name).file_date


def _place(files: list[tuple[str, Path]], inbox: Path) -> None:
    """Put files into an inbox (hard links where the filesystem allows: same bytes, same
    modification time, so the same arrival)."""
    for feed, path in files:
        target = inbox / feed / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)


def split_inbox(inbox: Path, day: date) -> tuple[list, list, list]:
    """(history, day, empty_day) file lists: the day's files are those dated D-1 and D;
    the history everything else (files dated before D-1, and names without a valid date);
    the empty-day inbox the day's files and the newest cohort snapshot and release
    schedule dated on or before D."""
    history, today = [], []
    files = list(inbox_files(inbox))
    for feed, path in files:
        when = file_date(feed, path)
        (today if when is not None and day - timedelta(days=1) <= when <= day else history).append((feed, path))
    empty_day = list(today)
    for snapshot in ("cohort", "prison_releases"):
        dated = [(file_date(f, p), f, p) for f, p in files if f == snapshot and file_date(f, p) is not None]
        dated = [d for d in dated if d[0] <= day]
        if dated:
            newest = max(d[0] for d in dated)
            empty_day += [(f, p) for when, f, p in dated if when == newest and (f, p) not in empty_day]
    return history, today, empty_day


# --- the bare load ---------------------------------------------------------------------


# The contract's CSV dialect, given to DuckDB so that its sniffer does not search for one:
# searching costs about 0.1 s a file on the attendance files (at x20 the sniffing read took
# 45-63 s, this one about 8 s).  A file in another dialect still reads, as fewer columns.
CSV_DIALECT = {"header": True, "all_varchar": True, "delimiter": ",", "quotechar": '"', "escapechar": '"'}


def bare_load(inbox: Path, scratch: Path) -> dict:
    """Every file of the inbox read once, nothing validated; rows counted per feed."""
    import duckdb
    from defusedxml import ElementTree
    from openpyxl import load_workbook

    rows = dict.fromkeys(FEED_NAMES, 0)
    files = dict.fromkeys(FEED_NAMES, 0)
    unreadable: list[str] = []
    by_reader = {"duckdb": 0.0, "defusedxml": 0.0, "openpyxl": 0.0}
    scratch.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    con = duckdb.connect()
    try:
        by_feed: dict[str, list[Path]] = {}
        for feed, path in inbox_files(inbox):
            by_feed.setdefault(feed, []).append(path)
        for feed, paths in by_feed.items():
            csvs = [p for p in paths if p.suffix.lower() == ".csv"]
            for path in paths:
                if path in csvs:
                    continue
                files[feed] += 1
                began = time.perf_counter()
                reader = "defusedxml" if path.suffix.lower() == ".xml" else "openpyxl"
                try:
                    if path.suffix.lower() == ".xml":
                        rows[feed] += sum(1 for _ in ElementTree.parse(path).getroot().iter("Offence"))
                    elif path.suffix.lower() == ".xlsx":
                        workbook = load_workbook(path, read_only=True, data_only=True)
                        try:
                            sheet = workbook.worksheets[0]
                            rows[feed] += max(0, sum(1 for _ in sheet.iter_rows(values_only=True)) - 1)  # less the header
                        finally:
                            workbook.close()
                    else:
                        unreadable.append(f"{feed}/{path.name}: not a feed format")
                except Exception as exc:  # noqa: BLE001 - a file the readers cannot read is counted, not fatal
                    unreadable.append(f"{feed}/{path.name}: {type(exc).__name__}")
                by_reader[reader] += time.perf_counter() - began
            for path in csvs:
                files[feed] += 1
                began = time.perf_counter()
                try:
                    if FEEDS[feed].encoding.lower().replace("-", "") == "cp1252":
                        data = io.BytesIO(path.read_bytes().decode("cp1252", errors="replace").encode("utf-8"))
                        table = con.read_csv(data, **CSV_DIALECT).to_arrow_table()
                    else:
                        table = con.read_csv(str(path), **CSV_DIALECT).to_arrow_table()
                    rows[feed] += table.num_rows
                except Exception as exc:  # noqa: BLE001
                    unreadable.append(f"{feed}/{path.name}: {type(exc).__name__}")
                by_reader["duckdb"] += time.perf_counter() - began
    finally:
        con.close()
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rows_per_feed": rows,
        "files_per_feed": files,
        "rows": sum(rows.values()),
        "unreadable": unreadable,
        "seconds_by_reader": by_reader,
        "how": "CSV: DuckDB read_csv(header, all_varchar, the contract's dialect: comma, double quote) per file into "
        "Arrow (arrests: decoded from Windows-1252 by Python, then DuckDB); XML: defusedxml parse, Offence elements "
        "counted; XLSX: openpyxl read-only, values only, first sheet, rows less the header",
    }


# --- one size, one back end ------------------------------------------------------------


def measure_backend(
    size: Size,
    days: int,
    inbox_info: dict,
    bare: dict | None,
    backend: str,
    warehouses: Warehouses,
    work: Path,
    phases: set[str],
) -> dict:
    inbox = Path(inbox_info["inbox"])
    day = END_DATE
    root = work / backend
    if root.exists():
        shutil.rmtree(root)
    record: dict = {
        "size": size.name,
        "size_label": size.label,
        "scale": size.scale,
        "days": days,
        "backend": backend,
        "report_date": day.isoformat(),
        "inbox": inbox_info,
        "bare_load": bare,
    }

    # The first run: the whole inbox, an empty warehouse.
    print(f"[{size.name}/{backend}] first run: iom-hub run --date {day}", flush=True)
    folder = root / "first"
    warehouse = warehouses.fresh(folder, f"{size.name}_{backend}_first")
    env = hub_environment(folder, inbox, warehouse.url, folder / "dagster_home")
    first = hub_run(["run", "--date", day.isoformat()], env, folder, "run", warehouse, day)
    record["first_run"] = first
    record["rows_per_feed"] = first["rows_per_feed"]
    record["feed_rows"] = first["feed_rows"]
    record["warehouse_bytes"] = first["warehouse_bytes"]
    record["peak_rss_mib"] = first["peak_rss_mib"]

    if "day" in phases:
        history_files, day_files, empty_files = split_inbox(inbox, day)
        # The history: every file dated before D-1, run for D-1; then the day's files arrive.
        print(
            f"[{size.name}/{backend}] history: iom-hub run --date {day - timedelta(days=1)} (files dated before it)", flush=True
        )
        folder = root / "on_history"
        work_inbox = folder / "inbox"
        _place(history_files, work_inbox)
        warehouse = warehouses.fresh(folder, f"{size.name}_{backend}_history")
        env = hub_environment(folder, work_inbox, warehouse.url, folder / "dagster_home")
        record["history_run"] = hub_run(
            ["run", "--date", (day - timedelta(days=1)).isoformat()], env, folder, "history", warehouse, day - timedelta(days=1)
        )
        _place(day_files, work_inbox)
        print(f"[{size.name}/{backend}] day on the history: iom-hub run --date {day}", flush=True)
        record["day_on_history"] = hub_run(["run", "--date", day.isoformat()], env, folder, "day", warehouse, day)
        record["query_plans"] = _plans(warehouse, day)

        print(f"[{size.name}/{backend}] the same day on an empty warehouse: iom-hub run --date {day}", flush=True)
        folder = root / "empty_day"
        work_inbox = folder / "inbox"
        _place(empty_files, work_inbox)
        warehouse = warehouses.fresh(folder, f"{size.name}_{backend}_empty")
        env = hub_environment(folder, work_inbox, warehouse.url, folder / "dagster_home")
        record["empty_day"] = hub_run(["run", "--date", day.isoformat()], env, folder, "day", warehouse, day)
        record["day_files"] = {"history": len(history_files), "day": len(day_files), "empty_day": len(empty_files)}
        record["peak_rss_mib"] = max(
            record["peak_rss_mib"], *(record[k]["peak_rss_mib"] for k in ("history_run", "day_on_history", "empty_day"))
        )
    ratios(record)
    return record


def _plans(warehouse: Warehouse, day: date) -> dict[str, list[str]]:
    """The "as of" reads' plans on the warehouse with its history (benchmarks/plans.py)."""
    engine = sa.create_engine(warehouse.url)
    try:
        return plans.explain(engine, day)
    finally:
        engine.dispose()


def measure_backfill(
    size: Size, backfill_days: int, backend: str, warehouses: Warehouses, work: Path, reuse: dict | None
) -> dict:
    """`iom-hub backfill` over the last N report dates against `iom-hub run` for D, each on
    a fresh warehouse with the same N-day inbox (`reuse`: a record whose inbox and first
    run are just that)."""
    day = END_DATE
    first_day = day - timedelta(days=backfill_days - 1)
    days = max(backfill_days, MIN_SYNTH_DAYS)
    root = work / f"backfill_{backend}"
    if root.exists():
        shutil.rmtree(root)
    if reuse is not None:
        inbox_info, one_day = reuse["inbox"], reuse["first_run"]
    else:
        print(f"[backfill {size.name}] generating a {days}-day inbox at scale {size.scale:g}", flush=True)
        inbox_info = generate_inbox(work / "backfill_inbox", size.scale, days, day)
        print(f"[backfill {size.name}/{backend}] one day: iom-hub run --date {day}", flush=True)
        folder = root / "one_day"
        warehouse = warehouses.fresh(folder, f"bf_{size.name}_{backend}_one")
        env = hub_environment(folder, Path(inbox_info["inbox"]), warehouse.url, folder / "dagster_home")
        one_day = hub_run(["run", "--date", day.isoformat()], env, folder, "run", warehouse, day)
    print(f"[backfill {size.name}/{backend}] iom-hub backfill --from {first_day} --to {day}", flush=True)
    folder = root / "backfill"
    warehouse = warehouses.fresh(folder, f"bf_{size.name}_{backend}_range")
    env = hub_environment(folder, Path(inbox_info["inbox"]), warehouse.url, folder / "dagster_home")
    if first_day < date(2025, 1, 1):
        env["IOM_FIRST_REPORT_DATE"] = first_day.isoformat()
    backfill = hub_run(
        ["backfill", "--from", first_day.isoformat(), "--to", day.isoformat()], env, folder, "backfill", warehouse, first_day
    )
    record = {
        "size": size.name,
        "scale": size.scale,
        "backend": backend,
        "report_dates": backfill_days,
        "from": first_day.isoformat(),
        "to": day.isoformat(),
        "inbox": inbox_info,
        "one_day": one_day,
        "backfill": backfill,
        "one_day_reused_from_first_run": reuse is not None,
    }
    record["ratios"] = {"backfill_vs_one_day": backfill["wall_seconds"] / one_day["wall_seconds"]}
    record["goals"] = {
        "backfill_vs_one_day": _verdict(
            "backfill_vs_one_day", record["ratios"]["backfill_vs_one_day"], applies=backfill_days == 365
        )
    }
    return record


def _verdict(key: str, value: float | None, applies: bool) -> dict:
    goal = GOAL_BY_KEY[key]
    met = None if value is None else (value < goal.limit if goal.unit == "MiB" else value <= goal.limit)
    return {
        "goal": goal.label,
        "limit": goal.limit,
        "unit": goal.unit,
        "value": value,
        "met": met,
        "goal_size": goal.at_size,
        "at_goal_size": applies,
    }


def ratios(record: dict) -> None:
    """The ratios, each the quotient of two measured wall times, and the goals' verdicts."""
    out: dict[str, float | None] = {}
    bare = record.get("bare_load")
    out["first_run_vs_bare"] = record["first_run"]["wall_seconds"] / bare["seconds"] if bare else None
    if "day_on_history" in record:
        out["day_on_history_vs_empty_day"] = record["day_on_history"]["wall_seconds"] / record["empty_day"]["wall_seconds"]
    else:
        out["day_on_history_vs_empty_day"] = None
    record["ratios"] = out
    size = record["size"]
    record["goals"] = {
        "first_run_vs_bare": _verdict("first_run_vs_bare", out["first_run_vs_bare"], size == "national"),
        "day_on_history_vs_empty_day": _verdict(
            "day_on_history_vs_empty_day", out["day_on_history_vs_empty_day"], size == "national"
        ),
        "peak_memory": _verdict("peak_memory", record["peak_rss_mib"], size == "memory"),
    }


# --- the machine -----------------------------------------------------------------------


def machine(postgres: str | None) -> dict:
    def meminfo() -> int | None:
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def cpu_model() -> str:
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return platform.processor()

    import dagster
    import duckdb
    import pandas

    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "ram_bytes": meminfo(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres,
        "dagster": dagster.__version__,
        "duckdb": duckdb.__version__,
        "pandas": pandas.__version__,
        "load_average_at_start": os.getloadavg()[0],
    }


# --- the tables ------------------------------------------------------------------------


def _s(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds:,.1f}"


def _mib(n: float | None) -> str:
    return "–" if n is None else f"{n:,.0f}"


def _judged(verdict: dict) -> str:
    if verdict["value"] is None:
        return "not measured"
    value = f"{verdict['value']:,.0f} MiB" if verdict["unit"] == "MiB" else f"{verdict['value']:.2f}×"
    word = "met" if verdict["met"] else "not met"
    return f"{value} {word}" + ("" if verdict["at_goal_size"] else "¹")


def render_markdown(report: dict) -> str:
    m = report["machine"]
    ram = f"{m['ram_bytes'] / 2**30:.0f} GiB RAM" if m.get("ram_bytes") else "RAM unknown"
    lines = [
        "# Volume benchmark",
        "",
        f"Measured {report['date']} on {m['cores']} cores ({m['cpu']}), {ram}; Python {m['python']}, "
        f"SQLite {m['sqlite']}, PostgreSQL {m['postgresql'] or 'not used'}, Dagster {m['dagster']}, DuckDB {m['duckdb']}.",
        f"Load average (1 min) {m['load_average_at_start']:.1f} at the start, "
        f"{m.get('load_average_at_end', m['load_average_at_start']):.1f} at the end.",
        f"Command: `{report['command']}`",
        "",
        "Goals (the issue's, on this 2-core machine):",
        "",
    ]
    lines += [f"- {g.label} (set for {g.at_size})" for g in GOALS]
    lines += ["", "¹ goal shown at a size it is not set for, for the curve.", ""]
    for line in report.get("notes", []):
        lines.append(f"Note: {line}")
    if report.get("notes"):
        lines.append("")
    records = report["records"]
    for backend in BACKENDS:
        mine = [r for r in records if r["backend"] == backend]
        if not mine:
            skipped = report.get("skipped", {}).get(backend)
            if skipped:
                lines += [f"## {backend}", "", f"Not measured: {skipped}", ""]
            continue
        lines += [
            f"## {backend}",
            "",
            "| size | scale | days | feed rows | first run s | rows/s | bare load s | first ÷ bare (goal ≤ 3×) "
            "| day on history s | same day, empty s | history ÷ empty (goal ≤ 1.2×) | peak MiB (goal < 4096) | warehouse MiB |",
            "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---|---:|",
        ]
        for r in mine:
            first, bare = r["first_run"], r.get("bare_load")
            lines.append(
                f"| {r['size']} | {r['scale']:g} | {r['days']} | {r['feed_rows']:,} | {_s(first['wall_seconds'])} "
                f"| {first['rows_per_second']:,.0f} | {_s(bare['seconds'] if bare else None)} "
                f"| {_judged(r['goals']['first_run_vs_bare'])} "
                f"| {_s(r.get('day_on_history', {}).get('wall_seconds'))} | {_s(r.get('empty_day', {}).get('wall_seconds'))} "
                f"| {_judged(r['goals']['day_on_history_vs_empty_day'])} | {_judged(r['goals']['peak_memory'])} "
                f"| {r['warehouse_bytes'] / 2**20:,.1f} |"
            )
        lines += ["", "Rows per feed (the ledger's rows loaded, current file versions; bare load's rows read in brackets):", ""]
        lines += ["| size | " + " | ".join(FEED_NAMES) + " |", "|---|" + "---:|" * len(FEED_NAMES)]
        for r in mine:
            bare_rows = (r.get("bare_load") or {}).get("rows_per_feed", {})
            cells = [f"{r['rows_per_feed'][f]:,}" + (f" ({bare_rows[f]:,})" if f in bare_rows else "") for f in FEED_NAMES]
            lines.append(f"| {r['size']} | " + " | ".join(cells) + " |")
        for run, title in (
            ("first_run", "first run"),
            ("day_on_history", "day on the history"),
            ("empty_day", "same day, empty"),
        ):
            measured = [r for r in mine if run in r]
            if not measured:
                continue
            lines += ["", f"Where the time goes, {title} (seconds; steps from the run's event log):", ""]
            columns = [*STAGES, *OUTSIDE, "wall"]
            lines += ["| size | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
            for r in measured:
                st = r[run]["stages"]
                outside = r[run]["outside_steps"]
                cells = [_s(st[s]) for s in STAGES] + [_s(outside[s]) for s in OUTSIDE] + [_s(r[run]["wall_seconds"])]
                lines.append(f"| {r['size']} | " + " | ".join(cells) + " |")
        sampled = [r for r in mine if "sampled_rss_mib_by_stage" in r["first_run"]]
        if sampled:
            lines += [
                "",
                f"Peak memory by stage, first run (MiB: the largest resident set sampled every {RSS_SAMPLE_SECONDS:g} "
                "s while the stage's steps ran; the run's peak, from the kernel, last):",
                "",
            ]
            columns = [*STAGES, *OUTSIDE, "peak"]
            lines += ["| size | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
            for r in sampled:
                by = r["first_run"]["sampled_rss_mib_by_stage"]
                cells = [_mib(by[c]) for c in [*STAGES, *OUTSIDE]] + [_mib(r["first_run"]["peak_rss_mib"])]
                lines.append(f"| {r['size']} | " + " | ".join(cells) + " |")
        planned = [r for r in mine if r.get("query_plans")]
        if planned:
            r = planned[-1]
            lines += ["", f'Query plans of the "as of" reads, day on history ({r["size"]}; benchmarks/plans.py):', ""]
            for name, steps in r["query_plans"].items():
                lines += [f"- {name}:", "", "  ```", *(f"  {step}" for step in steps), "  ```"]
        lines.append("")
    backfills = report.get("backfills", [])
    if backfills:
        lines += [
            "## backfill",
            "",
            "| size | back end | report dates | inbox days | one day s | backfill s "
            "| backfill ÷ one day (goal ≤ 15× at 365) | peak MiB |",
            "|---|---|---:|---:|---:|---:|---|---:|",
        ]
        for b in backfills:
            lines.append(
                f"| {b['size']} | {b['backend']} | {b['report_dates']} | {b['inbox']['days']} "
                f"| {_s(b['one_day']['wall_seconds'])} | {_s(b['backfill']['wall_seconds'])} "
                f"| {_judged(b['goals']['backfill_vs_one_day'])} | {_mib(b['backfill']['peak_rss_mib'])} |"
            )
        lines.append("")
    lines += ["## Goals", ""]
    for goal in GOALS:
        found = [(r, r["goals"][goal.key]) for r in [*records, *backfills] if r["goals"].get(goal.key, {}).get("at_goal_size")]
        if not found:
            lines.append(
                f"- {goal.label}: not measured here (needs the {goal.at_size} size"
                + (", --backfill-days 365)" if goal.key == "backfill_vs_one_day" else ")")
            )
        for r, v in found:
            lines.append(f"- {goal.label}: {_judged(v)} ({r['size']}, {r['backend']})")
    return "\n".join(lines).rstrip() + "\n"


# --- the command -----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.volume", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="leeds,wy,national,memory", help=f"comma-separated, of {', '.join(SIZES)}")
    parser.add_argument("--backends", help="comma-separated, of sqlite, postgresql (default both; with --smoke, sqlite)")
    parser.add_argument("--days", type=int, default=60, help="days of inbox (default 60; at least 14)")
    parser.add_argument("--out", default="build/benchmarks", help="where volume.json and volume.md go")
    parser.add_argument("--work", help="where the inboxes, warehouses and DAGSTER_HOMEs go (default <out>/work)")
    parser.add_argument("--postgres-url", help="a PostgreSQL server, as a SQLAlchemy URL of a role that may CREATE DATABASE")
    parser.add_argument("--phases", default="first,day,bare", help="first (always), day (history and empty day), bare")
    parser.add_argument("--backfill-days", type=int, default=0, help="also time a backfill of this many report dates")
    parser.add_argument("--backfill-size", default="leeds", help="the size of the backfill's inbox (default leeds)")
    parser.add_argument("--clean", action="store_true", help="delete the work folder and PostgreSQL databases at the end")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"CI's smoke test: scale {SMOKE.scale:g}, {SMOKE_DAYS} days, SQLite unless --backends, "
        f"a {SMOKE_BACKFILL_DAYS}-date backfill",
    )
    args = parser.parse_args(argv)

    backends = [b.strip() for b in (args.backends or ("sqlite" if args.smoke else ",".join(BACKENDS))).split(",") if b.strip()]
    if bad := [b for b in backends if b not in BACKENDS]:
        parser.error(f"unknown back end {', '.join(bad)}")
    if args.smoke:
        sizes, days = [SMOKE], SMOKE_DAYS
        backfill_days, backfill_size = SMOKE_BACKFILL_DAYS, SMOKE
    else:
        unknown = [s for s in args.sizes.split(",") if s.strip() not in SIZES]
        if unknown:
            parser.error(f"unknown size {', '.join(unknown)} (the sizes are {', '.join(SIZES)})")
        sizes = [SIZES[s.strip()] for s in args.sizes.split(",")]
        days = args.days
        backfill_days = args.backfill_days
        if args.backfill_size not in SIZES:
            parser.error(f"unknown --backfill-size {args.backfill_size}")
        backfill_size = SIZES[args.backfill_size]
    if days < MIN_SYNTH_DAYS:
        parser.error(f"--days {days}: the generator needs at least {MIN_SYNTH_DAYS}")
    phases = {p.strip() for p in args.phases.split(",")} | {"first"}

    out = Path(args.out).resolve()
    work = Path(args.work).resolve() if args.work else out / "work"
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    skipped: dict[str, str] = {}
    notes: list[str] = []
    pg_version = None
    if "postgresql" in backends:
        if not args.postgres_url:
            skipped["postgresql"] = (
                "no server given: pass --postgres-url postgresql+psycopg2://USER:PASSWORD@HOST:PORT/postgres "
                "(a role that may CREATE DATABASE; each run gets a new database)"
            )
            print(f"postgresql: skipped — {skipped['postgresql']}", flush=True)
            backends = [b for b in backends if b != "postgresql"]
        else:
            pg_version = postgres_version(args.postgres_url)
    shown_argv = ["python", "-m", "benchmarks.volume", *(argv if argv is not None else sys.argv[1:])]
    shown = " ".join(re.sub(r"//([^:/@]+):[^@]+@", r"//\1:***@", a) for a in shown_argv)
    report: dict = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shown,
        "machine": machine(pg_version),
        "end_date": END_DATE.isoformat(),
        "seed": SEED,
        "goals": {g.key: {"label": g.label, "limit": g.limit, "unit": g.unit, "at_size": g.at_size} for g in GOALS},
        "stages": list(STAGES),
        "outside_steps": list(OUTSIDE),
        "records": [],
        "backfills": [],
        "skipped": skipped,
        "notes": notes,
    }
    pools = {b: Warehouses(b, args.postgres_url) for b in backends}
    json_path, md_path = out / "volume.json", out / "volume.md"

    def save() -> None:
        json_path.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        md_path.write_text(render_markdown(report), encoding="utf-8")

    try:
        for size in sizes:
            size_work = work / size.name
            print(f"[{size.name}] generating the inbox: scale {size.scale:g}, {days} days to {END_DATE}", flush=True)
            inbox_info = generate_inbox(size_work / "synth", size.scale, days, END_DATE)
            bare = None
            if "bare" in phases:
                print(f"[{size.name}] bare load of {inbox_info['files']} files", flush=True)
                bare = bare_load(Path(inbox_info["inbox"]), size_work / "bare_scratch")
            for backend in backends:
                record = measure_backend(size, days, inbox_info, bare, backend, pools[backend], size_work, phases)
                report["records"].append(record)
                save()
        if backfill_days > 0:
            for backend in backends:
                reuse = next(
                    (
                        r
                        for r in report["records"]
                        if r["size"] == backfill_size.name
                        and r["backend"] == backend
                        and r["days"] == max(backfill_days, MIN_SYNTH_DAYS)
                    ),
                    None,
                )
                report["backfills"].append(
                    measure_backfill(backfill_size, backfill_days, backend, pools[backend], work / backfill_size.name, reuse)
                )
                save()
    finally:
        report["machine"]["load_average_at_end"] = os.getloadavg()[0]
        save()
        if args.clean:
            for pool in pools.values():
                for warehouse in pool.made:
                    warehouse.drop()
            shutil.rmtree(work, ignore_errors=True)
    markdown = render_markdown(report)
    print(markdown)
    print(f"written: {json_path}, {md_path}")
    return report


if __name__ == "__main__":
    main()
