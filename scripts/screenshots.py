"""Screenshots of the Dagster UI for the operating guide (docs/operating.md), into docs/img/.

From the repository root, once the demo exists:

    .venv/bin/iom-hub demo                       # the demo inbox, warehouse and a run of its latest day
    .venv/bin/python scripts/screenshots.py      # or: --out DIR, --port N, --keep-ui, --timeout S

It starts `iom-hub ui --demo` on a free loopback port (with DAGSTER_HOME as iom-hub uses it:
data/dagster_home unless set, which is where `iom-hub demo` recorded its run), waits until
the code location has loaded, photographs these pages in headless Chromium (Debian's
`chromium`, from scripts/setup-system.sh; see tests/browser.py) and stops the UI again:

    asset-graph.png       the global asset lineage, every group open, the whole graph in view
    run.png               the newest successful daily_pipeline run: its steps and event log
    asset-checks.png      the Checks tab of an asset with checks (ingest/arrests when it has them)
    automation.png        the sensors and schedules, with their on/off switches
    asset-partitions.png  the Partitions tab of a partitioned asset (division_reports when it is
                          one), with the run's report date selected

Which assets are shown is read from the running code location, so the script keeps working
as the graph changes.  If the UI has no successful daily_pipeline run it launches one for
the demo's report date (today) and waits for it.  Every page is tried; the script exits
non-zero, naming each page that failed, if any did.  Images are 1600x1000 PNGs.  The UI's
log goes to build/artefacts/screenshots-ui.log ($IOM_ARTEFACTS_DIR), outside the repository's
tracked files.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import (  # noqa: E402 - after the path is set
    Browser,
    DagsterUi,
    Location,
    UiError,
    artefacts_dir,
    browser_problem,
    launch_run,
    load_location,
    runs,
    wait_for_run,
)

DAILY_JOB = "daily_pipeline"
PARTITION_TAG = "dagster/partition"
PREFERRED_CHECKED_ASSET = "arrest_row"
PREFERRED_PARTITIONED_ASSET = "division_reports"


def choose(preferred: str, candidates: set[str] | frozenset[str], what: str) -> str:
    if preferred in candidates:
        return preferred
    if not candidates:
        raise UiError(f"the code location has no {what}")
    return sorted(candidates)[0]


def newest_successful_run(ui: DagsterUi, location: Location, timeout: float) -> tuple[str, str | None]:
    """(run id, report date) of the newest successful daily run; one is launched if there is none."""
    done = runs(ui, job=DAILY_JOB, statuses=["SUCCESS"])
    if done:
        return done[0]["runId"], done[0]["tags"].get(PARTITION_TAG)
    from pipelines.settings import today_in_london

    partition = today_in_london().isoformat()
    print(f"no successful {DAILY_JOB} run yet: launching one for {partition} and waiting for it")
    run_id = launch_run(ui, location, DAILY_JOB, {PARTITION_TAG: partition})
    status = wait_for_run(ui, run_id, timeout=timeout)
    if status != "SUCCESS":
        raise UiError(f"the {DAILY_JOB} run for {partition} ended {status}: see {ui.url(f'runs/{run_id}')}")
    return run_id, partition


def take_all(ui: DagsterUi, out: Path, timeout: float) -> list[str]:
    """Every screenshot; the names of those that failed, each with why, printed."""
    location = load_location(ui)
    checked = choose(PREFERRED_CHECKED_ASSET, {asset for asset, _ in location.checks}, "asset with checks")
    partitioned = choose(PREFERRED_PARTITIONED_ASSET, location.partitioned, "partitioned asset")
    checks_of = sorted(name for asset, name in location.checks if asset == checked)
    labels = {asset.rsplit("/", 1)[-1] for asset in location.assets}

    run_id, report_date = newest_successful_run(ui, location, timeout)
    instigators = sorted(location.sensors) + sorted(location.schedules)
    # The partition the run made is shown selected, with its materialisation's metadata.
    partitions_query = "view=partitions" + (f"&partition={report_date}" if report_date else "")

    shots: list[tuple[str, Callable[[Browser, Path], object]]] = [
        ("asset-graph.png", lambda b, p: b.asset_graph(p, labels=labels)),
        ("run.png", lambda b, p: b.shot(p, f"runs/{run_id}", wait_for_text=[DAILY_JOB])),
        ("asset-checks.png", lambda b, p: b.shot(p, f"assets/{checked}?view=checks", wait_for_text=checks_of[:1])),
        ("automation.png", lambda b, p: b.shot(p, "automation", wait_for_text=instigators)),
        ("asset-partitions.png", lambda b, p: b.shot(p, f"assets/{partitioned}?{partitions_query}")),
    ]
    failed = []
    for name, take in shots:
        path = out / name
        try:
            with Browser(ui.url(), width=1600, height=1000) as browser:
                take(browser, path)
            print(f"  {path}")
        except Exception as exc:  # one page failing does not stop the others
            failed.append(name)
            print(f"  {name}: FAILED: {exc}", file=sys.stderr)
            traceback.print_exc(limit=3, file=sys.stderr)
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="where the PNGs go (default docs/img)")
    parser.add_argument("--port", type=int, help="port for the UI (default: a free one)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for the UI, and for a run")
    parser.add_argument("--keep-ui", action="store_true", help="leave the UI running afterwards (Ctrl-C stops it)")
    args = parser.parse_args(argv)

    problem = browser_problem()
    if problem:
        print(f"screenshots: {problem}", file=sys.stderr)
        return 2
    from pipelines.settings import DATA_DIR, DEFAULT_DAGSTER_HOME

    home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME)
    if not (DATA_DIR / "demo" / "inbox").is_dir():
        print(f"screenshots: no demo data ({DATA_DIR / 'demo' / 'inbox'}): run `.venv/bin/iom-hub demo` first", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    log_path = artefacts_dir() / "screenshots-ui.log"
    log_path.unlink(missing_ok=True)
    ui = DagsterUi.start(home=home, log_path=log_path, demo=True, port=args.port)
    print(f"Dagster UI (iom-hub ui --demo) on {ui.url()}, DAGSTER_HOME={home}; its log: {log_path}")
    failed: list[str] = []
    try:
        ui.wait_until_ready(timeout=args.timeout)
        print(f"screenshots into {args.out}:")
        failed = take_all(ui, args.out, args.timeout)
        if args.keep_ui:
            print(f"UI left running on {ui.url()}; Ctrl-C stops it")
            try:
                ui.process.wait()
            except KeyboardInterrupt:
                pass
    except UiError as exc:
        print(f"screenshots: {exc}", file=sys.stderr)
        failed = failed or ["all (see above)"]
    finally:
        left = ui.stop()
        if left:
            print("screenshots: processes left after stopping the UI (killed): " + "; ".join(map(str, left)), file=sys.stderr)
    if failed:
        print(f"screenshots: failed: {', '.join(failed)} (the UI's log: {log_path})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
