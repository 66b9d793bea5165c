"""Local time, due times and the text forms dates take in the feeds.

Feeds carry Europe/London wall-clock times without an offset; only file arrival
(modification) times need converting to an absolute instant.
"""

from __future__ import annotations

import calendar
import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

LONDON = ZoneInfo("Europe/London")
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "hub.yaml"


def epoch(local: datetime) -> int:
    """Seconds since the epoch for a naive Europe/London wall-clock time.

    Arrival times are chosen outside the 01:00-02:00 changeover hour, so fold never
    matters for them.
    """
    return int(local.replace(tzinfo=LONDON).timestamp())


def last_sunday(year: int, month: int) -> date:
    last = date(year, month, calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - 6) % 7)


def autumn_change(year: int) -> date:
    """The day the clocks go back (01:00-02:00 happens twice)."""
    return last_sunday(year, 10)


def spring_change(year: int) -> date:
    """The day the clocks go forward (01:00-02:00 does not exist)."""
    return last_sunday(year, 3)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def iso_date(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def iso_ts(value: datetime, *, seconds: bool) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S" if seconds else "%Y-%m-%dT%H:%M")


def truth_ts(value: datetime) -> str:
    """The one timestamp form used throughout truth.json."""
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def uk_date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value is not None else ""


def uk_ts(value: datetime | None) -> str:
    return value.strftime("%d/%m/%Y %H:%M") if value is not None else ""


@dataclass(frozen=True, slots=True)
class Due:
    days_after: int
    at: time


class DueTimes:
    """When each feed's file is due, read from the same config the pipeline uses.

    Reading it (rather than hard-coding 06:00) keeps "late" in the truth consistent with
    what the pipeline will call late when the partnership changes its timeliness rules.
    """

    def __init__(self, config_path: Path | None = None) -> None:
        path = config_path or Path(os.environ.get("IOM_CONFIG") or DEFAULT_CONFIG)
        self.is_default = path.resolve() == DEFAULT_CONFIG
        with path.open(encoding="utf-8") as handle:
            config = yaml.safe_load(handle)
        self._due: dict[str, Due] = {}
        for feed, spec in (config.get("feeds") or {}).items():
            due = spec["due"]
            hours, minutes = (int(part) for part in str(due["time"]).split(":"))
            self._due[feed] = Due(int(due.get("days_after", 0)), time(hours, minutes))

    def due_at(self, feed: str, file_date: date) -> datetime:
        due = self._due[feed]
        return datetime.combine(file_date + timedelta(days=due.days_after), due.at)
