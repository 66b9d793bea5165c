"""Precision and recall of linking, measured on a generated inbox with known truth
(``iom-hub linkage-report``).

Every report date of the generated period is linked exactly as the daily run links it
(the report window against the register in force at D), then each outcome is compared
with who the record really is.  Two questions, on records without a valid strong
identifier (the ones the model decides):

* precision of reportable links: of the records that would appear in a report (linked
  to a member whose active interval holds the event), the share that are that member;
  a miss here is a stranger's record in a police report;
* recall: of the records of members, reportable on their date, that carry one variation
  of their details, the share linked to the right member; the rest should be on the
  review list rather than lost (``to_review`` below).

A record with no date of birth, or under a surname the member no longer uses, lacks or
contradicts a detail rather than varying it: those are counted apart (``missing``), with
how many the model still linked and how many went to review.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from pipelines.daily import report_window_records, reportable_records
from pipelines.feeds import FEEDS, LINKED_FEEDS
from pipelines.link_store import links_for
from pipelines.linkage.workbench import generate_and_load
from pipelines.linking import LINKED_METHODS, REVIEW
from pipelines.membership import attach_members
from pipelines.settings import LinkThresholds
from pipelines.store import ledger, register_in_force

MISSING_DETAILS = ("no_dob", "new_surname")  # a detail absent or changed, not varied
MEASURED_PATH = Path(__file__).with_name("measured.json")  # the published figures (run metadata shows them)


@dataclass
class Measurement:
    report_dates: int
    identifierless_records: int
    reportable_links: int
    wrong_reportable_links: int
    variation_records: int
    variation_linked_right: int
    variation_to_review: int
    variation_lost: int
    missing_records: int
    missing_linked_right: int
    missing_to_review: int
    decoy_records: int
    decoy_reported: int
    recall_by_variation: dict[str, float] = field(default_factory=dict)

    @property
    def precision(self) -> float:
        return 1.0 if not self.reportable_links else 1 - self.wrong_reportable_links / self.reportable_links

    @property
    def recall(self) -> float:
        return 1.0 if not self.variation_records else self.variation_linked_right / self.variation_records

    def figures(self) -> dict[str, object]:
        return {**asdict(self), "precision": round(self.precision, 5), "recall": round(self.recall, 5)}


def _truth_index(truth: dict) -> tuple[pd.DataFrame, dict[str, str | None]]:
    records = pd.DataFrame(
        {
            "file_name": [r["file"] for r in truth["records"]],
            "location": [str(r.get("line") or r.get("path")) for r in truth["records"]],
            "person_id": [r["person_id"] for r in truth["records"]],
            "variation": [r.get("variation") for r in truth["records"]],
            "identifierless": [bool(r.get("identifierless")) for r in truth["records"]],
        }
    ).drop_duplicates(["file_name", "location"], keep="last")
    persons = {p["person_id"]: p.get("iom_id") for p in truth["persons"]}
    return records, persons


_JUDGED_COLUMNS = (
    "file_id", "row_no", "iom_id", "method", "reportable", "person_id", "variation", "identifierless",
    "true_iom", "true_reportable",
)  # fmt: skip


def _judged(engine, feed_name: str, report_date: date, thresholds: LinkThresholds) -> pd.DataFrame:
    """The window's records as the run for D judged them, and whether each would be reported."""
    records = report_window_records(engine, feed_name, report_date)
    _, register = register_in_force(engine, report_date)
    if records.empty or register.empty:
        return pd.DataFrame()
    links = links_for(engine, feed_name, records, register, thresholds, report_date)
    judged = records.drop(columns=[c for c in ("iom_id",) if c in records]).merge(links, on=["file_id", "row_no"])
    reported = reportable_records(engine, feed_name, report_date, thresholds)[["file_id", "row_no"]]
    judged = judged.merge(reported.assign(reportable=True), on=["file_id", "row_no"], how="left")
    judged["reportable"] = judged["reportable"].eq(True)
    if "file_name" not in judged:  # snapshot rows come without their file's name
        names = ledger(engine, feed_name).set_index("id")["name"]
        judged["file_name"] = judged["file_id"].map(names)
    return judged


def measure_bench(engine, truth_path: Path, first: date, last: date, thresholds: LinkThresholds) -> Measurement:
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    truth_records, persons = _truth_index(truth)
    frames = []
    day = first + timedelta(days=1)
    while day <= last:
        for feed_name in LINKED_FEEDS:
            judged = _judged(engine, feed_name, day, thresholds)
            if judged.empty:
                continue
            _, register = register_in_force(engine, day)
            true = judged.merge(truth_records, on=["file_name", "location"], how="left")
            true["true_iom"] = true["person_id"].map(persons)
            event = FEEDS[feed_name].reportable_on
            probe = true.dropna(subset=["true_iom"]).drop(columns=["iom_id"]).rename(columns={"true_iom": "iom_id"})
            ok = attach_members(probe, register, event)[["file_id", "row_no"]].assign(true_reportable=True)
            true = true.merge(ok, on=["file_id", "row_no"], how="left")
            true["true_reportable"] = true["true_reportable"].eq(True)
            frames.append(true[list(_JUDGED_COLUMNS)].astype(object))
        day += timedelta(days=1)
    every = pd.concat(frames, ignore_index=True).infer_objects()
    assert every["person_id"].notna().all(), "every loaded row has its truth"
    decided = every[every["identifierless"]]
    reported = decided[decided["reportable"]]
    wrong = reported[reported["iom_id"] != reported["true_iom"]]
    of_members = decided[decided["variation"].notna() & decided["true_reportable"]]
    missing = of_members[of_members["variation"].isin(MISSING_DETAILS)]
    varied = of_members[~of_members["variation"].isin(MISSING_DETAILS)]
    right = varied["method"].isin(LINKED_METHODS) & (varied["iom_id"] == varied["true_iom"])
    missing_right = missing["method"].isin(LINKED_METHODS) & (missing["iom_id"] == missing["true_iom"])
    decoys = decided[decided["true_iom"].isna()]
    linked_right = of_members["method"].isin(LINKED_METHODS) & (of_members["iom_id"] == of_members["true_iom"])
    by_kind = {
        kind: round(float(linked_right[of_members["variation"] == kind].mean()), 4)
        for kind in sorted(of_members["variation"].unique())
    }
    return Measurement(
        report_dates=(last - first).days,
        identifierless_records=len(decided),
        reportable_links=len(reported),
        wrong_reportable_links=len(wrong),
        variation_records=len(varied),
        variation_linked_right=int(right.sum()),
        variation_to_review=int((varied["method"] == REVIEW).sum()),
        variation_lost=int((~right & (varied["method"] != REVIEW)).sum()),
        missing_records=len(missing),
        missing_linked_right=int(missing_right.sum()),
        missing_to_review=int((missing["method"] == REVIEW).sum()),
        decoy_records=len(decoys),
        decoy_reported=int(decoys["reportable"].sum()),
        recall_by_variation=by_kind,
    )


def measure(work_dir: Path, *, end_date: date, days: int, seed: int, share: float, thresholds: LinkThresholds) -> Measurement:
    bench = generate_and_load(work_dir, end_date=end_date, days=days, seed=seed, scale=1.0, share=share)
    try:
        return measure_bench(bench.engine, bench.truth_path, end_date - timedelta(days=days - 1), end_date, thresholds)
    finally:
        bench.engine.dispose()
