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

A day's run does not derive the whole history again: ``refresh`` keeps the stored spells
up to the earliest moment an input changed and derives from there (docs/design.md,
"Where the cohort is, derived from the earliest change on"); ``derive`` is the full
derivation, which the tests compare it with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta

import pandas as pd
import sqlalchemy as sa

from pipelines.feeds import FEEDS
from pipelines.link_store import subjects
from pipelines.store import events_as_of, in_force, in_lists, rows_of_files, snapshot_files
from warehouse.schema import (
    CJS_LOCATIONS,
    ROW_TABLES,
    cjs_location,
    cjs_location_state,
    cjs_location_subject,
    erasure_log,
    ingest_file,
    link_decision,
    record_link,
)
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
CONDITIONAL = ("licence_expiry", "no_outcome")
LINKED = ("arrests", "court_results", "prison_releases")  # the feeds whose records place members
INPUT_FEEDS = ("cohort", *LINKED)


# --------------------------------------------------------------------------- inputs


def _members_query(feed_name: str, as_of: date, among: sa.ColumnElement[bool] | None = None) -> sa.Select:
    """(subject, iom_id) from each subject's link judged by the newest register on or before D
    (only the subjects ``among`` selects, when given)."""
    register = ingest_file.alias("register")
    newest = (
        sa.func.row_number()
        .over(partition_by=record_link.c.subject, order_by=order_by(NEWEST_REGISTER_FIRST, register))
        .label("rank")
    )
    ranked = (
        sa.select(record_link.c.subject, record_link.c.iom_id, newest)
        .join(register, register.c.id == record_link.c.register_id)
        .where(record_link.c.feed == feed_name, register.c.file_date <= as_of, *([among] if among is not None else []))
        .subquery()
    )
    return sa.select(ranked.c.subject, ranked.c.iom_id).where(ranked.c.rank == 1, ranked.c.iom_id.is_not(None))


def _subject_members(engine: sa.Engine, feed_name: str, as_of: date, among: list[str] | None = None) -> pd.DataFrame:
    """(subject, iom_id) of every subject's link as of D, or of the subjects ``among`` only."""
    if among is None:
        return _query(engine, _members_query(feed_name, as_of))
    parts = [_query(engine, _members_query(feed_name, as_of, record_link.c.subject.in_(c))) for c in in_lists(among)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["subject", "iom_id"])


def _query(engine: sa.Engine, q: sa.Select) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(q)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _linked(rows: pd.DataFrame, feed_name: str, members: pd.DataFrame) -> pd.DataFrame:
    """The rows whose subject counts for a member, with its iom_id (``members``: subject, iom_id)."""
    if rows.empty:
        return rows.assign(iom_id=pd.Series(dtype=object))
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


def _register_rows(engine: sa.Engine, as_of: date, since: date | None = None) -> pd.DataFrame:
    """(iom_id, file_date) of each register snapshot in force for D (dated ``since`` or later)."""
    files = snapshot_files(engine, "cohort", as_of)
    if since is not None:
        files = files[pd.to_datetime(files["file_date"]) >= pd.Timestamp(since)]
    t = ROW_TABLES["cohort"]
    ids = [int(i) for i in files["id"]]
    if not ids:
        return pd.DataFrame(columns=["iom_id", "file_date"])
    rows = _query(engine, sa.select(t.c.file_id, t.c.iom_id).where(t.c.file_id.in_(ids)))
    return rows.merge(files[["id", "file_date"]], left_on="file_id", right_on="id")[["iom_id", "file_date"]]


def register_events(engine: sa.Engine, as_of: date, since: date | None = None) -> pd.DataFrame:
    """Rule 8: each member's first register snapshot on or before D (among those dated
    ``since`` or later)."""
    dated = _register_rows(engine, as_of, since)
    if dated.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    first = dated.assign(file_date=pd.to_datetime(dated["file_date"])).groupby("iom_id", as_index=False)["file_date"].min()
    return pd.DataFrame(
        {"iom_id": first["iom_id"], "at": first["file_date"], "cause": "register", "target": COMMUNITY,
         "feed": None, "file_id": None, "row_no": None}
    )  # fmt: skip


