"""Report dates as Dagster partitions: one per local (Europe/London) day."""

from __future__ import annotations

import os
from datetime import date

import dagster as dg

from pipelines.settings import apply_environment_defaults

apply_environment_defaults()

# end_offset=1: today's report (covering yesterday) is a partition as soon as the day starts.
report_dates = dg.DailyPartitionsDefinition(
    start_date=os.environ["IOM_FIRST_REPORT_DATE"],
    timezone="Europe/London",
    end_offset=1,
)


def report_date_of(context: dg.AssetExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)
