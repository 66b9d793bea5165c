"""The production profile against the single process, on the same inbox and warehouse
server: which profile to use at which volume (docs/scaling.md).

    .venv/bin/python -m benchmarks.profiles --postgres-url postgresql+psycopg2://USER:PASS@127.0.0.1:5432/postgres \\
        --redis-url redis://:PASS@127.0.0.1:6379 --scale 5 --workers 2 --out build/bench-profile

For one inbox (`iom-hub synth --scale S`, 60 days to 2026-11-23) it measures two runs in
each profile, each on a fresh PostgreSQL warehouse: the first run (the whole backlog, for
the day before the last) and the last day on top of it.

* **in-process**: `iom-hub run --date D` (every step in one process, Dagster's storage
  in SQLite), its wall time;
* **celery**: the code server, N workers, the daemon and the webserver (tests/production.py,
  as docs/scaling.md starts them), Dagster's storage in PostgreSQL, the run launched
  through the webserver as the UI does; the time from launch to the run's end, and the
  run's own time (its first event to its last), and how many steps each worker took.

Writes `profile.json` and `profile.md` under `--out`.  Timing is this report's, never a
test's verdict.  The PostgreSQL role must be allowed to CREATE DATABASE.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from benchmarks.volume import END_DATE, Warehouses, generate_inbox, hub_environment, hub_run, postgres_version
from tests.browser import launch_run, load_location, run_events, wait_for_run
from tests.production import profile_environment, start_processes, step_takings

DAYS = 60


def in_process(work: Path, inbox: Path, warehouses: Warehouses) -> dict:
    warehouse = warehouses.fresh(work / "in_process", "profile_in_process")
    env = hub_environment(work / "in_process", inbox, warehouse.url, work / "in_process" / "dagster_home")
    env["IOM_FIRST_REPORT_DATE"] = (END_DATE - timedelta(days=DAYS)).isoformat()
    found = {}
    for phase, day in (("first", END_DATE - timedelta(days=1)), ("day", END_DATE)):
        print(f"[in-process] iom-hub run --date {day}", flush=True)
        run = hub_run(["run", "--date", day.isoformat()], env, work / "in_process", phase, warehouse, day)
        found[phase] = {"wall_seconds": run["wall_seconds"], "peak_rss_mib": run["peak_rss_mib"]}
    return found


def celery(work: Path, inbox: Path, warehouses: Warehouses, redis_url: str, workers: int, concurrency: int) -> dict:
    root = work / "celery"
    warehouse = warehouses.fresh(root, "profile_celery")
    dagster_db = warehouses.fresh(root / "dagster", "profile_dagster")
    url = sa.make_url(dagster_db.url)
    dagster_pg = {"host": url.host or "127.0.0.1", "port": str(url.port or 5432), "db": url.database or "",
                  "user": url.username or "", "password": url.password or ""}  # fmt: skip
    base = hub_environment(root, inbox, warehouse.url, root / "dagster_home")
    base["IOM_FIRST_REPORT_DATE"] = (END_DATE - timedelta(days=DAYS)).isoformat()
    env = profile_environment(base, home=root / "dagster_home", warehouse_url=warehouse.url, dagster_pg=dagster_pg,
                              broker=f"{redis_url.rstrip('/')}/0", backend=f"{redis_url.rstrip('/')}/1")  # fmt: skip
    names = [f"w{i + 1}" for i in range(workers)]
    print(f"[celery] starting the code server, {workers} worker(s), the daemon and the webserver", flush=True)
    processes = start_processes(env, root / "logs", names, concurrency)
    found = {}
    try:
        location = load_location(processes.ui)
        for phase, day in (("first", END_DATE - timedelta(days=1)), ("day", END_DATE)):
            print(f"[celery] the daily job for {day}, launched through the webserver", flush=True)
            started = time.monotonic()
            run_id = launch_run(processes.ui, location, "daily_pipeline", {"dagster/partition": day.isoformat()})
            status = wait_for_run(processes.ui, run_id, timeout=6 * 3600, poll=1)
            wall = time.monotonic() - started
            events = run_events(processes.ui, run_id)
            stamps = [float(e["timestamp"]) / 1000 for e in events if e.get("timestamp")]
            takings = Counter(worker.split("@")[0] for _, worker in step_takings(events) if worker)
            if status != "SUCCESS":
                raise SystemExit(f"the celery run for {day} ended {status}; logs under {root / 'logs'}")
            found[phase] = {"wall_seconds": wall, "run_seconds": max(stamps) - min(stamps), "steps_by_worker": dict(takings)}
    finally:
        processes.stop()
    return found


def write_report(out: Path, record: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "profile.json").write_text(json.dumps(record, indent=2) + "\n")
    inp, cel = record["in_process"], record["celery"]
    lines = [
        "# Profile benchmark",
        "",
        f"Measured {record['measured_at']} on {record['machine']}; PostgreSQL {record['postgresql']}.",
        f"Inbox: scale {record['scale']:g}, {DAYS} days to {END_DATE}; {record['workers']} worker(s), "
        f"concurrency {record['concurrency']} each.",
        "",
        "| run | in-process s | celery, launch to end s | celery, the run itself s | celery ÷ in-process | steps by worker |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for phase, label in (("first", "first run (the backlog)"), ("day", "a day on history")):
        ratio = cel[phase]["wall_seconds"] / inp[phase]["wall_seconds"]
        steps = ", ".join(f"{w}: {n}" for w, n in sorted(cel[phase]["steps_by_worker"].items()))
        lines.append(
            f"| {label} | {inp[phase]['wall_seconds']:.1f} | {cel[phase]['wall_seconds']:.1f} | "
            f"{cel[phase]['run_seconds']:.1f} | {ratio:.2f}× | {steps} |"
        )
    (out / "profile.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres-url", required=True, help="a role that may CREATE DATABASE (SQLAlchemy URL)")
    parser.add_argument("--redis-url", required=True, help="redis://:PASSWORD@HOST:PORT (databases 0 and 1 are used)")
    parser.add_argument("--scale", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("build/bench-profile"))
    args = parser.parse_args(argv)
    version = postgres_version(args.postgres_url)
    args.out = args.out.resolve()  # the runs start in folders of their own
    work = args.out / "work"
    warehouses = Warehouses("postgresql", args.postgres_url)
    print(f"[profile] generating the inbox: scale {args.scale:g}, {DAYS} days to {END_DATE}", flush=True)
    inbox = Path(generate_inbox(work / "synth", args.scale, DAYS, END_DATE)["inbox"])
    record = {
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}",
        "postgresql": version,
        "scale": args.scale,
        "workers": args.workers,
        "concurrency": args.concurrency,
        "in_process": in_process(work, inbox, warehouses),
        "celery": celery(work, inbox, warehouses, args.redis_url, args.workers, args.concurrency),
    }
    write_report(args.out, record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