def _release_rows(engine: sa.Engine, as_of: date) -> pd.DataFrame:
    """Every row of each release file in force for D, with its ``file_date``."""
    files = snapshot_files(engine, "prison_releases", as_of, stand_in=False)
    rows = rows_of_files(engine, "prison_releases", [int(i) for i in files["id"]])
    if rows.empty:
        return rows.assign(file_date=pd.Series(dtype=object))
    return rows.merge(files[["id", "file_date"]], left_on="file_id", right_on="id").drop(columns="id")


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


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    full = [p for p in parts if not p.empty]
    return pd.concat(full, ignore_index=True) if full else parts[0]


def subject_members(engine: sa.Engine, as_of: date) -> dict[str, pd.DataFrame]:
    """Each linked feed's (subject, iom_id): whom its records count for as of D."""
    return {feed: _subject_members(engine, feed, as_of) for feed in LINKED}


def gather_events(
    engine: sa.Engine, as_of: date, members: dict[str, pd.DataFrame] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every location event known as of D (those before the end of D) and the releases."""
    members = members if members is not None else subject_members(engine, as_of)
    arrests = _linked(events_as_of(engine, "arrests", as_of), "arrests", members["arrests"])
    courts = _linked(events_as_of(engine, "court_results", as_of), "court_results", members["court_results"])
    releases, licences = release_events(_linked(_release_rows(engine, as_of), "prison_releases", members["prison_releases"]))
    parts = [register_events(engine, as_of), arrest_events(arrests), court_events(courts), releases, licence_events(licences)]
    events = _register_only_first(_concat(parts))
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


def _in_order(events: pd.DataFrame) -> pd.DataFrame:
    return events.sort_values(["iom_id", "at", "_p"], kind="stable").reset_index(drop=True)


def _located(events: pd.DataFrame, licences: pd.DataFrame) -> pd.DataFrame:
    """Each event with the location it puts the member in, in time order per member."""
    ev = events.assign(at=pd.to_datetime(events["at"]), _p=events["cause"].map(PRIORITY)).reset_index(drop=True)
    on_licence = _licence_at(ev, licences)
    location = ev["target"].mask(ev["target"] == LIBERTY, COMMUNITY).mask((ev["target"] == LIBERTY) & on_licence, ON_LICENCE)
    location = location.mask(ev["target"] == "TRANSFERRED", UNKNOWN).mask((ev["target"] == "TRANSFERRED") & on_licence, IN_PRISON)
    return _in_order(ev.assign(location=location))


def _applying(cond: pd.DataFrame, firm: pd.DataFrame) -> pd.DataFrame:
    """The conditional events that apply after the firm event just before each: an expiry
    to someone still ON_LICENCE, a timeout to an arrest nothing has followed."""
    if cond.empty:
        return cond
    # Stable sorts: of firm events at one moment the later in priority is "just before".
    before = pd.merge_asof(
        cond.reset_index().sort_values("at", kind="stable"),
        firm[["iom_id", "at", "location", "cause", "file_id", "row_no"]].rename(
            columns={"location": "_loc", "cause": "_cause", "file_id": "_fid", "row_no": "_rno"}
        ).sort_values("at", kind="stable"),
        on="at", by="iom_id", direction="backward", allow_exact_matches=False,
    ).set_index("index").reindex(cond.index)  # fmt: skip
    expiry_applies = (cond["cause"] == "licence_expiry") & (before["_loc"] == ON_LICENCE)
    timeout_applies = (
        (cond["cause"] == "no_outcome") & (before["_cause"] == "arrest")
        & (before["_fid"] == cond["file_id"]) & (before["_rno"] == cond["row_no"])
    )  # fmt: skip
    return cond[expiry_applies | timeout_applies]


def resolve(events: pd.DataFrame, licences: pd.DataFrame) -> pd.DataFrame:
    """Each event's location, in time order per member; conditional events (an expiry, a
    96-hour timeout) dropped where they do not apply."""
    if events.empty:
        return pd.DataFrame(columns=[*EVENT_COLUMNS, "location"])
    ev = _located(events, licences)
    conditional = ev["cause"].isin(CONDITIONAL)
    kept = pd.concat([ev[~conditional], _applying(ev[conditional], ev[~conditional])])
    return _in_order(kept).drop(columns="_p")


def resolve_from(events: pd.DataFrame, licences: pd.DataFrame, seeds: pd.DataFrame, start: pd.Timestamp) -> pd.DataFrame:
    """``resolve`` for the events from ``start`` on, after ``seeds`` (each member's stored
    spell in force at ``start``, as an event).  ``events`` also holds the 96 hours before
    ``start``, only for the timeout rule: every firm event since the timed-out arrest.  An
    expiry's firm event before ``start`` is known by the seed alone: no conditional event
    puts anyone ON_LICENCE, so the spell is ON_LICENCE exactly when that firm event was
    (after an applied expiry it is COMMUNITY, and one more expiry moves nobody)."""
    ev = _located(events, licences) if not events.empty else pd.DataFrame(columns=[*EVENT_COLUMNS, "_p", "location"])
    conditional = ev["cause"].isin(CONDITIONAL)
    later = ev["at"] >= start
    firm_later = ev[~conditional & later]
    cond = ev[conditional & later]
    expiries = _applying(cond[cond["cause"] == "licence_expiry"], _in_order(pd.concat([seeds, firm_later])))
    timeouts = _applying(cond[cond["cause"] == "no_outcome"], ev[~conditional])
    return _in_order(pd.concat([seeds, firm_later, expiries, timeouts])).drop(columns="_p")


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
    """Every member's spells as the warehouse knew them on D (the full derivation)."""
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


