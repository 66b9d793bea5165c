"""Checks on the products, re-read from what was written (not from what was meant to be).

They check the run's report dates (a backfill's whole range); run on their own, today's.

- `reports_complete` (blocking, so nothing incomplete is delivered): every configured
  division has a folder for D with report.html and every contract CSV, each with its header.
- `only_reportable_people` (blocking): every person in every section of every division's
  report is a member of the register in force at D, ACTIVE or DESELECTED, whose active
  interval holds the row's date, and (outside the all-divisions arrests section) managed by
  that division (CONTRACT sections 4 and 7).
- `every_cell`: the traffic light holds exactly one row per (period, division, KPI) for
  every month CONTRACT section 8 says the run for D writes.
"""

import csv
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from pipelines import traffic_light as tl
from pipelines.assets.outputs import division_reports, traffic_light
from pipelines.partitions import run_report_date, run_report_dates
from pipelines.reports.render import CSV_FILES
from pipelines.reports.sections import REPORT_DAY, REPORT_FILES
from pipelines.resources import HubResource, WarehouseResource
from pipelines.settings import HubConfig
from pipelines.store import earliest_file_date, register_in_force
from warehouse.schema import traffic_light as traffic_light_table

# The sections of people, and the column whose day each row's member must be reportable on.
SECTION_DATES = {f.section: f.reportable_on for f in REPORT_FILES if f.reportable_on}
ALL_DIVISIONS_SECTIONS = {f.section for f in REPORT_FILES if f.every_division}


def _missing_files(folder: Path) -> list[str]:
    missing = [] if (folder / "report.html").is_file() else ["report.html"]
    for name in CSV_FILES.values():
        path = folder / name
        if not path.is_file() or not path.read_text(encoding="utf-8").strip():
            missing.append(name)
    return missing


def _read_rows(path: Path) -> list[dict[str, str]]:
    """A section's rows; none when the file is missing (reports_complete says so)."""
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _unreportable(folder: Path, division: str, report_date: date, register: pd.DataFrame) -> tuple[list[str], int]:
    """(section:line findings, no names, for people who may not be in this report; rows read)."""
    members = register.set_index("iom_id") if not register.empty else register
    problems, rows_read = [], 0
    for section, date_column in SECTION_DATES.items():
        rows = _read_rows(folder / CSV_FILES[section])
        rows_read += len(rows)
        for n, row in enumerate(rows, start=2):
            iom_id = row.get("iom_id", "")
            if iom_id not in members.index:
                problems.append(f"{division}/{section} line {n}: not in the register in force")
                continue
            m = members.loc[iom_id]
            day = report_date if date_column == REPORT_DAY else pd.Timestamp(row[date_column][:10]).date()
            selected = pd.Timestamp(m["selected_on"]).date() if pd.notna(m["selected_on"]) else None
            ended = pd.Timestamp(m["deselected_on"]).date() if pd.notna(m["deselected_on"]) else None
            active = m["status"] in ("ACTIVE", "DESELECTED") and selected is not None and selected <= day
            if not active or (ended is not None and day > ended) or (date_column == REPORT_DAY and m["status"] != "ACTIVE"):
                problems.append(f"{division}/{section} line {n}: not reportable on {day}")
            elif section not in ALL_DIVISIONS_SECTIONS and m["managing_division"] != division:
                problems.append(f"{division}/{section} line {n}: managed by another division")
    return problems, rows_read


def _report_folders(hub: HubResource, report_date: date) -> dict[str, Path]:
    return {d: hub.reports_path() / report_date.isoformat() / d for d in hub.config().divisions}


@dg.asset_check(asset=division_reports, blocking=True,
                description="Every division has its folder with report.html and every contract CSV.")  # fmt: skip
def reports_complete(context: dg.AssetCheckExecutionContext, hub: HubResource) -> dg.AssetCheckResult:
    problems, folders = [], 0
    for report_date in run_report_dates(context.run.tags, context.instance):
        for division, folder in _report_folders(hub, report_date).items():
            folders += 1
            missing = _missing_files(folder) if folder.is_dir() else ["the folder"]
            problems += [f"{report_date} {division}: {name} missing or empty" for name in missing]
    return dg.AssetCheckResult(
        passed=not problems, metadata={"folders_checked": folders, "problems": "\n".join(problems[:50]) or "none"}
    )


@dg.asset_check(asset=division_reports, blocking=True,
                description="Every person in every division report is a reportable cohort member on the row's date.")  # fmt: skip
def only_reportable_people(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, hub: HubResource
) -> dg.AssetCheckResult:
    problems, rows_checked = [], 0
    for report_date in run_report_dates(context.run.tags, context.instance):
        _, register = register_in_force(warehouse.engine(), report_date)
        for division, folder in _report_folders(hub, report_date).items():
            if folder.is_dir():
                found, rows = _unreportable(folder, division, report_date, register)
                problems += [f"{report_date} {p}" for p in found]
                rows_checked += rows
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={"rows_checked": rows_checked, "problems": "\n".join(problems[:50]) or "none"},
    )


def missing_cells(engine: sa.Engine, report_date: date, config: HubConfig) -> tuple[int, list[str]]:
    """(cells expected, problems) for the months the run for D writes."""
    first = earliest_file_date(engine, report_date)
    if first is None:
        return 0, []
    labels = [p.label for p in tl.periods(first, report_date)]
    expected = {(p, d, k.kpi) for p in labels for d in [*config.divisions, tl.ALL] for k in config.kpis}
    t = traffic_light_table
    with engine.connect() as conn:
        held = conn.execute(sa.select(t.c.period, t.c.division, t.c.kpi).where(t.c.period.in_(labels))).fetchall()
    got = [tuple(r) for r in held]
    problems = [f"{p} {d} {k}: missing" for p, d, k in sorted(expected - set(got))]
    problems += [f"{p} {d} {k}: not a configured cell" for p, d, k in sorted(set(got) - expected)]
    return len(expected), problems


@dg.asset_check(asset=traffic_light, description="One row for every (period, division or ALL, KPI) of every month the "
                "run's report date writes, and nothing else in those months.")  # fmt: skip
def every_cell(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, hub: HubResource) -> dg.AssetCheckResult:
    report_date = run_report_date(context.run.tags, context.instance)
    expected, problems = missing_cells(warehouse.engine(), report_date, hub.config())
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={"report_date": report_date.isoformat(), "cells_expected": expected,
                  "problems": "\n".join(problems[:50]) or "none"},
    )  # fmt: skip


OUTPUT_CHECKS = [reports_complete, only_reportable_people, every_cell]
