"""The hub's clock: the morning report, and the feed arrival checks before it.

Times are Europe/London wall-clock times from `config/hub.yaml` (`schedule.report_at`
and each feed's `due.time`), so summer time needs no attention.  Each run requested says
why in its tags (`iom/requested_by`, `iom/reason`), shown on the run's page in the UI.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from pipelines.partitions import REPORT_DATE_TAG
from pipelines.settings import HubConfig, PackSchedule

TIMEZONE = "Europe/London"
REQUESTED_BY_TAG = "iom/requested_by"
REASON_TAG = "iom/reason"
# The arrival checks run a few minutes after each due time, once uploads on the hour settle.
ARRIVAL_GRACE = timedelta(minutes=5)


def _cron(at: time) -> str:
    return f"{at.minute} {at.hour} * * *"


def _local_date(context: dg.ScheduleEvaluationContext) -> date:
    return context.scheduled_execution_time.astimezone(ZoneInfo(TIMEZONE)).date()


def morning_report(job_name: str, at: time) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="morning_report",
        job_name=job_name,
        cron_schedule=_cron(at),
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"Every day at {at:%H:%M} Europe/London: the whole pipeline for that day's report date "
        "(sync, link, reports, traffic light, delivery). The time is `schedule.report_at` in config/hub.yaml.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        report_date = _local_date(context)
        return dg.RunRequest(
            run_key=f"morning_report:{report_date}",
            partition_key=report_date.isoformat(),
            tags={REQUESTED_BY_TAG: "schedule morning_report", REASON_TAG: f"the morning report for {report_date}"},
        )

    return _schedule


def arrival_times(config: HubConfig) -> list[time]:
    """A few minutes after each distinct due time of the feeds."""
    due = sorted({t.due_time for t in config.feeds.values()})
    return [(datetime.combine(date(2000, 1, 1), t) + ARRIVAL_GRACE).time() for t in due]


def feed_arrivals(job_name: str, config: HubConfig) -> dg.ScheduleDefinition:
    times = arrival_times(config)

    @dg.schedule(
        name="feed_arrivals",
        job_name=job_name,
        cron_schedule=[_cron(t) for t in times] if len(times) > 1 else _cron(times[0]),
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Shortly after each feed's due time (`feeds.<feed>.due` in config/hub.yaml, Europe/London): sync "
        "the inbox and run each feed's `on_time` check for today's report, so a late or missing feed shows in the "
        "UI, and reaches the late-feed alert, before the morning report.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        report_date = _local_date(context)
        at = context.scheduled_execution_time.astimezone(ZoneInfo(TIMEZONE))
        return dg.RunRequest(
            run_key=f"feed_arrivals:{at:%Y-%m-%dT%H:%M}",
            tags={
                REPORT_DATE_TAG: report_date.isoformat(),
                REQUESTED_BY_TAG: "schedule feed_arrivals",
                REASON_TAG: f"feeds due by {at - ARRIVAL_GRACE:%H:%M} for the report of {report_date}",
            },
        )

    return _schedule


def _month_before(day: date) -> str:
    return f"{(day.replace(day=1) - timedelta(days=1)):%Y-%m}"


def monthly_performance_pack(job_name: str, packs: PackSchedule) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="monthly_performance_pack",
        job_name=job_name,
        cron_schedule=f"{packs.at.minute} {packs.at.hour} {packs.day} * *",
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"On day {packs.day} of each month at {packs.at:%H:%M} Europe/London: the performance pack of the "
        "month just ended, from the traffic light as that morning's report left it (`schedule.packs` in "
        "config/hub.yaml).",
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        month = _month_before(_local_date(context))
        return dg.RunRequest(
            run_key=f"monthly_performance_pack:{month}",
            partition_key=month,
            tags={REQUESTED_BY_TAG: "schedule monthly_performance_pack", REASON_TAG: f"the performance pack for {month}"},
        )

    return _schedule


def monthly_packs(job_name: str, packs: PackSchedule) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="monthly_packs",
        job_name=job_name,
        cron_schedule=f"{packs.at.minute} {packs.at.hour} {packs.day} * *",
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"On day {packs.day} of each month at {packs.at:%H:%M} Europe/London: every division's "
        "case-conference pack for that date (`schedule.packs` in config/hub.yaml; set the day a few days before "
        "the conference).",
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        day = _local_date(context)
        return dg.RunRequest(
            run_key=f"monthly_packs:{day}",
            partition_key=day.isoformat(),
            tags={REQUESTED_BY_TAG: "schedule monthly_packs", REASON_TAG: f"the case-conference packs for {day}"},
        )

    return _schedule