# --------------------------------------------------------------------------- storing, incrementally


@dataclass(frozen=True)
class Marks:
    """What a derivation was computed from: the report date and the newest ledger entry,
    review decision and erasure it could see, with the linker version."""

    as_of: date
    max_file_id: int
    max_decision_id: int
    max_erasure_id: int
    linker_version: str


def marks(engine: sa.Engine, as_of: date, linker_version: str) -> Marks:
    """The marks of a derivation as of D starting now (taken before its inputs are read)."""
    with engine.connect() as conn:
        newest = [
            int(conn.execute(sa.select(sa.func.max(t.c.id))).scalar() or 0) for t in (ingest_file, link_decision, erasure_log)
        ]
    return Marks(as_of, *newest, linker_version)


def _previous(engine: sa.Engine) -> Marks | None:
    s = cjs_location_state
    with engine.connect() as conn:
        row = conn.execute(sa.select(s).where(s.c.id == 1)).first()
    if row is None:
        return None
    return Marks(row.as_of, row.max_file_id, row.max_decision_id, row.max_erasure_id, row.linker_version)


def _stand_in_used(engine: sa.Engine, as_of: date) -> bool:
    """An ODBC read standing in for a feed (pipelines/store.py in_force) leaves the set of
    files in force without a new ledger entry once a dated file arrives: derive in full."""
    return any(in_force(engine, feed, as_of).stand_in is not None for feed in ("cohort", "arrests", "court_results"))


def store(
    engine: sa.Engine, spell_frame: pd.DataFrame, as_of: date, state: tuple[Marks, dict[str, pd.DataFrame]] | None = None
) -> bool:
    """Replace the table with spells as of D, unless a run for a later date already wrote
    it (a backfill does not roll the analysts' table back).  Returns whether it wrote.
    ``state`` (the marks and the subjects' members it was derived from) lets the next run
    derive incrementally; without it the next run derives in full."""
    records = _records(spell_frame.assign(as_of=as_of))
    with engine.begin() as conn:
        newest = conn.execute(sa.select(sa.func.max(cjs_location.c.as_of))).scalar()
        if newest is not None and newest > as_of:
            return False
        conn.execute(cjs_location.delete())
        if records:
            conn.execute(cjs_location.insert(), records)
        conn.execute(cjs_location_state.delete())
        conn.execute(cjs_location_subject.delete())
        if state is not None:
            conn.execute(cjs_location_state.insert(), [{"id": 1, **asdict(state[0])}])
            for feed, members in state[1].items():
                _insert_members(conn, feed, members)
    return True


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _insert_members(conn: sa.Connection, feed: str, members: pd.DataFrame) -> None:
    if not members.empty:
        conn.execute(cjs_location_subject.insert(), _records(members[["subject", "iom_id"]].assign(feed=feed)))


