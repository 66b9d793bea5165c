"""Two sensors that alert the hub's staff through the channels of ``pipelines.alerts``.

``run_failure_alert``
    A run failure sensor: when a run of a monitored job fails, one alert names the job,
    the report date (partition) or range, the failed step keys and the failed blocking
    asset checks, with a link to the run in the Dagster UI.  Dagster's own cursor for
    run status sensors makes it alert once per failed run.
``late_feed_alert``
    When a finished run (succeeded or failed) of a monitored job holds a failed ``on_time``
    check on a ``ledger/<feed>`` asset, one alert lists each such feed with its status,
    report date, missing providers and a link to the asset.  A (feed, report date, status)
    is alerted once: re-runs and backfills that find the same thing stay quiet, a change
    (``LATE`` becoming ``MISSING``) alerts again.

    This is a plain sensor polling Dagster's run status changes rather than a
    ``run_status_sensor``: in Dagster 1.13 a run status sensor's cursor belongs to Dagster
    (returning one is an error), and remembering what was alerted needs a cursor of our
    own.  Polling both RUN_SUCCESS and RUN_FAILURE changes also covers both outcomes in
    one sensor.  Its cursor is JSON: the last run status change read and the newest
    ``MAX_REMEMBERED`` alerted (feed, report date, status) triples.  The first evaluation
    (no cursor) looks back ``FIRST_LOOKBACK_SECONDS``, so switching it on after a bad run
    still tells someone.

Both run whether or not a channel is configured: without one they log and skip, saying so.
A misconfigured channel fails the tick with a one-line message naming the setting, and a
delivery failure fails it naming the channel and host:port (the late-feed sensor then tries
again at its next tick; a run failure alert that could not be delivered is shown on the
failed tick).

No personal data goes into an alert: only job names, run and backfill ids, step keys, check
and feed names, statuses, report dates, provider codes, counts and links.  Never a step's
error text (it may quote a record).  Values read from events are kept only if they look
like such tokens (``_token``); anything else is replaced, not quoted.

Monitored jobs are given by name (``alert_sensors(job_names)``): both sensors read every
finished run of the instance and keep those of the named jobs.  Not Dagster's own job
filtering: in 1.13 ``JobSelector`` needs a code location name, and a run status sensor
watching its own code location misses runs that have no code location origin, which is
what ``iom-hub run`` makes (``execute_in_process`` on the DAGSTER_HOME instance).  Runs of
the implicit asset job (``__ASSET_JOB``: materialisations and backfills launched from the
asset pages of the UI) are kept too unless ``include_asset_jobs=False``.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import dagster as dg

from pipelines.alerts import NO_CHANNEL, Alert, AlertDeliveryError, AlertSettings, send
from pipelines.partitions import RANGE_END_TAG, RANGE_START_TAG

RUN_FAILURE_ALERT = "run_failure_alert"
LATE_FEED_ALERT = "late_feed_alert"
ON_TIME_CHECK = "on_time"
LEDGER_PREFIX = "ledger"

IMPLICIT_ASSET_JOB_PREFIX = "__ASSET_JOB"  # dagster's IMPLICIT_ASSET_JOB_NAME (not public API)

PARTITION_TAG = "dagster/partition"
BACKFILL_TAG = "dagster/backfill"

LATE_FEED_INTERVAL_SECONDS = 60
FIRST_LOOKBACK_SECONDS = 24 * 3600
STATUS_CHANGES_PER_TICK = 100
MAX_REMEMBERED = 500
MAX_IN_SUBJECT = 3

FINISHED = (dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE)

_TOKEN = re.compile(r"[A-Za-z0-9_.:/\[\]\-]{1,120}", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_CODE = re.compile(r"[A-Z0-9_]{1,32}", re.ASCII)
WITHHELD = "(withheld)"


def _token(value: object, pattern: re.Pattern[str] = _TOKEN, default: str = WITHHELD) -> str:
    """``value`` if it is a plain name or code (so cannot be personal data), else ``default``."""
    text = str(value).strip() if value is not None else ""
    return text if pattern.fullmatch(text) else default


def _join(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "none"


def partition_label(tags: Mapping[str, str]) -> str | None:
    """The run's report date, or its range of report dates, or None."""
    get = tags.get
    if get(PARTITION_TAG):
        return _token(get(PARTITION_TAG))
    start, end = get(RANGE_START_TAG), get(RANGE_END_TAG)
    if start and end:
        return _token(start) if start == end else f"{_token(start)} to {_token(end)}"
    return None


