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
    os.environ["IOM_REVIEW_DIR"] = str(DEMO_DIR / "review")


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
    review = Path(os.environ["IOM_REVIEW_DIR"]) / report_date.isoformat() / "review.html"
    if review.exists():
        print(f"linking review (hub only, never delivered): {review}")


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


def _warehouse():
    apply_environment_defaults()
    from warehouse.db import make_engine, upgrade

    engine = make_engine(os.environ["IOM_WAREHOUSE_URL"])
    upgrade(engine)
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
    return int(args.fn(args))


if __name__ == "__main__":
    sys.exit(main())
