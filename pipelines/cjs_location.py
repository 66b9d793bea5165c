"""Where each cohort member is in the criminal justice system, derived from the feeds.

The hub's founding aim is to "monitor the location of the IOM cohort within the criminal
justice system".  No feed says it outright; each event moves a member (docs/design.md,
"Where the cohort is", has the rules with their reasons):

1. an arrest puts them in ``POLICE_CUSTODY`` at arrest_datetime;
2. its outcome at outcome_datetime: ``CHARGED_REMANDED`` remands them in custody,
   ``TRANSFERRED`` while on licence is a recall (``IN_PRISON``), otherwise ``UNKNOWN``
   (another force or agency has them); any other outcome sets them at liberty;
3. an arrest still without an outcome 96 hours later (PACE's longest detention without
   charge) leaves them ``UNKNOWN``, unless something else happened first;
4. a hearing, at 17:00 on its date: a custodial sentence puts them ``IN_PRISON``, a
   remand in custody or to secure accommodation ``REMANDED_IN_CUSTODY``, anything else
   at liberty;
5. a release file dated F listing them with a release date from F on: ``IN_PRISON`` at F;
6. a release (the date as the newest file on or before it lists it) at 09:00: at liberty;
7. the day after a licence expires, ``ON_LICENCE`` becomes ``COMMUNITY``;
8. before any of that, from their first register snapshot, ``COMMUNITY``.

"At liberty" is ``ON_LICENCE`` while the member's latest release's licence runs, else
``COMMUNITY``.  The records are those the pipeline linked (the stored links, by subject:
a pending arrest's later outcome row is the same person's), as of the report date, so a
report for a past date is rebuilt exactly.  Set-based: events are frames, the rules
are vectorised, the spells are gaps-and-islands.
"""

from __future__ import annotations

from datetime import date, time, timedelta

import pandas as pd
import sqlalchemy as sa

from pipelines.link_store import subjects
from pipelines.store import events_as_of, rows_of_files, snapshot_files
from warehouse.schema import CJS_LOCATIONS, cjs_location, ingest_file, record_link
from warehouse.winners import NEWEST_REGISTER_FIRST, order_by

LOCATIONS = CJS_LOCATIONS
COMMUNITY, POLICE_CUSTODY, REMANDED, IN_PRISON, ON_LICENCE, UNKNOWN = CJS_LOCATIONS
LIBERTY = "AT_LIBERTY"  # resolved to ON_LICENCE or COMMUNITY by the licence in force
CUSTODIAL_RESULT_CODES = frozenset({"1002"})  # CJS result code: Imprisonment
CUSTODY_REMANDS = frozenset({"PR", "SA"})  # remanded in custody; to secure accommodation (youths)
REMANDED_OUTCOMES = frozenset({"CHARGED_REMANDED"})
NO_OUTCOME_AFTER = timedelta(hours=96)
HEARING_TAKES_EFFECT = time(17, 0)
RELEASED_AT = time(9, 0)
# Two events at the same moment: the one later here wins (a release file's listing at
# 00:00 and a licence expiring at 00:00 the same day: the listing says where they are).
PRIORITY = {"register": 0, "licence_expiry": 1, "no_outcome": 2, "release": 3, "release_schedule": 4,
            "court": 5, "arrest": 6, "arrest_outcome": 7}  # fmt: skip
EVENT_COLUMNS = ["iom_id", "at", "cause", "target", "feed", "file_id", "row_no"]
SPELL_COLUMNS = ["iom_id", "started_at", "ended_at", "location", "cause", "feed", "file_id", "row_no"]


# --------------------------------------------------------------------------- inputs


def _subject_members(engine: sa.Engine, feed_name: str, as_of: date) -> pd.DataFrame:
    """(subject, iom_id) from each subject's link judged by the newest register on or before D."""
    register = ingest_file.alias("register")
    newest = (
        sa.func.row_number()
        .over(partition_by=record_link.c.subject, order_by=order_by(NEWEST_REGISTER_FIRST, register))
        .label("rank")
    )
    ranked = (
        sa.select(record_link.c.subject, record_link.c.iom_id, newest)
        .join(register, register.c.id == record_link.c.register_id)
        .where(record_link.c.feed == feed_name, register.c.file_date <= as_of)
        .subquery()
    )
    q = sa.select(ranked.c.subject, ranked.c.iom_id).where(ranked.c.rank == 1, ranked.c.iom_id.is_not(None))
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).fetchall(), columns=["subject", "iom_id"])


