"""The case-conference pack: one per division, for the conference held on date D.

Who is in it (CONTRACT sections 3.1 and 4):

- **members**: people ACTIVE in the register in force at D, selected on or before D, whose
  managing_division is the division (a DESELECTED row counts only while its deselected_on
  is after D: they are still on the cohort on the day).  One section each: strand, cohort
  type, case-manager agency, risk level, where they are in the criminal justice system at
  the end of D-1, what happened since their last review, and what is coming;
- **nominated**: people NOMINATED in that register for the division, with register details
  only.  They are not cohort members, so nothing they did is shown;
- **priorities** and **exit-review candidates**: the division's rows of the priority list
  (pipelines/priorities.py) and of the exit review (pipelines/exit_review.py).

Every event comes through ``reportable_events`` (pipelines/member_events.py): linked to a
member of the register in force at D, inside their active interval, from files dated on
or before D; names come from that register.  Nobody outside the division's members and
nominees is in a division's pack.

"Since the last review": a case-management system moves next_review_due on when a review is
held, so the last review is the first register snapshot (dated on or before D, while the
member was on the cohort in this spell) that shows the member's current next_review_due
after one that showed another value.  With no such change (the date was set at selection,
or is blank) it is their selected_on.  The window is [that date, D-1], never before
selected_on and at most ``LOOKBACK_MONTHS`` back, so a member never reviewed does not bring
years of history to the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import zip_longest
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from jinja2 import Environment, PackageLoader, select_autoescape

from pipelines import cjs_location as cjs
from pipelines.event_links import link_every_event
from pipelines.exit_review import EXIT_CRITERIA, criterion_labels, exit_candidates
from pipelines.member_events import reportable_events
from pipelines.membership import IN_COHORT_STATUSES
from pipelines.priorities import priority_list
from pipelines.reports.formats import (
    APPOINTMENT_WORDS,
    ARREST_OUTCOME_WORDS,
    CAUSE_WORDS,
    LOCATION_WORDS,
    REMAND_WORDS,
    STRAND_WORDS,
    readable,
)
from pipelines.reports.pdf import pdf_bytes
from pipelines.reports.publish import publish_folder
from pipelines.reports.workbook import workbook_bytes
from pipelines.settings import HubConfig
from pipelines.store import register_in_force, rows_of_files, snapshot_files

# At most this many calendar months of history per member (and of records whose next court
# date may still be ahead): a conference reviews the recent past, not a whole record.
LOOKBACK_MONTHS = 6
RELEASE_HORIZON_DAYS = 90  # releases coming up: the monthly conference plans about three cycles ahead
PACK_FILES = ("pack.html", "pack.pdf", "pack.xlsx")
CONFERENCE_FOLDER = "conference"  # <IOM_REPORTS_DIR>/conference/<D>/<division>/

MEMBER_COLUMNS = [
    "rank", "iom_id", "surname", "forenames", "strand", "cohort_type", "case_manager_agency", "risk_level",
    "selected_on", "leaves_on", "last_review", "review_seen", "window_start", "cjs_location", "cjs_location_since",
    "cjs_location_cause", "appointments_kept", "appointments_counted", "compliance", "next_review_due",
    "days_until_review", "review_status",
]  # fmt: skip
EVENT_COLUMNS = ["iom_id", "kind", "when", "what", "outcome"]
UPCOMING_COLUMNS = ["iom_id", "kind", "when", "what"]
NOMINATED_COLUMNS = ["iom_id", "surname", "forenames", "nominated_by", "strand", "cohort_type", "risk_level"]
PRIORITY_COLUMNS = ["rank", "iom_id", "surname", "forenames", "risk_level", "score", "reasons"]
EVENT_KINDS = ("arrest", "court result", "appointment", "status change")  # their order on one day
UPCOMING_KINDS = ("review overdue", "court date", "release", "review due")

KEPT = ("ATTENDED", "ACCEPTABLE_ABSENCE")  # the traffic light's appointment_compliance (CONTRACT section 8)
COUNTED = (*KEPT, "FAILED_TO_ATTEND")  # rescheduled and cancelled appointments are neither kept nor missed

_env = Environment(
    loader=PackageLoader("pipelines.reports", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


class PackError(ValueError):
    """A pack cannot be made: one plain line (no personal data) saying why."""


@dataclass
class ConferencePack:
    conference_date: date
    register_date: date | None
    division: str
    division_name: str
    members: pd.DataFrame  # MEMBER_COLUMNS, in the order they are discussed
    events: pd.DataFrame  # EVENT_COLUMNS: since each member's last review
    upcoming: pd.DataFrame  # UPCOMING_COLUMNS: from D on
    nominated: pd.DataFrame  # NOMINATED_COLUMNS
    exit_candidates: pd.DataFrame  # exit_review.exit_candidates' columns, the division's rows
    priorities: pd.DataFrame  # PRIORITY_COLUMNS, the division's rows
    exit_criteria: tuple[tuple[str, str], ...] = field(default=())  # (name, label) in display order


# --------------------------------------------------------------------------- who


def conference_members(register: pd.DataFrame, conference_date: date) -> pd.DataFrame:
    """Everyone on the cohort on D, all divisions: ACTIVE and selected by D, or DESELECTED
    with deselected_on after D (leaving later); deselected on or before D is out."""
    if register.empty:
        return register
    day = pd.Timestamp(conference_date)
    selected = pd.to_datetime(register["selected_on"]) <= day
    leaving_later = (register["status"] == "DESELECTED") & (pd.to_datetime(register["deselected_on"]) > day)
    on = selected & ((register["status"] == "ACTIVE") | leaving_later)
    return register[on].assign(leaves_on=register["deselected_on"].where(register["status"] == "DESELECTED"))


def lookback_start(conference_date: date) -> date:
    return (pd.Timestamp(conference_date) - pd.DateOffset(months=LOOKBACK_MONTHS)).date()


def last_reviews(engine: sa.Engine, conference_date: date, members: pd.DataFrame) -> pd.Series:
    """Each member's last review (the module docstring's rule), indexed by iom_id; NaT where
    the snapshots show none."""
    files = snapshot_files(engine, "cohort", conference_date)
    rows = rows_of_files(engine, "cohort", [int(i) for i in files["id"]])
    if rows.empty or members.empty:
        return pd.Series(pd.NaT, index=pd.Index(members.get("iom_id", []), name="iom_id"), dtype="datetime64[ns]")
    dated = rows.merge(files[["id", "file_date"]], left_on="file_id", right_on="id")
    now = members[["iom_id", "selected_on", "next_review_due"]].rename(
        columns={"selected_on": "now_selected", "next_review_due": "now_due"}
    )
    seen = dated[["iom_id", "status", "selected_on", "next_review_due", "file_date"]].merge(now, on="iom_id")
    # Only snapshots of this spell on the cohort: a date set while nominated, or in an
    # earlier spell, says nothing about a review since selection.
    seen = seen[
        seen["status"].isin(IN_COHORT_STATUSES) & (pd.to_datetime(seen["selected_on"]) == pd.to_datetime(seen["now_selected"]))
    ].assign(file_date=lambda f: pd.to_datetime(f["file_date"]))
    same = pd.to_datetime(seen["next_review_due"]).eq(pd.to_datetime(seen["now_due"]))  # NaT is never equal
    other = seen[~same].groupby("iom_id", as_index=False)["file_date"].max().rename(columns={"file_date": "other_until"})
    current = seen[same].merge(other, on="iom_id")
    changed = current[current["file_date"] > current["other_until"]].groupby("iom_id")["file_date"].min()
    return changed.reindex(pd.Index(members["iom_id"], name="iom_id"))


def review_windows(members: pd.DataFrame, reviews: pd.Series, conference_date: date) -> pd.DataFrame:
    """iom_id, last_review, review_seen, window_start: where "since the last review" starts."""
    selected = pd.to_datetime(members["selected_on"]).to_numpy()
    last = reviews.reindex(members["iom_id"]).to_numpy()
    frame = pd.DataFrame({"iom_id": members["iom_id"].to_numpy(), "selected": selected, "last_review": last})
    frame["review_seen"] = frame["last_review"].notna()
    frame["last_review"] = frame["last_review"].fillna(frame["selected"])
    floor = pd.Timestamp(lookback_start(conference_date))
    frame["window_start"] = frame[["last_review", "selected"]].max(axis=1).clip(lower=floor)
    return frame.drop(columns="selected")


# --------------------------------------------------------------------------- what happened


def _in_window(records: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """The records of members in ``windows`` dated from their window's start (to D-1: the
    records were read up to then)."""
    if records.empty:
        return records.assign(window_start=pd.Series(dtype="datetime64[ns]"))
    joined = records.merge(windows[["iom_id", "window_start"]], on="iom_id")
    return joined[pd.to_datetime(joined["local_date"]) >= joined["window_start"]]


def _text(series: pd.Series) -> pd.Series:
    return series.fillna("").astype(str).str.strip()


def _dated(series: pd.Series, conference_date: date, prefix: str = "") -> pd.Series:
    """Each date or timestamp in words after ``prefix`` ("next court Tue 1 Dec"), blank where
    none; always text, even when empty (a mapped empty datetime column stays datetime)."""
    words = [f"{prefix}{readable(v, conference_date)}" if pd.notna(v) else "" for v in series]
    return pd.Series(words, index=series.index, dtype=object)


def _long(frame: pd.DataFrame, kind: str, when: pd.Series, what: pd.Series, outcome: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {"iom_id": frame["iom_id"].to_numpy(), "kind": kind, "when": pd.to_datetime(when).to_numpy(),
         "what": what.to_numpy(), "outcome": outcome.to_numpy()}
    )  # fmt: skip


def _joined(parts: Iterable[pd.Series], sep: str = "; ") -> pd.Series:
    """Row by row, the non-blank texts of ``parts`` joined with ``sep`` (vectorised)."""
    out: pd.Series | None = None
    for part in parts:
        text = _text(part)
        if out is None:
            out = text
            continue
        glue = pd.Series(np.where((out != "") & (text != ""), sep, ""), index=out.index)
        out = out + glue + text
    return out if out is not None else pd.Series(dtype=str)


def arrest_events(arrests: pd.DataFrame, conference_date: date) -> pd.DataFrame:
    if arrests.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    outcome = _text(arrests["outcome"])
    words = outcome.map(ARREST_OUTCOME_WORDS).fillna(outcome.str.lower()).mask(outcome == "", "pending")
    decided_at = _dated(arrests["outcome_datetime"], conference_date)
    court = _dated(arrests["next_court_date"], conference_date, "next court ")
    what = _joined([arrests["offence_description"], _text(arrests["custody_suite"]).map(lambda s: f"custody {s}" if s else "")])
    return _long(arrests, "arrest", arrests["arrest_datetime"], what, _joined([words, decided_at, court], ", "))


def _results(codes: object, texts: object) -> str:
    """ "Community order (1116); Fine (1015)": each result's words with its CJS code."""
    split = [[p.strip() for p in str(v).split(";")] if isinstance(v, str) else [] for v in (codes, texts)]
    pairs = zip_longest(*split, fillvalue="")
    return "; ".join(f"{t} ({c})" if t and c else t or f"result {c}" for c, t in pairs if c or t)


