"""Where each member is in the criminal justice system: the `cjs_location` table."""

from collections import Counter

import dagster as dg

from pipelines import cjs_location as cjs
from pipelines.assets.describe import OWNERS, count_rows, schema_metadata, warehouse_kind
from pipelines.assets.ingest import rows_key
from pipelines.assets.linking import links_key
from pipelines.event_links import link_every_event
from pipelines.feeds import FEEDS, LINKED_FEEDS
from pipelines.link_store import linker_version
from pipelines.partitions import run_report_date
from pipelines.resources import HubResource, WarehouseResource
from warehouse.schema import cjs_location as cjs_location_table


@dg.asset(
    group_name="products",
    owners=OWNERS,
    # After the traffic light: the months' links it stored are read back, not linked again.
    deps=[*(rows_key(f) for f in FEEDS), *(links_key(f) for f in LINKED_FEEDS), dg.AssetKey("traffic_light")],
    kinds={warehouse_kind(), "table"},
    metadata=schema_metadata(cjs_location_table),
    description="Warehouse table `cjs_location`: each cohort member's spells in the criminal justice system "
    "(COMMUNITY, POLICE_CUSTODY, REMANDED_IN_CUSTODY, IN_PRISON, ON_LICENCE, UNKNOWN) with the event that put "
    "them there, derived from the linked arrests, court results and release schedules (docs/design.md, 'Where "
    "the cohort is'); view `cjs_location_current`. First links every record of every linked feed month by month "
    "(the `linked_*` views read those links). Not partitioned: computed for the run's report date, from the "
    "earliest moment an input changed since the last run (table `cjs_location_state`); a run for an earlier date "
    "(a backfill) leaves a later run's table alone.",
)
def cjs_location(context: dg.AssetExecutionContext, warehouse: WarehouseResource, hub: HubResource) -> dg.MaterializeResult:
    engine = warehouse.engine()
    report_date = run_report_date(context.run.tags, context.instance)
    linked = link_every_event(engine, report_date, hub.config().linking)
    # Kept up to the earliest change since the last run, derived again from there on.
    spells, written = cjs.refresh(engine, report_date, linker_version(hub.config().linking))
    if not written:
        context.log.info(f"cjs_location left as a later run wrote it; {report_date} is a backfill")
    now = Counter(cjs.location_at_end_of(spells, report_date)["location"]) if not spells.empty else Counter()
    return dg.MaterializeResult(
        metadata={
            "report_date": report_date.isoformat(),
            "written": written,
            "spells": len(spells),
            "records_linked": sum(linked.values()),
            **{f"now_{loc}": now.get(loc, 0) for loc in cjs.LOCATIONS},
            "dagster/row_count": count_rows(engine, cjs_location_table),
        }
    )
