"""The volume benchmark's smoke size (``python -m benchmarks.volume --smoke``) runs and its
table means what it says: rows are the ledger's, stage times add up within the wall time,
ratios are quotients of the measured times.  Behaviour only: how long anything took is
the benchmark's report, never a test's verdict."""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path

import pytest

from benchmarks.volume import (
    END_DATE,
    FEED_NAMES,
    GOALS,
    OUTSIDE,
    SMOKE,
    SMOKE_BACKFILL_DAYS,
    SMOKE_DAYS,
    STAGES,
    file_date,
    inbox_files,
    main,
    stage_of,
)


def _sqlite_path(url: str) -> Path:
    assert url.startswith("sqlite:///"), url
    return Path(url.removeprefix("sqlite:///"))


def _ledger(url: str) -> dict[str, int]:
    """Rows loaded per feed, current file versions, read afresh from the warehouse file."""
    with closing(sqlite3.connect(_sqlite_path(url))) as conn:
        found = dict(conn.execute("SELECT feed, SUM(rows_loaded) FROM ingest_file WHERE is_current GROUP BY feed"))
    return {feed: int(found.get(feed) or 0) for feed in FEED_NAMES}


def _check_run(run: dict) -> None:
    """One measured run: its rows are its warehouse's ledger's, its times add up."""
    assert run["exit_status"] in (0, 3)
    assert re.fullmatch(r"[0-9a-f-]{36}", run["run_id"])
    assert run["rows_per_feed"] == _ledger(run["warehouse_url"])
    assert run["feed_rows"] == sum(run["rows_per_feed"].values())
    assert run["rows_per_second"] == pytest.approx(run["feed_rows"] / run["wall_seconds"], rel=1e-12)

    # Every step was timed and belongs to one stage; each feed's sync step is there.
    assert set(run["stages"]) == set(STAGES)
    assert {f"sync_{feed}" for feed in FEED_NAMES} <= set(run["steps"])
    for stage in STAGES:
        assert run["stages"][stage] == pytest.approx(sum(t for k, t in run["steps"].items() if stage_of(k) == stage), abs=1e-9)
    assert all(t >= 0 for t in run["steps"].values())
    assert all(t >= 0 for t in run["stages"].values())
    assert sum(run["stages"].values()) == pytest.approx(run["steps_seconds"], abs=1e-9)
    assert run["steps_seconds"] <= run["wall_seconds"]
    # The rest of the wall time, in parts that are each >= 0 and add up to it.
    assert set(run["outside_steps"]) == set(OUTSIDE)
    assert all(t >= 0 for t in run["outside_steps"].values())
    assert run["outside_steps_seconds"] == pytest.approx(run["wall_seconds"] - run["steps_seconds"], abs=1e-9)
    assert sum(run["outside_steps"].values()) == pytest.approx(run["outside_steps_seconds"], abs=1e-6)

    assert run["peak_rss_mib"] > 0
    # Memory by stage: sampled resident sets, none above the kernel's peak (give or take a page table's worth).
    assert set(run["sampled_rss_mib_by_stage"]) == {*STAGES, *OUTSIDE}
    assert run["rss_samples"] > 0
    assert all(0 <= mib <= run["peak_rss_mib"] * 1.02 + 8 for mib in run["sampled_rss_mib_by_stage"].values())
    assert max(run["sampled_rss_mib_by_stage"].values()) > 0
    path = _sqlite_path(run["warehouse_url"])
    assert run["warehouse_bytes"] == sum(p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


def test_smoke_benchmark_measures_what_its_table_says(tmp_path, capsys):
    report = main(["--smoke", "--out", str(tmp_path)])
    printed = capsys.readouterr().out

    on_disk = json.loads((tmp_path / "volume.json").read_text(encoding="utf-8"))
    assert on_disk == json.loads(json.dumps(report))
    (record,) = on_disk["records"]
    assert (record["size"], record["backend"], record["scale"], record["days"]) == ("smoke", "sqlite", SMOKE.scale, SMOKE_DAYS)
    assert record["report_date"] == END_DATE.isoformat()
    assert on_disk["machine"]["cores"] >= 1 and on_disk["machine"]["sqlite"]
    assert on_disk["skipped"] == {}  # the smoke test asks for SQLite only

    # Rows per feed: the ledger's of the first run's warehouse, every feed > 0.
    first = record["first_run"]
    _check_run(first)
    assert record["rows_per_feed"] == first["rows_per_feed"] == _ledger(first["warehouse_url"])
    assert all(first["rows_per_feed"][feed] > 0 for feed in FEED_NAMES)
    assert record["feed_rows"] == sum(first["rows_per_feed"].values())
    # The first run sees every file, so each is first seen by it.
    assert first["new_rows_per_feed"] == first["rows_per_feed"]

    # The day on the history and the same day on an empty warehouse: each its own warehouse.
    for run in ("day_on_history", "empty_day"):
        _check_run(record[run])
    assert record["day_on_history"]["warehouse_url"] != record["empty_day"]["warehouse_url"] != first["warehouse_url"]
    inbox = Path(record["inbox"]["inbox"])
    files = list(inbox_files(inbox))
    assert record["inbox"]["files"] == len(files)
    assert record["day_files"]["history"] + record["day_files"]["day"] == len(files)
    day_before = END_DATE - timedelta(days=1)
    dated = [file_date(feed, path) for feed, path in files]
    assert record["day_files"]["day"] == sum(d is not None and day_before <= d <= END_DATE for d in dated)
    assert record["day_files"]["empty_day"] >= record["day_files"]["day"]
    # The day's run on the history loaded rows only from the day's files.
    assert 0 < sum(record["day_on_history"]["new_rows_per_feed"].values()) < record["day_on_history"]["feed_rows"]
    assert record["day_on_history"]["feed_rows"] == record["feed_rows"]  # history + the day = the whole inbox

    # The "as of" reads of the day on history use their indexes (SQLite's plan names them).
    plans = record["query_plans"]
    assert set(plans) == {*(f"{f} winners in a 30-day window" for f in ("arrests", "court_results", "attendance")),
                          "the register as at D (one snapshot)"}  # fmt: skip
    window = "\n".join(plans["arrests winners in a 30-day window"])
    assert "ix_arrest_row_local_date" in window and "ix_arrest_row_key" in window, window
    assert re.search(r"SEARCH cohort_member USING .*\(file_id=", "\n".join(plans["the register as at D (one snapshot)"]))

    # The bare load read every feed.
    bare = record["bare_load"]
    assert bare["seconds"] > 0
    assert all(bare["rows_per_feed"][feed] > 0 for feed in FEED_NAMES)
    assert sum(bare["files_per_feed"].values()) == len(files)

    # Ratios are the quotients of the measured times; the verdicts follow from them.
    ratios = record["ratios"]
    assert ratios["first_run_vs_bare"] == first["wall_seconds"] / bare["seconds"]
    assert ratios["day_on_history_vs_empty_day"] == record["day_on_history"]["wall_seconds"] / record["empty_day"]["wall_seconds"]
    runs = [record[k] for k in ("first_run", "history_run", "day_on_history", "empty_day")]
    assert record["peak_rss_mib"] == max(r["peak_rss_mib"] for r in runs)
    goals = record["goals"]
    assert goals["first_run_vs_bare"]["value"] == ratios["first_run_vs_bare"]
    assert goals["day_on_history_vs_empty_day"]["value"] == ratios["day_on_history_vs_empty_day"]
    assert goals["peak_memory"]["value"] == record["peak_rss_mib"]
    for key, verdict in goals.items():
        goal = next(g for g in GOALS if g.key == key)
        assert verdict["limit"] == goal.limit
        assert verdict["met"] == (verdict["value"] < goal.limit if goal.unit == "MiB" else verdict["value"] <= goal.limit)
        assert verdict["at_goal_size"] is False  # the smoke size is none of the goals' sizes

    # The smoke backfill: a few report dates on the same inbox, against its first run.
    (backfill,) = on_disk["backfills"]
    assert backfill["report_dates"] == SMOKE_BACKFILL_DAYS
    assert backfill["from"] == (END_DATE - timedelta(days=SMOKE_BACKFILL_DAYS - 1)).isoformat()
    assert date.fromisoformat(backfill["to"]) == END_DATE
    _check_run(backfill["backfill"])
    assert backfill["one_day"] == first
    assert backfill["ratios"]["backfill_vs_one_day"] == backfill["backfill"]["wall_seconds"] / first["wall_seconds"]
    assert backfill["goals"]["backfill_vs_one_day"]["value"] == backfill["ratios"]["backfill_vs_one_day"]

    # The markdown, written and printed, names every feed, every goal and every stage.
    markdown = (tmp_path / "volume.md").read_text(encoding="utf-8")
    assert markdown in printed
    assert "Peak memory by stage, first run" in markdown
    assert 'Query plans of the "as of" reads' in markdown
    for name in [*FEED_NAMES, *(g.label for g in GOALS), *STAGES, *OUTSIDE]:
        assert name in markdown, name
    assert re.search(r"^\| smoke \| 0\.1 \| 14 \| " + re.escape(f"{record['feed_rows']:,}") + r" \|", markdown, re.MULTILINE)
    assert re.search(r"\b(met|not met)¹", markdown)