def court_names(codes: pd.Series, config: HubConfig, given: pd.Series | None = None) -> pd.Series:
    """A court's name as the file gives it, else as the configuration names it, else its code."""
    named = {code: p.name for code, p in config.providers.get("court_results", {}).items() if p.name}
    code = _text(codes)
    name = _text(given) if given is not None else pd.Series("", index=code.index)
    return name.mask(name == "", code.map(named)).fillna(code).mask(lambda s: s == "", code)


def court_events(court: pd.DataFrame, conference_date: date, config: HubConfig) -> pd.DataFrame:
    """One row per offence (as the daily report's court_results.csv)."""
    if court.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    where = court_names(court["court_code"], config, court["court_name"])
    what = where + ": " + _text(court["offence_title"])
    results = pd.Series([_results(c, t) for c, t in zip(court["result_codes"], court["result_texts"], strict=True)],
                        index=court.index)  # fmt: skip
    remand = _text(court["remand_status"]).map(lambda s: REMAND_WORDS.get(s, ""))
    plea = _text(court["plea"]).map(lambda s: f"plea {s.lower()}" if s else "")
    verdict = _text(court["verdict"]).map(lambda s: f"verdict {s.lower()}" if s else "")
    following = _dated(court["next_hearing_date"], conference_date, "next hearing ")
    return _long(court, "court result", court["hearing_date"], what, _joined([plea, verdict, results, remand, following]))


