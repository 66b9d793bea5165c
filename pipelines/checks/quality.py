"""Great Expectations suites as Dagster asset checks that warn (pipelines/quality).

- `quality` on each feed's row table: the feed's suite on the report window (volume
  against the same weekday's, valid identifiers, the mix of coded values, for the
  register its size against the previous snapshot).
- `link_share` on each `record_link/<feed>`: the share of the window's records linked to
  a member, against the recent days' share.

Both are non-blocking with severity WARN: unusual data is reported for a person to look
at, and nothing downstream waits for them. They check every report date of the run (a
range: all of them), today's when run on their own. A suite that cannot be evaluated at
all warns too; it never fails the run. Metadata holds counts, proportions and sentences
made of them, never a value from a row.
"""

from collections.abc import Callable
from datetime import date

import dagster as dg

from pipelines.assets.ingest import rows_key
from pipelines.assets.linking import links_key
from pipelines.feeds import FEEDS, LINKED_FEEDS
from pipelines.partitions import run_report_dates
from pipelines.quality import QualityReport, validate_feed, validate_links
from pipelines.resources import HubResource, WarehouseResource


def _result(context: dg.AssetCheckExecutionContext, judge: Callable[[date], QualityReport]) -> dg.AssetCheckResult:
    """One check result over the run's report dates: the latest date's figures, every date's failures."""
    try:
        reports = [judge(d) for d in run_report_dates(context.run.tags, context.instance)]
    except Exception as exc:  # a quality warning must never stop the reports
        # The type only: a message could quote a value from the data.
        context.log.warning(f"quality suite could not be evaluated: {type(exc).__name__}")
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"could not be evaluated ({type(exc).__name__})",
            metadata={"error": type(exc).__name__},
        )
    latest = reports[-1]
    failed = [f"{r.report_date} {o.line()}" if len(reports) > 1 else o.line() for r in reports for o in r.failures]
    judged = sum(o.judged for o in latest.outcomes)
    summary = f"{judged} judged, {len(latest.outcomes) - judged} not judged yet (too little history or data)"
    return dg.AssetCheckResult(
        passed=not failed,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{len(failed)} expectation(s) not met; {summary}" if failed else f"all met: {summary}",
        metadata={**latest.metadata(), "failed": "\n".join(failed[:50]) or "none", "report_dates": len(reports)},
    )


def _rows_check(feed_name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=rows_key(feed_name),
        name="quality",
        blocking=False,
        description=f"Warns when the `{feed_name}` rows of the report window look unlike recent days: the Great "
        f"Expectations suite pipelines/quality/suites/{feed_name}.json (volume, valid identifiers, the mix of codes).",
    )
    def quality(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, hub: HubResource) -> dg.AssetCheckResult:
        engine, config = warehouse.engine(), hub.config()
        return _result(context, lambda d: validate_feed(engine, feed_name, d, config))

    return quality


def _links_check(feed_name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=links_key(feed_name),
        name="link_share",
        blocking=False,
        description=f"Warns when the share of the report window's `{feed_name}` records linked to a cohort member "
        "collapses against recent days: the Great Expectations suite pipelines/quality/suites/record_link.json.",
    )
    def link_share(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, hub: HubResource) -> dg.AssetCheckResult:
        engine, thresholds = warehouse.engine(), hub.config().linking
        return _result(context, lambda d: validate_links(engine, feed_name, d, thresholds))

    return link_share


QUALITY_CHECKS = [_rows_check(f) for f in FEEDS] + [_links_check(f) for f in LINKED_FEEDS]
