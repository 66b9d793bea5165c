"""One ingest asset per feed, made from the feed's declarative description."""

from datetime import date

import dagster as dg
import sqlalchemy as sa

from pipelines.checks.reconciliation import reconciliation_check
from pipelines.checks.schema import schema_check
from pipelines.feeds import FEEDS, Feed
from pipelines.ingest import IngestOutcome, ingest_feed, ingest_view
from pipelines.partitions import report_date_of, report_dates
from pipelines.resources import HubResource, InboxResource, OdbcResource, WarehouseResource
from pipelines.settings import today_in_london
from pipelines.sources.base import SourceError, TransientSourceError
from pipelines.sources.odbc import VIEWS, read_view

# Transient source errors (timeouts, dropped connections, a database restarting) are
# retried by Dagster, a few minutes apart, before the step fails.
SOURCE_RETRIES = 3
SOURCE_RETRY_WAIT = 120


def _ingest(
    engine: sa.Engine, feed: Feed, report_date: date, inbox: InboxResource, odbc: OdbcResource, hub: HubResource
) -> IngestOutcome:
    divisions = frozenset(hub.config().divisions)
    connection_string = odbc.for_feed(feed.name)
    if connection_string is not None:
        read = read_view(feed.name, connection_string, today_in_london())
        return ingest_view(engine, feed, read, report_date, f"odbc:{VIEWS[feed.name]}", divisions)
    source = inbox.open()
    try:
        return ingest_feed(engine, source, feed, report_date, settle_seconds=inbox.settle_seconds, divisions=divisions)
    finally:
        source.close()


def ingest_key(feed: str) -> dg.AssetKey:
    return dg.AssetKey(["ingest", feed])


def _ingest_asset(feed: Feed) -> dg.AssetsDefinition:
    key = ingest_key(feed.name)

    @dg.asset(
        key=key,
        group_name="ingest",
        partitions_def=report_dates,
        kinds={"python"},
        description=(
            f"New and corrected `{feed.name}` files dated on or before the report date, "
            "validated and loaded into the warehouse; bad rows quarantined with file, line and reason."
        ),
        check_specs=[
            dg.AssetCheckSpec(
                "rows_reconcile",
                asset=key,
                blocking=True,
                description="Every input row is loaded or quarantined, and the warehouse holds exactly that.",
            ),
            dg.AssetCheckSpec(
                "schema_valid",
                asset=key,
                blocking=True,
                description="The rows loaded for the report window conform to the feed's typed schema.",
            ),
        ],  # fmt: skip
    )
    def _asset(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        inbox: InboxResource,
        odbc: OdbcResource,
        hub: HubResource,
    ) -> dg.MaterializeResult:
        report_date = report_date_of(context)
        engine = warehouse.engine()
        try:
            outcome = _ingest(engine, feed, report_date, inbox, odbc, hub)
        except TransientSourceError as exc:
            # Worth another go in a while; the warehouse is as it was (per-file transactions).
            context.log.warning(str(exc))
            raise dg.RetryRequested(max_retries=SOURCE_RETRIES, seconds_to_wait=SOURCE_RETRY_WAIT) from exc
        except SourceError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        context.log.info(
            f"{feed.name}: {outcome.files_loaded} file(s) loaded ({outcome.files_corrected} corrections), "
            f"{outcome.files_rejected} rejected, {outcome.files_unchanged} unchanged, "
            f"{outcome.files_not_ready} not ready yet; {outcome.rows_loaded} rows loaded, "
            f"{outcome.rows_quarantined} quarantined"
        )
        if outcome.drift_columns:
            context.log.warning(f"{feed.name}: unknown extra column(s) ignored: {', '.join(sorted(outcome.drift_columns))}")
        return dg.MaterializeResult(
            metadata={
                "files_listed": outcome.files_listed,
                "files_loaded": outcome.files_loaded,
                "files_corrected": outcome.files_corrected,
                "files_rejected": outcome.files_rejected,
                "files_unchanged": outcome.files_unchanged,
                "files_not_ready": outcome.files_not_ready,
                "files_in_progress_ignored": outcome.files_in_progress,
                "files_after_report_date": outcome.files_after_report_date,
                "rows_loaded": outcome.rows_loaded,
                "rows_quarantined": outcome.rows_quarantined,
                "identifier_findings": outcome.findings,
                "schema_drift_columns": ", ".join(sorted(outcome.drift_columns)) or "none",
            },
            check_results=[
                reconciliation_check(engine, feed.name, report_date),
                schema_check(engine, feed, report_date),
            ],
        )

    return _asset


INGEST_ASSETS = [_ingest_asset(feed) for feed in FEEDS.values()]