def _linked(engine: sa.Engine, feed_name: str, rows: pd.DataFrame, as_of: date) -> pd.DataFrame:
    if rows.empty:
        return rows.assign(iom_id=pd.Series(dtype=object))
    members = _subject_members(engine, feed_name, as_of)
    keyed = rows.drop(columns=[c for c in ("iom_id",) if c in rows]).assign(subject=subjects(feed_name, rows))
    return keyed.merge(members, on="subject")


def _frame(rows: pd.DataFrame, feed: str, at: pd.Series, cause: str, target: pd.Series | str) -> pd.DataFrame:
    return pd.DataFrame(
        {"iom_id": rows["iom_id"], "at": at, "cause": cause, "target": target, "feed": feed,
         "file_id": rows["file_id"], "row_no": rows["row_no"]}
    )  # fmt: skip


def arrest_events(arrests: pd.DataFrame) -> pd.DataFrame:
    """Rules 1-3, from linked arrests (the winning row per custody_ref)."""
    if arrests.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    arrested = pd.to_datetime(arrests["arrest_datetime"])
    outcome = arrests["outcome"].fillna("").astype(str)
    decided = arrests[outcome != ""]
    when = pd.to_datetime(decided["outcome_datetime"]).fillna(arrested[outcome != ""])
    d_outcome = outcome[outcome != ""]
    target = pd.Series(LIBERTY, index=decided.index).mask(d_outcome.isin(REMANDED_OUTCOMES), REMANDED)
    target = target.mask(d_outcome == "TRANSFERRED", "TRANSFERRED")  # recall or unknown: the licence decides
    pending = arrests[outcome == ""]
    return pd.concat(
        [
            _frame(arrests, "arrests", arrested, "arrest", POLICE_CUSTODY),
            _frame(decided, "arrests", when, "arrest_outcome", target),
            _frame(pending, "arrests", arrested[outcome == ""] + NO_OUTCOME_AFTER, "no_outcome", UNKNOWN),
        ],
        ignore_index=True,
    )


def court_events(results: pd.DataFrame) -> pd.DataFrame:
    """Rule 4: one event per defendant per hearing, from its offences' results and remand."""
    if results.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    codes = results["result_codes"].fillna("").astype(str).str.split(";")
    rows = results.assign(
        _custodial=codes.map(lambda cs: bool(CUSTODIAL_RESULT_CODES.intersection(c.strip() for c in cs))),
        _remanded=results["remand_status"].isin(CUSTODY_REMANDS),
    )
    hearing = ["iom_id", "court_code", "hearing_date", "urn", "defendant_index"]
    per = rows.groupby(hearing, as_index=False, dropna=False).agg(
        _custodial=("_custodial", "any"), _remanded=("_remanded", "any"), file_id=("file_id", "min"), row_no=("row_no", "min")
    )
    at = pd.to_datetime(per["hearing_date"]) + pd.Timedelta(hours=HEARING_TAKES_EFFECT.hour)
    target = pd.Series(LIBERTY, index=per.index).mask(per["_remanded"], REMANDED).mask(per["_custodial"], IN_PRISON)
    return _frame(per, "court_results", at, "court", target)


