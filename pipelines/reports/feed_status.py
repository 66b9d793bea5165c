"""feeds.csv: did each feed arrive, on time, whole?  (CONTRACT section 7)"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from pipelines.feeds import FEEDS, FeedKind
from pipelines.settings import HubConfig
from pipelines.store import ledger

# When several apply, the first listed is reported: it is the one a reader must act on.
STATUS_PRECEDENCE = ("MISSING", "STALE", "REJECTS", "LATE", "OK")


def feed_status(engine: sa.Engine, report_date: date, config: HubConfig) -> pd.DataFrame:
    files = ledger(engine)
    window = {report_date - timedelta(days=1), report_date}
    rows = []
    for name, feed in FEEDS.items():
        mine = files[files["feed"] == name]
        dated = mine[mine["file_date"].notna()]
        dated = dated[dated["file_date"] <= report_date]
        newest = None
        if not dated.empty:  # the newest date; on it the preferred format, then the latest time
            ranked = dated.assign(_rank=feed.format_rank(dated["name"]))
            order = ranked.sort_values(["file_date", "_rank", "file_time", "name"], ascending=[False, True, False, False])
            newest = str(order.iloc[0]["name"])
        # Files whose names carry no usable date count in the run that first found them.
        in_window = pd.concat(
            [dated[dated["file_date"].isin(window)], mine[mine["file_date"].isna() & (mine["first_report_date"] == report_date)]]
        )
        loaded = int(in_window["rows_loaded"].sum())
        quarantined = int(in_window["rows_quarantined"].sum())
        timeliness = config.feeds.get(name)
        details = []
        statuses = set()
        if feed.kind is FeedKind.EVENTS and dated["file_date"].isin(window).sum() == 0:
            statuses.add("MISSING")
            details.append("no file dated the report date or the day before")
        if feed.kind is FeedKind.SNAPSHOT:
            if newest is None:
                statuses.add("MISSING")
                details.append("no file dated on or before the report date")
            elif timeliness and timeliness.stale_after_days is not None:
                age = (report_date - dated["file_date"].max()).days
                if age > timeliness.stale_after_days:
                    statuses.add("STALE")
                    details.append(f"newest file is {age} days old")
        if quarantined:
            statuses.add("REJECTS")
            rejected_files = int((in_window["status"] == "REJECTED").sum())
            details.append(
                f"{quarantined} row(s) quarantined" + (f", {rejected_files} file(s) rejected whole" if rejected_files else "")
            )
        if timeliness is not None:
            late = []
            for _, f in in_window[in_window["file_date"].notna()].iterrows():
                due = datetime.combine(f["file_date"] + timedelta(days=timeliness.due_days_after), timeliness.due_time)
                if f["arrived_at"] is not None and pd.Timestamp(f["arrived_at"]) > pd.Timestamp(due):
                    late.append(f"{f['name']} arrived {pd.Timestamp(f['arrived_at']):%Y-%m-%d %H:%M}, due {due:%Y-%m-%d %H:%M}")
            if late:
                statuses.add("LATE")
                details.extend(late)
        status = next(s for s in STATUS_PRECEDENCE if s in statuses or s == "OK")
        rows.append(
            {
                "feed": name,
                "status": status,
                "newest_file": newest or "",
                "rows_loaded": loaded,
                "rows_quarantined": quarantined,
                "detail": "; ".join(details),
            }
        )
    return pd.DataFrame(rows)
