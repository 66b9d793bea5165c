"""The products: daily division reports and the traffic-light table."""

import dagster as dg

from pipelines import traffic_light as tl
from pipelines.assets.ingest import ingest_key
from pipelines.assets.linking import linked_key
from pipelines.feeds import FEEDS, LINKED_FEEDS
from pipelines.partitions import report_date_of, report_dates
from pipelines.reports.render import write_report
from pipelines.reports.sections import build_reports
from pipelines.resources import HubResource, OutboxResource, WarehouseResource
from pipelines.sources.base import SourceError, TransientSourceError


@dg.asset(
    group_name="outputs",
    partitions_def=report_dates,
    deps=[*(linked_key(f) for f in LINKED_FEEDS), *(ingest_key(f) for f in FEEDS)],
    kinds={"html", "csv"},
    description="Per division: report.html and one CSV per section under IOM_REPORTS_DIR/<date>/<division>/.",
)
def division_reports(context: dg.AssetExecutionContext, warehouse: WarehouseResource, hub: HubResource) -> dg.MaterializeResult:
    report_date = report_date_of(context)
    reports = build_reports(warehouse.engine(), report_date, hub.config())
    metadata: dict[str, dg.RawMetadataValue] = {}
    for report in reports:
        folder = write_report(hub.reports_path(), report)
        for section, frame in report.sections.items():
            if section != "feeds":
                metadata[f"{report.division}_{section}"] = len(frame)
        metadata[f"{report.division}_folder"] = dg.MetadataValue.path(str(folder))
    feeds = reports[0].sections["feeds"] if reports else None
    if feeds is not None:
        for row in feeds.itertuples():
            metadata[f"feed_{row.feed}"] = row.status
        not_ok = feeds[feeds["status"] != "OK"]
        if not not_ok.empty:
            context.log.warning("feeds not OK: " + ", ".join(f"{r.feed} {r.status}" for r in not_ok.itertuples()))
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    group_name="outputs",
    partitions_def=report_dates,
    # After the report window's links: both store links, and the traffic light reads them.
    deps=[*(ingest_key(f) for f in FEEDS), *(linked_key(f) for f in LINKED_FEEDS)],
    kinds={"python"},
    description="Warehouse table traffic_light: monthly KPIs by division and for ALL, with red/amber/green, "
    "from the stored links of each month's register.",
)
def traffic_light(context: dg.AssetExecutionContext, warehouse: WarehouseResource, hub: HubResource) -> dg.MaterializeResult:
    engine = warehouse.engine()
    rows = tl.compute(engine, report_date_of(context), hub.config())
    tl.store(engine, rows)
    counts = rows["rag"].value_counts().to_dict() if not rows.empty else {}
    return dg.MaterializeResult(
        metadata={
            "periods": int(rows["period"].nunique()) if not rows.empty else 0,
            "rows": len(rows),
            **{f"rag_{k}": int(v) for k, v in sorted(counts.items())},
        }
    )


@dg.asset(
    group_name="outputs",
    partitions_def=report_dates,
    deps=[division_reports],
    kinds={"sftp"},
    description="Each division's report folder delivered to IOM_OUTBOX as <division>/<date>/, atomically. "
    "Does nothing when IOM_OUTBOX is unset.",
)
def report_delivery(context: dg.AssetExecutionContext, hub: HubResource, outbox: OutboxResource) -> dg.MaterializeResult:
    if not outbox.location:
        return dg.MaterializeResult(metadata={"delivered": 0, "outbox": "not configured (IOM_OUTBOX unset)"})
    report_date = report_date_of(context).isoformat()
    try:
        target = outbox.open()
    except SourceError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    delivered = []
    try:
        for division in hub.config().divisions:
            folder = hub.reports_path() / report_date / division
            delivered.append(target.deliver(folder, division, report_date))
    except TransientSourceError as exc:
        context.log.warning(str(exc))
        raise dg.RetryRequested(max_retries=3, seconds_to_wait=120) from exc
    except SourceError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    finally:
        target.close()
    return dg.MaterializeResult(
        metadata={
            "delivered": len(delivered),
            "files": sum(d.files for d in delivered),
            "outbox": dg.MetadataValue.text(delivered[0].target.rsplit("/", 2)[0] if delivered else ""),
        }
    )
