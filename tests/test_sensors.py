"""Inbox sensors: new, late and re-delivered files request the right report runs."""

from __future__ import annotations

import json
import os
import time
from datetime import date, timedelta

import dagster as dg

from pipelines.resources import InboxResource, OdbcResource
from pipelines.sensors import affected_report_dates, inbox_sensors
from pipelines.settings import today_in_london


def sensor(feed: str) -> dg.SensorDefinition:
    return next(s for s in inbox_sensors("daily_pipeline") if s.name == f"{feed}_arrivals")


def evaluate(feed: str, root, cursor: str | None = None, odbc: OdbcResource | None = None):
    context = dg.build_sensor_context(
        cursor=cursor,
        resources={"inbox": InboxResource(location=str(root), settle_seconds=5), "odbc": odbc or OdbcResource()},
    )
    return sensor(feed)(context)


def put(root, feed: str, name: str, text: str, mtime: float) -> None:
    path = root / feed / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (mtime, mtime))


def test_affected_report_dates():
    today = date(2026, 11, 23)
    assert affected_report_dates(date(2026, 11, 22), today) == {date(2026, 11, 22), today}
    assert affected_report_dates(date(2026, 11, 10), today) == {date(2026, 11, 10), date(2026, 11, 11), today}
    assert affected_report_dates(None, today) == {today}


def test_new_late_and_redelivered_files(tmp_path):
    today = today_in_london()
    old = time.time() - 86400 * 5  # a late file with an old timestamp
    yesterday = today - timedelta(days=1)
    put(tmp_path, "arrests", f"niche_arrests_{yesterday:%Y%m%d}_060000.csv", "a", old)
    first = evaluate("arrests", tmp_path)
    assert sorted(r.partition_key for r in first.run_requests) == [yesterday.isoformat(), today.isoformat()]
    # Each run says in the UI who asked for it and why (file names only, never contents).
    assert {r.tags["iom/requested_by"] for r in first.run_requests} == {"sensor arrests_arrivals"}
    assert all(f"niche_arrests_{yesterday:%Y%m%d}_060000.csv" in r.tags["iom/reason"] for r in first.run_requests)
    # Nothing new: nothing requested, whatever the clock says.
    again = evaluate("arrests", tmp_path, first.cursor)
    assert again.run_requests == [] and again.skip_reason
    # A file turning up now with a timestamp older than everything seen is still noticed.
    week_ago = today - timedelta(days=7)
    put(tmp_path, "arrests", f"niche_arrests_{week_ago:%Y%m%d}_060000.csv", "b", old - 86400)
    late = evaluate("arrests", tmp_path, again.cursor)
    assert sorted(r.partition_key for r in late.run_requests) == sorted(
        {week_ago.isoformat(), (week_ago + timedelta(days=1)).isoformat(), today.isoformat()}
    )
    # Re-delivered with other bytes: noticed, with a new run key.
    put(tmp_path, "arrests", f"niche_arrests_{week_ago:%Y%m%d}_060000.csv", "bb", old)
    redelivered = evaluate("arrests", tmp_path, late.cursor)
    assert redelivered.run_requests
    assert {r.run_key for r in redelivered.run_requests}.isdisjoint({r.run_key for r in late.run_requests})


def test_files_still_being_written_wait(tmp_path):
    today = today_in_london()
    put(tmp_path, "attendance", f"attendance_DIP_{today:%Y%m%d}.csv", "x", time.time())
    put(tmp_path, "attendance", "upload.csv.part", "x", time.time() - 3600)
    result = evaluate("attendance", tmp_path)
    assert result.run_requests == []
    assert json.loads(result.cursor) == {}  # not recorded: seen again once settled


def test_feed_read_over_odbc_is_not_watched(tmp_path):
    put(tmp_path, "cohort", "cohort_20261122.csv", "x", time.time() - 3600)
    result = evaluate("cohort", tmp_path, odbc=OdbcResource(cohort="Driver={X};"))
    assert result.run_requests == [] and "ODBC" in result.skip_reason.skip_message
