"""One linking asset per feed that reports draw on: who each record of the window is."""

import dagster as dg

from pipelines.assets.ingest import ingest_key
from pipelines.daily import LINKED_FEEDS, link_for_report
from pipelines.partitions import report_date_of, report_dates
from pipelines.resources import WarehouseResource


def linked_key(feed: str) -> dg.AssetKey:
    return dg.AssetKey(["linked", feed])


def _linked_asset(feed_name: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=linked_key(feed_name),
        group_name="linking",
        partitions_def=report_dates,
        deps=[ingest_key("cohort"), ingest_key(feed_name)],
        kinds={"python"},
        description=(
            f"The report window's `{feed_name}` records linked to cohort members of the register in force; "
            "uncertain or conflicting ones go to the review list (table link_review), never into a report."
        ),
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        counts = link_for_report(warehouse.engine(), feed_name, report_date_of(context))
        return dg.MaterializeResult(metadata={"records": counts.records, "linked": counts.linked, "to_review": counts.review})

    return _asset


LINKED_ASSETS = [_linked_asset(f) for f in LINKED_FEEDS]