def release_events(listings: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rules 5 and 6 from every release file's linked rows (with their ``file_date``);
    also the releases themselves, for the licence in force."""
    if listings.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS), pd.DataFrame(columns=["iom_id", "at", "licence_until"])
    file_date = pd.to_datetime(listings["file_date"])
    release = pd.to_datetime(listings["release_date"])
    listed = listings[release >= file_date]
    schedule = _frame(listed, "prison_releases", file_date[release >= file_date], "release_schedule", IN_PRISON)
    # A release happens as the newest file dated on or before its date lists it.
    newest_on_or_before = listings.assign(_release=release, _file=file_date)
    files = newest_on_or_before[["_file"]].drop_duplicates().sort_values("_file")
    dates = newest_on_or_before[["_release"]].drop_duplicates().sort_values("_release")
    speaks = pd.merge_asof(dates, files, left_on="_release", right_on="_file", direction="backward").dropna()
    happened = newest_on_or_before.merge(speaks, on=["_release", "_file"])
    at = happened["_release"] + pd.Timedelta(hours=RELEASED_AT.hour)
    released = _frame(happened, "prison_releases", at, "release", LIBERTY)
    licences = pd.DataFrame(
        {"iom_id": happened["iom_id"], "at": at, "licence_until": pd.to_datetime(happened["licence_expiry_date"])}
    )
    return pd.concat([schedule, released], ignore_index=True), licences


def licence_events(licences: pd.DataFrame) -> pd.DataFrame:
    """Rule 7: the day after a licence expires (applied only to someone still ON_LICENCE)."""
    running = licences.dropna(subset=["licence_until"])
    return pd.DataFrame(
        {"iom_id": running["iom_id"], "at": running["licence_until"] + pd.Timedelta(days=1), "cause": "licence_expiry",
         "target": COMMUNITY, "feed": "prison_releases", "file_id": None, "row_no": None}
    )  # fmt: skip


def register_events(engine: sa.Engine, as_of: date) -> pd.DataFrame:
    """Rule 8: each member's first register snapshot on or before D."""
    files = snapshot_files(engine, "cohort", as_of)
    rows = rows_of_files(engine, "cohort", [int(i) for i in files["id"]])
    if rows.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    dated = rows.merge(files[["id", "file_date"]], left_on="file_id", right_on="id")
    first = dated.groupby("iom_id", as_index=False)["file_date"].min()
    return pd.DataFrame(
        {"iom_id": first["iom_id"], "at": pd.to_datetime(first["file_date"]), "cause": "register", "target": COMMUNITY,
         "feed": None, "file_id": None, "row_no": None}
    )  # fmt: skip


def _release_listings(engine: sa.Engine, as_of: date) -> pd.DataFrame:
    files = snapshot_files(engine, "prison_releases", as_of, stand_in=False)
    rows = rows_of_files(engine, "prison_releases", [int(i) for i in files["id"]])
    if rows.empty:
        return rows.assign(iom_id=pd.Series(dtype=object), file_date=pd.Series(dtype=object))
    dated = rows.merge(files[["id", "file_date"]], left_on="file_id", right_on="id").drop(columns="id")
    return _linked(engine, "prison_releases", dated, as_of)


def _register_only_first(events: pd.DataFrame) -> pd.DataFrame:
    """Rule 8 is the start, "before any of that": a member's first register snapshot says
    nothing once an event already placed them (sentenced the week before the hub's first
    snapshot of them: in prison, not in the community)."""
    if events.empty:
        return events
    at = pd.to_datetime(events["at"])
    is_register = events["cause"] == "register"
    first_other = at[~is_register].groupby(events.loc[~is_register, "iom_id"]).min()
    earlier = events["iom_id"].map(first_other)
    return events[~(is_register & earlier.notna() & (earlier < at))]


def gather_events(engine: sa.Engine, as_of: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every location event known as of D (those before the end of D) and the releases."""
    arrests = _linked(engine, "arrests", events_as_of(engine, "arrests", as_of), as_of)
    courts = _linked(engine, "court_results", events_as_of(engine, "court_results", as_of), as_of)
    releases, licences = release_events(_release_listings(engine, as_of))
    parts = [register_events(engine, as_of), arrest_events(arrests), court_events(courts), releases, licence_events(licences)]
    events = pd.concat([p for p in parts if not p.empty], ignore_index=True) if any(not p.empty for p in parts) else parts[0]
    events = _register_only_first(events)
    end = pd.Timestamp(as_of + timedelta(days=1))
    return events[pd.to_datetime(events["at"]) < end], licences[licences["at"] < end]


# --------------------------------------------------------------------------- rules


def _licence_at(events: pd.DataFrame, licences: pd.DataFrame) -> pd.Series:
    """Whether each event falls while the member's latest release's licence runs."""
    if licences.empty or events.empty:
        return pd.Series(False, index=events.index)
    left = events[["iom_id", "at"]].assign(_i=events.index).sort_values("at")
    right = licences.sort_values("at")
    joined = pd.merge_asof(left, right, on="at", by="iom_id", direction="backward")
    running = joined["licence_until"].notna() & (joined["at"].dt.normalize() <= joined["licence_until"])
    return pd.Series(running.to_numpy(), index=joined["_i"].to_numpy()).reindex(events.index, fill_value=False)


def resolve(events: pd.DataFrame, licences: pd.DataFrame) -> pd.DataFrame:
    """Each event's location, in time order per member; conditional events (an expiry, a
    96-hour timeout) dropped where they do not apply."""
    if events.empty:
        return pd.DataFrame(columns=[*EVENT_COLUMNS, "location"])
    ev = events.assign(at=pd.to_datetime(events["at"]), _p=events["cause"].map(PRIORITY)).reset_index(drop=True)
    on_licence = _licence_at(ev, licences)
    location = ev["target"].mask(ev["target"] == LIBERTY, COMMUNITY).mask((ev["target"] == LIBERTY) & on_licence, ON_LICENCE)
    location = location.mask(ev["target"] == "TRANSFERRED", UNKNOWN).mask((ev["target"] == "TRANSFERRED") & on_licence, IN_PRISON)
    ev = ev.assign(location=location).sort_values(["iom_id", "at", "_p"], kind="stable").reset_index(drop=True)
    conditional = ev["cause"].isin(["licence_expiry", "no_outcome"])
    firm = ev[~conditional]
    cond = ev[conditional]
    if not cond.empty:
        before = pd.merge_asof(
            cond.reset_index().sort_values("at"),
            firm[["iom_id", "at", "location", "cause", "file_id", "row_no"]].rename(
                columns={"location": "_loc", "cause": "_cause", "file_id": "_fid", "row_no": "_rno"}
            ).sort_values("at"),
            on="at", by="iom_id", direction="backward", allow_exact_matches=False,
        ).set_index("index").reindex(cond.index)  # the firm event each conditional one follows  # fmt: skip
        expiry_applies = (cond["cause"] == "licence_expiry") & (before["_loc"] == ON_LICENCE)
        timeout_applies = (
            (cond["cause"] == "no_outcome") & (before["_cause"] == "arrest")
            & (before["_fid"] == cond["file_id"]) & (before["_rno"] == cond["row_no"])
        )  # fmt: skip
        cond = cond[expiry_applies | timeout_applies]
    kept = pd.concat([ev[~conditional], cond]).sort_values(["iom_id", "at", "_p"], kind="stable")
    return kept.drop(columns="_p").reset_index(drop=True)


def spells(located: pd.DataFrame) -> pd.DataFrame:
    """Consecutive events with one location are one spell; it ends where the next starts.
    A member's events before their first register snapshot count (they were somewhere)."""
    if located.empty:
        return pd.DataFrame(columns=SPELL_COLUMNS)
    last_at_moment = located.drop_duplicates(["iom_id", "at"], keep="last")
    previous = last_at_moment.groupby("iom_id")["location"].shift()
    starts = last_at_moment[previous.isna() | (previous != last_at_moment["location"])]
    starts = starts.assign(ended_at=starts.groupby("iom_id")["at"].shift(-1))
    out = starts.rename(columns={"at": "started_at"})[SPELL_COLUMNS]
    return out.reset_index(drop=True)


def derive(engine: sa.Engine, as_of: date) -> pd.DataFrame:
    """Every member's spells as the warehouse knew them on D."""
    events, licences = gather_events(engine, as_of)
    return spells(resolve(events, licences))


def location_at_end_of(spell_frame: pd.DataFrame, day: date) -> pd.DataFrame:
    """Each member's spell in force at the end of ``day``: started before midnight, not
    ended by it (a spell starting at midnight belongs to the next day)."""
    if spell_frame.empty:
        return spell_frame
    midnight = pd.Timestamp(day + timedelta(days=1))
    started = pd.to_datetime(spell_frame["started_at"])
    ended = pd.to_datetime(spell_frame["ended_at"])
    return spell_frame[(started < midnight) & (ended.isna() | (ended >= midnight))]


def store(engine: sa.Engine, spell_frame: pd.DataFrame, as_of: date) -> bool:
    """Replace the table with spells as of D, unless a run for a later date already wrote
    it (a backfill does not roll the analysts' table back).  Returns whether it wrote."""
    records = spell_frame.assign(as_of=as_of)
    records = records.astype(object).where(records.notna(), None).to_dict("records")
    with engine.begin() as conn:
        newest = conn.execute(sa.select(sa.func.max(cjs_location.c.as_of))).scalar()
        if newest is not None and newest > as_of:
            return False
        conn.execute(cjs_location.delete())
        if records:
            conn.execute(cjs_location.insert(), records)
    return True