def attendance_events(attendance: pd.DataFrame) -> pd.DataFrame:
    if attendance.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    appointments = attendance[attendance["record_type"] == "APPOINTMENT"]
    changes = attendance[attendance["record_type"] == "STATUS_CHANGE"]
    seen = _long(
        appointments, "appointment", appointments["event_datetime"],
        _joined([appointments["agency"], appointments["appointment_type"]], " · "),
        _text(appointments["outcome"]).map(lambda s: APPOINTMENT_WORDS.get(s, s.lower())),
    )  # fmt: skip
    status = _text(changes["status"]).str.replace("_", " ").str.lower()
    changed = _long(changes, "status change", changes["event_datetime"], _text(changes["agency"]) + ": " + status,
                    pd.Series("", index=changes.index))  # fmt: skip
    return pd.concat([seen, changed], ignore_index=True)


def compliance(attendance: pd.DataFrame, iom_ids: pd.Series) -> pd.DataFrame:
    """iom_id, appointments_kept, appointments_counted, compliance ("80% (8 of 10)", rounded
    half up; "no appointments" when none counts)."""
    index = pd.Index(iom_ids, name="iom_id")
    if attendance.empty:
        counts = pd.DataFrame({"kept": 0, "counted": 0}, index=index)
    else:
        counted = attendance[(attendance["record_type"] == "APPOINTMENT") & attendance["outcome"].isin(COUNTED)]
        per = counted.assign(kept=counted["outcome"].isin(KEPT)).groupby("iom_id")["kept"].agg(kept="sum", counted="size")
        counts = per.reindex(index, fill_value=0).astype(int)
    kept, total = counts["kept"], counts["counted"]
    percent = (kept * 200 + total) // (total * 2).where(total > 0, 1)  # integer half-up
    text = percent.astype(str) + "% (" + kept.astype(str) + " of " + total.astype(str) + ")"
    out = pd.DataFrame({"appointments_kept": kept, "appointments_counted": total,
                        "compliance": text.where(total > 0, "no appointments")})  # fmt: skip
    return out.reset_index()


