"""The priority list: the ACTIVE members who most need attention on report date D.

Each member's score is the sum of the points of the reasons that apply to them (config
`priority:` in config/hub.yaml, ``PriorityWeights``); every reason is shown in words with
its evidence and its points, so the score is never a bare number:

- their risk level in the register in force at D (``risk_level``);
- reportable arrests dated in the last ``arrests.days`` days up to D-1 (``points_each``
  for each distinct custody_ref, at most ``most_points``);
- FAILED_TO_ATTEND appointments in the last ``failed_appointments.days`` days up to D-1,
  counted likewise;
- their earliest release in [D, D + days] on the release schedule in force at D, when
  its accommodation_on_release is not SETTLED;
- their next_review_due before D, or none recorded (the traffic light's review_in_date
  counts a missing date as not in date, so the list does too).

Records come through ``reportable_events`` only (CONTRACT section 4): nobody outside the
cohort, and nothing from before a member's selection, adds points.  ``score_members`` is
the scoring on plain frames; ``priority_list`` gathers them from the warehouse.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from pipelines.member_events import reportable_events
from pipelines.membership import active_members
from pipelines.settings import EventCountWeight, HubConfig, PriorityWeights, ReleaseWeight
from pipelines.store import register_in_force

PRIORITY_COLUMNS = ("rank", "iom_id", "surname", "forenames", "managing_division", "risk_level", "score", "reasons")
REASON_COLUMNS = ["iom_id", "order", "points", "capped", "text"]
REASON_SEPARATOR = "; "
SETTLED = "SETTLED"


# --------------------------------------------------------------------------- wording


def short_dates(days: pd.Series, report_date: date) -> pd.Series:
    """Dates as people write them in a case note: "28 Nov", with the year ("28 Nov 2025")
    only when it is not the report date's year."""
    when = pd.to_datetime(pd.Series(days))
    text = when.dt.day.astype(str) + when.dt.strftime(" %b")
    return text.where(when.dt.year == report_date.year, text + " " + when.dt.year.astype(str))


def short_date(day: date, report_date: date) -> str:
    return str(short_dates(pd.Series([day]), report_date).iloc[0])


def counted(counts: pd.Series, word: str, words: str | None = None) -> pd.Series:
    """ "1 arrest", "3 arrests": the count and the noun in the right number."""
    number = pd.Series(np.where(counts == 1, word, words or f"{word}s"), index=counts.index)
    return counts.astype(int).astype(str) + " " + number


# --------------------------------------------------------------------------- reasons


def _reasons(ids: pd.Series, order: int, points: pd.Series, text: pd.Series, capped: pd.Series | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "iom_id": ids.to_numpy(),
            "order": order,
            "points": points.astype(int).to_numpy(),
            "capped": False if capped is None else capped.to_numpy(),
            "text": text.to_numpy(),
        }
    )


def _empty_reasons() -> pd.DataFrame:
    return pd.DataFrame(columns=REASON_COLUMNS)


def _risk(members: pd.DataFrame, weights: PriorityWeights) -> pd.DataFrame:
    level = members["risk_level"]
    points = level.map(weights.risk_points).fillna(0)
    return _reasons(members["iom_id"], 0, points, level.fillna("").astype(str).str.lower() + " risk")


def _in_last_days(events: pd.DataFrame, report_date: date, days: int) -> pd.DataFrame:
    """Events with local date in the ``days`` days up to D-1: [D - days, D - 1]."""
    day = pd.to_datetime(events["local_date"])
    start, end = pd.Timestamp(report_date - timedelta(days=days)), pd.Timestamp(report_date - timedelta(days=1))
    return events[(day >= start) & (day <= end)]


def _event_count(
    events: pd.DataFrame,
    key: list[str],
    weight: EventCountWeight,
    report_date: date,
    order: int,
    nouns: tuple[str, str],
) -> pd.DataFrame:
    """``points_each`` per distinct event in the window, at most ``most_points``; the text
    gives the count, the window and the latest date."""
    if events.empty:
        return _empty_reasons()
    inside = _in_last_days(events, report_date, weight.days).drop_duplicates(key)
    if inside.empty:
        return _empty_reasons()
    per = inside.groupby("iom_id").agg(count=("local_date", "size"), latest=("local_date", "max")).reset_index()
    raw = per["count"] * weight.points_each
    points = raw.clip(upper=weight.most_points)
    latest = short_dates(per["latest"], report_date)
    when = pd.Series(np.where(per["count"] == 1, "", "latest "), index=per.index) + latest
    text = counted(per["count"], *nouns) + f" in the last {weight.days} days (" + when + ")"
    return _reasons(per["iom_id"], order, points, text, capped=raw > points)


def _release(releases: pd.DataFrame, weight: ReleaseWeight, report_date: date, order: int) -> pd.DataFrame:
    """The member's earliest release in [D, D + days], when not to settled accommodation."""
    if releases.empty:
        return _empty_reasons()
    day = pd.to_datetime(releases["release_date"])
    horizon = pd.Timestamp(report_date + timedelta(days=weight.days))
    soon = releases[(day >= pd.Timestamp(report_date)) & (day <= horizon)]
    first = soon.assign(_day=pd.to_datetime(soon["release_date"])).sort_values(["iom_id", "_day"]).drop_duplicates("iom_id")
    unsettled = first[first["accommodation_on_release"].fillna("") != SETTLED]
    if unsettled.empty:
        return _empty_reasons()
    accommodation = unsettled["accommodation_on_release"].fillna("").replace("", "not recorded")
    text = "release on " + short_dates(unsettled["_day"], report_date) + " without settled accommodation (" + accommodation + ")"
    return _reasons(unsettled["iom_id"], order, pd.Series(weight.points, index=unsettled.index), text)


