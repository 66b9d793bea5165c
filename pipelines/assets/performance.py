"""The monthly performance pack as a Dagster asset, partitioned by month."""

import dagster as dg

from pipelines.assets.describe import OWNERS
from pipelines.assets.outbox import deliver_folders
from pipelines.partitions import ONE_RUN_FOR_A_RANGE, report_dates
from pipelines.reports.pdf import PdfError
from pipelines.reports.performance_pack import PerformancePack, build_packs, write_packs
from pipelines.reports.publish import PublishError
from pipelines.resources import HubResource, OutboxResource, WarehouseResource

# A month per partition, from the month of the first report date; end_offset=1: the month
# in progress is a partition too (its pack shows the month to date).
months = dg.MonthlyPartitionsDefinition(
    start_date=f"{report_dates.start:%Y-%m}",
    fmt="%Y-%m",
    timezone="Europe/London",
    end_offset=1,
)


def _no_data(packs: list[PerformancePack]) -> tuple[int, int]:
    """(KPI figures without data, months with any) over the packs' own months."""
    figures = sum(int((p.table["rag"] == "NO_DATA").sum()) for p in packs)
    return figures, len({p.month for p in packs if (p.table["rag"] == "NO_DATA").any()})


@dg.asset(
    group_name="products",
    owners=OWNERS,
    partitions_def=months,
    backfill_policy=ONE_RUN_FOR_A_RANGE,
    deps=[dg.AssetKey("traffic_light"), dg.AssetKey("cjs_location")],
    kinds={"html", "pdf", "xlsx"},
    description="Partition YYYY-MM: the monthly performance pack for every division and for ALL, under "
    "`IOM_REPORTS_DIR/performance/<YYYY-MM>/<division or ALL>/` as `performance.html`, `performance.pdf` and "
    "`performance.xlsx`: the month's traffic light with each KPI's last twelve months as charts (RAG colours, "
    "thresholds drawn) and the counts behind every figure, notes where a month was restated, had no data or is "
    "in progress, the cohort in numbers (strand, type, agency, statutory or not) and the CJS location counts at "
    "the month's end. Counts only. It reads what `traffic_light` and `cjs_location` last stored, so materialise "
    "it after the daily run for the month's last report date (the 1st of the next month); the month in progress "
    "shows to date. Delivered to `IOM_OUTBOX/performance/<YYYY-MM>/<division>/` when IOM_OUTBOX is set.",
)
def performance_pack(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, hub: HubResource, outbox: OutboxResource
) -> dg.MaterializeResult:
    config = hub.config()
    packs, written = [], []
    for month in context.partition_keys:
        month_packs = build_packs(warehouse.engine(), month, config)
        try:
            folders = write_packs(hub.reports_path(), month_packs)
        except (PublishError, PdfError) as exc:
            raise dg.Failure(description=f"performance pack: {exc}", allow_retries=False) from None
        packs += month_packs
        written += [(p.month, p.division, folder, changed) for p, (folder, changed) in zip(month_packs, folders, strict=True)]
    places = [(folder, f"performance/{month}", division) for month, division, folder, _ in written]
    delivered = len(deliver_folders(context, outbox, places)) if outbox.location else 0
    figures, months_without = _no_data(packs)
    rewritten = sum(changed for *_, changed in written)
    return dg.MaterializeResult(
        metadata={
            "months": dg.MetadataValue.text(", ".join(context.partition_keys)),
            "packs_written": len(written),
            # A re-run rewrites only the folders whose content changed (restated figures).
            "folders_rewritten": rewritten,
            "folders_unchanged": len(written) - rewritten,
            "no_data_figures": figures,
            "months_with_no_data": months_without,
            "notes": sum(len(p.notes) for p in packs),
            "delivered": delivered if outbox.location else dg.MetadataValue.text("not configured (IOM_OUTBOX unset)"),
            "pack_folders": dg.MetadataValue.text("\n".join(str(f) for _, _, f, _ in written)),
        }
    )