# --------------------------------------------------------------------------- what is coming


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def court_dates(arrests: pd.DataFrame, court: pd.DataFrame, conference_date: date, config: HubConfig) -> pd.DataFrame:
    """Court dates on or after D: each case's next hearing as its latest hearing set it, and
    the first court date of a charge that no hearing has answered yet."""
    day = pd.Timestamp(conference_date)
    parts = []
    hearing_days = pd.DataFrame({"iom_id": pd.Series(dtype=object), "when": pd.Series(dtype="datetime64[ns]")})
    if not court.empty:
        heard = pd.to_datetime(court["hearing_date"])
        latest = court[heard == heard.groupby([court["iom_id"], court["urn"]]).transform("max")]
        ahead = latest[pd.to_datetime(latest["next_hearing_date"]) >= day]
        heard_at = court_names(ahead["court_code"], config, ahead["court_name"])
        next_code = _text(ahead["next_hearing_court"])
        at = court_names(next_code, config).where((next_code != "") & (next_code != _text(ahead["court_code"])), heard_at)
        cases = ahead.assign(_at=at, when=pd.to_datetime(ahead["next_hearing_date"]))
        per = cases.groupby(["iom_id", "urn", "when", "_at"], as_index=False).agg(titles=("offence_title", "; ".join))
        per["what"] = "next hearing at " + per["_at"] + " (case " + per["urn"] + "): " + per["titles"]
        parts.append(per.assign(kind="court date")[UPCOMING_COLUMNS])
        hearing_days = per[["iom_id"]].assign(when=pd.to_datetime(per["when"]))
    if not arrests.empty:
        charged = arrests[pd.to_datetime(arrests["next_court_date"]) >= day]
        first = charged.assign(when=pd.to_datetime(charged["next_court_date"]))
        first = first.merge(hearing_days.assign(_listed=True), on=["iom_id", "when"], how="left")
        first = first[first["_listed"].isna()]  # the same day a case already lists: said once
        arrested = _dated(first["arrest_datetime"], conference_date)
        what = "court after the arrest of " + arrested + ": " + _text(first["offence_description"])
        first = first.assign(kind="court date", what=what)
        parts.append(first[UPCOMING_COLUMNS])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=UPCOMING_COLUMNS)


