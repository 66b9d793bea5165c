"""The products: each day's division reports, their delivery, and the traffic-light table."""

from collections import Counter

import dagster as dg

from pipelines import traffic_light as tl
from pipelines.assets.describe import OWNERS, count_rows, schema_metadata, warehouse_kind
from pipelines.assets.ingest import rows_key
from pipelines.assets.linking import links_key
from pipelines.assets.outbox import deliver_folders
from pipelines.feeds import FEEDS, LINKED_FEEDS
from pipelines.partitions import ONE_RUN_FOR_A_RANGE, partition_dates, report_dates, run_report_date
from pipelines.reports.publish import PublishError
from pipelines.reports.render import write_report
from pipelines.reports.sections import build_reports
from pipelines.resources import HubResource, OutboxResource, WarehouseResource
from warehouse.schema import traffic_light as traffic_light_table

ROWS = [rows_key(f) for f in FEEDS]
LINKS = [links_key(f) for f in LINKED_FEEDS]


@dg.asset(
    group_name="products",
    owners=OWNERS,
    partitions_def=report_dates,
    backfill_policy=ONE_RUN_FOR_A_RANGE,
    # After cjs_location: "where the cohort is" reads every month's links it stored.
    deps=[*ROWS, *LINKS, dg.AssetKey("cjs_location")],
    kinds={"html", "csv"},
    description="Partition D: for every division, `report.html` and one CSV per section under "
    "`IOM_REPORTS_DIR/<D>/<division>/` (CONTRACT section 7): what happened to the cohort on D-1 and what is "
    "coming, from files dated on or before D, only reportable cohort members.",
)
def division_reports(context: dg.AssetExecutionContext, warehouse: WarehouseResource, hub: HubResource) -> dg.MaterializeResult:
    counts: Counter[str] = Counter()
    folders, warnings, rewritten = [], [], 0
    for report_date in partition_dates(context):
        reports = build_reports(warehouse.engine(), report_date, hub.config(), run_id=context.run.run_id)
        for report in reports:
            try:
                folder, changed = write_report(hub.reports_path(), report)
            except PublishError as exc:
                raise dg.Failure(description=f"division report: {exc}", allow_retries=False) from None
            folders.append(folder)
            rewritten += changed
            for section, frame in report.sections.items():
                if section not in ("feeds", "providers"):
                    counts[f"{report.division}_{section}"] += len(frame)
        feeds = reports[0].sections["feeds"] if reports else None
        if feeds is not None:
            warnings += [f"{report_date} {r.feed} {r.status}" for r in feeds.itertuples() if r.status != "OK"]
    if warnings:
        context.log.warning("feeds not OK: " + "; ".join(warnings))
    return dg.MaterializeResult(
        metadata={
            **counts,
            "dagster/row_count": sum(counts.values()),
            # A re-run rewrites only the folders whose content changed (a corrected file).
            "folders_rewritten": rewritten,
            "folders_unchanged": len(folders) - rewritten,
            "report_folders": dg.MetadataValue.text("\n".join(str(f) for f in folders)),
            "feed_warnings": dg.MetadataValue.text("\n".join(warnings) or "none"),
        }
    )


@dg.asset(
    group_name="products",
    owners=OWNERS,
    partitions_def=report_dates,
    backfill_policy=ONE_RUN_FOR_A_RANGE,
    deps=[division_reports],
    kinds={"sftp"},
    description="Partition D: each division's report folder for D delivered to `IOM_OUTBOX` as "
    "`<division>/<D>/`, atomically. Does nothing when IOM_OUTBOX is unset.",
)
def delivered_reports(context: dg.AssetExecutionContext, hub: HubResource, outbox: OutboxResource) -> dg.MaterializeResult:
    if not outbox.location:
        return dg.MaterializeResult(metadata={"delivered": 0, "outbox": "not configured (IOM_OUTBOX unset)"})
    delivered = deliver_folders(
        context,
        outbox,
        (
            (hub.reports_path() / report_date.isoformat() / division, division, report_date.isoformat())
            for report_date in partition_dates(context)
            for division in hub.config().divisions
        ),
    )
    return dg.MaterializeResult(
        metadata={
            "delivered": len(delivered),
            "files": sum(d.files for d in delivered),
            "outbox": dg.MetadataValue.text(delivered[0].target.rsplit("/", 2)[0] if delivered else ""),
        }
    )


@dg.asset(
    group_name="products",
    owners=OWNERS,
    # After the report windows' links: the traffic light reads the stored links too.
    deps=[*ROWS, *LINKS],
    kinds={warehouse_kind(), "table"},
    metadata=schema_metadata(traffic_light_table),
    description="Warehouse table `traffic_light` (CONTRACT section 8): monthly KPIs by division and for ALL with "
    "red/amber/green. Not partitioned: after a run for report date D it holds every month from the earliest file to "
    "the month of D-1 (ending at D-1) as of D, and later months are left alone. A month is recomputed only when "
    "what it is computed from changed (its end, the register at its end, the files that can change its events, the "
    "links, the KPI settings: `traffic_light_input`); each row's report_date says which run wrote it. "
    "`traffic_light_history` keeps every run's figures, so a restated month keeps its earlier values. "
    "Materialised on its own, it is computed for today's report date.",
)
def traffic_light(context: dg.AssetExecutionContext, warehouse: WarehouseResource, hub: HubResource) -> dg.MaterializeResult:
    engine = warehouse.engine()
    report_date = run_report_date(context.run.tags, context.instance)
    refreshed = tl.refresh(engine, report_date, hub.config())
    rows = refreshed.rows
    counts = rows["rag"].value_counts().to_dict() if not rows.empty else {}
    return dg.MaterializeResult(
        metadata={
            "report_date": report_date.isoformat(),
            "periods_written": ", ".join(sorted(set(rows["period"]))) if not rows.empty else "none",
            # Months whose inputs had not changed since their rows were written are kept.
            "periods_kept": len(refreshed.kept),
            "rows_written": len(rows),
            "dagster/row_count": count_rows(engine, traffic_light_table),
            **{f"rag_{k}": int(v) for k, v in sorted(counts.items())},
        }
    )
