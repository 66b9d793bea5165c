"""Linking assets: who each record of a report window is, and the hub's review list."""

import json

import dagster as dg

from pipelines.assets.describe import OWNERS, schema_metadata, warehouse_kind
from pipelines.assets.ingest import rows_key
from pipelines.daily import link_for_report
from pipelines.feeds import LINKED_FEEDS
from pipelines.link_store import purge_stale
from pipelines.linkage.measurement import MEASURED_PATH
from pipelines.linking import LINKED_BY_DECISION, LINKED_BY_DETAILS, LINKED_BY_ID, NOT_LINKED, REVIEW
from pipelines.partitions import ONE_RUN_FOR_A_RANGE, partition_dates, report_dates
from pipelines.reports.publish import PublishError
from pipelines.reports.review_page import review_items, write_review_page
from pipelines.resources import HubResource, WarehouseResource
from warehouse.schema import link_candidate, record_link

METHOD_LABELS = {
    LINKED_BY_ID: "by_identifier",
    LINKED_BY_DETAILS: "by_details",
    LINKED_BY_DECISION: "by_decision",
    REVIEW: "to_review",
    NOT_LINKED: "not_linked",
}


def links_key(feed: str) -> dg.AssetKey:
    return dg.AssetKey(["record_link", feed])


# Every step that stores links (and with them review candidates): each feed's report
# window, the traffic light's months, cjs_location's months and the reports' 30-day
# priority window.  A step that reads the stored links as a whole (the review list, the
# quality page's link history) comes after all of them, so what it shows does not depend
# on the order a run's steps happen to take (on workers, independent steps run at once).
LINK_WRITERS = [
    *(links_key(f) for f in LINKED_FEEDS),
    dg.AssetKey("traffic_light"),
    dg.AssetKey("cjs_location"),
    dg.AssetKey("division_reports"),
]


def _measured() -> dict[str, object]:
    """The published precision and recall of the model at the configured thresholds."""
    if not MEASURED_PATH.exists():
        return {}
    figures = json.loads(MEASURED_PATH.read_text(encoding="utf-8"))
    return {f"measured_{k}": v for k, v in figures.items() if isinstance(v, (int, float, str))}


def _links_asset(feed_name: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=links_key(feed_name),
        group_name="linking",
        owners=OWNERS,
        partitions_def=report_dates,
        backfill_policy=ONE_RUN_FOR_A_RANGE,
        deps=[rows_key("cohort"), rows_key(feed_name)],
        kinds={"splink", "duckdb", warehouse_kind()},
        metadata=schema_metadata(record_link),
        description=(
            f"Partition D: who each `{feed_name}` record of D's report window is, judged against the register in force "
            "at D (warehouse table `record_link`, one row per record and register snapshot; candidates on review in "
            "`link_candidate`). Identifiers first, then the Splink model on name, date of birth and postcode; "
            "uncertain or conflicting records go to the hub's review list, never into a report."
        ),
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource, hub: HubResource) -> dg.MaterializeResult:
        engine, thresholds = warehouse.engine(), hub.config().linking
        stale = purge_stale(engine, thresholds)
        if stale:
            context.log.info(f"model or thresholds changed: {stale} stored links will be computed again")
        counts: dict[str, int] = {}
        for report_date in partition_dates(context):
            for key, n in link_for_report(engine, feed_name, report_date, thresholds).items():
                counts[key] = counts.get(key, 0) + n
        return dg.MaterializeResult(
            metadata={
                "records": counts.get("records", 0),
                "dagster/row_count": counts.get("records", 0),
                **{label: counts.get(method, 0) for method, label in METHOD_LABELS.items()},
                "link_at": thresholds.link_at,
                "review_at": thresholds.review_at,
                **_measured(),
            }
        )

    return _asset


LINK_ASSETS = [_links_asset(f) for f in LINKED_FEEDS]


@dg.asset(
    group_name="linking",
    owners=OWNERS,
    partitions_def=report_dates,
    backfill_policy=ONE_RUN_FOR_A_RANGE,
    deps=LINK_WRITERS,
    kinds={"html", "csv"},
    metadata=schema_metadata(link_candidate),
    description="Hub only. Partition D: `review.html` and `review.csv` under `IOM_REVIEW_DIR/<D>/`, every record "
    "waiting for a person (from D's report window and the traffic light's months) side by side with its candidate "
    "members and the model's evidence. Never in a division's folder or the outbox. Decide with `iom-hub review`.",
)
def review_list(context: dg.AssetExecutionContext, warehouse: WarehouseResource, hub: HubResource) -> dg.MaterializeResult:
    pending = {"records": 0, "pairs": 0, **{feed: 0 for feed in LINKED_FEEDS}}
    folders = []
    for report_date in partition_dates(context):
        items = review_items(warehouse.engine(), report_date)
        try:
            folders.append(write_review_page(hub.review_path(), report_date, items, hub.config().linking))
        except PublishError as exc:
            raise dg.Failure(description=f"review list: {exc}", allow_retries=False) from None
        pending["records"], pending["pairs"] = len(items), sum(len(i.candidates) for i in items)
        for feed in LINKED_FEEDS:
            pending[feed] = sum(i.feed == feed for i in items)
    # The latest date's list is the one waiting: each date's list includes what is still open.
    return dg.MaterializeResult(
        metadata={
            "pending_records": pending["records"],
            "pending_pairs": pending["pairs"],
            "dagster/row_count": pending["records"],
            **{f"pending_{feed}": pending[feed] for feed in LINKED_FEEDS},
            "folder": dg.MetadataValue.path(str(folders[-1])),
        }
    )
