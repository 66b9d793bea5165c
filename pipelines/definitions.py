"""The Dagster code location: `dagster dev` (workspace.yaml) and `iom-hub run` load this.

The graph (docs/design.md, "How the partitions map to the data"):

    inbox --sync--> ledger/<feed>, <feed row table>        not partitioned
                      --> record_link/<feed>               per report date
                      --> traffic_light                    not partitioned (months)
                      --> cjs_location                     not partitioned (spells)
                  --> member_pseudonyms                    not partitioned
                      --> division_reports --> delivered_reports   per report date
                      --> review_list                      per report date
"""

from __future__ import annotations

import os

import dagster as dg

from pipelines.alert_sensors import alert_sensors
from pipelines.assets.conference import conference_packs
from pipelines.assets.ingest import GROUP as SYNC_GROUP
from pipelines.assets.ingest import SYNC_ASSETS
from pipelines.assets.linking import LINK_ASSETS, review_list
from pipelines.assets.locations import cjs_location
from pipelines.assets.outputs import delivered_reports, division_reports, traffic_light
from pipelines.assets.performance import performance_pack
from pipelines.assets.privacy import member_pseudonyms
from pipelines.assets.quality import data_quality
from pipelines.checks.ingest import SYNC_CHECKS
from pipelines.checks.outputs import OUTPUT_CHECKS
from pipelines.checks.quality import QUALITY_CHECKS
from pipelines.executors import executor_from_environment
from pipelines.job_names import CONFERENCE_PACKS_JOB, DAILY_JOB, PERFORMANCE_PACK_JOB, SYNC_JOB
from pipelines.resources import (
    HubResource,
    InboxResource,
    OdbcResource,
    OutboxResource,
    WarehouseResource,
)
from pipelines.schedules import feed_arrivals, monthly_packs, monthly_performance_pack, morning_report
from pipelines.sensors import inbox_sensors
from pipelines.settings import OPTIONAL, apply_environment_defaults, load_hub_config

apply_environment_defaults()


def optional_env(name: str) -> dg.EnvVar:
    """An optional setting, read at run time; "" (set by apply_environment_defaults) is unset."""
    assert name in OPTIONAL, name
    return dg.EnvVar(name)


daily_pipeline = dg.define_asset_job(
    DAILY_JOB,
    # Not the monthly performance pack: a job's partitioned assets share one partitioning.
    # Nor the case-conference packs: made for a conference date (iom-hub pack, its schedule), not every day.
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(performance_pack, conference_packs),
    description="Everything for one report date (or a range, as one run): sync the inbox, check, link, the division "
    "reports and their delivery, the traffic light, the review list.",
)
# The monthly products, each its own job: the packs are partitioned by month and by date.
performance_pack_job = dg.define_asset_job(
    PERFORMANCE_PACK_JOB,
    selection=dg.AssetSelection.assets(performance_pack),
    description="The monthly performance pack for a month (a partition), from the traffic light as stored.",
)
conference_packs_job = dg.define_asset_job(
    CONFERENCE_PACKS_JOB,
    selection=dg.AssetSelection.assets(conference_packs),
    description="Every division's case-conference pack for a conference date (a partition).",
)
inbox_sync = dg.define_asset_job(
    SYNC_JOB,
    selection=dg.AssetSelection.groups(SYNC_GROUP),
    description="Sync the inbox into the ledger and the feeds' row tables, and check each feed arrived on time "
    "(for today's report unless the run is tagged iom/report_date).",
)

# SFTP credentials, shared by the inbox and the outbox.
sftp_auth = {
    "sftp_key_file": optional_env("IOM_SFTP_KEY_FILE"),
    "sftp_key": optional_env("IOM_SFTP_KEY"),
    "sftp_key_passphrase": optional_env("IOM_SFTP_KEY_PASSPHRASE"),
    "sftp_known_hosts": optional_env("IOM_SFTP_KNOWN_HOSTS"),
}

# The schedule's times are read when the code location loads: a config change shows once
# the location is reloaded (in the UI: Deployment, Reload).
_config = load_hub_config(os.environ["IOM_CONFIG"])

defs = dg.Definitions(
    # In the run's own process unless IOM_EXECUTOR says otherwise (pipelines/executors.py):
    # on a small machine starting a process for each of some thirty steps costs more than
    # the steps; a deployment with workers spreads them (celery, k8s).
    executor=executor_from_environment(),
    assets=[
        *SYNC_ASSETS,
        *LINK_ASSETS,
        division_reports,
        delivered_reports,
        traffic_light,
        cjs_location,
        member_pseudonyms,
        review_list,
        data_quality,
        conference_packs,
        performance_pack,
    ],
    asset_checks=[*SYNC_CHECKS, *OUTPUT_CHECKS, *QUALITY_CHECKS],
    jobs=[daily_pipeline, inbox_sync, performance_pack_job, conference_packs_job],
    schedules=[
        morning_report(DAILY_JOB, _config.report_at),
        feed_arrivals(SYNC_JOB, _config),
        monthly_performance_pack(PERFORMANCE_PACK_JOB, _config.packs),
        monthly_packs(CONFERENCE_PACKS_JOB, _config.packs),
    ],
    sensors=[*inbox_sensors(DAILY_JOB), *alert_sensors([DAILY_JOB, SYNC_JOB])],
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
            quality_dir=dg.EnvVar("IOM_QUALITY_DIR"),
        ),
    },
)