def _review(members: pd.DataFrame, points: int, report_date: date, order: int) -> pd.DataFrame:
    due = pd.to_datetime(members["next_review_due"])
    late = (pd.Timestamp(report_date) - due).dt.days
    due_members = members[due.isna() | (late > 0)]
    late = late[due_members.index]
    text = pd.Series("review overdue by ", index=due_members.index) + counted(late.fillna(0), "day")
    text = text.where(late.notna(), "no review date recorded")
    return _reasons(due_members["iom_id"], order, pd.Series(points, index=due_members.index), text)


# --------------------------------------------------------------------------- the score


def score_members(
    members: pd.DataFrame,
    arrests: pd.DataFrame,
    appointments: pd.DataFrame,
    releases: pd.DataFrame,
    report_date: date,
    weights: PriorityWeights,
) -> pd.DataFrame:
    """The priority list (``PRIORITY_COLUMNS``) of ``members`` from plain frames.

    members: iom_id, surname, forenames, managing_division, risk_level, next_review_due
    (the members to score: the caller chooses who is eligible).  arrests: iom_id,
    custody_ref, local_date.  appointments: iom_id, agency, record_id, outcome, local_date.
    releases: iom_id, release_date, accommodation_on_release.  Events of anyone not in
    ``members`` and outside each reason's window are ignored.  Members scoring 0 are left out.
    """
    if members.empty:
        return pd.DataFrame(columns=list(PRIORITY_COLUMNS))
    failed = appointments[appointments["outcome"] == "FAILED_TO_ATTEND"] if not appointments.empty else appointments
    parts = [
        _risk(members, weights),
        _event_count(arrests, ["custody_ref"], weights.arrests, report_date, 1, ("arrest", "arrests")),
        _event_count(
            failed, ["agency", "record_id"], weights.failed_appointments, report_date, 2,
            ("failed appointment", "failed appointments"),
        ),
        _release(releases, weights.release_without_settled_accommodation, report_date, 3),
        _review(members, weights.review_overdue_points, report_date, 4),
    ]  # fmt: skip
    found = [p for p in parts if not p.empty]
    if not found:
        return pd.DataFrame(columns=list(PRIORITY_COLUMNS))
    reasons = pd.concat(found, ignore_index=True)
    # A reason worth 0 points is switched off: it is not shown either.
    return _ranked(members, reasons[reasons["iom_id"].isin(members["iom_id"]) & (reasons["points"] > 0)], weights.min_score)


def _ranked(members: pd.DataFrame, reasons: pd.DataFrame, min_score: int = 1) -> pd.DataFrame:
    """One row per member with reasons: the score, the reasons in their fixed order, each
    with its points (so the reasons add up to the score), ranked by score then iom_id."""
    if reasons.empty:
        return pd.DataFrame(columns=list(PRIORITY_COLUMNS))
    suffix = pd.Series(np.where(reasons["capped"].astype(bool), ", capped", ""), index=reasons.index)
    shown = reasons.assign(text=reasons["text"] + " (+" + reasons["points"].astype(str) + suffix + ")")
    shown = shown.sort_values(["iom_id", "order"], kind="stable")
    per = shown.groupby("iom_id").agg(score=("points", "sum"), reasons=("text", REASON_SEPARATOR.join)).reset_index()
    out = members.drop(columns=[c for c in ("score", "reasons", "rank") if c in members]).merge(per, on="iom_id")
    out = out[out["score"] >= min_score]
    out = out.sort_values(["score", "iom_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    out["score"] = out["score"].astype(int)
    return out[list(PRIORITY_COLUMNS)]


# --------------------------------------------------------------------------- from the warehouse


def priority_list(engine: sa.Engine, report_date: date, config: HubConfig, register: pd.DataFrame | None = None) -> pd.DataFrame:
    """The priority list for D, all divisions (callers filter on managing_division): members
    ACTIVE in the register in force at D (selected_on on or before D) with a score above 0.

    Arrests and appointments are the reportable ones dated in each reason's days up to
    D-1, as the files dated on or before D hold them; releases come from the schedule in
    force at D with release_date in [D, D + days].
    """
    if register is None:
        _, register = register_in_force(engine, report_date)
    weights = config.priority
    members = active_members(register, report_date)
    if members.empty:
        return pd.DataFrame(columns=list(PRIORITY_COLUMNS))
    yesterday = report_date - timedelta(days=1)

    def events(feed_name: str, days: int) -> pd.DataFrame:
        start = report_date - timedelta(days=days)
        return reportable_events(engine, feed_name, report_date, start, yesterday, config.linking, register)

    attendance = events("attendance", weights.failed_appointments.days)
    appointments = attendance[attendance["record_type"] == "APPOINTMENT"] if not attendance.empty else attendance
    horizon = report_date + timedelta(days=weights.release_without_settled_accommodation.days)
    releases = reportable_events(engine, "prison_releases", report_date, report_date, horizon, config.linking, register)
    arrests = events("arrests", weights.arrests.days)
    return score_members(members, arrests, appointments, releases, report_date, weights)
