"""The hub-only review page: pending pairs side by side with the model's evidence.

Written to ``<IOM_REVIEW_DIR>/<D>/`` (``review.html`` to read, ``review.csv`` to fill in
and load with ``iom-hub review load``), never under a division's report folder or the
outbox: divisions never see the review list.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from pipelines.reports.publish import csv_bytes, publish_folder
from pipelines.reports.render import _env, cell
from pipelines.review import DECISION_CSV_COLUMNS, member_details, pending_pairs, record_details
from pipelines.settings import LinkThresholds

DETAIL_FIELDS = ("surname", "forenames", "date_of_birth", "postcode", "pnc_id", "cro_number", "niche_nominal_id")
CSV_COLUMNS = (
    "feed", "subject", "iom_id", "match_weight", "reason",
    "record_surname", "record_forenames", "record_date_of_birth",
    "member_surname", "member_forenames", "member_date_of_birth", "decision", "note",
)  # fmt: skip
assert set(DECISION_CSV_COLUMNS) <= set(CSV_COLUMNS)


@dataclass
class Candidate:
    iom_id: str
    match_weight: float | None
    via: str
    details: dict[str, str]
    evidence: list[tuple[str, str, float]] = field(default_factory=list)

    @property
    def prior(self) -> float | None:
        """What the weight starts from before any comparison: the model's prior."""
        if self.match_weight is None or not self.evidence:
            return None
        return round(self.match_weight - sum(w for _, _, w in self.evidence), 1)


@dataclass
class Item:
    feed: str
    subject: str
    reason: str
    file_name: str
    location: str
    event: str
    record: dict[str, str]
    candidates: list[Candidate]


def review_items(engine: sa.Engine, report_date: date) -> list[Item]:
    pairs = pending_pairs(engine, report_date)
    if pairs.empty:
        return []
    # Plain dicts and one pass, not pandas per item: the list grows with history.
    records = record_details(engine, pairs).set_index(["feed", "file_id", "row_no"]).to_dict("index")
    members = member_details(engine, pairs).set_index(["register_id", "iom_id"]).to_dict("index")
    rows = sorted(pairs.to_dict("records"), key=_subject_of)  # stable: each subject's rows keep their order
    items = []
    for (feed, subject), subject_rows in itertools.groupby(rows, key=_subject_of):
        group = list(subject_rows)
        first = group[0]
        rec = records[(feed, first["file_id"], first["row_no"])]
        candidates = []
        for pair in group:
            member = members.get((pair["register_id"], pair["iom_id"]))
            candidates.append(
                Candidate(
                    pair["iom_id"],
                    None if pd.isna(pair["match_weight"]) else round(float(pair["match_weight"]), 1),
                    pair["via"],
                    {f: cell(member.get(f)) for f in (*DETAIL_FIELDS, "managing_division", "status")}
                    if member is not None
                    else {},
                    [tuple(e) for e in json.loads(pair["evidence"])] if pair["evidence"] else [],
                )
            )
        items.append(
            Item(
                feed,
                subject,
                first["reason"],
                rec["file_name"],
                cell(rec["location"]),
                cell(rec.get("event")),
                {f: cell(rec.get(f)) for f in DETAIL_FIELDS},
                candidates,
            )  # fmt: skip
        )
    return items


def _subject_of(pair: dict) -> tuple[str, str]:
    return pair["feed"], pair["subject"]


def _csv_rows(items: list[Item]) -> list[list[str]]:
    rows = []
    for item in items:
        for c in item.candidates:
            rows.append([
                item.feed, item.subject, c.iom_id, "" if c.match_weight is None else f"{c.match_weight:.1f}", item.reason,
                item.record["surname"], item.record["forenames"], item.record["date_of_birth"],
                c.details.get("surname", ""), c.details.get("forenames", ""), c.details.get("date_of_birth", ""), "", "",
            ])  # fmt: skip
    return rows


def write_review_page(review_dir: Path, report_date: date, items: list[Item], thresholds: LinkThresholds) -> Path:
    """Publish review.html and review.csv for D whole (pipelines/reports/publish.py)."""
    html = _env.get_template("review.html.j2").render(
        report_date=report_date, items=items, fields=DETAIL_FIELDS, link_at=thresholds.link_at, review_at=thresholds.review_at
    )
    final = review_dir / report_date.isoformat()
    publish_folder(final, {"review.html": html.encode("utf-8"), "review.csv": csv_bytes(CSV_COLUMNS, _csv_rows(items))})
    return final
