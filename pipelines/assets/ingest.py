"""Syncing the inbox into the warehouse: per feed, its ledger entries and its rows.

Not partitioned by report date: a sync loads every new or corrected file that is ready,
whatever its date, and a report for D reads only files dated on or before D (CONTRACT
section 1).  Two assets per feed, written by one step: `ledger/<feed>` (the files the hub
has received, every version, loaded or rejected, with the quarantine) and the feed's row
table (the rows of every current file version).
"""

import os
from datetime import date

import dagster as dg
import sqlalchemy as sa

from pipelines.assets.describe import OWNERS, count_rows, schema_metadata, warehouse_kind
from pipelines.feeds import FEEDS, ColType, Feed
from pipelines.ingest import IngestOutcome, ingest_feed, ingest_view
from pipelines.partitions import run_report_dates
from pipelines.resources import HubResource, InboxResource, OdbcResource, WarehouseResource
from pipelines.settings import today_in_london
from pipelines.sources.base import SourceError, TransientSourceError
from pipelines.sources.odbc import ODBC_SETTINGS, VIEWS, read_view
from warehouse.schema import ROW_TABLES, ingest_file

# Transient source errors (timeouts, dropped connections, a database restarting) are
# retried by Dagster, a few minutes apart, before the step fails.
SOURCE_RETRIES = 3
SOURCE_RETRY_WAIT = 120

GROUP = "ingest"


def ledger_key(feed: str) -> dg.AssetKey:
    return dg.AssetKey(["ledger", feed])


def rows_key(feed: str) -> dg.AssetKey:
    return dg.AssetKey([ROW_TABLES[feed].name])


def column_descriptions(feed: Feed) -> dict[str, str]:
    """What each column of a feed's row table holds, from the feed's description."""
    out = {
        "file_id": "the file version (ledger ingest_file.id) the row came from",
        "row_no": "the row's position in its file",
        "location": "CSV line, sheet row or XML element path of the row",
        "local_date": "the event's local (Europe/London) date",
    }
    for c in feed.columns:
        words = ["required" if c.required else "optional", c.type.value]
        if c.type is ColType.IDENTIFIER and c.id_kind is not None:
            words.append(f"({c.id_kind.value}, canonical form; invalid ones are blank with a data-quality finding)")
        if c.values:
            words.append("one of " + ", ".join(c.values))
        out[c.name] = " ".join(words)
    return out


def _sources(feed: Feed) -> set[str]:
    """Kinds for where the feed comes from, as this code location is configured."""
    kinds = {fmt.value if fmt.value != "xlsx" else "excel" for fmt in feed.formats}
    if os.environ.get("IOM_INBOX", "").startswith("sftp://"):
        kinds.add("sftp")
    if os.environ.get(ODBC_SETTINGS.get(feed.name, ""), ""):
        kinds.add("odbc")
    return kinds


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


def _outcome_metadata(outcome: IngestOutcome) -> dict[str, object]:
    return {
        "files_listed": outcome.files_listed,
        "files_loaded": outcome.files_loaded,
        "files_corrected": outcome.files_corrected,
        "files_rejected": outcome.files_rejected,
        "files_unchanged": outcome.files_unchanged,
        "files_not_ready": outcome.files_not_ready,
        "files_in_progress_ignored": outcome.files_in_progress,
        "rows_loaded": outcome.rows_loaded,
        "rows_quarantined": outcome.rows_quarantined,
        "identifier_findings": outcome.findings,
        "schema_drift_columns": ", ".join(sorted(outcome.drift_columns)) or "none",
    }


def _sync_asset(feed: Feed) -> dg.AssetsDefinition:
    table = ROW_TABLES[feed.name]
    specs = [
        dg.AssetSpec(
            ledger_key(feed.name),
            group_name=GROUP,
            owners=OWNERS,
            kinds=_sources(feed) | {warehouse_kind()},
            description=(
                f"The `{feed.name}` files the hub has received: every version of every file, loaded or rejected "
                "whole (warehouse table `ingest_file`), with each quarantined row's file, line and reason "
                "(table `quarantine`). Synced from the inbox (or the ODBC view); not per report date."
            ),
            metadata=schema_metadata(ingest_file),
        ),
        dg.AssetSpec(
            rows_key(feed.name),
            group_name=GROUP,
            owners=OWNERS,
            kinds={warehouse_kind(), "table"},
            description=(
                f"Every validated row of every current `{feed.name}` file version (warehouse table `{table.name}`), "
                "so any past report date can be rebuilt exactly. Reports for a date use only files dated on or "
                "before it."
            ),
            metadata=schema_metadata(table, column_descriptions(feed)),
        ),
    ]

    @dg.multi_asset(name=f"sync_{feed.name}", specs=specs)
    def _asset(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        inbox: InboxResource,
        odbc: OdbcResource,
        hub: HubResource,
    ):
        engine = warehouse.engine()
        try:
            # A file first found now counts in the earliest report this run serves (a nameless date's feeds.csv).
            outcome = _ingest(engine, feed, min(run_report_dates(context.run.tags, context.instance)), inbox, odbc, hub)
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
        current = ingest_file.c.is_current & (ingest_file.c.feed == feed.name)
        yield dg.MaterializeResult(
            asset_key=ledger_key(feed.name),
            metadata={**_outcome_metadata(outcome), "dagster/row_count": count_rows(engine, ingest_file, current)},
        )
        yield dg.MaterializeResult(
            asset_key=rows_key(feed.name),
            metadata={"rows_loaded": outcome.rows_loaded, "dagster/row_count": count_rows(engine, table)},
        )

    return _asset


SYNC_ASSETS = [_sync_asset(feed) for feed in FEEDS.values()]