def _metadata_text(evaluation: dg.AssetCheckEvaluation, name: str) -> str:
    value = evaluation.metadata.get(name)
    value = getattr(value, "value", value)
    return "" if value is None else str(value)


def _deliver(log: logging.Logger, alert: Alert, settings: AlertSettings) -> str | None:
    """Send ``alert``; returns why nothing was sent, or None once it was sent."""
    if not settings.channels:
        log.info(f"not sent ({NO_CHANNEL}): {alert.subject}")
        return NO_CHANNEL
    try:
        channels = send(alert, settings)
    except AlertDeliveryError as exc:
        if exc.delivered:
            log.info(f"sent {alert.subject!r} by {', '.join(exc.delivered)}")
        log.error(str(exc))
        raise
    log.info(f"sent {alert.subject!r} by {', '.join(channels)} ({settings.describe()})")
    return None


# --------------------------------------------------------------------------- run failures


def failure_alert(instance: dg.DagsterInstance, run: dg.DagsterRun, settings: AlertSettings) -> Alert:
    """The alert for a failed run, from its event log: step keys and check names, no error text."""
    job = _token(run.job_name)
    steps: list[str] = []
    for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        step = _token(entry.step_key)
        if step not in steps:
            steps.append(step)
    checks: list[str] = []
    for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.asset_check_evaluation_data  # type: ignore[union-attr]
        if evaluation.passed or not evaluation.blocking:
            continue
        check = f"{_token(evaluation.check_name)} on {_token(evaluation.asset_key.to_user_string())}"
        if check not in checks:
            checks.append(check)
    partition = partition_label(run.tags)
    subject = f"IOM hub: run {job}{f' for {partition}' if partition else ''} FAILED"
    lines = [f"Job {job}{f' for {partition}' if partition else ''}: run {run.run_id} FAILED."]
    if steps:
        lines.append(f"Failed steps ({len(steps)}): {_join(steps)}")
    else:
        lines.append("No step failed: the run stopped before or between steps (see the run's log in the UI).")
    if checks:
        lines.append(f"Failed blocking checks ({len(checks)}): {_join(checks)}")
    if run.tags.get(BACKFILL_TAG):
        lines.append(f"Part of backfill {_token(run.tags[BACKFILL_TAG])}.")
    lines.append("The error messages are in the run's log in the Dagster UI (not in this alert).")
    link = settings.run_link(run.run_id)
    return Alert(
        kind="run_failure",
        subject=subject,
        lines=tuple(lines),
        link=link,
        run_id=run.run_id,
        fields={"job": job, "partition": partition, "failed_steps": steps, "failed_checks": checks},
    )


def _run_failure_alert(monitored: Callable[[str], bool]) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name=RUN_FAILURE_ALERT,
        default_status=dg.DefaultSensorStatus.RUNNING,
        # Runs of `iom-hub run` (execute_in_process) have no code location origin, so watching
        # only this location would miss them: watch every run and filter on the job name.
        monitor_all_code_locations=True,
        description=(
            "Alerts (IOM_ALERT_SMTP / IOM_ALERT_WEBHOOK) when a pipeline run fails: job, report date, failed steps "
            "and blocking checks, link to the run. Logs and skips when no channel is configured."
        ),
    )
    def run_failure_alert(context: dg.RunFailureSensorContext) -> dg.SkipReason | None:
        run = context.dagster_run
        if not monitored(run.job_name):
            return dg.SkipReason(f"run {run.run_id} of job {_token(run.job_name)} is not a monitored job")
        settings = AlertSettings.from_env()
        alert = failure_alert(context.instance, run, settings)
        reason = _deliver(context.log, alert, settings)
        return dg.SkipReason(reason) if reason else None

    return run_failure_alert


# --------------------------------------------------------------------------- late feeds


