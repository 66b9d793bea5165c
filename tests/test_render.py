"""report.html's readable values (for people); the CSVs keep the contract's ISO forms."""

from __future__ import annotations

from datetime import date


def test_report_html_reads_dates_and_times_as_people_do_while_the_csvs_keep_iso():
    from datetime import datetime as dt

    from pipelines.reports.render import cell, readable

    d = date(2026, 11, 23)
    assert readable(dt(2026, 11, 30, 9, 12), d) == "Mon 30 Nov 09:12"
    assert readable(dt(2026, 11, 22, 0, 0), d) == "Sun 22 Nov 00:00"  # an arrest at midnight keeps its time
    assert readable(dt(2026, 11, 22, 0, 0), d, midnight_is_a_date=True) == "Sun 22 Nov"  # a status change's date
    assert readable(date(2025, 12, 1), d) == "Mon 1 Dec 2025"  # another year says so
    assert readable(None, d) == "" and readable("CHARGED", d) == "CHARGED"
    assert cell(dt(2026, 11, 30, 9, 12)) == "2026-11-30T09:12:00"  # CONTRACT section 7 for machines
