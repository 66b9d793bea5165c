"""The checks on each feed's sync, as first-class asset checks (re-runnable on their own).

`rows_reconcile` and `schema_valid` are blocking: bad data stops the line before anything
is linked or reported.  `on_time` warns: a late feed is reported, not hidden.
"""

import dagster as dg

from pipelines.assets.ingest import ledger_key, rows_key
from pipelines.checks.arrival import arrival_check
from pipelines.checks.reconciliation import reconciliation_check
from pipelines.checks.schema import schema_check
from pipelines.feeds import FEEDS, Feed
from pipelines.partitions import run_report_date, run_report_dates
from pipelines.resources import HubResource, WarehouseResource


def _feed_checks(feed: Feed) -> list[dg.AssetChecksDefinition]:
    @dg.asset_check(
        asset=rows_key(feed.name),
        name="rows_reconcile",
        blocking=True,
        description="Every input row of every current file is loaded or quarantined, and the warehouse holds exactly that.",
    )
    def rows_reconcile(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        return reconciliation_check(warehouse.engine(), feed.name)

    @dg.asset_check(
        asset=rows_key(feed.name),
        name="schema_valid",
        blocking=True,
        description="The rows of the run's report windows (D-1 and D) conform to the feed's typed schema.",
    )
    def schema_valid(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        return schema_check(warehouse.engine(), feed, run_report_dates(context.run.tags, context.instance))

    @dg.asset_check(
        asset=ledger_key(feed.name),
        name="on_time",
        description="The feed arrived for the run's report date (today's, when run on its own), on time and from every "
        "expected provider: the feed's status in feeds.csv is not MISSING, STALE, PARTIAL or LATE. Warns; "
        "the late-feed alert sends it on.",
    )
    def on_time(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, hub: HubResource) -> dg.AssetCheckResult:
        return arrival_check(warehouse.engine(), feed.name, run_report_date(context.run.tags, context.instance), hub.config())

    return [rows_reconcile, schema_valid, on_time]


SYNC_CHECKS = [check for feed in FEEDS.values() for check in _feed_checks(feed)]
