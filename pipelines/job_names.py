"""The names of the hub's Dagster jobs, without importing Dagster (the CLI reads them
before it decides whether to load the code location)."""

DAILY_JOB = "daily_pipeline"
SYNC_JOB = "inbox_sync"
PERFORMANCE_PACK_JOB = "performance_pack_job"
CONFERENCE_PACKS_JOB = "conference_packs_job"
