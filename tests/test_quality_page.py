"""The hub-only data-quality page says, per report date, what was rejected and why."""

from __future__ import annotations

import csv
from datetime import date

from pipelines.reports.quality_page import quality_page, write_quality_page
from tests.builders import member

D = date(2026, 11, 23)


def test_the_page_lists_every_rejected_file_and_quarantined_row_with_where_and_why(hub):
    good = member("LDS-000001", "O'Brien", "Róisín", "1990-02-01", pnc_id="2012/0394773X")  # a bad check letter
    bad = member("LDS-000002", "Robert'); DROP TABLE members;--", "Bobby", "31/02/1990")
    hub.inbox.cohort(D, [good, bad])
    hub.inbox.cohort(date(2026, 11, 1), [good])  # outside D's window: not on D's page
    (hub.inbox.root / "court_results").mkdir()
    (hub.inbox.root / "court_results" / "court_results_B13HT_20261122.xml").write_text("<CourtResults court_code=")
    hub.run(D)

    page = quality_page(hub.engine, D, expectations=[
        {"feed": "cohort", "expectation": "expect_table_row_count_to_be_between", "column": None, "success": False,
         "observed": 2, "threshold": "at least 80% of the previous snapshot", "basis": "previous snapshot: 1 rows"},
    ])  # fmt: skip
    folder = write_quality_page(hub.root / "quality", page)
    html = (folder / "quality.html").read_text(encoding="utf-8")

    cohort = next(f for f in page.feeds if f.feed == "cohort")
    assert cohort.files["name"].tolist() == ["cohort_20261123.csv"]
    assert (cohort.rows_in, cohort.rows_quarantined, cohort.files_rejected, cohort.expectations_failed) == (2, 1, 0, 1)
    courts = next(f for f in page.feeds if f.feed == "court_results")
    assert courts.files_rejected == 1
    assert page.counts()["court_results_files_rejected"] == 1
    assert page.counts()["findings"] == 1

    with (folder / "quarantine.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["feed"], r["file"], r["line_or_element"]) for r in rows] == [
        ("cohort", "cohort_20261123.csv", "3"),
        ("court_results", "court_results_B13HT_20261122.xml", "whole file"),
    ]
    assert rows[0]["reason"].startswith("date_of_birth: not a valid date")
    assert rows[1]["reason"].startswith("not well-formed XML")
    with (folder / "findings.csv").open(encoding="utf-8", newline="") as fh:
        findings = list(csv.DictReader(fh))
    assert [(f["column"], f["rows"]) for f in findings] == [("pnc_id", "1")]

    for text in ("cohort_20261123.csv", "date_of_birth: not a valid date", "not well-formed XML", "NOT MET",
                 "at least 80% of the previous snapshot"):  # fmt: skip
        assert text in html
    assert "cohort_20261101.csv" not in html
    # Reasons say where and which rule, never the values: no name of either member is on the page.
    for value in ("O&#39;Brien", "O'Brien", "Róisín", "DROP TABLE", "Bobby", "2012/0394773X"):
        assert value not in html
