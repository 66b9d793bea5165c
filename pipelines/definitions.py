"""The Dagster code location: `dagster dev` (workspace.yaml) and `iom-hub run` load this."""

from __future__ import annotations

import dagster as dg

from pipelines.assets.ingest import INGEST_ASSETS
from pipelines.assets.linking import LINKED_ASSETS
from pipelines.assets.outputs import division_reports, traffic_light
from pipelines.resources import HubResource, InboxResource, WarehouseResource
from pipelines.settings import apply_environment_defaults

apply_environment_defaults()

DAILY_JOB = "daily_pipeline"

daily_pipeline = dg.define_asset_job(
    DAILY_JOB,
    selection=dg.AssetSelection.all(),
    description="Everything for one report date: ingest, validate, link, load, reports, traffic light.",
)

defs = dg.Definitions(
    assets=[*INGEST_ASSETS, *LINKED_ASSETS, division_reports, traffic_light],
    jobs=[daily_pipeline],
    resources={
        "warehouse": WarehouseResource(url=dg.EnvVar("IOM_WAREHOUSE_URL")),
        "inbox": InboxResource(
            location=dg.EnvVar("IOM_INBOX"),
            settle_seconds=dg.EnvVar.int("IOM_SETTLE_SECONDS"),
        ),
        "hub": HubResource(config_path=dg.EnvVar("IOM_CONFIG"), reports_dir=dg.EnvVar("IOM_REPORTS_DIR")),
    },
)
