"""The traffic light recomputes only the months whose inputs changed, and what it keeps is
exactly what a full recomputation would write (pipelines/traffic_light_inputs.py)."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from pipelines import traffic_light as tl
from pipelines.feeds import FEEDS
from pipelines.ingest import ingest_feed
from pipelines.settings import PROJECT_ROOT, load_hub_config
from pipelines.sources import LocalInbox
from pipelines.synth import generate
from tests.builders import member
from tests.conftest import BOTH_WAREHOUSES

CONFIG = load_hub_config(str(PROJECT_ROOT / "config" / "hub.yaml"))
COLUMNS = ["period", "division", "kpi", "period_end", "numerator", "denominator", "value", "rag"]


def ingest(hub) -> None:
    source = LocalInbox(hub.inbox.root)
    for feed in FEEDS.values():
        ingest_feed(hub.engine, source, feed, date(2026, 12, 31), settle_seconds=0, divisions=frozenset(CONFIG.divisions))


def _cells(frame: pd.DataFrame) -> list[tuple]:
    """Rows as comparable text, whatever the back end returned (Decimal or float, date or text)."""

    def missing(v: object) -> bool:
        return v is None or (not isinstance(v, str) and pd.isna(v))

    def text(column: str, v: object) -> str:
        if missing(v):
            return ""
        if column == "value":
            return f"{float(v):.1f}"
        return str(int(v)) if column in ("numerator", "denominator") else str(v)

    return sorted(tuple(text(c, v) for c, v in zip(COLUMNS, row, strict=True)) for row in frame[COLUMNS].itertuples(index=False))


def stored(hub) -> list[tuple]:
    return _cells(pd.DataFrame(hub.query("select * from traffic_light")))


def assert_same_as_full(hub, report_date: date) -> None:
    """The table, for the months the run for D holds, equals compute()'s full recomputation."""
    full = tl.compute(hub.engine, report_date, CONFIG)
    months = set(full["period"])
    assert [r for r in stored(hub) if r[0] in months] == _cells(full)


def appointment(record_id: str, day: str, outcome: str = "ATTENDED") -> dict[str, str]:
    return {"record_id": record_id, "record_type": "APPOINTMENT", "iom_id": "LDS-000001", "surname": "x",
            "forenames": "y", "event_datetime": f"{day}T10:00", "outcome": outcome}  # fmt: skip


def _dated(name: str) -> str:
    found = re.search(r"20\d{6}", name)
    return found.group(0) if found else ""


@BOTH_WAREHOUSES
def test_a_correction_that_moves_an_event_back_recomputes_the_month_it_returns_to(hub):
    """Record 1 is dated in October (file G), moved to November by a later file X; a file Z
    dated between them, arriving after X, puts it in September; X then comes again
    without it, so Z's September row wins: September, which X never touched, changes."""
    D = date(2026, 12, 2)
    box = hub.inbox
    box.cohort(date(2026, 9, 1), [member("LDS-000001", "One", "Ann", "1990-01-01")])
    box.attendance("PROBATION", date(2026, 10, 20), [appointment("1", "2026-10-05")])  # G
    box.attendance("PROBATION", date(2026, 11, 20), [appointment("1", "2026-11-10", "FAILED_TO_ATTEND")])  # X
    ingest(hub)
    first = tl.refresh(hub.engine, D, CONFIG)
    assert set(first.rows["period"]) == {"2026-09", "2026-10", "2026-11", "2026-12"} and first.kept == []
    assert_same_as_full(hub, D)

    again = tl.refresh(hub.engine, D, CONFIG)
    assert again.rows.empty and again.kept == ["2026-09", "2026-10", "2026-11", "2026-12"]

    box.attendance("PROBATION", date(2026, 11, 1), [appointment("1", "2026-09-20")])  # Z: X still wins
    ingest(hub)
    # Z's span runs from its own row to those of its key in G and X: September to November.
    assert set(tl.refresh(hub.engine, D, CONFIG).rows["period"]) == {"2026-09", "2026-10", "2026-11"}
    assert_same_as_full(hub, D)

    box.attendance("PROBATION", date(2026, 11, 20), [appointment("2", "2026-11-11")], arrived=datetime(2026, 11, 21, 6))
    ingest(hub)
    changed = tl.refresh(hub.engine, D, CONFIG)
    assert "2026-09" in set(changed.rows["period"])
    assert_same_as_full(hub, D)
    (row,) = hub.query(
        "select numerator, denominator from traffic_light"
        " where period = '2026-09' and division = 'ALL' and kpi = 'appointment_compliance'"
    )
    assert tuple(row) == (1, 1)  # Z's September appointment counts again


