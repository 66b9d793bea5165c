"""feeds.csv and providers.csv: did each feed, and each of its providers, arrive on time
and whole?  (CONTRACT section 7)

One set of rules (``_judge``) is applied to a group of a feed's files: the whole feed's
for feeds.csv, one provider's for providers.csv.  Which files a report date may use is
``pipelines.store.in_force`` (files dated on or before D, or an ODBC read standing in),
the same rule every report query uses.  ``feed_status`` and ``provider_status`` are the
interface; ``statuses`` gives both from one pass for the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from pipelines.feeds import FEEDS, Feed, FeedKind
from pipelines.filenames import parse_name
from pipelines.settings import FeedTimeliness, HubConfig, ProviderSchedule
from pipelines.store import InForce, in_force, ledger
from warehouse.winners import FILE_OF_DATE_FIRST, sort_files

LONDON = ZoneInfo("Europe/London")

# When several apply, the first listed is reported: it is the one a reader must act on.
STATUS_PRECEDENCE = ("MISSING", "STALE", "PARTIAL", "REJECTS", "LATE", "OK")

FEED_COLUMNS = ["feed", "status", "newest_file", "rows_loaded", "rows_quarantined", "detail"]
# The contract's columns, then detail; provider_name (a court's name) and due_for (the
# dates, ISO, ";"-joined, whose file the provider owed this report) are extras.
PROVIDER_COLUMNS = [
    "feed", "provider", "status", "newest_file", "rows_loaded", "rows_quarantined", "detail", "provider_name", "due_for",
]  # fmt: skip

NOT_DUE = "not due"


@dataclass
class _Judgement:
    newest: str | None
    loaded: int
    quarantined: int
    statuses: set[str] = field(default_factory=set)
    details: list[str] = field(default_factory=list)
    counted_partners: set[str] = field(default_factory=set)

    @property
    def status(self) -> str:
        return next(s for s in STATUS_PRECEDENCE if s in self.statuses or s == "OK")


@dataclass(frozen=True)
class Statuses:
    feeds: pd.DataFrame  # FEED_COLUMNS, one row per feed
    providers: pd.DataFrame  # PROVIDER_COLUMNS, one row per configured provider


def _local(ingested_at: object) -> str:
    """The ledger's ingested_at (UTC) as Europe/London wall-clock time."""
    return f"{pd.Timestamp(ingested_at).tz_localize('UTC').tz_convert(LONDON):%Y-%m-%d %H:%M}"


def counted_files(files: pd.DataFrame, force: InForce, report_date: date) -> pd.DataFrame:
    """The current files whose rows feeds.csv counts for D: those in force dated D-1 or D
    (or the ODBC read standing in), and those whose names carry no usable date, in the run
    that first found them."""
    window = {report_date - timedelta(days=1), report_date}
    usable = files[force.mask(files)] if not files.empty else files
    windowed = usable[usable["file_date"].notna() & (usable["file_date"].isin(window) | (usable["id"] == force.stand_in))]
    undated = files[files["file_date"].isna() & (files["first_report_date"] == report_date)]
    return pd.concat([windowed, undated])


def _judge(feed: Feed, files: pd.DataFrame, force: InForce, report_date: date, timeliness: FeedTimeliness | None) -> _Judgement:
    """feeds.csv's rules for one group of one feed's current files (the feed's or a provider's)."""
    usable = files[force.mask(files)] if not files.empty else files
    dated = usable[usable["file_date"].notna()]
    newest = None
    if not dated.empty:  # the newest date; on it the preferred format, then the latest time
        newest = str(sort_files(dated, FILE_OF_DATE_FIRST, feed.name, first=(("file_date", False),)).iloc[0]["name"])
    stand_in = dated[dated["id"] == force.stand_in] if force.stand_in is not None else dated.iloc[0:0]
    counted = counted_files(files, force, report_date)
    windowed = counted[counted["file_date"].notna()]
    j = _Judgement(newest, int(counted["rows_loaded"].sum()), int(counted["rows_quarantined"].sum()))
    j.counted_partners = set(counted["partner"]) - {""}
    if feed.kind is FeedKind.EVENTS and windowed.empty:
        j.statuses.add("MISSING")
        j.details.append("no file dated the report date or the day before")
    if feed.kind is FeedKind.SNAPSHOT:
        if newest is None:
            j.statuses.add("MISSING")
            j.details.append("no file dated on or before the report date")
        elif timeliness and timeliness.stale_after_days is not None:
            age = (report_date - dated["file_date"].max()).days
            if age > timeliness.stale_after_days:
                j.statuses.add("STALE")
                j.details.append(f"newest file is {age} days old")
    if j.quarantined:
        j.statuses.add("REJECTS")
        rejected_files = int((counted["status"] == "REJECTED").sum())
        j.details.append(
            f"{j.quarantined} row(s) quarantined" + (f", {rejected_files} file(s) rejected whole" if rejected_files else "")
        )
    for _, read in stand_in.iterrows():
        j.statuses.add("LATE")
        j.details.append(f"read over ODBC on {_local(read['ingested_at'])}, after the report date")
    if timeliness is not None:
        late = []
        for _, f in windowed[windowed["id"] != force.stand_in].iterrows():
            due = datetime.combine(f["file_date"] + timedelta(days=timeliness.due_days_after), timeliness.due_time)
            if f["arrived_at"] is not None and pd.Timestamp(f["arrived_at"]) > pd.Timestamp(due):
                late.append(f"{f['name']} arrived {pd.Timestamp(f['arrived_at']):%Y-%m-%d %H:%M}, due {due:%Y-%m-%d %H:%M}")
        if late:
            j.statuses.add("LATE")
            j.details.extend(late)
    return j