def release_dates(releases: pd.DataFrame) -> pd.DataFrame:
    if releases.empty:
        return pd.DataFrame(columns=UPCOMING_COLUMNS)
    prison = _text(releases["prison_name"]).mask(_text(releases["prison_name"]) == "", _text(releases["prison_id"]))
    kind_of_date = _text(releases["release_date_type"]).map(lambda s: f" ({s})" if s else "")
    housing = _text(releases["accommodation_on_release"]).replace("", "not recorded").str.lower()
    what = "release from " + prison + kind_of_date + "; accommodation on release: " + housing
    return pd.DataFrame({"iom_id": releases["iom_id"].to_numpy(), "kind": "release",
                         "when": pd.to_datetime(releases["release_date"]).to_numpy(), "what": what.to_numpy()})  # fmt: skip


def review_status(members: pd.DataFrame, conference_date: date) -> pd.DataFrame:
    """iom_id, next_review_due, days_until_review, review_status: due and overdue kept apart."""
    due = pd.to_datetime(members["next_review_due"])
    days = (due - pd.Timestamp(conference_date)).dt.days
    text = days.map(
        lambda n: "no review date recorded" if pd.isna(n) else
        "due today" if n == 0 else f"due in {_days(int(n))}" if n > 0 else f"overdue by {_days(int(-n))}"
    )  # fmt: skip
    return pd.DataFrame({"iom_id": members["iom_id"].to_numpy(), "next_review_due": members["next_review_due"].to_numpy(),
                         "days_until_review": days.astype("Int64").to_numpy(), "review_status": text.to_numpy()})  # fmt: skip


def review_dates(reviews: pd.DataFrame) -> pd.DataFrame:
    dated = reviews[reviews["days_until_review"].notna()]
    kind = dated["days_until_review"].map(lambda n: "review overdue" if n < 0 else "review due")
    return pd.DataFrame({"iom_id": dated["iom_id"].to_numpy(), "kind": kind.to_numpy(),
                         "when": pd.to_datetime(dated["next_review_due"]).to_numpy(),
                         "what": dated["review_status"].to_numpy()})  # fmt: skip


# --------------------------------------------------------------------------- where they are


