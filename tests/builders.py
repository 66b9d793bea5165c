"""Build small, hand-made inboxes for rule tests: each file written as its feed demands."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pipelines.feeds import FEEDS

LONDON = ZoneInfo("Europe/London")


def member(iom_id: str, surname: str, forenames: str, dob: str, **extra: str) -> dict[str, str]:
    row = {
        "iom_id": iom_id, "surname": surname, "forenames": forenames, "date_of_birth": dob,
        "managing_division": "CH", "cohort_type": "IOM", "strand": "REHAB_RESETTLE", "status": "ACTIVE",
        "selected_on": "2026-01-01", "case_manager_agency": "PROBATION",
    }  # fmt: skip
    row.update(extra)
    return row


@dataclass
class Inbox:
    root: Path
    written: list[Path] = field(default_factory=list)

    def _write(self, feed: str, name: str, data: bytes, arrived: datetime | None) -> Path:
        path = self.root / feed / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        when = (arrived or datetime(2020, 1, 1, 3, 0)).replace(tzinfo=LONDON).timestamp()
        os.utime(path, (when, when))
        self.written.append(path)
        return path

    def csv(self, feed: str, name: str, rows: list[dict[str, str]], *, encoding: str | None = None,
            arrived: datetime | None = None, columns: list[str] | None = None) -> Path:  # fmt: skip
        columns = columns or FEEDS[feed].column_names
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="raise")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
        return self._write(feed, name, buffer.getvalue().encode(encoding or FEEDS[feed].encoding), arrived)

    def cohort(self, day: date, members: list[dict[str, str]], **kw) -> Path:
        return self.csv("cohort", f"cohort_{day:%Y%m%d}.csv", members, **kw)

    def arrests(self, stamp: str, rows: list[dict[str, str]], **kw) -> Path:
        return self.csv("arrests", f"niche_arrests_{stamp}.csv", rows, **kw)

    def attendance(self, agency: str, day: date, rows: list[dict[str, str]], **kw) -> Path:
        return self.csv("attendance", f"attendance_{agency}_{day:%Y%m%d}.csv", [{"agency": agency, **r} for r in rows], **kw)

    def releases(self, day: date, rows: list[dict[str, str]], **kw) -> Path:
        return self.csv("prison_releases", f"prison_releases_{day:%Y%m%d}.csv", rows, **kw)

    def court(self, court: str, hearing: date, cases: list[tuple[str, list[dict]]], arrived: datetime | None = None) -> Path:
        """cases: (urn, defendants); defendant: attributes plus "offences": [{seq,title,results,...}]."""
        parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<CourtResults court_code="{court}" hearing_date="{hearing}">']
        for urn, defendants in cases:
            parts.append(f'<Case urn="{urn}">')
            for d in defendants:
                attrs = " ".join(f'{k}="{v}"' for k, v in d.items() if k != "offences")
                parts.append(f"<Defendant {attrs}>")
                for o in d["offences"]:
                    parts.append(f'<Offence seq="{o["seq"]}" title="{o["title"]}">')
                    parts.extend(f'<Result code="{c}"/>' for c in o.get("results", []))
                    parts.extend(f'<NextHearing date="{n}"/>' for n in o.get("next", []))
                    parts.append("</Offence>")
                parts.append("</Defendant>")
            parts.append("</Case>")
        parts.append("</CourtResults>")
        return self._write("court_results", f"court_results_{court}_{hearing:%Y%m%d}.xml", "\n".join(parts).encode(), arrived)


def hub_settings(root: Path, inbox: Path) -> dict[str, str]:
    """The settings of a hub whose warehouse and output folders are all under ``root``."""
    return {
        "IOM_INBOX": str(inbox),
        "IOM_WAREHOUSE_URL": f"sqlite:///{root / 'warehouse.sqlite'}",
        "IOM_REPORTS_DIR": str(root / "reports"),
        "IOM_REVIEW_DIR": str(root / "review"),
        "IOM_QUALITY_DIR": str(root / "quality"),
        "IOM_SETTLE_SECONDS": "0",
    }
