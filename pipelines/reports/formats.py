"""How values are written: ISO for the CSVs (machines), plain words for the pages (people).

``cell`` is the one text form per type the CSVs use; ``readable`` is how report.html and
the packs show the same value to a person ("Mon 30 Nov 09:12", a date "Mon 30 Nov", the
year only when it is not the report's).
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from pipelines.feeds import FEEDS
from warehouse.schema import CJS_LOCATIONS

# Codes in the words a page uses in a sentence ("bailed", "remanded in custody"): short
# forms of the meanings the feed manifest and the data dictionary give each value.
STRAND_WORDS = {"REHAB_RESETTLE": "Rehabilitate & resettle", "PREVENT_DETER": "Prevent & deter",
                "CATCH_CONVICT": "Catch & convict"}  # fmt: skip
LOCATION_WORDS = {
    "COMMUNITY": "in the community", "POLICE_CUSTODY": "in police custody", "REMANDED_IN_CUSTODY": "remanded in custody",
    "IN_PRISON": "in prison", "ON_LICENCE": "on licence in the community", "UNKNOWN": "not known",
}  # fmt: skip
CAUSE_WORDS = {
    "register": "as of the first register the hub received", "arrest": "arrested", "arrest_outcome": "arrest outcome",
    "no_outcome": "no arrest outcome after 96 hours", "court": "court hearing",
    "release_schedule": "listed on a prison release schedule", "release": "released from prison",
    "licence_expiry": "licence ended",
}  # fmt: skip
ARREST_OUTCOME_WORDS = {
    "CHARGED": "charged", "CHARGED_REMANDED": "charged and remanded in custody", "BAILED": "bailed",
    "RUI": "released under investigation", "NFA": "no further action", "CAUTION": "cautioned",
    "CONDITIONAL_CAUTION": "conditional caution", "COMMUNITY_RESOLUTION": "community resolution",
    "TRANSFERRED": "transferred to another force or agency",
}  # fmt: skip
REMAND_WORDS = {"CB": "conditional bail", "UB": "unconditional bail", "PR": "remanded in custody",
                "LA": "remanded to local authority accommodation", "SA": "remanded to secure accommodation"}  # fmt: skip
APPOINTMENT_WORDS = {"ATTENDED": "attended", "FAILED_TO_ATTEND": "failed to attend", "ACCEPTABLE_ABSENCE": "acceptable absence",
                     "RESCHEDULED": "rescheduled", "CANCELLED": "cancelled"}  # fmt: skip
assert set(LOCATION_WORDS) == set(CJS_LOCATIONS)  # every location has its words

# Timestamp columns a feed may fill with a bare date (a status change): midnight there is a date.
DATE_ONLY_ALLOWED = {c.name for f in FEEDS.values() for c in f.columns if c.date_only_allowed}


def cell(value: object) -> str:
    """One text form per type: ISO dates, ISO timestamps with seconds, blank for none."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def readable(value: object, report_date: date, *, midnight_is_a_date: bool = False) -> str:
    """A value as a person reads it on report.html (the CSVs keep ``cell``'s ISO forms):
    "Mon 30 Nov 09:12", a date "Mon 30 Nov", the year only when it is not the report's."""
    if isinstance(value, (pd.Timestamp, datetime)) and not pd.isna(value):
        day = weekday_day(value.date(), report_date)
        midnight = (value.hour, value.minute, value.second) == (0, 0, 0)
        return day if midnight and midnight_is_a_date else f"{day} {value:%H:%M}"
    if isinstance(value, date) and not isinstance(value, datetime):
        return weekday_day(value, report_date)
    return cell(value)


def readable_in(column: str, value: object, report_date: date) -> str:
    """``readable`` for a value of a named column (a status change's bare date stays a date)."""
    return readable(value, report_date, midnight_is_a_date=column in DATE_ONLY_ALLOWED)


def weekday_day(day: date, report_date: date) -> str:
    text = f"{day:%a} {day.day} {day:%b}"
    return text if day.year == report_date.year else f"{text} {day.year}"


def person(surname: object, forenames: object) -> str:
    """A member's name as the pages show it: "SURNAME, Forenames"."""
    return f"{str(surname).upper()}, {forenames}"
