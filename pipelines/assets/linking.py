"""Linking assets: who each record of the report window is, and the hub's review page."""

import json

import dagster as dg

from pipelines.assets.ingest import ingest_key
from pipelines.daily import link_for_report
from pipelines.feeds import LINKED_FEEDS
from pipelines.link_store import purge_stale
from pipelines.linkage.measurement import MEASURED_PATH
from pipelines.linking import LINKED_BY_DECISION, LINKED_BY_DETAILS, LINKED_BY_ID, NOT_LINKED, REVIEW
from pipelines.partitions import report_date_of, report_dates
from pipelines.reports.review_page import review_items, write_review_page
from pipelines.resources import HubResource, WarehouseResource

METHOD_LABELS = {
    LINKED_BY_ID: "by_identifier",
    LINKED_BY_DETAILS: "by_details",
    LINKED_BY_DECISION: "by_decision",
    REVIEW: "to_review",
    NOT_LINKED: "not_linked",
}


def linked_key(feed: str) -> dg.AssetKey:
    return dg.AssetKey(["linked", feed])


def _measured() -> dict[str, object]:
    """The published precision and recall of the model at the configured thresholds."""
    if not MEASURED_PATH.exists():
        return {}
    figures = json.loads(MEASURED_PATH.read_text(encoding="utf-8"))
    return {f"measured_{k}": v for k, v in figures.items() if isinstance(v, (int, float, str))}


def _linked_asset(feed_name: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=linked_key(feed_name),
        group_name="linking",
        partitions_def=report_dates,
        deps=[ingest_key("cohort"), ingest_key(feed_name)],
        kinds={"python", "duckdb"},
        description=(
            f"The report window's `{feed_name}` records linked to members of the register in force: identifiers "
            "first, then the Splink model on name, date of birth and postcode; uncertain or conflicting ones go to "
            "the hub's review list, never into a report. Stored in record_link (one link per record and register)."
        ),
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource, hub: HubResource) -> dg.MaterializeResult:
        engine, thresholds = warehouse.engine(), hub.config().linking
        stale = purge_stale(engine, thresholds)
        if stale:
            context.log.info(f"model or thresholds changed: {stale} stored links will be computed again")
        counts = link_for_report(engine, feed_name, report_date_of(context), thresholds)
        return dg.MaterializeResult(
            metadata={
                "records": counts["records"],
                **{label: counts.get(method, 0) for method, label in METHOD_LABELS.items()},
                "link_at": thresholds.link_at,
                "review_at": thresholds.review_at,
                **_measured(),
            }
        )

    return _asset


LINKED_ASSETS = [_linked_asset(f) for f in LINKED_FEEDS]


@dg.asset(
    group_name="linking",
    partitions_def=report_dates,
    deps=[*(linked_key(f) for f in LINKED_FEEDS), dg.AssetKey("traffic_light")],
    kinds={"html", "csv"},
    description="Hub only: review.html and review.csv under IOM_REVIEW_DIR/<date>/, every pair waiting for a person "
    "(from the report window and the traffic light's months), side by side with the model's evidence. "
    "Never in a division's folder or the outbox.",
)
def link_review_page(context: dg.AssetExecutionContext, warehouse: WarehouseResource, hub: HubResource) -> dg.MaterializeResult:
    report_date = report_date_of(context)
    items = review_items(warehouse.engine(), report_date)
    folder = write_review_page(hub.review_path(), report_date, items, hub.config().linking)
    return dg.MaterializeResult(
        metadata={
            "pending_records": len(items),
            "pending_pairs": sum(len(i.candidates) for i in items),
            **{f"pending_{feed}": sum(i.feed == feed for i in items) for feed in LINKED_FEEDS},
            "folder": dg.MetadataValue.path(str(folder)),
        }
    )
