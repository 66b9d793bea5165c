"""The case-conference packs: one per division for a conference date, and their delivery."""

from collections import Counter
from pathlib import Path

import dagster as dg
from pydantic import Field

from pipelines.assets.describe import OWNERS
from pipelines.assets.outbox import deliver_folders
from pipelines.assets.outputs import LINKS, ROWS
from pipelines.partitions import ONE_RUN_FOR_A_RANGE, partition_dates, report_dates
from pipelines.reports.conference_pack import PACK_FILES, ConferencePack, PackError, build_packs, write_packs
from pipelines.reports.pdf import PdfError
from pipelines.reports.publish import PublishError
from pipelines.resources import HubResource, OutboxResource, WarehouseResource

PACK_ASSET = "conference_packs"


class ConferencePackConfig(dg.Config):
    divisions: list[str] | None = Field(
        default=None, description="Division codes to make packs for (e.g. [CH]); none given: every configured division."
    )


def _tally(packs: list[ConferencePack]) -> Counter[str]:
    counts: Counter[str] = Counter(packs=len(packs))
    for pack in packs:
        counts.update(members=len(pack.members), nominated=len(pack.nominated), exit_candidates=len(pack.exit_candidates))
    return counts


@dg.asset(
    name=PACK_ASSET,
    group_name="products",
    owners=OWNERS,
    partitions_def=report_dates,
    backfill_policy=ONE_RUN_FOR_A_RANGE,
    # As division_reports: the feeds' rows and links, and the locations cjs_location derives.
    deps=[*ROWS, *LINKS, dg.AssetKey("cjs_location")],
    kinds={"html", "pdf", "xlsx"},
    description="Partition D, the conference date: for each division (config `divisions`, default all), the "
    "case-conference pack under `IOM_REPORTS_DIR/conference/<D>/<division>/`: `pack.html` for the screen, `pack.pdf` "
    "for the meeting (one member per page, OFFICIAL-SENSITIVE on every page) and `pack.xlsx` (a sheet per section). "
    "Only the division's cohort members and nominees, only reportable events, as the warehouse stood on D: the "
    "daily run for D must have loaded it first. Delivered to `IOM_OUTBOX/<division>/conference-<D>/` when "
    "IOM_OUTBOX is set.",
)
def conference_packs(
    context: dg.AssetExecutionContext,
    config: ConferencePackConfig,
    warehouse: WarehouseResource,
    hub: HubResource,
    outbox: OutboxResource,
) -> dg.MaterializeResult:
    counts: Counter[str] = Counter()
    folders: list[Path] = []
    rewritten = 0
    for conference_date in partition_dates(context):
        try:
            packs = build_packs(warehouse.engine(), conference_date, hub.config(), config.divisions)
            written = write_packs(hub.reports_path(), packs)
        except (PackError, PublishError, PdfError) as exc:  # plain, and free of personal data
            raise dg.Failure(description=f"conference pack: {exc}", allow_retries=False) from None
        counts += _tally(packs)
        folders += [folder for folder, _ in written]
        rewritten += sum(changed for _, changed in written)
    # Each pack to `<outbox>/<division>/conference-<D>/` (the folder's own names).
    places = [(folder, folder.name, f"conference-{folder.parent.name}") for folder in folders]
    delivered = deliver_folders(context, outbox, places) if outbox.location else []
    context.log.info(f"{counts['packs']} pack(s) for {counts['members']} member(s); {len(delivered)} delivered")
    return dg.MaterializeResult(
        metadata={
            "packs": counts["packs"],
            "members": counts["members"],
            "nominated": counts["nominated"],
            "exit_candidates": counts["exit_candidates"],
            "folders_rewritten": rewritten,
            "delivered": len(delivered),
            "outbox": "not configured (IOM_OUTBOX unset)" if not outbox.location else "delivered",
            "folders": dg.MetadataValue.text("\n".join(str(f) for f in folders)),
            "pack_files": dg.MetadataValue.text("\n".join(str(f / name) for f in folders for name in PACK_FILES)),
        }
    )
