"""`iom-hub`: run the pipeline for a date or a range of dates, catch up, make a demo, generate synthetic inboxes, open the UI."""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from pipelines.job_names import CONFERENCE_PACKS_JOB, PERFORMANCE_PACK_JOB
from pipelines.runlock import install_instance_settings, one_run_at_a_time
from pipelines.settings import DATA_DIR, DEFAULT_DAGSTER_HOME, PROJECT_ROOT, apply_environment_defaults, today_in_london

DEMO_DIR = DATA_DIR / "demo"


def _ensure_dagster_home() -> Path:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(DEFAULT_DAGSTER_HOME)))
    home.mkdir(parents=True, exist_ok=True)
    install_instance_settings(home, PROJECT_ROOT / "dagster.yaml")
    return home


def _demo_environment() -> None:
    os.environ["IOM_INBOX"] = str(DEMO_DIR / "inbox")
    os.environ["IOM_WAREHOUSE_URL"] = f"sqlite:///{DEMO_DIR / 'warehouse.sqlite'}"
    os.environ["IOM_REPORTS_DIR"] = str(DEMO_DIR / "reports")
    os.environ["IOM_REVIEW_DIR"] = str(DEMO_DIR / "review")
    os.environ["IOM_QUALITY_DIR"] = str(DEMO_DIR / "quality")


# Exit statuses (README, "Exit statuses").
EXIT_OK = 0  # the run succeeded and every feed of every report it wrote is OK
EXIT_FAILED = 1  # a step or a blocking check failed: named on the terminal
EXIT_SETTINGS = 2  # bad settings or arguments: nothing was run
EXIT_FEED_WARNINGS = 3  # the run succeeded, but its reports carry feed warnings (a feed not OK)

# Dagster's tags for a run over a range of partitions (BackfillPolicy.single_run()).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
REPORTS_ASSET = "division_reports"
# The hub-only pages a run lists after its reports: asset, folder setting, file.
HUB_PAGES = (("review_list", "IOM_REVIEW_DIR", "review.html"), ("data_quality", "IOM_QUALITY_DIR", "quality.html"))
HUB_PAGE_LABELS = {"review_list": "linking review", "data_quality": "data quality"}


@dataclass(frozen=True)
class FeedWarning:
    report_date: date
    feed: str
    status: str
    detail: str


@dataclass
class RunOutcome:
    """What a run did, read from its own events: never from what happens to be on disk."""

    run_id: str
    first: date
    last: date
    success: bool
    failures: list[str] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)  # report folders this run wrote
    feeds_judged: int = 0  # feeds.csv rows read (feeds x report dates)
    feed_warnings: list[FeedWarning] = field(default_factory=list)
    check_warnings: list[str] = field(default_factory=list)  # failed WARN checks
    hub_pages: list[tuple[str, Path]] = field(default_factory=list)  # (asset, page)

    @property
    def exit_status(self) -> int:
        if not self.success or self.failures:
            return EXIT_FAILED
        if self.feed_warnings or self.check_warnings:
            return EXIT_FEED_WARNINGS
        return EXIT_OK

    @property
    def dates(self) -> str:
        return f"report date {self.first}" if self.first == self.last else f"report dates {self.first} to {self.last}"

    @property
    def every_feed_missing(self) -> bool:
        return (
            self.feeds_judged > 0
            and len(self.feed_warnings) == self.feeds_judged
            and all(w.status == "MISSING" for w in self.feed_warnings)
        )


def run_pipeline(first: date, last: date | None = None, log_level: str = "INFO") -> RunOutcome:
    """Run the daily job for one report date, or a range of them as one run, through
    Dagster, recorded in DAGSTER_HOME; what it did is read from the run's events."""
    last = last or first
    apply_environment_defaults()
    home = _ensure_dagster_home()
    import dagster as dg

    from pipelines.definitions import DAILY_JOB, defs

    job = defs.resolve_job_def(DAILY_JOB)
    if first == last:
        which: dict = {"partition_key": first.isoformat()}
    else:  # one run for the whole range: the partitioned steps loop over the dates
        which = {"tags": {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}}
    # The instance is opened (on a new home: its storage created) only under the lock.
    with one_run_at_a_time(home), dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            # Step-by-step debug events stay in the run's history (the UI); the terminal gets INFO.
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            **which,
        )
    outcome = RunOutcome(result.run_id, first, last, result.success)
    materialised: set[dg.AssetKey] = set()
    for event in result.all_events:
        if event.is_step_failure:
            outcome.failures.append(f"step {event.step_key} failed: {_failure_message(event.event_specific_data)}")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            check = event.event_specific_data  # an AssetCheckEvaluation
            if check.passed:
                continue
            name = f"check {check.asset_key.to_user_string()}:{check.check_name}"
            if check.severity == dg.AssetCheckSeverity.WARN:
                outcome.check_warnings.append(f"{name} warned" + (f": {check.description}" if check.description else ""))
            else:
                outcome.failures.append(f"{name} failed")
        elif event.event_type_value == "ASSET_MATERIALIZATION":
            materialization = event.event_specific_data.materialization
            materialised.add(materialization.asset_key)
            if materialization.asset_key == dg.AssetKey(REPORTS_ASSET):
                for folder in _report_folders(materialization.metadata):
                    if folder not in outcome.folders:
                        outcome.folders.append(folder)
    _read_feed_warnings(outcome)
    # The hub-only pages of the assets this run materialised (a page whose content did not
    # change is left as it was, so "written by this run" is the asset's, not the file's).
    for asset, folder, name in HUB_PAGES:
        if dg.AssetKey(asset) in materialised:
            for report_date in _dates(first, last):
                page = Path(os.environ[folder]) / report_date.isoformat() / name
                if page.is_file():
                    outcome.hub_pages.append((asset, page))
    return outcome


