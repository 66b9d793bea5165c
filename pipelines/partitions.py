"""Report dates as Dagster partitions, and which report dates a run is for.

A report-date partition D holds that date's products: the links of D's report window,
D's division reports, D's review list, D's delivery.  Syncing the inbox into the ledger
and the traffic-light table are not per date (docs/design.md, "How the partitions map to
the data"); they still serve the run's report date, which this module reads off the run.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from datetime import date

import dagster as dg

from pipelines.settings import apply_environment_defaults, today_in_london

apply_environment_defaults()

# end_offset=1: today's report (covering yesterday) is a partition as soon as the day starts.
report_dates = dg.DailyPartitionsDefinition(
    start_date=os.environ["IOM_FIRST_REPORT_DATE"],
    timezone="Europe/London",
    end_offset=1,
)

# A range of report dates runs as one run (a backfill or a catch-up): each partitioned
# step loops over the dates itself, far cheaper than a run per day.
ONE_RUN_FOR_A_RANGE = dg.BackfillPolicy.single_run()
# Dagster marks the `backfill_policy` parameter beta; the warning would print on every load
# of the code location and every CLI run, saying nothing a user can act on.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)

# Tags Dagster sets on a run for one partition or for a range of partitions; the hub's
# own tag names the report date of a run of unpartitioned assets (the morning arrival checks).
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
REPORT_DATE_TAG = "iom/report_date"
BACKFILL_TAG = "dagster/backfill"


def report_date_of(context: dg.AssetExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)


def partition_dates(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[date]:
    """The report dates a partitioned step materialises: one, or a range in a backfill."""
    return [date.fromisoformat(k) for k in context.partition_keys]


def run_report_dates(tags: Mapping[str, str], instance: dg.DagsterInstance | None = None) -> list[date]:
    """The report dates of a run, from its tags: its partition, its range, its backfill's
    dates, the hub's tag; with none (materialised on its own), today's report."""
    if PARTITION_TAG in tags:
        return [date.fromisoformat(tags[PARTITION_TAG])]
    if RANGE_START_TAG in tags and RANGE_END_TAG in tags:
        start, end = date.fromisoformat(tags[RANGE_START_TAG]), date.fromisoformat(tags[RANGE_END_TAG])
        keys = report_dates.get_partition_keys_in_range(dg.PartitionKeyRange(start.isoformat(), end.isoformat()))
        return [date.fromisoformat(k) for k in keys]
    if REPORT_DATE_TAG in tags:
        return [date.fromisoformat(tags[REPORT_DATE_TAG])]
    if BACKFILL_TAG in tags and instance is not None:
        dates = _backfill_dates(instance, tags[BACKFILL_TAG])
        if dates:
            return dates
    return [today_in_london()]


def _backfill_dates(instance: dg.DagsterInstance, backfill_id: str) -> list[date]:
    """The report dates an asset backfill launched from the UI targets.

    Dagster runs an unpartitioned asset of such a backfill (the traffic light) in a run of
    its own, tagged only with the backfill; its report date is the backfill's last date.
    Dagster has no public API for a backfill's targets, hence the guarded internals.
    """
    try:
        data = instance.get_backfill(backfill_id).asset_backfill_data  # type: ignore[union-attr]
        subsets = data.target_subset.partitions_subsets_by_asset_key.values()  # type: ignore[union-attr]
        return sorted({date.fromisoformat(k) for subset in subsets for k in subset.get_partition_keys()})
    except (AttributeError, ValueError, TypeError):
        return []


def run_report_date(tags: Mapping[str, str], instance: dg.DagsterInstance | None = None) -> date:
    """The run's latest report date: what an unpartitioned product is computed for."""
    return max(run_report_dates(tags, instance))