def due_dates(schedule: ProviderSchedule, report_date: date, timeliness: FeedTimeliness | None) -> list[date]:
    """The dates among D-1 and D whose file the provider owes the report for D: days it
    delivers for, whose file is due (the feed's ``days_after``) by D."""
    days_after = timeliness.due_days_after if timeliness is not None else 0
    window = (report_date - timedelta(days=1), report_date)
    return [day for day in window if schedule.delivers_for(day) and day + timedelta(days=days_after) <= report_date]


def _provider(
    feed: Feed,
    schedule: ProviderSchedule,
    files: pd.DataFrame,
    force: InForce,
    report_date: date,
    timeliness: FeedTimeliness | None,
) -> tuple[_Judgement, list[date]]:
    j = _judge(feed, files[files["partner"] == schedule.code], force, report_date, timeliness)
    due = due_dates(schedule, report_date, timeliness)
    if "MISSING" in j.statuses:
        j.statuses.discard("MISSING")
        j.details = [d for d in j.details if d != "no file dated the report date or the day before"]
        if due:
            j.statuses.add("MISSING")
            j.details.insert(0, "no file for " + " or ".join(d.isoformat() for d in due))
        else:
            j.details.insert(0, f"{NOT_DUE} (delivers {schedule.describe_days()})")
    return j, due


def statuses(engine: sa.Engine, report_date: date, config: HubConfig) -> Statuses:
    """feeds.csv and providers.csv for report date D, from one reading of the ledger."""
    files = ledger(engine)
    files["partner"] = [
        parse_name(FEEDS[f], n).partner if f in FEEDS and "partner" in FEEDS[f].file_pattern.groupindex else ""
        for f, n in zip(files["feed"], files["name"], strict=True)
    ]
    feed_rows, provider_rows = [], []
    for name, feed in FEEDS.items():
        mine = files[files["feed"] == name]
        force = in_force(engine, name, report_date)
        timeliness = config.feeds.get(name)
        whole = _judge(feed, mine, force, report_date, timeliness)
        schedules = config.providers.get(name, {})
        missing, any_due = [], False
        for code, schedule in schedules.items():
            j, due = _provider(feed, schedule, mine, force, report_date, timeliness)
            any_due = any_due or bool(due)
            if j.status == "MISSING":
                missing.append(code)
            provider_rows.append(
                {
                    "feed": name,
                    "provider": code,
                    "status": j.status,
                    "newest_file": j.newest or "",
                    "rows_loaded": j.loaded,
                    "rows_quarantined": j.quarantined,
                    "detail": "; ".join(j.details),
                    "provider_name": schedule.name or "",
                    "due_for": ";".join(d.isoformat() for d in due),
                }
            )
        if schedules:
            if "MISSING" in whole.statuses:
                if not any_due:
                    whole.details.append("none of its providers was due to deliver for those dates")
            elif missing:
                whole.statuses.add("PARTIAL")
                whole.details.insert(0, "no file from " + ", ".join(missing))
            others = sorted(whole.counted_partners - set(schedules))
            if others:
                whole.details.append(f"file(s) from {', '.join(others)}, not a configured provider")
        feed_rows.append(
            {
                "feed": name,
                "status": whole.status,
                "newest_file": whole.newest or "",
                "rows_loaded": whole.loaded,
                "rows_quarantined": whole.quarantined,
                "detail": "; ".join(whole.details),
            }
        )
    return Statuses(pd.DataFrame(feed_rows, columns=FEED_COLUMNS), pd.DataFrame(provider_rows, columns=PROVIDER_COLUMNS))


def feed_status(engine: sa.Engine, report_date: date, config: HubConfig) -> pd.DataFrame:
    """feeds.csv: feed, status, newest_file, rows_loaded, rows_quarantined, detail."""
    return statuses(engine, report_date, config).feeds


def provider_status(engine: sa.Engine, report_date: date, config: HubConfig) -> pd.DataFrame:
    """providers.csv: every configured provider (feed, provider, status, newest_file,
    rows_loaded, rows_quarantined, detail, then provider_name and due_for)."""
    return statuses(engine, report_date, config).providers


def missing_providers(provider_frame: pd.DataFrame, feed: str) -> list[str]:
    """The codes of the feed's providers that are MISSING, in configuration order."""
    if provider_frame.empty:
        return []
    rows = provider_frame[(provider_frame["feed"] == feed) & (provider_frame["status"] == "MISSING")]
    return [str(code) for code in rows["provider"]]


def due_providers(provider_frame: pd.DataFrame, feed: str) -> list[str]:
    """The codes of the feed's providers that owed this report a file (none on a day its
    providers do not deliver for, e.g. court results for a Monday's report)."""
    if provider_frame.empty:
        return []
    rows = provider_frame[(provider_frame["feed"] == feed) & (provider_frame["due_for"] != "")]
    return [str(code) for code in rows["provider"]]