def stored_spells(engine: sa.Engine) -> pd.DataFrame:
    """The table's spells, as ``derive`` returns them."""
    q = sa.select(*[cjs_location.c[c] for c in SPELL_COLUMNS]).order_by(cjs_location.c.iom_id, cjs_location.c.started_at)
    out = _query(engine, q)
    return out.assign(started_at=pd.to_datetime(out["started_at"]), ended_at=pd.to_datetime(out["ended_at"]))


def refresh(engine: sa.Engine, as_of: date, linker_version: str) -> tuple[pd.DataFrame, bool]:
    """The spells as of D, and whether the table now holds them.  The stored spells are
    kept up to the earliest moment an input changed since the last derivation, and only the
    rest is derived again (``restart``); a run for an earlier date than the table's, a
    first run, or a change that cannot be placed in time derives in full."""
    now = marks(engine, as_of, linker_version)
    previous = _previous(engine)
    if previous is None or as_of < previous.as_of or _stand_in_used(engine, as_of):
        return _refresh_in_full(engine, now, remember=previous is None or as_of >= previous.as_of)
    members = {"prison_releases": _subject_members(engine, "prison_releases", as_of)}
    start, changed = restart(engine, previous, now, members["prison_releases"])
    if start == date.min:
        return _refresh_in_full(engine, now)
    if start is not None:
        _derive_from(engine, now, start, members["prison_releases"], changed)
    else:
        with engine.begin() as conn:
            _remember(conn, now, changed)
    return stored_spells(engine), True


def _refresh_in_full(engine: sa.Engine, now: Marks, *, remember: bool = True) -> tuple[pd.DataFrame, bool]:
    members = subject_members(engine, now.as_of)
    found = spells(resolve(*gather_events(engine, now.as_of, members)))
    usable = remember and not _stand_in_used(engine, now.as_of)
    return found, store(engine, found, now.as_of, (now, members) if usable else None)


# ------------------------------------------------------------- when the inputs changed


@dataclass
class Changed:
    """The subjects whose stored member is to be replaced (feed -> subjects, and a query
    of more of them) with their members now."""

    subjects: dict[str, list[str]]
    queries: dict[str, sa.Select]
    members: dict[str, pd.DataFrame]


def restart(engine: sa.Engine, previous: Marks, now: Marks, release_members: pd.DataFrame) -> tuple[date | None, Changed]:
    """The first day whose spells may differ from the stored ones: ``date.min`` to derive
    in full, None when nothing changed.  Every input counts: the report date moving on
    (events come due), new or corrected files of the four feeds, links changed by a newer
    register or a review decision, erasures and a new linker version."""
    changed = Changed({}, {}, {})
    if now.linker_version != previous.linker_version or now.max_erasure_id != previous.max_erasure_id:
        return date.min, changed
    files = _new_files(engine, previous, now)
    if (files.loc[files["feed"] != "cohort", "version"] > 1).any():
        return date.min, changed  # a corrected file's replaced rows are gone: where they were is unknown
    event_files = files[files["feed"].isin(["arrests", "court_results"])]
    starts = [previous.as_of + timedelta(days=1)] if now.as_of > previous.as_of else []
    snapshots = files[files["feed"].isin(["cohort", "prison_releases"]) & files["file_date"].notna()]
    starts += [d for d in snapshots["file_date"] if d <= now.as_of]
    listings = _release_rows(engine, now.as_of)
    starts += _release_starts(listings, [d for d in snapshots.loc[snapshots["feed"] == "prison_releases", "file_date"]])
    for feed in ("arrests", "court_results"):
        loaded = event_files[(event_files["feed"] == feed) & (event_files["status"] == "LOADED") & event_files["is_current"]]
        ids = [int(i) for i, d in zip(loaded["id"], loaded["file_date"], strict=True) if d is not None and d <= now.as_of]
        starts += _key_dates(engine, feed, ids)
        starts += _member_changes(engine, feed, previous, now, ids, changed)
    starts += _release_member_changes(engine, listings, release_members, changed)
    return (min(min(starts), now.as_of + timedelta(days=1)) if starts else None), changed


