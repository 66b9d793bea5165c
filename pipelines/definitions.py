"""The Dagster code location: `dagster dev` (workspace.yaml) and `iom-hub run` load this."""

from __future__ import annotations

import dagster as dg

from pipelines.assets.ingest import INGEST_ASSETS
from pipelines.assets.linking import LINKED_ASSETS, link_review_page
from pipelines.assets.outputs import division_reports, report_delivery, traffic_light
from pipelines.resources import (
    HubResource,
    InboxResource,
    OdbcResource,
    OutboxResource,
    WarehouseResource,
)
from pipelines.sensors import inbox_sensors
from pipelines.settings import OPTIONAL, apply_environment_defaults

apply_environment_defaults()

DAILY_JOB = "daily_pipeline"


def optional_env(name: str) -> dg.EnvVar:
    """An optional setting, read at run time; "" (set by apply_environment_defaults) is unset."""
    assert name in OPTIONAL, name
    return dg.EnvVar(name)


daily_pipeline = dg.define_asset_job(
    DAILY_JOB,
    selection=dg.AssetSelection.all(),
    description="Everything for one report date: ingest, validate, link, load, reports, traffic light.",
)

# SFTP credentials, shared by the inbox and the outbox.
sftp_auth = {
    "sftp_key_file": optional_env("IOM_SFTP_KEY_FILE"),
    "sftp_key": optional_env("IOM_SFTP_KEY"),
    "sftp_key_passphrase": optional_env("IOM_SFTP_KEY_PASSPHRASE"),
    "sftp_known_hosts": optional_env("IOM_SFTP_KNOWN_HOSTS"),
}

defs = dg.Definitions(
    assets=[*INGEST_ASSETS, *LINKED_ASSETS, division_reports, report_delivery, traffic_light, link_review_page],
    jobs=[daily_pipeline],
    sensors=inbox_sensors(DAILY_JOB),
    resources={
        "warehouse": WarehouseResource(url=dg.EnvVar("IOM_WAREHOUSE_URL")),
        "inbox": InboxResource(
            location=dg.EnvVar("IOM_INBOX"),
            settle_seconds=dg.EnvVar.int("IOM_SETTLE_SECONDS"),
            **sftp_auth,
        ),
        "odbc": OdbcResource(
            cohort=optional_env("IOM_COHORT_ODBC"),
            arrests=optional_env("IOM_ARRESTS_ODBC"),
        ),
        "outbox": OutboxResource(location=optional_env("IOM_OUTBOX"), **sftp_auth),
        "hub": HubResource(
            config_path=dg.EnvVar("IOM_CONFIG"),
            reports_dir=dg.EnvVar("IOM_REPORTS_DIR"),
            review_dir=dg.EnvVar("IOM_REVIEW_DIR"),
        ),
    },
)
