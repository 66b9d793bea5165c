"""python -m pipelines.synth OUT_DIR --end-date YYYY-MM-DD [--days N] [--seed S] [--scale X]"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

from pipelines.synth import generate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipelines.synth", description="Write a synthetic IOM hub inbox.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--end-date", type=date.fromisoformat, required=True, help="report date D")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    summary = generate(args.out_dir, end_date=args.end_date, days=args.days, seed=args.seed, scale=args.scale)
    print(
        f"{summary.files} files, {summary.first_date} to {summary.end_date}, "
        f"{time.perf_counter() - started:.1f}s; inbox {summary.inbox}, truth {summary.truth}"
    )
    for feed, rows in summary.rows_per_feed.items():
        print(f"  {feed:16} {rows:>10} rows")


if __name__ == "__main__":
    main()
