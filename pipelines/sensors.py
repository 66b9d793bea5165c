"""One sensor per inbox feed: new or changed files request the report runs they affect.

The cursor records each settled file's (size, modification time), not the wall clock,
so a file that turns up late carrying an old timestamp is still noticed, and a file
re-delivered with other bytes is noticed as a change.  A file still being written (its
modification time within the settle interval) is left out of the cursor, so it is seen
again, and runs are requested, once it is complete.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import date, timedelta

import dagster as dg

from pipelines.feeds import FEEDS, Feed
from pipelines.filenames import is_in_progress, parse_name
from pipelines.partitions import report_dates
from pipelines.resources import InboxResource, OdbcResource
from pipelines.schedules import REASON_TAG, REQUESTED_BY_TAG
from pipelines.settings import today_in_london
from pipelines.sources.base import SourceError, TransientSourceError

SENSOR_INTERVAL_SECONDS = 300


def affected_report_dates(file_date: date | None, today: date) -> set[date]:
    """The reports a file changes: today's, and those whose window (D-1, D) holds its date."""
    dates = {today}
    if file_date is not None:
        dates |= {d for d in (file_date, file_date + timedelta(days=1)) if d <= today}
    return dates


def _inbox_sensor(feed: Feed, job_name: str) -> dg.SensorDefinition:
    @dg.sensor(
        name=f"{feed.name}_arrivals",
        job_name=job_name,
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Requests report runs when `{feed.name}` files arrive or are re-delivered in the inbox.",
    )
    def _sensor(context: dg.SensorEvaluationContext, inbox: InboxResource, odbc: OdbcResource) -> dg.SensorResult:
        if odbc.for_feed(feed.name):
            return dg.SensorResult(skip_reason=f"{feed.name} is read over ODBC, not from the inbox")
        seen: dict[str, list[float]] = json.loads(context.cursor) if context.cursor else {}
        try:
            source = inbox.open()
            try:
                listed = source.list_files(feed.name)
            finally:
                source.close()
        except (SourceError, TransientSourceError) as exc:
            return dg.SensorResult(skip_reason=f"inbox not readable: {exc}")
        now = time.time()
        settled = {
            f.name: [f.size, f.mtime] for f in listed if not is_in_progress(f.name) and now - f.mtime >= inbox.settle_seconds
        }
        changed = sorted(name for name, signature in settled.items() if seen.get(name) != signature)
        cursor = json.dumps(settled, sort_keys=True)
        if not changed:
            return dg.SensorResult(skip_reason=f"no new or changed {feed.name} files", cursor=cursor)
        today = today_in_london()
        first = report_dates.start.date()
        wanted: set[date] = set()
        for name in changed:
            wanted |= affected_report_dates(parse_name(feed, name).file_date, today)
        digest = hashlib.sha256(json.dumps([[n, settled[n]] for n in changed]).encode()).hexdigest()[:16]
        why = f"{len(changed)} new or changed {feed.name} file(s), e.g. {changed[0]}"
        requests = [
            dg.RunRequest(
                run_key=f"{feed.name}:{d.isoformat()}:{digest}",
                partition_key=d.isoformat(),
                tags={REQUESTED_BY_TAG: f"sensor {feed.name}_arrivals", REASON_TAG: why[:200]},
            )
            for d in sorted(wanted)
            if d >= first
        ]
        context.log.info(
            f"{len(changed)} new or changed {feed.name} file(s) ({', '.join(changed[:5])}"
            f"{', ...' if len(changed) > 5 else ''}): report run(s) requested for {', '.join(r.partition_key for r in requests)}"
        )
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return _sensor


def inbox_sensors(job_name: str) -> list[dg.SensorDefinition]:
    return [_inbox_sensor(feed, job_name) for feed in FEEDS.values()]