def _failure_message(data) -> str:  # type: ignore[no-untyped-def]
    """A failed step's reason in one line: a dg.Failure's description, else the root cause."""
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description.strip().splitlines()[0]
    error = data.error
    while error.cause is not None:  # the root cause says what is wrong; the wrappers don't
        error = error.cause
    lines = error.message.strip().splitlines()
    if not lines:
        return error.cls_name or "unknown error"
    # The project's own errors are written to be read as they are: without "module.Class: ".
    return re.sub(r"^(pipelines|warehouse)\.[\w.]+: ", "", lines[-1])


def _report_folders(metadata: dict) -> list[Path]:
    """The folders a division_reports materialisation wrote: `report_folders` (one path a
    line); from older code, its `<division>_folder` paths; else none."""
    import dagster as dg

    value = metadata.get("report_folders")
    if isinstance(value, dg.TextMetadataValue):
        return [Path(line.strip()) for line in (value.text or "").splitlines() if line.strip()]
    return [Path(v.path) for k, v in metadata.items() if k.endswith("_folder") and isinstance(v, dg.PathMetadataValue)]


def _read_feed_warnings(outcome: RunOutcome) -> None:
    """Each report date's feeds.csv (the same in every division's folder), from the folders
    this run wrote: every feed whose status is not OK."""
    by_date: dict[str, list[Path]] = {}
    for folder in outcome.folders:
        by_date.setdefault(folder.parent.name, []).append(folder)
    for day, folders in sorted(by_date.items()):
        try:
            report_date = date.fromisoformat(day)
        except ValueError:
            continue
        for folder in sorted(folders):
            try:
                with (folder / "feeds.csv").open(encoding="utf-8", newline="") as fh:
                    rows = list(csv.DictReader(fh))
            except OSError:
                continue
            outcome.feeds_judged += len(rows)
            outcome.feed_warnings += [
                FeedWarning(report_date, row.get("feed", "?"), row.get("status", "?"), (row.get("detail") or "").strip())
                for row in rows
                if row.get("status") != "OK"
            ]
            break


def _dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def print_outcome(outcome: RunOutcome) -> int:
    """The run's outcome on the terminal; returns the exit status."""
    status = outcome.exit_status
    if status == EXIT_FAILED:
        summary = "FAILED"
    elif outcome.every_feed_missing:
        summary = "finished with feed warnings: every feed is MISSING, so the reports have nothing in them (is IOM_INBOX right?)"
    elif status == EXIT_FEED_WARNINGS:
        count, unit = len(outcome.feed_warnings), "feeds" if outcome.first == outcome.last else "feed-days"
        summary = (
            f"finished with feed warnings ({count} of {outcome.feeds_judged} {unit} not OK)"
            if count
            else "finished with warnings"
        )
    else:
        summary = "succeeded"
    print(f"run {outcome.run_id} for {outcome.dates}: {summary}")
    for failure in outcome.failures:
        print(f"  {failure}")
    one_date = outcome.first == outcome.last
    for w in outcome.feed_warnings:
        when = "" if one_date else f"{w.report_date} "
        print(f"warning: {when}{w.feed} {w.status}" + (f" — {w.detail}" if w.detail else ""))
    if not outcome.feed_warnings:
        for warning in outcome.check_warnings:
            print(f"warning: {warning}")
    if outcome.folders:
        by_date: dict[Path, list[Path]] = {}
        for folder in outcome.folders:
            by_date.setdefault(folder.parent, []).append(folder)
        for parent, folders in sorted(by_date.items()):
            print(f"reports: {parent}")
            for folder in sorted(folders):
                print(f"  {folder / 'report.html'}")
    elif status == EXIT_FAILED:
        print("no reports were written by this run")
    for asset, page in outcome.hub_pages:
        print(f"{HUB_PAGE_LABELS[asset]} (hub only, never delivered): {page}")
    return status


