"""The hub-only data-quality page for report date D: what was rejected, and why.

For each feed, the files feeds.csv counts for D (``feed_status.counted_files``): each
file's status, its rows in, loaded and quarantined, why a file was rejected whole; every
quarantined row with its location and reason; the data-quality findings (identifiers that
failed their format or check letter) by column and rule; and the Great Expectations
results for D.  Written to ``<IOM_QUALITY_DIR>/<D>/`` as ``quality.html`` (to read),
``quarantine.csv`` and ``findings.csv`` (to work through), never beside the division
reports or in the outbox.  Reasons name files, lines, columns and rules, never values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from pipelines.feeds import FEEDS
from pipelines.reports.feed_status import counted_files
from pipelines.reports.publish import csv_bytes, publish_folder
from pipelines.reports.render import _env
from pipelines.store import in_force, ledger
from warehouse.schema import dq_finding, quarantine

QUARANTINE_COLUMNS = ["feed", "file", "line_or_element", "reason"]
FINDING_COLUMNS = ["feed", "file", "column", "rule", "rows"]
SHOWN_PER_FILE = 200  # quarantined rows listed on the page per file (all are in quarantine.csv)


@dataclass
class FeedQuality:
    feed: str
    files: pd.DataFrame  # name, status, rows_in, rows_loaded, rows_quarantined, reject_reason, drift_columns
    expectations: list[dict] = field(default_factory=list)  # Great Expectations results (safe summaries)

    @property
    def rows_in(self) -> int:
        return int(self.files["rows_in"].sum())

    @property
    def rows_quarantined(self) -> int:
        return int(self.files["rows_quarantined"].sum())

    @property
    def files_rejected(self) -> int:
        return int((self.files["status"] == "REJECTED").sum())

    @property
    def expectations_failed(self) -> int:
        return sum(not e["success"] for e in self.expectations)


@dataclass
class QualityPage:
    report_date: date
    feeds: list[FeedQuality]
    quarantined: pd.DataFrame  # QUARANTINE_COLUMNS
    findings: pd.DataFrame  # FINDING_COLUMNS

    def quarantined_by_file(self, limit: int = SHOWN_PER_FILE) -> list[tuple[str, str, pd.DataFrame, int]]:
        """(feed, file, its first ``limit`` quarantined rows, how many it has) for the page;
        quarantine.csv holds them all."""
        groups = self.quarantined.groupby(["feed", "file"], sort=False)
        return [(feed, name, rows.head(limit), len(rows)) for (feed, name), rows in groups]

    def counts(self) -> dict[str, int]:
        """Per feed, for run metadata: counts only."""
        out: dict[str, int] = {}
        for f in self.feeds:
            out |= {f"{f.feed}_rows_quarantined": f.rows_quarantined, f"{f.feed}_files_rejected": f.files_rejected,
                    f"{f.feed}_expectations_failed": f.expectations_failed}  # fmt: skip
        out["findings"] = int(self.findings["rows"].sum()) if not self.findings.empty else 0
        return out


def quality_page(engine: sa.Engine, report_date: date, expectations: list[dict] | None = None) -> QualityPage:
    files = ledger(engine)
    feeds, ids = [], []
    for name in FEEDS:
        mine = files[files["feed"] == name]
        counted = counted_files(mine, in_force(engine, name, report_date), report_date).sort_values("name")
        ids += counted["id"].tolist()
        results = [e for e in expectations or [] if e.get("feed") == name]
        feeds.append(FeedQuality(name, counted.reset_index(drop=True), results))
    names = files.set_index("id")[["feed", "name"]]
    return QualityPage(report_date, feeds, _quarantined(engine, ids, names), _findings(engine, ids, names))


def _quarantined(engine: sa.Engine, ids: list[int], names: pd.DataFrame) -> pd.DataFrame:
    q = sa.select(quarantine.c.file_id, quarantine.c.row_no, quarantine.c.location, quarantine.c.reason).where(
        quarantine.c.file_id.in_(ids)
    )
    with engine.connect() as conn:
        rows = pd.DataFrame(conn.execute(q).fetchall(), columns=["file_id", "row_no", "location", "reason"])
    rows = rows.join(names, on="file_id").sort_values(["feed", "name", "row_no"], na_position="first")
    where = rows["location"].fillna("whole file")
    return pd.DataFrame({"feed": rows["feed"], "file": rows["name"], "line_or_element": where, "reason": rows["reason"]},
                        columns=QUARANTINE_COLUMNS).reset_index(drop=True)  # fmt: skip


def _findings(engine: sa.Engine, ids: list[int], names: pd.DataFrame) -> pd.DataFrame:
    q = (
        sa.select(dq_finding.c.file_id, dq_finding.c.column_name, dq_finding.c.rule, sa.func.count().label("rows"))
        .where(dq_finding.c.file_id.in_(ids))
        .group_by(dq_finding.c.file_id, dq_finding.c.column_name, dq_finding.c.rule)
    )
    with engine.connect() as conn:
        rows = pd.DataFrame(conn.execute(q).fetchall(), columns=["file_id", "column", "rule", "rows"])
    rows = rows.join(names, on="file_id").rename(columns={"name": "file"}).sort_values(["feed", "file", "column"])
    return rows[FINDING_COLUMNS].reset_index(drop=True)


def _csv(frame: pd.DataFrame) -> bytes:
    return csv_bytes(frame.columns, frame.itertuples(index=False, name=None))


def write_quality_page(quality_dir: Path, page: QualityPage) -> Path:
    """Publish quality.html, quarantine.csv and findings.csv for D whole (publish.py)."""
    html = _env.get_template("quality.html.j2").render(page=page)
    final = quality_dir / page.report_date.isoformat()
    files = {"quality.html": html.encode("utf-8"), "quarantine.csv": _csv(page.quarantined), "findings.csv": _csv(page.findings)}
    publish_folder(final, files)
    return final
