"""The hub-only data-quality page: what each report date's files lost to quarantine, and why."""

import dagster as dg

from pipelines.assets.describe import OWNERS
from pipelines.assets.ingest import rows_key
from pipelines.assets.linking import LINK_WRITERS
from pipelines.feeds import FEEDS
from pipelines.partitions import ONE_RUN_FOR_A_RANGE, partition_dates, report_dates
from pipelines.quality.run import quality_summary
from pipelines.reports.publish import PublishError
from pipelines.reports.quality_page import quality_page, write_quality_page
from pipelines.resources import HubResource, WarehouseResource


@dg.asset(
    group_name="quality",
    owners=OWNERS,
    partitions_def=report_dates,
    backfill_policy=ONE_RUN_FOR_A_RANGE,
    # After every step that stores links: the link suite's history reads them.
    deps=[*(rows_key(f) for f in FEEDS), *LINK_WRITERS],
    kinds={"html", "csv"},
    description="Hub only. Partition D: `quality.html`, `quarantine.csv` and `findings.csv` under "
    "`IOM_QUALITY_DIR/<D>/`: for the files D's `feeds.csv` counts, each file's status and row counts, why a file was "
    "rejected whole, every quarantined row's line or element and reason, the identifier findings, and the Great "
    "Expectations results. Never in a division's folder or the outbox.",
)
def data_quality(context: dg.AssetExecutionContext, warehouse: WarehouseResource, hub: HubResource) -> dg.MaterializeResult:
    engine, config = warehouse.engine(), hub.config()
    counts: dict[str, int] = {}
    folders = []
    for report_date in partition_dates(context):
        page = quality_page(engine, report_date, quality_summary(engine, report_date, config))
        try:
            folders.append(write_quality_page(hub.quality_path(), page))
        except PublishError as exc:
            raise dg.Failure(description=f"data-quality page: {exc}", allow_retries=False) from None
        counts = page.counts()  # the latest date's: a range's pages are each on disk
    return dg.MaterializeResult(
        metadata={
            **counts,
            "dagster/row_count": sum(v for k, v in counts.items() if k.endswith("_rows_quarantined")),
            "pages": dg.MetadataValue.text("\n".join(str(f / "quality.html") for f in folders)),
        }
    )