def locations(engine: sa.Engine, conference_date: date, config: HubConfig, members: pd.DataFrame) -> pd.DataFrame:
    """iom_id, cjs_location, cjs_location_since, cjs_location_cause at the end of D-1.  A spell
    that began before selection keeps no date or cause: that is not cohort history."""
    # The links D's locations need (stored by the cjs_location asset for its run's date;
    # the conference date may be another).
    link_every_event(engine, conference_date, config.linking)
    spells = cjs.location_at_end_of(cjs.derive(engine, conference_date), conference_date - timedelta(days=1))
    now = members[["iom_id", "selected_on"]].merge(spells[["iom_id", "location", "started_at", "cause"]], on="iom_id", how="left")
    started = pd.to_datetime(now["started_at"])
    before = started < pd.to_datetime(now["selected_on"])
    return pd.DataFrame({
        "iom_id": now["iom_id"],
        "cjs_location": now["location"].fillna(cjs.UNKNOWN),
        "cjs_location_since": started.mask(before),
        "cjs_location_cause": now["cause"].map(CAUSE_WORDS).where(~before, "since before selection").fillna(""),
    })  # fmt: skip


# --------------------------------------------------------------------------- the other parts


def exit_criteria_labels(config: HubConfig) -> tuple[tuple[str, str], ...]:
    """(name, label) of each exit criterion in display order, the labels with their thresholds."""
    labels = criterion_labels(config.exit_review)
    return tuple((name, labels.get(name, name)) for name in EXIT_CRITERIA)


# --------------------------------------------------------------------------- the packs


def _sorted(frame: pd.DataFrame, kinds: tuple[str, ...], columns: list[str]) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=columns)
    order = frame.assign(_k=frame["kind"].map({k: i for i, k in enumerate(kinds)}), _w=pd.to_datetime(frame["when"]))
    return order.sort_values(["iom_id", "_w", "_k", "what"], kind="stable")[columns].reset_index(drop=True)