@BOTH_WAREHOUSES
def test_a_new_register_or_a_settings_change_recomputes_what_it_touches(hub):
    D = date(2026, 12, 2)
    box = hub.inbox
    box.cohort(date(2026, 9, 1), [member("LDS-000001", "One", "Ann", "1990-01-01")])
    box.attendance("PROBATION", date(2026, 10, 20), [appointment("1", "2026-10-05")])
    ingest(hub)
    tl.refresh(hub.engine, D, CONFIG)
    # A register dated in November changes November's (and December's) register at E only.
    box.cohort(date(2026, 11, 15), [member("LDS-000001", "One", "Ann", "1990-01-01", managing_division="NE")])
    ingest(hub)
    assert set(tl.refresh(hub.engine, D, CONFIG).rows["period"]) == {"2026-11", "2026-12"}
    assert_same_as_full(hub, D)
    # Other thresholds: every month.
    kpis = tuple(k if k.kpi != "review_in_date" else replace(k, green=50, amber=40) for k in CONFIG.kpis)
    changed = replace(CONFIG, kpis=kpis)
    assert tl.refresh(hub.engine, D, changed).kept == []
    # A month written by compute() and store() without digests is recomputed next time.
    tl.store(hub.engine, tl.compute(hub.engine, D, changed, last_periods=1))
    assert tl.refresh(hub.engine, D, changed).kept == ["2026-09", "2026-10", "2026-11"]


def test_day_by_day_late_files_corrections_and_a_past_date_equal_the_full_recomputation(hub, tmp_path: Path):
    """A generated inbox delivered in two parts: the second brings the last week, a file
    dated weeks earlier that arrived late, and the corrected versions of files."""
    end = date(2026, 11, 23)
    summary = generate(tmp_path / "synth", end_date=end, days=45, seed=5)
    truth = json.loads(summary.truth.read_text(encoding="utf-8"))
    inbox = Path(hub.inbox.root)
    late = sorted((summary.inbox / "attendance").glob("attendance_PROBATION_202610*.csv"))[2]
    held = [p for p in summary.inbox.rglob("*") if p.is_file() and _dated(p.name) >= "20261117"] + [late]
    for path in summary.inbox.rglob("*"):
        if path.is_file() and path not in held:
            target = inbox / path.relative_to(summary.inbox)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    for r in truth["redeliveries"]:  # the first versions, as partners first delivered them
        if (summary.inbox / r["feed"] / r["name"]) not in held:
            shutil.copy2(summary.out_dir / r["original"], inbox / r["feed"] / r["name"])
    first_day = date(2026, 11, 17)
    ingest(hub)
    tl.refresh(hub.engine, first_day, CONFIG)
    assert_same_as_full(hub, first_day)

    for path in [*held, *(summary.inbox / r["feed"] / r["name"] for r in truth["redeliveries"])]:
        shutil.copy2(path, inbox / path.relative_to(summary.inbox))
    ingest(hub)
    for day in (first_day, date(2026, 11, 20), end):
        tl.refresh(hub.engine, day, CONFIG)
        assert_same_as_full(hub, day)
    # The run for D again keeps every month; a past date's run rewrites its months as of it.
    assert tl.refresh(hub.engine, end, CONFIG).rows.empty
    past = date(2026, 11, 5)
    tl.refresh(hub.engine, past, CONFIG)
    assert_same_as_full(hub, past)
    tl.refresh(hub.engine, end, CONFIG)
    assert_same_as_full(hub, end)


def test_report_tiles_read_the_stored_months_they_match(hub):
    """tl.figures gives compute()'s rows, reading the stored ones whose inputs match."""
    D = date(2026, 12, 2)
    box = hub.inbox
    box.cohort(date(2026, 9, 1), [member("LDS-000001", "One", "Ann", "1990-01-01")])
    box.attendance("PROBATION", date(2026, 11, 20), [appointment("1", "2026-11-10")])
    ingest(hub)
    before = tl.figures(hub.engine, D, CONFIG, last_periods=2)  # nothing stored yet: computed
    tl.refresh(hub.engine, D, CONFIG)
    after = tl.figures(hub.engine, D, CONFIG, last_periods=2)
    assert _cells(after) == _cells(before) == _cells(tl.compute(hub.engine, D, CONFIG, last_periods=2))
    assert list(after["kpi"].drop_duplicates()) == [k.kpi for k in CONFIG.kpis]


@pytest.mark.parametrize("feed", [f for f in FEEDS.values() if f.key])
def test_key_columns_are_required(feed):
    """store.events_as_of joins on the key to rank only a window's keys: a null key column
    would drop the row there while a whole-history ranking kept it."""
    required = {c.name for c in feed.columns if c.required}
    assert set(feed.key) <= required
