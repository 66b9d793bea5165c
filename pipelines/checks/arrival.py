"""Did each feed arrive, on time and whole, for a report date?  The Dagster view of feeds.csv.

The same code as feeds.csv and providers.csv judges it (pipelines/reports/feed_status.py),
so the UI, the late-feed alert and the report always agree.  Before the morning report it
is evaluated after each feed's due time by the `feed_arrivals` schedule; in the daily job,
after the sync.
"""

from __future__ import annotations

from datetime import date

import dagster as dg
import sqlalchemy as sa

from pipelines.reports.feed_status import due_providers, missing_providers, statuses
from pipelines.settings import HubConfig

# Statuses that say a feed is late, missing or incomplete; REJECTS is the quarantine's
# business (rows_reconcile and the quarantine table), not the feed's arrival.
NOT_ARRIVED = ("MISSING", "STALE", "PARTIAL", "LATE")


def arrival_check(engine: sa.Engine, feed_name: str, report_date: date, config: HubConfig) -> dg.AssetCheckResult:
    judged = statuses(engine, report_date, config)
    feeds, providers = judged.feeds, judged.providers
    row = feeds[feeds["feed"] == feed_name].iloc[0]
    missing = missing_providers(providers, feed_name)
    status = str(row["status"])
    # feeds.csv says MISSING for court results every Monday (no court sits on Sunday), as
    # the contract reads; nothing was owed, so nothing is late and nobody is alerted.
    nothing_owed = feed_name in config.providers and not due_providers(providers, feed_name)
    return dg.AssetCheckResult(
        passed=status not in NOT_ARRIVED or (status == "MISSING" and nothing_owed),
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{feed_name} for report date {report_date}: {status}",
        metadata={
            "report_date": report_date.isoformat(),
            "status": status,
            "detail": str(row["detail"]) or "none",
            "newest_file": str(row["newest_file"]) or "none",
            "providers_missing": ", ".join(missing),
            "rows_loaded": int(row["rows_loaded"]),
            "rows_quarantined": int(row["rows_quarantined"]),
        },
    )