def _first_report_date() -> date:
    return date.fromisoformat(os.environ["IOM_FIRST_REPORT_DATE"])


def settings_problems() -> list[str]:
    """Problems with the settings that would fail every step: better said once, plainly,
    each in one line naming the setting, before a run."""
    apply_environment_defaults()
    from pipelines.executors import executor_problem
    from pipelines.settings import ConfigError, load_hub_config, umask_problem
    from pipelines.sources.open import InboxConfigError, open_inbox
    from warehouse.connect import WarehouseError
    from warehouse.db import open_warehouse

    problems = []
    try:
        _first_report_date()
    except ValueError:
        problems.append(f"IOM_FIRST_REPORT_DATE: {os.environ['IOM_FIRST_REPORT_DATE']!r} is not a date (YYYY-MM-DD)")
    if (problem := umask_problem()) is not None:
        problems.append(problem)
    if (problem := executor_problem()) is not None:
        problems.append(problem)
    settle = os.environ["IOM_SETTLE_SECONDS"]
    if not settle.strip().isdigit():
        problems.append(f"IOM_SETTLE_SECONDS: {settle!r} is not a whole number of seconds")
    try:
        open_inbox(os.environ["IOM_INBOX"])
    except InboxConfigError as exc:
        problems.append(str(exc))
    try:
        load_hub_config(os.environ["IOM_CONFIG"])
    except ConfigError as exc:
        problems.append(str(exc))
    try:  # last: a database server that is down is retried for a while (IOM_DB_RETRIES)
        open_warehouse(os.environ["IOM_WAREHOUSE_URL"], owned_folder=DATA_DIR).dispose()
    except WarehouseError as exc:
        problems.append(str(exc))
    return problems


def date_problems(first: date, last: date) -> list[str]:
    """Report dates must be partitions: IOM_FIRST_REPORT_DATE to today (Europe/London)."""
    try:
        earliest = _first_report_date()
    except ValueError:
        return []  # said by settings_problems
    latest = today_in_london()
    return [
        f"report date {d} is outside {earliest} (IOM_FIRST_REPORT_DATE) to {latest} (today, Europe/London)"
        for d in dict.fromkeys((first, last))
        if not earliest <= d <= latest
    ]


def preflight(first: date, last: date | None = None) -> list[str]:
    """Everything that would fail a run for these report dates, each in one line."""
    apply_environment_defaults()
    return date_problems(first, last or first) + settings_problems()


def _refuse(problems: list[str]) -> int:
    for problem in problems:
        print(f"iom-hub: {problem}", file=sys.stderr)
    return EXIT_SETTINGS


def run_dates(first: date, last: date, verbose: bool = False, *, settings_checked: bool = False) -> int:
    """`run`, `backfill` and `catch-up`: the preflight, one run, its outcome and exit status."""
    problems = date_problems(first, last) if settings_checked else preflight(first, last)
    if problems:
        return _refuse(problems)
    return print_outcome(run_pipeline(first, last, "DEBUG" if verbose else "INFO"))


def cmd_run(args: argparse.Namespace) -> int:
    return run_dates(args.date, args.date, args.verbose)


def cmd_backfill(args: argparse.Namespace) -> int:
    if args.from_date > args.to_date:
        return _refuse([f"--from {args.from_date} is after --to {args.to_date}"])
    return run_dates(args.from_date, args.to_date, args.verbose)


def newest_report_date() -> date | None:
    """The newest report date whose division reports are materialised in DAGSTER_HOME."""
    _ensure_dagster_home()
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        keys = instance.get_materialized_partitions(dg.AssetKey(REPORTS_ASSET))
    dates = []
    for key in keys:
        try:
            dates.append(date.fromisoformat(key))
        except ValueError:
            continue
    return max(dates, default=None)


def catch_up_dates(newest: date | None, today: date, earliest: date, days: int) -> tuple[date, date] | None:
    """The report dates a catch-up runs: from the day after the newest report made (or,
    when none ever was, the last `days` report dates) to today; None when up to date."""
    if newest is not None and newest >= today:
        return None
    first = newest + timedelta(days=1) if newest is not None else today - timedelta(days=days - 1)
    return max(first, earliest), today