@dataclass(frozen=True)
class LateFeed:
    feed: str
    status: str
    report_date: str
    providers_missing: tuple[str, ...]
    run_id: str
    job: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.feed, self.report_date, self.status)


def late_feeds(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[LateFeed]:
    """The failed ``on_time`` checks on ``ledger/<feed>`` in a run, in event order."""
    found: dict[tuple[str, str, str], LateFeed] = {}
    for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.asset_check_evaluation_data  # type: ignore[union-attr]
        path = evaluation.asset_key.path
        if evaluation.passed or evaluation.check_name != ON_TIME_CHECK or len(path) != 2 or path[0] != LEDGER_PREFIX:
            continue
        fallback_date = evaluation.partition or run.tags.get(PARTITION_TAG) or ""
        report_date = _token(_metadata_text(evaluation, "report_date"), _DATE, "") or _token(fallback_date, _DATE, "unknown")
        providers = [p.strip() for p in _metadata_text(evaluation, "providers_missing").split(",") if p.strip()]
        safe_providers = tuple(_token(p, _CODE) for p in providers)
        item = LateFeed(
            feed=_token(path[1]),
            status=_token(_metadata_text(evaluation, "status"), _CODE, "NOT_ON_TIME"),
            report_date=report_date,
            providers_missing=safe_providers,
            run_id=run.run_id,
            job=_token(run.job_name),
        )
        found.setdefault(item.key, item)
    return list(found.values())


def late_feed_alert_message(items: Sequence[LateFeed], settings: AlertSettings) -> Alert:
    dates = sorted({item.report_date for item in items})
    when = dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"
    if len(items) == 1:
        subject = f"IOM hub: feed {items[0].feed} {items[0].status} for {when}"
    else:
        named = ", ".join(f"{item.feed} {item.status}" for item in items[:MAX_IN_SUBJECT])
        more = f" and {len(items) - MAX_IN_SUBJECT} more" if len(items) > MAX_IN_SUBJECT else ""
        subject = f"IOM hub: {len(items)} feeds not on time for {when}: {named}{more}"
    lines = []
    for item in items:
        providers = f"; providers missing: {', '.join(item.providers_missing)}" if item.providers_missing else ""
        link = settings.asset_link(LEDGER_PREFIX, item.feed)
        lines.append(f"{item.feed}: {item.status} for report date {item.report_date}{providers} - {link}")
    runs = sorted({(item.job, item.run_id) for item in items})
    lines.append("Found by " + "; ".join(f"run {run_id} of {job} ({settings.run_link(run_id)})" for job, run_id in runs) + ".")
    feeds = {item.feed for item in items}
    link = settings.asset_link(LEDGER_PREFIX, *feeds) if len(feeds) == 1 else settings.asset_link(LEDGER_PREFIX)
    return Alert(
        kind="late_feed",
        subject=subject,
        lines=tuple(lines),
        link=link,
        run_id=runs[0][1] if len(runs) == 1 else None,
        fields={
            "feeds": [
                {
                    "feed": item.feed,
                    "status": item.status,
                    "report_date": item.report_date,
                    "providers_missing": list(item.providers_missing),
                    "link": settings.asset_link(LEDGER_PREFIX, item.feed),
                    "run_id": item.run_id,
                    "job": item.job,
                }
                for item in items
            ]
        },
    )


@dataclass
class LateFeedCursor:
    after: int | None  # storage id of the last run status change read; None before the first tick
    alerted: list[tuple[str, str, str]]

    @classmethod
    def load(cls, raw: str | None) -> LateFeedCursor:
        if not raw:
            return cls(None, [])
        data = json.loads(raw)
        return cls(data.get("after"), [tuple(item) for item in data.get("alerted", [])])  # type: ignore[misc]

    def dump(self) -> str:
        return json.dumps({"after": self.after, "alerted": [list(k) for k in self.alerted[-MAX_REMEMBERED:]]})


def _finished_run_changes(instance: dg.DagsterInstance, after: int | None) -> tuple[list[dg.EventLogRecord], int]:
    """Run success and failure events after storage id ``after`` (or in the last day when
    None), oldest first, and the storage id the next tick continues from."""
    lookback = time.time() - FIRST_LOOKBACK_SECONDS
    fetched: list[list[dg.EventLogRecord]] = []
    for event_type in FINISHED:
        records_filter = dg.RunStatusChangeRecordsFilter(
            event_type=event_type,
            after_storage_id=after,
            after_timestamp=lookback if after is None else None,
        )
        fetched.append(list(instance.fetch_run_status_changes(records_filter, STATUS_CHANGES_PER_TICK, ascending=True).records))
    records = sorted((r for batch in fetched for r in batch), key=lambda r: r.storage_id)
    # A full batch may have more after it: stop where the first full batch stops, so nothing is skipped.
    horizons = [batch[-1].storage_id for batch in fetched if len(batch) >= STATUS_CHANGES_PER_TICK]
    if horizons:
        records = [r for r in records if r.storage_id <= min(horizons)]
    if records:
        return records, records[-1].storage_id
    if after is not None:
        return [], after
    newest = [
        r.storage_id for event_type in FINISHED for r in instance.fetch_run_status_changes(event_type, 1, ascending=False).records
    ]
    return [], max(newest, default=-1)


def _late_feed_alert(monitored: Callable[[str], bool]) -> dg.SensorDefinition:
    @dg.sensor(
        name=LATE_FEED_ALERT,
        minimum_interval_seconds=LATE_FEED_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Alerts (IOM_ALERT_SMTP / IOM_ALERT_WEBHOOK) once per feed, report date and status when a finished run's "
            "ledger on_time check failed (MISSING, STALE, PARTIAL, LATE...). Logs and skips when no channel is configured."
        ),
    )
    def late_feed_alert(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        settings = AlertSettings.from_env()  # a misconfiguration fails every tick until fixed, visibly
        state = LateFeedCursor.load(context.cursor)
        records, after = _finished_run_changes(context.instance, state.after)
        run_ids = list(dict.fromkeys(r.event_log_entry.run_id for r in records))
        records_of_runs = context.instance.get_run_records(dg.RunsFilter(run_ids=run_ids)) if run_ids else []
        runs = {r.dagster_run.run_id: r.dagster_run for r in records_of_runs}
        remembered = set(state.alerted)
        new: dict[tuple[str, str, str], LateFeed] = {}
        repeats = 0
        for run_id in run_ids:
            run = runs.get(run_id)
            if run is None or not monitored(run.job_name):
                continue
            for item in late_feeds(context.instance, run):
                if item.key in remembered or item.key in new:
                    repeats += 1
                else:
                    new[item.key] = item
        next_state = LateFeedCursor(after, state.alerted)
        if not new:
            why = f"{len(run_ids)} finished run(s) read, no new failed {ON_TIME_CHECK} check"
            if repeats:
                why += f" ({repeats} already alerted)"
            return dg.SensorResult(skip_reason=why, cursor=next_state.dump())
        alert = late_feed_alert_message(list(new.values()), settings)
        try:
            reason = _deliver(context.log, alert, settings)
        except AlertDeliveryError as exc:
            if not exc.delivered:
                raise  # the tick fails and keeps the old cursor: tried again next tick
            reason = None  # one channel delivered (the failure is logged): sending again would repeat it there
        if reason:
            return dg.SensorResult(skip_reason=reason, cursor=next_state.dump())
        next_state.alerted = [*state.alerted, *new]
        return dg.SensorResult(cursor=next_state.dump())

    return late_feed_alert


# --------------------------------------------------------------------------- factory


def alert_sensors(job_names: Sequence[str], *, include_asset_jobs: bool = True) -> list[dg.SensorDefinition]:
    """``run_failure_alert`` and ``late_feed_alert`` for runs of ``job_names`` in this code
    location (and of its implicit asset job, for runs launched from the UI's asset pages,
    unless ``include_asset_jobs`` is False)."""
    names = frozenset(job_names)

    def monitored(job_name: str) -> bool:
        return job_name in names or (include_asset_jobs and job_name.startswith(IMPLICIT_ASSET_JOB_PREFIX))

    return [_run_failure_alert(monitored), _late_feed_alert(monitored)]