def _division(frame: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """The rows about the division's members (whatever else the frame holds)."""
    return frame[frame["iom_id"].isin(members["iom_id"])] if not frame.empty else frame


@dataclass
class _Everyone:
    """Every division's members and their parts, computed once for all the packs."""

    members: pd.DataFrame
    events: pd.DataFrame
    upcoming: pd.DataFrame
    priorities: pd.DataFrame
    exits: pd.DataFrame


def _everyone(engine: sa.Engine, conference_date: date, config: HubConfig, register: pd.DataFrame) -> _Everyone:
    members = conference_members(register, conference_date)
    windows = review_windows(members, last_reviews(engine, conference_date, members), conference_date)
    start, yesterday = lookback_start(conference_date), conference_date - timedelta(days=1)

    def read(feed: str, first: date, last: date) -> pd.DataFrame:
        return _division(reportable_events(engine, feed, conference_date, first, last, config.linking, register), members)

    arrests, court, attendance = (read(f, start, yesterday) for f in ("arrests", "court_results", "attendance"))
    releases = read("prison_releases", conference_date, conference_date + timedelta(days=RELEASE_HORIZON_DAYS))
    since = [
        arrest_events(_in_window(arrests, windows), conference_date),
        court_events(_in_window(court, windows), conference_date, config),
        attendance_events(_in_window(attendance, windows)),
    ]
    reviews = review_status(members, conference_date)
    ahead = [court_dates(arrests, court, conference_date, config), release_dates(releases), review_dates(reviews)]
    priorities = priority_list(engine, conference_date, config, register=register)
    exits = exit_candidates(engine, conference_date, config, register=register)
    detail = (
        members.merge(windows, on="iom_id")
        .merge(locations(engine, conference_date, config, members), on="iom_id")
        .merge(compliance(_in_window(attendance, windows), members["iom_id"]), on="iom_id")
        .merge(reviews.drop(columns="next_review_due"), on="iom_id")
    )  # fmt: skip
    return _Everyone(
        detail, _sorted(pd.concat([p for p in since if not p.empty] or [since[0]]), EVENT_KINDS, EVENT_COLUMNS),
        _sorted(pd.concat([p for p in ahead if not p.empty] or [ahead[0]]), UPCOMING_KINDS, UPCOMING_COLUMNS),
        _division(priorities, members), _division(exits, members),
    )  # fmt: skip


def _discussion_order(members: pd.DataFrame) -> pd.DataFrame:
    """By priority rank (members not on the list after), then iom_id."""
    ranked = members.assign(_r=pd.to_numeric(members["rank"], errors="coerce"))
    ordered = ranked.sort_values(["_r", "iom_id"], na_position="last", kind="stable").reindex(columns=MEMBER_COLUMNS)
    return ordered.assign(
        rank=pd.to_numeric(ordered["rank"], errors="coerce").astype("Int64"),
        days_until_review=pd.to_numeric(ordered["days_until_review"], errors="coerce").astype("Int64"),
    ).reset_index(drop=True)


def _division_ranks(priorities: pd.DataFrame, division: str) -> pd.DataFrame:
    """The division's rows of the priority list, ranked 1, 2, ... within the division (the
    list is in score order across the borough)."""
    rows = priorities[priorities["managing_division"] == division] if not priorities.empty else priorities
    return rows.assign(rank=range(1, len(rows) + 1)).reindex(columns=PRIORITY_COLUMNS).reset_index(drop=True)


def build_packs(
    engine: sa.Engine, conference_date: date, config: HubConfig, divisions: Iterable[str] | None = None
) -> list[ConferencePack]:
    """One pack per division (all configured, or those named), as the warehouse stood on D."""
    chosen = list(dict.fromkeys(d.strip().upper() for d in divisions or ())) or list(config.divisions)
    unknown = [d for d in chosen if d not in config.divisions]
    if unknown:
        raise PackError(f"unknown division {', '.join(unknown)} (the divisions are {', '.join(config.divisions)})")
    register_date, register = register_in_force(engine, conference_date)
    if register_date is None:
        raise PackError(
            f"the warehouse holds no cohort register dated on or before {conference_date}: "
            f"run `iom-hub run --date {conference_date}` first"
        )
    everyone = _everyone(engine, conference_date, config, register)
    criteria = exit_criteria_labels(config)
    packs = []
    for division in chosen:
        members = everyone.members[everyone.members["managing_division"] == division]
        priorities = _division_ranks(_division(everyone.priorities, members), division)
        members = _discussion_order(members.merge(priorities[["iom_id", "rank"]], on="iom_id", how="left"))
        nominated = register[(register["status"] == "NOMINATED") & (register["managing_division"] == division)]
        packs.append(ConferencePack(
            conference_date, register_date, division, config.divisions[division], members,
            _division(everyone.events, members).reset_index(drop=True),
            _division(everyone.upcoming, members).reset_index(drop=True),
            nominated.sort_values("iom_id")[NOMINATED_COLUMNS].reset_index(drop=True),
            _division(everyone.exits, members).drop(columns=["managing_division"], errors="ignore").reset_index(drop=True),
            _division(priorities, members),
            criteria,
        ))  # fmt: skip
    return packs


# --------------------------------------------------------------------------- the files


def _text_of(value: object, conference_date: date) -> str:
    return readable(value, conference_date, midnight_is_a_date=True)


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows for the template, blanks (NaN, NaT, NA) as None so Jinja tests them plainly."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _grouped(frame: pd.DataFrame, conference_date: date) -> dict[str, list[dict]]:
    """iom_id -> the member's rows, each with its when in words."""
    if frame.empty:
        return {}
    shown = frame.assign(when_text=frame["when"].map(lambda v: _text_of(v, conference_date)))
    return {str(k): _records(g) for k, g in shown.groupby("iom_id", sort=False)}


def _member_cards(pack: ConferencePack) -> list[dict]:
    d = pack.conference_date
    events, upcoming = _grouped(pack.events, d), _grouped(pack.upcoming, d)
    cards = []
    for row in _records(pack.members):
        since = row["cjs_location_since"]
        cards.append({
            **row,
            "strand_text": STRAND_WORDS.get(row["strand"], row["strand"]),
            "location_text": LOCATION_WORDS.get(row["cjs_location"], row["cjs_location"]),
            "location_since_text": _text_of(since, d) if since is not None else "",
            "last_review_text": _text_of(row["last_review"], d) if row["review_seen"]
            else f"none seen on the register since selection ({_text_of(row['selected_on'], d)})",
            "window_text": _text_of(row["window_start"], d)
            + (f" (the last {LOOKBACK_MONTHS} months)" if row["window_start"] > row["last_review"] else ""),
            "selected_text": _text_of(row["selected_on"], d),
            "leaves_text": _text_of(row["leaves_on"], d) if row["leaves_on"] is not None else "",
            "due_text": _text_of(row["next_review_due"], d) if row["next_review_due"] is not None else "",
            "overdue": row["days_until_review"] is not None and row["days_until_review"] < 0,
            "events": events.get(str(row["iom_id"]), []),
            "upcoming": upcoming.get(str(row["iom_id"]), []),
        })  # fmt: skip
    return cards


def _plain(value: object) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _exit_cards(pack: ConferencePack) -> list[dict]:
    cards = []
    for row in _records(pack.exit_candidates):
        criteria = [{"label": label, "met": bool(row.get(f"{name}_met")), "evidence": _plain(row.get(f"{name}_evidence"))}
                    for name, label in pack.exit_criteria]  # fmt: skip
        selected = row.get("selected_on")
        cards.append({**row, "criteria": criteria, "meets_all": bool(row.get("meets_all")),
                      "selected_text": _text_of(selected, pack.conference_date) if selected is not None else ""})  # fmt: skip
    return cards


def counts(pack: ConferencePack) -> dict[str, int]:
    upcoming = pack.upcoming["kind"].value_counts() if not pack.upcoming.empty else pd.Series(dtype=int)
    return {
        "members": len(pack.members),
        "nominated": len(pack.nominated),
        "proposed for exit": len(pack.exit_candidates),
        "on the priority list": len(pack.priorities),
        "reviews overdue": int(upcoming.get("review overdue", 0)),
        "court dates ahead": int(upcoming.get("court date", 0)),
        f"releases in {RELEASE_HORIZON_DAYS} days": int(upcoming.get("release", 0)),
    }


def render_html(pack: ConferencePack) -> str:
    return _env.get_template("conference.html.j2").render(
        pack=pack,
        counts=counts(pack),
        members=_member_cards(pack),
        exits=_exit_cards(pack),
        priorities=_records(pack.priorities),
        nominated=[{**r, "strand_text": STRAND_WORDS.get(r["strand"], r["strand"])} for r in _records(pack.nominated)],
        yesterday=pack.conference_date - timedelta(days=1),
        lookback_months=LOOKBACK_MONTHS,
        release_days=RELEASE_HORIZON_DAYS,
        readable=lambda v: _text_of(v, pack.conference_date),
    )


def workbook(pack: ConferencePack) -> bytes:
    """A sheet per section; dates stay dates (pipelines/reports/workbook.py)."""
    return workbook_bytes({
        "members": pack.members,
        "events": pack.events,
        "upcoming": pack.upcoming,
        "nominated": pack.nominated,
        "exit candidates": pack.exit_candidates,
        "priorities": pack.priorities,
    })  # fmt: skip


def pack_folder(reports_dir: Path, conference_date: date, division: str) -> Path:
    return reports_dir / CONFERENCE_FOLDER / conference_date.isoformat() / division


def pack_files(pack: ConferencePack) -> dict[str, bytes]:
    html = render_html(pack)
    title = f"IOM case conference pack {pack.division} {pack.conference_date.isoformat()}"
    return {"pack.html": html.encode("utf-8"), "pack.pdf": pdf_bytes(html, title=title), "pack.xlsx": workbook(pack)}


def write_packs(reports_dir: Path, packs: Iterable[ConferencePack]) -> list[tuple[Path, bool]]:
    """Each pack's folder, published whole (PublishError if one cannot be written), and
    whether its content changed."""
    written = []
    for pack in packs:
        folder = pack_folder(reports_dir, pack.conference_date, pack.division)
        written.append((folder, publish_folder(folder, pack_files(pack))))
    return written