def _new_files(engine: sa.Engine, previous: Marks, now: Marks) -> pd.DataFrame:
    """Ledger entries of the four feeds new since the last derivation, or come into force
    since (dated after its report date, on or before this one)."""
    f = ingest_file
    q = sa.select(f.c.id, f.c.feed, f.c.file_date, f.c.version, f.c.status, f.c.is_current).where(
        f.c.feed.in_(INPUT_FEEDS),
        sa.or_(f.c.id > previous.max_file_id, sa.and_(f.c.file_date > previous.as_of, f.c.file_date <= now.as_of)),
    )
    return _query(engine, q)


def _key_dates(engine: sa.Engine, feed: str, file_ids: list[int]) -> list[date]:
    """The earliest local date of any row sharing a key with the rows of ``file_ids``: the
    winners that can change with them (the key join uses the feed's key index)."""
    if not file_ids:
        return []
    t = ROW_TABLES[feed]
    new, other = t.alias("new_row"), t.alias("other_row")
    same_key = sa.and_(*(new.c[k] == other.c[k] for k in FEEDS[feed].key))
    q = sa.select(sa.func.min(other.c.local_date)).select_from(new.join(other, same_key)).where(new.c.file_id.in_(file_ids))
    with engine.connect() as conn:
        first = conn.execute(q).scalar()
    return [_as_date(first)] if first is not None else []


def _as_date(value: object) -> date:
    return pd.Timestamp(value).date()


def _release_starts(listings: pd.DataFrame, file_dates: list[date]) -> list[date]:
    """A release file dated F changes the releases from F on (it speaks for them now) and
    their licences' expiries, which bad data can date before F."""
    if not file_dates or listings.empty:
        return []
    release = pd.to_datetime(listings["release_date"])
    expiry = pd.to_datetime(listings["licence_expiry_date"]) + pd.Timedelta(days=1)
    starts = []
    for f in file_dates:
        after = expiry[release >= pd.Timestamp(f)].dropna()
        starts.append(min(f, after.min().date()) if not after.empty else f)
    return starts


def _row_starts(rows: pd.DataFrame) -> list[date]:
    """The earliest moment a release file's rows place anyone (their listing, release or expiry)."""
    if rows.empty:
        return []
    moments = pd.concat(
        [pd.to_datetime(rows[c]) for c in ("file_date", "release_date")]
        + [pd.to_datetime(rows["licence_expiry_date"]) + pd.Timedelta(days=1)]
    ).dropna()
    return [moments.min().date()] if not moments.empty else []


def _stored_members(engine: sa.Engine, feed: str, among: sa.ColumnElement[bool] | None = None) -> pd.DataFrame:
    s = cjs_location_subject
    q = sa.select(s.c.subject, s.c.iom_id).where(s.c.feed == feed, *([among] if among is not None else []))
    return _query(engine, q)


def _differing(old: pd.DataFrame, new: pd.DataFrame) -> list[str]:
    both = old.merge(new, on="subject", how="outer", suffixes=("_old", "_new"))
    return sorted(set(both["subject"][both["iom_id_old"].fillna("") != both["iom_id_new"].fillna("")]))


def _member_changes(
    engine: sa.Engine, feed: str, previous: Marks, now: Marks, new_ids: list[int], changed: Changed
) -> list[date]:
    """The earliest local date of a record whose subject now counts for another member (or
    none).  A subject's member can change only through a link judged by a register the
    last derivation did not rank (dated from the day before its report date, or new), a
    link of a new file's row, or a review decision; those subjects are compared with the
    stored members."""
    registers = sa.select(ingest_file.c.id).where(
        ingest_file.c.feed == "cohort",
        sa.or_(ingest_file.c.file_date >= previous.as_of - timedelta(days=1), ingest_file.c.id > previous.max_file_id),
    )
    recent = sa.select(record_link.c.subject).where(record_link.c.feed == feed, record_link.c.register_id.in_(registers))
    listed = _subjects_of_files(engine, feed, new_ids) | _decided(engine, feed, previous.max_decision_id)
    listed_only = sorted(listed)
    s = cjs_location_subject
    new = pd.concat(
        [_query(engine, _members_query(feed, now.as_of, record_link.c.subject.in_(recent))),
         _subject_members(engine, feed, now.as_of, listed_only)], ignore_index=True,
    ).drop_duplicates()  # fmt: skip
    old = pd.concat(
        [_stored_members(engine, feed, s.c.subject.in_(recent)), *_chunked_stored(engine, feed, listed_only)],
        ignore_index=True,
    ).drop_duplicates()
    changed.subjects[feed] = listed_only
    changed.queries[feed] = recent
    changed.members[feed] = new
    return _subject_dates(engine, feed, _differing(old, new))


