"""Pictures of the hub's products for the README, into docs/img/products/.

From the repository root, once the demo exists (`iom-hub demo` makes every product):

    .venv/bin/iom-hub demo
    .venv/bin/python scripts/product_pictures.py          # or: --reports DIR --out DIR

It opens the demo's files in headless Chromium (Debian's `chromium`, as tests/browser.py
drives it) and photographs, for the first division and the demo's report date:

    morning-report-phone.png     report.html at 390 px: the needs-action block first
    morning-report-desktop.png   report.html at 1280 px: counts and the traffic-light tiles
    conference-pack.png          the case-conference pack: one member's section
    conference-pack-pdf.png      the pack's PDF, a member's page (pdftoppm, poppler-utils)
    priority-list.png            the pack's priority list, each reason with its points
    exit-candidates.png          the pack's exit-review candidates and their evidence
    performance-pack.png         the monthly performance pack: the table and a KPI's trend
    performance-pack-pdf.png     its PDF's first page

The demo's people are synthetic, so the pictures hold no personal data.  The script exits
non-zero, naming what failed, if any picture could not be made.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import Browser, browser_problem  # noqa: E402 - after the path is set


def newest(folder: Path, pattern: str, *, complete: bool = False) -> Path:
    """The newest folder matching; ``complete``: the one before it when there is one (the
    newest month is the one in progress)."""
    found = sorted(p for p in folder.glob(pattern) if p.is_dir())
    if not found:
        raise SystemExit(f"product_pictures: nothing matches {folder / pattern}: run `iom-hub demo` first")
    return found[-2] if complete and len(found) > 1 else found[-1]


def shoot(file: Path, out: Path, *, width: int, height: int, anchor: str = "", full: bool = False) -> None:
    with Browser(f"file://{file.parent}", width=width, height=height) as browser:
        browser.page.goto(f"file://{file}{anchor}", wait_until="load")
        browser.page.wait_for_timeout(400)
        if anchor:  # the anchored part at the top of the picture
            browser.page.evaluate(f"document.querySelector('{anchor}').scrollIntoView()")
        browser.screenshot(out, full_page=full)


def pdf_page(pdf: Path, page: int, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        stem = Path(tmp) / "page"
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", str(page), "-l", str(page), str(pdf), str(stem)], check=True)
        (made,) = Path(tmp).glob("page*.png")
        shutil.move(made, out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=Path, default=ROOT / "data" / "demo" / "reports")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "products")
    args = parser.parse_args()
    if problem := browser_problem():
        raise SystemExit(f"product_pictures: {problem}")
    args.out.mkdir(parents=True, exist_ok=True)
    day = newest(args.reports, "????-??-??")
    division = sorted(p.name for p in day.iterdir() if p.is_dir())[0]
    report = day / division / "report.html"
    pack = newest(args.reports / "conference", "????-??-??") / division
    performance = newest(args.reports / "performance", "????-??", complete=True) / division
    jobs = {
        "morning-report-phone.png": lambda o: shoot(report, o, width=390, height=844),
        "morning-report-desktop.png": lambda o: shoot(report, o, width=1280, height=900, anchor="#performance"),
        "conference-pack.png": lambda o: shoot(pack / "pack.html", o, width=1280, height=900, anchor="#members"),
        "conference-pack-pdf.png": lambda o: pdf_page(pack / "pack.pdf", 7, o),
        "priority-list.png": lambda o: shoot(pack / "pack.html", o, width=1280, height=800, anchor="#priorities"),
        "exit-candidates.png": lambda o: shoot(pack / "pack.html", o, width=1280, height=800, anchor="#exit"),
        "performance-pack.png": lambda o: shoot(performance / "performance.html", o, width=1280, height=1000),
        "performance-pack-pdf.png": lambda o: pdf_page(performance / "performance.pdf", 1, o),
    }
    failed = []
    for name, job in jobs.items():
        try:
            job(args.out / name)
            print(f"product_pictures: {args.out / name}")
        except Exception as exc:  # every picture is tried; the failures are named at the end
            failed.append(f"{name}: {type(exc).__name__}: {exc}")
    for line in failed:
        print(f"product_pictures: FAILED {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
