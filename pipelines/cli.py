"""`iom-hub`: run the pipeline for a date, make a demo, generate synthetic inboxes, open the UI."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

from pipelines.settings import DATA_DIR, DEFAULT_DAGSTER_HOME, PROJECT_ROOT, apply_environment_defaults, today_in_london

DEMO_DIR = DATA_DIR / "demo"


def _ensure_dagster_home() -> Path:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(DEFAULT_DAGSTER_HOME)))
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    return home


def _demo_environment() -> None:
    os.environ["IOM_INBOX"] = str(DEMO_DIR / "inbox")
    os.environ["IOM_WAREHOUSE_URL"] = f"sqlite:///{DEMO_DIR / 'warehouse.sqlite'}"
    os.environ["IOM_REPORTS_DIR"] = str(DEMO_DIR / "reports")


def run_pipeline(report_date: date, log_level: str = "INFO") -> bool:
    """Run the daily job for one report date through Dagster, recorded in DAGSTER_HOME."""
    apply_environment_defaults()
    _ensure_dagster_home()
    import dagster as dg

    from pipelines.definitions import DAILY_JOB, defs

    job = defs.resolve_job_def(DAILY_JOB)
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            partition_key=report_date.isoformat(),
            instance=instance,
            raise_on_error=False,
            # Step-by-step debug events stay in the run's history (the UI); the terminal gets INFO.
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        )
    failed = [e for e in result.all_events if e.is_step_failure]
    checks = [
        e.event_specific_data  # an AssetCheckEvaluation
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    failed_checks = [c for c in checks if not c.passed]
    print(f"run {result.run_id} for report date {report_date}: {'succeeded' if result.success else 'FAILED'}")
    for event in failed:
        error = event.event_specific_data.error  # type: ignore[union-attr]
        while error.cause is not None:  # the root cause says what is wrong; the wrappers don't
            error = error.cause
        print(f"  step {event.step_key} failed: {error.message.strip().splitlines()[-1]}")
    for check in failed_checks:
        print(f"  check {check.asset_key.to_user_string()}:{check.check_name} failed")
    return result.success and not failed_checks


def _reports_summary(report_date: date) -> None:
    folder = Path(os.environ["IOM_REPORTS_DIR"]) / report_date.isoformat()
    if not folder.is_dir():
        return
    print(f"reports: {folder}")
    for division in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        print(f"  {division / 'report.html'}")


def preflight(report_date: date) -> list[str]:
    """Problems that would fail every step: better said once, plainly, before a run."""
    apply_environment_defaults()
    from pipelines.settings import ConfigError, load_hub_config
    from pipelines.sources.open import InboxConfigError, open_inbox

    problems = []
    first = date.fromisoformat(os.environ["IOM_FIRST_REPORT_DATE"])
    latest = today_in_london()
    if not first <= report_date <= latest:
        problems.append(
            f"report date {report_date} is outside {first} (IOM_FIRST_REPORT_DATE) to {latest} (today, Europe/London)"
        )
    try:
        open_inbox(os.environ["IOM_INBOX"])
    except InboxConfigError as exc:
        problems.append(str(exc))
    try:
        load_hub_config(os.environ["IOM_CONFIG"])
    except ConfigError as exc:
        problems.append(str(exc))
    return problems


def cmd_run(args: argparse.Namespace) -> int:
    problems = preflight(args.date)
    if problems:
        for problem in problems:
            print(f"iom-hub: {problem}", file=sys.stderr)
        return 2
    ok = run_pipeline(args.date, "DEBUG" if args.verbose else "INFO")
    _reports_summary(args.date)
    return 0 if ok else 1


def cmd_synth(args: argparse.Namespace) -> int:
    from pipelines.synth import generate

    summary = generate(Path(args.out), end_date=args.end_date, days=args.days, seed=args.seed, scale=args.scale)
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
    ok = run_pipeline(report_date)
    _reports_summary(report_date)
    print(f"warehouse: {os.environ['IOM_WAREHOUSE_URL']}")
    print("explore the run in the Dagster UI: iom-hub ui --demo")
    return 0 if ok else 1


def cmd_ui(args: argparse.Namespace) -> int:
    """The Dagster webserver and daemon (schedules, sensors, run queue) on this project.

    Started from DAGSTER_HOME so the instance settings there are the only ones in play.
    """
    if args.demo:
        _demo_environment()
    apply_environment_defaults()
    home = _ensure_dagster_home()
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


def cmd_migrate(_: argparse.Namespace) -> int:
    apply_environment_defaults()
    from warehouse.db import make_engine, upgrade

    engine = make_engine(os.environ["IOM_WAREHOUSE_URL"])
    upgrade(engine)
    print(f"warehouse schema is up to date ({engine.url.render_as_string(hide_password=True)})")
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
    synth.set_defaults(fn=cmd_synth)

    ui = sub.add_parser("ui", help="start the Dagster UI on this project")
    ui.add_argument("--demo", action="store_true", help="point it at the demo's inbox and warehouse")
    ui.add_argument("--port", type=int, default=3000)
    ui.add_argument("--host", default="127.0.0.1")
    ui.set_defaults(fn=cmd_ui)

    migrate = sub.add_parser("migrate", help="bring the warehouse schema up to date")
    migrate.set_defaults(fn=cmd_migrate)

    args = parser.parse_args(argv)
    if getattr(args, "end_date", "unset") is None:
        args.end_date = today_in_london()
    return int(args.fn(args))


if __name__ == "__main__":
    sys.exit(main())