def _chunked_stored(engine: sa.Engine, feed: str, among: list[str]) -> list[pd.DataFrame]:
    s = cjs_location_subject
    return [_stored_members(engine, feed, s.c.subject.in_(chunk)) for chunk in in_lists(among)]


def _subjects_of_files(engine: sa.Engine, feed: str, file_ids: list[int]) -> set[str]:
    t = ROW_TABLES[feed]
    if not file_ids:
        return set()
    rows = _query(engine, sa.select(*[t.c[c] for c in FEEDS[feed].subject_key]).where(t.c.file_id.in_(file_ids)))
    return set(subjects(feed, rows)) if not rows.empty else set()


def _decided(engine: sa.Engine, feed: str, after_id: int) -> set[str]:
    d = link_decision
    with engine.connect() as conn:
        return set(conn.execute(sa.select(d.c.subject).where(d.c.feed == feed, d.c.id > after_id)).scalars())


def _subject_dates(engine: sa.Engine, feed: str, among: list[str]) -> list[date]:
    """The earliest local date of the rows the subjects' links name."""
    t = ROW_TABLES[feed]
    firsts = []
    for chunk in in_lists(among):
        q = (
            sa.select(sa.func.min(t.c.local_date))
            .select_from(record_link.join(t, sa.and_(t.c.file_id == record_link.c.file_id, t.c.row_no == record_link.c.row_no)))
            .where(record_link.c.feed == feed, record_link.c.subject.in_(chunk))
        )
        with engine.connect() as conn:
            first = conn.execute(q).scalar()
        firsts += [_as_date(first)] if first is not None else []
    return firsts


def _release_member_changes(engine: sa.Engine, listings: pd.DataFrame, members: pd.DataFrame, changed: Changed) -> list[date]:
    """Release subjects are few (one per prisoner): all are compared with the stored members."""
    moved = _differing(_stored_members(engine, "prison_releases"), members)
    changed.members["prison_releases"] = members
    if not moved or listings.empty:
        return []
    return _row_starts(listings[subjects("prison_releases", listings).isin(moved)])


# ------------------------------------------------------------- deriving from a day on


def _arrests_from(engine: sa.Engine, as_of: date, window: date) -> date:
    """The window's first day, or earlier for an arrest with its outcome in the window."""
    t = ROW_TABLES["arrests"]
    f = ingest_file
    q = (
        sa.select(sa.func.min(t.c.local_date))
        .join(f, f.c.id == t.c.file_id)
        .where(f.c.is_current, f.c.status == "LOADED", in_force(engine, "arrests", as_of).clause(f))
        .where(t.c.outcome_datetime >= datetime.combine(window, time(0, 0)))
    )
    with engine.connect() as conn:
        first = conn.execute(q).scalar()
    return min(window, _as_date(first)) if first is not None else window


def _windowed(engine: sa.Engine, feed: str, as_of: date, start: date) -> pd.DataFrame:
    rows = events_as_of(engine, feed, as_of, start)
    among = sorted(set(subjects(feed, rows))) if not rows.empty else []
    return _linked(rows, feed, _subject_members(engine, feed, as_of, among))