def cmd_catch_up(args: argparse.Namespace) -> int:
    """After an outage, one action: every report date after the newest one made, up to today."""
    if args.days < 1:
        return _refuse([f"--days {args.days}: give 1 or more"])
    problems = settings_problems()
    if problems:
        return _refuse(problems)
    today, newest = today_in_london(), newest_report_date()
    home = os.environ["DAGSTER_HOME"]
    dates = catch_up_dates(newest, today, _first_report_date(), args.days)
    if dates is None:
        print(f"nothing to catch up: the reports are up to date (newest report date made: {newest}; DAGSTER_HOME={home})")
        return EXIT_OK
    first, last = dates
    count = (last - first).days + 1
    if newest is None:
        print(f"no report has been made yet (DAGSTER_HOME={home}): catching up the last {count} report date(s), "
              f"{first} to {last}; for earlier dates use iom-hub backfill --from D1 --to D2", flush=True)  # fmt: skip
    else:
        print(f"newest report date made: {newest}; catching up {first} to {last} ({count} report date(s)) in one run", flush=True)
    return run_dates(first, last, args.verbose, settings_checked=True)


def cmd_pack(args: argparse.Namespace) -> int:
    """`pack`: the case-conference packs for a date, as one Dagster run of conference_packs
    (shown in the UI's history), from what the warehouse holds: the daily run for that date
    (`iom-hub run --date D` or the morning schedule) must have loaded it first."""
    problems = preflight(args.date)
    if problems:
        return _refuse(problems)
    from pipelines.settings import load_hub_config
    from pipelines.store import register_in_force

    divisions = list(dict.fromkeys(d.strip().upper() for d in args.division or []))
    known = load_hub_config(os.environ["IOM_CONFIG"]).divisions
    unknown = [d for d in divisions if d not in known]
    if unknown:
        return _refuse([f"unknown division {', '.join(unknown)} (the divisions are {', '.join(known)})"])
    if register_in_force(_warehouse(), args.date)[0] is None:
        return _refuse([f"the warehouse holds no cohort register dated on or before {args.date}: "
                        f"run `iom-hub run --date {args.date}` first, then make the pack"])  # fmt: skip
    return print_product(
        run_product(CONFERENCE_PACKS_JOB, args.date.isoformat(), {"divisions": divisions or None}, args.verbose),
        f"conference packs of {args.date}",
    )


@dataclass
class ProductRun:
    run_id: str
    ok: bool
    failures: list[str]
    paths: list[str]


def run_product(job_name: str, partition: str, asset_config: dict | None = None, verbose: bool = False) -> ProductRun:
    """One run of a product's job (a case-conference pack, the performance pack) for one
    partition, through Dagster and recorded in DAGSTER_HOME; the files or folders it wrote
    are read from its materialisation's metadata (``pack_files`` or ``pack_folders``)."""
    home = _ensure_dagster_home()
    import dagster as dg

    from pipelines.definitions import defs

    job = defs.resolve_job_def(job_name)
    (asset,) = [key.path[-1] for key in job.asset_layer.executable_asset_keys]
    run_config: dict = {"loggers": {"console": {"config": {"log_level": "DEBUG" if verbose else "INFO"}}}}
    if asset_config is not None:
        run_config["ops"] = {asset: {"config": asset_config}}
    with one_run_at_a_time(home), dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False, partition_key=partition, run_config=run_config)
    failures = [_failure_message(e.event_specific_data) for e in result.all_events if e.is_step_failure]
    paths = [
        line.strip()
        for m in result.asset_materializations_for_node(asset)
        for key in ("pack_files", "pack_folders")
        if key in m.metadata
        for line in (m.metadata[key].value or "").splitlines()
        if line.strip()
    ]
    return ProductRun(result.run_id, result.success and not failures, failures, paths)


def print_product(run: ProductRun, what: str) -> int:
    print(f"run {run.run_id} for {what}: {'succeeded' if run.ok else 'FAILED'}")
    for line in [*run.failures, *run.paths]:
        print(f"  {line}")
    return EXIT_OK if run.ok else EXIT_FAILED


