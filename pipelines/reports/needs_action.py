"""The "needs action" block at the top of report.html: what a division must act on today.

Each rule names a section of the report, which of its rows need action, and how to say
so in one line; every line links to its row further down (``row_anchor``).  The rules
read the sections as built (pipelines/reports/sections.py), so the block can never show
anyone the report itself does not.  Order: the rules' order, then the section's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from pipelines.reports.formats import ARREST_OUTCOME_WORDS, CAUSE_WORDS, LOCATION_WORDS, person, readable, readable_in
from pipelines.reports.sections import DailyReport

URGENT_RELEASE_DAYS = 7  # a release this close without settled accommodation needs a plan now
CUSTODY_REMANDS = ("PR", "SA")  # remanded in custody / to secure accommodation by the court


@dataclass(frozen=True)
class ActionItem:
    kind: str  # the rule's heading, e.g. "Review overdue"
    who: str  # "SURNAME, Forenames (LDS-000123)"
    what: str  # the line's detail, in words
    anchor: str  # the row's id in report.html


Rows = Callable[[pd.DataFrame, DailyReport], pd.Series]
Words = Callable[[pd.Series, date], str]


@dataclass(frozen=True)
class ActionRule:
    kind: str
    section: str
    rows: Rows
    words: Words
    once_per: tuple[str, ...] = ()  # one line per these columns (a hearing, not each offence)


def row_anchor(section: str, index: int) -> str:
    return f"{section}-{index}"


def _when(row: pd.Series, column: str, d: date) -> str:
    return readable_in(column, row[column], d)


def _blank(value: object) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value)) or str(value).strip() == ""


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _words(code: object) -> str:
    """A code in words: IN_PRISON -> "in prison"; none -> "unknown"."""
    return "unknown" if _blank(code) else str(code).replace("_", " ").lower()


def _arrest_words(row: pd.Series, d: date) -> str:
    outcome = "outcome pending" if _blank(row["outcome"]) else ARREST_OUTCOME_WORDS.get(row["outcome"], _words(row["outcome"]))
    return f"arrested {_when(row, 'arrest_datetime', d)} for {row['offence_description']}: {outcome}"


def _release_rows(frame: pd.DataFrame, report: DailyReport) -> pd.Series:
    soon = pd.to_datetime(frame["release_date"]) <= pd.Timestamp(report.report_date + timedelta(days=URGENT_RELEASE_DAYS))
    return soon & (frame["accommodation_on_release"].fillna("") != "SETTLED")


def _release_words(row: pd.Series, d: date) -> str:
    where = "" if _blank(row["accommodation_on_release"]) else f" ({row['accommodation_on_release']})"
    place = row["prison_name"] if not _blank(row["prison_name"]) else row["prison_id"]
    return f"released {readable(row['release_date'], d)} from {place} with no settled accommodation{where}"


RULES: tuple[ActionRule, ...] = (
    ActionRule(
        "Review overdue", "reviews",
        lambda f, r: pd.to_numeric(f["days_until_due"]) < 0,
        lambda row, d: f"overdue by {_days(-int(row['days_until_due']))} (due {readable(row['next_review_due'], d)})",
    ),
    ActionRule(
        "Failed to attend", "attendance",
        lambda f, r: f["outcome"] == "FAILED_TO_ATTEND",
        lambda row, d: f"{row['agency']} {row['appointment_type'] if not _blank(row['appointment_type']) else 'appointment'}"
        f" {_when(row, 'event_datetime', d)}",
    ),
    ActionRule(
        "Charged and remanded", "arrests",
        lambda f, r: (f["managing_division"] == r.division) & (f["outcome"] == "CHARGED_REMANDED"),
        _arrest_words,
    ),
    ActionRule(
        "Arrested", "arrests",
        lambda f, r: (f["managing_division"] == r.division) & (f["outcome"].fillna("") != "CHARGED_REMANDED"),
        _arrest_words,
    ),
    ActionRule(
        "Remanded in custody", "court_results",
        lambda f, r: f["remand_status"].isin(CUSTODY_REMANDS),
        lambda row, d: f"by {row['court_name'] if not _blank(row['court_name']) else row['court_code']}"
        f" ({row['offence_title']})",
        once_per=("iom_id", "court_code", "urn"),
    ),
    ActionRule(f"Release within {URGENT_RELEASE_DAYS} days", "releases", _release_rows, _release_words),
    ActionRule(
        "Changed location", "location_changes",
        lambda f, r: pd.Series(True, index=f.index),
        lambda row, d: f"now {LOCATION_WORDS.get(row['location'], _words(row['location']))}"
        + ("" if _blank(row["previous_location"]) else f" (was {LOCATION_WORDS.get(row['previous_location'], 'unknown')})")
        + f" since {_when(row, 'since', d)}: {CAUSE_WORDS.get(str(row['cause']), _words(row['cause']))}",
    ),
)  # fmt: skip


def needs_action(report: DailyReport) -> list[ActionItem]:
    """The block's lines for one division's report, in the rules' order."""
    items: list[ActionItem] = []
    for rule in RULES:
        frame = report.sections[rule.section]
        if frame.empty:
            continue
        chosen = frame[rule.rows(frame, report).fillna(False).astype(bool)]
        if rule.once_per:
            chosen = chosen.drop_duplicates(list(rule.once_per))
        for index, row in chosen.iterrows():  # a handful of rows a day: words, not data processing
            who = f"{person(row['surname'], row['forenames'])} ({row['iom_id']})"
            items.append(ActionItem(rule.kind, who, rule.words(row, report.report_date), row_anchor(rule.section, int(index))))
    return items
