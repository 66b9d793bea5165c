"""Exit-review candidates: ACTIVE members who meet every one of the partnership's exit
criteria on report date D (config `exit_review:` in config/hub.yaml, ``ExitCriteria``),
each criterion shown with its evidence.

"The N months to D-1" are the local dates from D less N calendar months up to D-1
(``months_before``; for D = 2026-12-01 and 6 months, 2026-06-01 to 2026-11-30):

- ``no_arrest``: no reportable arrest dated in the ``no_arrest_months`` to D-1.  Arrests
  before selection are never reportable, so a member selected after the window's start
  cannot show a clean stretch yet: not met ("in the cohort only since ...").
- ``attendance``: appointment compliance, (ATTENDED + ACCEPTABLE_ABSENCE) /
  (ATTENDED + ACCEPTABLE_ABSENCE + FAILED_TO_ATTEND) as the traffic light's (CONTRACT
  section 8), of at least ``min_percent`` over the ``months`` to D-1, on at least
  ``min_appointments`` judged appointments.
- ``settled_accommodation``: the member's newest accommodation record says settled: a
  HOUSED (settled) or LOST_ACCOMMODATION (not) status change dated up to D-1, or a
  release dated up to D with its accommodation_on_release, the release row as the newest
  schedule dated on or before the release date lists it.  On the same day a status
  change outranks a release (the agency records where they actually went).  With no
  record, not met.  ``settled_accommodation: false`` shows it without requiring it.
- ``support_plan``: support_plan_agreed_on within ``support_plan_within_days`` before D,
  up to and including D (as the traffic light's plan_in_place).

Records are linked and judged reportable (CONTRACT section 4) by ``reportable_events``, and
past releases by the same final step (``_past_releases`` says why).  ``assess_members``
judges plain frames; ``exit_assessment`` gathers them from the warehouse.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import numpy as np
import pandas as pd
import sqlalchemy as sa

from pipelines.link_store import linked_members
from pipelines.member_events import releases_as_listed, reportable_events
from pipelines.membership import active_members
from pipelines.priorities import SETTLED, counted, short_date, short_dates
from pipelines.settings import AttendanceCriterion, ExitCriteria, HubConfig, LinkThresholds
from pipelines.store import register_in_force

EXIT_CRITERIA = ("no_arrest", "attendance", "settled_accommodation", "support_plan")
EXIT_CRITERION_LABELS = {
    "no_arrest": "No arrest",
    "attendance": "Attendance",
    "settled_accommodation": "Settled accommodation",
    "support_plan": "Support plan in date",
}
MEMBER_COLUMNS = ("iom_id", "surname", "forenames", "managing_division", "selected_on")
EXIT_COLUMNS = (
    *MEMBER_COLUMNS,
    *(f"{name}_{part}" for name in EXIT_CRITERIA for part in ("met", "evidence")),
    "meets_all",
)
GOOD_OUTCOMES = ("ATTENDED", "ACCEPTABLE_ABSENCE")
JUDGED_OUTCOMES = (*GOOD_OUTCOMES, "FAILED_TO_ATTEND")
ACCOMMODATION_STATUSES = {"HOUSED": True, "LOST_ACCOMMODATION": False}  # status -> settled


def months_before(day: date, months: int) -> date:
    """``day`` less ``months`` calendar months (31 Aug less 6 months is 28 Feb)."""
    return (pd.Timestamp(day) - pd.DateOffset(months=months)).date()


def _months(n: int) -> str:
    return f"{n} month{'' if n == 1 else 's'}"


def _number(value: float) -> str:
    return f"{value:g}"


def criterion_labels(criteria: ExitCriteria) -> dict[str, str]:
    """Each criterion's label with its configured thresholds, for a template's heading."""
    a = criteria.attendance
    return {
        "no_arrest": f"No arrest in {_months(criteria.no_arrest_months)}",
        "attendance": f"Attendance at least {_number(a.min_percent)}% over {_months(a.months)}",
        "settled_accommodation": "Settled accommodation" + ("" if criteria.settled_accommodation else " (not required)"),
        "support_plan": f"Support plan agreed within {criteria.support_plan_within_days} days",
    }


# --------------------------------------------------------------------------- criteria
# Each takes the members indexed by iom_id and returns (met, evidence) on that index.


def _window(events: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    if events.empty:
        return events
    day = pd.to_datetime(events["local_date"])
    return events[(day >= pd.Timestamp(start)) & (day <= pd.Timestamp(end))]


def _per_member(events: pd.DataFrame, members: pd.DataFrame, column: str, how: str, fill: object) -> pd.Series:
    """One aggregate of ``events[column]`` per member (``fill`` for members without events)."""
    if events.empty:
        return pd.Series(fill, index=members.index)
    return events.groupby("iom_id")[column].agg(how).reindex(members.index, fill_value=fill)


def _no_arrest(members: pd.DataFrame, arrests: pd.DataFrame, report_date: date, months: int) -> tuple[pd.Series, pd.Series]:
    start, end = months_before(report_date, months), report_date - timedelta(days=1)
    span = f"in the {_months(months)} to {short_date(end, report_date)}"
    inside = _window(arrests, start, end)
    inside = inside.drop_duplicates("custody_ref") if not inside.empty else inside
    count = _per_member(inside, members, "local_date", "size", 0).astype(int)
    latest = short_dates(_per_member(inside, members, "local_date", "max", report_date), report_date)
    several = "arrested " + count.astype(str) + f" times {span}, latest " + latest
    arrested = ("arrested " + latest).where(count == 1, several)
    selected = pd.to_datetime(members["selected_on"])
    # Arrests before selection are not reportable: a clean window needs the whole window in the cohort.
    newcomer = selected > pd.Timestamp(start)
    joined = "in the cohort only since " + short_dates(selected, report_date) + f", not the whole {_months(months)}"
    evidence = pd.Series(f"no arrest {span}", index=members.index).where(count == 0, arrested)
    evidence = evidence.where(~newcomer, joined.where(count == 0, joined + "; " + arrested))
    return (count == 0) & ~newcomer, evidence


def _percent_text(good: pd.Series, judged: pd.Series) -> pd.Series:
    """Rounded down to one decimal (never shown above the true figure, so a value shown
    at the threshold really is), with a whole number shown without ".0"."""
    tenths = (good * 1000) // judged.where(judged > 0, 1)
    decimals = pd.Series(np.where(tenths % 10 == 0, "", "." + (tenths % 10).astype(str)), index=good.index)
    return (tenths // 10).astype(str) + decimals + "%"


def _attendance(
    members: pd.DataFrame, appointments: pd.DataFrame, report_date: date, rule: AttendanceCriterion
) -> tuple[pd.Series, pd.Series]:
    start, end = months_before(report_date, rule.months), report_date - timedelta(days=1)
    span = f"in the {_months(rule.months)} to {short_date(end, report_date)}"
    inside = _window(appointments, start, end)
    inside = inside[inside["outcome"].isin(JUDGED_OUTCOMES)] if not inside.empty else inside
    inside = inside.assign(good=inside["outcome"].isin(GOOD_OUTCOMES).astype(int)) if not inside.empty else inside
    numerator = _per_member(inside, members, "good", "sum", 0).astype(int)
    judged = _per_member(inside, members, "good", "size", 0).astype(int)
    # Exact comparison: 85% of 20 is 17, not a float a hair below it.
    least = Fraction(str(rule.min_percent))
    enough = judged >= rule.min_appointments
    met = enough & (numerator * 100 * least.denominator >= judged * least.numerator)
    needed = f", at least {rule.min_appointments} needed"
    shown = (
        _percent_text(numerator, judged) + " (" + numerator.astype(str) + " of " + counted(judged, "appointment") + f") {span}"
    )
    evidence = shown.where(met, shown + f", below {_number(rule.min_percent)}%")
    evidence = evidence.where(enough, "only " + counted(judged, "appointment") + f" {span}{needed}")
    evidence = evidence.where(judged > 0, f"no appointments {span}{needed}")
    return met, evidence


RECORD_COLUMNS = ["iom_id", "day", "rank", "at", "settled", "text"]


def _records(rows: pd.DataFrame, day: pd.Series, rank: int, at: pd.Series, settled: pd.Series, text: pd.Series) -> pd.DataFrame:
    """Accommodation records in one shape; ``rank`` orders two kinds on the same day."""
    return pd.DataFrame(
        {"iom_id": rows["iom_id"], "day": pd.to_datetime(day), "rank": rank, "at": at, "settled": settled, "text": text}
    )


def _status_records(status_changes: pd.DataFrame, report_date: date) -> pd.DataFrame:
    """HOUSED and LOST_ACCOMMODATION changes up to D-1, ranked above a release the same
    day: the agency records where the member actually went."""
    changes = status_changes[status_changes["status"].isin(ACCOMMODATION_STATUSES)]
    changes = changes[pd.to_datetime(changes["local_date"]) <= pd.Timestamp(report_date - timedelta(days=1))]
    what = changes["status"].map({"HOUSED": "housed on ", "LOST_ACCOMMODATION": "lost accommodation on "})
    text = what + short_dates(changes["local_date"], report_date) + " (" + changes["agency"] + ")"
    settled = changes["status"].map(ACCOMMODATION_STATUSES).astype(bool)
    return _records(changes, changes["local_date"], 1, pd.to_datetime(changes["event_datetime"]), settled, text)


def _release_records(releases: pd.DataFrame, report_date: date) -> pd.DataFrame:
    """Releases up to D and the accommodation the schedule recorded for them."""
    out = releases[pd.to_datetime(releases["release_date"]) <= pd.Timestamp(report_date)]
    accommodation = out["accommodation_on_release"].fillna("")
    when = "released " + short_dates(out["release_date"], report_date)
    text = (when + ", accommodation on release " + accommodation.replace("", "not recorded")).where(
        accommodation != SETTLED, when + " to settled accommodation"
    )
    day = pd.to_datetime(out["release_date"])
    return _records(out, day, 0, day, accommodation == SETTLED, text)


def _settled_accommodation(
    members: pd.DataFrame, status_changes: pd.DataFrame, releases: pd.DataFrame, report_date: date, required: bool
) -> tuple[pd.Series, pd.Series]:
    parts = [
        *([_status_records(status_changes, report_date)] if not status_changes.empty else []),
        *([_release_records(releases, report_date)] if not releases.empty else []),
    ]
    parts = [p for p in parts if not p.empty]
    records = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=RECORD_COLUMNS)
    newest = records.sort_values(["iom_id", "day", "rank", "at"], kind="stable").drop_duplicates("iom_id", keep="last")
    newest = newest.set_index("iom_id").reindex(members.index)
    met = newest["settled"].eq(True)  # no record: not settled
    evidence = newest["text"].astype(object).where(newest["text"].notna(), "no accommodation record")
    if not required:
        return pd.Series(True, index=members.index), "not required; " + evidence
    return met, evidence


def _support_plan(members: pd.DataFrame, report_date: date, days: int) -> tuple[pd.Series, pd.Series]:
    agreed = pd.to_datetime(members["support_plan_agreed_on"])
    start, today = pd.Timestamp(report_date - timedelta(days=days)), pd.Timestamp(report_date)
    met = (agreed >= start) & (agreed <= today)
    when = short_dates(agreed.fillna(today), report_date)
    evidence = ("agreed " + when).where(met, "agreed " + when + f", more than {days} days before the report date")
    evidence = evidence.where(~(agreed > today), "dated " + when + ", after the report date")
    return met, evidence.where(agreed.notna(), "no support plan recorded")


# --------------------------------------------------------------------------- the assessment


def assess_members(
    members: pd.DataFrame,
    arrests: pd.DataFrame,
    appointments: pd.DataFrame,
    status_changes: pd.DataFrame,
    releases: pd.DataFrame,
    report_date: date,
    criteria: ExitCriteria,
) -> pd.DataFrame:
    """Each of ``members`` against each criterion (``EXIT_COLUMNS``), from plain frames.

    members: iom_id, surname, forenames, managing_division, selected_on,
    support_plan_agreed_on (the caller chooses who is eligible).  arrests: iom_id,
    custody_ref, local_date.  appointments: iom_id, outcome, local_date.  status_changes:
    iom_id, agency, status, local_date, event_datetime.  releases: iom_id, release_date,
    accommodation_on_release.  Each criterion applies its own window.
    """
    if members.empty:
        return pd.DataFrame(columns=list(EXIT_COLUMNS))
    indexed = members.set_index("iom_id", drop=False)
    judged = {
        "no_arrest": _no_arrest(indexed, arrests, report_date, criteria.no_arrest_months),
        "attendance": _attendance(indexed, appointments, report_date, criteria.attendance),
        "settled_accommodation": _settled_accommodation(
            indexed, status_changes, releases, report_date, criteria.settled_accommodation
        ),
        "support_plan": _support_plan(indexed, report_date, criteria.support_plan_within_days),
    }
    out = indexed[list(MEMBER_COLUMNS)].copy()
    for name in EXIT_CRITERIA:
        met, evidence = judged[name]
        out[f"{name}_met"] = met.astype(bool)
        out[f"{name}_evidence"] = evidence
    out["meets_all"] = out[[f"{name}_met" for name in EXIT_CRITERIA]].all(axis=1)
    return out.reset_index(drop=True).sort_values("iom_id", kind="stable").reset_index(drop=True)[list(EXIT_COLUMNS)]


# --------------------------------------------------------------------------- from the warehouse


def _past_releases(
    engine: sa.Engine, report_date: date, since: date, thresholds: LinkThresholds, register: pd.DataFrame
) -> pd.DataFrame:
    """Reportable releases dated in [since, D], each as the newest schedule dated on or
    before its release date lists it (CONTRACT section 8's rule: a later schedule no
    longer lists what is past).

    ``reportable_events`` reads what a schedule says is coming; what happened is
    ``releases_as_listed`` (the traffic light's selection, in one read), linked and
    judged reportable by ``linked_members``, the very step ``reportable_events`` ends with.
    """
    rows = releases_as_listed(engine, since, report_date, report_date)
    if rows.empty:
        return pd.DataFrame(columns=["iom_id", "release_date", "accommodation_on_release"])
    return linked_members(engine, "prison_releases", rows, register, thresholds, report_date)


def exit_assessment(
    engine: sa.Engine, report_date: date, config: HubConfig, register: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Every member ACTIVE on D (register in force at D, selected_on on or before D) against
    each exit criterion, with the evidence (``EXIT_COLUMNS``), sorted by iom_id."""
    if register is None:
        _, register = register_in_force(engine, report_date)
    members = active_members(register, report_date)
    if members.empty:
        return pd.DataFrame(columns=list(EXIT_COLUMNS))
    criteria, yesterday = config.exit_review, report_date - timedelta(days=1)

    def events(feed_name: str, start: date) -> pd.DataFrame:
        return reportable_events(engine, feed_name, report_date, start, yesterday, config.linking, register)

    # Accommodation evidence may be as old as the member's selection (nothing earlier is reportable).
    since = min(pd.to_datetime(members["selected_on"])).date()
    attendance = events("attendance", min(since, months_before(report_date, criteria.attendance.months)))
    kind = attendance["record_type"] if not attendance.empty else pd.Series(dtype=object)
    return assess_members(
        members,
        events("arrests", months_before(report_date, criteria.no_arrest_months)),
        attendance[kind == "APPOINTMENT"],
        attendance[kind == "STATUS_CHANGE"],
        _past_releases(engine, report_date, since, config.linking, register),
        report_date,
        criteria,
    )


def exit_candidates(
    engine: sa.Engine, report_date: date, config: HubConfig, register: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The members of ``exit_assessment`` who meet every criterion, sorted by iom_id."""
    assessed = exit_assessment(engine, report_date, config, register)
    return assessed[assessed["meets_all"].astype(bool)].reset_index(drop=True)