def cmd_performance_pack(args: argparse.Namespace) -> int:
    """`performance-pack`: the month's performance pack, per division and ALL, from the
    traffic light as the daily runs stored it (the run for the 1st of the next month
    completes a month)."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", args.month):
        return _refuse([f"--month {args.month!r}: give a month as YYYY-MM, e.g. 2026-11"])
    first = date.fromisoformat(f"{args.month}-01")
    problems = preflight(max(first, _first_report_date()), min(today_in_london(), _month_end(first)))
    if problems:
        return _refuse(problems)
    return print_product(
        run_product(PERFORMANCE_PACK_JOB, args.month, verbose=args.verbose), f"the performance pack of {args.month}"
    )


def _month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def cmd_synth(args: argparse.Namespace) -> int:
    from pipelines.synth import generate

    summary = generate(
        Path(args.out),
        end_date=args.end_date,
        days=args.days,
        seed=args.seed,
        scale=args.scale,
        identifierless_share=args.identifierless_share,
    )
    print(f"synthetic inbox: {summary.inbox} ({summary.files} files); ground truth: {summary.truth}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pipelines.synth import generate

    _demo_environment()
    apply_environment_defaults()
    if DEMO_DIR.exists():
        shutil.rmtree(DEMO_DIR)  # a demo starts from nothing: same seed, same result
    report_date = args.date or today_in_london()
    summary = generate(DEMO_DIR, end_date=report_date, days=args.days, seed=args.seed)
    print(f"synthetic inbox for {summary.first_date} to {summary.end_date}: {summary.inbox} ({summary.files} files)")
    status = print_outcome(run_pipeline(report_date))
    if status in (EXIT_OK, EXIT_FEED_WARNINGS):
        status = EXIT_FAILED if _demo_products(report_date) != EXIT_OK else status
    print(f"warehouse: {os.environ['IOM_WAREHOUSE_URL']}")
    print("explore the run in the Dagster UI: iom-hub ui --demo")
    # The generated inbox holds late and faulty files on purpose: the warnings above are
    # the demo working, so they do not make the demo command fail.
    return EXIT_OK if status == EXIT_FEED_WARNINGS else status


def _demo_products(report_date: date) -> int:
    """The monthly products, as their schedules make them: the performance packs of this
    month so far (the report's tiles link to it) and of last month, and one division's
    case-conference pack for the report date (every division's takes a few minutes more:
    iom-hub pack --date D)."""
    from pipelines.settings import load_hub_config

    month = report_date - timedelta(days=1)
    last_month = month.replace(day=1) - timedelta(days=1)
    division = next(iter(load_hub_config(os.environ["IOM_CONFIG"]).divisions))
    runs = [(run_product(PERFORMANCE_PACK_JOB, f"{m:%Y-%m}"), f"the performance pack of {m:%Y-%m}") for m in (last_month, month)]
    runs.append((run_product(CONFERENCE_PACKS_JOB, report_date.isoformat(), {"divisions": [division]}),
                 f"the {division} case-conference pack of {report_date}"))  # fmt: skip
    return EXIT_FAILED if EXIT_FAILED in [print_product(run, what) for run, what in runs] else EXIT_OK


def cmd_ui(args: argparse.Namespace) -> int:
    """The Dagster webserver and daemon (schedules, sensors, run queue) on this project.

    Started from DAGSTER_HOME so the instance settings there are the only ones in play.
    """
    if args.demo:
        _demo_environment()
    apply_environment_defaults()
    home = _ensure_dagster_home()
    if not (home / "history" / "runs.db").exists():  # SQLite run storage (dagster.yaml) not made yet
        # A new home's storage is made here, once, under the CLI's lock: not by the daemon
        # and the webserver racing each other (or an `iom-hub run` started beside them).
        import dagster as dg

        with one_run_at_a_time(home), dg.DagsterInstance.get():
            pass
    bin_dir = Path(sys.executable).parent
    workspace = str(PROJECT_ROOT / "workspace.yaml")
    webserver = [str(bin_dir / "dagster-webserver"), "-w", workspace, "-h", args.host, "-p", str(args.port)]
    daemon = [str(bin_dir / "dagster-daemon"), "run", "-w", workspace]
    # Stop cleanly on Ctrl-C or SIGTERM, even when started in the background (where
    # SIGINT is ignored by inheritance): the children are stopped, not orphaned.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    processes = [subprocess.Popen(command, cwd=home) for command in (daemon, webserver)]
    print(f"Dagster UI on http://{args.host}:{args.port} (DAGSTER_HOME={home}); Ctrl-C stops it")
    try:
        return processes[1].wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def cmd_worker(args: argparse.Namespace) -> int:
    """A Celery worker for the runs' steps (IOM_EXECUTOR=celery): it takes steps off the
    queue, one per process at a time, until stopped (SIGTERM: it finishes the steps it has
    first).  Start one or more on each machine; each needs the same settings as a run."""
    from pipelines.executors import QUEUE, executor_name

    apply_environment_defaults()
    problems = settings_problems()
    if executor_name() != "celery":
        problems.append("IOM_EXECUTOR: a worker runs the steps of runs made with IOM_EXECUTOR=celery; set it (and "
                        "IOM_CELERY_BROKER, IOM_CELERY_BACKEND) for the worker as for the code server")  # fmt: skip
    if args.concurrency < 1:
        problems.append(f"--concurrency {args.concurrency}: a worker needs at least one process")
    if problems:
        return _refuse(problems)
    home = _ensure_dagster_home()
    command = [sys.executable, "-m", "celery", "-A", "pipelines.celery_app", "worker", "--queues", QUEUE,
               "--hostname", f"{args.name}@%h", "--concurrency", str(args.concurrency), "--loglevel", "INFO"]  # fmt: skip
    sys.stdout.flush()
    os.chdir(home)
    os.execv(sys.executable, command)  # the worker is this process: signals reach Celery itself


def cmd_migrate(_: argparse.Namespace) -> int:
    engine = _warehouse()
    print(f"warehouse schema is up to date ({engine.url.render_as_string(hide_password=True)})")
    return EXIT_OK


def _warehouse():
    """The warehouse, checked and migrated; a problem is a WarehouseError (main: exit 2)."""
    apply_environment_defaults()
    from warehouse.db import open_warehouse, upgrade_or_explain

    engine = open_warehouse(os.environ["IOM_WAREHOUSE_URL"], owned_folder=DATA_DIR)
    upgrade_or_explain(engine)
    return engine


def _decided_by(args: argparse.Namespace) -> str:
    return args.by or os.environ.get("USER") or os.environ.get("LOGNAME") or ""


def cmd_review_decide(args: argparse.Namespace) -> int:
    from pipelines.review import Decision, DecisionError, record_decisions

    decision = Decision(args.feed, args.subject, args.iom_id, args.decision, args.note)
    try:
        record_decisions(_warehouse(), [decision], _decided_by(args), source="iom-hub review")
    except DecisionError as exc:
        print(f"iom-hub: {exc}", file=sys.stderr)
        return 2
    print(f"recorded: {args.decision} for that {args.feed} record and {args.iom_id.upper()}; the next run applies it")
    return 0


def cmd_review_load(args: argparse.Namespace) -> int:
    from pipelines.review import DecisionError, read_decisions_csv, record_decisions

    path = Path(args.csv)
    try:
        count = record_decisions(_warehouse(), read_decisions_csv(path), _decided_by(args), source=f"csv:{path.name}")
    except DecisionError as exc:
        print(f"iom-hub: {exc} (nothing was recorded)", file=sys.stderr)
        return 2
    print(f"recorded {count} decision(s) from {path}; rows with a blank decision stay pending")
    return 0


def cmd_review_list(args: argparse.Namespace) -> int:
    from pipelines.reports.review_page import review_items

    items = review_items(_warehouse(), args.date or today_in_london())
    print(f"{len(items)} record(s) waiting for review (details: {os.environ['IOM_REVIEW_DIR']}/<date>/review.html)")
    for item in items:
        weights = ", ".join(f"{c.iom_id} {c.match_weight if c.match_weight is not None else 'id'}" for c in item.candidates)
        print(f"  {item.feed} {item.subject!r}: {item.reason} [{weights}]")
    return 0


def cmd_review_history(_: argparse.Namespace) -> int:
    from pipelines.review import decision_history

    history = decision_history(_warehouse())
    for row in history.itertuples():
        print(f"{row.decided_at:%Y-%m-%dT%H:%M:%S}Z {row.decided_by} {row.decision} {row.feed} {row.subject!r} {row.iom_id} "
              f"({row.source})")  # fmt: skip
    print(f"{len(history)} decision(s)")
    return 0


def cmd_grant(args: argparse.Namespace) -> int:
    from warehouse.roles import RoleError, grant, roles_from_env

    try:
        roles = roles_from_env(args.analyst_role, args.pipeline_role)
        views = grant(_warehouse(), roles)
    except RoleError as exc:
        return _refuse([str(exc)])
    print(f"role {roles.analyst} (NOLOGIN) may read only: {', '.join(views)}")
    print(f"role {roles.pipeline} (NOLOGIN) may read and write every table; grant either to a login role "
          f"(GRANT {roles.analyst} TO <login>)")  # fmt: skip
    return EXIT_OK


def cmd_retention(args: argparse.Namespace) -> int:
    from pipelines import retention
    from pipelines.settings import ConfigError, load_hub_config, pseudonym_key

    apply_environment_defaults()
    try:
        periods = load_hub_config(os.environ["IOM_CONFIG"]).retention
        key = pseudonym_key() if args.apply else b""
    except ConfigError as exc:
        return _refuse([str(exc)])
    by = _decided_by(args)
    if args.apply and not by.strip():
        return _refuse(["who erases is blank: pass --by NAME"])
    engine, as_of = _warehouse(), args.date or today_in_london()
    if args.apply:
        erasures = retention.apply(engine, periods, as_of, by, key)
    else:
        erasures = retention.plan(engine, periods, as_of)
    print(f"retention as of {as_of} ({retention.NON_COHORT}: {periods.non_cohort_days} days after the file's date; "
          f"{retention.AFTER_DESELECTION}: {periods.after_deselection_days} days after deselection)"
          + ("" if args.apply else ", dry run: nothing is erased"))  # fmt: skip
    verb = "erased" if args.apply else "would erase"
    for e in erasures:
        print(f"  {e.rule}: {e.table}: {verb} {e.rows} row(s) of {e.people} people")
    total = sum(e.rows for e in erasures)
    if args.apply:
        print(f"{total} row(s) erased by {by.strip()}; recorded in erasure_log and audit_event")
    else:
        print(f"{total} row(s) would be erased; iom-hub retention --apply erases them")
    return EXIT_OK


def cmd_linkage_report(args: argparse.Namespace) -> int:
    import json
    import tempfile

    from pipelines.linkage.measurement import MEASURED_PATH, measure
    from pipelines.settings import load_hub_config

    apply_environment_defaults()
    thresholds = load_hub_config(os.environ["IOM_CONFIG"]).linking
    with tempfile.TemporaryDirectory(prefix="iom-linkage-") as tmp:
        result = measure(
            Path(tmp), end_date=args.end_date, days=args.days, seed=args.seed, share=args.share, thresholds=thresholds
        )
    figures = {**result.figures(), "link_at": thresholds.link_at, "review_at": thresholds.review_at,
               "days": args.days, "seed": args.seed, "share": args.share}  # fmt: skip
    print(f"linkage on a generated {args.days}-day inbox (seed {args.seed}, identifier-less share {args.share}), "
          f"link_at {thresholds.link_at}, review_at {thresholds.review_at}:")  # fmt: skip
    print(f"  precision of reportable links (identifier-less records): {result.precision:.4%} "
          f"({result.wrong_reportable_links} wrong of {result.reportable_links})")  # fmt: skip
    print(f"  recall (members' records with one variation): {result.recall:.2%} "
          f"({result.variation_linked_right} of {result.variation_records}; "
          f"{result.variation_to_review} on review, {result.variation_lost} lost)")  # fmt: skip
    print(f"  no date of birth or a changed surname: {result.missing_linked_right} of {result.missing_records} linked, "
          f"{result.missing_to_review} on review")  # fmt: skip
    print(f"  decoys: {result.decoy_records} records, {result.decoy_reported} in a report")
    for kind, recall in result.recall_by_variation.items():
        print(f"    recall {kind}: {recall:.1%}")
    if args.publish:
        MEASURED_PATH.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"published: {MEASURED_PATH}")
    return 0


def cmd_linkage_train(args: argparse.Namespace) -> int:
    from pipelines.linkage.training import train_and_save

    path = train_and_save(end_date=args.end_date, days=args.days, seed=args.seed, share=args.share)
    print(f"model parameters written to {path}; run iom-hub linkage-report to measure them")
    return 0


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="iom-hub", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the whole pipeline for one report date")
    run.add_argument("--date", type=_date, required=True, help="report date D (YYYY-MM-DD)")
    run.add_argument("--verbose", action="store_true", help="show every Dagster event, not just INFO")
    run.set_defaults(fn=cmd_run)

    backfill = sub.add_parser("backfill", help="run the whole pipeline for a range of report dates, as one Dagster run")
    backfill.add_argument("--from", dest="from_date", type=_date, required=True, help="first report date (YYYY-MM-DD)")
    backfill.add_argument("--to", dest="to_date", type=_date, required=True, help="last report date (YYYY-MM-DD)")
    backfill.add_argument("--verbose", action="store_true", help="show every Dagster event, not just INFO")
    backfill.set_defaults(fn=cmd_backfill)

    catch_up = sub.add_parser(
        "catch-up", help="after an outage: every report date after the newest one made, up to today, as one Dagster run"
    )
    catch_up.add_argument(
        "--days", type=int, default=7, help="when no report was ever made: catch up this many report dates, to today (default 7)"
    )
    catch_up.add_argument("--verbose", action="store_true", help="show every Dagster event, not just INFO")
    catch_up.set_defaults(fn=cmd_catch_up)

    pack = sub.add_parser(
        "pack", help="the case-conference packs (HTML, PDF, XLSX) for a date, from what the daily run for it loaded"
    )
    pack.add_argument("--date", type=_date, required=True, help="conference date D (YYYY-MM-DD)")
    pack.add_argument(
        "--division", action="append", help="a division code, e.g. CH (repeat for several; default: every division)"
    )
    pack.add_argument("--verbose", action="store_true", help="show every Dagster event, not just INFO")
    pack.set_defaults(fn=cmd_pack)

    performance = sub.add_parser(
        "performance-pack", help="the month's performance pack (HTML, PDF, XLSX), per division and ALL, from the traffic light"
    )
    performance.add_argument("--month", required=True, help="the month, YYYY-MM (the month in progress shows it to date)")
    performance.add_argument("--verbose", action="store_true", help="show every Dagster event, not just INFO")
    performance.set_defaults(fn=cmd_performance_pack)

    demo = sub.add_parser("demo", help="make a realistic synthetic inbox under data/demo and run the latest day")
    demo.add_argument("--date", type=_date, help="report date (default: today, Europe/London)")
    demo.add_argument("--days", type=int, default=60)
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(fn=cmd_demo)

    synth = sub.add_parser("synth", help="generate a seeded synthetic inbox with its ground truth")
    synth.add_argument("--out", required=True, help="output folder (inbox/, truth.json, redeliveries/)")
    synth.add_argument("--end-date", type=_date, default=None, help="newest file date (default: today)")
    synth.add_argument("--days", type=int, default=60)
    synth.add_argument("--seed", type=int, default=7)
    synth.add_argument("--scale", type=float, default=1.0, help="population and volume multiplier")
    synth.add_argument(
        "--identifierless-share",
        type=float,
        default=0.1,
        help="fraction of members' court and attendance rows (half for arrests) written without "
        "identifiers, with one variation of name or date of birth (default 0.1)",
    )
    synth.set_defaults(fn=cmd_synth)

    ui = sub.add_parser("ui", help="start the Dagster UI on this project")
    ui.add_argument("--demo", action="store_true", help="point it at the demo's inbox and warehouse")
    ui.add_argument("--port", type=int, default=3000)
    ui.add_argument("--host", default="127.0.0.1")
    ui.set_defaults(fn=cmd_ui)

    worker = sub.add_parser("worker", help="a Celery worker for the runs' steps (IOM_EXECUTOR=celery; docs/scaling.md)")
    worker.add_argument("--name", default="iom-worker", help="the worker's name (its host is added: NAME@host)")
    worker.add_argument("--concurrency", type=int, default=1, help="steps it runs at once, one process each (default 1)")
    worker.set_defaults(fn=cmd_worker)

    migrate = sub.add_parser("migrate", help="bring the warehouse schema up to date")
    migrate.set_defaults(fn=cmd_migrate)

    review = sub.add_parser("review", help="the hub's linking review: decide pairs, load a filled-in review.csv")
    actions = review.add_subparsers(dest="action", required=True)
    for decision in ("accept", "reject"):
        act = actions.add_parser(
            decision, help=f"{decision} a pair: this record is{'' if decision == 'accept' else ' not'} that member"
        )
        act.add_argument("feed", help="arrests, court_results, attendance or prison_releases")
        act.add_argument("subject", help="the record's subject, as the review page shows it")
        act.add_argument("iom_id", help="the member")
        act.add_argument("--by", help="who decides (default: $USER)")
        act.add_argument("--note", help="why, for the audit trail (no personal data)")
        act.set_defaults(fn=cmd_review_decide, decision=decision)
    load = actions.add_parser("load", help="record the decisions filled in on a review.csv")
    load.add_argument("csv")
    load.add_argument("--by", help="who decided (default: $USER)")
    load.set_defaults(fn=cmd_review_load)
    pending = actions.add_parser("list", help="what is waiting for review (identifiers and weights, no names)")
    pending.add_argument("--date", type=_date, help="as of report date (default: today)")
    pending.set_defaults(fn=cmd_review_list)
    history = actions.add_parser("history", help="every decision recorded: who, when, what")
    history.set_defaults(fn=cmd_review_history)

    grant = sub.add_parser(
        "grant", help="PostgreSQL: create or update the analyst role (pseudonymised views only) and the pipeline role"
    )
    grant.add_argument("--analyst-role", help="analyst group role (default: $IOM_ANALYST_ROLE or iom_analyst)")
    grant.add_argument("--pipeline-role", help="pipeline group role (default: $IOM_PIPELINE_ROLE or iom_pipeline)")
    grant.set_defaults(fn=cmd_grant)

    keep = sub.add_parser("retention", help="erase personal data past its retention period (dry run unless --apply)")
    keep.add_argument("--apply", action="store_true", help="erase (default: only say what would be erased)")
    keep.add_argument("--date", type=_date, help="count the periods back from this date (default: today)")
    keep.add_argument("--by", help="who erases, for the erasure log (default: $USER)")
    keep.set_defaults(fn=cmd_retention)

    report = sub.add_parser("linkage-report", help="measure linking precision and recall on a generated inbox")
    train = sub.add_parser("linkage-train", help="re-estimate the linkage model's parameters (writes model.json)")
    for command, seed in ((report, 11), (train, 23)):
        command.add_argument("--end-date", type=_date, default=date(2026, 11, 23))
        command.add_argument("--days", type=int, default=60)
        command.add_argument("--seed", type=int, default=seed)
        command.add_argument("--share", type=float, default=0.5, help="share of members' records without identifiers")
    report.add_argument("--publish", action="store_true", help="write the figures to pipelines/linkage/measured.json")
    report.set_defaults(fn=cmd_linkage_report)
    train.set_defaults(fn=cmd_linkage_train)

    args = parser.parse_args(argv)
    if getattr(args, "end_date", "unset") is None:
        args.end_date = today_in_london()
    from warehouse.connect import WarehouseError

    try:
        return int(args.fn(args))
    except WarehouseError as exc:  # IOM_WAREHOUSE_URL or IOM_DB_*: said in one line
        return _refuse([str(exc)])


if __name__ == "__main__":
    sys.exit(main())