def gather_from(
    engine: sa.Engine, as_of: date, start: date, release_members: pd.DataFrame, seeded: pd.Index
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The events from 96 hours before ``start`` on, as ``gather_events`` finds them, and
    every release (a licence in force can date from any time before)."""
    window = start - timedelta(days=NO_OUTCOME_AFTER.days)
    arrests = _windowed(engine, "arrests", as_of, _arrests_from(engine, as_of, window))
    courts = _windowed(engine, "court_results", as_of, window)
    releases, licences = release_events(_linked(_release_rows(engine, as_of), "prison_releases", release_members))
    # A member with a spell before ``start`` had an event before it: their first snapshot says nothing.
    registers = register_events(engine, as_of, start)
    registers = registers[~registers["iom_id"].isin(seeded)]
    parts = [registers, arrest_events(arrests), court_events(courts), releases, licence_events(licences)]
    events = _register_only_first(_concat(parts))
    at = pd.to_datetime(events["at"])
    end = pd.Timestamp(as_of + timedelta(days=1))
    return events[(at >= pd.Timestamp(window)) & (at < end)], licences[licences["at"] < end]


def _seeds(engine: sa.Engine, start: pd.Timestamp) -> pd.DataFrame:
    """Each member's stored spell in force at ``start``, as an event before everything after."""
    c = cjs_location
    q = sa.select(*[c.c[k] for k in SPELL_COLUMNS]).where(
        c.c.started_at < start.to_pydatetime(), sa.or_(c.c.ended_at.is_(None), c.c.ended_at >= start.to_pydatetime())
    )
    found = _query(engine, q)
    return pd.DataFrame(
        {"iom_id": found["iom_id"], "at": pd.to_datetime(found["started_at"]), "cause": found["cause"],
         "target": found["location"], "feed": found["feed"], "file_id": found["file_id"], "row_no": found["row_no"],
         "location": found["location"], "_p": -1, "_ended": pd.to_datetime(found["ended_at"])}
    )  # fmt: skip


def _derive_from(engine: sa.Engine, now: Marks, start_day: date, release_members: pd.DataFrame, changed: Changed) -> None:
    """Replace the spells from ``start_day`` on with those derived from the events since."""
    start = pd.Timestamp(start_day)
    seeds = _seeds(engine, start)
    events, licences = gather_from(engine, now.as_of, start_day, release_members, pd.Index(seeds["iom_id"]))
    found = spells(resolve_from(events, licences, seeds.drop(columns="_ended"), start))
    # Timestamps whatever the frame (an empty one has object columns) for the merge on them.
    found = found.assign(started_at=pd.to_datetime(found["started_at"]), ended_at=pd.to_datetime(found["ended_at"]))
    kept = found[found["started_at"] < start].merge(
        seeds[["iom_id", "at", "_ended"]].rename(columns={"at": "started_at"}), on=["iom_id", "started_at"]
    )
    ends = kept[kept["ended_at"].fillna(pd.Timestamp.min) != kept["_ended"].fillna(pd.Timestamp.min)]
    new = found[pd.to_datetime(found["started_at"]) >= start]
    c = cjs_location
    with engine.begin() as conn:
        conn.execute(c.delete().where(c.c.started_at >= start.to_pydatetime()))
        if not ends.empty:
            conn.execute(
                c.update()
                .where(c.c.iom_id == sa.bindparam("b_iom_id"), c.c.started_at == sa.bindparam("b_started_at"))
                .values(ended_at=sa.bindparam("b_ended_at")),
                _records(ends[["iom_id", "started_at", "ended_at"]].add_prefix("b_")),
            )
        if not new.empty:
            conn.execute(c.insert(), _records(new.assign(as_of=now.as_of)))
        conn.execute(c.update().where(c.c.as_of != now.as_of).values(as_of=now.as_of))
        _remember(conn, now, changed)


def _remember(conn: sa.Connection, now: Marks, changed: Changed) -> None:
    """The marks of this derivation, and the members of the subjects compared."""
    s = cjs_location_subject
    conn.execute(cjs_location_state.update().where(cjs_location_state.c.id == 1).values(**asdict(now)))
    for feed, members in changed.members.items():
        if feed == "prison_releases":
            conn.execute(s.delete().where(s.c.feed == feed))
        else:
            conn.execute(s.delete().where(s.c.feed == feed, s.c.subject.in_(changed.queries[feed])))
            among = changed.subjects[feed]
            for chunk in in_lists(among):
                conn.execute(s.delete().where(s.c.feed == feed, s.c.subject.in_(chunk)))
        _insert_members(conn, feed, members)
