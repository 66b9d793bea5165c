"""Which inbox files are feed files, and what their names say (CONTRACT section 1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pipelines.feeds import Feed

IN_PROGRESS_SUFFIXES = (".part", ".tmp", ".filepart")


@dataclass(frozen=True)
class FileName:
    name: str
    file_date: date | None
    file_time: str  # HHMMSS, or "" when the feed's names carry no time
    ext: str
    partner: str  # court code or agency, "" when the feed's names carry none
    problem: str | None  # why the name is not acceptable, else None

    @property
    def sort_key(self) -> tuple[date, str, str]:
        """ "Later" per CONTRACT section 1: by date, then time (then name, for a total order)."""
        assert self.file_date is not None
        return (self.file_date, self.file_time, self.name)


def is_in_progress(name: str) -> bool:
    """Hidden files and uploads in progress are not files yet: ignore them silently."""
    return name.startswith(".") or name.lower().endswith(IN_PROGRESS_SUFFIXES)


def parse_name(feed: Feed, name: str) -> FileName:
    m = feed.file_pattern.match(name)
    if m is None:
        return FileName(name, None, "", "", "", f"name does not follow the {feed.name} pattern {feed.file_pattern.pattern}")
    groups = m.groupdict()
    time_text = groups.get("time") or ""
    partner = (groups.get("partner") or "").upper()  # court codes compare upper-cased, as configured
    try:
        file_date = datetime.strptime(groups["date"], "%Y%m%d").date()
        if time_text:
            datetime.strptime(time_text, "%H%M%S")
    except ValueError:
        # Still its provider's file (providers.csv counts it), though it has no date.
        return FileName(name, None, time_text, "", partner, "name carries an impossible date or time")
    return FileName(name, file_date, time_text, (groups.get("ext") or "").lower(), partner, None)
